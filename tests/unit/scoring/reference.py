"""A single-process, in-memory fold of the annotated topic: what the database must equal.

It uses the pure pieces (``to_input``, ``score_event``) and re-states the service's rules in a
few lines (one application per customer and event id, erasures reset a customer), with no
database, no outbox and no Kafka. Tests compare the service's database with it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from schemas import Alert, AnnotatedEvent, ScoreUpdate
from services.scoring.domain import CustomerRecord, erased_before, score_event
from services.scoring.model import REL_TOL, CustomerState, Scores, ScoringConfig
from services.scoring.signals import to_input
from services.scoring.store import SCORE_COLUMNS
from services.scoring.watermark import next_review_us, review_until, watermark_after


@dataclass(frozen=True)
class Tick:
    """A recorded wall-clock tick in a partition's log (microseconds)."""

    at_us: int


@dataclass
class Reference:
    records: dict[str, CustomerRecord] = field(default_factory=dict)
    scores: dict[str, Scores] = field(default_factory=dict)
    processed: set[tuple[str, str]] = field(default_factory=set)
    updates: list[ScoreUpdate] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    erasures: list[str] = field(default_factory=list)
    """Event ids of the erasure requests carried out."""
    erased_at: dict[str, int] = field(default_factory=dict)
    """Customer -> time of their last erasure: events dated up to it are dropped."""
    alert_ids: dict[str, set[str]] = field(default_factory=dict)
    """Customer -> ids of the alerts the database keeps (an erasure deletes them)."""


def _advance(ref: Reference, reviews: dict[str, int], until: int, config: ScoringConfig) -> None:
    """The watermark's rule restated: every customer of the partition whose review time it
    reached is reviewed, in customer order, at each of their review times up to it."""
    for customer in sorted(c for c, at in reviews.items() if at <= until):
        _review(ref, reviews, customer, until, config)


def _review(
    ref: Reference, reviews: dict[str, int], customer: str, until: int, config: ScoringConfig
) -> None:
    record, published, after = review_until(ref.records[customer], reviews[customer], until, config)
    ref.records[customer] = record
    for outcome in published:
        assert outcome.update is not None
        ref.scores[customer] = outcome.after
        ref.updates.append(outcome.update)
        ref.alerts.extend(outcome.alerts)
        ref.alert_ids.setdefault(customer, set()).update(a.alert_id for a in outcome.alerts)
    assert after is not None
    reviews[customer] = after


def reference_fold(
    partitions: Iterable[Sequence[bytes | AnnotatedEvent | Tick]], config: ScoringConfig
) -> Reference:
    ref = Reference()
    done_erasures: set[str] = set()
    for records in partitions:
        watermark: int | None = None
        reviews: dict[str, int] = {}
        for value in records:
            seen: int | None
            if isinstance(value, Tick):
                seen = value.at_us
            else:
                seen = _fold_one(ref, done_erasures, reviews, value, config)
            if seen is not None:
                moved = watermark_after(watermark, seen, config)
                if moved != watermark:
                    watermark = moved
                    _advance(ref, reviews, watermark, config)
    return ref


def _fold_one(
    ref: Reference,
    done_erasures: set[str],
    reviews: dict[str, int],
    value: bytes | AnnotatedEvent,
    config: ScoringConfig,
) -> int | None:
    """Fold one record; its event time if it moves the watermark (a scored event)."""
    event = (
        value if isinstance(value, AnnotatedEvent) else AnnotatedEvent.model_validate_json(value)
    )
    inp = to_input(event, config)
    customer, event_id = inp.signal.customer_id, inp.signal.event_id
    if inp.is_erasure:
        if event_id in done_erasures:
            return None
        done_erasures.add(event_id)
        ref.erasures.append(event_id)
        occurred = inp.signal.occurred_us
        ref.erased_at[customer] = max(occurred, ref.erased_at.get(customer, occurred))
        ref.records.pop(customer, None)
        ref.scores.pop(customer, None)
        ref.alert_ids.pop(customer, None)
        reviews.pop(customer, None)
        ref.processed = {k for k in ref.processed if k[0] != customer}
        return None
    occurred = inp.signal.occurred_us
    if customer in reviews and reviews[customer] <= occurred:
        _review(ref, reviews, customer, occurred, config)  # due by the event's time: first
    if (customer, event_id) in ref.processed:
        return inp.signal.occurred_us
    erased_at = ref.erased_at.get(customer)
    if erased_before(inp.signal, erased_at):
        return inp.signal.occurred_us  # erasure is final
    record = ref.records.get(customer) or CustomerRecord.empty(customer)
    if erased_at is not None and record.state.as_of_us is None:
        record = replace(record, tracker=replace(record.tracker, erased_before_us=erased_at))
    outcome = score_event(record, inp, config)
    ref.records[customer] = outcome.record
    ref.scores[customer] = outcome.scores
    ref.processed.add((customer, event_id))
    if outcome.time is not None and outcome.time.update is not None:
        ref.updates.append(outcome.time.update)
    if outcome.publish:
        ref.updates.append(outcome.update)
    ref.alerts.extend(outcome.alerts)
    ref.alert_ids.setdefault(customer, set()).update(a.alert_id for a in outcome.alerts)
    review = next_review_us(outcome.record, config)
    assert review is not None
    reviews[customer] = review
    return inp.signal.occurred_us


def assert_state_rows_match(
    rows: Mapping[str, Mapping[str, Any]], ref: Reference, rel_tol: float = REL_TOL
) -> None:
    """Every customer's stored state and scores equal the reference's (floats to ``rel_tol``)."""
    assert sorted(rows) == sorted(ref.records)
    for customer, row in rows.items():
        record = ref.records[customer]
        stored = CustomerState.from_row(row)
        assert stored.isclose(record.state, rel_tol=rel_tol), customer
        scores = ref.scores[customer]
        for name in SCORE_COLUMNS:
            assert math.isclose(row[name], getattr(scores, name), rel_tol=rel_tol, abs_tol=1e-12), (
                customer,
                name,
            )
        assert row["segment"] == scores.segment.value
        assert row["recent_events"] == [e.to_json() for e in record.recent]
