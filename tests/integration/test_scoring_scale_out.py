"""Three scoring instances (subprocesses) share the partitions of the annotated topic; one is
killed with SIGKILL mid-stream and restarted, instances join while the stream flows
(rebalances). The database ends exactly where a single-process fold of the same events ends,
and every output is published exactly once (read_committed)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaTopicPartition
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from schemas import AnnotatedEvent
from services.localkafka.broker import free_port
from services.runtime.kafka_io import ensure_topics
from services.runtime.settings import Settings
from services.runtime.topic_configs import merged_configs
from services.scoring import store
from services.scoring.model import ScoringConfig
from services.scoring.rebuild import KafkaSource
from services.scoring.service import SPEC
from tests.integration.test_crash_recovery import service_env, uncommitted_count
from tests.support.kafka import create_topics, produce, read_committed, service_settings
from tests.unit.scoring.events import T0, annotated, encode, mixed_stream
from tests.unit.scoring.reference import assert_state_rows_match, reference_fold

pytestmark = pytest.mark.kafka

CUSTOMERS = 200
EVENTS = 3000
PARTITIONS = 6


def stream() -> list[AnnotatedEvent]:
    events = mixed_stream(CUSTOMERS, EVENTS, seed=11, duplicates=60)
    # Erasures in the middle, with events of the same customers before and after them.
    for n, customer in enumerate(["cust-0003", "cust-0042", "cust-0101"]):
        position = len(events) // 2 + 100 * n
        events.insert(
            position,
            annotated(
                "erasure_request",
                customer,
                f"erase-{n}",
                T0 + timedelta(days=20),
                request_id=f"ER-{n}",
            ),
        )
    return events


class Instance:
    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**env, "RAPPORT_INSTANCE_ID": name, "RAPPORT_HTTP_PORT": str(self.port)}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", "scoring"], env=self.env
        )

    def metric(self, name: str) -> float:
        """Sum of a metric's samples on the instance's /metrics (0 before it serves)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return 0.0
        values = [float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)]
        return sum(values)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def read_partitions(bootstrap: str, topic: str) -> list[list[bytes]]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        tps = [KafkaTopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = {tp.partition: int(o) for tp, o in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()
    source = KafkaSource(bootstrap, topic)
    return [
        [r.value or b"" for chunk in source.chunks(p, ends[p]) for r in chunk]
        for p in range(PARTITIONS)
    ]


def processed_count(settings: Settings) -> int:
    engine = store.make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return len(conn.execute(select(store.processed_events.c.event_id)).all())
    except DBAPIError:
        return 0  # the service has not created its tables yet
    finally:
        engine.dispose()


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def instances(kafka_bootstrap: str, database_url: str) -> Iterator[tuple[Settings, list[Instance]]]:
    settings = service_settings(kafka_bootstrap, database_url, topic_partitions=PARTITIONS)
    ensure_topics(
        kafka_bootstrap,
        [settings.topics.scores_latest],
        PARTITIONS,
        merged_configs(settings, SPEC.topic_configs(settings)),
    )
    create_topics(settings)
    env = service_env(settings) | {
        "RAPPORT_TOPIC_PARTITIONS": str(PARTITIONS),
        "RAPPORT_MAX_POLL_RECORDS": "20",
        "RAPPORT_SESSION_TIMEOUT_MS": "10000",
    }
    started = [Instance(f"{settings.instance_id}-{n}", env) for n in range(3)]
    try:
        yield settings, started
    finally:
        for instance in started:
            if instance.proc is not None and instance.proc.poll() is None:
                instance.proc.kill()
                instance.proc.wait()


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_three_instances_one_killed_mid_stream_equal_a_single_fold(
    kafka_bootstrap: str, instances: tuple[Settings, list[Instance]]
) -> None:
    settings, (first, second, third) = instances
    topics = settings.topics
    events = stream()
    records = [(e.event.customer_id.encode(), encode(e)) for e in events]
    head = len(records) // 10
    first.start()
    produce(kafka_bootstrap, topics.annotated, records[:head])

    # The others join while the first is working: the group rebalances mid-stream. The second
    # 90% is sent only once they own partitions, so the second instance surely has work to do
    # (and to be killed in) however fast the first one was.
    wait_for(lambda: processed_count(settings) > 0, 120, "the first instance to start")
    second.start()
    third.start()
    wait_for(
        lambda: second.metric("rapport_assigned_partitions") > 0,
        120,
        "the second instance to own partitions",
    )
    produce(kafka_bootstrap, topics.annotated, records[head:])
    config = ScoringConfig.load()
    ref = reference_fold(read_partitions(kafka_bootstrap, topics.annotated), config)
    expected_updates = len(ref.updates)
    # Killed as soon as it is working on records: possibly in the middle of a batch, between
    # its database commit and its Kafka commit.
    wait_for(
        lambda: second.metric("rapport_records_in_total") > 0,
        120,
        "the second instance to receive records",
    )
    done_at_kill = processed_count(settings)
    published_at_kill = uncommitted_count(kafka_bootstrap, topics.score_updates)
    second.kill()
    print(
        f"\nSIGKILL of {second.name} with {done_at_kill} of {expected_updates} events applied "
        f"and {published_at_kill} score-update records written (committed or not)"
    )
    assert 0 < done_at_kill < expected_updates, "the kill must land mid-stream"
    second.start()  # same instance id: takes its partitions back, fences its predecessor

    updates = read_committed(
        kafka_bootstrap, [topics.score_updates], expected=expected_updates, timeout=240, settle=3
    )
    wait_for(lambda: processed_count(settings) == len(ref.processed), 60, "the database")
    alerts = read_committed(kafka_bootstrap, [topics.alerts], expected=len(ref.alerts), settle=2)
    erasures = read_committed(kafka_bootstrap, [topics.erasure_completed], expected=3, settle=1)
    assert [instance.stop() for instance in (first, second, third)] == [0, 0, 0]

    # Every score update exactly once, byte-identical in content to the single fold's.
    assert len(updates) == expected_updates
    assert sorted(r.value for r in updates) == sorted(
        u.model_dump_json().encode() for u in ref.updates
    )
    # No alert twice; the same alerts as the single fold.
    keys = [(json.loads(r.value)["alert_id"], json.loads(r.value)["state"]) for r in alerts]
    assert Counter(keys).most_common(1)[0][1] == 1, "an alert was published twice"
    assert sorted(keys) == sorted((a.alert_id, a.state.value) for a in ref.alerts)
    assert sorted(json.loads(r.value)["request_id"] for r in erasures) == ["ER-0", "ER-1", "ER-2"]

    # The database equals the single-process fold: states (1e-9), scores, processed ids.
    engine = store.make_engine(settings.database_url)
    assert_state_rows_match(store.tenant_states(engine), ref, rel_tol=1e-9)
    assert store.tenant_processed(engine) == ref.processed
    with engine.connect() as conn:
        trackers = {r.customer_id: r.tracker for r in conn.execute(select(store.alert_state))}
        alert_rows = conn.execute(select(store.alerts.c.alert_id)).all()
        history = conn.execute(select(store.score_history.c.event_id)).all()
    assert trackers == {c: rec.tracker.to_json() for c, rec in ref.records.items()}
    assert {r.alert_id for r in alert_rows} == set().union(*ref.alert_ids.values())
    assert len(history) == sum(rec.state.event_count for rec in ref.records.values())
    engine.dispose()
