"""Explanations: which evidence moved trust and loyalty, by how much, in words.

``fold`` applies a signal and says why the scores moved. The change from the previous scores
is split into drivers, in score points (trust on its 0-100 scale, loyalty 0-100):

* ``elapsed time``: the effect of moving ``as_of`` forward to a newer event (older evidence
  fades, recency drops), measured before any of the event's evidence is added (for an event
  that arrives late and predates the first one seen: ``a longer history``);
* for an event that settles promises already overdue, one driver per kind for the overdue
  penalty it lifts (``an overdue promise settled``), so that the explanation starts from the
  scores the customer had, those last published;
* one driver per label of the event's evidence (``a late delivery``, ``frustration``...),
  attributed sequentially from the strongest alone to the weakest, so that the drivers add up
  exactly to the change.

``summarize`` aggregates the explanations of a window of events ("two late deliveries").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from services.scoring.model.config import OVERDUE_KINDS, ScoringConfig
from services.scoring.model.evidence import (
    DriverLabel,
    Evidence,
    Withdrawal,
    evidence_for,
    rule_key,
    subject_label,
)
from services.scoring.model.scores import (
    Scores,
    TrustLoyalty,
    scores_at,
    trust_and_loyalty_at,
)
from services.scoring.model.signal import Signal, SignalKind
from services.scoring.model.state import (
    CustomerState,
    add_evidence,
    check_signal,
    take_back,
)

ELAPSED_TIME: Final = "elapsed_time"
ELAPSED_TIME_LABEL: Final = DriverLabel.uncountable("elapsed time")
LONGER_HISTORY: Final = "longer_history"
LONGER_HISTORY_LABEL: Final = DriverLabel.uncountable("a longer history")
_TIME_KEYS: Final = frozenset({ELAPSED_TIME, LONGER_HISTORY})
# Drivers of what an event took back or rescored, not of what the event itself was.
_WITHDRAWAL_KEYS: Final = frozenset(
    {*(f"settled.{kind}" for kind in OVERDUE_KINDS), "rescored.late", "rescored.kept"}
)
_RELATIVE_FLOOR: Final = 0.1
_NUMBERS: Final = (
    "zero one two three four five six seven eight nine ten eleven twelve".split()  # noqa: SIM905
)


@dataclass(frozen=True, slots=True)
class Driver:
    """Evidence under one label and its effect, in score points."""

    key: str
    """The rule of the (first) evidence, e.g. ``delivery_late``, or ``elapsed_time``."""
    label: DriverLabel
    trust_points: float
    loyalty_points: float
    count: int = 1
    """Events contributing (1 in a per-event explanation)."""
    event_ids: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """``time`` for the passage of time, ``event`` for an event's evidence."""
        return "time" if self.key in _TIME_KEYS else "event"

    @property
    def size(self) -> float:
        """Size of the effect, for ranking."""
        return abs(self.trust_points) + abs(self.loyalty_points)

    @property
    def phrase(self) -> str:
        """``a late delivery``, ``two late deliveries``, ``frustration``."""
        if self.count == 1 or not self.label.countable:
            return self.label.singular
        return f"{number_word(self.count)} {self.label.plural}"


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why one event moved a customer's scores."""

    event_id: str
    customer_id: str
    kind: SignalKind
    occurred_at: datetime
    before: Scores
    after: Scores
    drivers: tuple[Driver, ...]
    """Strongest first; they add up to the change (up to float rounding)."""
    subject: str
    """What the event was, in words: ``a late delivery``."""
    summary: str
    late: bool
    """True if the event is older than the customer's ``as_of``: it arrived out of order."""
    base: TrustLoyalty | None = None
    """Trust and loyalty after the passage of time up to the event, before its evidence:
    ``before`` to ``base`` is time, ``base`` to ``after`` is the event."""

    @property
    def trust_points(self) -> float:
        return 100.0 * (self.after.trust - self.before.trust)

    @property
    def time_trust_points(self) -> float:
        return 0.0 if self.base is None else 100.0 * (self.base.trust - self.before.trust)

    @property
    def time_loyalty_points(self) -> float:
        return 0.0 if self.base is None else self.base.loyalty - self.before.loyalty

    @property
    def event_trust_points(self) -> float:
        return self.trust_points - self.time_trust_points

    @property
    def event_loyalty_points(self) -> float:
        return self.loyalty_points - self.time_loyalty_points

    @property
    def loyalty_points(self) -> float:
        return self.after.loyalty - self.before.loyalty

    @property
    def config_version(self) -> str:
        return self.after.config_version


@dataclass(frozen=True, slots=True)
class WindowSummary:
    """What moved a customer's scores over several events (e.g. since the last update)."""

    customer_id: str
    events: int
    trust_points: float
    loyalty_points: float
    drivers: tuple[Driver, ...]
    summary: str


def number_word(n: int) -> str:
    return _NUMBERS[n] if 0 <= n < len(_NUMBERS) else str(n)


def fold(
    state: CustomerState,
    signal: Signal,
    config: ScoringConfig,
    *,
    clock_us: int | None = None,
    before: Scores | None = None,
    withdrawn: Sequence[Withdrawal] = (),
) -> tuple[CustomerState, Explanation]:
    """Apply a signal; return the new state and why the scores moved.

    The new state is exactly ``apply(state, signal, config)`` after ``withdrawn`` is taken
    back (the overdue penalties of promises the event settles); the explanation costs a few
    extra score evaluations (use ``apply`` for replays). ``clock_us`` is the event time the
    customer's last published scores refer to (a watermark may have moved them past the
    state's ``as_of``): the change is measured from there, and the time that passed until the
    event is kept apart from the event's own effect. ``before``: the scores of ``state`` at
    that time, if the caller has them already (saves evaluating them again).
    """
    check_signal(state, signal, config)
    occurred = signal.occurred_us
    items = evidence_for(signal, config)
    # Withdrawn first, exactly as it was added (at its own time): the sums are linear.
    held, state = state, _withdraw(state, withdrawn, config)
    # The passage of time (and the event's own bookkeeping: first seen, event count), no
    # evidence yet; the event's evidence is added to it: the same state as adding it to
    # ``state`` directly (the same decayed sums plus the same weights), decayed once.
    base = add_evidence(state, (), occurred, config)
    after_state = add_evidence(base, items, occurred, config, count_event=False)
    previous = state.as_of_us
    if clock_us is not None and (previous is None or clock_us > previous):
        previous = clock_us
    at = occurred if previous is None else max(previous, occurred)
    if before is None:
        before = scores_at(held, config, previous)
    after = scores_at(after_state, config, at)
    late = previous is not None and occurred < previous

    # A late event moves no time forward, but one older than the first seen lengthens the
    # history over which frequency and spend are averaged.
    older_than_history = state.first_seen_us is not None and occurred < state.first_seen_us
    time_key, time_label = (
        (LONGER_HISTORY, LONGER_HISTORY_LABEL)
        if late and older_than_history
        else (ELAPSED_TIME, ELAPSED_TIME_LABEL)
    )
    # Only trust and loyalty are read of it: the rest of the scores would go unread.
    base_scores = trust_and_loyalty_at(base, config, at)
    base_points: tuple[float, float] = base_scores
    after_points = _trust_loyalty(after)
    # Time is measured with the withdrawn evidence still in (it was, until the event), then
    # each withdrawal is a driver of the event's own: the event lifted that penalty.
    lifted, event_base = _withdrawal_drivers(
        held, withdrawn, base_scores=base_scores, signal=signal, config=config, at=at
    )
    time_driver = _driver(time_key, time_label, _trust_loyalty(before), event_base, signal)
    # The event's evidence, one group per label, attributed from the strongest alone down
    # (trust and loyalty are all the attribution reads).
    groups = _groups(items)
    alone: dict[DriverLabel, tuple[CustomerState, tuple[float, float]]] = {}
    if len(groups) > 1:
        for label, group in groups.items():
            alone_state = add_evidence(base, group, occurred, config, count_event=False)
            alone[label] = (alone_state, trust_and_loyalty_at(alone_state, config, at))
        order = sorted(
            groups, key=lambda label: (-_size(base_points, alone[label][1]), label.singular)
        )
    else:
        order = list(groups)  # one label: nothing to rank
    drivers = [time_driver, *lifted]
    current, current_points = base, base_points
    for position, label in enumerate(order):
        group = groups[label]
        if position == len(order) - 1:
            current, next_points = after_state, after_points  # exact total, whatever the rounding
        elif position == 0:
            current, next_points = alone[label]  # the strongest alone: evaluated already
        else:
            current = add_evidence(current, group, occurred, config, count_event=False)
            next_points = trust_and_loyalty_at(current, config, at)
        drivers.append(_driver(group[0].key, label, current_points, next_points, signal))
        current_points = next_points
    if not order:
        # No evidence: the event's bookkeeping (count, first seen) is its whole effect.
        drivers.append(
            _driver(
                rule_key(signal, config),
                subject_label(signal, config),
                base_points,
                after_points,
                signal,
            )
        )
    kept = tuple(
        sorted((d for d in drivers if d.key not in _TIME_KEYS or d.size > 0), key=_by_size)
    )
    event_drivers = tuple(d for d in kept if d.key not in _TIME_KEYS)
    # What the event was is its own evidence, not the penalty it lifted.
    subject = _subject([d for d in kept if d.key not in _WITHDRAWAL_KEYS], signal, config)
    summary = _summary(
        held,
        signal,
        config,
        scores=(before, event_base, after),
        drivers=event_drivers,
        time_driver=time_driver,
        times=(previous, at),
        subject=subject,
    )
    explanation = Explanation(
        event_id=signal.event_id,
        customer_id=signal.customer_id,
        kind=signal.kind,
        occurred_at=signal.occurred_at,
        before=before,
        after=after,
        drivers=kept,
        subject=subject,
        summary=summary,
        late=late,
        base=event_base,
    )
    return after_state, explanation


def _withdraw(
    state: CustomerState, withdrawn: Sequence[Withdrawal], config: ScoringConfig
) -> CustomerState:
    for withdrawal in withdrawn:
        state = take_back(state, withdrawal, config)
    return state


def _withdrawal_drivers(
    held: CustomerState,
    withdrawn: Sequence[Withdrawal],
    *,
    base_scores: TrustLoyalty,
    signal: Signal,
    config: ScoringConfig,
    at: int,
) -> tuple[list[Driver], TrustLoyalty]:
    """The drivers of the withdrawn evidence, one per kind (``two overdue promises settled``),
    adding up to the change from ``held`` to the withdrawn state at ``at``; and the (trust,
    loyalty) of ``held`` moved to the event's time: where time ends and the withdrawals
    start."""
    if not withdrawn:
        return [], base_scores
    occurred = signal.occurred_us
    start = trust_and_loyalty_at(add_evidence(held, (), occurred, config), config, at)
    kinds: dict[str, list[Withdrawal]] = {}
    for withdrawal in withdrawn:
        kinds.setdefault(withdrawal.key, []).append(withdrawal)
    drivers = []
    current, points = held, start
    for position, (key, group) in enumerate(kinds.items()):
        if position == len(kinds) - 1:
            after_points = base_scores  # the exact state the event's evidence starts from
        else:
            current = _withdraw(current, group, config)
            moved = add_evidence(current, (), occurred, config)
            after_points = trust_and_loyalty_at(moved, config, at)
        driver = _driver(key, group[0].label, points, after_points, signal)
        drivers.append(replace(driver, count=len(group)))
        points = after_points
    return drivers, start


def _summary(
    state: CustomerState,
    signal: Signal,
    config: ScoringConfig,
    *,
    scores: tuple[Scores, TrustLoyalty, Scores],
    drivers: tuple[Driver, ...],
    time_driver: Driver,
    times: tuple[int | None, int],
    subject: str,
) -> str:
    """The event's effect, the time before it (if material), the segment's cause, the
    confidence; the note on time goes first if the line is too long (the deltas carry it)."""
    before, base_scores, after = scores
    previous, at = times
    event_trust = 100.0 * (after.trust - base_scores.trust)
    event_loyalty = after.loyalty - base_scores.loyalty
    summary = describe(event_trust, event_loyalty, drivers, config, f"after {subject}")
    time_note = _time_note(time_driver, previous, signal.occurred_us, config)
    segment_text = ""
    if before.segment != after.segment:
        # The cause: time alone, if the state without the event's evidence or bookkeeping
        # already had the new segment at the event's time; otherwise the event.
        by_time = scores_at(state, config, at).segment == after.segment
        cause = (
            _idle_phrase(before, previous, at)
            if by_time
            else f"{subject} on {_date(signal.occurred_at)}"
        )
        segment_text = segment_note(before, after, cause)
    confidence = LOW_CONFIDENCE if after.low_confidence(config) else ""
    tail = segment_text + confidence

    # Too long: the event names fewer drivers ("and 2 more") before the note on time goes,
    # since without that note the summary no longer adds up to the deltas; then, without it,
    # fewer drivers again before the event's part is cut. The segment's cause and the
    # confidence are what a reader must not lose (a cut at the end left "(low confi").
    def fitted(room: int) -> str | None:
        for named in range(config.explanation.max_drivers, 0, -1):
            text = describe(
                event_trust, event_loyalty, drivers, config, f"after {subject}", max_drivers=named
            )
            if len(text) <= room:
                return text
        return None

    if len(summary + time_note + tail) > SUMMARY_MAX and time_note:
        shorter = fitted(SUMMARY_MAX - len(time_note + tail))
        if shorter is not None:
            summary = shorter
        else:
            time_note = ""
    if len(summary + time_note + tail) > SUMMARY_MAX:
        room = SUMMARY_MAX - len(time_note + tail)
        summary = fitted(room) or _shorten_at_word(summary, room)
    return (summary + time_note + tail)[:SUMMARY_MAX]


def _shorten_at_word(text: str, room: int) -> str:
    if len(text) <= room:
        return text
    head = text[: max(0, room - 1)].rsplit(" ", 1)[0].rstrip(" ,;:")
    return head + "…"


LOW_CONFIDENCE: Final = " (low confidence)"
SUMMARY_MAX: Final = 200
_SEGMENT_PHRASES: Final = {
    "new": "a new customer",
    "champion": "a champion",
    "loyal": "loyal",
    "passive": "passive",
    "at_risk": "at risk",
    "detractor": "a detractor",
}


def _date(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def segment_note(before: Scores, after: Scores, cause: str) -> str:
    """``. Now a detractor: a detractor NPS answer on 3 March 2026`` when the segment changed."""
    if before.segment == after.segment:
        return ""
    return f". Now {_SEGMENT_PHRASES[after.segment.value]}: {cause}"


def duration(days: float) -> str:
    """``3 days``, ``5 weeks``, ``9 months``, ``2 years``."""
    if days < 14:
        n, unit = max(1, round(days)), "day"
    elif days < 60:
        n, unit = round(days / 7), "week"
    elif days < 730:
        n, unit = round(days / 30.4), "month"
    else:
        n, unit = round(days / 365.25), "year"
    return f"{n} {unit}{'' if n == 1 else 's'}"


_US_PER_DAY: Final = 86_400_000_000


def _idle_phrase(scores_: Scores, since_us: int | None, until_us: int) -> str:
    days = 0.0 if since_us is None else (until_us - since_us) / _US_PER_DAY
    return f"{duration(scores_.idle_days + days)} without activity"


def _signed(points: float) -> str:
    n = max(1, math.floor(abs(points) + 0.5))
    return f"{'+' if points > 0 else '-'}{n}"


def time_phrase(trust_points: float, loyalty_points: float, config: ScoringConfig) -> str:
    """``trust -26, loyalty -11``: the moves of at least ``min_points``."""
    floor = config.explanation.min_points
    parts = []
    if abs(trust_points) >= floor:
        parts.append(f"trust {_signed(trust_points)}")
    if abs(loyalty_points) >= floor:
        parts.append(f"loyalty {_signed(loyalty_points)}")
    return ", ".join(parts)


def _time_note(driver: Driver, previous: int | None, occurred: int, config: ScoringConfig) -> str:
    """The passage of time before the event, kept apart from the event's own effect."""
    material = config.publishing.time_update_points
    biggest = max(abs(driver.trust_points), abs(driver.loyalty_points))
    if driver.key != ELAPSED_TIME or previous is None or biggest < material:
        return ""  # below what a time update would publish: part of the routine
    moved = time_phrase(driver.trust_points, driver.loyalty_points, config)
    return f" ({duration((occurred - previous) / _US_PER_DAY)} since the last update: {moved})"


def _groups(items: Iterable[Evidence]) -> dict[DriverLabel, list[Evidence]]:
    groups: dict[DriverLabel, list[Evidence]] = {}
    for item in items:
        groups.setdefault(item.label, []).append(item)
    return groups


def _trust_loyalty(scores: Scores) -> tuple[float, float]:
    return scores.trust, scores.loyalty


def _size(before: tuple[float, float], after: tuple[float, float]) -> float:
    """Size of a change of (trust, loyalty), in points."""
    return abs(100.0 * (after[0] - before[0])) + abs(after[1] - before[1])


def _by_size(driver: Driver) -> tuple[float, str]:
    return (-driver.size, driver.label.singular)


def _driver(
    key: str,
    label: DriverLabel,
    before: tuple[float, float],
    after: tuple[float, float],
    signal: Signal,
) -> Driver:
    """The driver of a change of (trust, loyalty)."""
    return Driver(
        key=key,
        label=label,
        trust_points=100.0 * (after[0] - before[0]),
        loyalty_points=after[1] - before[1],
        count=1,
        event_ids=(signal.event_id,),
    )


def _subject(drivers: Sequence[Driver], signal: Signal, config: ScoringConfig) -> str:
    """What the event was, in words: its strongest evidence, else its answer or rule's label."""
    for driver in drivers:
        if driver.key not in _TIME_KEYS:
            return driver.phrase
    return subject_label(signal, config).singular


def summarize(explanations: Sequence[Explanation], config: ScoringConfig) -> WindowSummary:
    """Aggregate the explanations of consecutive events of one customer (e.g. since the last
    published update). Drivers with the same label add up and count events: "two late
    deliveries". The changes are the sums of the events' changes, which telescope to
    "last after - first before" when the explanations are consecutive.
    """
    if not explanations:
        raise ValueError("nothing to summarize")
    customers = {e.customer_id for e in explanations}
    if len(customers) != 1:
        raise ValueError(f"explanations of several customers: {sorted(customers)}")
    merged: dict[str, Driver] = {}
    for explanation in explanations:
        for driver in explanation.drivers:
            known = merged.get(driver.label.singular)
            merged[driver.label.singular] = (
                driver
                if known is None
                else replace(
                    known,
                    trust_points=known.trust_points + driver.trust_points,
                    loyalty_points=known.loyalty_points + driver.loyalty_points,
                    count=known.count + driver.count,
                    event_ids=known.event_ids + driver.event_ids,
                )
            )
    drivers = tuple(sorted(merged.values(), key=_by_size))
    trust_points = sum(e.trust_points for e in explanations)
    loyalty_points = sum(e.loyalty_points for e in explanations)
    n = len(explanations)
    fallback = f"after {explanations[0].subject}" if n == 1 else f"over {n} events"
    return WindowSummary(
        customer_id=explanations[0].customer_id,
        events=n,
        trust_points=trust_points,
        loyalty_points=loyalty_points,
        drivers=drivers,
        summary=describe(trust_points, loyalty_points, drivers, config, fallback),
    )


def _points(points: float) -> str:
    n = max(1, math.floor(abs(points) + 0.5))
    return f"{'rose' if points > 0 else 'fell'} {n} point{'' if n == 1 else 's'}"


def _phrase(drivers: Sequence[Driver], limit: int, total: float = 0.0, score: str = "trust") -> str:
    if drivers and drivers[0].label.tone * total < 0:
        # Only drivers against their tone moved the score (``_agreeing``): the strongest, with
        # the reason right after it, so that a summary cut at its length keeps it. Loyalty is
        # a weighted mix: criticism that adds weight to a sub-dimension above the rest can
        # lift it (and split grading pulls a score toward the grade).
        reason = "milder" if total > 0 else "less warm"
        first = f"{drivers[0].phrase}, though {reason} than their {score} so far"
        rest = len(drivers) - 1
        return first if rest == 0 else f"{first}, and {rest} more"
    parts = [driver.phrase for driver in drivers[:limit]]
    if len(drivers) > limit:
        parts.append(f"{len(drivers) - limit} more")
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def _agreeing(
    drivers: Iterable[Driver], effect: Callable[[Driver], float], total: float, floor: float
) -> list[Driver]:
    """Drivers that pushed in the direction of ``total``, strongest first.

    The strongest is always named; the others if their effect reaches ``floor`` points and a
    tenth of the strongest's (elapsed time is rarely worth naming next to a broken promise).
    A driver whose tone is against the move (criticism that raised a score) gives way to those
    in tone that reach that bar ("Trust rose 6 points: praise for our communication", not "...
    and criticism of delivery reliability"); if none does, the drivers against their tone are
    named (``_phrase`` then says why).
    """
    effects = [(abs(effect(d)), d) for d in drivers if effect(d) * total > 0]
    if not effects:
        return []
    effects.sort(key=lambda pair: (-pair[0], pair[1].label.singular))
    bar = max(floor, _RELATIVE_FLOOR * effects[0][0])
    in_tone = [pair for pair in effects if pair[1].label.tone * total >= 0 and pair[0] >= bar]
    if in_tone:
        effects = in_tone
    first = effects[0][1]
    return [first, *(d for size, d in effects[1:] if size >= bar)]


def describe(
    trust_points: float,
    loyalty_points: float,
    drivers: Sequence[Driver],
    config: ScoringConfig,
    fallback: str,
    *,
    max_drivers: int | None = None,
) -> str:
    """One line for people: "Trust fell 12 points: two late deliveries and a billing error".

    Changes below ``explanation.min_points`` read as steady ("Trust and loyalty steady after a
    purchase", ``fallback`` completing the sentence); the drivers named are those that pushed
    in the direction of the change, strongest first, at most ``explanation.max_drivers``.
    """
    settings = config.explanation
    floor = settings.min_points / 5.0
    limit = settings.max_drivers if max_drivers is None else max_drivers
    trust_moved = abs(trust_points) >= settings.min_points
    loyalty_moved = abs(loyalty_points) >= settings.min_points

    def on_trust(d: Driver) -> float:
        return d.trust_points

    def on_loyalty(d: Driver) -> float:
        return d.loyalty_points

    if not trust_moved and not loyalty_moved:
        return f"Trust and loyalty steady {fallback}"
    if trust_moved and not loyalty_moved:
        named = _agreeing(drivers, on_trust, trust_points, floor)
        return f"Trust {_points(trust_points)}: {_phrase(named, limit, trust_points)}"
    if loyalty_moved and not trust_moved:
        named = _agreeing(drivers, on_loyalty, loyalty_points, floor)
        phrase = _phrase(named, limit, loyalty_points, "loyalty")
        return f"Loyalty {_points(loyalty_points)}: {phrase}"
    head = f"Trust {_points(trust_points)} and loyalty {_points(loyalty_points)}"
    if trust_points * loyalty_points > 0:
        named = _agreeing(drivers, lambda d: d.trust_points + d.loyalty_points, trust_points, floor)
        return f"{head}: {_phrase(named, limit, trust_points, 'scores')}"
    trust_named = _agreeing(drivers, on_trust, trust_points, floor)
    loyalty_named = _agreeing(drivers, on_loyalty, loyalty_points, floor)
    return (
        f"Trust {_points(trust_points)} ({_phrase(trust_named, limit, trust_points)}) and "
        f"loyalty {_points(loyalty_points)} "
        f"({_phrase(loyalty_named, limit, loyalty_points, 'loyalty')})"
    )
