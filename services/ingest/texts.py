"""Applying a function to every piece of human-written text in an event, however nested.

Which fields hold human text is declared once, in the contract (``schemas.base.HUMAN_TEXT`` on
``FreeText`` and ``ShortText``), so a new event type or field is covered without touching ingest.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, TypeVar, get_args, get_origin

from pydantic import BaseModel

from schemas.base import HumanText

ModelT = TypeVar("ModelT", bound=BaseModel)


def _has_marker(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated and any(
        isinstance(meta, HumanText) for meta in annotation.__metadata__
    ):
        return True
    return any(_has_marker(arg) for arg in get_args(annotation))


@cache
def human_text_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if any(isinstance(meta, HumanText) for meta in field.metadata)
        or _has_marker(field.annotation)
    )


def map_human_text(model: ModelT, transform: Callable[[str], str]) -> ModelT:
    """A copy of ``model`` with ``transform`` applied to every human-text string in it."""
    text_fields = human_text_fields(type(model))
    updates: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, str) and name in text_fields:
            new: Any = transform(value)
        elif isinstance(value, BaseModel):
            new = map_human_text(value, transform)
        elif isinstance(value, tuple) and any(isinstance(item, BaseModel) for item in value):
            new = tuple(
                map_human_text(item, transform) if isinstance(item, BaseModel) else item
                for item in value
            )
        else:
            continue
        if new != value:
            updates[name] = new
    # model_copy skips validation on purpose: the event was validated before, and redaction
    # placeholders must not be re-checked against limits meant for what upstream sent.
    return model.model_copy(update=updates) if updates else model


def normalize_unicode(text: str) -> str:
    """NFC, so that "é" typed two ways is one string for lexicons and dedup alike; trimmed."""
    return unicodedata.normalize("NFC", text).strip()
