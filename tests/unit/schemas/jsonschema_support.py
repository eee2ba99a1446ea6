"""The independent validator (jsonschema, draft 2020-12), in one place.

jsonschema ships without type information and no stubs are installed (types-jsonschema is not
a dev dependency), so this is the one module that imports it untyped and gives the rest of the
tests typed helpers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

import jsonschema  # type: ignore[import-untyped]

from schemas.export import committed_schemas


class SchemaValidator(Protocol):
    def is_valid(self, instance: object) -> bool: ...

    def validate(self, instance: object) -> None: ...


def _rfc3339_with_offset(value: object) -> bool:
    if not isinstance(value, str):
        return True  # not a string: the "type" keyword reports it
    return datetime.fromisoformat(value).tzinfo is not None and "T" in value.upper()


# jsonschema checks "date-time" only with an optional package; the contract needs RFC 3339
# with an offset, which the standard library can check.
FORMATS: Any = jsonschema.FormatChecker()
FORMATS.checks("date-time", raises=ValueError)(_rfc3339_with_offset)

_COMMITTED = committed_schemas()
_VALIDATORS: dict[str, SchemaValidator] = {}


def committed_validator(name: str) -> SchemaValidator:
    """The validator of a committed schema, with format checks."""
    if name not in _VALIDATORS:
        _VALIDATORS[name] = jsonschema.Draft202012Validator(
            _COMMITTED[name], format_checker=FORMATS
        )
    return _VALIDATORS[name]


def validator_of(schema: Mapping[str, Any]) -> SchemaValidator:
    validator: SchemaValidator = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
    return validator


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise if ``schema`` is not a valid draft 2020-12 schema."""
    jsonschema.Draft202012Validator.check_schema(schema)


def format_conforms(value: str, format_name: str) -> bool:
    return bool(FORMATS.conforms(value, format_name))
