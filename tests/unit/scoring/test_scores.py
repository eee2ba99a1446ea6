"""Scores: Beta reputation, bounds, monotonicity, decay, segments and churn risk."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.scoring.model import (
    Channel,
    ChurnLevel,
    CustomerState,
    Evidence,
    Polarity,
    ScoringConfig,
    Segment,
    Signal,
    SignalKind,
    apply,
    apply_all,
    evidence_for,
    scores,
)
from services.scoring.model.channels import ACCUMULATORS, accumulator_index
from services.scoring.model.config import LoyaltyComponent
from services.scoring.model.evidence import DriverLabel
from services.scoring.model.scores import segment_of
from services.scoring.model.signal import to_us
from services.scoring.model.state import add_evidence
from tests.unit.scoring.strategies import (
    CUSTOMER,
    NEGATIVE_TRUST_KINDS,
    POSITIVE_TRUST_KINDS,
    SPAN_US,
    T0,
    at,
    signal,
    signal_fields,
    signal_lists,
)

EMPTY = CustomerState.empty(CUSTOMER)
K = SignalKind


def _state(events: int = 10, **evidence: tuple[float, float]) -> CustomerState:
    """A state with the given (positive, negative) evidence per channel, as of T0."""
    sums = [0.0] * ACCUMULATORS
    for channel, (positive, negative) in evidence.items():
        i = accumulator_index(Channel(channel), Polarity.POSITIVE)
        sums[i], sums[i + 1] = positive, negative
    t0 = to_us(T0)
    return CustomerState(
        CUSTOMER,
        as_of_us=t0,
        sums=tuple(sums),
        first_seen_us=t0,
        last_activity_us=t0,
        event_count=events,
    )


def test_trust_is_the_beta_reputation(config: ScoringConfig) -> None:
    result = scores(_state(trust=(8.0, 2.0)), config)
    assert result.trust == pytest.approx(9 / 12)
    assert result.trust_uncertainty == pytest.approx(2 / 12)
    assert result.trust_stddev == pytest.approx((9 * 3 / (12**2 * 13)) ** 0.5)
    assert (result.trust_positive, result.trust_negative) == (8.0, 2.0)


def test_without_evidence_everything_is_neutral(config: ScoringConfig) -> None:
    result = scores(EMPTY, config)
    assert (result.trust, result.trust_uncertainty, result.loyalty) == (0.5, 1.0, 50.0)
    assert result.loyalty_uncertainty == pytest.approx(1.0)
    assert result.segment is Segment.NEW
    assert result.as_of is None


@given(events=signal_lists(max_size=25))
def test_bounds_hold(config: ScoringConfig, events: list[Signal]) -> None:
    result = scores(apply_all(EMPTY, events, config), config)
    assert 0.0 < result.trust < 1.0
    assert 0.0 < result.trust_uncertainty <= 1.0
    assert 0.0 < result.trust_stddev <= 0.2887
    assert 0.0 <= result.loyalty <= 100.0
    assert 0.0 <= result.loyalty_uncertainty <= 1.0
    assert 0.0 < result.churn_risk < 1.0
    assert all(0.0 <= value <= 1.0 for value in result.components.values())
    weights = config.loyalty.weights
    unclamped = 100 * sum(weights[name] * value for name, value in result.components.items())
    assert result.loyalty == pytest.approx(unclamped)


@given(
    events=signal_lists(max_size=20),
    kind=st.sampled_from(POSITIVE_TRUST_KINDS),
    offset=st.integers(0, SPAN_US),
)
def test_more_positive_evidence_never_lowers_trust(
    config: ScoringConfig, events: list[Signal], kind: SignalKind, offset: int
) -> None:
    extra = Signal("extra", CUSTOMER, at(offset), kind)
    trust_channels = (Channel.TRUST, Channel.COMPANY, Channel.TRUST_LONG)
    assert {i.polarity for i in evidence_for(extra, config) if i.channel in trust_channels} == {
        Polarity.POSITIVE
    }
    before = apply_all(EMPTY, events, config)
    after = apply(before, extra, config)
    # Compared at the same event time: moving as_of forward lets older evidence fade,
    # which is decay, not evidence.
    assert after.as_of is not None
    assert scores(after, config).trust >= scores(before, config, as_of=after.as_of).trust
    narrower = (
        scores(after, config).trust_uncertainty
        - scores(before, config, as_of=after.as_of).trust_uncertainty
    )
    # A company action counts only as far as the customer's reaction confirms it: without any,
    # it changes nothing (not even the uncertainty).
    company_only = all(
        i.channel is not Channel.TRUST
        for i in evidence_for(extra, config)
        if i.channel in trust_channels
    )
    assert narrower <= 0 if company_only else narrower < 0


@given(
    events=signal_lists(max_size=20),
    kind=st.sampled_from(NEGATIVE_TRUST_KINDS),
    offset=st.integers(0, SPAN_US),
    qualifier=st.sampled_from([None, "low", "high", "critical"]),
)
def test_more_negative_evidence_never_raises_trust(
    config: ScoringConfig,
    events: list[Signal],
    kind: SignalKind,
    offset: int,
    qualifier: str | None,
) -> None:
    extra = Signal("extra", CUSTOMER, at(offset), kind, qualifier=qualifier)
    assert {i.polarity for i in evidence_for(extra, config) if i.channel is Channel.TRUST} == {
        Polarity.NEGATIVE
    }
    before = apply_all(EMPTY, events, config)
    after = apply(before, extra, config)
    assert after.as_of is not None
    assert scores(after, config).trust <= scores(before, config, as_of=after.as_of).trust


@given(
    events=signal_lists(max_size=20),
    weight=st.floats(0.01, 10.0),
    polarity=st.sampled_from(Polarity),
    offset=st.integers(0, SPAN_US),
)
def test_trust_moves_with_the_polarity_of_any_evidence(
    config: ScoringConfig,
    events: list[Signal],
    weight: float,
    polarity: Polarity,
    offset: int,
) -> None:
    item = Evidence(Channel.TRUST, polarity, weight, "test", DriverLabel("a test", "tests"))
    before = apply_all(EMPTY, events, config)
    after = add_evidence(before, [item], to_us(at(offset)), config)
    assert after.as_of is not None
    old, new = scores(before, config, as_of=after.as_of).trust, scores(after, config).trust
    assert new >= old if polarity is Polarity.POSITIVE else new <= old


@given(
    events=signal_lists(max_size=15),
    kind=st.sampled_from(NEGATIVE_TRUST_KINDS + POSITIVE_TRUST_KINDS),
    old_offset=st.integers(0, SPAN_US),
    gap_days=st.integers(1, 365),
)
def test_old_evidence_counts_less_than_recent_evidence(
    config: ScoringConfig,
    events: list[Signal],
    kind: SignalKind,
    old_offset: int,
    gap_days: int,
) -> None:
    old_time = at(old_offset)
    recent_time = old_time + timedelta(days=gap_days)
    base = apply_all(EMPTY, events, config)
    with_old = apply(base, Signal("x", CUSTOMER, old_time, kind), config)
    with_recent = apply(base, Signal("x", CUSTOMER, recent_time, kind), config)
    as_of = max(filter(None, [with_old.as_of, with_recent.as_of]))
    baseline = scores(base, config, as_of=as_of).trust
    old_effect = scores(with_old, config, as_of=as_of).trust - baseline
    recent_effect = scores(with_recent, config, as_of=as_of).trust - baseline
    assume(abs(recent_effect) > 1e-9)  # drowned in a huge amount of evidence
    assert abs(old_effect) < abs(recent_effect)
    assert old_effect * recent_effect > 0


def test_scores_can_be_evaluated_at_a_later_event_time(config: ScoringConfig) -> None:
    state = apply_all(EMPTY, [signal(K.PURCHASE, 0), signal(K.PROMISE_KEPT, 1)], config)
    assert scores(state, config).as_of == T0 + timedelta(days=1)
    later = scores(state, config, as_of=T0 + timedelta(days=200))
    assert later.trust < scores(state, config).trust  # faded towards 0.5
    assert later.components[LoyaltyComponent.RECENCY] < 0.3
    assert later.churn_level is ChurnLevel.HIGH
    with pytest.raises(ValueError, match="backwards"):
        scores(state, config, as_of=T0)


def test_recency_is_measured_against_the_customers_own_cadence(config: ScoringConfig) -> None:
    weekly = apply_all(EMPTY, [signal(K.PURCHASE, d) for d in range(0, 70, 7)], config)
    monthly = apply_all(EMPTY, [signal(K.PURCHASE, d) for d in range(0, 300, 30)], config)
    assert scores(weekly, config).cadence_days < scores(monthly, config).cadence_days

    def recency(state: CustomerState, idle_days: float) -> float:
        assert state.as_of is not None
        later = scores(state, config, as_of=state.as_of + timedelta(days=idle_days))
        return later.components[LoyaltyComponent.RECENCY]

    # Idle within one usual gap is normal; beyond it recency falls, faster for a weekly buyer.
    assert recency(monthly, 20) == pytest.approx(1.0)
    assert recency(weekly, 40) < recency(monthly, 40) < 1.0
    # The latest event counts (an NPS answer is not activity: it does not reset recency).
    answered = apply(monthly, signal(K.NPS, 270 + 60, nps=8), config)
    assert scores(answered, config).idle_days == pytest.approx(60)


def test_a_purchase_raises_loyalty_from_the_first_one(config: ScoringConfig) -> None:
    first = apply(EMPTY, signal(K.PURCHASE, 0, amount=50.0), config)
    assert scores(first, config).loyalty > scores(EMPTY, config).loyalty
    frequent = apply_all(
        EMPTY, [signal(K.PURCHASE, d, amount=50.0) for d in range(0, 90, 7)], config
    )
    rare = apply_all(EMPTY, [signal(K.PURCHASE, d, amount=50.0) for d in range(0, 90, 45)], config)
    rare = apply(rare, signal(K.ENGAGEMENT, 84), config)  # same as_of and last activity
    frequent = apply(frequent, signal(K.ENGAGEMENT, 84), config)
    f, r = scores(frequent, config), scores(rare, config)
    assert f.components[LoyaltyComponent.FREQUENCY] > r.components[LoyaltyComponent.FREQUENCY]
    assert f.components[LoyaltyComponent.MONETARY] > r.components[LoyaltyComponent.MONETARY]
    assert f.loyalty > r.loyalty


def _segment(
    config: ScoringConfig,
    state: CustomerState,
    *,
    trust: float = 0.6,
    loyalty: float = 50.0,
    advocacy: float = 0.5,
    churn: ChurnLevel = ChurnLevel.LOW,
) -> Segment:
    components = dict.fromkeys(LoyaltyComponent, 0.5)
    components[LoyaltyComponent.ADVOCACY] = advocacy
    return segment_of(
        state, config, trust=trust, loyalty=loyalty, components=components, churn_level=churn
    )


def test_segment_rules(config: ScoringConfig) -> None:
    plain = _state()
    assert _segment(config, _state(events=2), loyalty=90) is Segment.NEW
    assert _segment(config, _state(trust=(0.0, 5.0)), trust=0.14, loyalty=90) is Segment.DETRACTOR
    # Too little evidence for trust alone to make a detractor.
    assert _segment(config, _state(trust=(0.0, 1.0)), trust=0.3, loyalty=50) is Segment.PASSIVE
    assert _segment(config, _state(satisfaction=(0.0, 4.0))) is Segment.DETRACTOR
    assert _segment(config, plain, churn=ChurnLevel.HIGH, loyalty=70) is Segment.AT_RISK
    assert _segment(config, plain, loyalty=44.9) is Segment.AT_RISK
    assert _segment(config, plain, loyalty=45.0) is Segment.PASSIVE
    # Loyal and champion need an established relationship: events and tenure.
    assert _segment(config, plain, loyalty=80.0, trust=0.8, advocacy=0.7) is Segment.PASSIVE
    assert plain.first_seen_us is not None
    tenured = replace(plain, first_seen_us=plain.first_seen_us - 90 * 86_400_000_000)
    assert _segment(config, tenured, loyalty=60.0) is Segment.LOYAL
    assert _segment(config, tenured, loyalty=80.0, trust=0.8, advocacy=0.7) is Segment.CHAMPION
    assert _segment(config, tenured, loyalty=80.0, trust=0.8, advocacy=0.5) is Segment.LOYAL
    assert _segment(config, tenured, loyalty=80.0, trust=0.6, advocacy=0.7) is Segment.LOYAL
    assert (
        _segment(config, replace(tenured, event_count=4), loyalty=80.0, trust=0.8, advocacy=0.7)
        is Segment.PASSIVE
    )
    # One furious review is enough for a detractor: no minimum number of events.
    assert _segment(config, _state(events=1, satisfaction=(0.0, 4.0))) is Segment.DETRACTOR


def test_segments_and_churn_of_typical_customers(config: ScoringConfig) -> None:
    happy: list[tuple[SignalKind, dict[str, Any]]] = [
        (K.PURCHASE, {"amount": 80.0}),
        (K.DELIVERY_ON_TIME, {}),
        (K.PROMISE_KEPT, {}),
        (K.NPS, {"nps": 10, "sentiment": 0.8, "emotions": {"joy": 0.8}}),
    ]
    unhappy: list[tuple[SignalKind, dict[str, Any]]] = [
        (K.PROMISE_BROKEN, {}),
        (K.DELIVERY_LATE, {}),
        (K.CSAT, {"csat": 1, "sentiment": -0.7, "emotions": {"anger": 0.7}}),
    ]
    good = [signal(kind, day, **fields) for day in range(0, 180, 6) for kind, fields in happy]
    good += [signal(K.RENEWAL, d, amount=30.0) for d in (30, 120)] + [signal(K.REFERRAL, 100)]
    champion = scores(apply_all(EMPTY, good, config), config)
    assert champion.segment is Segment.CHAMPION
    assert champion.churn_level is ChurnLevel.LOW
    assert champion.loyalty > 75
    bad = [signal(kind, day, **fields) for day in range(0, 180, 10) for kind, fields in unhappy]
    detractor = scores(apply_all(EMPTY, [*bad, signal(K.CANCELLATION, 170)], config), config)
    assert detractor.segment is Segment.DETRACTOR
    assert detractor.churn_level is ChurnLevel.HIGH
    assert detractor.churn_risk > champion.churn_risk
    # Quiet for a long while after a few good events: at risk, not a detractor.
    quiet = apply_all(EMPTY, good[:12], config)
    quiet = apply(quiet, signal(K.COMPANY_MESSAGE, 400, qualifier="marketing"), config)
    assert scores(quiet, config).segment is Segment.AT_RISK


@given(fields=signal_fields())
def test_one_signal_alone_keeps_the_bounds(config: ScoringConfig, fields: dict[str, Any]) -> None:
    result = scores(apply(EMPTY, Signal(event_id="e", **fields), config), config)
    assert 0 < result.trust < 1
    assert 0 <= result.loyalty <= 100
