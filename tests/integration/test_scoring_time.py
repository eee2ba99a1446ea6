"""Time as an input on a real broker: an idle partition gets a recorded tick in scoring's own
ticks topic (never in the annotated topic, which subscribers read), the tick comes back,
moves the watermark, and the idle customer's ``reason: time`` update is published exactly once
next to an ``applied`` record that a rebuild follows (issue 17)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from schemas import AnnotatedEvent, CanonicalEvent, EventKind
from services.scoring import rebuild
from services.scoring.service import SPEC
from services.scoring.watermark import APPLIED, TICK, TICK_HEADER
from tests.support.kafka import create_topics, produce, read_committed, running, service_settings

pytestmark = pytest.mark.kafka


def _purchase(customer: str, event_id: str, at: datetime) -> bytes:
    event = CanonicalEvent(
        event_id=event_id,
        customer_id=customer,
        occurred_at=at,
        ingested_at=at,
        kind=EventKind.INTERACTION,
        source="shop",
        type="purchase",
    )
    return (
        AnnotatedEvent(event=event, annotated=False, model_version="test")
        .model_dump_json()
        .encode()
    )


def test_an_idle_partition_is_ticked_and_its_customer_updated_by_time(
    kafka_bootstrap: str, database_url: str
) -> None:
    settings = service_settings(
        kafka_bootstrap,
        database_url,
        topic_partitions=1,
        scoring={"idle_tick_seconds": 1.0},
    )
    topics = settings.topics
    create_topics(settings)
    # One purchase 200 days ago, then nothing: only the wall clock can move the watermark.
    long_ago = datetime.now(UTC) - timedelta(days=200)
    produce(kafka_bootstrap, topics.annotated, [(b"c1", _purchase("c1", "p1", long_ago))])
    with running(SPEC, settings):
        updates = read_committed(kafka_bootstrap, [topics.score_updates], expected=2, settle=3.0)
    reasons = [json.loads(r.value)["reason"] for r in updates]
    assert reasons[0] == "event"
    assert "time" in reasons[1:]
    keys = [
        (json.loads(r.value)["customer_id"], json.loads(r.value)["caused_by_event_id"])
        for r in updates
    ]
    assert len(keys) == len(set(keys))
    annotated = read_committed(kafka_bootstrap, [topics.annotated], expected=1, settle=0.5)
    assert len(annotated) == 1
    assert not any(dict(r.headers).get(TICK_HEADER) for r in annotated)
    ticks = read_committed(kafka_bootstrap, [topics.scoring_ticks], expected=2, settle=0.5)
    kinds = [dict(r.headers).get(TICK_HEADER) for r in ticks]
    assert TICK in kinds
    assert APPLIED in kinds
    # The applied record says where: after the partition's one record (offset 1).
    applied = rebuild.applied_ticks_on(kafka_bootstrap, topics.scoring_ticks)
    assert applied[0][0][0] == 1
