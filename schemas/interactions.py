"""Interaction events: what happened between the company and the customer.

Upstream systems send them to the raw interactions topic. Each type carries the fields it needs;
``type`` is the discriminator (see ``schemas.events.InteractionEvent``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas.base import (
    Amount,
    Channel,
    CurrencyCode,
    Id,
    InteractionBase,
    Label,
    ShortText,
    Timestamp,
    require_type_in_schema,
)


def _currency_with_amount(schema: dict[str, Any]) -> None:
    require_type_in_schema(schema)
    # The rule in JSON Schema terms: a non-null amount needs a non-null currency.
    schema["if"] = {"properties": {"amount": {"not": {"type": "null"}}}, "required": ["amount"]}
    schema["then"] = {
        "properties": {"currency": {"not": {"type": "null"}}},
        "required": ["currency"],
    }


class _WithOptionalAmount(InteractionBase):
    """An interaction that may involve money; a currency must accompany an amount."""

    model_config = ConfigDict(json_schema_extra=_currency_with_amount)

    amount: Amount | None = None
    """The amount involved, in ``currency``."""
    currency: CurrencyCode | None = Field(default=None, validate_default=True)
    """ISO 4217 currency of ``amount``; required when ``amount`` is given."""

    @field_validator("currency")
    @classmethod
    def _currency_required_with_amount(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("amount") is not None:
            # Reported as a missing field, at the field's own path, so the sender sees
            # "currency: required when amount is given" and not a problem with the whole event.
            raise PydanticCustomError("missing", "required when amount is given")
        return value


# --- commerce -------------------------------------------------------------------------------------


class Purchase(_WithOptionalAmount):
    """The customer bought something."""

    type: Literal["purchase"] = "purchase"
    order_id: Id | None = None
    """The upstream order id."""
    item_count: int | None = Field(default=None, ge=1)
    """Number of items in the order."""
    promised_delivery_at: Timestamp | None = None
    """The latest delivery time promised at checkout, if the order is delivered: a promise
    with a deadline (an order still undelivered after it is overdue)."""


class Renewal(_WithOptionalAmount):
    """A subscription or contract was renewed, for the amount of the new term."""

    type: Literal["renewal"] = "renewal"
    subscription_id: Id
    """The subscription or contract that was renewed."""
    plan: ShortText | None = None
    """The plan renewed into, e.g. ``Family 12 months``."""
    renewed_until: Timestamp | None = None
    """End of the new term."""
    automatic: bool | None = None
    """True for an automatic renewal; an active renewal is a stronger loyalty signal."""


class CancellationInitiator(StrEnum):
    CUSTOMER = "customer"
    COMPANY = "company"


class Cancellation(_WithOptionalAmount):
    """A subscription, contract or order was cancelled; ``amount`` is the recurring value lost."""

    type: Literal["cancellation"] = "cancellation"
    subscription_id: Id | None = None
    """The cancelled subscription or contract, if it was one."""
    order_id: Id | None = None
    """The cancelled order, if it was one."""
    initiated_by: CancellationInitiator = CancellationInitiator.CUSTOMER
    """Who cancelled: a company-side cancellation (fraud, stock) hurts trust differently."""
    reason: ShortText | None = None
    """The reason given, as the upstream system records it."""


class Refund(_WithOptionalAmount):
    """Money was paid back to the customer."""

    type: Literal["refund"] = "refund"
    amount: Amount
    """The amount refunded, in ``currency``."""
    refund_id: Id | None = None
    """The upstream refund id."""
    order_id: Id | None = None
    """The order refunded."""
    requested_at: Timestamp | None = None
    """When the customer asked for the refund: the wait until ``occurred_at`` matters."""
    reason: ShortText | None = None
    """The reason recorded for the refund."""


# --- support --------------------------------------------------------------------------------------


class SupportCaseOpened(InteractionBase):
    """The customer contacted support and a case was opened."""

    type: Literal["support_case_opened"] = "support_case_opened"
    case_id: Id
    """The support case (ticket) id; the same in the resolved and reopened events."""
    channel: Channel
    """Where the customer got in touch."""
    category: ShortText | None = None
    """The case category as the support tool records it, e.g. ``billing``."""
    wait_seconds: float | None = Field(default=None, ge=0)
    """How long the customer waited before reaching someone, in seconds."""


class SupportCaseResolved(InteractionBase):
    """A support case was resolved."""

    type: Literal["support_case_resolved"] = "support_case_resolved"
    case_id: Id
    """The support case (ticket) id."""
    channel: Channel
    """The channel the case was handled in."""
    resolution_seconds: float = Field(ge=0)
    """Time from opening to resolution, in seconds."""
    wait_seconds: float | None = Field(default=None, ge=0)
    """Total time the customer spent waiting for the company during the case, in seconds."""
    first_contact_resolution: bool | None = None
    """True if the case was solved in the first contact."""


class SupportCaseReopened(InteractionBase):
    """A resolved support case was reopened: the problem was not solved after all."""

    type: Literal["support_case_reopened"] = "support_case_reopened"
    case_id: Id
    """The support case (ticket) id."""
    channel: Channel
    """Where the customer got back in touch."""
    reopen_count: int | None = Field(default=None, ge=1)
    """How many times this case has been reopened, this time included."""
    reason: ShortText | None = None
    """Why it was reopened, as the support tool records it."""


class SupportCaseEscalated(InteractionBase):
    """A support case was escalated (to a supervisor, a specialist team, a complaint process):
    the customer's problem was not solved at the level that first handled it. Since 1.1."""

    type: Literal["support_case_escalated"] = "support_case_escalated"
    case_id: Id
    """The support case (ticket) id."""
    channel: Channel
    """The channel the escalation happened in."""
    level: int | None = Field(default=None, ge=1)
    """The escalation tier reached (1 for the first escalation), if the support tool counts."""
    reason: ShortText | None = None
    """Why it was escalated, as the support tool records it."""


# --- delivery -------------------------------------------------------------------------------------


class DeliveryOnTime(InteractionBase):
    """An order or shipment arrived within the promised time."""

    type: Literal["delivery_on_time"] = "delivery_on_time"
    order_id: Id
    """The order delivered."""
    shipment_id: Id | None = None
    """The shipment, if the order was split."""
    promised_at: Timestamp | None = None
    """The latest delivery time promised to the customer."""
    delivered_at: Timestamp | None = None
    """When it was delivered (usually ``occurred_at``)."""


class DeliveryLate(InteractionBase):
    """An order or shipment missed the promised delivery time."""

    type: Literal["delivery_late"] = "delivery_late"
    order_id: Id
    """The order concerned."""
    shipment_id: Id | None = None
    """The shipment, if the order was split."""
    promised_at: Timestamp
    """The latest delivery time promised to the customer."""
    delivered_at: Timestamp | None = None
    """When it finally arrived; absent while it is still on its way."""


class DeliveryFailed(InteractionBase):
    """A delivery attempt failed (lost, damaged, returned to sender...)."""

    type: Literal["delivery_failed"] = "delivery_failed"
    order_id: Id
    """The order concerned."""
    shipment_id: Id | None = None
    """The shipment, if the order was split."""
    reason: ShortText | None = None
    """The failure reason the carrier gave."""
    will_retry: bool | None = None
    """True if another attempt is scheduled."""


# --- promises -------------------------------------------------------------------------------------


class PromiseKind(StrEnum):
    """What the company promised."""

    SLA = "sla"
    CALLBACK = "callback"
    REFUND = "refund"
    DELIVERY = "delivery"
    FIX = "fix"
    APPOINTMENT = "appointment"
    OTHER = "other"


class PromiseMade(InteractionBase):
    """The company promised the customer something by a due time."""

    type: Literal["promise_made"] = "promise_made"
    promise_id: Id
    """Id of the promise; the same in the kept or broken event."""
    promise_kind: PromiseKind
    """What was promised."""
    due_at: Timestamp
    """When the promise falls due."""
    description: ShortText | None = None
    """The promise in words, e.g. ``We will call you back before 5 pm``."""


class PromiseKept(InteractionBase):
    """A promise was kept by its due time."""

    type: Literal["promise_kept"] = "promise_kept"
    promise_id: Id
    """The promise kept."""
    promise_kind: PromiseKind
    """What was promised."""
    due_at: Timestamp
    """When the promise fell due."""
    fulfilled_at: Timestamp
    """When it was fulfilled."""


class PromiseBroken(InteractionBase):
    """A promise was not kept by its due time."""

    type: Literal["promise_broken"] = "promise_broken"
    promise_id: Id
    """The promise broken."""
    promise_kind: PromiseKind
    """What was promised."""
    due_at: Timestamp
    """When the promise fell due."""
    fulfilled_at: Timestamp | None = None
    """When it was fulfilled after all, late; absent if it never was."""


# --- closing the loop -----------------------------------------------------------------------------


class MessagePurpose(StrEnum):
    APOLOGY = "apology"
    SERVICE_NOTICE = "service_notice"
    FOLLOW_UP = "follow_up"
    GOODWILL = "goodwill"
    MARKETING = "marketing"
    OTHER = "other"


class CompanyMessage(InteractionBase):
    """The company contacted the customer on its own initiative."""

    type: Literal["company_message"] = "company_message"
    message_id: Id | None = None
    """The upstream message id."""
    channel: Channel
    """How the message was sent."""
    purpose: MessagePurpose
    """Why the company got in touch."""
    subject: ShortText | None = None
    """The subject line or title."""
    campaign_id: Id | None = None
    """The campaign the message belongs to, for bulk messages."""


class Responder(StrEnum):
    AGENT = "agent"
    BOT = "bot"
    MANAGER = "manager"


class FeedbackResponse(InteractionBase):
    """The company answered a piece of feedback: closing the loop."""

    type: Literal["feedback_response"] = "feedback_response"
    responds_to_event_id: Id
    """``event_id`` of the feedback event this answers."""
    channel: Channel
    """How the answer was sent."""
    responder: Responder
    """Who answered."""
    public: bool = False
    """True for a public reply, e.g. under a review."""


# --- advocacy -------------------------------------------------------------------------------------


class Referral(InteractionBase):
    """The customer referred someone who may become a customer."""

    type: Literal["referral"] = "referral"
    referral_id: Id | None = None
    """The upstream referral id or code."""
    referred_customer_id: Id | None = None
    """The referred person's customer id, once they have one."""
    converted: bool | None = None
    """True once the referred person became a customer."""


class Recommendation(InteractionBase):
    """The customer recommended a product or the company (share, recommend button...)."""

    type: Literal["recommendation"] = "recommendation"
    item_id: Id | None = None
    """The product or offer recommended, if any."""
    channel: Channel | None = None
    """Where the recommendation was made."""


# --- loyalty programme and engagement -------------------------------------------------------------


class LoyaltyEnrolled(InteractionBase):
    """The customer joined a loyalty programme."""

    type: Literal["loyalty_enrolled"] = "loyalty_enrolled"
    programme_id: Id
    """The loyalty programme."""
    tier: ShortText | None = None
    """The starting tier."""


class TierDirection(StrEnum):
    UP = "up"
    DOWN = "down"


class LoyaltyTierChanged(InteractionBase):
    """The customer moved to another tier of a loyalty programme."""

    type: Literal["loyalty_tier_changed"] = "loyalty_tier_changed"
    programme_id: Id
    """The loyalty programme."""
    previous_tier: ShortText
    """The tier before the change."""
    new_tier: ShortText
    """The tier after the change."""
    direction: TierDirection
    """Up or down: tier names do not sort."""


class LoyaltyPointsRedeemed(InteractionBase):
    """The customer redeemed loyalty points."""

    type: Literal["loyalty_points_redeemed"] = "loyalty_points_redeemed"
    programme_id: Id
    """The loyalty programme."""
    points: int = Field(ge=1)
    """Points redeemed."""
    reward: ShortText | None = None
    """What the points were redeemed for."""


class LoyaltyLeft(InteractionBase):
    """The customer left a loyalty programme."""

    type: Literal["loyalty_left"] = "loyalty_left"
    programme_id: Id
    """The loyalty programme."""
    reason: ShortText | None = None
    """The reason given, if any."""


class EngagementActivity(StrEnum):
    LOGIN = "login"
    APP_SESSION = "app_session"
    FEATURE_USED = "feature_used"
    NEWSLETTER_OPENED = "newsletter_opened"
    NEWSLETTER_CLICKED = "newsletter_clicked"
    COMMUNITY_POST = "community_post"
    EVENT_ATTENDED = "event_attended"
    OTHER = "other"


class Engagement(InteractionBase):
    """The customer used the product or engaged with the company."""

    type: Literal["engagement"] = "engagement"
    activity: EngagementActivity
    """What the customer did."""
    feature: ShortText | None = None
    """The feature or content engaged with, e.g. ``budget planner``."""
    count: int | None = Field(default=None, ge=1)
    """How many times, when the upstream aggregates (e.g. logins per day)."""


# --- problems and obligations ---------------------------------------------------------------------


class BillingErrorKind(StrEnum):
    OVERCHARGE = "overcharge"
    DOUBLE_CHARGE = "double_charge"
    WRONG_INVOICE = "wrong_invoice"
    MISSED_DISCOUNT = "missed_discount"
    CHARGE_AFTER_CANCELLATION = "charge_after_cancellation"
    OTHER = "other"


class BillingError(_WithOptionalAmount):
    """The company made a billing mistake; ``amount`` is the amount wrongly charged."""

    type: Literal["billing_error"] = "billing_error"
    error_kind: BillingErrorKind
    """What went wrong."""
    invoice_id: Id | None = None
    """The invoice concerned."""
    corrected: bool | None = None
    """True once the mistake has been corrected."""


class IncidentSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class PrivacyIncident(InteractionBase):
    """A privacy or data-protection incident affected the customer's data."""

    type: Literal["privacy_incident"] = "privacy_incident"
    incident_id: Id
    """The incident, shared by every affected customer."""
    severity: IncidentSeverity
    """The severity the incident response assigned."""
    data_categories: tuple[Label, ...] = ()
    """Kinds of data affected, e.g. ``email``, ``address``, ``payment_card``."""
    customer_notified: bool | None = None
    """True once the customer has been told."""


class PriceChange(InteractionBase):
    """The price the customer pays for something they have changed."""

    type: Literal["price_change"] = "price_change"
    subscription_id: Id | None = None
    """The subscription or contract whose price changes, if any."""
    product_id: Id | None = None
    """The product whose price changes, if not a subscription."""
    old_amount: Amount
    """Price before the change, in ``currency``."""
    new_amount: Amount
    """Price after the change, in ``currency``."""
    currency: CurrencyCode
    """ISO 4217 currency of both amounts."""
    effective_at: Timestamp
    """When the new price applies."""


class ErasureRequest(InteractionBase):
    """The customer asked for their personal data to be erased (GDPR article 17 and alike).

    Planned handling: Rapport deletes its state for the customer, writes a tombstone for them on
    the latest-scores topic and publishes an ``erasure_completed`` event.
    """

    type: Literal["erasure_request"] = "erasure_request"
    request_id: Id
    """The privacy team's request id, echoed in ``erasure_completed``."""
    channel: Channel | None = None
    """Where the customer asked."""
    due_by: Timestamp | None = None
    """The legal deadline for the erasure."""


INTERACTION_TYPES: tuple[type[InteractionBase], ...] = (
    Purchase,
    Renewal,
    Cancellation,
    Refund,
    SupportCaseOpened,
    SupportCaseResolved,
    SupportCaseReopened,
    SupportCaseEscalated,
    DeliveryOnTime,
    DeliveryLate,
    DeliveryFailed,
    PromiseMade,
    PromiseKept,
    PromiseBroken,
    CompanyMessage,
    FeedbackResponse,
    Referral,
    Recommendation,
    LoyaltyEnrolled,
    LoyaltyTierChanged,
    LoyaltyPointsRedeemed,
    LoyaltyLeft,
    Engagement,
    BillingError,
    PrivacyIncident,
    PriceChange,
    ErasureRequest,
)
