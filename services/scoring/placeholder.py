"""The walking skeleton's placeholder score (mean sentiment mapped to 0-100). **Not used by the
service**, which publishes the trust and loyalty model (``domain.score_event``).

Kept, and re-exported from ``services.scoring.domain``, only because
``tests/unit/schemas/test_canonicalisation.py`` still checks the ScoreUpdate shape through it;
delete this module once that test uses ``domain.score_event``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime

from schemas import AnnotatedEvent, ScoreDeltas, ScoreDriver, ScoreUpdate, Segment

MODEL_VERSION = "placeholder-mean-sentiment"
CONFIG_VERSION = "skeleton"
_NEUTRAL = 50.0
# Below this many events the placeholder does not pretend to know where a customer stands.
_MIN_EVENTS_FOR_SEGMENT = 3


@dataclass(frozen=True)
class CustomerState:
    customer_id: str
    sentiment_sum: float = 0.0
    sentiment_count: int = 0
    event_count: int = 0
    as_of: datetime | None = None

    @property
    def score(self) -> float:
        if self.sentiment_count == 0:
            return 50.0
        return round(50.0 + 50.0 * self.sentiment_sum / self.sentiment_count, 4)


def apply_event(state: CustomerState, annotated: AnnotatedEvent) -> CustomerState:
    occurred = annotated.event.occurred_at
    as_of = occurred if state.as_of is None else max(state.as_of, occurred)
    if annotated.sentiment is None:
        return replace(state, event_count=state.event_count + 1, as_of=as_of)
    return replace(
        state,
        sentiment_sum=state.sentiment_sum + annotated.sentiment.compound,
        sentiment_count=state.sentiment_count + 1,
        event_count=state.event_count + 1,
        as_of=as_of,
    )


def score_update(
    before: CustomerState, after: CustomerState, annotated: AnnotatedEvent
) -> ScoreUpdate:
    """The update published after ``annotated`` moved a customer from ``before`` to ``after``."""
    event = annotated.event
    trust_change = round(after.score - before.score, 4)
    # Shrinks with evidence like a standard error: 50 with no sentiment, 25 with three texts.
    trust_uncertainty = round(_NEUTRAL / math.sqrt(1 + after.sentiment_count), 4)
    return ScoreUpdate(
        customer_id=after.customer_id,
        tenant_id=event.tenant_id,
        score=after.score,
        trust=after.score,
        trust_uncertainty=trust_uncertainty,
        loyalty=_NEUTRAL,
        loyalty_uncertainty=_NEUTRAL,
        churn_risk=round((100.0 - after.score) / 100.0, 4),
        segment=_segment(after),
        deltas=ScoreDeltas(trust=trust_change, loyalty=0.0),
        drivers=(
            ScoreDriver(
                event_id=event.event_id,
                event_type=event.type,
                occurred_at=event.occurred_at,
                trust_effect=trust_change,
                loyalty_effect=0.0,
            ),
        ),
        summary=f"Trust {after.score:.0f} ({trust_change:+.1f}) after {event.type}",
        event_count=after.event_count,
        as_of=after.as_of or event.occurred_at,
        caused_by_event_id=event.event_id,
        model_version=MODEL_VERSION,
        config_version=CONFIG_VERSION,
    )


def _segment(state: CustomerState) -> Segment:
    if state.event_count < _MIN_EVENTS_FOR_SEGMENT:
        return Segment.NEW
    if state.score >= 75:
        return Segment.LOYAL
    if state.score <= 25:
        return Segment.AT_RISK
    return Segment.NEUTRAL
