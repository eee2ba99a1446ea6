"""Explanations: drivers add up to the change, and read well."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given

from services.scoring.model import (
    CustomerState,
    Driver,
    DriverLabel,
    Explanation,
    ScoringConfig,
    Signal,
    SignalKind,
    apply,
    apply_all,
    fold,
    summarize,
)
from services.scoring.model.evidence import evidence_for
from services.scoring.model.explain import ELAPSED_TIME, LONGER_HISTORY, describe, number_word
from tests.unit.scoring.strategies import CUSTOMER, signal, signal_lists

EMPTY = CustomerState.empty(CUSTOMER)
K = SignalKind
POINTS = r"\d+ points?"


@pytest.fixture(scope="module")
def established(config: ScoringConfig) -> CustomerState:
    """A customer with a good week behind them (as of day 5)."""
    history = [
        signal(K.PURCHASE, 0, amount=60.0),
        signal(K.DELIVERY_ON_TIME, 1),
        signal(K.PROMISE_KEPT, 2),
        signal(K.DELIVERY_ON_TIME, 3),
        signal(K.PURCHASE, 4, amount=40.0),
        signal(K.RENEWAL, 5, amount=30.0),
    ]
    return apply_all(EMPTY, history, config)


def _fold_all(
    state: CustomerState, signals: list[Signal], config: ScoringConfig
) -> tuple[CustomerState, list[Explanation]]:
    explanations = []
    for s in signals:
        state, explanation = fold(state, s, config)
        explanations.append(explanation)
    return state, explanations


@given(history=signal_lists(max_size=12), events=signal_lists(min_size=1, max_size=3))
def test_drivers_add_up_to_the_change(
    config: ScoringConfig, history: list[Signal], events: list[Signal]
) -> None:
    state = apply_all(EMPTY, history, config)
    for event in events:
        new_state, explanation = fold(state, event, config)
        assert new_state == apply(state, event, config)
        assert sum(d.trust_points for d in explanation.drivers) == pytest.approx(
            explanation.trust_points, abs=1e-6
        )
        assert sum(d.loyalty_points for d in explanation.drivers) == pytest.approx(
            explanation.loyalty_points, abs=1e-6
        )
        assert explanation.after.config_version == config.version
        assert explanation.summary
        assert len(explanation.summary) <= 200
        state = new_state


def test_a_late_delivery(config: ScoringConfig, established: CustomerState) -> None:
    _, explanation = fold(established, signal(K.DELIVERY_LATE, 5.5), config)
    assert re.fullmatch(
        f"Trust fell {POINTS} and loyalty fell {POINTS}: a late delivery", explanation.summary
    ), explanation.summary
    assert explanation.trust_points < -5
    assert explanation.drivers[0].key == "delivery_late"
    assert explanation.subject == "a late delivery"
    assert not explanation.late


def test_a_window_aggregates_drivers_of_the_same_kind(
    config: ScoringConfig, established: CustomerState
) -> None:
    t = 5.5
    events = [
        signal(K.DELIVERY_LATE, t),
        signal(K.DELIVERY_LATE, t + 0.1),
        signal(K.BILLING_ERROR, t + 0.2),
    ]
    _, explanations = _fold_all(established, events, config)
    window = summarize(explanations, config)
    assert re.fullmatch(
        f"Trust fell {POINTS} and loyalty fell {POINTS}: two late deliveries and a billing error",
        window.summary,
    ), window.summary
    late = next(d for d in window.drivers if d.key == "delivery_late")
    assert late.count == 2
    assert late.event_ids == (events[0].event_id, events[1].event_id)
    first, last = explanations[0].before, explanations[-1].after
    assert window.trust_points == pytest.approx(100 * (last.trust - first.trust))
    assert window.loyalty_points == pytest.approx(last.loyalty - first.loyalty)


def test_typical_single_events(config: ScoringConfig, established: CustomerState) -> None:
    def summary(s: Signal) -> str:
        return fold(established, s, config)[1].summary

    # A repeat purchase: loyalty, and a small trust credit for coming back.
    assert re.fullmatch(
        f"Trust rose {POINTS} and loyalty rose {POINTS}: a purchase",
        summary(signal(K.PURCHASE, 5.1, amount=60.0)),
    )
    assert re.fullmatch(
        f"Loyalty fell {POINTS}: a cancellation", summary(signal(K.CANCELLATION, 5.1))
    )
    assert re.fullmatch(
        f"Trust fell {POINTS} and loyalty fell {POINTS}: a critical privacy incident",
        summary(signal(K.PRIVACY_INCIDENT, 5.1, qualifier="critical")),
    )
    assert (
        summary(signal(K.COMPANY_MESSAGE, 5, qualifier="marketing"))
        == "Trust and loyalty steady after a marketing message"
    )
    assert re.fullmatch(
        f"Trust rose {POINTS} and loyalty rose {POINTS}: a promoter NPS answer",
        summary(signal(K.NPS, 5.1, nps=10)),
    )
    review = signal(
        K.REVIEW,
        5.1,
        stars=1,
        sentiment=-0.9,
        emotions={"anger": 0.9},
        aspects={"communication_transparency": -0.9},
    )
    # A review about communication is a verdict on trust: its stars count there too, and the
    # segment change names its cause.
    assert re.fullmatch(
        f"Trust fell {POINTS} and loyalty fell {POINTS}: a negative review, criticism of our "
        r"communication and anger\. Now a detractor: a negative review on \d+ Jan 2024",
        summary(review),
    ), summary(review)


def test_a_late_arrival_has_no_elapsed_time(
    config: ScoringConfig, established: CustomerState
) -> None:
    _, explanation = fold(established, signal(K.PROMISE_BROKEN, 1.5), config)
    assert explanation.late
    assert all(d.key != ELAPSED_TIME for d in explanation.drivers)
    assert explanation.after.as_of == explanation.before.as_of
    _, older = fold(established, signal(K.PURCHASE, -60, amount=10.0), config)
    assert older.late
    assert {d.key for d in older.drivers} == {LONGER_HISTORY, "purchase"}


def test_elapsed_time_is_a_driver_after_a_long_pause(
    config: ScoringConfig, established: CustomerState
) -> None:
    _, explanation = fold(
        established, signal(K.COMPANY_MESSAGE, 200, qualifier="marketing"), config
    )
    assert explanation.drivers[0].key == ELAPSED_TIME
    assert explanation.drivers[0].source == "time"
    # Time is never presented as what the event did: the event's effect first, time apart.
    assert re.fullmatch(
        r"Trust and loyalty steady after a marketing message "
        r"\((\d+) months since the last update: trust -\d+, loyalty -\d+\)"
        r"\. Now at risk: \1 months without activity",
        explanation.summary,
    ), explanation.summary
    assert explanation.event_trust_points == pytest.approx(0.0, abs=1e-9)
    assert explanation.time_trust_points < -5


def _driver(singular: str, trust: float, loyalty: float, count: int = 1) -> Driver:
    plural = singular.removeprefix("a ").removeprefix("an ") + "s"
    return Driver(singular, DriverLabel(singular, plural), trust, loyalty, count)


def test_wording(config: ScoringConfig) -> None:
    kept = _driver("a kept promise", 8.2, 1.0)
    cancel = _driver("a cancellation", 0.0, -6.4)
    late = Driver("delivery_late", DriverLabel("a late delivery", "late deliveries"), -9, -2, 3)
    billing = _driver("a billing error", -6.0, -1.0)
    frustration = Driver("emotion.frustration", DriverLabel.uncountable("frustration"), -1, -1, 4)
    assert (
        describe(8.2, -5.4, [kept, cancel], config, "after x")
        == "Trust rose 8 points (a kept promise) and loyalty fell 5 points (a cancellation)"
    )
    assert (
        describe(-15.0, -0.2, [late, billing, kept], config, "after x")
        == "Trust fell 15 points: three late deliveries and a billing error"
    )
    assert (
        describe(-0.6, 0.0, [late], config, "after x")
        == "Trust fell 1 point: three late deliveries"
    )
    assert (
        describe(0.4, -0.49, [kept], config, "after a kept promise")
        == "Trust and loyalty steady after a kept promise"
    )
    many = [
        late,
        billing,
        _driver("a broken promise", -5.0, 0),
        _driver("a reopened case", -4.0, 0),
        frustration,
    ]
    assert (
        describe(-25.0, 0.0, many, config, "")
        == "Trust fell 25 points: three late deliveries, a billing error, a broken promise "
        "and 2 more"
    )
    assert describe(0.0, -1.0, [frustration], config, "") == "Loyalty fell 1 point: frustration"


def test_a_driver_is_never_named_against_its_tone_without_saying_why(config: ScoringConfig) -> None:
    """Graded evidence pulls a score toward its grade: mild criticism raises a lower score, faint
    praise lowers a higher one. Criticism is not named as why trust rose next to praise that
    raised it; alone, it is named with the reason."""
    criticism = Driver(
        "aspect.delivery_reliability",
        DriverLabel.uncountable("criticism of delivery reliability", tone=-1),
        1.0,
        0.0,
    )
    praise = Driver(
        "aspect.communication_transparency",
        DriverLabel.uncountable("praise for our communication", tone=1),
        4.0,
        0.0,
    )
    assert (
        describe(5.0, 0.0, [praise, criticism], config, "")
        == "Trust rose 5 points: praise for our communication"
    )
    assert (
        describe(1.0, 0.0, [criticism], config, "")
        == "Trust rose 1 point: criticism of delivery reliability, though milder than their "
        "trust so far"
    )
    faint = Driver(
        "aspect.customer_service",
        DriverLabel.uncountable("praise for customer service", tone=1),
        -2.0,
        0.0,
    )
    assert (
        describe(-2.0, 0.0, [faint], config, "")
        == "Trust fell 2 points: praise for customer service, though less warm than their "
        "trust so far"
    )
    # A negligible driver in tone does not hide the real cause (a float residue of 3e-15).
    residue = Driver("emotion.disappointment", DriverLabel.uncountable("disappointment"), 3e-15, 0)
    assert describe(1.0, 0.0, [criticism, residue], config, "").startswith(
        "Trust rose 1 point: criticism of delivery reliability, though milder"
    )
    # Several against their tone: the strongest and the reason first, so that a cut summary
    # keeps the reason.
    others = [
        Driver(f"aspect.{n}", DriverLabel.uncountable(f"criticism of {n}", tone=-1), 0.5, 0.0)
        for n in ("our ethics and privacy", "customer service")
    ]
    assert (
        describe(2.0, 0.0, [criticism, *others], config, "")
        == "Trust rose 2 points: criticism of delivery reliability, though milder than their "
        "trust so far, and 2 more"
    )
    # Neutral labels (a passive answer, elapsed time, events) are named either way.
    passive = Driver("nps", DriverLabel("a passive NPS answer", "passive NPS answers"), -2.0, 0.0)
    assert describe(-2.0, 0.0, [passive], config, "") == "Trust fell 2 points: a passive NPS answer"


def test_a_good_experience_is_filed_under_what_made_it_good(config: ScoringConfig) -> None:
    """Criticism of our communication next to strong praise of our ethics: good on balance, so
    the long memory's experience is filed under the praise, not under the criticism."""
    mixed = signal(
        K.FREE_COMMENT,
        1.0,
        sentiment=0.1,
        aspects={"communication_transparency": -0.2, "ethics_privacy": 0.9},
    )
    items = evidence_for(mixed, config)
    [memory] = [item for item in items if item.channel.value == "trust_long"]
    assert memory.polarity.value == "positive"
    assert memory.label.singular == "praise for our ethics and privacy"


def test_graded_labels_carry_their_tone(config: ScoringConfig) -> None:
    tones = {
        item.label.singular: item.label.tone
        for s in (
            signal(K.NPS, 1.0, nps=2),
            signal(K.NPS, 1.0, nps=10),
            signal(K.NPS, 1.0, nps=7),
            signal(K.REVIEW, 1.0, stars=1, aspects={"customer_service": -0.6}),
        )
        for item in evidence_for(s, config)
    }
    assert tones["a detractor NPS answer"] == -1
    assert tones["a promoter NPS answer"] == 1
    assert tones["a passive NPS answer"] == 0
    assert tones["a negative review"] == -1
    assert tones["criticism of customer service"] == -1


def test_number_words() -> None:
    assert [number_word(n) for n in (1, 2, 12, 13)] == ["one", "two", "twelve", "13"]


def test_a_window_of_one_event_and_of_nothing(
    config: ScoringConfig, established: CustomerState
) -> None:
    _, explanation = fold(established, signal(K.COMPANY_MESSAGE, 5, qualifier="marketing"), config)
    assert (
        summarize([explanation], config).summary
        == "Trust and loyalty steady after a marketing message"
    )
    quiet = [
        fold(established, signal(K.COMPANY_MESSAGE, 5, f"m{i}", qualifier="marketing"), config)[1]
        for i in range(3)
    ]
    assert summarize(quiet, config).summary == "Trust and loyalty steady over 3 events"
    with pytest.raises(ValueError, match="nothing"):
        summarize([], config)


def test_explanations_follow_event_time(config: ScoringConfig, established: CustomerState) -> None:
    event = signal(K.DELIVERY_LATE, 7)
    moved = replace(event, received_at=event.occurred_at + timedelta(days=30))
    assert (
        fold(established, moved, config)[1].summary == fold(established, event, config)[1].summary
    )


def test_withdrawn_penalties_are_drivers_one_per_kind(
    config: ScoringConfig, established: CustomerState
) -> None:
    """An event that settles overdue promises takes their penalties back: one driver per kind
    (counted), and the drivers still add up to the change from the scores held before."""
    from services.scoring.model.evidence import Withdrawal, overdue_evidence
    from services.scoring.model.state import add_evidence

    due = established.as_of_us
    assert due is not None
    penalties = {kind: tuple(overdue_evidence(kind, config)) for kind in ("promise", "delivery")}
    held = add_evidence(
        established, [*penalties["promise"], *penalties["promise"]], due, config, count_event=False
    )
    held = add_evidence(held, penalties["delivery"], due, config, count_event=False)
    withdrawn = (
        Withdrawal("settled.promise", penalties["promise"], due),
        Withdrawal("settled.delivery", penalties["delivery"], due),
        Withdrawal("settled.promise", penalties["promise"], due),
    )
    state, explanation = fold(held, signal(K.PROMISE_KEPT, 5.5), config, withdrawn=withdrawn)
    lifted = [d for d in explanation.drivers if d.key.startswith("settled.")]
    assert sorted((d.key, d.count) for d in lifted) == [
        ("settled.delivery", 1),
        ("settled.promise", 2),
    ]
    assert all(d.trust_points > 0 for d in lifted)
    total = sum(d.trust_points for d in explanation.drivers)
    assert total == pytest.approx(explanation.trust_points, abs=1e-9)
    assert "two overdue promises settled" in explanation.summary
    assert explanation.subject == "a kept promise"
    # The new state is the one without the penalties.
    _, plain = fold(established, signal(K.PROMISE_KEPT, 5.5), config)
    assert explanation.after.trust == pytest.approx(plain.after.trust, abs=1e-9)
    assert state.sums == pytest.approx(apply(established, signal(K.PROMISE_KEPT, 5.5), config).sums)
