"""Scores from a state: trust (Beta reputation), loyalty (0-100), segment and churn risk.

All functions of the state and the configuration only; "now" is the state's ``as_of`` (the
latest event time folded in) unless a later event time is passed explicitly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from services.scoring.model.channels import ATTITUDINAL, Channel
from services.scoring.model.config import (
    MODEL_VERSION,
    ChurnFactor,
    LoyaltyComponent,
    ScoringConfig,
)
from services.scoring.model.signal import to_us
from services.scoring.model.state import CustomerState, advance

_US_PER_DAY: Final = 86_400_000_000
_DAYS_PER_MONTH: Final = 30.0


class Segment(StrEnum):
    """Where the customer stands (first matching rule, see ``segment_of``)."""

    NEW = "new"
    CHAMPION = "champion"
    LOYAL = "loyal"
    PASSIVE = "passive"
    AT_RISK = "at_risk"
    DETRACTOR = "detractor"


class ChurnLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class Scores:
    """A customer's scores at ``as_of``, stamped with the model and configuration versions."""

    customer_id: str
    as_of: datetime | None
    """Event time the scores refer to: the latest ``occurred_at`` folded in, by default."""
    trust: float
    """Beta reputation expectation (r + 1) / (r + s + 2), in (0, 1)."""
    trust_uncertainty: float
    """Subjective-logic uncertainty 2 / (r + s + 2), in (0, 1]: 1 without evidence."""
    trust_stddev: float
    """Standard deviation of the Beta(r + 1, s + 1) posterior, in (0, 0.29]."""
    trust_positive: float
    """r: decayed positive trust evidence."""
    trust_negative: float
    """s: decayed negative trust evidence."""
    loyalty: float
    """0-100: weighted mean of the loyalty components (``components``) times 100."""
    loyalty_uncertainty: float
    """0-1: weighted share of the loyalty components that still rests on priors."""
    segment: Segment
    churn_risk: float
    """0-1: logistic index of disloyalty, distrust, inactivity and decommitment (uncalibrated)."""
    churn_level: ChurnLevel
    components: Mapping[LoyaltyComponent, float] = field(hash=False)
    """Each loyalty component in [0, 1]."""
    event_count: int
    model_version: str
    config_version: str
    config_hash: str

    @property
    def trust_points(self) -> float:
        """Trust on the 0-100 scale of the published score."""
        return 100.0 * self.trust


def beta_mean(positive: float, negative: float) -> float:
    """Expected value of Beta(positive + 1, negative + 1)."""
    return (positive + 1.0) / (positive + negative + 2.0)


def beta_uncertainty(positive: float, negative: float) -> float:
    return 2.0 / (positive + negative + 2.0)


def _beta_stddev(positive: float, negative: float) -> float:
    a = positive + 1.0
    b = negative + 1.0
    return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))


def _exposure_days(span_days: float, half_life_days: float) -> float:
    """Decayed observation time: integral of 2^(-(as_of - t) / h) over the span observed."""
    return half_life_days / math.log(2.0) * -math.expm1(-span_days / half_life_days * math.log(2))


def _rate_component(
    decayed: float, span_days: float, half_life_days: float, monthly_reference: float, prior: float
) -> tuple[float, float]:
    """A rate (per day) shrunk towards the reference rate, mapped to (0, 1): (value, prior share).

    ``decayed`` / exposure estimates the rate; the prior adds ``prior`` days at the reference
    rate, so a new customer sits at 0.5.
    """
    reference = monthly_reference / _DAYS_PER_MONTH
    exposure = _exposure_days(span_days, half_life_days)
    rate = (max(0.0, decayed) + reference * prior) / (exposure + prior)
    return rate / (rate + reference), prior / (exposure + prior)


def scores(state: CustomerState, config: ScoringConfig, as_of: datetime | None = None) -> Scores:
    """The scores of a state, at its own ``as_of`` or at a later event time."""
    if as_of is not None:
        state = advance(state, to_us(as_of), config)
    r, s = state.evidence(Channel.TRUST)
    trust = beta_mean(r, s)
    trust_u = beta_uncertainty(r, s)
    components, uncertainties = _loyalty_components(state, config, trust, trust_u)
    weights = config.loyalty.weights
    loyalty = 100.0 * sum(weights[name] * value for name, value in components.items())
    loyalty = min(100.0, max(0.0, loyalty))
    loyalty_u = sum(weights[name] * value for name, value in uncertainties.items())
    churn_risk = _churn_risk(loyalty, trust, components, config)
    churn_level = _churn_level(churn_risk, config)
    segment = segment_of(
        state,
        config,
        trust=trust,
        loyalty=loyalty,
        components=components,
        churn_level=churn_level,
    )
    return Scores(
        customer_id=state.customer_id,
        as_of=state.as_of,
        trust=trust,
        trust_uncertainty=trust_u,
        trust_stddev=_beta_stddev(r, s),
        trust_positive=r,
        trust_negative=s,
        loyalty=loyalty,
        loyalty_uncertainty=min(1.0, max(0.0, loyalty_u)),
        segment=segment,
        churn_risk=churn_risk,
        churn_level=churn_level,
        components=MappingProxyType(components),
        event_count=state.event_count,
        model_version=MODEL_VERSION,
        config_version=config.version,
        config_hash=config.content_hash,
    )


def _loyalty_components(
    state: CustomerState, config: ScoringConfig, trust: float, trust_u: float
) -> tuple[dict[LoyaltyComponent, float], dict[LoyaltyComponent, float]]:
    half_lives = config.half_life_days
    loyalty = config.loyalty
    span_days = 0.0
    if state.as_of_us is not None and state.first_seen_us is not None:
        span_days = (state.as_of_us - state.first_seen_us) / _US_PER_DAY
    # Recency: halves every recency half-life since the last activity; without any activity,
    # as if there had been half a chance of it when the customer was first seen.
    if state.last_activity_us is not None and state.as_of_us is not None:
        idle_days = (state.as_of_us - state.last_activity_us) / _US_PER_DAY
        recency, recency_u = math.exp2(-idle_days / half_lives.recency), 0.0
    else:
        recency, recency_u = 0.5 * math.exp2(-span_days / half_lives.recency), 1.0
    activity_pos, activity_neg = state.evidence(Channel.ACTIVITY)
    frequency, frequency_u = _rate_component(
        activity_pos - activity_neg,
        span_days,
        half_lives.activity,
        loyalty.frequency_reference,
        loyalty.prior_days,
    )
    spend_pos, spend_neg = state.evidence(Channel.SPEND)
    monetary, monetary_u = _rate_component(
        spend_pos - spend_neg,
        span_days,
        half_lives.spend,
        loyalty.spend_reference,
        loyalty.prior_days,
    )
    values = {
        LoyaltyComponent.RECENCY: recency,
        LoyaltyComponent.FREQUENCY: frequency,
        LoyaltyComponent.MONETARY: monetary,
        LoyaltyComponent.TRUST: trust,
    }
    uncertainties = {
        LoyaltyComponent.RECENCY: recency_u,
        LoyaltyComponent.FREQUENCY: frequency_u,
        LoyaltyComponent.MONETARY: monetary_u,
        LoyaltyComponent.TRUST: trust_u,
    }
    for component, channel in _BETA_COMPONENTS.items():
        positive, negative = state.evidence(channel)
        values[component] = beta_mean(positive, negative)
        uncertainties[component] = beta_uncertainty(positive, negative)
    return values, uncertainties


_BETA_COMPONENTS: Final = {
    LoyaltyComponent.COMMITMENT: Channel.COMMITMENT,
    LoyaltyComponent.ADVOCACY: Channel.ADVOCACY,
    LoyaltyComponent.SATISFACTION: Channel.SATISFACTION,
    LoyaltyComponent.EMOTION: Channel.EMOTION,
    LoyaltyComponent.CONNECTION: Channel.CONNECTION,
}


def _churn_risk(
    loyalty: float,
    trust: float,
    components: Mapping[LoyaltyComponent, float],
    config: ScoringConfig,
) -> float:
    factors = {
        ChurnFactor.DISLOYALTY: 1.0 - loyalty / 100.0,
        ChurnFactor.DISTRUST: 1.0 - trust,
        ChurnFactor.INACTIVITY: 1.0 - components[LoyaltyComponent.RECENCY],
        ChurnFactor.DECOMMITMENT: 1.0 - components[LoyaltyComponent.COMMITMENT],
    }
    churn = config.churn
    z = churn.intercept + sum(churn.coefficients[name] * value for name, value in factors.items())
    return 1.0 / (1.0 + math.exp(-z))


def _churn_level(churn_risk: float, config: ScoringConfig) -> ChurnLevel:
    levels = config.churn.levels
    if churn_risk >= levels.high:
        return ChurnLevel.HIGH
    if churn_risk >= levels.medium:
        return ChurnLevel.MEDIUM
    return ChurnLevel.LOW


def attitude(state: CustomerState) -> tuple[float, float]:
    """Pooled Beta mean of the attitudinal channels, and their total evidence."""
    positive = negative = 0.0
    for channel in ATTITUDINAL:
        p, n = state.evidence(channel)
        positive += p
        negative += n
    return beta_mean(positive, negative), positive + negative


def segment_of(
    state: CustomerState,
    config: ScoringConfig,
    *,
    trust: float,
    loyalty: float,
    components: Mapping[LoyaltyComponent, float],
    churn_level: ChurnLevel,
) -> Segment:
    """First matching rule: new, detractor, at_risk, champion, loyal, passive."""
    rules = config.segments
    if state.event_count < rules.min_events:
        return Segment.NEW
    r, s = state.evidence(Channel.TRUST)
    attitude_mean, attitude_evidence = attitude(state)
    detractor = rules.detractor
    if (r + s >= detractor.min_evidence and trust <= detractor.max_trust) or (
        attitude_evidence >= detractor.min_evidence and attitude_mean <= detractor.max_attitude
    ):
        return Segment.DETRACTOR
    if churn_level is ChurnLevel.HIGH or loyalty < rules.passive.min_loyalty:
        return Segment.AT_RISK
    champion = rules.champion
    if (
        loyalty >= champion.min_loyalty
        and trust >= champion.min_trust
        and components[LoyaltyComponent.ADVOCACY] >= champion.min_advocacy
    ):
        return Segment.CHAMPION
    if loyalty >= rules.loyal.min_loyalty:
        return Segment.LOYAL
    return Segment.PASSIVE
