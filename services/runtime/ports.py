"""The narrow slice of a Kafka client the runtime needs.

The loop talks to these protocols only, so that the same loop runs against kafka-python
(``kafka_io``) and against the in-memory broker of ``services.runtime.testing``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

from services.runtime.records import InRecord, OutRecord, TopicPartition


class RebalanceListener(Protocol):
    def on_revoked(self, partitions: Collection[TopicPartition]) -> None: ...

    def on_assigned(self, partitions: Collection[TopicPartition]) -> None: ...

    def on_lost(self, partitions: Collection[TopicPartition]) -> None: ...


class ConsumerPort(Protocol):
    def subscribe(self, topics: Sequence[str], listener: RebalanceListener) -> None: ...

    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[InRecord]]: ...

    def pause(self, partitions: Collection[TopicPartition]) -> None: ...

    def resume(self, partitions: Collection[TopicPartition]) -> None: ...

    def seek(self, partition: TopicPartition, offset: int) -> None: ...

    def assignment(self) -> set[TopicPartition]: ...

    def group_metadata(self) -> object: ...

    def commit(self, offsets: Mapping[TopicPartition, int]) -> None: ...

    def commit_async(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Must not block: it is called from inside a rebalance callback."""
        ...

    def highwater(self, partition: TopicPartition) -> int | None:
        """The partition's end offset as of the last fetch, or None before the first fetch."""
        ...

    def position(self, partition: TopicPartition) -> int | None:
        """Offset of the next record the consumer will return, or None when not known.

        Past transaction markers, which the consumer steps over without returning them.
        Must not block (it is read on every loop iteration, for the lag gauge).
        """
        ...

    def close(self) -> None: ...


class ProducerPort(Protocol):
    def init_transactions(self) -> None: ...

    def begin_transaction(self) -> None: ...

    def send(self, record: OutRecord) -> None: ...

    def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group_metadata: object
    ) -> None: ...

    def commit_transaction(self) -> None:
        """Raise if any record sent in the transaction failed."""
        ...

    def abort_transaction(self) -> None: ...

    def flush(self) -> None:
        """Wait for every sent record; raise if any failed."""
        ...

    def close(self) -> None: ...
