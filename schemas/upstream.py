"""The discriminated unions of upstream events, one per raw topic, and their registries.

The unions are spelled out (rather than built from the type tuples) so that type checkers see
them; ``tests/unit/schemas`` checks that they and the tuples list the same types.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, TypeAlias

from pydantic import Field, TypeAdapter

from schemas.base import EventKind, FeedbackBase, InteractionBase, UpstreamEvent
from schemas.feedback import (
    FEEDBACK_TYPES,
    Chat,
    FreeComment,
    Review,
    SocialMention,
    SupportTicket,
    SurveyCes,
    SurveyComment,
    SurveyCsat,
    SurveyNps,
)
from schemas.interactions import (
    INTERACTION_TYPES,
    BillingError,
    Cancellation,
    CompanyMessage,
    DeliveryFailed,
    DeliveryLate,
    DeliveryOnTime,
    Engagement,
    ErasureRequest,
    FeedbackResponse,
    LoyaltyEnrolled,
    LoyaltyLeft,
    LoyaltyPointsRedeemed,
    LoyaltyTierChanged,
    PriceChange,
    PrivacyIncident,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
    Purchase,
    Recommendation,
    Referral,
    Refund,
    Renewal,
    SupportCaseEscalated,
    SupportCaseOpened,
    SupportCaseReopened,
    SupportCaseResolved,
)

_InteractionUnion: TypeAlias = (
    Purchase
    | Renewal
    | Cancellation
    | Refund
    | SupportCaseOpened
    | SupportCaseResolved
    | SupportCaseReopened
    | SupportCaseEscalated
    | DeliveryOnTime
    | DeliveryLate
    | DeliveryFailed
    | PromiseMade
    | PromiseKept
    | PromiseBroken
    | CompanyMessage
    | FeedbackResponse
    | Referral
    | Recommendation
    | LoyaltyEnrolled
    | LoyaltyTierChanged
    | LoyaltyPointsRedeemed
    | LoyaltyLeft
    | Engagement
    | BillingError
    | PrivacyIncident
    | PriceChange
    | ErasureRequest
)
_FeedbackUnion: TypeAlias = (
    SurveyNps
    | SurveyCsat
    | SurveyCes
    | SurveyComment
    | Review
    | SupportTicket
    | Chat
    | SocialMention
    | FreeComment
)

InteractionEvent: TypeAlias = Annotated[_InteractionUnion, Field(discriminator="type")]
"""Any event of the raw interactions topic."""
FeedbackEvent: TypeAlias = Annotated[_FeedbackUnion, Field(discriminator="type")]
"""Any event of the raw feedback topic."""
AnyUpstreamEvent: TypeAlias = Annotated[
    _InteractionUnion | _FeedbackUnion, Field(discriminator="type")
]
"""Any upstream event, whichever topic it came from (the ``upstream`` of a canonical event)."""


def _adapter_of(union: Any) -> TypeAdapter[Any]:
    # mypy types a union passed as a value as ``UnionType``, which TypeAdapter's signature does
    # not accept; the annotations below restore the precise types.
    return TypeAdapter(union)


INTERACTION_ADAPTER: TypeAdapter[InteractionEvent] = _adapter_of(InteractionEvent)
FEEDBACK_ADAPTER: TypeAdapter[FeedbackEvent] = _adapter_of(FeedbackEvent)
UPSTREAM_ADAPTER: TypeAdapter[AnyUpstreamEvent] = _adapter_of(AnyUpstreamEvent)


def type_name(model: type[UpstreamEvent]) -> str:
    """The ``type`` tag of an upstream event class."""
    tag = model.model_fields["type"].default
    assert isinstance(tag, str), f"{model.__name__}.type needs a literal default"
    return tag


INTERACTION_TYPES_BY_NAME: Final[dict[str, type[InteractionBase]]] = {
    type_name(model): model for model in INTERACTION_TYPES
}
FEEDBACK_TYPES_BY_NAME: Final[dict[str, type[FeedbackBase]]] = {
    type_name(model): model for model in FEEDBACK_TYPES
}
TYPES_BY_KIND: Final[
    dict[EventKind, dict[str, type[InteractionBase]] | dict[str, type[FeedbackBase]]]
] = {
    EventKind.INTERACTION: INTERACTION_TYPES_BY_NAME,
    EventKind.FEEDBACK: FEEDBACK_TYPES_BY_NAME,
}
ADAPTERS_BY_KIND: Final[
    dict[EventKind, TypeAdapter[InteractionEvent] | TypeAdapter[FeedbackEvent]]
] = {
    EventKind.INTERACTION: INTERACTION_ADAPTER,
    EventKind.FEEDBACK: FEEDBACK_ADAPTER,
}


def kind_of_type(type_tag: str) -> EventKind | None:
    """Which raw topic an event ``type`` belongs on; None if no topic knows it."""
    for kind, types in TYPES_BY_KIND.items():
        if type_tag in types:
            return kind
    return None
