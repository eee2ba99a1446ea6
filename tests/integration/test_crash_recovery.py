"""A service killed with SIGKILL mid-stream and restarted: every output exactly once in
read_committed view."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer
from sqlalchemy import create_engine

from schemas import AnnotatedEvent, CanonicalEvent, EventKind, Sentiment
from services.runtime.settings import Settings
from services.scoring import store
from tests.support.kafka import create_topics, produce, read_committed, service_settings

pytestmark = pytest.mark.kafka

N_EVENTS = 3000


def service_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers or "",
            "RAPPORT_GROUP_PREFIX": settings.group_prefix,
            "RAPPORT_INSTANCE_ID": settings.instance_id,
            "RAPPORT_DATABASE_URL": settings.database_url,
            "RAPPORT_HTTP_PORT": "0",
            # Many small transactions, so that the kill lands between and inside them.
            "RAPPORT_MAX_POLL_RECORDS": "50",
            "RAPPORT_LOG_LEVEL": "WARNING",
        }
    )
    for name, topic in settings.topics.model_dump().items():
        env[f"RAPPORT_TOPICS__{name.upper()}"] = topic
    return env


def start(service: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "services.cli", "run", service], env=env)


def uncommitted_count(bootstrap: str, topic: str) -> int:
    """Records written so far, including those of open transactions."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        isolation_level="read_uncommitted",
        enable_auto_commit=False,
    )
    consumer.poll(timeout_ms=500)
    total = sum(consumer.end_offsets(list(consumer.assignment())).values())
    consumer.close()
    return int(total)


def kill_mid_stream(bootstrap: str, output_topic: str, proc: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        written = uncommitted_count(bootstrap, output_topic)
        if written > 0:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return written
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the service produced nothing within 60 s")


def canonical(i: int) -> CanonicalEvent:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    return CanonicalEvent(
        event_id=f"ev-{i}",
        customer_id=f"cust-{i % 97}",
        occurred_at=now,
        ingested_at=now,
        kind=EventKind.FEEDBACK,
        source="survey",
        type="survey_comment",
        text=f"Order {i} arrived late, but support was really helpful.",
    )


@pytest.mark.parametrize("service", ["sentiment", "scoring"])
def test_sigkill_mid_stream_then_restart_yields_every_output_exactly_once(
    kafka_bootstrap: str, tmp_path: object, service: str, database_url: str
) -> None:
    if service == "sentiment" and "postgresql" in database_url:
        pytest.skip("sentiment keeps no database state")
    settings = service_settings(kafka_bootstrap, database_url)
    topics = settings.topics
    if service == "sentiment":
        source, sink = topics.canonical, topics.annotated
        values = [canonical(i).model_dump_json().encode() for i in range(N_EVENTS)]
    else:
        source, sink = topics.annotated, topics.score_updates
        values = [
            AnnotatedEvent(
                event=canonical(i),
                annotated=True,
                sentiment=Sentiment(compound=0.5),
                model_version="test",
            )
            .model_dump_json()
            .encode()
            for i in range(N_EVENTS)
        ]
    create_topics(settings)
    env = service_env(settings)
    first = start(service, env)
    produce(kafka_bootstrap, source, [(f"cust-{i % 97}".encode(), v) for i, v in enumerate(values)])

    written_before_kill = kill_mid_stream(kafka_bootstrap, sink, first)
    second = start(service, env)
    try:
        outputs = read_committed(
            kafka_bootstrap, [sink], expected=N_EVENTS, timeout=120, settle=2.0
        )
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0  # graceful shutdown exits cleanly

    assert 0 < written_before_kill < N_EVENTS, "the kill must land mid-stream"
    ids = [
        json.loads(r.value)["event"]["event_id"]
        if service == "sentiment"
        else json.loads(r.value)["caused_by_event_id"]
        for r in outputs
    ]
    assert len(ids) == N_EVENTS
    assert sorted(ids) == sorted(f"ev-{i}" for i in range(N_EVENTS))
    if service == "scoring":
        engine = create_engine(database_url)
        states = store.tenant_states(engine)
        assert sum(s["event_count"] for s in states.values()) == N_EVENTS
        assert len(store.tenant_processed(engine)) == N_EVENTS
