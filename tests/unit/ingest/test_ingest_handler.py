"""Ingest's duplicate suppression and wiring, on the in-memory broker."""

from __future__ import annotations

import random

from services.ingest.service import IngestHandler
from services.runtime.dedup import PartitionedDedup
from services.runtime.loop import ServiceRunner
from services.runtime.policy import ErrorPolicy
from services.runtime.records import TopicPartition
from services.runtime.settings import Settings
from services.runtime.testing import FakeConsumer, FakeProducer, InMemoryBroker
from tests.support.events import variant

SETTINGS = Settings(kafka_bootstrap_servers="unused:9092", topic_partitions=1)
TOPICS = SETTINGS.topics


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def make_runner(
    broker: InMemoryBroker, clock: Clock | None = None
) -> tuple[ServiceRunner, IngestHandler, FakeProducer]:
    def restore(partition: int) -> list[tuple[str, int]]:
        log = broker.logs.get(TopicPartition(TOPICS.ingest_dedup, partition), [])
        return [(s.key.decode(), int(s.value)) for s in log if s.key and s.value]

    dedup = PartitionedDedup(TOPICS.ingest_dedup, 1, 10**9, 1000, restore)
    handler = IngestHandler(SETTINGS, dedup, ErrorPolicy("ingest", TOPICS.dead_letter))
    producer = FakeProducer(broker)
    runner = ServiceRunner(
        "ingest",
        handler,
        consumer=FakeConsumer(broker, "ingest"),
        producer=producer,
        settings=SETTINGS,
        input_topics=[TOPICS.raw_interactions, TOPICS.raw_feedback],
        rng=random.Random(1),
        clock=clock or Clock(),
    )
    runner.start()
    return runner, handler, producer


def send(broker: InMemoryBroker, index: int, event_id: str) -> None:
    kind, value = variant(index, "cust-1", event_id)
    topic = TOPICS.raw_feedback if kind == "feedback" else TOPICS.raw_interactions
    broker.produce(topic, value, b"cust-1")


def canonical_ids(broker: InMemoryBroker) -> list[str]:
    import json

    return [json.loads(r.value or b"")["event_id"] for r in broker.records(TOPICS.canonical)]


def fresh_broker() -> InMemoryBroker:
    broker = InMemoryBroker(default_partitions=1)
    for topic in (TOPICS.raw_interactions, TOPICS.raw_feedback, TOPICS.ingest_dedup):
        broker.create_topic(topic, 1)
    return broker


def test_a_duplicate_in_the_same_batch_is_skipped_and_counted() -> None:
    broker = fresh_broker()
    runner, handler, _ = make_runner(broker)
    send(broker, 0, "e1")
    send(broker, 0, "e1")
    send(broker, 0, "e2")
    runner.run_once()
    assert canonical_ids(broker) == ["e1", "e2"]
    skipped = handler.duplicates.labels(TOPICS.raw_interactions)._value.get()
    assert skipped == 1


def test_the_window_survives_a_restart_through_the_changelog() -> None:
    broker = fresh_broker()
    first, _, _ = make_runner(broker)
    send(broker, 0, "e1")
    first.run_once()
    first.close()

    second, _, _ = make_runner(broker)  # a new process: empty memory, restored from the changelog
    send(broker, 0, "e1")
    send(broker, 0, "e3")
    second.run_once()
    assert canonical_ids(broker) == ["e1", "e3"]


def test_an_aborted_batch_does_not_poison_the_window() -> None:
    broker = fresh_broker()
    clock = Clock()
    runner, _, producer = make_runner(broker, clock)
    send(broker, 0, "e1")
    producer.fail_commits = 1
    runner.run_once()  # e1 seen in memory, but its transaction aborted
    assert canonical_ids(broker) == []

    clock.now += 60  # past the retry backoff
    runner.run_once()
    runner.run_once()
    assert canonical_ids(broker) == ["e1"]  # not mistaken for a duplicate of the aborted try
