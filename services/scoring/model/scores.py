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
from typing import Final, NamedTuple

from services.scoring.model.channels import ATTITUDINAL, Channel, Polarity, accumulator_index
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
_LN2: Final = math.log(2.0)


def _at(channel: Channel) -> int:
    """Index of a channel's positive evidence in ``CustomerState.sums`` (the negative is next):
    the score functions read the sums by index, as ``state.evidence`` per channel costs a
    dictionary lookup and a tuple on a path that runs several times per event."""
    return accumulator_index(channel, Polarity.POSITIVE)


_TRUST_AT: Final = _at(Channel.TRUST)
_TRUST_LONG_AT: Final = _at(Channel.TRUST_LONG)
_ACTIVITY_AT: Final = _at(Channel.ACTIVITY)
_COMPANY_AT: Final = _at(Channel.COMPANY)
_SPEND_AT: Final = _at(Channel.SPEND)
_ATTITUDINAL_AT: Final = tuple(_at(channel) for channel in ATTITUDINAL)


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
    loyalty_stddev: float
    """Standard deviation of loyalty on the 0-1 scale: the components' posterior spreads,
    weighted (a component without evidence has the spread of a uniform prior)."""
    segment: Segment
    churn_risk: float
    """0-1: probability of no activity within the churn horizon (behaviour against the
    customer's own cadence, shifted by attitudes)."""
    activity_rate: float
    """The customer's own activity rate per day (shrunk towards the prior rate)."""
    idle_days: float
    """Days since the last activity (since first seen without any)."""
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

    @property
    def cadence_days(self) -> float:
        """The customer's usual gap between activities, in days."""
        return 1.0 / self.activity_rate

    def trust_interval(self, z: float) -> tuple[float, float]:
        """Trust (points) +- z standard deviations, clipped to 0-100."""
        return _interval(self.trust_points, 100.0 * z * self.trust_stddev)

    def loyalty_interval(self, z: float) -> tuple[float, float]:
        return _interval(self.loyalty, 100.0 * z * self.loyalty_stddev)

    def low_confidence(self, config: ScoringConfig) -> bool:
        """Too little evidence to act on the scores alone."""
        settings = config.explanation
        return (
            self.trust_stddev > settings.low_confidence_trust_stddev
            and self.loyalty_stddev > settings.low_confidence_loyalty_stddev
        ) or self.event_count < config.segments.min_events


def _interval(centre: float, half_width: float) -> tuple[float, float]:
    return max(0.0, centre - half_width), min(100.0, centre + half_width)


def beta_mean(positive: float, negative: float) -> float:
    """Expected value of Beta(positive + 1, negative + 1)."""
    return (positive + 1.0) / (positive + negative + 2.0)


def beta_uncertainty(positive: float, negative: float) -> float:
    return 2.0 / (positive + negative + 2.0)


def _beta_stddev(positive: float, negative: float) -> float:
    a = positive + 1.0
    b = negative + 1.0
    return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))


_REACTION_CHANNELS: Final = (Channel.SATISFACTION, Channel.EMOTION, Channel.ADVOCACY)
"""What the customer says or does in reaction (connection is left out: a response to feedback
adds connection evidence itself)."""
_REACTION_AT: Final = tuple(_at(channel) for channel in _REACTION_CHANNELS)


def trust_evidence(state: CustomerState, config: ScoringConfig) -> tuple[float, float]:
    """(r, s) of trust: the trust channel, plus a small credit for voluntary repeat activity
    (each purchase or renewal beyond the first, decayed like activity: coming back is a vote
    of confidence), the capped and confirmed company-side actions, and the long memory as a
    prior. Computed from the sums, so it keeps the fold order-independent."""
    sums = state.sums
    r, s = sums[_TRUST_AT], sums[_TRUST_AT + 1]
    activity = sums[_ACTIVITY_AT]
    weighing = config.weighing
    # No debit once decayed activity falls below one purchase: the credit is for coming back,
    # and a negative one would swallow the company-side credit below.
    repeats = max(0.0, activity - 1.0)
    credit = min(weighing.repeat_purchase_cap, weighing.repeat_purchase_trust * repeats)
    # Company-side actions: diminishing returns up to a cap, and only as far as the customer's
    # own evidence (trust and attitude) confirms that they reach someone.
    company = sums[_COMPANY_AT]
    if company > 0.0 and weighing.company_cap > 0.0:
        # Confirmed by a favourable reaction: positive evidence only, so that a complaint
        # never makes the company's actions count for more (trust stays monotone).
        reaction = r
        for i in _REACTION_AT:
            reaction += sums[i]
        confirmed = min(1.0, reaction / weighing.company_confirmation)
        saturated = weighing.company_cap * -math.expm1(-company / weighing.company_cap)
        credit += saturated * confirmed
    # The long memory: good and bad experiences over years, as extra pseudo-counts. A long
    # good relationship cushions an incident; repeated incidents still show.
    long_r, long_s = sums[_TRUST_LONG_AT], sums[_TRUST_LONG_AT + 1]
    memory = weighing.long_memory_weight
    return r + credit + memory * long_r, s + memory * long_s


def _exposure_days(span_days: float, half_life_days: float) -> float:
    """Decayed observation time: integral of 2^(-(as_of - t) / h) over the span observed."""
    return half_life_days / _LN2 * -math.expm1(-span_days / half_life_days * _LN2)


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
    return scores_at(state, config, None if as_of is None else to_us(as_of))


def scores_at(state: CustomerState, config: ScoringConfig, as_of_us: int | None) -> Scores:
    """``scores`` at an event time in microseconds (None or the state's own: its ``as_of``)."""
    if as_of_us is not None and as_of_us != state.as_of_us:
        state = advance(state, as_of_us, config)
    r, s = trust_evidence(state, config)
    trust = beta_mean(r, s)
    trust_u = beta_uncertainty(r, s)
    trust_sd = _beta_stddev(r, s)
    behaviour = _behaviour(state, config)
    components, uncertainties, spreads = _loyalty_components(
        state, config, trust=trust, trust_u=trust_u, trust_sd=trust_sd, behaviour=behaviour
    )
    # ``_loyalty_points`` inlined in the same loop (the same sum in the same order).
    loyalty = loyalty_u = variance = 0.0
    for name, weight in config.loyalty.weights.items():
        loyalty += weight * components[name]
        loyalty_u += weight * uncertainties[name]
        variance += (weight * spreads[name]) ** 2
    loyalty = min(100.0, max(0.0, 100.0 * loyalty))
    loyalty_sd = math.sqrt(variance)
    pooled = attitude(state)
    churn_risk = _churn_risk(behaviour, trust, pooled[0], components, config)
    churn_level = _churn_level(churn_risk, config)
    segment = segment_of(
        state,
        config,
        trust=trust,
        loyalty=loyalty,
        components=components,
        churn_level=churn_level,
        pooled=pooled,
    )
    return Scores(
        customer_id=state.customer_id,
        as_of=state.as_of,
        trust=trust,
        trust_uncertainty=trust_u,
        trust_stddev=trust_sd,
        trust_positive=r,
        trust_negative=s,
        loyalty=loyalty,
        loyalty_uncertainty=min(1.0, max(0.0, loyalty_u)),
        loyalty_stddev=loyalty_sd,
        segment=segment,
        churn_risk=churn_risk,
        activity_rate=behaviour.rate,
        idle_days=behaviour.idle_days,
        churn_level=churn_level,
        components=MappingProxyType(components),
        event_count=state.event_count,
        model_version=MODEL_VERSION,
        config_version=config.version,
        config_hash=config.content_hash,
    )


class TrustLoyalty(NamedTuple):
    """Trust (0-1) and loyalty (0-100) alone, as ``Scores`` holds them: what an explanation
    reads of the points it only measures from (a tuple: built several times per event)."""

    trust: float
    loyalty: float


def trust_and_loyalty_at(
    state: CustomerState, config: ScoringConfig, as_of_us: int | None
) -> TrustLoyalty:
    """``scores_at(...)``'s trust and loyalty alone, by the same arithmetic: an explanation
    ranks and measures an event's drivers by these two and evaluates them for every group of
    evidence, where the rest (churn, segment, spreads) would go unread."""
    if as_of_us is not None and as_of_us != state.as_of_us:
        state = advance(state, as_of_us, config)
    r, s = trust_evidence(state, config)
    trust = beta_mean(r, s)
    components, _, _ = _loyalty_components(
        state,
        config,
        trust=trust,
        trust_u=beta_uncertainty(r, s),
        trust_sd=_beta_stddev(r, s),
        behaviour=_behaviour(state, config),
        spreads=False,
    )
    return TrustLoyalty(trust, _loyalty_points(components, config))


def _loyalty_points(components: Mapping[LoyaltyComponent, float], config: ScoringConfig) -> float:
    """Loyalty, 0-100: the weighted components."""
    loyalty = 0.0
    for name, weight in config.loyalty.weights.items():
        loyalty += weight * components[name]
    return min(100.0, max(0.0, 100.0 * loyalty))


class Behaviour(NamedTuple):
    """What the customer's activity says, against their own cadence. (A named tuple: built
    on every score evaluation, and a tuple is several times cheaper to build than a frozen
    dataclass.)"""

    rate: float
    """Activity per day, shrunk towards the prior rate (``churn.prior_rate``)."""
    idle_days: float
    p_active: float
    """Probability the customer is still active: falls log-logistically with idle time
    measured in their own gaps (even odds at ``churn.lapse_cadences`` gaps)."""
    active_before: bool
    """The customer has shown activity at all."""


_UNIFORM_SD: Final = math.sqrt(1.0 / 12.0)


def _behaviour(state: CustomerState, config: ScoringConfig) -> Behaviour:
    churn = config.churn
    span_days = idle_days = 0.0
    if state.as_of_us is not None and state.first_seen_us is not None:
        span_days = (state.as_of_us - state.first_seen_us) / _US_PER_DAY
        idle_days = span_days
        if state.last_activity_us is not None:
            idle_days = (state.as_of_us - state.last_activity_us) / _US_PER_DAY
    activity_pos, activity_neg = state.sums[_ACTIVITY_AT], state.sums[_ACTIVITY_AT + 1]
    exposure = _exposure_days(span_days, config.half_life_days.activity)
    prior_rate = churn.prior_rate / _DAYS_PER_MONTH
    rate = (max(0.0, activity_pos - activity_neg) + prior_rate * churn.prior_days) / (
        exposure + churn.prior_days
    )
    # Idle time within one usual gap is normal; beyond it, counted in gaps, P(active) falls
    # to even odds at ``lapse_cadences`` gaps.
    gaps = max(0.0, idle_days * rate - 1.0) / max(0.1, churn.lapse_cadences - 1.0)
    p_active = 1.0 / (1.0 + gaps**churn.lapse_shape)
    return Behaviour(rate, idle_days, p_active, state.last_activity_us is not None)


def _loyalty_components(
    state: CustomerState,
    config: ScoringConfig,
    *,
    trust: float,
    trust_u: float,
    trust_sd: float,
    behaviour: Behaviour,
    spreads: bool = True,
) -> tuple[
    dict[LoyaltyComponent, float], dict[LoyaltyComponent, float], dict[LoyaltyComponent, float]
]:
    """Each component's value, uncertainty and spread (``spreads=False``: the values alone,
    the other two empty, for a caller that reads trust and loyalty only)."""
    half_lives = config.half_life_days
    loyalty = config.loyalty
    span_days = 0.0
    if state.as_of_us is not None and state.first_seen_us is not None:
        span_days = (state.as_of_us - state.first_seen_us) / _US_PER_DAY
    # Recency: the probability the customer is still active, judged against their own cadence
    # (a yearly buyer idle for six months is not lapsing; a weekly one is); without any
    # activity, half a chance, fading with the recency half-life since first seen.
    if behaviour.active_before:
        recency, recency_u = behaviour.p_active, 0.0
    else:
        recency, recency_u = 0.5 * math.exp2(-span_days / half_lives.recency), 1.0
    sums = state.sums
    activity_pos, activity_neg = sums[_ACTIVITY_AT], sums[_ACTIVITY_AT + 1]
    frequency, frequency_u = _rate_component(
        activity_pos - activity_neg,
        span_days,
        half_lives.activity,
        loyalty.frequency_reference,
        loyalty.prior_days,
    )
    spend_pos, spend_neg = sums[_SPEND_AT], sums[_SPEND_AT + 1]
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
    if not spreads:
        for component, i in _BETA_COMPONENTS_AT:
            values[component] = (sums[i] + 1.0) / (sums[i] + sums[i + 1] + 2.0)
        return values, {}, {}
    uncertainties = {
        LoyaltyComponent.RECENCY: recency_u,
        LoyaltyComponent.FREQUENCY: frequency_u,
        LoyaltyComponent.MONETARY: monetary_u,
        LoyaltyComponent.TRUST: trust_u,
    }
    # Spread of each component: a Beta posterior's standard deviation, or, for the rates,
    # the uniform prior's spread times the share of the rate that still rests on the prior.
    spread = {
        LoyaltyComponent.RECENCY: _UNIFORM_SD * recency_u,
        LoyaltyComponent.FREQUENCY: _UNIFORM_SD * frequency_u,
        LoyaltyComponent.MONETARY: _UNIFORM_SD * monetary_u,
        LoyaltyComponent.TRUST: trust_sd,
    }
    # ``beta_mean``, ``beta_uncertainty`` and ``_beta_stddev`` inlined (same expressions):
    # five components, several score evaluations per event.
    for component, i in _BETA_COMPONENTS_AT:
        positive, negative = sums[i], sums[i + 1]
        total = positive + negative + 2.0
        a = positive + 1.0
        b = negative + 1.0
        values[component] = a / total
        uncertainties[component] = 2.0 / total
        spread[component] = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1.0)))
    return values, uncertainties, spread


_BETA_COMPONENTS: Final = {
    LoyaltyComponent.COMMITMENT: Channel.COMMITMENT,
    LoyaltyComponent.ADVOCACY: Channel.ADVOCACY,
    LoyaltyComponent.SATISFACTION: Channel.SATISFACTION,
    LoyaltyComponent.EMOTION: Channel.EMOTION,
    LoyaltyComponent.CONNECTION: Channel.CONNECTION,
}
_BETA_COMPONENTS_AT: Final = tuple(
    (component, _at(channel)) for component, channel in _BETA_COMPONENTS.items()
)


def _centred(mean: float) -> float:
    """A Beta mean in (0, 1) as a factor in (-1, 1): 0.5 (no evidence) is 0."""
    return 2.0 * (0.5 - mean)


def _churn_risk(
    behaviour: Behaviour,
    trust: float,
    satisfaction: float,
    components: Mapping[LoyaltyComponent, float],
    config: ScoringConfig,
) -> float:
    """P(no activity within the horizon): not active any more, or active but quiet by chance
    (Poisson at the customer's own rate); then shifted on the log-odds scale by attitudes."""
    churn = config.churn
    quiet_if_active = math.exp(-behaviour.rate * churn.horizon_days)
    p = 1.0 - behaviour.p_active * (1.0 - quiet_if_active)
    commitment = components[LoyaltyComponent.COMMITMENT]
    coefficients = churn.coefficients
    # Summed in this order from 0 (as ``sum`` over the factors would): the same float.
    shift = 0 + coefficients[ChurnFactor.DISTRUST] * _centred(trust)
    shift += coefficients[ChurnFactor.DISSATISFACTION] * _centred(satisfaction)
    shift += coefficients[ChurnFactor.DECOMMITMENT] * _centred(commitment)
    p = min(1.0 - 1e-9, max(1e-9, p))
    z = math.log(p / (1.0 - p)) + shift
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
    sums = state.sums
    positive = negative = 0.0
    for i in _ATTITUDINAL_AT:
        positive += sums[i]
        negative += sums[i + 1]
    return beta_mean(positive, negative), positive + negative


def segment_of(
    state: CustomerState,
    config: ScoringConfig,
    *,
    trust: float,
    loyalty: float,
    components: Mapping[LoyaltyComponent, float],
    churn_level: ChurnLevel,
    pooled: tuple[float, float] | None = None,
) -> Segment:
    """First matching rule: detractor, new, at_risk, champion, loyal, passive.

    The detractor rule needs evidence, not a number of events (one furious review is enough);
    loyal and champion need an established relationship (events and tenure).
    """
    rules = config.segments
    r, s = state.evidence(Channel.TRUST)
    attitude_mean, attitude_evidence = attitude(state) if pooled is None else pooled
    detractor = rules.detractor
    if (r + s >= detractor.min_evidence and trust <= detractor.max_trust) or (
        attitude_evidence >= detractor.min_evidence and attitude_mean <= detractor.max_attitude
    ):
        return Segment.DETRACTOR
    if state.event_count < rules.min_events:
        return Segment.NEW
    if churn_level is ChurnLevel.HIGH or loyalty < rules.passive.min_loyalty:
        return Segment.AT_RISK
    tenure_days = 0.0
    if state.as_of_us is not None and state.first_seen_us is not None:
        tenure_days = (state.as_of_us - state.first_seen_us) / _US_PER_DAY
    established = rules.established
    if state.event_count < established.min_events or tenure_days < established.min_tenure_days:
        return Segment.PASSIVE
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
