"""The validity report end to end on a small synthetic purchase history (no download)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from evaluation.scoring.cdnow import Order
from evaluation.scoring.validity import evaluate, main, render, sample
from services.scoring.model import ScoringConfig


def _history() -> list[Order]:
    """60 regulars buying every 3 weeks from January 1997 to June 1998, 60 one-off buyers."""
    orders: list[Order] = []
    for n in range(120):
        customer = f"{n:05d}"
        first = date(1997, 1, 1) + timedelta(days=n % 80)
        days = [first]
        if n % 2 == 0:
            while days[-1] + timedelta(days=21) <= date(1998, 6, 30):
                days.append(days[-1] + timedelta(days=21))
        for day in days:
            orders.append(Order(customer, day, 1, Decimal("15.00"), len(orders) + 1))
    return orders


@pytest.fixture(scope="module")
def report() -> dict[str, object]:
    return evaluate(ScoringConfig.load(), _history(), split="all", resamples=30)


def test_the_report_says_what_it_ran_on(report: dict[str, object]) -> None:
    setup = report["setup"]
    assert isinstance(setup, dict)
    assert setup["customers"] == 120
    assert setup["bought_again"] == pytest.approx(0.5)
    model = report["model"]
    assert isinstance(model, dict)
    assert "T" in model["time_path"]
    # Churn risk is checked against the model's own horizon, or the evaluation's without one.
    stated = getattr(ScoringConfig.load().churn, "horizon_days", None)
    assert setup["churn_horizon_days"] == (stated or 7 * 39)
    json.dumps(report, allow_nan=False)  # --json must not fail on empty bands


def test_behaviour_alone_separates_regulars_from_one_off_buyers(report: dict[str, object]) -> None:
    aucs = report["auc"]
    assert isinstance(aucs, dict)
    assert aucs["recency (days since last purchase, fewer = better)"]["value"] == 1.0
    assert aucs["loyalty at cut-off"]["value"] > 0.9
    # Purchases alone never make a one-off buyer more trusted than a regular.
    assert aucs["trust at cut-off"]["value"] >= 0.5


def test_the_rendered_table_names_the_command_that_reproduces_it(
    report: dict[str, object],
) -> None:
    text = render(report, "python -m evaluation.scoring.validity --split all")
    assert text.startswith("reproduce: python -m evaluation.scoring.validity --split all")
    assert "| loyalty at cut-off |" in text
    assert "| BG/NBD expected purchases |" in text


def test_sample_keeps_whole_customers() -> None:
    orders = _history()
    kept = sample(orders, 10)
    assert len({o.customer for o in kept}) == 10
    for customer in {o.customer for o in kept}:
        assert [o for o in kept if o.customer == customer] == [
            o for o in orders if o.customer == customer
        ]


def test_main_rejects_an_unknown_split() -> None:
    with pytest.raises(SystemExit):
        main(["--split", "everything"])
