"""Scoring against the real broker: annotated events in; score updates, the compacted
latest-scores topic, alerts and erasure out; then a rebuild from the topic finds no difference."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import Engine, create_engine
from typer.testing import CliRunner

from schemas import Alert, AlertState, ErasureCompleted, ScoreUpdate
from services.scoring import store
from services.scoring.cli import scores_app
from services.scoring.service import SPEC
from tests.support.kafka import produce, read_committed, running, service_settings
from tests.unit.scoring.events import T0, annotated, encode

pytestmark = pytest.mark.kafka


def events() -> list[tuple[bytes | None, bytes | None]]:
    h = timedelta(hours=1)
    stream = [
        annotated("purchase", "c-happy", "h1", T0, amount=120, currency="EUR"),
        annotated("delivery_on_time", "c-happy", "h2", T0 + h),
        annotated("survey_nps", "c-happy", "h3", T0 + 2 * h, score=10, sentiment=0.9),
        annotated("survey_nps", "c-angry", "a1", T0, score=1, sentiment=-0.8),
        annotated("feedback_response", "c-angry", "a2", T0 + h, responds_to_event_id="a1"),
        annotated("purchase", "c-gone", "g1", T0),
        annotated("promise_broken", "c-gone", "g2", T0 + h),
        annotated("erasure_request", "c-gone", "g3", T0 + 2 * h, request_id="ER-9"),
        annotated("purchase", "c-gone", "g4", T0 + 3 * h),
        annotated("survey_nps", "c-angry", "a1", T0, score=1),  # a duplicate: no effect
    ]
    return [(e.event.customer_id.encode(), encode(e)) for e in stream]


def test_annotated_events_to_scores_alerts_and_erasure(
    kafka_bootstrap: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = service_settings(kafka_bootstrap, database_url)
    topics = settings.topics
    with running(SPEC, settings):
        produce(kafka_bootstrap, topics.annotated, events())
        updates = read_committed(kafka_bootstrap, [topics.score_updates], expected=8)
        latest = read_committed(kafka_bootstrap, [topics.scores_latest], expected=9)
        alerts = read_committed(kafka_bootstrap, [topics.alerts], expected=3)
        erased = read_committed(kafka_bootstrap, [topics.erasure_completed], expected=1)

    # One update per distinct event, keyed by customer, in order per customer.
    published = [ScoreUpdate.model_validate_json(r.value) for r in updates]
    assert sorted(u.caused_by_event_id for u in published) == sorted(
        ["h1", "h2", "h3", "a1", "a2", "g1", "g2", "g4"]
    )
    assert all(
        r.key == ScoreUpdate.model_validate_json(r.value).customer_id.encode() for r in updates
    )
    happy = [u for u in published if u.customer_id == "c-happy"]
    assert [u.event_count for u in happy] == [1, 2, 3]
    assert happy[-1].trust > 50
    assert happy[-1].loyalty > 50
    gone = [u for u in published if u.customer_id == "c-gone"]
    assert [u.event_count for u in gone] == [1, 2, 1]  # fresh after the erasure

    check_latest_scores(kafka_bootstrap, topics.scores_latest, latest)

    # The detractor NPS answer raised an alert; the company's response resolved it.
    raised = [Alert.model_validate_json(r.value) for r in alerts]
    detractor = [a for a in raised if a.kind.value == "detractor_nps"]
    assert [(a.state, a.caused_by_event_id) for a in detractor] == [
        (AlertState.RAISED, "a1"),
        (AlertState.RESOLVED, "a2"),
    ]
    assert len({(a.alert_id, a.state) for a in raised}) == len(raised)

    [completed] = [ErasureCompleted.model_validate_json(r.value) for r in erased]
    assert (completed.request_id, completed.customer_id) == ("ER-9", "c-gone")
    assert erased[0].key == b"c-gone"

    engine = create_engine(database_url)
    states = store.tenant_states(engine)
    assert states["c-gone"]["event_count"] == 1
    assert sorted(states) == ["c-angry", "c-gone", "c-happy"]

    # `rapport scores rebuild` reads the topic back and finds the same state.
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("RAPPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("RAPPORT_GROUP_PREFIX", settings.group_prefix)
    monkeypatch.setenv("RAPPORT_TOPICS__ANNOTATED", topics.annotated)
    monkeypatch.setenv("COLUMNS", "200")
    check_rebuild(engine)


def check_latest_scores(bootstrap: str, topic: str, latest: list[ConsumerRecord]) -> None:
    """The latest-scores topic is compacted and ends, per customer, with the current state."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        admin.close()
    config = described["topic"][topic]
    assert config["cleanup.policy"]["value"] == "compact"
    last: dict[bytes, bytes | None] = {}
    sequence: dict[bytes, list[bytes | None]] = {}
    for record in latest:
        last[record.key] = record.value
        sequence.setdefault(record.key, []).append(record.value)
    assert json.loads(last[b"c-happy"] or b"")["caused_by_event_id"] == "h3"
    assert json.loads(last[b"c-gone"] or b"")["caused_by_event_id"] == "g4"
    assert None in sequence[b"c-gone"]  # the tombstone, before the fresh state
    assert sequence[b"c-gone"].index(None) == 2


def check_rebuild(engine: Engine) -> None:
    """``rapport scores rebuild`` reads the topic back and finds the same state; a damaged row
    is reported, and ``--apply`` repairs it."""
    cli = CliRunner()
    result = cli.invoke(scores_app, ["rebuild"])
    assert result.exit_code == 0, result.output
    assert "read 10 records" in result.output
    assert "no differences" in result.output
    # A damaged row is reported, and --apply repairs it.
    with engine.begin() as conn:
        conn.execute(
            store.customer_state.update()
            .where(store.customer_state.c.customer_id == "c-happy")
            .values(loyalty=1.0)
        )
    result = cli.invoke(scores_app, ["rebuild"])
    assert result.exit_code == 1
    assert "c-happy" in result.output
    assert "loyalty" in result.output
    assert cli.invoke(scores_app, ["rebuild", "--apply"]).exit_code == 0
    assert cli.invoke(scores_app, ["rebuild"]).exit_code == 0
