"""Time as an input, the pure parts: when a customer is next due for review by a watermark,
how a partition's watermark moves, and the recorded wall-clock tick.

A partition's watermark is a pure function of its records in offset order: the max event
time seen, minus ``publishing.watermark_lateness_minutes``. An idle annotated partition has no
records, so the service writes a **tick** (header ``rapport.scoring.tick: tick``, value: the
annotated partition and the wall-clock time) to scoring's own topic ``rapport.scoring.ticks``
every ``RAPPORT_SCORING__IDLE_TICK_SECONDS``, never to the annotated topic (subscribers read
that one; docs/decisions/0002-scoring-ticks.md). Scoring consumes its ticks topic too; applying
a tick moves the annotated partition's watermark where that partition stands, and publishes,
in the same Kafka transaction as the time updates, an **applied** record (header value
``applied``: the annotated partition, the offset it stood at, the time). The applied records
are the log that replay and ``rapport scores rebuild`` follow: the tick's effect at the same
annotated offset, so the same time updates; the wall clock is read only when the tick is
written, never when it is applied.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from services.runtime.records import InRecord, OutRecord, TopicPartition
from services.scoring.domain import CustomerRecord, TimeOutcome, advance_to
from services.scoring.model import ScoringConfig
from services.scoring.model.signal import from_us, to_us

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
        at = timer.deadline.due_us
        # A deadline a watermark already looked at (not published: not material) waits for
        # the next review, not every step.
        if not timer.fired and at < due and (checked_us is None or at > checked_us):
            due = at
    return due


def watermark_after(current_us: int | None, seen_us: int, config: ScoringConfig) -> int:
    """The partition's watermark after a record of event time ``seen_us``: the event time
    minus the allowed lateness, rounded down to a whole ``watermark_step_minutes``; never
    backwards."""
    step = round(config.publishing.watermark_step_minutes * _US_PER_MINUTE)
    candidate = (seen_us - lateness_us(config)) // step * step
    return candidate if current_us is None else max(current_us, candidate)


TICK: Final = b"tick"
APPLIED: Final = b"applied"


@dataclass(frozen=True, slots=True)
class TickRecord:
    """A record of the ticks topic: a tick to apply, or where one was applied."""

    kind: bytes
    """``TICK`` or ``APPLIED``."""
    partition: int
    """The annotated partition whose watermark it moves."""
    tick_us: int
    position: int | None = None
    """``APPLIED``: the annotated partition's next offset when the tick was applied."""


def _key(partition: int) -> bytes:
    # Every record of one annotated partition goes to the same ticks partition: in order.
    return str(partition).encode()


def tick_record(ticks_topic: str, partition: int, at: datetime) -> OutRecord:
    """The recorded wall-clock tick of idle annotated ``partition``."""
    value = {"partition": partition, "tick_at": at.astimezone(UTC).isoformat()}
    return OutRecord(
        ticks_topic, _key(partition), json.dumps(value).encode(), [(TICK_HEADER, TICK)]
    )


def applied_record(ticks_topic: str, partition: int, position: int, tick_us: int) -> OutRecord:
    """Where a tick was applied: annotated ``partition`` stood at ``position``."""
    at = from_us(tick_us).isoformat()
    value = {"partition": partition, "position": position, "tick_at": at}
    return OutRecord(
        ticks_topic, _key(partition), json.dumps(value).encode(), [(TICK_HEADER, APPLIED)]
    )


def read_tick(record: InRecord) -> TickRecord | None:
    """A record of the ticks topic (None: not one, or malformed: ignored, not a dead letter,
    since it carries no customer data)."""
    kind = record.header(TICK_HEADER)
    if kind not in (TICK, APPLIED):
        return None
    try:
        value = json.loads(record.value or b"")
        at = datetime.fromisoformat(value["tick_at"])
        partition = int(value["partition"])
        position = int(value["position"]) if kind == APPLIED else None
    except (ValueError, KeyError, TypeError):
        return None
    if at.tzinfo is None:
        return None
    return TickRecord(kind, partition, to_us(at), position)


def applied_ticks(records: Iterable[InRecord]) -> dict[int, list[tuple[int, int]]]:
    """Annotated partition -> ``(position, tick_us)`` of the ticks applied to it, in order:
    what a replay applies before the record at ``position`` (or after the last)."""
    found: dict[int, list[tuple[int, int]]] = {}
    for record in records:
        tick = read_tick(record)
        if tick is not None and tick.kind == APPLIED and tick.position is not None:
            found.setdefault(tick.partition, []).append((tick.position, tick.tick_us))
    return found


class IdleTicker:
    """Which assigned annotated partitions have been idle for ``interval_seconds`` of
    wall-clock time: each gets a tick record (written to the ticks topic, then read back like
    any record). A partition with records is never ticked; an idle one about once per
    interval. ``interval_seconds`` 0: never (the watermark then moves only with event
    times)."""

    def __init__(self, interval_seconds: float) -> None:
        self._interval = interval_seconds
        self._last: dict[TopicPartition, datetime] = {}

    def saw(self, tp: TopicPartition, now: datetime) -> None:
        self._last[tp] = now

    def due(
        self, assigned: Collection[TopicPartition], now: datetime, ticks_topic: str
    ) -> list[OutRecord]:
        if self._interval <= 0:
            return []
        ticks = []
        for tp in sorted(assigned, key=lambda t: (t.topic, t.partition)):
            last = self._last.setdefault(tp, now)
            if (now - last).total_seconds() >= self._interval:
                self._last[tp] = now  # one tick in flight at a time
                ticks.append(tick_record(ticks_topic, tp.partition, now))
        return ticks


def review_until(
    record: CustomerRecord, review_us: int | None, until_us: int, config: ScoringConfig
) -> tuple[CustomerRecord, list[TimeOutcome], int | None]:
    """Apply a customer's reviews due by ``until_us``, each **at its own review time** (not at
    the watermark or event that found it due): the customer's time updates are then a function
    of their own events alone, whichever watermark step or event of the partition reaches the
    review first (docs/scoring.md, "Arrival order"). Returns the record, the published
    outcomes (in time order) and the next review time."""
    published: list[TimeOutcome] = []
    while review_us is not None and review_us <= until_us:
        outcome = advance_to(record, review_us, config)
        if outcome is not None and outcome.update is not None:
            record = outcome.record
            published.append(outcome)
        review_us = next_review_us(record, config, checked_us=review_us)
    return record, published, review_us
