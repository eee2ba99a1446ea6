"""One scored event, or one advance of event time, purely: a customer's record and an input
(or a watermark) in, the new record and the outputs out. No database, no Kafka, no wall clock
(the erasure's ``completed_at`` is passed in).

The service (``service.py``) loads records in bulk, calls ``score_event`` for each input in
offset order (and ``advance_to`` for the customers a watermark reaches) and writes everything
back in one transaction; a rebuild and the tests' reference fold call the same functions,
which is what makes their results equal to the service's.

Time is an input: ``advance_to(record, watermark, config)`` moves a customer to an event time
without an event. Promise timers due by then fire (their ``overdue`` evidence is booked at the
deadline), the scores are evaluated at the watermark, the time-driven alert rules run
(``promise_overdue``, ``lapsed``, a segment entered by time) and, if anything material changed
(``publishing.time_update_points``, the segment, the churn level, an alert), an update with
reason ``time`` is published. ``score_event`` first advances the customer to the event's time
the same way, so the event's own update shows only what the event did.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, NamedTuple

from schemas import (
    Alert,
    ErasureCompleted,
    ScoreDriver,
    ScoreUpdate,
    UpdateReason,
)
from schemas.downstream import MAX_DRIVERS
from services.scoring.alerts import AlertContext, AlertTracker, evaluate, published_segment
from services.scoring.model import MODEL_VERSION, Explanation, Scores, ScoringConfig, fold
from services.scoring.model import CustomerState as ModelState
from services.scoring.model.evidence import Withdrawal, evidence_for
from services.scoring.model.explain import (
    LOW_CONFIDENCE,
    duration,
    segment_note,
    time_phrase,
)
from services.scoring.model.promises import (
    KeptPromise,
    PromiseBook,
    TimerChange,
    fire_due,
    note_promise,
    open_deadline,
    pending_at,
    settle,
    timer_key,
)
from services.scoring.model.scores import scores_at, trust_and_loyalty_at
from services.scoring.model.signal import Signal, SignalKind, from_us, to_us
from services.scoring.model.state import same_evidence, take_back
from services.scoring.signals import ScoringInput

__all__ = [
    "ERASED",
    "CustomerRecord",
    "Outcome",
    "RecentEvent",
    "drivers",
    "erasure_completed",
    "headline_score",
    "publish_update",
    "score_event",
    "short",
]
SUMMARY_MAX: Final = 200
ERASED: Final = ("customer_state", "score_history", "processed_events", "alerts", "latest_score")
"""What an erasure deletes, as published in ``ErasureCompleted.erased``."""


class RecentEvent(NamedTuple):
    """One of a customer's latest scored events and its effect, for the published drivers.
    (A named tuple: hashed and compared in C by the cache of published drivers, ten times per
    update.)"""

    event_id: str
    event_type: str
    occurred_us: int
    trust_effect: float
    loyalty_effect: float

    @property
    def size(self) -> float:
        return abs(self.trust_effect) + abs(self.loyalty_effect)

    def to_json(self) -> list[Any]:
        return list(self)

    @classmethod
    def from_json(cls, data: list[Any]) -> RecentEvent:
        event_id, event_type, occurred_us, trust, loyalty = data
        return cls(str(event_id), str(event_type), int(occurred_us), float(trust), float(loyalty))


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """Everything the service keeps about a customer besides history and processed ids."""

    state: ModelState
    tracker: AlertTracker
    recent: tuple[RecentEvent, ...] = ()
    """The latest ``MAX_DRIVERS`` scored events, oldest first."""
    tenant_id: str | None = None
    """The upstream ``tenant_id`` last seen (published with the customer's updates)."""
    known: tuple[ModelState, Scores] | None = field(default=None, compare=False, repr=False)
    """Scores just evaluated for a state (at their ``as_of``), never stored: the customer's
    next event, or a deadline firing before it, starts from the scores its last event ended
    with, and need not evaluate them again. Used only while ``state`` is that very state."""
    key_tenant: str | None = None
    """The tenant in the customer's Kafka keys and alert ids: set in multi-tenant deployments
    (the service's, with the customer's identity), None in single-tenant ones."""

    @classmethod
    def empty(cls, customer_id: str) -> CustomerRecord:
        return cls(ModelState.empty(customer_id), AlertTracker())

    def scores_at(self, at_us: int, config: ScoringConfig) -> Scores:
        """``scores_at(self.state, config, at_us)``, reusing ``known`` when it is exactly that
        (same state object, same time, same configuration)."""
        known = self.known
        if known is not None and known[0] is self.state:
            scores = known[1]
            if (
                scores.as_of is not None
                and to_us(scores.as_of) == at_us
                and scores.config_hash == config.content_hash
                and scores.config_version == config.version
            ):
                return scores
        return scores_at(self.state, config, at_us)

    @property
    def customer_id(self) -> str:
        return self.state.customer_id


@dataclass(frozen=True, slots=True)
class TimeOutcome:
    """What the passage of event time did to a customer: published only if material."""

    record: CustomerRecord
    before: Scores
    after: Scores
    summary: str
    update: ScoreUpdate | None
    """None when nothing material changed (the record then keeps its clock)."""
    alerts: list[Alert]
    fired: tuple[TimerChange, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    record: CustomerRecord
    explanation: Explanation
    update: ScoreUpdate
    alerts: list[Alert]
    """The time-driven alerts up to the event (``time.alerts``) first, then the event's."""
    time: TimeOutcome | None = None
    """The advance of the customer's clock to the event's time, if it published anything:
    publish ``time.update`` before ``update``."""
    publish: bool = True
    """False when ``publishing.material_only`` holds the update back (nothing material)."""

    @property
    def scores(self) -> Scores:
        return self.explanation.after


def headline_score(scores: Scores) -> float:
    """The one number for dashboards: the mean of trust (points) and loyalty, 0-100. Trust
    alone would not move on what a customer writes (that is satisfaction, part of loyalty),
    loyalty alone weighs trust at 13 % only."""
    return (scores.trust_points + scores.loyalty) / 2.0


def _clip(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _points(value: float) -> float:
    """Published points: rounded to 4 decimals (the database keeps the exact values)."""
    return round(min(100.0, max(0.0, value)), 4)  # ``_clip`` inlined: nine per update


def _change(value: float) -> float:
    return round(min(100.0, max(-100.0, value)), 4)


def short(text: str, limit: int = SUMMARY_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def drivers(recent: tuple[RecentEvent, ...]) -> tuple[ScoreDriver, ...]:
    """The latest events, strongest effect first (latest first among equals)."""
    # Decorated tuples sort without a key function (once per update, ten events).
    ranked = sorted(
        [(-abs(e.trust_effect) - abs(e.loyalty_effect), -i, e) for i, e in enumerate(recent)]
    )
    return tuple([_score_driver(e) for _, _, e in ranked[:MAX_DRIVERS]])


@functools.lru_cache(maxsize=8192)
def _score_driver(event: RecentEvent) -> ScoreDriver:
    """The published driver of one recent event. Cached: a customer's next update repeats nine
    of its ten drivers, and a ``ScoreDriver`` is frozen, so one instance serves them all.
    Built without re-validation: the ids and types come from validated events, the effects
    are clipped to the contract's range."""
    return ScoreDriver.model_construct(
        event_id=event.event_id,
        event_type=event.event_type,
        occurred_at=from_us(event.occurred_us),
        trust_effect=_change(event.trust_effect),
        loyalty_effect=_change(event.loyalty_effect),
    )


def snapshot(scores: Scores) -> dict[str, Any]:
    """What an update published, for judging later changes material (stored in the tracker)."""
    return {
        "trust": scores.trust_points,
        "loyalty": scores.loyalty,
        "segment": scores.segment.value,
        "churn_level": scores.churn_level.value,
        "churn_risk": scores.churn_risk,
    }


def material(published: Mapping[str, Any] | None, now: Scores, config: ScoringConfig) -> bool:
    """Whether ``now`` differs materially from what was last published."""
    if published is None:
        return True
    points = config.publishing.time_update_points
    churn = published.get("churn_risk")  # absent in trackers stored before it was kept
    return (
        abs(now.trust_points - float(published["trust"])) >= points
        or abs(now.loyalty - float(published["loyalty"])) >= points
        or (
            churn is not None
            and abs(now.churn_risk - float(churn)) >= config.publishing.time_update_churn_risk
        )
        or now.segment.value != published["segment"]
        or now.churn_level.value != published["churn_level"]
    )


def _interval(bounds: tuple[float, float], level: float) -> dict[str, float]:
    """A ``ScoreInterval``'s fields (validated with the update that holds it)."""
    low, high = bounds
    return {"low": _points(low), "high": _points(high), "level": level}


@functools.cache
def _level(z: float) -> float:
    """Coverage of +- z standard deviations of a normal distribution."""
    return round(math.erf(z / math.sqrt(2.0)), 4)


def publish_update(
    record: CustomerRecord,
    explanation: Explanation,
    caused_by: str,
    config: ScoringConfig,
) -> ScoreUpdate:
    """The published update of a customer whose latest event had ``explanation``."""
    return build_update(
        record,
        explanation.after,
        summary=explanation.summary,
        deltas=(explanation.trust_points, explanation.loyalty_points),
        caused_by=caused_by,
        config=config,
    )


def build_update(
    record: CustomerRecord,
    after: Scores,
    *,
    summary: str,
    deltas: tuple[float, float],
    caused_by: str,
    config: ScoringConfig,
    reason: UpdateReason = UpdateReason.EVENT,
    as_of_us: int | None = None,
) -> ScoreUpdate:
    """A ``ScoreUpdate`` from scores (at ``as_of_us``, by default the scores' own ``as_of``)."""
    as_of = after.as_of if as_of_us is None else from_us(as_of_us)
    assert as_of is not None, "a state with an event has an as_of"
    published = record.tracker.published
    if published is not None:
        # Change since the previous *published* update (ticks below the threshold included).
        deltas = (
            after.trust_points - float(published["trust"]),
            after.loyalty - float(published["loyalty"]),
        )
    z = config.explanation.interval_z
    level = _level(z)
    # Validated from plain values in one pydantic-core call, the nested deltas and intervals
    # included: several times cheaper than building each nested model on its own.
    return ScoreUpdate.model_validate(
        {
            "customer_id": record.customer_id,
            "tenant_id": record.tenant_id,
            "score": _points(headline_score(after)),
            "trust": _points(after.trust_points),
            "trust_uncertainty": _points(100.0 * after.trust_stddev),
            "loyalty": _points(after.loyalty),
            "loyalty_uncertainty": _points(100.0 * after.loyalty_stddev),
            "churn_risk": round(_clip(after.churn_risk, 0.0, 1.0), 6),
            "segment": published_segment(after.segment.value),
            "deltas": {"trust": _change(deltas[0]), "loyalty": _change(deltas[1])},
            "drivers": drivers(record.recent),
            "summary": short(summary),
            "event_count": after.event_count,
            "as_of": as_of,
            "caused_by_event_id": caused_by,
            "model_version": MODEL_VERSION,
            "config_version": config.version,
            "reason": reason,
            "trust_interval": _interval(after.trust_interval(z), level),
            "loyalty_interval": _interval(after.loyalty_interval(z), level),
            "low_confidence": after.low_confidence(config),
        }
    )


def time_event_id(watermark_us: int) -> str:
    """The ``caused_by_event_id`` of a time-driven update or alert: the clock tick."""
    return f"time:{watermark_us}"


def _time_summary(
    before: Scores,
    decayed: tuple[float, float],
    after: Scores,
    *,
    fired: tuple[TimerChange, ...],
    elapsed_days: float,
    config: ScoringConfig,
) -> str:
    """``Over 3 months without events: loyalty -6; churn risk 0.64 (high)``, or, when promises
    fell due, ``An overdue delivery (delivery o-1 due 04 Dec): trust -12``: the overdue promise
    leads, since it is what moved the scores (the decay is named only if it moved them too).
    ``decayed``: trust (0-1) and loyalty after the decay alone, before fired timers."""
    decayed_trust, decayed_loyalty = decayed
    parts = []
    moved = time_phrase(
        100.0 * (decayed_trust - before.trust), decayed_loyalty - before.loyalty, config
    )
    if moved:
        parts.append(f"over {duration(elapsed_days)} without events: {moved}")
    elif not fired:
        parts.append(f"steady over {duration(elapsed_days)} without events")
    if fired:
        labels = [change.timer.label for change in fired]
        trust_points = 100.0 * (after.trust - decayed_trust)
        loyalty_points = after.loyalty - decayed_loyalty
        kinds = sorted({label.singular for label in labels})
        what = ", ".join(
            f"{d.timer.deadline.kind} {d.timer.deadline.shown} due "
            f"{from_us(d.timer.deadline.due_us):%d %b}"
            for d in fired[:2]
        )
        moved_by = time_phrase(trust_points, loyalty_points, config) or "steady"
        parts.insert(0, f"{' and '.join(kinds)} ({what}): {moved_by}")
    if after.churn_level != before.churn_level:
        parts.append(f"churn risk {after.churn_risk:.2f} ({after.churn_level.value})")
    text = "; ".join(parts)
    text = text[:1].upper() + text[1:]
    text += segment_note(
        before,
        after,
        f"{duration(after.idle_days)} without activity"
        if not fired
        else fired[0].timer.label.singular,
    )
    if after.low_confidence(config):
        text += LOW_CONFIDENCE
    return text


def advance_to(
    record: CustomerRecord,
    watermark_us: int,
    config: ScoringConfig,
    *,
    publish_decay: bool = True,
    settling: bool = False,
) -> TimeOutcome | None:
    """Move a customer to an event time without an event (a watermark).

    Fires the promise timers due by then, evaluates the scores and the time-driven alert rules
    at ``watermark_us`` and returns the outcome if anything material changed (else None: the
    record is left as it was, so that an unpublished tick never hides time from the next
    explanation). Material: trust or loyalty moved ``publishing.time_update_points``, churn
    risk ``publishing.time_update_churn_risk``, the segment or churn level changed since the
    last published update, or an alert was raised or resolved. Deterministic: the same record
    and watermark give the same outcome. ``publish_decay=False`` (an event is about to be
    scored, whose update will say how time moved the scores): publish only if a timer fired or
    an alert was raised or resolved. ``settling``: that event settles an overdue promise,
    whose penalty is still in the state here; the segment rule waits for the event
    (``AlertContext.segment_before``).
    """
    state = record.state
    tracker = record.tracker
    if state.as_of_us is None:
        return None
    clock = tracker.clock_us if tracker.clock_us is not None else state.as_of_us
    clock = max(clock, state.as_of_us)
    if watermark_us <= clock:
        return None
    before = record.scores_at(clock, config)
    unfired = state
    state, book, fired = fire_due(state, tracker.book, watermark_us, config)
    after = scores_at(state, config, watermark_us)
    # The decay alone: only its trust and loyalty are read (the summary splits the move).
    decayed = (
        trust_and_loyalty_at(unfired, config, watermark_us)
        if fired
        else (after.trust, after.loyalty)
    )
    elapsed_days = (watermark_us - clock) / _US_PER_DAY
    summary = _time_summary(
        before, decayed, after, fired=tuple(fired), elapsed_days=elapsed_days, config=config
    )
    event_id = time_event_id(watermark_us)
    new_tracker, alerts = evaluate(
        replace(tracker, book=book),
        AlertContext(
            customer_id=record.customer_id,
            tenant_id=record.tenant_id,
            event_id=event_id,
            kind=None,
            key_tenant=record.key_tenant,
            occurred_at=from_us(watermark_us),
            before=before,
            after=after,
            summary=summary,
            fired=tuple(fired),
            overdue_left=len(book.overdue),
            settling=settling,
        ),
        config.alerts,
    )
    # The watermark publishes only a material change or an alert: a timer that fired without
    # either stays unfired (the state untouched) until the next review or event fires it
    # again, at its own deadline, with the same evidence. Before an event, a fired timer is
    # published (the event's update then starts from it).
    publish = bool(alerts) or (
        material(tracker.published, after, config) if publish_decay else bool(fired)
    )
    if not publish:
        return None
    published = replace(new_tracker, clock_us=watermark_us, published=snapshot(after))
    # The scores at the new clock, for the customer's next event or review to start from.
    new = CustomerRecord(
        state,
        published,
        record.recent,
        record.tenant_id,
        known=(state, after),
        key_tenant=record.key_tenant,
    )
    update = build_update(
        record,
        after,
        summary=summary,
        deltas=(100.0 * (after.trust - before.trust), after.loyalty - before.loyalty),
        caused_by=event_id,
        config=config,
        reason=UpdateReason.TIME,
        as_of_us=watermark_us,
    )
    return TimeOutcome(new, before, after, summary, update, alerts, tuple(fired))


_US_PER_DAY: Final = 86_400_000_000
_US_PER_HOUR: Final = 3_600_000_000
_PROMISE_KINDS: Final = ("delivery", "promise")
_REVIEW_STARS_ABOUT_PROMISE: Final = 2


def _with_context(signal: Signal, book: PromiseBook, config: ScoringConfig) -> Signal:
    """What the customer's open promises say about an event: a poor review written while a
    delivery or promise was pending is about that promise (its stars reach trust); a response
    to feedback knows how long the customer waited."""
    if (
        signal.stars is not None
        and signal.stars <= _REVIEW_STARS_ABOUT_PROMISE
        and pending_at(book, _PROMISE_KINDS, signal.occurred_us)
    ):
        signal = replace(signal, about_promise=True)
    return signal


def score_event(record: CustomerRecord, inp: ScoringInput, config: ScoringConfig) -> Outcome:
    """Fold one (non-erasure) input into a customer's record.

    First advances the customer's clock to the event's time (``advance_to``: timers due by
    then fire, a material change is published as a time update), then folds the event, settles
    and opens its promise timers, and evaluates the alert rules. Raises
    ``StateMismatchError`` if the record was built with another configuration.
    """
    signal, record = _with_response_time(record, inp, config)
    signal, record, rescored = _with_promise_outcome(record, signal, inp, config)
    occurred = signal.occurred_us
    # Settling first: a delivery that arrives after its deadline settles the timer without
    # firing it (the late delivery is its own evidence), whatever the arrival order. A timer
    # that had fired is settled too, but its overdue penalty stays in the state until the
    # event itself (``fold``) withdraws it: the customer's promise was overdue until then, so
    # time before the event is published with it, and the event's explanation names the
    # lifted penalty (a summary that adds up to the change a subscriber sees).
    book = record.tracker.book
    settled: list[TimerChange] = []
    if inp.settles:
        book, settled = settle(
            book,
            keys=inp.settles,
            event_id=signal.event_id,
            at_us=occurred,
            config=config,
        )
        record = replace(record, tracker=replace(record.tracker, book=book))
    time = None
    before: Scores | None = None
    if any(not t.fired and t.deadline.due_us <= occurred for t in book.timers.values()):
        # Deadlines passed before this event: published as time first (the lapse of decay
        # alone is left to the event's own explanation, or to the watermark's ticks).
        time = advance_to(record, occurred, config, publish_decay=False, settling=bool(settled))
        if time is not None:
            record = time.record
            # The time update ended with the record's scores at the event's time: where the
            # event's explanation starts (the same state, the clock now at the event).
            before = time.after
    signal = _with_context(signal, record.tracker.book, config)
    tracker = record.tracker
    if before is None:
        # fold's starting point: the state at its clock (the later of as_of and clock_us).
        start = record.state.as_of_us
        if tracker.clock_us is not None and (start is None or tracker.clock_us > start):
            start = tracker.clock_us
        before = None if start is None else record.scores_at(start, config)
    state, explanation = fold(
        record.state,
        signal,
        config,
        clock_us=tracker.clock_us,
        before=before,
        withdrawn=tuple(change.withdrawal() for change in settled) + rescored,
    )
    folded = state
    if not all(map(math.isfinite, state.sums)):
        raise ValueError(f"event {signal.event_id} makes the state non-finite")
    book = tracker.book
    if inp.opens is not None:
        state, book = _response_time_of_late_feedback(state, inp, book, config)
        book = open_deadline(book, inp.opens, signal.event_id, occurred)
    # A promise whose opening arrived after its deadline had passed fires at once (at its
    # deadline), exactly as it would have, had it arrived in time.
    clock = max(occurred, tracker.clock_us or occurred)
    state, book, fired = fire_due(state, book, clock, config)
    after = explanation.after
    if fired:
        after = scores_at(state, config, clock)
        explanation = replace(explanation, after=after)
    anger = signal.emotions.get("anger", 0.0)
    tracker, alerts = evaluate(
        tracker if book is tracker.book else replace(tracker, book=book),
        AlertContext(
            customer_id=signal.customer_id,
            tenant_id=inp.tenant_id or record.tenant_id,
            event_id=signal.event_id,
            kind=signal.kind,
            occurred_at=signal.occurred_at,
            before=explanation.before,
            after=after,
            summary=explanation.summary,
            nps=signal.nps,
            case_id=inp.case_id,
            responds_to_event_id=inp.responds_to_event_id,
            base=explanation.base,
            late=explanation.late,
            stars=signal.stars,
            sentiment=signal.sentiment,
            anger=anger,
            fired=tuple(fired),
            settled=tuple(settled),
            overdue_left=len(book.overdue),
            active=after.idle_days == 0.0 and not explanation.late,
            key_tenant=record.key_tenant,
            segment_before=time.before.segment if time is not None and settled else None,
        ),
        config.alerts,
    )
    recent = (
        *record.recent,
        RecentEvent(
            signal.event_id,
            inp.event_type,
            occurred,
            explanation.trust_points,
            explanation.loyalty_points,
        ),
    )[-MAX_DRIVERS:]
    publishing = config.publishing
    quiet = tracker.quiet_events + 1
    publish = (
        not publishing.material_only
        or bool(alerts)
        or quiet >= publishing.full_every
        or material(tracker.published, after, config)
    )
    tenant = inp.tenant_id or record.tenant_id
    provisional = CustomerRecord(state, tracker, recent, tenant, key_tenant=record.key_tenant)
    update = publish_update(provisional, explanation, signal.event_id, config)
    tracker = AlertTracker(
        trust_reference=tracker.trust_reference,
        open=tracker.open,
        last_raised_us=tracker.last_raised_us,
        segment_outside=tracker.segment_outside,
        open_cases=tracker.open_cases,
        last_raised_badness=tracker.last_raised_badness,
        book=tracker.book,
        clock_us=clock,
        published=snapshot(after) if publish else tracker.published,
        quiet_events=0 if publish else quiet,
    )
    # The scores just evaluated, with the state they belong to (the record's own state, unless
    # a late feedback's response time moved it on: then they are not used).
    known = (state, after) if fired else (folded, explanation.after)
    new = CustomerRecord(state, tracker, recent, tenant, known=known, key_tenant=record.key_tenant)
    time_alerts = [] if time is None else time.alerts
    return Outcome(new, explanation, update, [*time_alerts, *alerts], time, publish)


_PROMISE_SIGNALS: Final = frozenset(
    {SignalKind.PROMISE_MADE, SignalKind.PROMISE_KEPT, SignalKind.PROMISE_BROKEN}
)
KEPT_LATE: Final = "late"
"""The qualifier of a promise kept after its deadline: its rule is ``promise_kept.late``."""


def _with_promise_outcome(
    record: CustomerRecord, signal: Signal, inp: ScoringInput, config: ScoringConfig
) -> tuple[Signal, CustomerRecord, tuple[Withdrawal, ...]]:
    """A promise first kept after its deadline is kept late (``promise_kept.late``), unless it
    was reported broken first (keeping it then is a recovery, scored as kept: never worse than
    leaving it broken). The promise's log (``promises.PromiseLog``) knows its deadline, breach
    and kept reports whatever the arrival order: news that arrives after a kept event it bears
    on rescores that event at its own time. The rescorings are returned for ``fold`` to apply
    and name, so the event's summary adds up to what the subscriber sees change."""
    kind = signal.kind
    if kind not in _PROMISE_SIGNALS:
        return signal, record, ()
    book = record.tracker.book
    limit = config.promises.max_settled
    if kind is SignalKind.PROMISE_KEPT and inp.settles:
        key = inp.settles[0]
        # The open timer knows the deadline even when a full book forgot the log.
        timer = book.timers.get(key)
        due = None if timer is None else timer.deadline.due_us
        kept = (signal.occurred_us, signal.qualifier)
        book, changed, late = note_promise(book, key, due_us=due, kept=kept, limit=limit)
        if late:
            # The rule variant ``promise_kept.late``, in place of the promise's kind (no
            # ``promise_kept.<kind>`` rule ships; lateness is what the customer lived).
            signal = replace(signal, qualifier=KEPT_LATE)
    elif kind is SignalKind.PROMISE_BROKEN and inp.settles:
        broken = signal.occurred_us
        book, changed, _ = note_promise(book, inp.settles[0], broken_us=broken, limit=limit)
    elif kind is SignalKind.PROMISE_MADE and inp.opens is not None and inp.opens.kind == "promise":
        book, changed, _ = note_promise(book, inp.opens.key, due_us=inp.opens.due_us, limit=limit)
    else:
        return signal, record, ()
    record = replace(record, tracker=replace(record.tracker, book=book))
    return signal, record, _rescorings(signal.customer_id, changed, config)


def _rescorings(
    customer_id: str, changed: list[tuple[KeptPromise, bool]], config: ScoringConfig
) -> tuple[Withdrawal, ...]:
    """Swap the rule of kept promises whose lateness changed (``now_late``), at their own time:
    the sums are linear, so withdrawing one rule and adding the other is exact."""
    swaps = []
    for kept, now_late in changed:
        base = Signal(
            f"kept@{kept.at_us}:rescored",
            customer_id,
            from_us(kept.at_us),
            SignalKind.PROMISE_KEPT,
            qualifier=kept.qualifier,
        )
        late = replace(base, qualifier=KEPT_LATE)
        was = evidence_for(base if now_late else late, config)
        now = evidence_for(late if now_late else base, config)
        if not same_evidence(was, now):
            key = "rescored.late" if now_late else "rescored.kept"
            swaps.append(Withdrawal(key, tuple(was), kept.at_us, tuple(now)))
    return tuple(swaps)


def _with_response_time(
    record: CustomerRecord, inp: ScoringInput, config: ScoringConfig
) -> tuple[Signal, CustomerRecord]:
    signal, state, book = _response_time(inp, record.tracker.book, record.state, config)
    if book is record.tracker.book:
        return signal, record
    return signal, replace(record, state=state, tracker=replace(record.tracker, book=book))


def _response_time(
    inp: ScoringInput, book: PromiseBook, state: ModelState, config: ScoringConfig
) -> tuple[Signal, ModelState, PromiseBook]:
    """A response to feedback learns how long the customer waited: the earliest response to
    the feedback in event time is scored by the wait (``fast`` or ``slow``), any other one is
    plain. A response that arrives after a later one was scored by the wait takes the rule
    over: the later one is rescored plain, at its own time, so the state is the one of the
    event-time order (a response to feedback that owed none carries no time)."""
    signal = inp.signal
    if signal.kind is not SignalKind.FEEDBACK_RESPONSE or inp.responds_to_event_id is None:
        return signal, state, book
    key = timer_key("response", inp.responds_to_event_id)
    occurred = signal.occurred_us
    timer = book.timers.get(key)
    if timer is not None:
        if timer.opened_us > occurred:
            return signal, state, book
        opened_us = timer.opened_us
    else:
        held = book.timed_responses.get(key)
        if held is None or not held[0] <= occurred < held[1]:
            return signal, state, book
        opened_us, held_us = held
        state = _rescore_response(
            state,
            key=key,
            at_us=held_us,
            was_hours=(held_us - opened_us) / _US_PER_HOUR,
            now_hours=None,
            config=config,
        )
    timed = {**book.timed_responses, key: (opened_us, occurred)}
    signal = replace(signal, response_hours=(occurred - opened_us) / _US_PER_HOUR)
    return signal, state, replace(book, timed_responses=timed)


def _rescore_response(
    state: ModelState,
    *,
    key: str,
    at_us: int,
    was_hours: float | None,
    now_hours: float | None,
    config: ScoringConfig,
) -> ModelState:
    """Swap a response's rule at its time: by the wait (hours) or plain (None). The sums are
    linear, so withdrawing one rule and adding the other is exact."""
    base = Signal(
        f"{key}:rescored", state.customer_id, from_us(at_us), SignalKind.FEEDBACK_RESPONSE
    )
    before = evidence_for(replace(base, response_hours=was_hours), config)
    after = evidence_for(replace(base, response_hours=now_hours), config)
    if same_evidence(before, after):
        return state
    return take_back(state, Withdrawal(key, tuple(before), at_us, tuple(after)), config)


def _response_time_of_late_feedback(
    state: ModelState, inp: ScoringInput, book: PromiseBook, config: ScoringConfig
) -> tuple[ModelState, PromiseBook]:
    """Feedback that arrives after the responses to it: they were scored without knowing how
    long the customer waited. The earliest of them (the first settlement) takes the timed rule
    (``fast`` or ``slow``) instead of the plain one, at its time, so that the state is the same
    as in the other arrival order."""
    opens = inp.opens
    if opens is None or opens.kind != "response":
        return state, book
    settled_us = book.settled.get(opens.key)
    if settled_us is None or settled_us < inp.signal.occurred_us:
        return state, book
    waited = (settled_us - inp.signal.occurred_us) / _US_PER_HOUR
    state = _rescore_response(
        state, key=opens.key, at_us=settled_us, was_hours=None, now_hours=waited, config=config
    )
    timed = {**book.timed_responses, opens.key: (inp.signal.occurred_us, settled_us)}
    return state, replace(book, timed_responses=timed)


ERASURE_MARK_KEY_BYTES: Final = 32


def erasure_mark(customer_id: str, key: bytes, tenant: str | None = None) -> str:
    """The keyed hash (HMAC-SHA256) kept of an erased customer's id (with ``tenant``: of the
    (tenant, customer id) identity), with the erasure time and nothing else: enough to
    recognise a late or re-delivered event of the customer, not to recover the id."""
    identity = customer_id if tenant is None else f"{tenant}\x00{customer_id}"
    return hmac.new(key, identity.encode(), hashlib.sha256).hexdigest()


def erased_before(signal: Signal, erased_us: int | None) -> bool:
    """Erasure is final: an event dated at or before the customer's erasure is dropped
    (re-delivered or late, it must not bring the erased customer back); later events start a
    fresh customer."""
    return erased_us is not None and signal.occurred_us <= erased_us


def erasure_completed(inp: ScoringInput, completed_at: datetime) -> ErasureCompleted:
    signal = inp.signal
    return ErasureCompleted(
        request_id=inp.erasure_request_id or signal.event_id,
        customer_id=signal.customer_id,
        tenant_id=inp.tenant_id,
        requested_at=signal.occurred_at,
        completed_at=completed_at,
        caused_by_event_id=signal.event_id,
        erased=ERASED,
    )
