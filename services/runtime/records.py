"""The runtime's view of Kafka records, independent of the client library."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, runtime_checkable

from prometheus_client import CollectorRegistry

Headers = list[tuple[str, bytes]]


class TopicPartition(NamedTuple):
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class InRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)
    timestamp_ms: int = 0

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)

    def header(self, name: str) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)


@dataclass(frozen=True, slots=True)
class OutRecord:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)
    # None: the producer's key-hash partitioner decides. Set for changelogs, which must be
    # co-partitioned with the input they describe.
    partition: int | None = None


@dataclass(frozen=True, slots=True)
class PartitionBatch:
    """Consecutive records of one partition, as one poll returned them."""

    tp: TopicPartition
    records: Sequence[InRecord]

    @property
    def first_offset(self) -> int:
        return self.records[0].offset

    @property
    def next_offset(self) -> int:
        """The offset to commit once the batch is done: Kafka commits the *next* record to read."""
        return self.records[-1].offset + 1


class BatchHandler(Protocol):
    """What a service plugs into the runtime.

    Return every record to produce for the batch (outputs and dead letters alike). Raise
    ``TransientError`` to have the whole batch retried later; ``PermanentError`` for one record
    should be turned into a dead letter by the handler (see ``RecordHandler``), so that one bad
    record never blocks the good ones after it.
    """

    def handle_batch(self, batch: PartitionBatch) -> list[OutRecord]: ...


@runtime_checkable
class MetricsAware(Protocol):
    """A handler with metrics of its own, served on the service's /metrics."""

    def register_metrics(self, registry: CollectorRegistry) -> None: ...


@runtime_checkable
class PartitionStateHandler(Protocol):
    """A handler that keeps state per input partition (e.g. a deduplication window).

    The runtime calls ``reset_partitions`` whenever that state may be ahead of what is
    committed: on revoke and loss (another instance owns the partition now) and when a batch is
    rewound after a failure (its effects were never committed). The handler drops the state and
    rebuilds it from its committed source before the partition's next batch.
    """

    def reset_partitions(self, partitions: Collection[TopicPartition]) -> None: ...


@runtime_checkable
class DeadLetterSink(Protocol):
    """A handler that must keep a dead letter in its own state rather than have the runtime
    produce it directly.

    Scoring publishes only from its outbox, so that a replayed batch re-publishes exactly what
    it applied: a dead letter the runtime produced on its own could be lost by a crash between
    the database commit and the Kafka commit. The runtime calls this when it has isolated a
    record that makes the whole batch fail; it returns what to produce for that record.
    """

    def persist_dead_letter(self, record: InRecord, letter: OutRecord) -> list[OutRecord]: ...
