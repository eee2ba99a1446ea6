"""Validation and normalisation of raw upstream events: pure functions, no Kafka."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import ValidationError

from schemas import CanonicalEvent, EventKind, FeedbackEvent, InteractionEvent
from services.runtime.exceptions import PermanentError

_MODELS: dict[EventKind, type[InteractionEvent] | type[FeedbackEvent]] = {
    EventKind.INTERACTION: InteractionEvent,
    EventKind.FEEDBACK: FeedbackEvent,
}


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, with the field path first, as a person fixing the sender needs it."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
    )


def parse_raw(value: bytes | None, kind: EventKind, now: datetime | None = None) -> CanonicalEvent:
    if value is None:
        raise PermanentError("empty_record", "record has no value (a tombstone?)")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PermanentError("invalid_utf8", f"value is not UTF-8: {exc}") from exc
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PermanentError("invalid_json", f"value is not JSON: {exc}") from exc
    try:
        event = _MODELS[kind].model_validate(payload)
    except ValidationError as exc:
        raise PermanentError("schema_violation", describe_validation_error(exc)) from exc
    return CanonicalEvent(
        event_id=event.event_id,
        customer_id=event.customer_id,
        occurred_at=event.occurred_at.astimezone(UTC),
        ingested_at=now or datetime.now(UTC),
        kind=kind,
        source=event.source,
        type=event.type,
        text=event.text if isinstance(event, FeedbackEvent) else None,
    )
