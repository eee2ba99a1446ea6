"""An ingest process on the in-memory broker, for unit tests of what survives a restart."""

from __future__ import annotations

import random

from services.ingest.service import IngestHandler
from services.runtime.dedup import PartitionedDedup, RestoreFunction
from services.runtime.loop import ServiceRunner
from services.runtime.policy import ErrorPolicy
from services.runtime.records import TopicPartition
from services.runtime.settings import Settings
from services.runtime.testing import FakeConsumer, FakeProducer, InMemoryBroker


def changelog_of(broker: InMemoryBroker, settings: Settings) -> RestoreFunction:
    """The dedup changelog as a restarted ingest reads it back from the broker."""
    topic = settings.topics.ingest_dedup

    def restore(partition: int) -> list[tuple[str, int]]:
        log = broker.logs.get(TopicPartition(topic, partition), [])
        return [(s.key.decode(), int(s.value)) for s in log if s.key and s.value]

    return restore


def fresh_broker(settings: Settings) -> InMemoryBroker:
    topics = settings.topics
    broker = InMemoryBroker(default_partitions=1)
    for topic in (topics.raw_interactions, topics.raw_feedback, topics.ingest_dedup):
        broker.create_topic(topic, 1)
    return broker


def run_ingest(broker: InMemoryBroker, settings: Settings, restore: RestoreFunction) -> None:
    """A fresh ingest process (its window restored through ``restore``) reads all there is."""
    topics = settings.topics
    dedup = PartitionedDedup(topics.ingest_dedup, 1, 10**9, 1000, restore)
    handler = IngestHandler(settings, dedup, ErrorPolicy("ingest", topics.dead_letter))
    runner = ServiceRunner(
        "ingest",
        handler,
        consumer=FakeConsumer(broker, "ingest"),
        producer=FakeProducer(broker),
        settings=settings,
        input_topics=[topics.raw_interactions, topics.raw_feedback],
        rng=random.Random(1),
        clock=lambda: 0.0,
    )
    runner.start()
    for _ in range(3):
        runner.run_once()
    runner.close()
