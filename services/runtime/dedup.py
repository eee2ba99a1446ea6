"""Duplicate suppression by event id, within a time window, per input partition.

Upstream systems retry, so the same event id arrives more than once. Each input partition keeps
the ids it has seen in memory, bounded by a window and a size cap. The ids are also written to a
compacted changelog topic, co-partitioned with the input, in the same Kafka transaction as the
outputs: the changelog holds exactly the ids whose outputs were committed, so restoring from it
(read_committed) after a restart, rebalance or rewind can neither forget a committed id nor
remember one whose output was aborted.

An "id" here is whatever string the service gives: ingest gives the event's identity,
``schemas.identity.event_identity`` (the event id, or tenant|event id in a multi-tenant
deployment), so two tenants' event ``1`` are two events.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable

from services.runtime.records import OutRecord, TopicPartition

# (event id, record timestamp in ms) pairs of one changelog partition, oldest first.
RestoreFunction = Callable[[int], Iterable[tuple[str, int]]]


class DedupWindow:
    """Event ids seen within ``window_ms`` of the newest timestamp, at most ``max_entries``.

    Timestamps are Kafka record timestamps, not the wall clock, so that a replay of the same
    records makes the same decisions.
    """

    def __init__(self, window_ms: int, max_entries: int) -> None:
        self._window_ms = window_ms
        self._max_entries = max_entries
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._newest = 0
        self.evicted_by_size = 0

    def __len__(self) -> int:
        return len(self._seen)

    def check_and_add(self, event_id: str, timestamp_ms: int) -> bool:
        """True if ``event_id`` was seen within the window (a duplicate); else remember it."""
        self._newest = max(self._newest, timestamp_ms)
        self._evict()
        if event_id in self._seen:
            return True
        self._seen[event_id] = timestamp_ms
        if len(self._seen) > self._max_entries:
            # The cap bounds memory whatever the rate; an id evicted early can slip through as a
            # duplicate, which the metric makes visible.
            self._seen.popitem(last=False)
            self.evicted_by_size += 1
        return False

    def _evict(self) -> None:
        horizon = self._newest - self._window_ms
        # Insertion order is nearly timestamp order within a partition; an out-of-order old id
        # stays until the ids before it expire, which only errs on the side of remembering.
        while self._seen:
            event_id, timestamp = next(iter(self._seen.items()))
            if timestamp >= horizon:
                break
            del self._seen[event_id]


class PartitionedDedup:
    """One ``DedupWindow`` per input partition, restored lazily from the changelog."""

    def __init__(
        self,
        changelog_topic: str,
        changelog_partitions: int,
        window_ms: int,
        max_entries_per_partition: int,
        restore: RestoreFunction,
    ) -> None:
        self.changelog_topic = changelog_topic
        self._changelog_partitions = changelog_partitions
        self._window_ms = window_ms
        self._max_entries = max_entries_per_partition
        self._restore = restore
        self._windows: dict[TopicPartition, DedupWindow] = {}

    def changelog_partition(self, tp: TopicPartition) -> int:
        return tp.partition % self._changelog_partitions

    def is_duplicate(self, tp: TopicPartition, event_id: str, timestamp_ms: int) -> bool:
        return self._window(tp).check_and_add(event_id, timestamp_ms)

    def changelog_record(self, tp: TopicPartition, event_id: str, timestamp_ms: int) -> OutRecord:
        return OutRecord(
            self.changelog_topic,
            event_id.encode(),
            str(timestamp_ms).encode(),
            partition=self.changelog_partition(tp),
        )

    def reset(self, partitions: Collection[TopicPartition]) -> None:
        for tp in partitions:
            self._windows.pop(tp, None)

    def size(self) -> int:
        return sum(len(w) for w in self._windows.values())

    def evicted_by_size(self) -> int:
        """Ids the size cap pushed out of the current windows before their time."""
        return sum(w.evicted_by_size for w in self._windows.values())

    def _window(self, tp: TopicPartition) -> DedupWindow:
        window = self._windows.get(tp)
        if window is None:
            window = DedupWindow(self._window_ms, self._max_entries)
            for event_id, timestamp_ms in self._restore(self.changelog_partition(tp)):
                window.check_and_add(event_id, timestamp_ms)
            self._windows[tp] = window
        return window
