"""One realistic example of every event of the contract.

``rapport schemas export`` writes them to ``schemas/examples/`` and into the docs; tests check
them against the committed JSON Schemas with an independent validator. They are built as model
instances so that a change to a model that breaks an example fails type checking and validation
right here, not in an upstream team's integration.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from schemas.base import Channel, ContractModel, EventKind
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
    ScoreUpdate,
    Segment,
    SentenceSentiment,
    Sentiment,
)
from schemas.feedback import (
    Chat,
    ConversationMessage,
    FreeComment,
    MessageAuthor,
    Review,
    SocialMention,
    SupportTicket,
    SurveyCes,
    SurveyComment,
    SurveyCsat,
    SurveyNps,
)
from schemas.interactions import (
    BillingError,
    BillingErrorKind,
    Cancellation,
    CancellationInitiator,
    CompanyMessage,
    DeliveryFailed,
    DeliveryLate,
    DeliveryOnTime,
    Engagement,
    EngagementActivity,
    ErasureRequest,
    FeedbackResponse,
    IncidentSeverity,
    LoyaltyEnrolled,
    LoyaltyLeft,
    LoyaltyPointsRedeemed,
    LoyaltyTierChanged,
    MessagePurpose,
    PriceChange,
    PrivacyIncident,
    PromiseBroken,
    PromiseKept,
    PromiseKind,
    PromiseMade,
    Purchase,
    Recommendation,
    Referral,
    Refund,
    Renewal,
    Responder,
    SupportCaseEscalated,
    SupportCaseOpened,
    SupportCaseReopened,
    SupportCaseResolved,
    TierDirection,
)
from schemas.upstream import AnyUpstreamEvent

CET = timezone(timedelta(hours=1))
_CUSTOMER = "cust-48213"
_TENANT = "acme-de"
# Several customers' stories, so that the examples sent together make sense: Lena's damaged lamp
# (the default), a loyal regular, a customer with billing trouble who leaves, and one who asks
# for erasure (written apart, schemas/examples/erasure/, so that sending every example does
# not erase a customer halfway through).
LOYAL_CUSTOMER = "cust-20577"
LEAVING_CUSTOMER = "cust-30990"
ERASED_CUSTOMER = "cust-61402"
_CUSTOMER_OF_TYPE = {
    **dict.fromkeys(
        (
            "renewal",
            "referral",
            "recommendation",
            "loyalty_enrolled",
            "loyalty_tier_changed",
            "loyalty_points_redeemed",
            "engagement",
            "survey_ces",
            "free_comment",
        ),
        LOYAL_CUSTOMER,
    ),
    **dict.fromkeys(
        (
            "cancellation",
            "billing_error",
            "price_change",
            "delivery_failed",
            "loyalty_left",
            "privacy_incident",
        ),
        LEAVING_CUSTOMER,
    ),
    "erasure_request": ERASED_CUSTOMER,
}


def _at(day: int, hour: int, minute: int = 0, tz: timezone = CET) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=tz)


def upstream_examples() -> list[AnyUpstreamEvent]:
    """One event per upstream type, telling a few customers' stories over a few weeks of March."""
    return [
        event.model_copy(update={"customer_id": _CUSTOMER_OF_TYPE.get(event.type, _CUSTOMER)})
        for event in _stories()
    ]


def _stories() -> list[AnyUpstreamEvent]:
    envelope = {"customer_id": _CUSTOMER, "tenant_id": _TENANT}
    shop = {**envelope, "source": "shop", "brand_id": "acme-home"}
    support = {**envelope, "source": "zendesk"}
    return [
        Purchase(
            event_id="shop:order:100231:placed",
            occurred_at=_at(2, 19, 42),
            **shop,
            order_id="100231",
            amount=Decimal("89.90"),
            currency="EUR",
            item_count=3,
        ),
        Renewal(
            event_id="billing:renewal:sub-7731:2026",
            occurred_at=_at(1, 0, 5),
            **envelope,
            source="billing",
            subscription_id="sub-7731",
            plan="Home Plus 12 months",
            amount=Decimal("119.00"),
            currency="EUR",
            renewed_until=_at(1, 0, 5) + timedelta(days=365),
            automatic=False,
        ),
        Cancellation(
            event_id="billing:cancel:sub-9912",
            occurred_at=_at(30, 16, 20),
            **envelope,
            source="billing",
            subscription_id="sub-9912",
            amount=Decimal("9.99"),
            currency="EUR",
            initiated_by=CancellationInitiator.CUSTOMER,
            reason="Too expensive",
        ),
        Refund(
            event_id="shop:refund:r-5520",
            occurred_at=_at(18, 11, 3),
            **shop,
            refund_id="r-5520",
            order_id="100231",
            amount=Decimal("29.95"),
            currency="EUR",
            requested_at=_at(9, 8, 15),
            reason="Item arrived damaged",
        ),
        SupportCaseOpened(
            event_id="zendesk:case:77120:opened",
            occurred_at=_at(9, 8, 15),
            **support,
            case_id="77120",
            channel=Channel.CHAT,
            category="damaged item",
            wait_seconds=240,
        ),
        SupportCaseResolved(
            event_id="zendesk:case:77120:resolved",
            occurred_at=_at(18, 11, 5),
            **support,
            case_id="77120",
            channel=Channel.CHAT,
            resolution_seconds=788_400,
            wait_seconds=172_800,
            first_contact_resolution=False,
        ),
        SupportCaseReopened(
            event_id="zendesk:case:77120:reopened:1",
            occurred_at=_at(20, 9, 30),
            **support,
            case_id="77120",
            channel=Channel.EMAIL,
            reopen_count=1,
            reason="Refund amount incomplete",
        ),
        SupportCaseEscalated(
            event_id="zendesk:case:77120:escalated:1",
            occurred_at=_at(21, 14, 0),
            **support,
            case_id="77120",
            channel=Channel.PHONE,
            level=1,
            reason="Customer asked for a supervisor",
        ),
        DeliveryOnTime(
            event_id="carrier:shipment:S-88412:delivered",
            occurred_at=_at(4, 10, 12),
            **envelope,
            source="carrier-dhl",
            order_id="100231",
            shipment_id="S-88412",
            promised_at=_at(5, 18),
            delivered_at=_at(4, 10, 12),
        ),
        DeliveryLate(
            event_id="carrier:shipment:S-88413:late",
            occurred_at=_at(7, 9),
            **envelope,
            source="carrier-dhl",
            order_id="100231",
            shipment_id="S-88413",
            promised_at=_at(5, 18),
            delivered_at=_at(7, 9),
        ),
        DeliveryFailed(
            event_id="carrier:shipment:S-90007:failed",
            occurred_at=_at(24, 14, 40),
            **envelope,
            source="carrier-dhl",
            order_id="100877",
            shipment_id="S-90007",
            reason="Recipient not at home",
            will_retry=True,
        ),
        PromiseMade(
            event_id="zendesk:promise:77120-cb",
            occurred_at=_at(9, 8, 31),
            **support,
            promise_id="77120-cb",
            promise_kind=PromiseKind.CALLBACK,
            due_at=_at(10, 17),
            description="We will call you back by tomorrow 5 pm",
        ),
        PromiseKept(
            event_id="zendesk:promise:77121-refund:kept",
            occurred_at=_at(18, 11, 3),
            **support,
            promise_id="77121-refund",
            promise_kind=PromiseKind.REFUND,
            due_at=_at(20, 23, 59),
            fulfilled_at=_at(18, 11, 3),
        ),
        PromiseBroken(
            event_id="zendesk:promise:77120-cb:broken",
            occurred_at=_at(10, 17, 1),
            **support,
            promise_id="77120-cb",
            promise_kind=PromiseKind.CALLBACK,
            due_at=_at(10, 17),
        ),
        CompanyMessage(
            event_id="crm:message:apology-77120",
            occurred_at=_at(11, 9),
            **envelope,
            source="crm",
            message_id="m-3390",
            channel=Channel.EMAIL,
            purpose=MessagePurpose.APOLOGY,
            subject="We are sorry we did not call you back",
        ),
        FeedbackResponse(
            event_id="reviews:reply:rv-20411",
            occurred_at=_at(22, 15, 10),
            **envelope,
            source="trustpilot",
            responds_to_event_id="trustpilot:review:rv-20411",
            channel=Channel.SOCIAL,
            responder=Responder.AGENT,
            public=True,
        ),
        Referral(
            event_id="shop:referral:ref-6620",
            occurred_at=_at(27, 12),
            **shop,
            referral_id="ref-6620",
            referred_customer_id="cust-51007",
            converted=True,
        ),
        Recommendation(
            event_id="shop:share:100231:p-2209",
            occurred_at=_at(5, 20, 14),
            **shop,
            item_id="p-2209",
            channel=Channel.MESSAGING,
        ),
        LoyaltyEnrolled(
            event_id="loyalty:enrol:L-4410",
            occurred_at=_at(2, 19, 45),
            **envelope,
            source="loyalty",
            programme_id="acme-rewards",
            tier="Bronze",
        ),
        LoyaltyTierChanged(
            event_id="loyalty:tier:L-4410:2026-03",
            occurred_at=_at(28, 3),
            **envelope,
            source="loyalty",
            programme_id="acme-rewards",
            previous_tier="Bronze",
            new_tier="Silver",
            direction=TierDirection.UP,
        ),
        LoyaltyPointsRedeemed(
            event_id="loyalty:redeem:R-99120",
            occurred_at=_at(29, 18, 30),
            **envelope,
            source="loyalty",
            programme_id="acme-rewards",
            points=1500,
            reward="10 EUR voucher",
        ),
        LoyaltyLeft(
            event_id="loyalty:leave:L-3982",
            occurred_at=_at(31, 21, 5),
            **envelope,
            source="loyalty",
            programme_id="acme-partner-miles",
            reason="Moved abroad",
        ),
        Engagement(
            event_id="app:daily:cust-20577:2026-03-12",
            occurred_at=_at(12, 23, 59),
            **envelope,
            source="mobile-app",
            activity=EngagementActivity.FEATURE_USED,
            feature="budget planner",
            count=4,
        ),
        BillingError(
            event_id="billing:error:INV-2026-0311",
            occurred_at=_at(15, 6),
            **envelope,
            source="billing",
            error_kind=BillingErrorKind.DOUBLE_CHARGE,
            invoice_id="INV-2026-0311",
            amount=Decimal("119.00"),
            currency="EUR",
            corrected=False,
        ),
        PrivacyIncident(
            event_id="privacy:incident:PI-2026-004:cust-30990",
            occurred_at=_at(25, 10),
            **envelope,
            source="privacy-office",
            incident_id="PI-2026-004",
            severity=IncidentSeverity.HIGH,
            data_categories=("email", "postal_address"),
            customer_notified=True,
        ),
        PriceChange(
            event_id="billing:price:sub-7731:2026-05",
            occurred_at=_at(16, 9),
            **envelope,
            source="billing",
            subscription_id="sub-7731",
            old_amount=Decimal("119.00"),
            new_amount=Decimal("134.00"),
            currency="EUR",
            effective_at=_at(1, 0) + timedelta(days=61),
        ),
        ErasureRequest(
            event_id="privacy:erasure:ER-1187",
            occurred_at=_at(31, 22, 10),
            **envelope,
            source="privacy-portal",
            request_id="ER-1187",
            channel=Channel.WEB_FORM,
            due_by=_at(31, 22, 10) + timedelta(days=30),
        ),
        SurveyNps(
            event_id="qualtrics:resp:R_2fA9xq",
            occurred_at=_at(21, 19, 2),
            **envelope,
            source="qualtrics",
            language="de",
            survey_id="nps-q1-2026",
            score=3,
            text="Lieferung kam kaputt an und niemand hat zurückgerufen.",
        ),
        SurveyCsat(
            event_id="zendesk:csat:77120",
            occurred_at=_at(18, 12),
            **support,
            language="en",
            survey_id="post-case-csat",
            subject_id="77120",
            score=2,
            text="Took nine days and two chases to get my money back.",
        ),
        SurveyCes(
            event_id="shop:ces:checkout:100231",
            occurred_at=_at(2, 19, 43),
            **shop,
            language="en",
            survey_id="checkout-ces",
            subject_id="100231",
            score=6,
        ),
        SurveyComment(
            event_id="qualtrics:resp:R_2fA9xq:q3",
            occurred_at=_at(21, 19, 3),
            **envelope,
            source="qualtrics",
            language="de",
            survey_id="nps-q1-2026",
            question="Was können wir besser machen?",
            text="Rückrufe einhalten. Sonst bin ich mit den Produkten sehr zufrieden.",
        ),
        Review(
            event_id="trustpilot:review:rv-20411",
            occurred_at=_at(19, 21, 47),
            **envelope,
            source="trustpilot",
            language="en",
            review_id="rv-20411",
            stars=2,
            title="Good products, poor support",
            text=(
                "The lamp is lovely, but it arrived broken and getting a refund took far too "
                "long. Nobody called back when promised."
            ),
            product_id="p-2209",
            verified_purchase=True,
        ),
        SupportTicket(
            event_id="zendesk:ticket:77120:v3",
            occurred_at=_at(20, 9, 30),
            **support,
            language="en",
            conversation_id="77120",
            case_id="77120",
            channel=Channel.EMAIL,
            subject="Refund incomplete",
            messages=(
                ConversationMessage(
                    author=MessageAuthor.CUSTOMER,
                    sent_at=_at(20, 9, 30),
                    message_id="e-1",
                    text="I only got 29.95 back but paid 39.95 for the lamp. Please fix this.",
                ),
                ConversationMessage(
                    author=MessageAuthor.AGENT,
                    sent_at=_at(20, 10, 2),
                    message_id="e-2",
                    text="Sorry about that! I have refunded the remaining 10.00 EUR just now.",
                ),
                ConversationMessage(
                    author=MessageAuthor.CUSTOMER,
                    sent_at=_at(20, 10, 15),
                    message_id="e-3",
                    text="Received, thank you for the quick fix.",
                ),
            ),
        ),
        Chat(
            event_id="zendesk:chat:c-55102",
            occurred_at=_at(9, 8, 40),
            **support,
            language="en",
            conversation_id="c-55102",
            case_id="77120",
            channel=Channel.CHAT,
            messages=(
                ConversationMessage(
                    author=MessageAuthor.BOT,
                    sent_at=_at(9, 8, 15),
                    text="Hi! How can I help you today?",
                ),
                ConversationMessage(
                    author=MessageAuthor.CUSTOMER,
                    sent_at=_at(9, 8, 16),
                    text="My lamp arrived with a cracked shade. Really annoying.",
                ),
                ConversationMessage(
                    author=MessageAuthor.AGENT,
                    sent_at=_at(9, 8, 19),
                    text="I'm sorry to hear that. I'll arrange a refund for the shade.",
                ),
                ConversationMessage(
                    author=MessageAuthor.CUSTOMER,
                    sent_at=_at(9, 8, 21),
                    text="OK, thanks, that helps.",
                ),
            ),
        ),
        SocialMention(
            event_id="brandwatch:mention:1772300112",
            occurred_at=_at(10, 18, 5),
            **envelope,
            source="brandwatch",
            language="en",
            platform="mastodon",
            post_id="1772300112",
            url="https://mastodon.social/@lena_k/1772300112",
            text="@acme promised a callback yesterday. Still waiting. #customerservice",
        ),
        FreeComment(
            event_id="app:feedback:fb-30418",
            occurred_at=_at(12, 21, 30),
            **envelope,
            source="mobile-app",
            language="en",
            location="app settings",
            text="Love the new budget planner, please add a dark mode!",
        ),
    ]


def _chat() -> Chat:
    return next(event for event in upstream_examples() if isinstance(event, Chat))


def canonical_example() -> CanonicalEvent:
    chat = _chat()
    return CanonicalEvent(
        event_id=chat.event_id,
        kind=EventKind.FEEDBACK,
        type=chat.type,
        customer_id=chat.customer_id,
        tenant_id=chat.tenant_id,
        brand_id=chat.brand_id,
        occurred_at=chat.occurred_at.astimezone(UTC),
        ingested_at=datetime(2026, 3, 9, 7, 40, 1, 250_000, tzinfo=UTC),
        source=chat.source,
        language=chat.language,
        text=("My lamp arrived with a cracked shade. Really annoying.\nOK, thanks, that helps."),
        normalizations=(Normalization.OCCURRED_AT_CONVERTED_TO_UTC,),
        upstream=chat.model_copy(update={"occurred_at": chat.occurred_at.astimezone(UTC)}),
    )


def annotated_example() -> AnnotatedEvent:
    return AnnotatedEvent(
        event=canonical_example(),
        annotated=True,
        sentiment=Sentiment(
            compound=0.1027,
            positive=0.221,
            neutral=0.594,
            negative=0.185,
            sentences=(
                SentenceSentiment(
                    start=0, end=37, compound=0.0, positive=0.0, neutral=1.0, negative=0.0
                ),
                SentenceSentiment(
                    start=38, end=54, compound=-0.4576, positive=0.0, neutral=0.393, negative=0.607
                ),
                SentenceSentiment(
                    start=55, end=78, compound=0.6249, positive=0.672, neutral=0.328, negative=0.0
                ),
            ),
        ),
        emotions={"annoyance": 0.62, "relief": 0.41},
        aspects={"product_quality": -0.46, "support": 0.62},
        conversation=ConversationSummary(
            customer_messages=2,
            customer_sentiment=0.2641,
            opening_sentiment=-0.4576,
            closing_sentiment=0.6249,
            trend=ConversationTrend.IMPROVING,
        ),
        model_version="vader-3.3.2",
    )


def score_update_example() -> ScoreUpdate:
    return ScoreUpdate(
        customer_id=_CUSTOMER,
        tenant_id=_TENANT,
        score=41.5,
        trust=38.2,
        trust_uncertainty=6.1,
        loyalty=57.0,
        loyalty_uncertainty=9.4,
        churn_risk=0.31,
        segment=Segment.AT_RISK,
        deltas=ScoreDeltas(trust=-11.6, loyalty=-2.0),
        drivers=(
            ScoreDriver(
                event_id="zendesk:promise:77120-cb:broken",
                event_type="promise_broken",
                occurred_at=_at(10, 16, 1, UTC),
                trust_effect=-9.8,
                loyalty_effect=-1.5,
            ),
            ScoreDriver(
                event_id="brandwatch:mention:1772300112",
                event_type="social_mention",
                occurred_at=_at(10, 17, 5, UTC),
                trust_effect=-1.8,
                loyalty_effect=-0.5,
            ),
        ),
        summary="Trust fell 12 points after a broken callback promise",
        event_count=14,
        as_of=_at(10, 17, 5, UTC),
        caused_by_event_id="brandwatch:mention:1772300112",
        model_version="trust-loyalty-0.1",
        config_version="2026-03-01",
    )


def alert_example() -> Alert:
    return Alert(
        alert_id="alert:trust_drop:cust-48213:2026-03-10",
        customer_id=_CUSTOMER,
        tenant_id=_TENANT,
        kind=AlertKind.TRUST_DROP,
        severity=AlertSeverity.WARNING,
        state=AlertState.RAISED,
        raised_at=_at(10, 17, 5, UTC),
        message="Trust fell 12 points within a day (broken callback promise, public complaint)",
        caused_by_event_id="brandwatch:mention:1772300112",
    )


def erasure_completed_example() -> ErasureCompleted:
    return ErasureCompleted(
        request_id="ER-1187",
        customer_id=ERASED_CUSTOMER,
        tenant_id=_TENANT,
        requested_at=_at(31, 21, 10, UTC),
        completed_at=_at(31, 21, 10, UTC) + timedelta(seconds=3, milliseconds=412),
        caused_by_event_id="privacy:erasure:ER-1187",
        erased=("customer_state", "processed_events", "latest_score", "alerts"),
    )


def dead_letter_headers_example() -> DeadLetterHeaders:
    return DeadLetterHeaders(
        origin_topic="rapport.raw.feedback",
        origin_partition="2",
        origin_offset="18342",
        service="ingest",
        error_class="PermanentError",
        reason="missing_field",
        message="customer_id: required field is missing",
        timestamp="1773912345678",
    )


def downstream_examples() -> dict[str, ContractModel]:
    """Keyed by the name of the event's JSON Schema."""
    return {
        "canonical_event": canonical_example(),
        "annotated_event": annotated_example(),
        "score_update": score_update_example(),
        "alert": alert_example(),
        "erasure_completed": erasure_completed_example(),
        "dead_letter_headers": dead_letter_headers_example(),
    }
