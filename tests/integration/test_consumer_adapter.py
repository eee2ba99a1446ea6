"""The runtime's consumer adapter on the session's real broker: what it promises the loop."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection

import pytest
from kafka import KafkaProducer

from services.runtime.kafka_io import KafkaConsumerAdapter, ensure_topics
from services.runtime.records import TopicPartition
from tests.support.kafka import unique_prefix

pytestmark = pytest.mark.kafka


class _NoRebalanceWork:
    def on_assigned(self, partitions: Collection[TopicPartition]) -> None:
        pass

    def on_revoked(self, partitions: Collection[TopicPartition]) -> None:
        pass

    def on_lost(self, partitions: Collection[TopicPartition]) -> None:
        pass


def test_a_partition_paused_with_fetched_records_flows_again_once_resumed(
    kafka_bootstrap: str,
) -> None:
    """The loop's backoff: pause a partition while records fetched for it are still buffered,
    let the other partition drain, rewind and resume. kafka-python 3.0 kept such a partition's
    buffered records parked for good and never fetched it again (seen after a broker restart)."""
    prefix = unique_prefix()
    topic = f"{prefix}paused"
    ensure_topics(kafka_bootstrap, [topic], 2)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for partition in (0, 1):
        for i in range(20):
            producer.send(topic, value=f"{partition}-{i}".encode(), partition=partition)
    producer.flush()
    producer.close()

    consumer = KafkaConsumerAdapter(kafka_bootstrap, f"{prefix}group", f"{prefix}client")
    try:
        consumer.subscribe([topic], _NoRebalanceWork())
        received: Counter[int] = Counter()

        def poll_once() -> list[TopicPartition]:
            polled = consumer.poll(200, 1)  # one record at a time: the rest stays buffered
            for tp, records in polled.items():
                received[tp.partition] += len(records)
            return list(polled)

        deadline = time.monotonic() + 60
        first: TopicPartition | None = None
        while first is None and time.monotonic() < deadline:
            first = next(iter(poll_once()), None)
        assert first is not None, "nothing fetched"
        other = TopicPartition(topic, 1 - first.partition)
        consumer.pause([first])
        while received[other.partition] < 20 and time.monotonic() < deadline:
            poll_once()
        assert received[other.partition] == 20
        for _ in range(3):  # the fetcher's in-line slot now holds the drained batch
            poll_once()

        consumer.seek(first, received[first.partition])  # the loop rewinds, then resumes
        consumer.resume([first])
        while received[first.partition] < 20 and time.monotonic() < deadline:
            poll_once()
        assert received[first.partition] == 20
    finally:
        consumer.close()
