"""Event models of the walking skeleton. The contract issue turns these into the full contract."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class EventKind(StrEnum):
    INTERACTION = "interaction"
    FEEDBACK = "feedback"


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: str = "1.0"
    event_id: Id
    customer_id: Id
    occurred_at: AwareDatetime
    source: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class InteractionEvent(_Event):
    """Something that happened between the company and the customer (raw interactions topic)."""


class FeedbackEvent(_Event):
    """Something the customer said (raw feedback topic)."""

    text: str | None = None


class CanonicalEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: str = "1.0"
    event_id: str
    customer_id: str
    occurred_at: datetime
    ingested_at: datetime
    kind: EventKind
    source: str
    type: str
    text: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class Sentiment(BaseModel):
    model_config = ConfigDict(frozen=True)

    compound: float = Field(ge=-1, le=1)


class AnnotatedEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: str = "1.0"
    event: CanonicalEvent
    annotated: bool
    sentiment: Sentiment | None = None
    model_version: str


class ScoreUpdate(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: str = "1.0"
    customer_id: str
    score: float = Field(ge=0, le=100)
    event_count: int = Field(ge=0)
    as_of: datetime
    caused_by_event_id: str
