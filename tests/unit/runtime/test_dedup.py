from __future__ import annotations

from services.runtime.dedup import DedupWindow, PartitionedDedup
from services.runtime.records import TopicPartition

TP = TopicPartition("raw", 1)


def test_a_repeated_id_within_the_window_is_a_duplicate() -> None:
    window = DedupWindow(window_ms=1000, max_entries=10)
    assert not window.check_and_add("e1", 100)
    assert window.check_and_add("e1", 900)


def test_ids_older_than_the_window_are_forgotten() -> None:
    window = DedupWindow(window_ms=1000, max_entries=10)
    window.check_and_add("e1", 100)
    window.check_and_add("e2", 1200)  # e1 is now older than the window
    assert len(window) == 1
    assert not window.check_and_add("e1", 1250)


def test_memory_is_bounded_by_the_size_cap() -> None:
    window = DedupWindow(window_ms=10**12, max_entries=3)
    for i in range(10):
        window.check_and_add(f"e{i}", i)
    assert len(window) == 3
    assert window.evicted_by_size == 7


def test_state_is_restored_from_the_changelog_and_reset_on_demand() -> None:
    restored: list[int] = []

    def restore(partition: int) -> list[tuple[str, int]]:
        restored.append(partition)
        return [("old", 5)]

    dedup = PartitionedDedup(
        "changelog", 3, window_ms=1000, max_entries_per_partition=10, restore=restore
    )
    assert dedup.is_duplicate(TP, "old", 10)
    assert not dedup.is_duplicate(TP, "new", 11)
    assert restored == [1]

    dedup.reset([TP])  # e.g. the batch was rewound: "new" was never committed
    assert not dedup.is_duplicate(TP, "new", 12)
    assert restored == [1, 1]


def test_changelog_records_are_co_partitioned_with_the_input() -> None:
    dedup = PartitionedDedup("changelog", 2, 1000, 10, restore=lambda p: [])
    record = dedup.changelog_record(TopicPartition("raw", 3), "e1", 42)
    assert (record.topic, record.partition, record.key, record.value) == (
        "changelog",
        1,
        b"e1",
        b"42",
    )
