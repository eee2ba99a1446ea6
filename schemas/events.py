"""Every event model of the contract in one namespace (the walking skeleton's module name).

The models live in ``schemas.base`` (envelope, shared types), ``schemas.interactions``,
``schemas.feedback``, ``schemas.upstream`` (the unions per raw topic) and
``schemas.downstream`` (what Rapport publishes).
"""

from __future__ import annotations

from schemas.base import (
    CONTRACT_VERSION,
    Channel,
    ContractModel,
    EventKind,
    FeedbackBase,
    InteractionBase,
    UpstreamEvent,
    ValidationPolicy,
)
from schemas.downstream import (
    Alert,
    AlertKind,
    AlertSeverity,
    AlertState,
    AnnotatedEvent,
    CanonicalEvent,
    ConversationSummary,
    ConversationTrend,
    DeadLetterHeaders,
    ErasureCompleted,
    Normalization,
    ScoreDeltas,
    ScoreDriver,
    ScoreInterval,
    ScoreUpdate,
    Segment,
    SentenceSentiment,
    Sentiment,
    UpdateReason,
)
from schemas.feedback import FEEDBACK_TYPES, ConversationMessage, MessageAuthor
from schemas.interactions import INTERACTION_TYPES
from schemas.upstream import (
    FEEDBACK_ADAPTER,
    INTERACTION_ADAPTER,
    UPSTREAM_ADAPTER,
    AnyUpstreamEvent,
    FeedbackEvent,
    InteractionEvent,
)

__all__ = [
    "CONTRACT_VERSION",
    "FEEDBACK_ADAPTER",
    "FEEDBACK_TYPES",
    "INTERACTION_ADAPTER",
    "INTERACTION_TYPES",
    "UPSTREAM_ADAPTER",
    "Alert",
    "AlertKind",
    "AlertSeverity",
    "AlertState",
    "AnnotatedEvent",
    "AnyUpstreamEvent",
    "CanonicalEvent",
    "Channel",
    "ContractModel",
    "ConversationMessage",
    "ConversationSummary",
    "ConversationTrend",
    "DeadLetterHeaders",
    "ErasureCompleted",
    "EventKind",
    "FeedbackBase",
    "FeedbackEvent",
    "InteractionBase",
    "InteractionEvent",
    "MessageAuthor",
    "Normalization",
    "ScoreDeltas",
    "ScoreDriver",
    "ScoreInterval",
    "ScoreUpdate",
    "Segment",
    "SentenceSentiment",
    "Sentiment",
    "UpdateReason",
    "UpstreamEvent",
    "ValidationPolicy",
]
