"""One scored event, purely: a customer's record and an input in, the new record and the
outputs out. No database, no Kafka, no wall clock (the erasure's ``completed_at`` is passed in).

The service (``service.py``) loads records in bulk, calls ``score_event`` for each input in
offset order and writes everything back in one transaction; a rebuild and the tests' reference
fold call the same function, which is what makes their results equal to the service's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from schemas import Alert, ErasureCompleted, ScoreDeltas, ScoreDriver, ScoreUpdate, Segment
from schemas.downstream import MAX_DRIVERS
from services.scoring.alerts import AlertContext, AlertTracker, evaluate, published_segment
from services.scoring.model import MODEL_VERSION, Explanation, Scores, ScoringConfig, fold
from services.scoring.model import CustomerState as ModelState
from services.scoring.model.signal import from_us, to_us
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


@dataclass(frozen=True, slots=True)
class RecentEvent:
    """One of a customer's latest scored events and its effect, for the published drivers."""

    event_id: str
    event_type: str
    occurred_us: int
    trust_effect: float
    loyalty_effect: float

    @property
    def size(self) -> float:
        return abs(self.trust_effect) + abs(self.loyalty_effect)

    def to_json(self) -> list[Any]:
        return [
            self.event_id,
            self.event_type,
            self.occurred_us,
            self.trust_effect,
            self.loyalty_effect,
        ]

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

    @classmethod
    def empty(cls, customer_id: str) -> CustomerRecord:
        return cls(ModelState.empty(customer_id), AlertTracker())

    @property
    def customer_id(self) -> str:
        return self.state.customer_id


@dataclass(frozen=True, slots=True)
class Outcome:
    record: CustomerRecord
    explanation: Explanation
    update: ScoreUpdate
    alerts: list[Alert]

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
    return round(_clip(value, 0.0, 100.0), 4)


def _change(value: float) -> float:
    return round(_clip(value, -100.0, 100.0), 4)


def short(text: str, limit: int = SUMMARY_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def drivers(recent: tuple[RecentEvent, ...]) -> tuple[ScoreDriver, ...]:
    """The latest events, strongest effect first (latest first among equals)."""
    ranked = sorted(enumerate(recent), key=lambda item: (-item[1].size, -item[0]))
    # Built without re-validation: the ids and types come from validated events, the effects
    # are clipped to the contract's range (the hot path builds ten of them per event).
    return tuple(
        ScoreDriver.model_construct(
            event_id=event.event_id,
            event_type=event.event_type,
            occurred_at=from_us(event.occurred_us),
            trust_effect=_change(event.trust_effect),
            loyalty_effect=_change(event.loyalty_effect),
        )
        for _, event in ranked[:MAX_DRIVERS]
    )


def publish_update(
    record: CustomerRecord,
    explanation: Explanation,
    caused_by: str,
    config: ScoringConfig,
) -> ScoreUpdate:
    """The published update of a customer whose latest event had ``explanation``."""
    after = explanation.after
    as_of = after.as_of
    assert as_of is not None, "a state with an event has an as_of"
    return ScoreUpdate(
        customer_id=record.customer_id,
        tenant_id=record.tenant_id,
        score=_points(headline_score(after)),
        trust=_points(after.trust_points),
        trust_uncertainty=_points(100.0 * after.trust_stddev),
        loyalty=_points(after.loyalty),
        loyalty_uncertainty=_points(100.0 * after.loyalty_uncertainty),
        churn_risk=round(_clip(after.churn_risk, 0.0, 1.0), 6),
        segment=Segment(published_segment(after.segment.value)),
        deltas=ScoreDeltas(
            trust=_change(explanation.trust_points), loyalty=_change(explanation.loyalty_points)
        ),
        drivers=drivers(record.recent),
        summary=short(explanation.summary),
        event_count=after.event_count,
        as_of=as_of,
        caused_by_event_id=caused_by,
        model_version=MODEL_VERSION,
        config_version=config.version,
    )


def score_event(record: CustomerRecord, inp: ScoringInput, config: ScoringConfig) -> Outcome:
    """Fold one (non-erasure) input into a customer's record.

    Raises ``StateMismatchError`` if the record was built with another configuration.
    """
    signal = inp.signal
    state, explanation = fold(record.state, signal, config)
    if not all(math.isfinite(x) for x in state.sums):
        raise ValueError(f"event {signal.event_id} makes the state non-finite")
    tracker, alerts = evaluate(
        record.tracker,
        AlertContext(
            customer_id=signal.customer_id,
            tenant_id=inp.tenant_id or record.tenant_id,
            event_id=signal.event_id,
            kind=signal.kind,
            occurred_at=signal.occurred_at,
            before=explanation.before,
            after=explanation.after,
            summary=explanation.summary,
            nps=signal.nps,
            case_id=inp.case_id,
            responds_to_event_id=inp.responds_to_event_id,
        ),
        config.alerts,
    )
    recent = (
        *record.recent,
        RecentEvent(
            signal.event_id,
            inp.event_type,
            to_us(signal.occurred_at),
            explanation.trust_points,
            explanation.loyalty_points,
        ),
    )[-MAX_DRIVERS:]
    new = CustomerRecord(state, tracker, recent, inp.tenant_id or record.tenant_id)
    update = publish_update(new, explanation, signal.event_id, config)
    return Outcome(new, explanation, update, alerts)


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
