"""Rapport's event contract: the pydantic models every service and every upstream team share."""

from schemas.events import (
    AnnotatedEvent,
    CanonicalEvent,
    EventKind,
    FeedbackEvent,
    InteractionEvent,
    ScoreUpdate,
    Sentiment,
)

__all__ = [
    "AnnotatedEvent",
    "CanonicalEvent",
    "EventKind",
    "FeedbackEvent",
    "InteractionEvent",
    "ScoreUpdate",
    "Sentiment",
]
