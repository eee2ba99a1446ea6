"""The placeholder score of the walking skeleton: mean sentiment mapped to 0-100.

Pure: a fold over annotated events, no database, no Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from schemas import AnnotatedEvent


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
