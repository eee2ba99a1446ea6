"""Reading a topic up to its end: the one bounded reader behind changelog restores, the
dead-letter tools and ``rapport scores rebuild``.

It reads ``read_committed``, so records of aborted transactions (outputs that never became
visible) are never restored, summarised or replayed. It reads a snapshot: up to the end offsets
as of the start (or the bounds it is given), so records written meanwhile do not make it read
forever. It stops with a ``TransientError`` when the broker hands it nothing for
``stall_seconds``, instead of hanging.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaTopicPartition

from services.runtime.exceptions import TransientError
from services.runtime.kafka_io import in_record, translate_kafka_errors
from services.runtime.records import InRecord


def _consumer(
    bootstrap_servers: str, client_id: str, max_poll_records: int, **client_config: Any
) -> Any:
    # The constructor bootstraps: with the broker away it raises KafkaTimeoutError ("Unable to
    # bootstrap") after 30 s. Translated, that is a transient error the runtime retries; raw, a
    # handler restoring its changelog on a partition's first record would dead-letter that
    # record as an unexpected error (a broker restart once did exactly that in the fault tests).
    with translate_kafka_errors(f"connect to Kafka at {bootstrap_servers}"):
        return KafkaConsumer(
            **client_config,
            bootstrap_servers=bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            client_id=client_id,
            max_poll_records=max_poll_records,
        )


def log_start_offsets(
    bootstrap_servers: str, topic: str, client_id: str, **client_config: Any
) -> dict[int, int]:
    """Partition -> first offset still in the log (above 0: older records expired)."""
    consumer = _consumer(bootstrap_servers, client_id, 1, **client_config)
    try:
        with translate_kafka_errors(f"read the start offsets of {topic}"):
            partitions = [
                KafkaTopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []
            ]
            starts = consumer.beginning_offsets(partitions)
    finally:
        consumer.close()
    return {tp.partition: int(offset) for tp, offset in starts.items()}


def read_to_end(
    bootstrap_servers: str,
    topic: str,
    *,
    client_id: str,
    partitions: list[int] | None = None,
    since_ms: int | None = None,
    bounds: Mapping[int, int] | None = None,
    chunk_size: int = 500,
    stall_seconds: float = 60.0,
    **client_config: Any,
) -> Iterator[list[InRecord]]:
    """The committed records of ``topic`` (all partitions, or ``partitions``) in chunks, in
    offset order per partition, from the log start (or the first record at or after
    ``since_ms``) up to the end offsets as of now (or ``bounds``: partition -> exclusive end).
    """
    consumer = _consumer(bootstrap_servers, client_id, chunk_size, **client_config)
    try:
        with translate_kafka_errors(f"read {topic}"):
            numbers = partitions
            if numbers is None:
                numbers = sorted(consumer.partitions_for_topic(topic) or [])
            tps = [KafkaTopicPartition(topic, p) for p in numbers]
            if not tps:
                return
            consumer.assign(tps)
            ends = (
                {tp: bounds.get(tp.partition, 0) for tp in tps}
                if bounds is not None
                else consumer.end_offsets(tps)
            )
            if since_ms is None:
                consumer.seek_to_beginning(*tps)
            else:
                found = consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
                for tp in tps:
                    consumer.seek(tp, found[tp].offset if found.get(tp) else ends[tp])
        # Control records of transactions take offsets too: a partition is done when the
        # position, not the last record handed to us, reaches its end.
        remaining = {tp for tp in tps if _position(consumer, tp) < ends[tp]}
        last_progress = time.monotonic()
        while remaining:
            with translate_kafka_errors(f"read {topic}"):
                polled = consumer.poll(timeout_ms=500)
            for ktp, records in polled.items():
                chunk = [in_record(r) for r in records if r.offset < ends[ktp]]
                if chunk:
                    last_progress = time.monotonic()
                    yield chunk
            for ktp in list(remaining):
                if _position(consumer, ktp) >= ends[ktp]:
                    remaining.discard(ktp)
                    last_progress = time.monotonic()
            if remaining and time.monotonic() - last_progress > stall_seconds:
                raise TransientError(
                    f"reading {topic} made no progress for {stall_seconds:g}s "
                    f"({len(remaining)} partitions unfinished)"
                )
    finally:
        consumer.close()


def _position(consumer: Any, tp: KafkaTopicPartition) -> int:
    with translate_kafka_errors(f"position of {tp.topic}:{tp.partition}"):
        return int(consumer.position(tp))
