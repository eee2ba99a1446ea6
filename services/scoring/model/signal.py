"""``Signal``: the model's own input type, one scored event.

The event contract in ``schemas/`` is evolving; the model does not depend on it. The service
turns an annotated event into a ``Signal`` (see ``docs/scoring.md``, "Adapting to the event
contract") and ``services.scoring.model.evidence`` turns a ``Signal`` into evidence. Only those
two places know what an event means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


class SignalKind(StrEnum):
    """What happened. Interaction kinds carry the contract's ``type``; feedback kinds are short."""

    # commerce
    PURCHASE = "purchase"
    RENEWAL = "renewal"
    CANCELLATION = "cancellation"
    REFUND = "refund"
    # support
    SUPPORT_CASE_OPENED = "support_case_opened"
    SUPPORT_CASE_RESOLVED = "support_case_resolved"
    SUPPORT_CASE_REOPENED = "support_case_reopened"
    SUPPORT_CASE_ESCALATED = "support_case_escalated"
    # delivery
    DELIVERY_ON_TIME = "delivery_on_time"
    DELIVERY_LATE = "delivery_late"
    DELIVERY_FAILED = "delivery_failed"
    # promises
    PROMISE_MADE = "promise_made"
    PROMISE_KEPT = "promise_kept"
    PROMISE_BROKEN = "promise_broken"
    # closing the loop
    COMPANY_MESSAGE = "company_message"
    FEEDBACK_RESPONSE = "feedback_response"
    # advocacy
    REFERRAL = "referral"
    RECOMMENDATION = "recommendation"
    # loyalty programme and engagement
    LOYALTY_ENROLLED = "loyalty_enrolled"
    LOYALTY_TIER_CHANGED = "loyalty_tier_changed"
    LOYALTY_POINTS_REDEEMED = "loyalty_points_redeemed"
    LOYALTY_LEFT = "loyalty_left"
    ENGAGEMENT = "engagement"
    # problems and obligations
    BILLING_ERROR = "billing_error"
    PRIVACY_INCIDENT = "privacy_incident"
    PRICE_CHANGE = "price_change"
    ERASURE_REQUEST = "erasure_request"
    # feedback
    NPS = "nps"
    CSAT = "csat"
    CES = "ces"
    SURVEY_COMMENT = "survey_comment"
    REVIEW = "review"
    SUPPORT_TICKET = "support_ticket"
    CHAT = "chat"
    SOCIAL_MENTION = "social_mention"
    FREE_COMMENT = "free_comment"


def _check_range(name: str, value: float | None, low: float, high: float) -> None:
    if value is not None and not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


@dataclass(frozen=True, slots=True)
class Signal:
    """One event of one customer, reduced to what the scoring model uses.

    Every field but the first four is optional; absent means "not known" and contributes no
    evidence. Ranges are checked on construction (``ValueError``).
    """

    event_id: str
    customer_id: str
    occurred_at: datetime
    """Event time, timezone-aware. The only clock the model uses."""
    kind: SignalKind
    qualifier: str | None = None
    """Sub-kind that selects a rule variant ``<kind>.<qualifier>`` in the configuration if one
    exists, e.g. ``privacy_incident`` + ``critical``, ``cancellation`` + ``company``,
    ``loyalty_tier_changed`` + ``up``/``down``, ``company_message`` + ``marketing``,
    ``referral`` + ``converted``. For ``support_case_resolved`` and ``price_change`` the
    variant is derived from the numbers below unless a qualifier is given."""
    amount: float | None = None
    """Money in the reference currency: order value (purchase), new term (renewal), amount paid
    back (refund), wrongly charged (billing_error), the new price (price_change)."""
    previous_amount: float | None = None
    """price_change only: the price before the change, in the reference currency."""
    count: int = 1
    """How many times, when the upstream aggregates (engagement: logins that day...)."""
    nps: int | None = None
    """Net Promoter Score answer, 0-10."""
    csat: int | None = None
    """Customer satisfaction answer, 1-5."""
    ces: int | None = None
    """Customer effort answer, 1 (very difficult) to 7 (very easy)."""
    stars: int | None = None
    """Review rating, 1-5."""
    sentiment: float | None = None
    """Compound sentiment of the customer's text, -1 to 1."""
    emotions: Mapping[str, float] = field(default_factory=dict, hash=False)
    """Emotion label (``joy``, ``frustration``...) -> intensity 0-1. Unknown labels are ignored."""
    aspects: Mapping[str, float] = field(default_factory=dict, hash=False)
    """Aspect (``communication_transparency``...) -> sentiment -1 to 1. Unknown ones are ignored."""
    resolution_seconds: float | None = None
    """support_case_resolved: time from opening to resolution."""
    wait_seconds: float | None = None
    """Support: how long the customer waited for the company."""
    recommend: bool | None = None
    """Stated recommendation intent (a "would you recommend us?" yes/no), if asked."""
    first_contact: bool | None = None
    """support_case_resolved: solved at the first contact (adds its own evidence if True)."""
    reopen_count: int | None = None
    """support_case_reopened: how many times the case has been reopened, this time included
    (each earlier reopening makes this one weigh more)."""
    notified: bool | None = None
    """privacy_incident: whether the customer was told (False adds ``unnotified`` evidence)."""
    about_promise: bool = False
    """Feedback about service or a promise (a review while a delivery is overdue...): its
    stars also feed trust."""
    response_hours: float | None = None
    """feedback_response: hours since the feedback it answers, when known."""
    received_at: datetime | None = None
    """Processing time: when Rapport received the event. Carried for lag metrics only; the
    model never reads it (decay and recency use ``occurred_at``)."""
    _occurred_us: int = field(init=False, repr=False, compare=False)
    """``occurred_at`` converted once: read several times per event (fold, timers, alerts)."""

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() is None:
            raise ValueError("occurred_at must be timezone-aware")
        object.__setattr__(self, "_occurred_us", to_us(self.occurred_at))
        object.__setattr__(self, "kind", SignalKind(self.kind))
        _check_range("nps", self.nps, 0, 10)
        _check_range("csat", self.csat, 1, 5)
        _check_range("ces", self.ces, 1, 7)
        _check_range("stars", self.stars, 1, 5)
        _check_range("sentiment", self.sentiment, -1.0, 1.0)
        if self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}")
        if self.reopen_count is not None and self.reopen_count < 1:
            raise ValueError(f"reopen_count must be >= 1, got {self.reopen_count}")
        for name in (
            "amount",
            "previous_amount",
            "resolution_seconds",
            "wait_seconds",
            "response_hours",
        ):
            value = getattr(self, name)
            if value is not None and not 0 <= value < float("inf"):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        for label, intensity in self.emotions.items():
            _check_range(f"emotions[{label}]", intensity, 0.0, 1.0)
        for aspect, value in self.aspects.items():
            _check_range(f"aspects[{aspect}]", value, -1.0, 1.0)
        object.__setattr__(self, "emotions", MappingProxyType(dict(self.emotions)))
        object.__setattr__(self, "aspects", MappingProxyType(dict(self.aspects)))

    @property
    def occurred_us(self) -> int:
        """``occurred_at`` in integer microseconds since the Unix epoch (exact)."""
        return self._occurred_us


def to_us(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch."""
    return (moment - EPOCH) // _MICROSECOND


def from_us(microseconds: int) -> datetime:
    """Inverse of ``to_us``, in UTC."""
    return EPOCH + timedelta(microseconds=microseconds)
