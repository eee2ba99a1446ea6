"""Reading and writing topics of the session's real broker from tests."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord

from services.runtime.kafka_io import ensure_topics
from services.runtime.loop import ServiceRunner
from services.runtime.service import ServiceSpec, build_runner
from services.runtime.settings import Settings, Topics
from services.runtime.topic_configs import topic_configs


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


def service_settings(
    bootstrap: str, database_url: str = "sqlite://", **overrides: object
) -> Settings:
    prefix = unique_prefix()
    values: dict[str, object] = {
        "kafka_bootstrap_servers": bootstrap,
        "topics": Topics().with_prefix(prefix),
        "group_prefix": prefix.rstrip("."),
        "instance_id": prefix.rstrip("."),
        "database_url": database_url,
        "poll_timeout_ms": 100,
        "retry_initial_seconds": 0.2,
        "retry_max_seconds": 2.0,
        # An in-memory SQLite database is not durable; fine for a test that never restarts it.
        "accept_non_durable_database": database_url == "sqlite://",
    }
    values.update(overrides)
    return Settings.model_validate(values)


def create_topics(settings: Settings) -> None:
    """Upstream must not write before the topics exist (the broker does not auto-create)."""
    assert settings.kafka_bootstrap_servers
    ensure_topics(
        settings.kafka_bootstrap_servers,
        list(settings.topics.model_dump().values()),
        settings.topic_partitions,
        topic_configs(settings),
    )


def produce(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes | None]]
) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    for key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def read_committed(
    bootstrap: str,
    topics: list[str],
    expected: int,
    timeout: float = 60.0,
    settle: float = 1.0,
) -> list[ConsumerRecord]:
    """Every record visible to a read_committed reader, waiting until ``expected`` arrived and
    then ``settle`` seconds more, so that unexpected extra records (duplicates) are seen too."""
    consumer = KafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    settle_until: float | None = None
    try:
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
            if len(records) >= expected:
                settle_until = settle_until or time.monotonic() + settle
                if time.monotonic() >= settle_until:
                    break
    finally:
        consumer.close()
    return records


@contextmanager
def running(spec: ServiceSpec, settings: Settings) -> Iterator[ServiceRunner]:
    """A service's runner in a thread of the test process (faster than a subprocess)."""
    runner = build_runner(spec, settings)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            runner.run()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name=f"runner-{spec.name}", daemon=True)
    thread.start()
    try:
        yield runner
    finally:
        runner.stop()
        thread.join(60)
    if errors:
        raise errors[0]


def wait_until_consumed(
    bootstrap: str, group: str, topics: list[str], timeout: float = 300.0
) -> None:
    """Until ``group`` has committed past the last record of ``topics``: then all outputs of
    those inputs are committed too (they share the transaction)."""
    from kafka import TopicPartition as KafkaTopicPartition

    # Not the end offsets: on a transactional topic the last offset is a commit marker, which
    # a consumer never "consumes", so its committed offset stops one short of the end.
    targets: dict[KafkaTopicPartition, int] = {}
    for record in read_to_end(bootstrap, topics):
        tp = KafkaTopicPartition(record.topic, record.partition)
        targets[tp] = max(targets.get(tp, 0), record.offset + 1)
    # A consumer with the group's id reads its committed offsets without joining the group.
    probe = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all((probe.committed(tp) or 0) >= target for tp, target in targets.items()):
                return
            time.sleep(0.3)
        raise TimeoutError(f"{group} did not consume {topics} within {timeout}s")
    finally:
        probe.close()


def read_to_end(bootstrap: str, topics: list[str], timeout: float = 120.0) -> list[ConsumerRecord]:
    """Every committed record of ``topics`` up to their end offsets as of now."""
    from kafka import TopicPartition as KafkaTopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    records: list[ConsumerRecord] = []
    try:
        partitions = [
            KafkaTopicPartition(t, p)
            for t in topics
            for p in consumer.partitions_for_topic(t) or []
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topics} to the end within {timeout}s")
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records
