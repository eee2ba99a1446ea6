"""Rapport's event contract: the pydantic models every service and every upstream team share.

JSON Schemas, the AsyncAPI document, the examples and the field tables of the docs are
generated from these models (``rapport schemas export``); never edit those by hand.
"""

from schemas.events import *  # noqa: F403 - the package namespace is the contract's
from schemas.events import __all__ as __all__
