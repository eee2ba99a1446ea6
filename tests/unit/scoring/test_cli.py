"""``rapport scores migrate`` and ``rapport scores show`` (``rebuild`` needs Kafka: see
tests/integration/test_scoring_e2e.py)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from schemas.identity import Tenancy, TenancyMode
from services.runtime.records import InRecord, PartitionBatch, TopicPartition
from services.runtime.settings import Topics
from services.scoring import store
from services.scoring.cli import scores_app
from services.scoring.model import ScoringConfig
from services.scoring.service import ScoringHandler, open_store
from tests.unit.scoring.events import T0, annotated, encode
from tests.unit.scoring.harness import Scoring
from tests.unit.scoring.test_store import HEAD
from tests.unit.scoring.test_tenants import as_tenant


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, database_url: str) -> CliRunner:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "220")
    return CliRunner()


def test_migrate_creates_the_schema(cli: CliRunner, database_url: str) -> None:
    result = cli.invoke(scores_app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert f"revision {HEAD} (was empty)" in result.output
    assert store.current_revision(store.make_engine(database_url)) == HEAD
    again = cli.invoke(scores_app, ["migrate"])
    assert again.exit_code == 0
    assert "was" not in again.output


def test_show_prints_scores_drivers_history_and_alerts(cli: CliRunner, database_url: str) -> None:
    scoring = Scoring(database_url, partitions=1)
    scoring.send(
        [
            annotated("purchase", "c-7", "p-1", T0),
            annotated("promise_broken", "c-7", "pb-1", T0 + timedelta(hours=1)),
            annotated("survey_nps", "c-7", "nps-1", T0 + timedelta(hours=2), score=2),
        ]
    )
    scoring.run()
    result = cli.invoke(scores_app, ["show", "c-7", "--history", "2"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Customer c-7" in out
    assert "trust" in out
    assert "loyalty" in out
    assert "segment" in out
    assert "promise_broken" in out  # a driver
    assert "History (latest 2, newest first, UTC)" in out
    assert "nps-1" in out
    assert "p-1" in out
    assert "detractor_nps" in out
    assert "trust_drop" in out
    # At 80 columns a history line keeps its figures on one line.
    assert any(
        line.startswith("2026-03-01 11:00") and "trust" in line and "loyalty" in line
        for line in out.splitlines()
    ), out
    missing = cli.invoke(scores_app, ["show", "nobody"])
    assert missing.exit_code == 1
    assert "no scores" in missing.output


def test_show_json_is_one_document(cli: CliRunner, database_url: str) -> None:
    scoring = Scoring(database_url, partitions=1)
    scoring.send([annotated("purchase", "c-8", "p-1", T0)])
    scoring.run()
    result = cli.invoke(scores_app, ["show", "c-8", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["customer_id"] == "c-8"
    assert document["current"]["event_count"] == 1
    assert document["history"][0]["event_id"] == "p-1"
    assert document["history"][0]["occurred_at"] == "2026-03-01T09:00:00Z"
    assert [d["event_id"] for d in document["drivers"]] == ["p-1"]


def test_show_names_the_tenant(cli: CliRunner, database_url: str) -> None:
    config = ScoringConfig.load()
    engine = open_store(database_url, config)
    tenancy = Tenancy(mode=TenancyMode.MULTI)
    handler = ScoringHandler(engine, Topics(), config, tenancy=tenancy)
    events = [
        as_tenant(annotated("purchase", "c-9", "p-1", T0), "a"),
        as_tenant(annotated("purchase", "c-9", "p-1", T0), "b"),
        as_tenant(annotated("purchase", "c-9", "p-2", T0 + timedelta(hours=1)), "b"),
    ]
    tp = TopicPartition(Topics().annotated, 0)
    handler.handle_batch(
        PartitionBatch(
            tp, [InRecord(tp.topic, 0, i, b"k", encode(e)) for i, e in enumerate(events)]
        )
    )
    counts = {}
    for tenant in ("a", "b"):
        result = cli.invoke(scores_app, ["show", "c-9", "--tenant", tenant, "--json"])
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        counts[document["tenant"]] = document["current"]["event_count"]
    assert counts == {"a": 1, "b": 2}
    missing = cli.invoke(scores_app, ["show", "c-9"])  # the default tenant has no c-9
    assert missing.exit_code == 1
    assert "of tenant 'default'" in missing.output
