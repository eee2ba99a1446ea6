"""Promises with deadlines: timers held in a customer's state, fired by event time.

A promise is anything the company owes the customer by a deadline: an order delivered by the
date promised at checkout, a ``promise_made`` kept by its due time, a support case resolved
within its SLA, negative feedback answered within the response time (``promises`` in the
configuration). An event *opens* a timer (``Deadline``) and another *settles* it (the delivery
of the order, the kept or broken promise, the case resolution, the response).

When the customer's clock (the partition's event-time watermark, or a newer event of the
customer) passes a deadline that nobody settled, the timer *fires*: the ``overdue.<kind>``
evidence is added **at the deadline** (so it decays from then, like any event) and the
service raises a ``promise_overdue`` alert. Settling a fired timer later *withdraws* that
evidence exactly (the sums are linear), and the settling event carries its own evidence
(a late delivery, a slow resolution, a response).

A ``promise_made`` promise also has a *log* (``PromiseLog``): its deadline, the first time it
was reported broken, and the times it was reported kept. A promise first reported kept after
its deadline, without having been reported broken first, is *kept late*
(``promise_kept.late``): settling withdraws the overdue penalty, and the customer still
waited. A promise reported broken and kept afterwards is a recovery, scored as a plain kept
promise: never worse than leaving it broken. A second report of a kept promise is plain too
(the first ended the wait). When news of the deadline, a breach or an earlier kept report
arrives after a kept event it bears on, the event that brings it rescores that kept event at
its own time, and names it (the domain's ``_with_promise_outcome``), so the state does not
depend on the arrival order.

So, whatever the arrival order, a state evaluated at clock ``T`` holds the events' evidence
plus ``overdue.<kind>`` for exactly the deadlines ``<= T`` not settled by then: the timers
keep the fold order-independent. A settlement that arrives before the event opening its
timer is remembered (``settled``, bounded by ``promises.max_settled``) so that the late
opening does not fire a timer that was already settled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from services.scoring.model.config import OVERDUE_KINDS, ScoringConfig
from services.scoring.model.evidence import (
    DriverLabel,
    Evidence,
    Withdrawal,
    event_label,
    overdue_evidence,
)
from services.scoring.model.state import CustomerState, add_evidence

_US_PER_HOUR: Final = 3_600_000_000


def timer_key(kind: str, subject: str) -> str:
    return f"{kind}:{subject}"


@dataclass(frozen=True, slots=True)
class Deadline:
    """What an event opens: a promise of ``kind`` about ``subject``, due at ``due_us``."""

    kind: str
    """``delivery``, ``promise``, ``case`` or ``response``."""
    subject: str
    """The order, promise, case or feedback event id."""
    due_us: int

    def __post_init__(self) -> None:
        if self.kind not in OVERDUE_KINDS:
            raise ValueError(f"unknown promise kind {self.kind!r}")

    @property
    def key(self) -> str:
        return timer_key(self.kind, self.subject)

    @property
    def shown(self) -> str:
        """The subject as a person reads it: a reopened case's timer is keyed by the case and
        the reopening's time (``case-7#<µs>``), which is bookkeeping, not a name."""
        case, _, reopened = self.subject.partition("#")
        return f"{case} (reopened)" if reopened else case


@dataclass(frozen=True, slots=True)
class Timer:
    deadline: Deadline
    opened_by: str
    """The event that opened it."""
    opened_us: int
    fired: bool = False

    @property
    def key(self) -> str:
        return self.deadline.key

    @property
    def label(self) -> DriverLabel:
        return event_label(f"overdue.{self.deadline.kind}")

    def to_json(self) -> list[Any]:
        d = self.deadline
        return [d.kind, d.subject, d.due_us, self.opened_by, self.opened_us, self.fired]

    @classmethod
    def from_json(cls, data: list[Any]) -> Timer:
        kind, subject, due_us, opened_by, opened_us, fired = data
        deadline = Deadline(str(kind), str(subject), int(due_us))
        return cls(deadline, str(opened_by), int(opened_us), bool(fired))


@dataclass(frozen=True, slots=True)
class KeptPromise:
    """A ``promise_kept`` event as its promise's log remembers it: enough to rebuild its
    evidence (the promise's kind is the event's qualifier) and whether it was scored late."""

    at_us: int
    qualifier: str | None
    late: bool

    def to_json(self) -> list[Any]:
        return [self.at_us, self.qualifier, self.late]

    @classmethod
    def from_json(cls, data: list[Any]) -> KeptPromise:
        at_us, qualifier, late = data
        return cls(int(at_us), None if qualifier is None else str(qualifier), bool(late))


@dataclass(frozen=True, slots=True)
class PromiseLog:
    """What a customer's events said about one promise, in event time."""

    due_us: int | None = None
    """Its deadline (due time plus grace), once its ``promise_made`` is known."""
    broken_us: int | None = None
    """The earliest ``promise_broken`` of it."""
    kept: tuple[KeptPromise, ...] = ()
    """Its ``promise_kept`` events, by time."""

    def late(self, at_us: int) -> bool:
        """Whether a promise kept at ``at_us`` was kept late: after its deadline, not after a
        report that it was broken (then keeping it is a recovery), and not after an earlier
        report that it was kept (that one ended the wait)."""
        return (
            self.due_us is not None
            and at_us > self.due_us
            and (self.broken_us is None or self.broken_us > at_us)
            and not any(k.at_us < at_us for k in self.kept)
        )

    @property
    def last_us(self) -> int:
        """The latest time the log knows (which logs a full book forgets first)."""
        times = [t for t in (self.due_us, self.broken_us) if t is not None]
        return max([*times, *(k.at_us for k in self.kept)], default=0)

    def to_json(self) -> list[Any]:
        return [self.due_us, self.broken_us, [k.to_json() for k in self.kept]]

    @classmethod
    def from_json(cls, data: list[Any]) -> PromiseLog:
        due_us, broken_us, kept = data
        return cls(
            None if due_us is None else int(due_us),
            None if broken_us is None else int(broken_us),
            tuple(KeptPromise.from_json(k) for k in kept),
        )


@dataclass(frozen=True, slots=True)
class PromiseBook:
    """A customer's open timers and recent settlements."""

    timers: Mapping[str, Timer] = field(default_factory=dict)
    settled: Mapping[str, int] = field(default_factory=dict)
    """Timer key -> event time of its first settlement (for openings that arrive late)."""
    timed_responses: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """Response timer key -> (the feedback's time, the time of the response holding the timed
    rule): the earliest response to a feedback is the one scored by how long the customer
    waited, whatever the order the responses arrive in."""
    promises: Mapping[str, PromiseLog] = field(default_factory=dict)
    """Promise timer key -> what the events said of that promise (``PromiseLog``)."""

    @property
    def overdue(self) -> list[Timer]:
        """Fired timers not settled yet, by deadline."""
        return sorted(
            (t for t in self.timers.values() if t.fired), key=lambda t: (t.deadline.due_us, t.key)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "timers": {key: timer.to_json() for key, timer in sorted(self.timers.items())},
            "settled": dict(sorted(self.settled.items())),
            **(
                {"timed_responses": {k: list(v) for k, v in sorted(self.timed_responses.items())}}
                if self.timed_responses
                else {}
            ),
            **(
                {"promises": {k: v.to_json() for k, v in sorted(self.promises.items())}}
                if self.promises
                else {}
            ),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> PromiseBook:
        if not data:
            return cls()
        return cls(
            timers={key: Timer.from_json(v) for key, v in data.get("timers", {}).items()},
            settled={key: int(v) for key, v in data.get("settled", {}).items()},
            timed_responses={
                key: (int(v[0]), int(v[1])) for key, v in data.get("timed_responses", {}).items()
            },
            promises={key: PromiseLog.from_json(v) for key, v in data.get("promises", {}).items()},
        )


@dataclass(frozen=True, slots=True)
class TimerChange:
    """A timer that fired or was settled after firing, and the evidence it added or withdrew."""

    timer: Timer
    at_us: int
    """The deadline (fired) or the settling event's time (settled)."""
    settled_by: str | None = None
    evidence: tuple[Evidence, ...] = ()

    def withdrawal(self) -> Withdrawal:
        """A settled timer's overdue evidence, to take back (it was added at the deadline)."""
        return Withdrawal(
            f"settled.{self.timer.deadline.kind}", self.evidence, self.timer.deadline.due_us
        )


def fire_due(
    state: CustomerState, book: PromiseBook, clock_us: int, config: ScoringConfig
) -> tuple[CustomerState, PromiseBook, list[TimerChange]]:
    """Fire every unsettled timer with a deadline at or before ``clock_us``, in deadline order."""
    due = sorted(
        (t for t in book.timers.values() if not t.fired and t.deadline.due_us <= clock_us),
        key=lambda t: (t.deadline.due_us, t.key),
    )
    if not due:
        return state, book, []
    timers = dict(book.timers)
    fired = []
    for timer in due:
        items = overdue_evidence(timer.deadline.kind, config)
        state = add_evidence(state, items, timer.deadline.due_us, config, count_event=False)
        timers[timer.key] = replace(timer, fired=True)
        fired.append(TimerChange(timers[timer.key], timer.deadline.due_us, evidence=tuple(items)))
    return state, replace(book, timers=timers), fired


def settle(
    book: PromiseBook,
    *,
    keys: tuple[str, ...],
    event_id: str,
    at_us: int,
    config: ScoringConfig,
) -> tuple[PromiseBook, list[TimerChange]]:
    """Settle timers (fulfilled, or decided by the event); the settlement is remembered for an
    opening that arrives late. Returns the fired timers it settled: their overdue evidence is
    the caller's to withdraw (``TimerChange.withdrawal``), as part of the settling event, so
    that the event's explanation names it."""
    if not keys:
        return book, []
    timers = dict(book.timers)
    settled = dict(book.settled)
    changes = []
    for key in keys:
        timer = timers.pop(key, None)
        # The first settlement in event time, whatever the arrival order: what ended the wait.
        settled[key] = min(settled.get(key, at_us), at_us)
        if timer is not None and timer.fired:
            items = overdue_evidence(timer.deadline.kind, config)
            changes.append(TimerChange(timer, at_us, event_id, tuple(items)))
    limit = config.promises.max_settled
    if len(settled) > limit:
        # Keep the most recent settlements (ties by key, so the bound is deterministic).
        kept = sorted(settled.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        settled = dict(kept)
    timed = book.timed_responses
    if any(key not in settled for key in timed):
        timed = {key: v for key, v in timed.items() if key in settled}
    return replace(book, timers=timers, settled=settled, timed_responses=timed), changes


def open_deadline(
    book: PromiseBook, deadline: Deadline, event_id: str, opened_us: int
) -> PromiseBook:
    """Start a timer, unless it was settled already (its settlement arrived first). A second
    opening of the same promise keeps the earlier deadline (whatever the arrival order) while
    the timer has not fired."""
    if deadline.key in book.settled:
        return book
    known = book.timers.get(deadline.key)
    if known is not None and (known.fired or known.deadline.due_us <= deadline.due_us):
        return book
    timers = dict(book.timers)
    timers[deadline.key] = Timer(deadline, event_id, opened_us)
    return replace(book, timers=timers)


def note_promise(
    book: PromiseBook,
    key: str,
    *,
    due_us: int | None = None,
    broken_us: int | None = None,
    kept: tuple[int, str | None] | None = None,
    limit: int,
) -> tuple[PromiseBook, list[tuple[KeptPromise, bool]], bool]:
    """Log a promise's deadline, a report that it was broken, or a kept event (``kept``: its
    time and qualifier). The earliest deadline and breach count, whatever the arrival order.

    Returns the book; the earlier kept events whose lateness the news changed, each with its
    new lateness (the caller rescores them at their own time); and whether the logged kept
    event is late (False without one). Lateness is recorded whether or not the configuration
    weighs it (``promise_kept.late``). At most ``limit`` logs are kept: those of promises still
    open first, then the most recent."""
    log = book.promises.get(key, PromiseLog())
    if due_us is not None and (log.due_us is None or due_us < log.due_us):
        log = replace(log, due_us=due_us)
    if broken_us is not None and (log.broken_us is None or broken_us < log.broken_us):
        log = replace(log, broken_us=broken_us)
    entries = list(log.kept)
    new = None
    if kept is not None:
        new = KeptPromise(kept[0], kept[1], late=False)
        entries.append(new)
    log = replace(log, kept=tuple(sorted(entries, key=lambda k: k.at_us)))
    changed = []
    now = []
    new_late = False
    for entry in log.kept:
        late = log.late(entry.at_us)
        if entry is new:
            new_late = late
        elif late != entry.late:
            changed.append((entry, late))
        now.append(entry if late == entry.late else replace(entry, late=late))
    promises = {**book.promises, key: replace(log, kept=tuple(now))}
    if len(promises) > limit:
        # Forget settled promises first, the oldest first (ties by key: a deterministic bound).
        retained = sorted(promises, key=lambda k: (k not in book.timers, -promises[k].last_us, k))[
            :limit
        ]
        promises = {k: promises[k] for k in retained}
    return replace(book, promises=promises), changed, new_late


def pending_at(book: PromiseBook, kinds: tuple[str, ...], at_us: int) -> bool:
    """Whether a promise of one of ``kinds`` was pending at ``at_us``: opened before and not
    settled by then (a settled one counts if it was settled after ``at_us``; its opening time
    is no longer known, so it is assumed earlier)."""
    for timer in book.timers.values():
        if timer.deadline.kind in kinds and timer.opened_us <= at_us:
            return True
    return any(
        key.partition(":")[0] in kinds and settled_us > at_us
        for key, settled_us in book.settled.items()
    )


def hours(value: float) -> int:
    """Hours as microseconds."""
    return round(value * _US_PER_HOUR)
