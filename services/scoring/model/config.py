"""The scoring configuration: one versioned YAML file, loaded into a frozen object.

``services/scoring/config/scoring.yaml`` holds every weight, half-life and threshold. Its
``version`` is stamped on every score; ``content_hash`` (SHA-256 of the normalised settings,
``version`` excluded) changes with any setting, so a file edited without bumping ``version``
is detectable: the unit tests pin the hash of the current version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.scoring.model.channels import CHANNELS, Channel
from services.scoring.model.signal import SignalKind

log = logging.getLogger(__name__)

MODEL_VERSION: Final = "rapport-beta-loyalty-2"
"""Version of the formulas in this package; bump it when they change."""
DEFAULT_PATH: Final = Path(__file__).resolve().parent.parent / "config" / "scoring.yaml"
_MICROSECONDS_PER_DAY: Final = 86_400_000_000
OVERDUE_KINDS: Final = ("delivery", "promise", "case", "response")
"""Promises with a deadline the model keeps timers for (``promises`` in the configuration)."""
EXTRA_RULE_KEYS: Final = frozenset(
    {
        "support_wait.long",
        "support_case_resolved.first_contact",
        "privacy_incident.unnotified",
        *(f"overdue.{kind}" for kind in OVERDUE_KINDS),
    }
)
"""Rule keys that ``evidence.py`` adds on top of an event's own rule (not signal kinds)."""

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Unit = Annotated[float, Field(ge=0, le=1)]
Points = Annotated[float, Field(ge=0, le=100)]
ChannelWeights = dict[Channel, Finite]
"""Channel -> signed weight: positive weights are positive evidence, negative ones negative."""


class LoyaltyComponent(StrEnum):
    RECENCY = "recency"
    FREQUENCY = "frequency"
    MONETARY = "monetary"
    COMMITMENT = "commitment"
    ADVOCACY = "advocacy"
    SATISFACTION = "satisfaction"
    EMOTION = "emotion"
    CONNECTION = "connection"
    TRUST = "trust"


class ChurnFactor(StrEnum):
    """Attitudes that shift the behavioural churn probability (each centred: neutral = 0)."""

    DISTRUST = "distrust"
    DISSATISFACTION = "dissatisfaction"
    DECOMMITMENT = "decommitment"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HalfLives(_Frozen):
    """Half-life of each channel's evidence, and of recency, in days of event time."""

    trust: Positive
    commitment: Positive
    activity: Positive
    spend: Positive
    advocacy: Positive
    satisfaction: Positive
    emotion: Positive
    connection: Positive
    recency: Positive
    company: Positive = 60.0
    trust_long: Positive = 730.0

    def of(self, channel: Channel) -> float:
        value: float = getattr(self, channel.value)
        return value


class Scale(_Frozen):
    """A rating scale: ``min`` maps to 0, ``neutral`` to 0.5 and ``max`` to 1, piecewise linear."""

    min: float
    neutral: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min < self.neutral < self.max:
            raise ValueError("a scale needs min < neutral < max")
        return self

    def unit(self, value: float) -> float:
        """``value`` on the 0-1 scale (clipped)."""
        if value <= self.neutral:
            x = 0.5 * (value - self.min) / (self.neutral - self.min)
        else:
            x = 0.5 + 0.5 * (value - self.neutral) / (self.max - self.neutral)
        return min(1.0, max(0.0, x))


class Scales(_Frozen):
    nps: Scale
    csat: Scale
    ces: Scale
    stars: Scale


class TrustSettings(_Frozen):
    negative_multiplier: Annotated[float, Field(ge=1, allow_inf_nan=False)]
    """Multiplies the negative part of graded trust evidence (ratings, aspects): trust is
    easier to lose than to gain."""


class Ratings(_Frozen):
    """Graded evidence from answers and text: a grade x on 0-1 (0.5 at the scale's neutral)
    becomes evidence on each channel of weight w, by ``grading``:

    * ``centred`` (2026.12.5 on): w*(2x-1) positive above the neutral grade, w*(1-2x) negative
      below it, nothing at it. Evidence has the tone of what it grades: praise adds no
      negative evidence, criticism no positive, a neutral answer none.
    * ``split`` (Jøsang & Ismail's graded ratings, before): w*x positive and w*(1-x) negative,
      which pulls a score toward the grade: an NPS 9 lowered a trust above 73, a 2-star
      review raised one below 18 (with trust's negative multiplier).
    """

    grading: Literal["centred", "split"] = "split"
    """``split`` when a file does not say, so that an older file keeps its meaning."""

    nps: ChannelWeights
    csat: ChannelWeights
    ces: ChannelWeights
    stars: ChannelWeights
    recommend: ChannelWeights
    sentiment: dict[str, ChannelWeights]
    """Signal kind (or ``default``) -> channel weights of the text's compound sentiment."""

    @field_validator("nps", "csat", "ces", "stars", "recommend")
    @classmethod
    def _non_negative(cls, value: ChannelWeights) -> ChannelWeights:
        _require_non_negative(value)
        return value

    @field_validator("sentiment")
    @classmethod
    def _sentiment_kinds(cls, value: dict[str, ChannelWeights]) -> dict[str, ChannelWeights]:
        if "default" not in value:
            raise ValueError("ratings.sentiment needs a 'default' entry")
        for key, weights in value.items():
            if key != "default":
                SignalKind(key)
            _require_non_negative(weights)
        return value


def _require_non_negative(weights: Mapping[Channel, float]) -> None:
    if any(weight < 0 for weight in weights.values()):
        raise ValueError("graded evidence weights must be >= 0 (the grade gives the polarity)")


class Support(_Frozen):
    fast_resolution_hours: Positive
    """A case resolved within this time gives the ``support_case_resolved.fast`` evidence."""
    slow_resolution_hours: Positive
    """A case resolved after this time gives the ``support_case_resolved.slow`` evidence."""
    long_wait_minutes: Positive
    """A wait of at least this long adds the ``support_wait.long`` evidence."""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.fast_resolution_hours >= self.slow_resolution_hours:
            raise ValueError("fast_resolution_hours must be below slow_resolution_hours")
        return self


class Loyalty(_Frozen):
    weights: dict[LoyaltyComponent, NonNegative]
    """Weight of each component in the 0-100 loyalty score; they must sum to 1."""
    frequency_reference: Positive
    """Activity per 30 days (a purchase is 1) at which the frequency component is 0.5."""
    spend_reference: Positive
    """Spend per 30 days (reference currency) at which the monetary component is 0.5."""
    prior_days: Positive
    """Prior exposure, in days, at the reference rates: a new customer's frequency and
    monetary components start at 0.5 and move as evidence outweighs this prior."""

    @field_validator("weights")
    @classmethod
    def _complete(cls, value: dict[LoyaltyComponent, float]) -> dict[LoyaltyComponent, float]:
        missing = set(LoyaltyComponent) - set(value)
        if missing:
            raise ValueError(f"loyalty weights missing for {sorted(missing)}")
        if not math.isclose(sum(value.values()), 1.0, abs_tol=1e-9):
            raise ValueError(f"loyalty weights must sum to 1, got {sum(value.values())}")
        return value


class DetractorRule(_Frozen):
    max_trust: Unit
    max_attitude: Unit
    min_evidence: NonNegative
    """Decayed evidence needed before trust or attitude can make a detractor."""


class ChampionRule(_Frozen):
    min_loyalty: Points
    min_trust: Unit
    min_advocacy: Unit


class LoyaltyRule(_Frozen):
    min_loyalty: Points


class EstablishedRule(_Frozen):
    """What a relationship needs before it can be called loyal or champion."""

    min_events: Annotated[int, Field(ge=0)] = 5
    min_tenure_days: NonNegative = 60.0
    """Event time between the first and the latest event (three purchases in a minute are
    not a relationship)."""


class Segments(_Frozen):
    min_events: Annotated[int, Field(ge=0)]
    """Fewer events: ``new`` (unless the evidence already makes a detractor)."""
    established: EstablishedRule = EstablishedRule()
    detractor: DetractorRule
    champion: ChampionRule
    loyal: LoyaltyRule
    passive: LoyaltyRule

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.passive.min_loyalty <= self.loyal.min_loyalty <= self.champion.min_loyalty:
            raise ValueError("segment thresholds need passive <= loyal <= champion")
        return self


class ChurnLevels(_Frozen):
    medium: Unit
    high: Unit

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.medium < self.high:
            raise ValueError("churn levels need medium < high")
        return self


class Churn(_Frozen):
    """Churn risk: the probability of no activity within ``horizon_days``.

    Behaviour first (a customer's own activity rate, shrunk towards ``prior_rate``, and how long
    they have been idle against that cadence), then shifted on the log-odds scale by attitudes.
    """

    horizon_days: Positive = 90.0
    prior_rate: Positive = 1.0
    """Activity per 30 days of a typical customer: the prior of every customer's own rate."""
    prior_days: Positive = 60.0
    """Weight of that prior, in days of observation."""
    lapse_cadences: Positive = 2.0
    """Idle for this many of the customer's own gaps: even odds that they are still active."""
    lapse_shape: Positive = 2.0
    """Steepness of the fall of P(active) with idle time (log-logistic shape)."""
    coefficients: dict[ChurnFactor, Finite]
    """Log-odds shift per unit of each attitude factor in [-1, 1] (0: neutral)."""
    levels: ChurnLevels

    @field_validator("coefficients")
    @classmethod
    def _complete(cls, value: dict[ChurnFactor, float]) -> dict[ChurnFactor, float]:
        missing = set(ChurnFactor) - set(value)
        if missing:
            raise ValueError(f"churn coefficients missing for {sorted(missing)}")
        return value


class Explanations(_Frozen):
    min_points: NonNegative
    """Score changes smaller than this (in points) read as "steady"."""
    max_drivers: Annotated[int, Field(ge=1)]
    """Drivers named in a summary line."""
    low_confidence_trust_stddev: Unit = 0.12
    """Trust with a larger standard deviation (0-1) is "low confidence"."""
    low_confidence_loyalty_stddev: Unit = 0.09
    """Loyalty with a larger standard deviation (0-1 scale) is "low confidence"."""
    interval_z: Positive = 1.645
    """Half-width of the published intervals in standard deviations (1.645: 90 %)."""


class Promises(_Frozen):
    """Deadlines the model keeps timers for. A deadline passed unfulfilled (at the partition's
    event-time watermark) adds the ``overdue.<kind>`` evidence of ``events`` at the deadline;
    the fulfilment withdraws it (its own event carries its own evidence)."""

    delivery_grace_hours: NonNegative = 24.0
    """After a purchase's promised delivery date."""
    promise_grace_hours: NonNegative = 0.0
    """After a ``promise_made`` due time."""
    case_sla_hours: Positive = 72.0
    """A support case opened (or reopened) and not resolved within this is overdue."""
    response_hours: Positive = 48.0
    """Negative feedback not answered (``feedback_response``) within this is overdue."""
    response_max_nps: Annotated[int, Field(ge=0, le=10)] = 6
    response_max_stars: Annotated[int, Field(ge=1, le=5)] = 2
    response_max_csat: Annotated[int, Field(ge=1, le=5)] = 2
    response_max_sentiment: Annotated[float, Field(ge=-1, le=1)] = -0.5
    """Written feedback at or below this compound sentiment awaits a response."""
    max_settled: Annotated[int, Field(ge=0)] = 200
    """Fulfilments remembered per customer (for a promise whose creation arrives late)."""


class Evidence(_Frozen):
    """How a CX professional weighs evidence beyond the event rules."""

    company_cap: NonNegative = 2.0
    """Most trust evidence company-side actions (messages, responses, apologies) can add,
    saturating: ``cap * (1 - 2^(-sum / cap))``."""
    company_confirmation: Positive = 3.0
    """Customer-side evidence (trust and attitude) needed for the full company credit: below
    it, the credit is scaled down proportionally (unconfirmed actions count little)."""
    long_memory_weight: NonNegative = 0.3
    """Each good or bad experience in the long memory of trust counts this much trust
    evidence (besides its own evidence in the 120-day memory)."""
    repeat_purchase_trust: NonNegative = 0.15
    """Trust credit of a voluntary repeat purchase (not the first one) ..."""
    repeat_purchase_cap: NonNegative = 0.6
    """... up to this much trust evidence in all (5,000 purchases in a day are not trust)."""
    service_review_trust: NonNegative = 1.0
    """Trust weight of review stars when the review is about service or a promise (an aspect
    of ``trust_aspects``, or a delivery/service complaint)."""
    trust_aspects: tuple[str, ...] = (
        "customer_service",
        "delivery_reliability",
        "communication_transparency",
        "ethics_privacy",
    )
    price_change_reference: Positive = 0.10
    """Relative price change with the rule's full weight; 1 % weighs a tenth of 10 %,
    50 % up to ``price_change_max`` times it."""
    price_change_max: Positive = 3.0
    reopen_step: NonNegative = 0.5
    """Extra weight of a reopening per earlier reopening of the case (capped at 3 more)."""
    response_time_hours: Positive = 24.0
    """A response to feedback within this time adds ``fast``; after 7 times it, ``slow``."""


SEGMENT_NAMES: Final = frozenset({"new", "champion", "loyal", "passive", "at_risk", "detractor"})
"""The model's segments (``scores.Segment``), for the alert rules."""
_CURRENCY = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
_Days = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Currencies(_Frozen):
    """Exchange rates into the reference currency in which the model counts money.

    A static table, versioned with the rest of the configuration: amounts change the spend
    evidence, so a changed rate changes what stored states mean (rebuild them).
    """

    reference: _CURRENCY = "EUR"
    rates: dict[_CURRENCY, Positive] = Field(default_factory=lambda: {"EUR": 1.0})
    """Currency -> value of one unit in the reference currency. Amounts in other currencies
    carry no spend evidence (the event still counts)."""

    @model_validator(mode="after")
    def _reference_is_one(self) -> Self:
        if self.rates.get(self.reference) != 1.0:
            raise ValueError(f"currencies.rates must map the reference {self.reference} to 1")
        return self


class TrustDropAlert(_Frozen):
    drop_points: Positive
    """Raise when an event leaves trust this many points (0-100) below the reference level:
    the highest trust since the last trust-drop alert was resolved (or since the first event)."""
    recover_points: NonNegative
    """Hysteresis: resolve when trust is back within this many points of the reference level
    the alert was raised against (must be below ``drop_points``)."""
    critical_points: Positive
    """A drop of at least this many points is ``critical``, else ``warning``."""
    cooldown_days: _Days
    """No new trust-drop alert for the customer within this much event time of the last one."""

    @model_validator(mode="after")
    def _band(self) -> Self:
        if not self.recover_points < self.drop_points <= self.critical_points:
            raise ValueError("trust_drop needs recover_points < drop_points <= critical_points")
        return self


class SegmentAlert(_Frozen):
    segments: tuple[str, ...]
    """Raise when the customer's segment changes into one of these."""
    critical_segments: tuple[str, ...] = ()
    """Entering one of these is ``critical``, the others ``warning``."""
    resolve_after_events: Annotated[int, Field(ge=1)]
    """Hysteresis: resolve after this many consecutive events outside ``segments``."""
    cooldown_days: _Days

    @field_validator("segments", "critical_segments")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - SEGMENT_NAMES
        if unknown:
            raise ValueError(f"unknown segments {sorted(unknown)}")
        return value


class DetractorNpsAlert(_Frozen):
    max_score: Annotated[int, Field(ge=0, le=10)]
    """An NPS answer at or below this raises the alert (6: the NPS detractors)."""
    critical_max_score: Annotated[int, Field(ge=0, le=10)]
    """At or below this the alert is ``critical``, else ``warning``."""
    resolve_min_score: Annotated[int, Field(ge=0, le=10)]
    """Hysteresis: a later answer at or above this resolves it (as does a response to the
    feedback that raised it)."""
    cooldown_days: _Days

    @model_validator(mode="after")
    def _band(self) -> Self:
        if not self.critical_max_score <= self.max_score < self.resolve_min_score:
            raise ValueError(
                "detractor_nps needs critical_max_score <= max_score < resolve_min_score"
            )
        return self


class ComplaintsAlert(_Frozen):
    streak: Annotated[int, Field(ge=1)]
    """Raise when this many support-case openings, reopenings and escalations are without
    resolution."""
    critical_streak: Annotated[int, Field(ge=1)]
    """At or above this the alert is ``critical``."""
    resolve_at: Annotated[int, Field(ge=0)]
    """Hysteresis: resolve when resolutions bring the count down to this."""
    cooldown_days: _Days

    @model_validator(mode="after")
    def _band(self) -> Self:
        if not self.resolve_at < self.streak <= self.critical_streak:
            raise ValueError("unresolved_complaints needs resolve_at < streak <= critical_streak")
        return self


class NegativeFeedbackAlert(_Frozen):
    """A single piece of feedback bad enough to look at by itself."""

    enabled: bool = True
    max_stars: Annotated[int, Field(ge=1, le=5)] = 2
    """A review with this many stars or fewer (1-2) raises; 1 star is ``critical``."""
    public_max_sentiment: Annotated[float, Field(ge=-1, le=1)] = -0.6
    """A public post (``social_mention``) at or below this compound sentiment raises ..."""
    public_min_anger: Unit = 0.5
    """... as does one with at least this much anger (critical)."""
    cooldown_days: _Days = 1.0


class OverdueAlert(_Frozen):
    enabled: bool = True
    critical_overdue: Annotated[int, Field(ge=1)] = 2
    """This many promises overdue at once make the alert ``critical``."""


class LapsedAlert(_Frozen):
    enabled: bool = True
    min_events: Annotated[int, Field(ge=1)] = 3
    """Only customers with some history can lapse (a one-off buyer is not a relationship)."""
    min_churn_risk: Unit = 0.6
    """Raised by time when the churn risk reaches this; resolved by the next activity."""


class Alerts(_Frozen):
    """Alert rules of the scoring service, in event time. They do not change what a state
    means, so they are not part of ``content_hash`` (but of ``settings_hash``)."""

    trust_drop: TrustDropAlert = TrustDropAlert(
        drop_points=15, recover_points=5, critical_points=30, cooldown_days=7
    )
    segment_change: SegmentAlert = SegmentAlert(
        segments=("at_risk", "detractor"),
        critical_segments=("detractor",),
        resolve_after_events=2,
        cooldown_days=14,
    )
    detractor_nps: DetractorNpsAlert = DetractorNpsAlert(
        max_score=6, critical_max_score=3, resolve_min_score=8, cooldown_days=7
    )
    unresolved_complaints: ComplaintsAlert = ComplaintsAlert(
        streak=3, critical_streak=5, resolve_at=1, cooldown_days=7
    )
    negative_feedback: NegativeFeedbackAlert = NegativeFeedbackAlert()
    promise_overdue: OverdueAlert = OverdueAlert()
    lapsed: LapsedAlert = LapsedAlert()


class Publishing(_Frozen):
    """When the service publishes. Not part of ``content_hash`` (no stored state depends on it)."""

    time_update_points: Positive = 3.0
    """A time-driven update is published when trust or loyalty moved this much since the last
    update, or churn risk moved ``time_update_churn_risk``, or the segment or churn level
    changed, or an alert was raised or resolved; nothing else (a promise timer that fired
    without any of these is not published, and fires again later)."""
    time_update_churn_risk: Annotated[float, Field(gt=0, le=1)] = 0.05
    """Churn risk (0-1) a customer must move by, since their last update, for time alone to
    publish an update (with ``time_update_points``)."""
    material_only: bool = False
    """True: an event update is published only if material (as above, or the event raised or
    resolved an alert), plus a full update every ``full_every`` events; for very active
    accounts. False: every event publishes an update (the change log of the contract)."""
    full_every: Annotated[int, Field(ge=1)] = 50
    time_review_days: Positive = 7.0
    """A partition's watermark looks at an idle customer again after this much event time (or
    at their next promise deadline, if sooner): how finely time-driven updates follow decay."""
    watermark_lateness_minutes: Annotated[float, Field(ge=0)] = 5.0
    """The watermark trails the latest event time of its partition by this much, so events a
    little out of order between producers do not arrive behind it."""
    watermark_step_minutes: Positive = 60.0
    """The watermark moves in whole steps of this much event time: a busy partition looks for
    due customers at most once a step, not at every record."""
    history_limit: Annotated[int, Field(ge=1)] = 1000
    """Score-history rows kept per customer (the oldest are pruned)."""
    processed_ids_limit: Annotated[int, Field(ge=1)] = 5000
    """Processed event ids kept per customer for duplicate detection (the newest by event
    time); an event dated at or before the newest pruned one is refused, since it may be a
    duplicate (docs/scoring.md, "Publishing (bounded per customer)")."""

    @model_validator(mode="before")
    @classmethod
    def _ignore_retired_settings(cls, data: Any) -> Any:
        # Configuration files written before processed ids were bounded by count may still set
        # the retired time horizon: they keep loading, and the log says it has no effect.
        if isinstance(data, Mapping) and "duplicate_horizon_days" in data:
            log.warning(
                "publishing.duplicate_horizon_days is ignored: processed event ids are bounded "
                "by count (publishing.processed_ids_limit); remove it from the configuration"
            )
            data = {k: v for k, v in data.items() if k != "duplicate_horizon_days"}
        return data


_NOT_IN_CONTENT_HASH: Final = frozenset({"version", "content_hash", "alerts", "publishing"})
_NOT_OVERRIDABLE: Final = frozenset({"version", "content_hash", "tenants"})


def _unset_overrides(config: ScoringConfig) -> frozenset[str]:
    return frozenset() if config.tenants else frozenset({"tenants"})


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` over ``base``: nested mappings merged key by key, anything else replaced."""
    merged = dict(base)
    for key, value in overrides.items():
        below = merged.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[key] = _merge(below, value)
        else:
            merged[key] = value
    return merged


class ScoringConfig(_Frozen):
    """The whole configuration. Load it with ``ScoringConfig.load()``."""

    version: Annotated[str, Field(min_length=1, max_length=64)]
    content_hash: str
    """SHA-256 (hex) of the normalised settings without ``version`` and ``alerts``: what a
    stored state depends on; computed on load."""
    half_life_days: HalfLives
    trust: TrustSettings
    scales: Scales
    ratings: Ratings
    events: dict[str, ChannelWeights]
    """Rule key ``<kind>`` or ``<kind>.<variant>`` -> channel weights of that event."""
    amounts: dict[SignalKind, ChannelWeights]
    """Kind -> channel weights per unit of ``amount`` (reference currency)."""
    count_cap: Annotated[int, Field(ge=1)]
    """Event evidence is multiplied by ``min(count, count_cap)``."""
    aspects: dict[str, ChannelWeights]
    """Aspect -> channel weights of the sentiment about it (graded)."""
    emotions: dict[str, ChannelWeights]
    """Emotion -> signed channel weights, multiplied by the intensity."""
    support: Support
    loyalty: Loyalty
    segments: Segments
    churn: Churn
    explanation: Explanations
    promises: Promises = Promises()
    weighing: Evidence = Evidence()
    currencies: Currencies = Currencies()
    """Exchange rates into the reference currency (used by the service's signal mapping)."""
    alerts: Alerts = Alerts()
    """Alert rules of the service (not part of ``content_hash``)."""
    publishing: Publishing = Publishing()
    """When the service publishes (not part of ``content_hash``)."""
    tenants: dict[str, dict[str, Any]] = {}
    """Per-tenant overrides (multi-tenant deployments): tenant -> settings merged over the
    file's (nested mappings key by key, anything else replaced), e.g. other event weights,
    half-lives or alert thresholds. Part of ``content_hash``: changing an override changes
    what stored states mean. A tenant's updates are stamped ``<version>+<tenant>``."""

    @field_validator("events")
    @classmethod
    def _event_keys(cls, value: dict[str, ChannelWeights]) -> dict[str, ChannelWeights]:
        for key in value:
            if key in EXTRA_RULE_KEYS:
                continue
            kind, _, _variant = key.partition(".")
            try:
                SignalKind(kind)
            except ValueError:
                raise ValueError(f"events: {key!r} does not start with a signal kind") from None
        return value

    @field_validator("aspects")
    @classmethod
    def _aspects_graded(cls, value: dict[str, ChannelWeights]) -> dict[str, ChannelWeights]:
        for weights in value.values():
            _require_non_negative(weights)
        return value

    @field_validator("tenants")
    @classmethod
    def _overridable(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for tenant, overrides in value.items():
            fixed = _NOT_OVERRIDABLE & set(overrides)
            if fixed:
                raise ValueError(f"tenants.{tenant}: {sorted(fixed)} cannot be set per tenant")
        return value

    def for_tenant(self, tenant: str | None) -> ScoringConfig:
        """The configuration a tenant's customers are scored with: this one, with the tenant's
        overrides (if any) merged in, versioned ``<version>+<tenant>``."""
        if tenant is None or tenant not in self.tenants:
            return self
        found = self._tenant_configs.get(tenant)
        if found is None:
            base = self.model_dump(mode="json", exclude={"content_hash", "tenants"})
            merged = _merge(base, self.tenants[tenant])
            merged["version"] = f"{self.version}+{tenant}"
            found = ScoringConfig.from_mapping(merged)
            self._tenant_configs[tenant] = found
        return found

    @cached_property
    def _tenant_configs(self) -> dict[str, ScoringConfig]:
        return {}

    @classmethod
    def load(cls, path: str | Path | None = None) -> ScoringConfig:
        """Read, validate and hash a configuration file (default: the packaged one)."""
        source = Path(path) if path is not None else DEFAULT_PATH
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{source}: the configuration must be a mapping")
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ScoringConfig:
        """Validate a parsed configuration and compute its content hash."""
        if "content_hash" in data:
            raise ValueError("content_hash is computed, not configured")
        draft = cls.model_validate({**data, "content_hash": ""})
        config = draft.model_copy(update={"content_hash": draft._settings_hash()})
        for tenant in config.tenants:  # a bad override fails at load, not at a tenant's event
            config.for_tenant(tenant)
        return config

    def _settings_hash(self) -> str:
        return self._hash(_NOT_IN_CONTENT_HASH)

    def _hash(self, exclude: frozenset[str]) -> str:
        # Without overrides the hash is the one the file had before tenants existed.
        settings = self.model_dump(mode="json", exclude=set(exclude | _unset_overrides(self)))
        if settings.get("ratings", {}).get("grading") == "split":
            # The grading every file had before it could be chosen: hashed as then, so that a
            # file that does not choose keeps its hash (and its stored states stay valid).
            del settings["ratings"]["grading"]
        canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @cached_property
    def settings_hash(self) -> str:
        """SHA-256 of every setting but ``version``, alert rules included: what the tests pin
        per version, so that no setting changes without a version bump. (``content_hash``
        leaves out the alert rules, which do not change what a stored state means.)"""
        return self._hash(frozenset({"version", "content_hash"}))

    @property
    def short_hash(self) -> str:
        """The first 12 hex digits of ``content_hash``, for labels and logs."""
        return self.content_hash[:12]

    @cached_property
    def decay_per_us(self) -> tuple[float, ...]:
        """Per channel (in ``CHANNELS`` order): halvings per microsecond of event time."""
        return tuple(
            1.0 / (self.half_life_days.of(channel) * _MICROSECONDS_PER_DAY) for channel in CHANNELS
        )

    @cached_property
    def recency_per_us(self) -> float:
        return 1.0 / (self.half_life_days.recency * _MICROSECONDS_PER_DAY)
