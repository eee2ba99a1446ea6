"""Two tenants with identical customer and event ids through ingest, sentiment and scoring on
the real broker (issue 16): nothing dropped as a duplicate, nothing merged, keys distinct on
every topic, the latest-scores topic read back holds one record per (tenant, customer), and a
changelog entry written before the upgrade still counts for the default tenant."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from schemas import ScoreUpdate
from schemas.identity import Tenancy, TenancyMode
from services.console.view import ScoreView, Subscription, tenant_topics
from services.ingest.service import SPEC as INGEST
from services.runtime.deadletter import REASON
from services.runtime.settings import Settings
from services.scoring.service import SPEC as SCORING
from services.scoring.store import make_engine, tenant_states
from services.sentiment.service import SPEC as SENTIMENT
from tests.support.kafka import (
    create_topics,
    produce,
    read_to_end,
    running,
    service_settings,
    wait_until_consumed,
)

pytestmark = pytest.mark.kafka

CUSTOMER = "12345"


def feedback(tenant: str | None, event_id: str, text: str) -> bytes:
    document = {
        "event_id": event_id,
        "customer_id": CUSTOMER,
        "occurred_at": "2026-11-01T10:00:00Z",
        "source": "survey",
        "type": "survey_comment",
        "text": text,
    }
    if tenant is not None:
        document["tenant_id"] = tenant
    return json.dumps(document).encode()


def test_two_tenants_with_identical_ids_flow_apart(kafka_bootstrap: str, tmp_path: Path) -> None:
    settings = service_settings(
        kafka_bootstrap,
        database_url=f"sqlite:///{tmp_path / 'scores.db'}",
        tenancy=Tenancy(mode=TenancyMode.MULTI, default_tenant="acme-de"),
    )
    topics = settings.topics
    create_topics(settings)
    # What the release before tenants wrote for event "old-1": keyed by the event id alone.
    now_ms = str(int(time.time() * 1000)).encode()
    for partition in range(settings.topic_partitions):
        produce_to(kafka_bootstrap, topics.ingest_dedup, partition, b"old-1", now_ms)

    sent: list[tuple[str | None, str]] = [
        (tenant, event_id) for tenant in ("acme-de", "acme-fr") for event_id in ("1", "2", "3")
    ]
    sent += [("acme-fr", "2"), ("acme-de", "old-1"), ("acme-fr", "old-1"), (None, "4")]
    # Upstream keys by customer id alone: both tenants share one raw partition.
    produce(
        kafka_bootstrap,
        topics.raw_feedback,
        [
            (CUSTOMER.encode(), feedback(tenant, event_id, f"{tenant} says {event_id}: thanks"))
            for tenant, event_id in sent
        ],
    )
    with ExitStack() as stack:
        ingest = stack.enter_context(running(INGEST, settings))
        stack.enter_context(running(SENTIMENT, settings))
        stack.enter_context(running(SCORING, settings))
        wait_until_consumed(
            kafka_bootstrap, f"{settings.group_prefix}-ingest", [topics.raw_feedback], 120
        )
        wait_until_consumed(
            kafka_bootstrap, f"{settings.group_prefix}-sentiment", [topics.canonical], 120
        )
        wait_until_consumed(
            kafka_bootstrap, f"{settings.group_prefix}-scoring", [topics.annotated], 120
        )
        duplicates = ingest.metrics.registry.get_sample_value(
            "rapport_ingest_duplicates_total", {"topic": topics.raw_feedback}
        )

    expected = [
        (b"acme-de|12345", "1"),
        (b"acme-de|12345", "2"),
        (b"acme-de|12345", "3"),
        (b"acme-fr|12345", "1"),
        (b"acme-fr|12345", "2"),
        (b"acme-fr|12345", "3"),
        (b"acme-fr|12345", "old-1"),  # acme-de's old-1 was taken by the old release
    ]
    canonical = read_to_end(kafka_bootstrap, [topics.canonical])
    annotated = read_to_end(kafka_bootstrap, [topics.annotated])
    for records, nested in ((canonical, False), (annotated, True)):
        values = [json.loads(r.value) for r in records]
        got = [(r.key, v["event"] if nested else v) for r, v in zip(records, values, strict=True)]
        assert sorted((key, event["event_id"]) for key, event in got) == sorted(expected)
        assert all(key == f"{event['tenant_id']}|12345".encode() for key, event in got)
        # Partitioning follows the key: each (tenant, customer) on one partition, in order.
        for key in {key for key, _ in expected}:
            assert len({r.partition for r in records if r.key == key}) == 1
            in_order = [event["event_id"] for k, event in got if k == key]
            assert in_order == [e for k, e in expected if k == key]
    assert duplicates == 2  # acme-fr's retry of 2, acme-de's old-1
    letters = read_to_end(kafka_bootstrap, [topics.dead_letter])
    assert [dict(r.headers)[REASON] for r in letters] == [b"missing_tenant"]
    assert_scored_apart(kafka_bootstrap, settings, expected)


def assert_scored_apart(
    kafka_bootstrap: str, settings: Settings, expected: list[tuple[bytes, str]]
) -> None:
    """Scoring: one customer per tenant, each with its own events only."""
    topics = settings.topics
    updates = read_to_end(kafka_bootstrap, [topics.score_updates])
    by_event = [
        (r.key, ScoreUpdate.model_validate_json(r.value))
        for r in updates
        if b'"reason":"event"' in r.value
    ]
    assert sorted((key, u.caused_by_event_id) for key, u in by_event) == sorted(expected)
    assert all(key == f"{u.tenant_id}|12345".encode() for key, u in by_event)
    # The latest-scores topic as a compacted table reads it: the last record per key.
    latest = {r.key: r.value for r in read_to_end(kafka_bootstrap, [topics.scores_latest])}
    assert set(latest) == {b"acme-de|12345", b"acme-fr|12345"}
    counts = {k: ScoreUpdate.model_validate_json(v or b"").event_count for k, v in latest.items()}
    assert counts == {b"acme-de|12345": 3, b"acme-fr|12345": 4}
    # A downstream view of one tenant (`rapport watch --tenant`, the console's
    # RAPPORT_CONSOLE_TENANT) shows that tenant's customer only, with its own events.
    view = ScoreView(tenant_topics(settings, "acme-fr"))
    subscription = Subscription(kafka_bootstrap, view, "tenant-view", tenant="acme-fr").start()
    try:
        assert subscription.wait_caught_up(60), subscription.error
    finally:
        subscription.stop()
    shown = view.customers()
    assert [(u.tenant_id, u.customer_id, u.event_count) for u in shown] == [
        ("acme-fr", CUSTOMER, 4)
    ]
    engine = make_engine(settings.database_url)
    try:
        for tenant, events in (("acme-de", 3), ("acme-fr", 4)):
            assert {c: r["event_count"] for c, r in tenant_states(engine, tenant).items()} == {
                CUSTOMER: events
            }
    finally:
        engine.dispose()


def produce_to(bootstrap: str, topic: str, partition: int, key: bytes, value: bytes) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    producer.send(topic, key=key, value=value, partition=partition)
    producer.flush()
    producer.close()
