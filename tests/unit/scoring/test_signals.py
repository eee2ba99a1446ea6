"""The mapping from the event contract to the model's Signal: every upstream type."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from schemas import (
    FEEDBACK_TYPES,
    INTERACTION_TYPES,
    AnnotatedEvent,
    CanonicalEvent,
    ConversationSummary,
    ConversationTrend,
    EventKind,
    Sentiment,
)
from schemas.samples import upstream_examples
from schemas.upstream import type_name
from services.runtime.exceptions import PermanentError
from services.scoring.model import ScoringConfig, SignalKind, evidence_for
from services.scoring.signals import (
    TYPE_KINDS,
    UNSUPPORTED_EVENT_TYPE,
    ScoringInput,
    to_input,
)
from tests.unit.scoring.events import annotated

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _map(event: AnnotatedEvent, config: ScoringConfig) -> ScoringInput:
    return to_input(event, config)


def test_every_contract_type_has_a_signal_kind_and_every_kind_a_type() -> None:
    types = {type_name(m) for m in (*INTERACTION_TYPES, *FEEDBACK_TYPES)}
    assert set(TYPE_KINDS) == types
    assert set(TYPE_KINDS.values()) == set(SignalKind)


@pytest.mark.parametrize("example", upstream_examples(), ids=lambda e: e.type)
def test_every_upstream_example_maps_to_its_kind(example: object, config: ScoringConfig) -> None:
    event = annotated(example.type, "c-1", "e-1", AT)  # type: ignore[attr-defined]
    inp = _map(event, config)
    assert inp.signal.kind is TYPE_KINDS[event.event.type]
    assert inp.signal.event_id == "e-1"
    assert inp.signal.customer_id == "c-1"
    assert inp.signal.occurred_at == AT
    assert inp.signal.received_at == event.event.ingested_at
    assert inp.event_type == event.event.type
    evidence_for(inp.signal, config)  # the model accepts it


@pytest.mark.parametrize(
    ("event_type", "fields", "expected"),
    [
        ("survey_nps", {"score": 3}, {"nps": 3}),
        ("survey_csat", {"score": 5}, {"csat": 5}),
        ("survey_ces", {"score": 2}, {"ces": 2}),
        ("review", {"stars": 4}, {"stars": 4}),
        ("cancellation", {"initiated_by": "company"}, {"qualifier": "company"}),
        ("privacy_incident", {"severity": "critical"}, {"qualifier": "critical"}),
        ("company_message", {"purpose": "marketing"}, {"qualifier": "marketing"}),
        ("loyalty_tier_changed", {"direction": "down"}, {"qualifier": "down"}),
        ("referral", {"converted": True}, {"qualifier": "converted"}),
        ("referral", {"converted": False}, {"qualifier": None}),
        ("promise_broken", {"promise_kind": "sla"}, {"qualifier": "sla"}),
        ("engagement", {"count": 4}, {"count": 4, "qualifier": "feature_used"}),
        ("engagement", {"count": None}, {"count": 1}),
        (
            "support_case_resolved",
            {"resolution_seconds": 7200.0, "wait_seconds": 60.0},
            {"resolution_seconds": 7200.0, "wait_seconds": 60.0},
        ),
        ("support_case_opened", {"wait_seconds": 2400.0}, {"wait_seconds": 2400.0}),
    ],
)
def test_upstream_fields_become_signal_fields(
    event_type: str, fields: dict[str, Any], expected: dict[str, Any], config: ScoringConfig
) -> None:
    signal = _map(annotated(event_type, "c", "e", AT, **fields), config).signal
    for name, value in expected.items():
        assert getattr(signal, name) == value, name


def test_support_case_ids_and_feedback_responses_are_kept_for_the_alerts(
    config: ScoringConfig,
) -> None:
    opened = _map(annotated("support_case_reopened", "c", "e1", AT, case_id="k-9"), config)
    assert opened.case_id == "k-9"
    response = _map(
        annotated("feedback_response", "c", "e2", AT, responds_to_event_id="nps-1"), config
    )
    assert response.responds_to_event_id == "nps-1"
    erasure = _map(annotated("erasure_request", "c", "e3", AT, request_id="ER-7"), config)
    assert erasure.is_erasure
    assert erasure.erasure_request_id == "ER-7"


def test_an_escalation_is_negative_evidence_about_its_case(config: ScoringConfig) -> None:
    escalated = _map(
        annotated("support_case_escalated", "c", "e1", AT, case_id="k-9", channel="phone", level=2),
        config,
    )
    assert escalated.signal.kind is SignalKind.SUPPORT_CASE_ESCALATED
    assert escalated.case_id == "k-9"
    evidence = evidence_for(escalated.signal, config)
    assert evidence, "an escalation says something"
    assert all(item.signed_weight < 0 for item in evidence)


def test_amounts_are_converted_to_the_reference_currency(config: ScoringConfig) -> None:
    assert config.currencies.reference == "EUR"
    usd = config.currencies.rates["USD"]
    purchase = _map(
        annotated("purchase", "c", "e", AT, amount=Decimal("100.00"), currency="USD"), config
    )
    assert purchase.signal.amount == pytest.approx(100.0 * usd)
    assert purchase.unconverted_currency is None
    euros = _map(annotated("refund", "c", "e", AT, amount=Decimal("19.99"), currency="EUR"), config)
    assert euros.signal.amount == pytest.approx(19.99)
    change = _map(
        annotated(
            "price_change",
            "c",
            "e",
            AT,
            old_amount=Decimal("10"),
            new_amount=Decimal("12"),
            currency="GBP",
        ),
        config,
    )
    gbp = config.currencies.rates["GBP"]
    assert change.signal.previous_amount == pytest.approx(10 * gbp)
    assert change.signal.amount == pytest.approx(12 * gbp)
    billing = _map(
        annotated("billing_error", "c", "e", AT, amount=Decimal("5"), currency="CHF"), config
    )
    assert billing.signal.amount == pytest.approx(5 * config.currencies.rates["CHF"])


def test_an_amount_in_an_unknown_currency_carries_no_money_evidence(
    config: ScoringConfig,
) -> None:
    inp = _map(annotated("purchase", "c", "e", AT, amount=Decimal("100"), currency="XAU"), config)
    assert inp.signal.amount is None
    assert inp.unconverted_currency == "XAU"
    assert inp.signal.kind is SignalKind.PURCHASE  # the purchase still counts


def test_the_annotation_gives_sentiment_emotions_and_aspects(config: ScoringConfig) -> None:
    signal = _map(
        annotated(
            "free_comment",
            "c",
            "e",
            AT,
            sentiment=-0.6,
            emotions={"anger": 0.7, "annoyance": 0.4, "irritation": 0.9, "awe": 0.2},
            aspects={"delivery": -0.8, "shipping": -0.2, "price": 0.3, "price_value": 0.9},
        ),
        config,
    ).signal
    assert signal.sentiment == -0.6
    # Synonyms map onto the model's labels: the strongest emotion, the mean aspect...
    assert dict(signal.emotions) == {"anger": 0.7, "frustration": 0.9, "awe": 0.2}
    assert signal.aspects["delivery_reliability"] == pytest.approx(-0.5)
    # ... and the model's own label wins over its synonyms.
    assert signal.aspects["price_value"] == 0.9
    assert "delivery" not in signal.aspects


def test_an_event_without_text_has_no_sentiment(config: ScoringConfig) -> None:
    signal = _map(annotated("survey_nps", "c", "e", AT, score=9), config).signal
    assert signal.sentiment is None
    assert dict(signal.emotions) == {}
    assert dict(signal.aspects) == {}


def test_conversations_use_the_customer_side(config: ScoringConfig) -> None:
    event = annotated("chat", "c", "e", AT, sentiment=0.1)
    summary = ConversationSummary(
        customer_messages=2,
        customer_sentiment=-0.4,
        opening_sentiment=-0.7,
        closing_sentiment=-0.1,
        trend=ConversationTrend.IMPROVING,
    )
    with_summary = event.model_copy(update={"conversation": summary})
    assert _map(with_summary, config).signal.sentiment == -0.4
    assert _map(event, config).signal.sentiment == 0.1
    # A summary on a non-conversation event is ignored.
    comment = annotated("free_comment", "c", "e", AT, sentiment=0.3)
    assert (
        _map(comment.model_copy(update={"conversation": summary}), config).signal.sentiment == 0.3
    )


def _bare(event_type: str, kind: EventKind) -> AnnotatedEvent:
    return AnnotatedEvent(
        event=CanonicalEvent(
            event_id="e",
            kind=kind,
            type=event_type,
            customer_id="c",
            occurred_at=AT,
            ingested_at=AT,
            source="tool",
        ),
        annotated=True,
        sentiment=Sentiment(compound=0.5),
        model_version="test",
    )


def test_a_canonical_event_without_its_upstream_maps_by_type(config: ScoringConfig) -> None:
    inp = _map(_bare("survey_comment", EventKind.FEEDBACK), config)
    assert inp.signal.kind is SignalKind.SURVEY_COMMENT
    assert inp.signal.sentiment == 0.5
    erasure = _map(_bare("erasure_request", EventKind.INTERACTION), config)
    assert erasure.erasure_request_id == "e"


def test_an_unknown_type_is_a_permanent_error(config: ScoringConfig) -> None:
    with pytest.raises(PermanentError) as caught:
        _map(_bare("hologram_call", EventKind.INTERACTION), config)
    assert caught.value.reason == UNSUPPORTED_EVENT_TYPE
    assert "hologram_call" in caught.value.message
