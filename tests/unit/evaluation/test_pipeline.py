"""CDNOW lines -> raw contract events -> ingest -> sentiment -> scoring signal -> the model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

import services.scoring.model as model_package
from evaluation.scoring import cdnow, pipeline
from evaluation.scoring.pipeline import ContractPath, ModelAdapter, ServicePath
from schemas import EventKind
from services.scoring import domain
from services.scoring.model import CustomerState, Scores, ScoringConfig, SignalKind, scores
from services.scoring.model.state import advance
from services.scoring.signals import ScoringInput

LINES = [
    " customer_id  date number_of_cds  dollar_value\r\n",
    " 00001 19970101  1   11.77\r\n",
    " 00002 19970112  1   12.00\r\n",
    " 00002 19970112  5   77.00\r\n",
    " 00002 19970302  2   20.76\r\n",
]


@pytest.fixture(scope="module")
def config() -> ScoringConfig:
    return ScoringConfig.load()


@pytest.fixture(scope="module")
def contract(config: ScoringConfig) -> ContractPath:
    return ContractPath(config)


def test_parse_skips_the_header_and_numbers_the_orders() -> None:
    orders = list(cdnow.parse(LINES))
    assert [(o.customer, o.line) for o in orders] == [
        ("00001", 1),
        ("00002", 2),
        ("00002", 3),
        ("00002", 4),
    ]
    assert orders[2].cds == 5
    assert orders[2].dollars == Decimal("77.00")
    assert orders[0].day.isoformat() == "1997-01-01"


def test_orders_of_one_day_are_distinct_events_a_second_apart() -> None:
    events = list(cdnow.raw_events(cdnow.parse(LINES)))
    times = [at for _, at, _ in events]
    assert times[1] == datetime(1997, 1, 12, 12, tzinfo=UTC)
    assert times[2] == times[1] + timedelta(seconds=1)
    ids = [json.loads(raw)["event_id"] for _, _, raw in events]
    assert len(set(ids)) == len(ids)


def test_a_purchase_goes_through_the_services_functions(
    config: ScoringConfig, contract: ContractPath
) -> None:
    order, at, raw = next(cdnow.raw_events(cdnow.parse(LINES)))
    signal = contract.signal(raw, EventKind.INTERACTION, at + timedelta(seconds=1))
    assert signal.kind is SignalKind.PURCHASE
    assert signal.customer_id == "cdnow-00001"
    assert signal.occurred_at == at
    # Dollars converted with the configuration's static rate table, as the service does.
    assert signal.amount == pytest.approx(float(order.dollars) * config.currencies.rates["USD"])


def test_the_adapter_scores_through_the_models_own_time_argument(
    config: ScoringConfig, contract: ContractPath
) -> None:
    adapter = ModelAdapter.detect(config)
    # "scores(state, config, as_of=T)", or the model's own time function once it has one.
    assert "T" in adapter.time_path
    signals = [
        contract.signal(raw, EventKind.INTERACTION, at + timedelta(seconds=1))
        for order, at, raw in cdnow.raw_events(cdnow.parse(LINES))
        if order.customer == "00002"
    ]
    state = adapter.fold("cdnow-00002", signals)
    assert state.event_count == 3
    later = datetime(1997, 10, 1, tzinfo=UTC)
    assert adapter.published(state) == scores(state, config)
    assert adapter.at(state, later) == scores(state, config, as_of=later)


def test_the_adapter_prefers_an_exported_time_function(
    config: ScoringConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the model exports a "state at time T" function, the harness uses it (and says so)."""
    calls: list[int] = []

    def advance_to(
        state: CustomerState, as_of_us: int, config: ScoringConfig
    ) -> tuple[CustomerState, list[str]]:
        calls.append(as_of_us)
        return advance(state, as_of_us, config), ["time"]

    # A time function the model may already have is preferred over ``advance_to``: hide it.
    later_names = tuple(name for name in pipeline.TIME_FUNCTIONS if name != "scores_at")
    monkeypatch.setattr(pipeline, "TIME_FUNCTIONS", later_names)
    monkeypatch.setattr(model_package, "advance_to", advance_to, raising=False)
    adapter = ModelAdapter.detect(config)
    assert adapter.time_path.endswith("advance_to(state, as_of_us=T [microseconds], config)")
    state = model_package.CustomerState.empty("c")
    at = datetime(1997, 1, 1, tzinfo=UTC)
    signal = model_package.Signal("e1", "c", at, SignalKind.PURCHASE, amount=10.0)
    state = adapter.fold("c", [signal])
    later = at + timedelta(days=200)
    assert adapter.at(state, later) == scores(state, config, as_of=later)
    assert calls == [model_package.signal.to_us(later)]


def test_the_adapter_calls_a_scores_at_function_with_a_datetime_by_name(
    config: ScoringConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another shape: config before the time, a datetime, ``Scores`` returned directly."""

    def scores_at(state: CustomerState, config: ScoringConfig, at: datetime) -> Scores:
        return scores(state, config, as_of=at)

    monkeypatch.setattr(model_package, "scores_at", scores_at, raising=False)
    adapter = ModelAdapter.detect(config)
    assert adapter.time_path.endswith("scores_at(state, at=T [datetime], config)")
    at = datetime(1997, 1, 1, tzinfo=UTC)
    state = adapter.fold("c", [model_package.Signal("e1", "c", at, SignalKind.PURCHASE)])
    later = at + timedelta(days=30)
    assert adapter.at(state, later) == scores(state, config, as_of=later)


def _inputs(contract: ContractPath, customer: str) -> list[ScoringInput]:
    return [
        contract.input(raw, EventKind.INTERACTION, at + timedelta(seconds=1))
        for order, at, raw in cdnow.raw_events(cdnow.parse(LINES))
        if order.customer == customer
    ]


@dataclass(frozen=True)
class _Tick:
    after: Scores
    update: object | None


def test_a_service_without_time_updates_has_no_held_scores(
    config: ScoringConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(domain, "advance_to", raising=False)
    assert ServicePath.detect(config) is None


def test_a_subscriber_holds_the_last_published_update(
    config: ScoringConfig, contract: ContractPath
) -> None:
    """Events through the service's score_event, one watermark tick at T: a material tick's
    scores replace the last event's, an immaterial one (None) leaves them."""
    later = datetime(1997, 10, 1, tzinfo=UTC)
    ticks: list[int] = []
    material = {"yes": True}

    def advance_to(record: Any, watermark_us: int, config: ScoringConfig) -> _Tick | None:
        ticks.append(watermark_us)
        if not material["yes"]:
            return None
        return _Tick(scores(record.state, config, as_of=later), update=object())

    service = ServicePath(
        config,
        SimpleNamespace(
            CustomerRecord=domain.CustomerRecord,
            score_event=domain.score_event,
            advance_to=advance_to,
        ),
    )
    inputs = _inputs(contract, "00002")
    state = ModelAdapter.detect(config).fold("cdnow-00002", [i.signal for i in inputs])
    assert service.held_at("cdnow-00002", inputs, later) == scores(state, config, as_of=later)
    assert ticks == [model_package.signal.to_us(later)]
    material["yes"] = False
    held = service.held_at("cdnow-00002", inputs, later)
    assert held is not None
    assert held.loyalty == pytest.approx(scores(state, config).loyalty)
