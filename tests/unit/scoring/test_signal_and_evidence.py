from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from services.scoring.model import (
    Channel,
    Evidence,
    Polarity,
    ScoringConfig,
    Signal,
    SignalKind,
    evidence_for,
)
from services.scoring.model.evidence import EVENT_LABELS, rule_key
from tests.unit.scoring.strategies import CUSTOMER, T0, signal

K = SignalKind


def _net(items: list[Evidence]) -> dict[Channel, float]:
    """Net evidence per channel, without the long memory (derived: one experience per event)."""
    net: dict[Channel, float] = {}
    for item in items:
        if item.channel is not Channel.TRUST_LONG:
            net[item.channel] = net.get(item.channel, 0.0) + item.signed_weight
    return net


def test_events_are_experiences_in_the_long_memory(config: ScoringConfig) -> None:
    def memory(s: Signal) -> float:
        return sum(
            i.signed_weight for i in evidence_for(s, config) if i.channel is Channel.TRUST_LONG
        )

    assert memory(signal(K.DELIVERY_LATE)) == -1.0  # one bad experience, whatever its weight
    assert memory(signal(K.PROMISE_BROKEN)) == -1.0
    assert memory(signal(K.DELIVERY_ON_TIME)) == 1.0
    assert memory(signal(K.PURCHASE, amount=10.0)) == 0.0  # no trust evidence: no experience
    # A company action is not an experience, and its trust evidence is the company's own.
    response = evidence_for(signal(K.FEEDBACK_RESPONSE), config)
    assert memory(signal(K.FEEDBACK_RESPONSE)) == 0.0
    assert {i.channel for i in response} == {Channel.COMPANY, Channel.CONNECTION}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"occurred_at": datetime(2025, 1, 1)}, "timezone-aware"),
        ({"nps": 11}, "nps"),
        ({"csat": 0}, "csat"),
        ({"ces": 8}, "ces"),
        ({"stars": 6}, "stars"),
        ({"sentiment": 1.5}, "sentiment"),
        ({"sentiment": float("nan")}, "sentiment"),
        ({"count": 0}, "count"),
        ({"amount": -1.0}, "amount"),
        ({"amount": float("inf")}, "amount"),
        ({"emotions": {"joy": 2.0}}, "emotions"),
        ({"aspects": {"price_value": -2.0}}, "aspects"),
        ({"kind": "teleportation"}, "teleportation"),
    ],
)
def test_invalid_signals_are_rejected(fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "event_id": "e",
        "customer_id": CUSTOMER,
        "occurred_at": T0,
        "kind": K.NPS,
    }
    with pytest.raises(ValueError, match=message):
        Signal(**{**base, **fields})


def test_signals_are_immutable_and_hashable() -> None:
    emotions = {"joy": 0.5}
    s = signal(K.REVIEW, stars=5, emotions=emotions)
    emotions["joy"] = 1.0
    assert s.emotions == {"joy": 0.5}
    emotions_view: Any = s.emotions
    with pytest.raises(TypeError):
        emotions_view["joy"] = 0.9
    with pytest.raises(AttributeError):
        s.stars = 1  # type: ignore[misc]
    assert hash(s) == hash(signal(K.REVIEW, stars=5, emotions={"joy": 0.5}))


def test_a_late_delivery_is_negative_trust_evidence(config: ScoringConfig) -> None:
    items = evidence_for(signal(K.DELIVERY_LATE), config)
    assert _net(items) == {Channel.TRUST: -1.0, Channel.SATISFACTION: -0.3}
    assert {item.label.singular for item in items} == {"a late delivery"}


R = K.SUPPORT_CASE_RESOLVED
P = K.PRICE_CHANGE


@pytest.mark.parametrize(
    ("kind", "fields", "key"),
    [
        (R, {"resolution_seconds": 3600.0}, "support_case_resolved.fast"),
        (R, {"resolution_seconds": 72 * 3600.0}, "support_case_resolved"),
        (R, {"resolution_seconds": 9 * 86400.0}, "support_case_resolved.slow"),
        (P, {"amount": 12.0, "previous_amount": 10.0}, "price_change.increase"),
        (P, {"amount": 8.0, "previous_amount": 10.0}, "price_change.decrease"),
        (P, {"amount": 10.0, "previous_amount": 10.0}, "price_change"),
        (K.PRIVACY_INCIDENT, {"qualifier": "critical"}, "privacy_incident.critical"),
        (K.PRIVACY_INCIDENT, {"qualifier": "medium"}, "privacy_incident"),
        (K.CANCELLATION, {"qualifier": "company"}, "cancellation.company"),
        (K.COMPANY_MESSAGE, {"qualifier": "marketing"}, "company_message.marketing"),
        (K.COMPANY_MESSAGE, {"qualifier": "apology"}, "company_message"),
    ],
)
def test_variants_select_their_rule(
    config: ScoringConfig, kind: SignalKind, fields: dict[str, Any], key: str
) -> None:
    assert rule_key(signal(kind, **fields), config) == key


def test_every_configured_rule_has_a_label(config: ScoringConfig) -> None:
    assert set(config.events) <= set(EVENT_LABELS)


def test_marketing_messages_and_erasure_requests_carry_no_evidence(config: ScoringConfig) -> None:
    assert evidence_for(signal(K.COMPANY_MESSAGE, qualifier="marketing"), config) == []
    assert evidence_for(signal(K.ERASURE_REQUEST), config) == []


def test_a_long_wait_adds_to_the_case(config: ScoringConfig) -> None:
    quick = _net(evidence_for(signal(K.SUPPORT_CASE_OPENED, wait_seconds=60.0), config))
    slow = _net(evidence_for(signal(K.SUPPORT_CASE_OPENED, wait_seconds=3600.0), config))
    assert quick == {}
    assert slow == {Channel.TRUST: -0.3, Channel.SATISFACTION: -0.5}


def test_money_counts_per_unit_and_counts_are_capped(config: ScoringConfig) -> None:
    purchase = _net(evidence_for(signal(K.PURCHASE, amount=120.0), config))
    assert purchase == {Channel.ACTIVITY: 1.0, Channel.SPEND: 120.0}
    refund = _net(evidence_for(signal(K.REFUND, amount=30.0), config))
    assert refund == {Channel.TRUST: 0.5, Channel.SPEND: -30.0}
    logins = _net(evidence_for(signal(K.ENGAGEMENT, count=50), config))
    assert logins == {Channel.ACTIVITY: pytest.approx(0.2 * config.count_cap)}


def test_answers_are_graded_evidence(config: ScoringConfig) -> None:
    promoter = evidence_for(signal(K.NPS, nps=10), config)
    assert _net(promoter) == {
        Channel.ADVOCACY: pytest.approx(2.0),
        Channel.SATISFACTION: pytest.approx(0.5),
        Channel.TRUST: pytest.approx(0.5),
    }
    assert all(item.polarity is Polarity.POSITIVE for item in promoter)
    passive = evidence_for(signal(K.NPS, nps=8), config)  # 8 -> 0.6 on the 0-1 scale
    advocacy = [item for item in passive if item.channel is Channel.ADVOCACY]
    assert [(i.polarity, round(i.weight, 9)) for i in advocacy] == [
        (Polarity.POSITIVE, 1.2),
        (Polarity.NEGATIVE, 0.8),
    ]
    trust = [item for item in passive if item.channel is Channel.TRUST]
    # The negative part of graded trust evidence weighs trust.negative_multiplier more.
    assert [round(i.weight, 9) for i in trust] == [0.3, round(0.2 * 1.5, 9)]
    assert {item.label.singular for item in passive} == {"a passive NPS answer"}


def test_text_aspects_and_emotions(config: ScoringConfig) -> None:
    review = signal(
        K.REVIEW,
        stars=1,
        sentiment=-0.8,
        emotions={"frustration": 0.5, "boredom": 0.9, "surprise": 0.4},
        aspects={"ethics_privacy": -1.0, "parking": -1.0},
    )
    items = evidence_for(review, config)
    labels = {item.label.singular for item in items}
    assert labels == {"a negative review", "criticism of our ethics and privacy", "frustration"}
    ethics = [item for item in items if item.key == "aspect.ethics_privacy"]
    assert [(i.channel, i.polarity, i.weight) for i in ethics] == [
        (Channel.TRUST, Polarity.NEGATIVE, 1.5 * 1.5),
        # The bad experience in the long memory, filed under its heaviest part.
        (Channel.TRUST_LONG, Polarity.NEGATIVE, 1.0),
    ]
    frustration = [item for item in items if item.key == "emotion.frustration"]
    assert [(i.channel, i.polarity, i.weight) for i in frustration] == [
        (Channel.EMOTION, Polarity.NEGATIVE, 0.5)
    ]


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        ({"kind": K.NPS, "nps": 9}, "a promoter NPS answer"),
        ({"kind": K.NPS, "nps": 3, "sentiment": 0.9}, "a detractor NPS answer"),
        ({"kind": K.CSAT, "csat": 2}, "a poor CSAT rating"),
        ({"kind": K.CES, "ces": 6}, "an easy-effort rating"),
        ({"kind": K.REVIEW, "stars": 3}, "a mixed review"),
        ({"kind": K.REVIEW, "sentiment": 0.6}, "a positive review"),
        ({"kind": K.CHAT, "sentiment": -0.6}, "a negative chat"),
        ({"kind": K.SUPPORT_TICKET, "sentiment": 0.0}, "a support conversation"),
        ({"kind": K.FREE_COMMENT, "sentiment": 0.01}, "a neutral comment"),
        ({"kind": K.SOCIAL_MENTION, "sentiment": 0.5}, "a positive social media mention"),
        ({"kind": K.SURVEY_COMMENT, "recommend": False}, "a refusal to recommend"),
    ],
)
def test_feedback_labels(config: ScoringConfig, fields: dict[str, Any], label: str) -> None:
    kind = fields.pop("kind")
    items = evidence_for(signal(kind, **fields), config)
    assert items
    assert {item.label.singular for item in items} == {label}
