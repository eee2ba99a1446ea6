"""Validation and normalisation of raw upstream events: pure functions, no Kafka.

Validation is the contract's (``schemas.validation``); this module checks what the contract
cannot see (record size, the Kafka key), and turns a valid upstream event into the canonical
event: UTC event time, conversations in time order, Unicode-normalised text with personal data
redacted, optionally a pseudonymous customer id, and the customer's own words extracted as the
one text downstream services analyse.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

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
from schemas.identity import Tenancy
from schemas.upstream import AnyUpstreamEvent
from schemas.validation import ContractError, ParsedEvent, RejectReason, parse_raw_event
from services.ingest.identifiers import IdentifierPolicy, apply_identifier_policy
from services.ingest.pii import ALL, PiiKind, pseudonymize, redact
from services.ingest.texts import map_human_text, normalize_unicode
from services.runtime.exceptions import PermanentError

# Rejections ingest adds to the contract's own reason codes.
OVERSIZED_RECORD: Final = "oversized_record"
MISSING_KEY: Final = "missing_key"


@dataclass(frozen=True)
class IngestPolicy:
    max_record_bytes: int = 1_048_576
    redact_pii: bool = True
    pii_kinds: frozenset[PiiKind] = ALL
    # With a key, customer ids are replaced by a keyed hash before anything leaves ingest.
    pseudonymize_key: bytes | None = None
    validation: ValidationPolicy = field(default_factory=ValidationPolicy)
    tenancy: Tenancy = field(default_factory=Tenancy)
    # Personal data found in an id (customer_id, order_id…): reject, pseudonymise or allow.
    identifier_personal_data: IdentifierPolicy = IdentifierPolicy.REJECT


def check_record(key: bytes | None, value: bytes | None, policy: IngestPolicy) -> None:
    """What the contract cannot check: the record's size and its Kafka key."""
    if value is not None and len(value) > policy.max_record_bytes:
        raise PermanentError(
            OVERSIZED_RECORD,
            f"record is {len(value)} bytes; the limit is {policy.max_record_bytes} "
            "(RAPPORT_INGEST__MAX_RECORD_BYTES)",
        )
    if not key:
        raise PermanentError(
            MISSING_KEY,
            "record has no key: send every event keyed by its customer_id, so that a "
            "customer's events stay in order on one partition",
        )


def parse_raw(
    value: bytes | None,
    kind: EventKind,
    now: datetime | None = None,
    policy: IngestPolicy | None = None,
) -> CanonicalEvent:
    """The canonical event of a raw record, or ``PermanentError`` with the contract's reason.

    ``now`` is the receiving clock, used both for ``ingested_at`` and for the future-timestamp
    check.
    """
    policy = policy or IngestPolicy()
    if value is None:
        raise PermanentError(RejectReason.EMPTY_RECORD, "record has no value (a tombstone?)")
    received_at = now or datetime.now(UTC)
    # One clock for both: an event is never "in the future" of its own ingestion time. In a
    # multi-tenant deployment guessing a tenant would file the customer under someone else's:
    # the contract rejects an event without one (missing_tenant).
    validation = replace(
        policy.validation, now=received_at, require_tenant=policy.tenancy.multi_tenant
    )
    try:
        parsed = parse_raw_event(value, kind, validation)
    except ContractError as exc:
        raise PermanentError(exc.reason, exc.message) from exc
    return to_canonical(
        parsed,
        ingested_at=received_at,
        max_text_chars=validation.max_text_chars or DEFAULT_MAX_TEXT_CHARS,
        policy=policy,
    )


def to_canonical(
    parsed: ParsedEvent,
    ingested_at: datetime,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    policy: IngestPolicy | None = None,
) -> CanonicalEvent:
    policy = policy or IngestPolicy()
    event, pseudonymised = apply_identifier_policy(
        parsed.event,
        policy.identifier_personal_data,
        policy.pii_kinds,
        policy.pseudonymize_key,
        # A customer id about to be pseudonymised as a whole spreads nothing.
        skip=("customer_id",) if policy.pseudonymize_key is not None else (),
    )
    event, normalizations = _normalise(event)
    if pseudonymised:
        normalizations.append(Normalization.IDENTIFIER_PSEUDONYMIZED)
    event, text_changes = _normalise_text(event)
    normalizations += text_changes
    redactions: Counter[str] = Counter()
    if policy.redact_pii:
        event = _redact(event, policy.pii_kinds, redactions)
    if policy.pseudonymize_key is not None:
        event = event.model_copy(
            update={"customer_id": pseudonymize(event.customer_id, policy.pseudonymize_key)}
        )
        normalizations.append(Normalization.CUSTOMER_ID_PSEUDONYMIZED)
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
        pii_redactions=dict(redactions),
        normalizations=tuple(normalizations),
        unknown_fields=parsed.unknown_fields,
        upstream=event,
    )


def _normalise_text(event: AnyUpstreamEvent) -> tuple[AnyUpstreamEvent, list[Normalization]]:
    normalised = map_human_text(event, normalize_unicode)
    return normalised, ([Normalization.TEXT_UNICODE_NORMALIZED] if normalised != event else [])


def _redact(
    event: AnyUpstreamEvent, kinds: frozenset[PiiKind], counts: Counter[str]
) -> AnyUpstreamEvent:
    """Every human-written field is redacted, not only the analysed text: the full upstream
    event travels downstream too, and an e-mail address in a review title is still personal."""

    def redact_one(text: str) -> str:
        result = redact(text, kinds=kinds)
        for kind, count in result.counts.items():
            counts[kind.value] += count
        return result.text

    return map_human_text(event, redact_one)


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


def canonical_key(event: CanonicalEvent, tenancy: Tenancy) -> bytes:
    """The key of the event's canonical record: its customer in the documented format, so that
    a (tenant, customer)'s events share a partition and stay in order."""
    return tenancy.customer_key(event.tenant_id, event.customer_id)


def event_identity(event: CanonicalEvent, tenancy: Tenancy) -> str:
    """What the duplicate window remembers: two tenants may both send event ``1``."""
    return tenancy.event_identity(event.tenant_id, event.event_id)
