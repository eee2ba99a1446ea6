"""Ingest exports the dedup window's early evictions: ids its size cap pushed out."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry

from services.ingest.service import IngestHandler
from services.runtime.dedup import PartitionedDedup
from services.runtime.loop import ServiceRunner
from services.runtime.policy import ErrorPolicy
from services.runtime.settings import Settings
from services.runtime.testing import FakeConsumer, FakeProducer, InMemoryBroker
from tests.support.events import variant

SETTINGS = Settings(kafka_bootstrap_servers="unused:9092", topic_partitions=1)
TOPICS = SETTINGS.topics


def test_size_cap_evictions_are_counted() -> None:
    broker = InMemoryBroker(default_partitions=1)
    dedup = PartitionedDedup(TOPICS.ingest_dedup, 1, 10**9, 2, restore=lambda _: [])
    handler = IngestHandler(SETTINGS, dedup, ErrorPolicy("ingest", TOPICS.dead_letter))
    registry = CollectorRegistry()
    handler.register_metrics(registry)
    runner = ServiceRunner(
        "ingest",
        handler,
        consumer=FakeConsumer(broker, "ingest"),
        producer=FakeProducer(broker),
        settings=SETTINGS,
        input_topics=[TOPICS.raw_interactions, TOPICS.raw_feedback],
        rng=random.Random(1),
    )
    runner.start()
    for index in range(5):
        kind, value = variant(0, "cust-1", f"ev-{index}")
        topic = TOPICS.raw_feedback if kind == "feedback" else TOPICS.raw_interactions
        broker.produce(topic, value, b"cust-1")
    runner.run_once()
    assert registry.get_sample_value("rapport_ingest_dedup_evictions_total") == 3
    assert registry.get_sample_value("rapport_ingest_dedup_ids") == 2
