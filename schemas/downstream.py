"""Events Rapport publishes: canonical, annotated, score updates, alerts, erasure completions,
and the headers of dead letters.

Consumers must ignore fields they do not know and tolerate enum values they do not know: both
grow within a major version (see docs/subscribing-to-scores.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from schemas.base import (
    CONTRACT_VERSION,
    ContractModel,
    EventKind,
    Id,
    Label,
    LanguageTag,
    SchemaVersion,
    ShortText,
    SourceSystem,
)
from schemas.upstream import AnyUpstreamEvent

EventTypeName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
]
"""An upstream ``type``; not restricted to today's types so that older consumers keep reading
events of types added later."""
VersionLabel = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Compound = Annotated[float, Field(ge=-1, le=1)]
"""Sentiment from -1 (most negative) to +1 (most positive)."""
Proportion = Annotated[float, Field(ge=0, le=1)]
Score100 = Annotated[float, Field(ge=0, le=100)]
ScoreChange = Annotated[float, Field(ge=-100, le=100)]

# --- canonical ------------------------------------------------------------------------------------


class Normalization(StrEnum):
    """A change ingest made to an upstream event while accepting it."""

    OCCURRED_AT_CONVERTED_TO_UTC = "occurred_at_converted_to_utc"
    MESSAGES_SORTED_BY_TIME = "messages_sorted_by_time"
    TEXT_UNICODE_NORMALIZED = "text_unicode_normalized"
    """Free text was put in Unicode NFC form and trimmed of surrounding white space."""
    CUSTOMER_ID_PSEUDONYMIZED = "customer_id_pseudonymized"
    """``customer_id`` is a keyed hash of the upstream id (ingest's pseudonymisation option)."""
    IDENTIFIER_PSEUDONYMIZED = "identifier_pseudonymized"
    """An identifier field held personal data (an e-mail address, a card number…) and is now
    its keyed hash (ingest's ``identifier_personal_data=pseudonymise`` policy). Since 1.1."""


class CanonicalEvent(ContractModel):
    """An upstream event as ingest accepted it, with what ingest did to it.

    The top-level fields repeat the envelope in normalised form so that consumers can route
    without understanding every type; ``upstream`` holds the complete validated event.
    """

    schema_version: SchemaVersion = CONTRACT_VERSION
    """Contract version of this canonical event."""
    event_id: Id
    """The upstream ``event_id``: the idempotency key all the way down."""
    kind: EventKind
    """Which raw topic the event came from."""
    type: EventTypeName
    """The upstream ``type``."""
    customer_id: Id
    """The customer; with the tenant in multi-tenant deployments, also the Kafka key."""
    tenant_id: Id | None = None
    """The upstream ``tenant_id``."""
    brand_id: Id | None = None
    """The upstream ``brand_id``."""
    occurred_at: AwareDatetime
    """Event time, in UTC."""
    ingested_at: AwareDatetime
    """When ingest accepted the event (processing time, UTC)."""
    source: SourceSystem
    """The upstream system that sent the event."""
    text: str | None = None
    """The customer's own words for sentiment analysis: the free text of a survey answer,
    comment or mention, a review's title and body, or a conversation's customer messages one
    per line. Personal data found in it is redacted (see ``pii_redactions``). Absent for
    interactions."""
    language: LanguageTag | None = None
    """Language of ``text``, if the sender gave it."""
    text_truncated: bool = False
    """True if ``text`` was cut at the text cap (only a long conversation can get there: each
    single text is rejected above the cap instead)."""
    pii_redactions: dict[Label, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """How many pieces of personal data were redacted from ``text``, per kind (``email``,
    ``phone``...)."""
    normalizations: tuple[Normalization, ...] = ()
    """What ingest changed while accepting the event."""
    unknown_fields: tuple[str, ...] = ()
    """Paths of fields the sender included that the contract does not know; they were
    dropped (see the extra-field policy in docs/sending-events.md)."""
    upstream: AnyUpstreamEvent | None = None
    """The complete upstream event after validation and normalisation. Ingest always sets it;
    it is optional only so that tools and tests can build canonical events from the fields
    above alone."""


# --- annotated ------------------------------------------------------------------------------------


class SentenceSentiment(ContractModel):
    """Sentiment of one sentence of the canonical ``text``."""

    start: int = Field(ge=0)
    """Offset of the sentence's first character in ``text`` (in Unicode code points)."""
    end: int = Field(ge=0)
    """Offset just after the sentence's last character."""
    compound: Compound
    """Overall sentiment of the sentence."""
    positive: Proportion | None = None
    """Share of the sentence that reads positive."""
    neutral: Proportion | None = None
    """Share of the sentence that reads neutral."""
    negative: Proportion | None = None
    """Share of the sentence that reads negative."""


class Sentiment(ContractModel):
    """Sentiment of the whole canonical ``text``."""

    compound: Compound
    """Overall sentiment."""
    positive: Proportion | None = None
    """Share of the text that reads positive (absent if the model does not say)."""
    neutral: Proportion | None = None
    """Share of the text that reads neutral."""
    negative: Proportion | None = None
    """Share of the text that reads negative."""
    sentences: tuple[SentenceSentiment, ...] = ()
    """Per-sentence sentiment, in text order (empty if the model does not split sentences)."""


class ConversationTrend(StrEnum):
    IMPROVING = "improving"
    STEADY = "steady"
    WORSENING = "worsening"


class ConversationSummary(ContractModel):
    """How the customer's side of a ticket or chat felt, and where it was heading."""

    customer_messages: int = Field(ge=0)
    """Number of customer messages analysed."""
    customer_sentiment: Compound
    """Weighted mean sentiment of the customer's messages; later messages weigh more, as the
    end of a conversation is what the customer remembers."""
    opening_sentiment: Compound
    """Sentiment of the customer's first message(s)."""
    closing_sentiment: Compound
    """Sentiment of the customer's last message(s)."""
    trend: ConversationTrend
    """From opening to closing."""


class NotAnnotatedReason(StrEnum):
    """Why the sentiment service did not analyse an event's text."""

    NO_TEXT = "no_text"
    """The event has no free text."""
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    """The text is in a language the model does not read (``language`` says which)."""


class AnnotatedEvent(ContractModel):
    """A canonical event with what the sentiment service found in its text."""

    schema_version: SchemaVersion = CONTRACT_VERSION
    """Contract version of this annotated event."""
    event: CanonicalEvent
    """The canonical event annotated."""
    annotated: bool
    """False if the text was not analysed (``not_annotated_reason`` says why); the sentiment
    fields below are then empty, and consumers must treat the event as carrying no sentiment
    evidence (not as neutral)."""
    not_annotated_reason: NotAnnotatedReason | None = None
    """Set exactly when ``annotated`` is false (absent in events written before it existed)."""
    language: LanguageTag | None = None
    """Language the sentiment service detected the text to be in (ISO 639-1, e.g. ``en``,
    ``fr``); absent when there was no text."""
    sentiment: Sentiment | None = None
    """Sentiment of the text."""
    emotions: dict[Label, Proportion] = Field(default_factory=dict)
    """Emotion label (``anger``, ``joy``...) -> intensity from 0 to 1."""
    aspects: dict[Label, Compound] = Field(default_factory=dict)
    """Aspect mentioned (``delivery``, ``price``, ``support``...) -> sentiment about it."""
    conversation: ConversationSummary | None = None
    """For support tickets and chats: the customer side of the conversation."""
    model_version: VersionLabel
    """The annotating model and its version, e.g. ``vader-3.3.2``."""


# --- scores ---------------------------------------------------------------------------------------


class Segment(StrEnum):
    """Where the customer stands, from trust and loyalty together."""

    NEW = "new"
    CHAMPION = "champion"
    LOYAL = "loyal"
    NEUTRAL = "neutral"
    AT_RISK = "at_risk"
    DETRACTOR = "detractor"


class ScoreDeltas(ContractModel):
    """Change since the customer's previous score update."""

    trust: ScoreChange
    """Change of ``trust``."""
    loyalty: ScoreChange
    """Change of ``loyalty``."""


MAX_DRIVERS: Final = 10


class ScoreDriver(ContractModel):
    """An event that moved the scores, and by how much."""

    event_id: Id
    """The event."""
    event_type: EventTypeName
    """Its ``type``."""
    occurred_at: AwareDatetime
    """Its event time."""
    trust_effect: ScoreChange
    """Its contribution to ``trust``."""
    loyalty_effect: ScoreChange
    """Its contribution to ``loyalty``."""


class UpdateReason(StrEnum):
    """What triggered a score update."""

    EVENT = "event"
    """An event of the customer (``caused_by_event_id``)."""
    TIME = "time"
    """The passage of event time (the partition's watermark): decay, lapsed activity, a promise
    past its deadline. ``caused_by_event_id`` is then a synthetic id ``time:...``."""


class ScoreInterval(ContractModel):
    """A credible interval of a score, from 0 to 100."""

    low: Score100
    """Lower bound."""
    high: Score100
    """Upper bound."""
    level: Proportion = 0.9
    """Probability the interval is meant to cover (0.9: a 90 % interval)."""


class ScoreUpdate(ContractModel):
    """A customer's scores after one event, published on the score-updates topic (and, latest
    per customer, on the compacted latest-scores topic)."""

    schema_version: SchemaVersion = CONTRACT_VERSION
    """Contract version of this update."""
    customer_id: Id
    """The customer; with the tenant in multi-tenant deployments, also the Kafka key."""
    tenant_id: Id | None = None
    """The customer's tenant, if any."""
    score: Score100
    """Headline score from 0 to 100, for dashboards that show one number."""
    trust: Score100
    """How much the customer trusts the company, 0 to 100."""
    trust_uncertainty: Annotated[float, Field(ge=0, le=100)]
    """Standard deviation of ``trust``: large while there is little evidence."""
    loyalty: Score100
    """How attached the customer is, 0 to 100."""
    loyalty_uncertainty: Annotated[float, Field(ge=0, le=100)]
    """Standard deviation of ``loyalty``."""
    churn_risk: Proportion
    """Estimated probability that the customer leaves within 90 days."""
    segment: Segment
    """Where the customer stands."""
    deltas: ScoreDeltas
    """Change since the previous update of this customer."""
    drivers: tuple[ScoreDriver, ...] = Field(default=(), max_length=MAX_DRIVERS)
    """The events that moved the scores most, strongest first."""
    summary: ShortText
    """One line for people, e.g. ``Trust fell 12 points after a broken callback promise``."""
    event_count: int = Field(ge=0)
    """Events of this customer taken into account so far."""
    as_of: AwareDatetime
    """Event time up to which the scores are computed (the latest event time seen)."""
    caused_by_event_id: Id
    """The event that triggered this update; at most one update per event id."""
    model_version: VersionLabel
    """The scoring model and its version."""
    config_version: VersionLabel
    """Version of the scoring configuration (weights, thresholds)."""
    reason: UpdateReason = UpdateReason.EVENT
    """What triggered the update: an event, or the passage of time."""
    trust_interval: ScoreInterval | None = None
    """Credible interval of ``trust``: wide while there is little evidence."""
    loyalty_interval: ScoreInterval | None = None
    """Credible interval of ``loyalty``: wide while there is little evidence."""
    low_confidence: bool = False
    """True while the scores rest on too little evidence to act on alone."""


# --- alerts ---------------------------------------------------------------------------------------


class AlertKind(StrEnum):
    TRUST_DROP = "trust_drop"
    SEGMENT_CHANGE = "segment_change"
    DETRACTOR_NPS = "detractor_nps"
    UNRESOLVED_COMPLAINTS = "unresolved_complaints"
    NEGATIVE_FEEDBACK = "negative_feedback"
    """A 1-2 star review or an angry public post, by itself."""
    PROMISE_OVERDUE = "promise_overdue"
    """A promise passed its deadline unfulfilled: a delivery, a case SLA, a response owed."""
    LAPSED = "lapsed"
    """The customer has been inactive far beyond their own cadence (raised by time)."""


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(StrEnum):
    RAISED = "raised"
    RESOLVED = "resolved"


ESCALATED_PREFIX: Final = "Escalated to "
"""How the message of a resolution starts when a higher-severity alert of the same kind
replaced the alert (the alert's condition still holds, worse)."""


def _resolved_at_with_state(schema: dict[str, Any]) -> None:
    schema["if"] = {"properties": {"state": {"const": "resolved"}}, "required": ["state"]}
    schema["then"] = {
        "properties": {"resolved_at": {"not": {"type": "null"}}},
        "required": ["resolved_at"],
    }
    schema["else"] = {"properties": {"resolved_at": {"type": "null"}}}


class Alert(ContractModel):
    """Something about a customer that a person should look at, raised and later resolved."""

    model_config = ConfigDict(json_schema_extra=_resolved_at_with_state)

    schema_version: SchemaVersion = CONTRACT_VERSION
    """Contract version of this alert."""
    alert_id: Id
    """Id of the alert; the resolution carries the same id as the raise."""
    customer_id: Id
    """The customer; with the tenant in multi-tenant deployments, also the Kafka key."""
    tenant_id: Id | None = None
    """The customer's tenant, if any."""
    kind: AlertKind
    """What the alert is about."""
    severity: AlertSeverity
    """How urgent it is."""
    state: AlertState
    """Raised, or resolved (the condition no longer holds)."""
    raised_at: AwareDatetime
    """Event time at which the alert was raised."""
    resolved_at: AwareDatetime | None = Field(default=None, validate_default=True)
    """Event time at which it was resolved; set exactly when ``state`` is ``resolved``."""
    message: ShortText
    """One line for the person handling it."""
    caused_by_event_id: Id
    """The event that raised (or resolved) the alert."""

    @property
    def shown_state(self) -> Literal["raised", "resolved", "escalated"]:
        """``raised``, ``resolved``, or ``escalated`` for a resolution that only means a worse
        alert of the same kind took its place: shown as "resolved", a person would read the
        problem as gone."""
        if self.state is AlertState.RESOLVED and self.message.startswith(ESCALATED_PREFIX):
            return "escalated"
        return "resolved" if self.state is AlertState.RESOLVED else "raised"

    @field_validator("resolved_at")
    @classmethod
    def _resolved_exactly_when_resolved(
        cls, value: AwareDatetime | None, info: ValidationInfo
    ) -> AwareDatetime | None:
        state = info.data.get("state")
        if state == AlertState.RESOLVED and value is None:
            raise PydanticCustomError("missing", "required when state is resolved")
        if state == AlertState.RAISED and value is not None:
            raise PydanticCustomError(
                "resolved_at_while_raised", "must be absent while state is raised"
            )
        return value


# --- erasure --------------------------------------------------------------------------------------


class RemainingCopy(ContractModel):
    """A topic that may still hold the customer's records after the erasure, and until when."""

    topic: str
    """The topic's name."""
    holds: ShortText
    """What of the customer it may hold."""
    removed_by: AwareDatetime
    """When retention or compaction has removed it at the latest (docs/privacy.md's bound
    under the deployment's topic configs)."""
    readable: bool
    """False when it is only ciphertext whose key the erasure destroyed (dead letters)."""


class ErasureReceipt(ContractModel):
    """What an erasure removed, where, and what is left until when (added in contract 1.2)."""

    database_tables: tuple[str, ...]
    """Scoring tables the customer's rows were deleted from."""
    tombstones: tuple[str, ...]
    """Topics a tombstone (the customer's key, no value) was written to."""
    dead_letter_keys_destroyed: int = Field(ge=0)
    """Data keys of the customer's dead letters tombstoned in ``key_topic``: those dead letters
    can no longer be decrypted."""
    key_topic: str
    """Where the dead-letter keys live."""
    keys_removed_by: AwareDatetime
    """When compaction has removed the destroyed keys themselves from ``key_topic``."""
    remaining: tuple[RemainingCopy, ...]
    """Every topic that may still hold the customer's records, with its bound."""


class ErasureCompleted(ContractModel):
    """Rapport erased what it held about a customer after an ``erasure_request``.

    Downstream systems that copied Rapport data must erase their copies too.
    """

    schema_version: SchemaVersion = CONTRACT_VERSION
    """Contract version of this event."""
    request_id: Id
    """The ``request_id`` of the erasure request."""
    customer_id: Id
    """The erased customer; with the tenant in multi-tenant deployments, also the Kafka key."""
    tenant_id: Id | None = None
    """The customer's tenant, if any."""
    requested_at: AwareDatetime
    """``occurred_at`` of the erasure request."""
    completed_at: AwareDatetime
    """When the erasure finished."""
    caused_by_event_id: Id
    """``event_id`` of the erasure request."""
    erased: tuple[Label, ...]
    """What was erased, e.g. ``customer_state``, ``processed_events``, ``latest_score``."""
    receipt: ErasureReceipt | None = None
    """Where it was erased and what remains until when; absent before contract 1.2."""


# --- dead letters ---------------------------------------------------------------------------------

_DIGITS = Annotated[str, StringConstraints(pattern=r"^[0-9]+$")]


class DeadLetterHeaders(ContractModel):
    """The headers Rapport adds to a dead-letter record. Since contract 1.2 the original
    record's key, value, headers and the message are sealed (AES-GCM, docs/privacy.md): the value
    is ciphertext, the key the customer's keyed-hash reference (or none), and
    ``rapport.dlq.sealed.key`` names the data key; ``rapport dlq show``/``replay`` open it."""

    model_config = ConfigDict(populate_by_name=True)

    origin_topic: str = Field(alias="rapport.dlq.origin.topic")
    """Topic the record was read from."""
    origin_partition: _DIGITS = Field(alias="rapport.dlq.origin.partition")
    """Its partition, in decimal."""
    origin_offset: _DIGITS = Field(alias="rapport.dlq.origin.offset")
    """Its offset, in decimal."""
    service: str = Field(alias="rapport.dlq.service")
    """The service that gave up on it: ``ingest``, ``sentiment`` or ``scoring``."""
    error_class: str = Field(alias="rapport.dlq.error.class")
    """The exception class, for Rapport's developers."""
    reason: str = Field(alias="rapport.dlq.reason")
    """Stable reason code to filter and replay by (``invalid_json``, ``schema_violation``...;
    see docs/sending-events.md)."""
    message: str = Field(alias="rapport.dlq.message")
    """What is wrong, with field paths, for a person (UTF-8, at most 4096 bytes); on a sealed
    dead letter a placeholder, the message being sealed with the record."""
    timestamp: _DIGITS = Field(alias="rapport.dlq.timestamp")
    """When it was dead-lettered, in milliseconds since the Unix epoch, decimal."""

    @classmethod
    def from_kafka_headers(cls, headers: Iterable[tuple[str, bytes]]) -> DeadLetterHeaders:
        """Parse the headers of a dead-letter record; the original record's headers are
        ignored."""
        return cls.model_validate({key: value.decode("utf-8", "replace") for key, value in headers})
