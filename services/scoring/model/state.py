"""A customer's state: a commutative fold of decayed evidence.

The state holds, per channel, the sum of positive and the sum of negative evidence, each
decayed to the state's reference time ``as_of`` (the latest ``occurred_at`` folded in), plus
the first and last event times that matter (min and max) and a count. Folding evidence ``w``
of time ``t`` into sums ``S`` referenced at ``t_ref``, with ``h`` the channel's half-life:

* ``t <= t_ref``: ``S += w * 2**(-(t_ref - t) / h)``;
* ``t > t_ref``: ``S = S * 2**(-(t - t_ref) / h) + w`` and ``t_ref = t``.

Either way ``S(t_ref) = sum_i w_i * 2**(-(t_ref - t_i) / h)`` exactly in real arithmetic,
whatever the order; min, max and + are commutative and associative, so ``merge`` makes states
a commutative monoid (``CustomerState.empty`` is the identity) and any order of folding, any
split into partial states, and any replay give the same state up to float rounding: relative
``REL_TOL`` (absolute ``ABS_TOL`` near zero); see ``docs/scoring.md`` for the choice of this
representation over an epoch-relative one.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from services.scoring.model.channels import (
    ACCUMULATORS,
    Channel,
    Polarity,
    accumulator_index,
    accumulator_name,
)
from services.scoring.model.config import ScoringConfig
from services.scoring.model.evidence import Evidence, Withdrawal, evidence_for
from services.scoring.model.signal import Signal, from_us, to_us

STATE_VERSION: Final = 2
"""Layout version of ``to_row``; bump it when accumulators are added or renamed."""
REL_TOL: Final = 1e-9
"""Two states built from the same events in any order agree to this relative tolerance."""
ABS_TOL: Final = 1e-12
"""... or to this absolute one, for sums that have decayed to (almost) nothing."""
_ZEROS: Final = (0.0,) * ACCUMULATORS
_ACCUMULATOR_NAMES: Final = tuple(accumulator_name(i) for i in range(ACCUMULATORS))
_ACTIVITY: Final = accumulator_index(Channel.ACTIVITY, Polarity.POSITIVE)
_POSITIVE_INDEX: Final = {c: accumulator_index(c, Polarity.POSITIVE) for c in Channel}


class StateMismatchError(ValueError):
    """Two states of different customers, or built with different configurations."""


@dataclass(frozen=True, slots=True)
class CustomerState:
    """Decayed evidence of one customer. Times are integer microseconds since the Unix epoch."""

    customer_id: str
    as_of_us: int | None = None
    """Reference time of ``sums``: the latest ``occurred_at`` folded in (None: no events)."""
    sums: tuple[float, ...] = _ZEROS
    """Per channel (``CHANNELS`` order): positive then negative evidence, decayed to as_of."""
    first_seen_us: int | None = None
    """The earliest ``occurred_at`` folded in."""
    last_activity_us: int | None = None
    """The latest ``occurred_at`` of an event with positive activity evidence."""
    event_count: int = 0
    config_hash: str | None = None
    """``content_hash`` of the configuration the evidence was weighted with."""

    @classmethod
    def empty(cls, customer_id: str) -> CustomerState:
        return cls(customer_id)

    @property
    def as_of(self) -> datetime | None:
        return None if self.as_of_us is None else from_us(self.as_of_us)

    @property
    def first_seen_at(self) -> datetime | None:
        return None if self.first_seen_us is None else from_us(self.first_seen_us)

    @property
    def last_activity_at(self) -> datetime | None:
        return None if self.last_activity_us is None else from_us(self.last_activity_us)

    def evidence(self, channel: Channel) -> tuple[float, float]:
        """(positive, negative) evidence of a channel at ``as_of``."""
        i = _POSITIVE_INDEX[channel]
        return self.sums[i], self.sums[i + 1]

    def isclose(self, other: CustomerState, rel_tol: float = REL_TOL) -> bool:
        """Equal up to float rounding: what order independence guarantees."""
        return (
            self.customer_id == other.customer_id
            and self.as_of_us == other.as_of_us
            and self.first_seen_us == other.first_seen_us
            and self.last_activity_us == other.last_activity_us
            and self.event_count == other.event_count
            and self.config_hash == other.config_hash
            and all(
                math.isclose(a, b, rel_tol=rel_tol, abs_tol=ABS_TOL)
                for a, b in zip(self.sums, other.sums, strict=True)
            )
        )

    def to_row(self) -> dict[str, Any]:
        """Plain values for a database row: floats, ints, aware datetimes, strings, None."""
        row: dict[str, Any] = {
            "customer_id": self.customer_id,
            "state_version": STATE_VERSION,
            "as_of": self.as_of,
            "first_seen_at": self.first_seen_at,
            "last_activity_at": self.last_activity_at,
            "event_count": self.event_count,
            "config_hash": self.config_hash,
        }
        row.update(zip(_ACCUMULATOR_NAMES, self.sums, strict=True))
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CustomerState:
        """Inverse of ``to_row``; datetimes may also be ISO 8601 strings (JSON)."""
        version = row.get("state_version", STATE_VERSION)
        if version != STATE_VERSION:
            raise ValueError(f"state_version {version} is not {STATE_VERSION}: rebuild the state")
        return cls(
            customer_id=str(row["customer_id"]),
            as_of_us=_us_or_none(row.get("as_of")),
            sums=tuple(float(row[name]) for name in _ACCUMULATOR_NAMES),
            first_seen_us=_us_or_none(row.get("first_seen_at")),
            last_activity_us=_us_or_none(row.get("last_activity_at")),
            event_count=int(row["event_count"]),
            config_hash=row.get("config_hash"),
        )


def _us_or_none(value: datetime | str | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return to_us(value)


def _decay(value: float, elapsed_us: int, per_us: float) -> float:
    if elapsed_us == 0 or value == 0.0:
        return value
    return value * math.exp2(-elapsed_us * per_us)


def _decayed_sums(state: CustomerState, to_us_: int, config: ScoringConfig) -> tuple[float, ...]:
    if state.as_of_us is None or state.as_of_us == to_us_:
        return state.sums
    elapsed = to_us_ - state.as_of_us
    if elapsed < 0:
        raise ValueError("cannot decay a state backwards in event time")
    # One factor per channel (both polarities decay alike): half the exp2 calls of decaying
    # each accumulator on its own, the same values (this runs several times per event).
    factors = [math.exp2(-elapsed * rate) for rate in config.decay_per_us for _ in (0, 1)]
    return tuple(map(operator.mul, state.sums, factors))


def advance(state: CustomerState, as_of_us: int, config: ScoringConfig) -> CustomerState:
    """The same evidence referenced at a later event time (sums decayed, as_of moved)."""
    if state.as_of_us is not None and as_of_us < state.as_of_us:
        raise ValueError("as_of cannot move backwards")
    # Built directly rather than with ``dataclasses.replace`` (several times cheaper, and
    # scores are evaluated at a later time several times per event).
    return CustomerState(
        customer_id=state.customer_id,
        as_of_us=as_of_us,
        sums=_decayed_sums(state, as_of_us, config),
        first_seen_us=state.first_seen_us,
        last_activity_us=state.last_activity_us,
        event_count=state.event_count,
        config_hash=state.config_hash,
    )


def _check_compatible(a: CustomerState, b: CustomerState) -> None:
    if a.customer_id != b.customer_id:
        raise StateMismatchError(f"customers differ: {a.customer_id!r} vs {b.customer_id!r}")
    if a.config_hash is not None and b.config_hash is not None and a.config_hash != b.config_hash:
        raise StateMismatchError(
            f"states built with different configurations ({a.config_hash[:12]} vs "
            f"{b.config_hash[:12]}): rebuild from the events"
        )


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def merge(a: CustomerState, b: CustomerState, config: ScoringConfig) -> CustomerState:
    """One state with the evidence of both: associative and commutative, ``empty`` is neutral.

    The two must not share events (the fold is not idempotent): the scoring service applies
    each event id once.
    """
    _check_compatible(a, b)
    as_of = _max(a.as_of_us, b.as_of_us)
    if as_of is None:
        sums = _ZEROS
    else:
        sums_a = _decayed_sums(a, as_of, config)
        sums_b = _decayed_sums(b, as_of, config)
        sums = tuple(x + y for x, y in zip(sums_a, sums_b, strict=True))
    return CustomerState(
        customer_id=a.customer_id,
        as_of_us=as_of,
        sums=sums,
        first_seen_us=_min(a.first_seen_us, b.first_seen_us),
        last_activity_us=_max(a.last_activity_us, b.last_activity_us),
        event_count=a.event_count + b.event_count,
        config_hash=a.config_hash or b.config_hash,
    )


def is_activity(items: Iterable[Evidence]) -> bool:
    """Whether evidence marks the customer as active (positive activity evidence)."""
    return any(
        item.channel is Channel.ACTIVITY and item.polarity is Polarity.POSITIVE for item in items
    )


def add_evidence(
    state: CustomerState,
    items: Sequence[Evidence],
    occurred_us: int,
    config: ScoringConfig,
    *,
    count_event: bool = True,
) -> CustomerState:
    """Fold evidence of one moment into a state (the rescaling rule of the module docstring)."""
    if state.as_of_us is None or occurred_us >= state.as_of_us:
        as_of = occurred_us
        base = list(_decayed_sums(state, as_of, config))
        elapsed = 0
    else:
        as_of = state.as_of_us
        base = list(state.sums)
        elapsed = as_of - occurred_us
    rates = config.decay_per_us
    for item in items:
        i = accumulator_index(item.channel, item.polarity)
        base[i] += _decay(item.weight, elapsed, rates[i // 2])
    last_activity = state.last_activity_us
    if is_activity(items):
        last_activity = _max(last_activity, occurred_us)
    return CustomerState(
        customer_id=state.customer_id,
        as_of_us=as_of,
        sums=tuple(base),
        first_seen_us=_min(state.first_seen_us, occurred_us),
        last_activity_us=last_activity,
        event_count=state.event_count + (1 if count_event else 0),
        config_hash=config.content_hash,
    )


def withdraw_evidence(
    state: CustomerState, items: Sequence[Evidence], occurred_us: int, config: ScoringConfig
) -> CustomerState:
    """The exact inverse of ``add_evidence(..., count_event=False)`` for evidence added
    earlier (the sums are linear in the evidence); rounding residue below zero is cut."""
    if not items:
        return state
    negated = [replace(item, weight=-item.weight) for item in items]
    added = add_evidence(state, negated, occurred_us, config, count_event=False)
    return replace(
        added,
        last_activity_us=state.last_activity_us,
        first_seen_us=state.first_seen_us,
        sums=tuple(max(0.0, value) for value in added.sums),
    )


def take_back(state: CustomerState, withdrawal: Withdrawal, config: ScoringConfig) -> CustomerState:
    """``withdrawal``'s evidence taken back at its time, and what it puts in its place (a
    swapped rule) added there: exact, since the sums are linear."""
    state = withdraw_evidence(state, withdrawal.evidence, withdrawal.at_us, config)
    if withdrawal.added:
        state = add_evidence(state, withdrawal.added, withdrawal.at_us, config, count_event=False)
    return state


def same_evidence(first: Sequence[Evidence], second: Sequence[Evidence]) -> bool:
    """Whether two rules give the same evidence (a swap between them would change nothing)."""
    return [(e.key, e.channel, e.weight) for e in first] == [
        (e.key, e.channel, e.weight) for e in second
    ]


def check_signal(state: CustomerState, signal: Signal, config: ScoringConfig) -> None:
    if signal.customer_id != state.customer_id:
        raise StateMismatchError(
            f"signal of {signal.customer_id!r} folded into the state of {state.customer_id!r}"
        )
    if state.config_hash is not None and state.config_hash != config.content_hash:
        raise StateMismatchError(
            f"state built with configuration {state.config_hash[:12]}, not "
            f"{config.short_hash}: rebuild it from the events"
        )


def apply(state: CustomerState, signal: Signal, config: ScoringConfig) -> CustomerState:
    """Fold one signal into a state, without an explanation (see ``explain.fold``)."""
    check_signal(state, signal, config)
    return add_evidence(state, evidence_for(signal, config), signal.occurred_us, config)


def apply_all(
    state: CustomerState, signals: Iterable[Signal], config: ScoringConfig
) -> CustomerState:
    for signal in signals:
        state = apply(state, signal, config)
    return state


def of_signal(signal: Signal, config: ScoringConfig) -> CustomerState:
    """The state of one signal alone: ``apply(s, x) == merge(s, of_signal(x))``."""
    return apply(CustomerState.empty(signal.customer_id), signal, config)
