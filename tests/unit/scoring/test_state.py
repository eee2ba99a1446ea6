"""The fold: order independence, merge laws, event-time decay, serialization."""

from __future__ import annotations

import ast
import json
import math
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from services.scoring.model import (
    REL_TOL,
    Channel,
    CustomerState,
    ScoringConfig,
    Signal,
    SignalKind,
    StateMismatchError,
    apply,
    apply_all,
    fold,
    merge,
    of_signal,
    scores,
)
from services.scoring.model.config import DEFAULT_PATH
from tests.unit.scoring.strategies import CUSTOMER, signal, signal_lists

EMPTY = CustomerState.empty(CUSTOMER)
MODEL_DIR = Path(__file__).resolve().parents[3] / "services" / "scoring" / "model"


def _scores_close(a: CustomerState, b: CustomerState, config: ScoringConfig) -> None:
    x, y = scores(a, config), scores(b, config)
    assert x.segment == y.segment or math.isclose(x.loyalty, y.loyalty, rel_tol=1e-6)
    for name in ("trust", "trust_uncertainty", "loyalty", "churn_risk"):
        assert math.isclose(getattr(x, name), getattr(y, name), rel_tol=REL_TOL, abs_tol=1e-12)


@given(events=signal_lists(max_size=25), data=st.data())
def test_any_order_gives_the_same_state(
    config: ScoringConfig, events: list[Signal], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(events))
    in_order = apply_all(EMPTY, sorted(events, key=lambda s: s.occurred_at), config)
    as_drawn = apply_all(EMPTY, events, config)
    permuted = apply_all(EMPTY, shuffled, config)
    assert as_drawn.isclose(in_order)
    assert permuted.isclose(in_order)
    _scores_close(permuted, in_order, config)


@given(events=signal_lists(max_size=25), data=st.data())
def test_partial_states_merge_into_the_whole(
    config: ScoringConfig, events: list[Signal], data: st.DataObject
) -> None:
    parts = data.draw(st.integers(1, 4))
    groups: list[list[Signal]] = [[] for _ in range(parts)]
    for event in events:
        groups[data.draw(st.integers(0, parts - 1))].append(event)
    states = [apply_all(EMPTY, group, config) for group in groups]
    merged = EMPTY
    for state in data.draw(st.permutations(states)):
        merged = merge(merged, state, config)
    assert merged.isclose(apply_all(EMPTY, events, config))


@given(a=signal_lists(max_size=8), b=signal_lists(max_size=8), c=signal_lists(max_size=8))
def test_merge_is_associative_and_commutative_with_empty_as_identity(
    config: ScoringConfig, a: list[Signal], b: list[Signal], c: list[Signal]
) -> None:
    x, y, z = (apply_all(EMPTY, events, config) for events in (a, b, c))
    assert merge(x, y, config) == merge(y, x, config)  # exactly: x + y == y + x in floats
    assert merge(merge(x, y, config), z, config).isclose(merge(x, merge(y, z, config), config))
    assert merge(EMPTY, x, config) == x
    assert merge(x, EMPTY, config) == x


@given(events=signal_lists(min_size=1, max_size=10))
def test_apply_is_merge_with_the_state_of_one_signal(
    config: ScoringConfig, events: list[Signal]
) -> None:
    *history, last = events
    state = apply_all(EMPTY, history, config)
    assert apply(state, last, config).isclose(merge(state, of_signal(last, config), config))


@given(
    events=signal_lists(max_size=15),
    delays=st.lists(st.integers(-(10**8), 10**8), min_size=15, max_size=15),
)
def test_processing_time_is_ignored(
    config: ScoringConfig, events: list[Signal], delays: list[int]
) -> None:
    """The same events received (processed) at other wall times give the identical state."""
    received = [
        replace(e, received_at=e.occurred_at + timedelta(seconds=d))
        for e, d in zip(events, delays, strict=False)
    ]
    assert apply_all(EMPTY, received, config) == apply_all(EMPTY, events, config)


def test_the_model_never_reads_a_clock(
    config: ScoringConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_clock() -> float:
        raise AssertionError("the model read the wall clock")

    for name in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter"):
        monkeypatch.setattr(time, name, no_clock)
    state = EMPTY
    for day, kind in enumerate([SignalKind.PURCHASE, SignalKind.DELIVERY_LATE, SignalKind.NPS]):
        state, _ = fold(state, signal(kind, day, nps=9 if kind is SignalKind.NPS else None), config)
    scores(state, config)


def test_the_model_source_calls_no_clock() -> None:
    """Static check: no now(), today(), utcnow() or time.*() in the model (the simulator's
    timing of its own run excepted)."""
    forbidden = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "perf_counter"}
    for path in sorted(MODEL_DIR.glob("*.py")):
        calls = {
            node.func.attr
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        }
        found = calls & forbidden
        if path.name == "simulation.py":
            found -= {"perf_counter"}
        assert not found, f"{path.name} calls {sorted(found)}"


@given(events=signal_lists(max_size=15))
def test_rows_round_trip(config: ScoringConfig, events: list[Signal]) -> None:
    state = apply_all(EMPTY, events, config)
    row = state.to_row()
    assert all(
        value is None or isinstance(value, str | int | float | datetime) for value in row.values()
    )
    assert CustomerState.from_row(row) == state
    as_json = json.loads(json.dumps(row, default=datetime.isoformat))
    assert CustomerState.from_row(as_json) == state


def test_a_row_of_another_layout_is_refused() -> None:
    row = EMPTY.to_row()
    row["state_version"] = 0
    with pytest.raises(ValueError, match="rebuild"):
        CustomerState.from_row(row)


def test_states_of_other_customers_or_configurations_do_not_mix(config: ScoringConfig) -> None:
    mine = apply(EMPTY, signal(SignalKind.PURCHASE), config)
    other = Signal("x", "someone else", mine.as_of or datetime.now(), SignalKind.PURCHASE)
    with pytest.raises(StateMismatchError):
        apply(mine, other, config)
    with pytest.raises(StateMismatchError):
        merge(mine, of_signal(other, config), config)
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["half_life_days"]["trust"] = 30
    retuned = ScoringConfig.from_mapping(data)
    with pytest.raises(StateMismatchError, match="rebuild"):
        apply(mine, signal(SignalKind.PURCHASE, 1), retuned)
    with pytest.raises(StateMismatchError, match="rebuild"):
        merge(mine, of_signal(signal(SignalKind.PURCHASE, 1), retuned), config)


def test_evidence_halves_every_half_life_of_event_time(config: ScoringConfig) -> None:
    half_life = config.half_life_days.trust
    state = apply_all(
        EMPTY,
        [signal(SignalKind.PROMISE_KEPT, 0), signal(SignalKind.PURCHASE, 2 * half_life)],
        config,
    )
    positive, negative = state.evidence(Channel.TRUST)
    assert positive == pytest.approx(0.25, rel=1e-12)
    assert negative == 0.0
    # Rescaling to a later time and adding older evidence commute.
    later_first = apply_all(
        EMPTY,
        [signal(SignalKind.PURCHASE, 2 * half_life), signal(SignalKind.PROMISE_KEPT, 0)],
        config,
    )
    assert later_first.isclose(state)


def test_very_old_evidence_fades_to_nothing_without_error(config: ScoringConfig) -> None:
    ancient = signal(SignalKind.PROMISE_BROKEN, 0)
    recent = signal(SignalKind.PROMISE_KEPT, 400 * 365)  # 400 years and 1,200 half-lives later
    for order in ([ancient, recent], [recent, ancient]):
        state = apply_all(EMPTY, order, config)
        assert state.evidence(Channel.TRUST) == (1.0, 0.0)
