"""An in-memory Kafka for fast unit tests of the runtime and of service wiring.

It models what the runtime's guarantees depend on: per-partition logs with offsets, key-hash
partitioning, transactions whose records become visible only on commit (read_committed),
committed group offsets, pause/resume/seek and rebalance callbacks. It is a test double, never
the proof that a feature works against Kafka: integration tests use a real broker.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from services.runtime.exceptions import FatalError, TransientError
from services.runtime.ports import RebalanceListener
from services.runtime.records import Headers, InRecord, OutRecord, TopicPartition


@dataclass
class _Stored:
    key: bytes | None
    value: bytes | None
    headers: Headers


@dataclass
class InMemoryBroker:
    default_partitions: int = 3
    logs: dict[TopicPartition, list[_Stored]] = field(default_factory=dict)
    partitions: dict[str, int] = field(default_factory=dict)
    group_offsets: dict[tuple[str, TopicPartition], int] = field(default_factory=dict)

    def create_topic(self, topic: str, partitions: int | None = None) -> None:
        if topic not in self.partitions:
            self.partitions[topic] = partitions or self.default_partitions
            for p in range(self.partitions[topic]):
                self.logs[TopicPartition(topic, p)] = []

    def partition_for(self, topic: str, key: bytes | None) -> int:
        self.create_topic(topic)
        return zlib.crc32(key or b"") % self.partitions[topic]

    def append(self, topic: str, record: OutRecord, partition: int | None = None) -> int:
        self.create_topic(topic)
        p = self.partition_for(topic, record.key) if partition is None else partition
        log = self.logs[TopicPartition(topic, p)]
        log.append(_Stored(record.key, record.value, list(record.headers)))
        return len(log) - 1

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        headers: Headers | None = None,
    ) -> None:
        """Write a record as an upstream system would (no transaction)."""
        self.append(topic, OutRecord(topic, key, value, headers or []))

    def records(self, topic: str) -> list[InRecord]:
        """Every committed record of a topic, partition by partition."""
        self.create_topic(topic)
        return [
            InRecord(topic, p, offset, s.key, s.value, s.headers)
            for p in range(self.partitions[topic])
            for offset, s in enumerate(self.logs[TopicPartition(topic, p)])
        ]

    def committed(self, group: str, tp: TopicPartition) -> int | None:
        return self.group_offsets.get((group, tp))


class FakeConsumer:
    """One member of a group that owns every partition of its topics (no real group protocol)."""

    def __init__(self, broker: InMemoryBroker, group_id: str) -> None:
        self.broker = broker
        self.group_id = group_id
        self._topics: list[str] = []
        self._listener: RebalanceListener | None = None
        self._assigned: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}
        self._paused: set[TopicPartition] = set()
        self._pending_rebalance = True
        self.generation = 0
        self.closed = False
        self.commits: list[dict[TopicPartition, int]] = []

    def subscribe(self, topics: Sequence[str], listener: RebalanceListener) -> None:
        self._topics = list(topics)
        self._listener = listener
        for topic in topics:
            self.broker.create_topic(topic)

    def rebalance(self) -> None:
        """Revoke and re-assign everything on the next poll, as an eager rebalance does."""
        self._pending_rebalance = True

    def _maybe_rebalance(self) -> None:
        if not self._pending_rebalance or self._listener is None:
            return
        self._pending_rebalance = False
        if self._assigned:
            self._listener.on_revoked(sorted(self._assigned))
        self.generation += 1
        self._assigned = {
            TopicPartition(t, p) for t in self._topics for p in range(self.broker.partitions[t])
        }
        self._paused.clear()
        self._positions = {
            tp: self.broker.committed(self.group_id, tp) or 0 for tp in self._assigned
        }
        self._listener.on_assigned(sorted(self._assigned))

    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[InRecord]]:
        self._maybe_rebalance()
        result: dict[TopicPartition, list[InRecord]] = {}
        budget = max_records
        for tp in sorted(self._assigned - self._paused):
            log = self.broker.logs[tp]
            start = self._positions[tp]
            taken = log[start : start + budget]
            if taken:
                result[tp] = [
                    InRecord(tp.topic, tp.partition, start + i, s.key, s.value, s.headers)
                    for i, s in enumerate(taken)
                ]
                self._positions[tp] = start + len(taken)
                budget -= len(taken)
            if budget <= 0:
                break
        return result

    def pause(self, partitions: Collection[TopicPartition]) -> None:
        self._paused |= set(partitions)

    def resume(self, partitions: Collection[TopicPartition]) -> None:
        self._paused -= set(partitions)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self._positions[partition] = offset

    def assignment(self) -> set[TopicPartition]:
        return set(self._assigned)

    def group_metadata(self) -> object:
        return (self.group_id, self.generation)

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))
        for tp, offset in offsets.items():
            self.broker.group_offsets[(self.group_id, tp)] = offset

    def commit_async(self, offsets: Mapping[TopicPartition, int]) -> None:
        self.commit(offsets)

    def highwater(self, partition: TopicPartition) -> int | None:
        return len(self.broker.logs[partition])

    def position(self, partition: TopicPartition) -> int | None:
        return self._positions.get(partition)

    def close(self) -> None:
        if self._listener is not None and self._assigned:
            self._listener.on_revoked(sorted(self._assigned))
        self._assigned = set()
        self.closed = True


class FakeProducer:
    """Transactional producer: records and offsets land together on commit, or not at all.

    Set ``fail_commits`` to make the next N commits (or flushes) raise ``TransientError``.
    """

    def __init__(self, broker: InMemoryBroker, transactional: bool = True) -> None:
        self.broker = broker
        self.transactional = transactional
        self.initialized = False
        self._in_transaction = False
        self._buffer: list[OutRecord] = []
        self._offsets: tuple[object, dict[TopicPartition, int]] | None = None
        self.fail_commits = 0
        self.fenced = False
        self.committed_transactions = 0
        self.aborted_transactions = 0
        self.closed = False

    def init_transactions(self) -> None:
        self.initialized = True

    def begin_transaction(self) -> None:
        if not self.initialized or self._in_transaction:
            raise RuntimeError("begin_transaction in the wrong state")
        self._in_transaction = True

    def send(self, record: OutRecord) -> None:
        if self.transactional and not self._in_transaction:
            raise RuntimeError("transactional send outside a transaction")
        self._buffer.append(record)

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group_metadata: object
    ) -> None:
        self._offsets = (group_metadata, dict(offsets))

    def commit_transaction(self) -> None:
        if self.fenced:
            raise FatalError("fenced")
        if self.fail_commits:
            self.fail_commits -= 1
            raise TransientError("injected commit failure")
        for record in self._buffer:
            self.broker.append(record.topic, record, record.partition)
        if self._offsets is not None:
            metadata, offsets = self._offsets
            group = metadata[0] if isinstance(metadata, tuple) else str(metadata)
            for tp, offset in offsets.items():
                self.broker.group_offsets[(group, tp)] = offset
        self._reset()
        self.committed_transactions += 1

    def abort_transaction(self) -> None:
        self._reset()
        self.aborted_transactions += 1

    def _reset(self) -> None:
        self._buffer.clear()
        self._offsets = None
        self._in_transaction = False

    def flush(self) -> None:
        if self.fail_commits:
            self.fail_commits -= 1
            self._buffer.clear()  # like a send that timed out: lost, so the input is re-read
            raise TransientError("injected flush failure")
        for record in self._buffer:
            self.broker.append(record.topic, record, record.partition)
        self._buffer.clear()

    def close(self) -> None:
        self.closed = True
