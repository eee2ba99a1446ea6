"""Validation and normalisation of raw upstream events: pure functions, no Kafka.

Validation is the contract's (``schemas.validation``); this module turns a valid upstream event
into the canonical event: UTC event time, conversations in time order, and the customer's own
words extracted as the one text downstream services analyse.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import CanonicalEvent, EventKind, MessageAuthor, Normalization, ValidationPolicy
from schemas.base import DEFAULT_MAX_TEXT_CHARS
from schemas.feedback import (
    ConversationFeedback,
    FreeComment,
    Review,
    SocialMention,
    SurveyCes,
    SurveyComment,
    SurveyCsat,
    SurveyNps,
)
from schemas.upstream import AnyUpstreamEvent
from schemas.validation import ContractError, ParsedEvent, RejectReason, parse_raw_event
from services.runtime.exceptions import PermanentError


def parse_raw(
    value: bytes | None,
    kind: EventKind,
    now: datetime | None = None,
    policy: ValidationPolicy | None = None,
) -> CanonicalEvent:
    """The canonical event of a raw record, or ``PermanentError`` with the contract's reason.

    ``now`` is the receiving clock, used both for ``ingested_at`` and for the future-timestamp
    check; ``policy`` sets the validation limits (its own ``now`` is replaced by ``now``).
    """
    if value is None:
        raise PermanentError(RejectReason.EMPTY_RECORD, "record has no value (a tombstone?)")
    received_at = now or datetime.now(UTC)
    # One clock for both: an event is never "in the future" of its own ingestion time.
    effective_policy = replace(policy or ValidationPolicy(), now=received_at)
    try:
        parsed = parse_raw_event(value, kind, effective_policy)
    except ContractError as exc:
        raise PermanentError(exc.reason, exc.message) from exc
    return to_canonical(
        parsed,
        ingested_at=received_at,
        max_text_chars=effective_policy.max_text_chars or DEFAULT_MAX_TEXT_CHARS,
    )


def to_canonical(
    parsed: ParsedEvent, ingested_at: datetime, max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
) -> CanonicalEvent:
    event, normalizations = _normalise(parsed.event)
    text = customer_text(event)
    truncated = text is not None and len(text) > max_text_chars
    return CanonicalEvent(
        event_id=event.event_id,
        kind=parsed.kind,
        type=event.type,
        customer_id=event.customer_id,
        tenant_id=event.tenant_id,
        brand_id=event.brand_id,
        occurred_at=event.occurred_at,
        ingested_at=ingested_at.astimezone(UTC),
        source=event.source,
        text=text[:max_text_chars] if text is not None else None,
        language=getattr(event, "language", None),
        text_truncated=truncated,
        normalizations=tuple(normalizations),
        unknown_fields=parsed.unknown_fields,
        upstream=event,
    )


def _normalise(event: AnyUpstreamEvent) -> tuple[AnyUpstreamEvent, list[Normalization]]:
    changes: dict[str, Any] = {}
    done: list[Normalization] = []
    if event.occurred_at.utcoffset() != timedelta(0):
        changes["occurred_at"] = event.occurred_at.astimezone(UTC)
        done.append(Normalization.OCCURRED_AT_CONVERTED_TO_UTC)
    if isinstance(event, ConversationFeedback):
        in_time_order = tuple(sorted(event.messages, key=lambda message: message.sent_at))
        if in_time_order != event.messages:
            # Summaries weigh the end of a conversation most: the order must be the real one.
            changes["messages"] = in_time_order
            done.append(Normalization.MESSAGES_SORTED_BY_TIME)
    return (event.model_copy(update=changes) if changes else event), done


def customer_text(event: AnyUpstreamEvent) -> str | None:
    """The customer's own words in an event, for sentiment analysis; None if there are none.

    Company-authored text (agent and bot messages) is left out: it would pull the customer's
    sentiment towards the agents' scripted politeness.
    """
    parts: list[str]
    if isinstance(event, ConversationFeedback):
        parts = [m.text for m in event.messages if m.author is MessageAuthor.CUSTOMER]
    elif isinstance(event, Review):
        parts = [part for part in (event.title, event.text) if part]
    elif isinstance(
        event, SurveyNps | SurveyCsat | SurveyCes | SurveyComment | SocialMention | FreeComment
    ):
        parts = [event.text] if event.text else []
    else:
        parts = []
    return "\n".join(parts) or None
