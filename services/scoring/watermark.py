"""Time as an input, the pure parts: when a customer is next due for review by a watermark,
how a partition's watermark moves, and the recorded wall-clock tick.

A partition's watermark is a pure function of its records in offset order: the max event
time seen, minus ``publishing.watermark_lateness_minutes``. An idle partition has no records,
so the service writes a **tick record** to it (header ``rapport.scoring.tick``, value: the
wall-clock time) every ``RAPPORT_SCORING__IDLE_TICK_SECONDS``; the tick is consumed like any
record and moves the watermark like an event time. Because the tick lives in the partition's
log, a replay or ``rapport scores rebuild`` reads it at the same offset and reproduces the same
time updates; the wall clock is read only when the tick is written, never when it is applied.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Final

from services.runtime.records import InRecord, OutRecord, TopicPartition
from services.scoring.domain import CustomerRecord
from services.scoring.model import ScoringConfig
from services.scoring.model.signal import to_us

TICK_HEADER: Final = "rapport.scoring.tick"
_US_PER_DAY: Final = 86_400_000_000
_US_PER_MINUTE: Final = 60_000_000


def review_interval_us(config: ScoringConfig) -> int:
    return round(config.publishing.time_review_days * _US_PER_DAY)


def lateness_us(config: ScoringConfig) -> int:
    return round(config.publishing.watermark_lateness_minutes * _US_PER_MINUTE)


def next_review_us(
    record: CustomerRecord, config: ScoringConfig, checked_us: int | None = None
) -> int | None:
    """When a watermark should next look at this customer: their next unfired promise
    deadline, or ``time_review_days`` after their clock (or after the last watermark that
    looked at them, ``checked_us``), whichever is first. None: a customer without events."""
    state = record.state
    if state.as_of_us is None:
        return None
    clock = max(state.as_of_us, record.tracker.clock_us or state.as_of_us, checked_us or 0)
    due = clock + review_interval_us(config)
    for timer in record.tracker.book.timers.values():
        if not timer.fired and timer.deadline.due_us < due:
            due = timer.deadline.due_us
    return due


def watermark_after(current_us: int | None, seen_us: int, config: ScoringConfig) -> int:
    """The partition's watermark after a record of event time ``seen_us``: the event time
    minus the allowed lateness, rounded down to a whole ``watermark_step_minutes``; never
    backwards."""
    step = round(config.publishing.watermark_step_minutes * _US_PER_MINUTE)
    candidate = (seen_us - lateness_us(config)) // step * step
    return candidate if current_us is None else max(current_us, candidate)


def tick_record(topic: str, partition: int, at: datetime) -> OutRecord:
    """The recorded wall-clock tick of an idle partition, written to that partition."""
    value = json.dumps({"tick_at": at.astimezone(UTC).isoformat()}).encode()
    return OutRecord(topic, None, value, [(TICK_HEADER, b"1")], partition=partition)


def tick_time_us(record: InRecord) -> int | None:
    """The time of a tick record (None: not a tick). A malformed tick is ignored, not a dead
    letter: it carries no customer data."""
    if record.header(TICK_HEADER) is None:
        return None
    try:
        at = datetime.fromisoformat(json.loads(record.value or b"")["tick_at"])
    except (ValueError, KeyError, TypeError):
        return None
    return to_us(at) if at.tzinfo is not None else None


class IdleTicker:
    """Which assigned partitions have been idle for ``interval_seconds`` of wall-clock time:
    each gets a tick record (written to it, then read back like any record). A partition with
    records is never ticked; an idle one about once per interval. ``interval_seconds`` 0:
    never (the watermark then moves only with event times)."""

    def __init__(self, interval_seconds: float) -> None:
        self._interval = interval_seconds
        self._last: dict[TopicPartition, datetime] = {}

    def saw(self, tp: TopicPartition, now: datetime) -> None:
        self._last[tp] = now

    def due(self, assigned: Collection[TopicPartition], now: datetime) -> list[OutRecord]:
        if self._interval <= 0:
            return []
        ticks = []
        for tp in sorted(assigned, key=lambda t: (t.topic, t.partition)):
            last = self._last.setdefault(tp, now)
            if (now - last).total_seconds() >= self._interval:
                self._last[tp] = now  # one tick in flight at a time
                ticks.append(tick_record(tp.topic, tp.partition, now))
        return ticks
