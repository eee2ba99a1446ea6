"""Scoring's own metrics: database statement latency, the outbox, and the business view
(trust and loyalty distributions, customers per segment, open alerts) read from the database."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from tests.unit.scoring.events import T0, annotated
from tests.unit.scoring.harness import Scoring


def test_database_latency_outbox_and_business_view(tmp_path: Path) -> None:
    scoring = Scoring(f"sqlite:///{tmp_path / 'scoring.db'}")
    registry = CollectorRegistry()
    scoring.handler.register_metrics(registry)
    scoring.send(
        [
            annotated("purchase", "c1", "e1", T0, amount=50, currency="EUR"),
            annotated("survey_nps", "c2", "e2", T0, score=1, sentiment=-0.9),
            annotated("promise_broken", "c2", "e3", T0),
            annotated("delivery_on_time", "c3", "e4", T0),
        ]
    )
    scoring.run()

    def sample(name: str, **labels: str) -> float:
        found = registry.get_sample_value(name, labels)
        assert found is not None, name
        return found

    assert sample("rapport_db_query_seconds_count", service="scoring") > 0
    assert sample("rapport_db_errors_total", service="scoring") == 0
    assert sample("rapport_scoring_outbox_records") >= 0
    # Three customers, in every distribution and across the segments.
    assert sample("rapport_scoring_customer_trust_bucket", le="+Inf") == 3
    assert sample("rapport_scoring_customer_loyalty_count") == 3
    assert sample("rapport_scoring_customer_trust_bucket", le="1.0") == 3
    segments = [
        s.value
        for family in registry.collect()
        if family.name == "rapport_scoring_customers"
        for s in family.samples
    ]
    assert sum(segments) == 3
    low = sample("rapport_scoring_customer_loyalty_bucket", le="50.0")
    assert 0 <= low <= 3
