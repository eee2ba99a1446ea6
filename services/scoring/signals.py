"""From the event contract to the model's ``Signal``: the one place that reads upstream fields.

``to_input(annotated, config)`` turns an ``AnnotatedEvent`` into a ``ScoringInput``: the
``Signal`` the model folds, plus the few facts the service needs besides the scores (the
support case an event is about, the feedback a response answers, the erasure request id).

Every upstream type of ``schemas/interactions.py`` and ``schemas/feedback.py`` is mapped
(``docs/scoring.md``, "Signal mapping", has the table):

* the upstream ``type`` is the ``SignalKind`` of the same name; the survey types are shortened
  (``survey_nps`` -> ``nps``, ``survey_csat`` -> ``csat``, ``survey_ces`` -> ``ces``);
* sub-kinds become the ``qualifier`` that selects a rule variant in ``scoring.yaml``
  (cancellation initiator, privacy incident severity, message purpose, tier direction, promise
  kind, billing error kind, engagement activity, ``converted`` referrals); a variant without a
  rule falls back to the kind's rule;
* money is converted into the reference currency with the static table of ``scoring.yaml``
  (``currencies``); an amount in a currency missing there carries no money evidence;
* the annotation gives ``sentiment`` (for tickets and chats the customer side of the
  conversation, when the sentiment service summarised it), ``emotions`` and ``aspects``, with
  a few synonyms mapped onto the model's labels (``support`` -> ``customer_service``...);
  empty annotations give none.

An event whose ``type`` this version does not know is a permanent error (dead-lettered with
reason ``unsupported_event_type``, replayable after an upgrade), never silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from schemas import AnnotatedEvent, AnyUpstreamEvent
from schemas.feedback import (
    Chat,
    FreeComment,
    Review,
    SocialMention,
    SupportTicket,
    SurveyCes,
    SurveyComment,
    SurveyCsat,
    SurveyNps,
)
from schemas.interactions import (
    BillingError,
    Cancellation,
    CompanyMessage,
    DeliveryFailed,
    DeliveryLate,
    DeliveryOnTime,
    Engagement,
    ErasureRequest,
    FeedbackResponse,
    LoyaltyEnrolled,
    LoyaltyLeft,
    LoyaltyPointsRedeemed,
    LoyaltyTierChanged,
    PriceChange,
    PrivacyIncident,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
    Purchase,
    Recommendation,
    Referral,
    Refund,
    Renewal,
    SupportCaseEscalated,
    SupportCaseOpened,
    SupportCaseReopened,
    SupportCaseResolved,
)
from services.runtime.exceptions import PermanentError
from services.scoring.model import ScoringConfig, Signal, SignalKind
from services.scoring.model.promises import Deadline, hours, timer_key
from services.scoring.model.signal import to_us

UNSUPPORTED_EVENT_TYPE: Final = "unsupported_event_type"
"""Dead-letter reason of an event whose ``type`` the scoring service does not know."""
INVALID_SIGNAL: Final = "invalid_signal"
"""Dead-letter reason of an event the model refuses (a value out of the model's range)."""

_SURVEY_KINDS: Final = {
    "survey_nps": SignalKind.NPS,
    "survey_csat": SignalKind.CSAT,
    "survey_ces": SignalKind.CES,
}
TYPE_KINDS: Final[Mapping[str, SignalKind]] = {
    **{kind.value: kind for kind in SignalKind if kind not in _SURVEY_KINDS.values()},
    **_SURVEY_KINDS,
}
"""Upstream ``type`` -> ``SignalKind``: interaction and feedback types share the kind's name,
except the surveys (the model's ``nps``, ``csat``, ``ces`` are not upstream types)."""

CONVERSATION_KINDS: Final = frozenset({SignalKind.SUPPORT_TICKET, SignalKind.CHAT})

EMOTION_SYNONYMS: Final[Mapping[str, str]] = {
    "annoyance": "frustration",
    "irritation": "frustration",
    "rage": "anger",
    "happiness": "joy",
    "delight": "joy",
    "contentment": "satisfaction",
    "thankfulness": "gratitude",
    "appreciation": "gratitude",
    "worry": "anxiety",
    "fear": "anxiety",
    "regret": "disappointment",
}
"""Emotion labels other annotators use -> the model's taxonomy (``docs/sentiment.md``)."""

ASPECT_SYNONYMS: Final[Mapping[str, str]] = {
    "support": "customer_service",
    "service": "customer_service",
    "product": "product_quality",
    "quality": "product_quality",
    "price": "price_value",
    "value": "price_value",
    "delivery": "delivery_reliability",
    "shipping": "delivery_reliability",
    "communication": "communication_transparency",
    "transparency": "communication_transparency",
    "privacy": "ethics_privacy",
    "ethics": "ethics_privacy",
    "brand": "brand_connection",
}
"""Aspect labels of the contract's examples and other annotators -> the model's aspects. A
model label present in the annotation wins over its synonyms."""


@dataclass(frozen=True, slots=True)
class ScoringInput:
    """One annotated event as the scoring service uses it."""

    signal: Signal
    event_type: str
    """The upstream ``type`` (published in score drivers)."""
    tenant_id: str | None = None
    case_id: str | None = None
    """Support case events: the case, for the unresolved-complaints alert."""
    responds_to_event_id: str | None = None
    """``feedback_response``: the feedback event answered (closes the loop on its alerts)."""
    erasure_request_id: str | None = None
    """``erasure_request``: the privacy team's request id."""
    unconverted_currency: str | None = None
    """An amount was given in a currency missing from the rate table (no money evidence)."""
    opens: Deadline | None = None
    """A promise with a deadline this event opens (a timer, ``model/promises.py``)."""
    settles: tuple[str, ...] = ()
    """Timer keys this event settles (the delivery of an order, a kept promise...)."""
    subject_id: str | None = None
    """The order, promise or case the event is about (for messages)."""

    @property
    def is_erasure(self) -> bool:
        return self.signal.kind is SignalKind.ERASURE_REQUEST


class _Money:
    def __init__(self, config: ScoringConfig) -> None:
        self._rates = config.currencies.rates
        self.unconverted: str | None = None

    def __call__(self, amount: Decimal | None, currency: str | None) -> float | None:
        if amount is None:
            return None
        rate = self._rates.get((currency or "").upper())
        if rate is None:
            self.unconverted = currency
            return None
        return float(amount) * rate


def _labels(
    values: Mapping[str, float], synonyms: Mapping[str, str], combine: str
) -> dict[str, float]:
    """Labels mapped onto the model's; several synonyms of one label are combined by
    ``max`` (emotion intensities) or ``mean`` (aspect sentiment); the label itself wins."""
    direct = {label: value for label, value in values.items() if label not in synonyms}
    grouped: dict[str, list[float]] = {}
    for label, value in values.items():
        target = synonyms.get(label)
        if target is not None and target not in direct:
            grouped.setdefault(target, []).append(value)
    for target, found in grouped.items():
        direct[target] = max(found) if combine == "max" else sum(found) / len(found)
    return direct


def _sentiment(annotated: AnnotatedEvent, kind: SignalKind) -> float | None:
    if kind in CONVERSATION_KINDS and annotated.conversation is not None:
        # What the customer felt, not what the agent wrote.
        return annotated.conversation.customer_sentiment
    return None if annotated.sentiment is None else annotated.sentiment.compound


@dataclass(slots=True)
class _Fields:
    """What an upstream event adds to its kind (all optional)."""

    qualifier: str | None = None
    amount: float | None = None
    previous_amount: float | None = None
    count: int = 1
    nps: int | None = None
    csat: int | None = None
    ces: int | None = None
    stars: int | None = None
    resolution_seconds: float | None = None
    wait_seconds: float | None = None
    case_id: str | None = None
    responds_to: str | None = None
    request_id: str | None = None
    first_contact: bool | None = None
    reopen_count: int | None = None
    notified: bool | None = None
    recommend: bool | None = None
    order_id: str | None = None
    promised_delivery_us: int | None = None
    promise_id: str | None = None
    promise_due_us: int | None = None


_CORRECTION_WORDS: Final = ("billing", "error", "overcharg", "double", "duplicate", "wrong")
"""A refund whose reason says so corrects the company's own mistake."""


def _read_upstream(  # noqa: PLR0915 - one case per upstream type, flat on purpose
    upstream: AnyUpstreamEvent | None, money: _Money
) -> _Fields:
    f = _Fields()
    match upstream:
        case Purchase():
            f.amount = money(upstream.amount, upstream.currency)
            f.order_id = upstream.order_id
            if upstream.promised_delivery_at is not None:
                f.promised_delivery_us = to_us(upstream.promised_delivery_at)
        case Renewal():
            f.amount = money(upstream.amount, upstream.currency)
        case Refund():
            f.amount = money(upstream.amount, upstream.currency)
            reason = (upstream.reason or "").lower()
            if any(word in reason for word in _CORRECTION_WORDS):
                f.qualifier = "correction"
        case Cancellation():
            f.qualifier = upstream.initiated_by.value
        case BillingError():
            f.qualifier = upstream.error_kind.value
            f.amount = money(upstream.amount, upstream.currency)
        case SupportCaseOpened():
            f.wait_seconds = upstream.wait_seconds
            f.case_id = upstream.case_id
        case SupportCaseResolved():
            f.resolution_seconds = upstream.resolution_seconds
            f.wait_seconds = upstream.wait_seconds
            f.case_id = upstream.case_id
            f.first_contact = upstream.first_contact_resolution
        case SupportCaseReopened():
            f.case_id = upstream.case_id
            f.reopen_count = upstream.reopen_count
        case SupportCaseEscalated():
            f.case_id = upstream.case_id
        case PromiseMade():
            f.qualifier = upstream.promise_kind.value
            f.promise_id = upstream.promise_id
            f.promise_due_us = to_us(upstream.due_at)
        case PromiseKept() | PromiseBroken():
            f.qualifier = upstream.promise_kind.value
            f.promise_id = upstream.promise_id
        case CompanyMessage():
            f.qualifier = upstream.purpose.value
        case FeedbackResponse():
            f.responds_to = upstream.responds_to_event_id
        case Referral():
            f.qualifier = "converted" if upstream.converted else None
        case LoyaltyTierChanged():
            f.qualifier = upstream.direction.value
        case Engagement():
            f.qualifier = upstream.activity.value
            f.count = upstream.count or 1
        case PrivacyIncident():
            f.qualifier = upstream.severity.value
            f.notified = upstream.customer_notified
        case PriceChange():
            f.amount = money(upstream.new_amount, upstream.currency)
            f.previous_amount = money(upstream.old_amount, upstream.currency)
        case ErasureRequest():
            f.request_id = upstream.request_id
        case SurveyNps():
            f.nps = upstream.score
        case SurveyCsat():
            f.csat = upstream.score
        case SurveyCes():
            f.ces = upstream.score
        case Review():
            f.stars = upstream.stars
            f.recommend = upstream.would_recommend
        case DeliveryOnTime() | DeliveryLate() | DeliveryFailed():
            f.order_id = upstream.order_id
        case (
            Recommendation()
            | LoyaltyEnrolled()
            | LoyaltyPointsRedeemed()
            | LoyaltyLeft()
            | SurveyComment()
            | SupportTicket()
            | Chat()
            | SocialMention()
            | FreeComment()
            | None
        ):
            pass  # the kind (and the annotation) is all the model needs
    return f


def to_input(annotated: AnnotatedEvent, config: ScoringConfig) -> ScoringInput:
    """Map an annotated event; ``PermanentError`` for a type this version does not know or a
    value the model refuses."""
    event = annotated.event
    upstream = event.upstream
    event_type = upstream.type if upstream is not None else event.type
    kind = TYPE_KINDS.get(event_type)
    if kind is None:
        raise PermanentError(
            UNSUPPORTED_EVENT_TYPE,
            f"type {event_type!r} is not scored by this version of Rapport "
            "(replay the dead letter after upgrading)",
        )
    money = _Money(config)
    f = _read_upstream(upstream, money)
    # A text the annotator could not read (another language...) carries no sentiment evidence:
    # neutral evidence from an unread text would count quantity, not content.
    read = annotated.annotated
    try:
        signal = Signal(
            event_id=event.event_id,
            customer_id=event.customer_id,
            occurred_at=event.occurred_at,
            kind=kind,
            qualifier=f.qualifier,
            amount=f.amount,
            previous_amount=f.previous_amount,
            count=f.count,
            nps=f.nps,
            csat=f.csat,
            ces=f.ces,
            stars=f.stars,
            sentiment=_sentiment(annotated, kind) if read else None,
            emotions=_labels(annotated.emotions, EMOTION_SYNONYMS, "max") if read else {},
            aspects=_labels(annotated.aspects, ASPECT_SYNONYMS, "mean") if read else {},
            resolution_seconds=f.resolution_seconds,
            wait_seconds=f.wait_seconds,
            recommend=f.recommend,
            first_contact=f.first_contact,
            reopen_count=f.reopen_count,
            notified=f.notified,
            received_at=event.ingested_at,
        )
    except ValueError as exc:
        raise PermanentError(INVALID_SIGNAL, str(exc)) from exc
    request_id = f.request_id
    if kind is SignalKind.ERASURE_REQUEST and request_id is None:
        request_id = event.event_id  # a tool-built canonical event without its upstream
    return ScoringInput(
        signal=signal,
        event_type=event_type,
        tenant_id=event.tenant_id,
        case_id=f.case_id,
        responds_to_event_id=f.responds_to,
        erasure_request_id=request_id,
        unconverted_currency=money.unconverted,
        opens=_opens(signal, f, config),
        settles=_settles(signal, f),
        subject_id=f.order_id or f.promise_id or f.case_id,
    )


def _opens(signal: Signal, f: _Fields, config: ScoringConfig) -> Deadline | None:
    """The deadline an event opens, if any (``promises`` in the configuration)."""
    promises = config.promises
    kind = signal.kind
    at = signal.occurred_us
    if kind is SignalKind.PURCHASE and f.order_id and f.promised_delivery_us is not None:
        due = f.promised_delivery_us + hours(promises.delivery_grace_hours)
        return Deadline("delivery", f.order_id, due)
    if kind is SignalKind.PROMISE_MADE and f.promise_id and f.promise_due_us is not None:
        return Deadline(
            "promise", f.promise_id, f.promise_due_us + hours(promises.promise_grace_hours)
        )
    if kind in (SignalKind.SUPPORT_CASE_OPENED, SignalKind.SUPPORT_CASE_REOPENED) and f.case_id:
        # A reopening restarts the SLA under its own key (the first timer was settled).
        subject = f.case_id if kind is SignalKind.SUPPORT_CASE_OPENED else f"{f.case_id}#{at}"
        return Deadline("case", subject, at + hours(promises.case_sla_hours))
    if awaits_response(signal, config):
        return Deadline("response", signal.event_id, at + hours(promises.response_hours))
    return None


def awaits_response(signal: Signal, config: ScoringConfig) -> bool:
    """Negative feedback the company owes an answer to."""
    p = config.promises
    return (
        (signal.nps is not None and signal.nps <= p.response_max_nps)
        or (signal.stars is not None and signal.stars <= p.response_max_stars)
        or (signal.csat is not None and signal.csat <= p.response_max_csat)
        or (
            signal.kind in _WRITTEN_FEEDBACK
            and signal.sentiment is not None
            and signal.sentiment <= p.response_max_sentiment
        )
    )


_WRITTEN_FEEDBACK: Final = frozenset(
    {
        SignalKind.SURVEY_COMMENT,
        SignalKind.REVIEW,
        SignalKind.SUPPORT_TICKET,
        SignalKind.CHAT,
        SignalKind.SOCIAL_MENTION,
        SignalKind.FREE_COMMENT,
    }
)


def _settles(signal: Signal, f: _Fields) -> tuple[str, ...]:
    kind = signal.kind
    if kind in _DELIVERIES and f.order_id:
        return (timer_key("delivery", f.order_id),)
    if kind in (SignalKind.PROMISE_KEPT, SignalKind.PROMISE_BROKEN) and f.promise_id:
        return (timer_key("promise", f.promise_id),)
    if kind is SignalKind.SUPPORT_CASE_RESOLVED and f.case_id:
        return (timer_key("case", f.case_id),)
    if kind is SignalKind.FEEDBACK_RESPONSE and f.responds_to:
        return (timer_key("response", f.responds_to),)
    return ()


_DELIVERIES: Final = frozenset(
    {SignalKind.DELIVERY_ON_TIME, SignalKind.DELIVERY_LATE, SignalKind.DELIVERY_FAILED}
)
