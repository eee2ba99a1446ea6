"""One scored event, purely: the published ScoreUpdate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas import Segment
from services.scoring.domain import CustomerRecord, score_event, short
from services.scoring.model import MODEL_VERSION, ScoringConfig
from services.scoring.model import Segment as ModelSegment
from services.scoring.signals import to_input
from tests.unit.scoring.events import annotated

T = datetime(2026, 2, 1, tzinfo=UTC)


def test_the_update_carries_the_model_scores(config: ScoringConfig) -> None:
    record = CustomerRecord.empty("c")
    outcome = score_event(
        record, to_input(annotated("promise_broken", "c", "e1", T, tenant_id="t-1"), config), config
    )
    update, after = outcome.update, outcome.scores
    assert update.trust == pytest.approx(100 * after.trust, abs=1e-4)
    assert update.score == pytest.approx((100 * after.trust + after.loyalty) / 2, abs=1e-4)
    assert update.trust_uncertainty == pytest.approx(100 * after.trust_stddev, abs=1e-4)
    assert update.loyalty == pytest.approx(after.loyalty, abs=1e-4)
    assert update.loyalty_uncertainty == pytest.approx(100 * after.loyalty_stddev, abs=1e-4)
    assert update.churn_risk == pytest.approx(after.churn_risk, abs=1e-6)
    assert update.deltas.trust == pytest.approx(outcome.explanation.trust_points, abs=1e-4)
    assert update.deltas.trust < 0
    assert update.event_count == 1
    assert update.as_of == T
    assert update.caused_by_event_id == "e1"
    assert update.tenant_id == "t-1"
    assert (update.model_version, update.config_version) == (MODEL_VERSION, config.version)
    assert update.summary == outcome.explanation.summary
    assert [d.event_id for d in update.drivers] == ["e1"]
    assert update.drivers[0].event_type == "promise_broken"


def test_drivers_are_the_latest_events_strongest_first(config: ScoringConfig) -> None:
    record = CustomerRecord.empty("c")
    kinds = ["purchase", "delivery_on_time", "promise_broken", "engagement"] * 4
    for i, kind in enumerate(kinds):
        outcome = score_event(
            record, to_input(annotated(kind, "c", f"e{i}", T + timedelta(hours=i)), config), config
        )
        record = outcome.record
    drivers = outcome.update.drivers
    assert len(drivers) == 10
    assert {d.event_id for d in drivers} == {f"e{i}" for i in range(6, 16)}
    sizes = [abs(d.trust_effect) + abs(d.loyalty_effect) for d in drivers]
    assert sizes == sorted(sizes, reverse=True)


def test_passive_is_published_as_neutral(config: ScoringConfig) -> None:
    record = CustomerRecord.empty("c")
    for i in range(3):
        outcome = score_event(
            record,
            to_input(annotated("company_message", "c", f"e{i}", T, purpose="marketing"), config),
            config,
        )
        record = outcome.record
    assert outcome.scores.segment is ModelSegment.PASSIVE
    assert outcome.update.segment is Segment.NEUTRAL


def test_summaries_fit_the_contract() -> None:
    assert short("x" * 250) == "x" * 199 + "…"
    assert short("fine") == "fine"
