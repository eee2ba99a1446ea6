from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import yaml

from services.scoring.model import (
    Channel,
    CustomerState,
    Evidence,
    Polarity,
    ScoringConfig,
    Signal,
    SignalKind,
    evidence_for,
    fold,
)
from services.scoring.model.config import DEFAULT_PATH
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
    # Centred on the scale's neutral (ratings.grading): 8 -> 0.6 on the 0-1 scale, 0.2 above
    # the neutral 0.5, so a fifth of the weights, positive only.
    passive = evidence_for(signal(K.NPS, nps=8), config)
    assert [(i.channel, i.polarity, round(i.weight, 9)) for i in passive] == [
        (Channel.ADVOCACY, Polarity.POSITIVE, 0.4),
        (Channel.SATISFACTION, Polarity.POSITIVE, 0.1),
        (Channel.TRUST, Polarity.POSITIVE, 0.1),
        (Channel.TRUST_LONG, Polarity.POSITIVE, 0.2),
    ]
    assert {item.label.singular for item in passive} == {"a passive NPS answer"}
    # Below the neutral, negative only; the negative part of trust weighs
    # trust.negative_multiplier more.
    detractor = evidence_for(signal(K.NPS, nps=5), config)  # 5 -> 1/3: 1/3 below the neutral
    trust = [item for item in detractor if item.channel is Channel.TRUST]
    assert [(i.polarity, round(i.weight, 9)) for i in trust] == [
        (Polarity.NEGATIVE, round(0.5 / 3 * 1.5, 9))
    ]
    assert all(item.polarity is Polarity.NEGATIVE for item in detractor)


def test_split_grading_pulls_toward_the_grade(config: ScoringConfig) -> None:
    """The grading before 2026.12.5, still chosen by a file that says ``grading: split`` (or
    says nothing): w*x positive and w*(1-x) negative."""
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["ratings"]["grading"] = "split"
    split = ScoringConfig.from_mapping(data)
    passive = evidence_for(signal(K.NPS, nps=8), split)
    advocacy = [item for item in passive if item.channel is Channel.ADVOCACY]
    assert [(i.polarity, round(i.weight, 9)) for i in advocacy] == [
        (Polarity.POSITIVE, 1.2),
        (Polarity.NEGATIVE, 0.8),
    ]
    trust = [item for item in passive if item.channel is Channel.TRUST]
    assert [round(i.weight, 9) for i in trust] == [0.3, round(0.2 * 1.5, 9)]


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": K.NPS, "nps": 9},
        {"kind": K.NPS, "nps": 6},
        {"kind": K.REVIEW, "stars": 4, "aspects": {"customer_service": 0.1}},
        {"kind": K.REVIEW, "stars": 2, "aspects": {"customer_service": -0.1}},
        {"kind": K.CHAT, "sentiment": 0.3},
        {"kind": K.CHAT, "sentiment": -0.3},
        {"kind": K.CSAT, "csat": 4},
        {"kind": K.CES, "ces": 2},
    ],
)
def test_graded_evidence_has_the_tone_of_what_it_grades(
    config: ScoringConfig, fields: dict[str, Any]
) -> None:
    """Praise adds positive evidence only and criticism negative only, so a promoter's answer
    never lowers a customer's trust and a detractor's never raises it, whatever the trust so
    far (with ``split`` grading an NPS 9 lowered a trust above 73)."""
    kind = fields.pop("kind")
    items = [i for i in evidence_for(signal(kind, **fields), config) if i.label.tone != 0]
    assert items
    for item in items:
        expected = Polarity.POSITIVE if item.label.tone > 0 else Polarity.NEGATIVE
        assert item.polarity is expected, item


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


def test_a_neutral_answer_adds_no_evidence_and_is_named_for_what_it_was(
    config: ScoringConfig,
) -> None:
    """Centred grading: a 3-star review, a CSAT 3 or a neutral support conversation says
    neither good nor bad; the event still counts, and its explanation names it as what it was
    ("a mixed review", not "a review event")."""
    cases = [
        (signal(K.REVIEW, stars=3), "Trust and loyalty steady after a mixed review"),
        (signal(K.CSAT, csat=3), "Trust and loyalty steady after a neutral CSAT rating"),
        (
            signal(K.SUPPORT_TICKET, sentiment=0.0),
            "Trust and loyalty steady after a support conversation",
        ),
    ]
    state = CustomerState.empty(CUSTOMER)
    for neutral, summary in cases:
        assert evidence_for(neutral, config) == []
        _, explanation = fold(state, neutral, config)
        assert explanation.summary.startswith(summary), explanation.summary


@pytest.mark.parametrize(
    ("fields", "labels"),
    [
        (
            {"kind": K.NPS, "nps": 9, "sentiment": -0.8},
            {"a promoter NPS answer": 1, "a negative comment": -1},
        ),
        (
            {"kind": K.REVIEW, "stars": 5, "sentiment": -0.7},
            {"a positive review": 1, "a negative comment": -1},
        ),
        (
            {"kind": K.SURVEY_COMMENT, "recommend": False, "sentiment": 0.9},
            {"a positive comment": 1, "a refusal to recommend": -1},
        ),
        ({"kind": K.NPS, "nps": 2, "sentiment": -0.5}, {"a detractor NPS answer": -1}),
        # Agreeing, a recommendation goes under its answer's label: one driver, not two.
        ({"kind": K.REVIEW, "stars": 5, "recommend": True}, {"a positive review": 1}),
        # A faint text against its answer is a neutral comment (no tone claimed).
        (
            {"kind": K.REVIEW, "stars": 5, "sentiment": -0.04},
            {"a positive review": 1, "a neutral comment": 0},
        ),
        (
            {"kind": K.NPS, "nps": 2, "sentiment": 0.049},
            {"a detractor NPS answer": -1, "a neutral comment": 0},
        ),
    ],
)
def test_an_answer_and_a_text_of_different_tones_are_named_apart(
    config: ScoringConfig, fields: dict[str, Any], labels: dict[str, int]
) -> None:
    """One label for an NPS 9 and a scathing comment would name praise as why loyalty fell:
    the text (and a recommendation) keep their own label where their tone differs, and every
    piece of evidence has its label's tone."""
    kind = fields.pop("kind")
    items = evidence_for(signal(kind, **fields), config)
    graded = [i for i in items if i.channel is not Channel.TRUST_LONG]
    assert {i.label.singular: i.label.tone for i in graded} == labels
    for item in graded:
        if item.label.tone != 0:
            expected = Polarity.POSITIVE if item.label.tone > 0 else Polarity.NEGATIVE
            assert item.polarity is expected, item


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        ({"kind": K.NPS, "nps": 9}, "a promoter NPS answer"),
        ({"kind": K.NPS, "nps": 3, "sentiment": -0.9}, "a detractor NPS answer"),
        ({"kind": K.CSAT, "csat": 2}, "a poor CSAT rating"),
        ({"kind": K.CES, "ces": 6}, "an easy-effort rating"),
        ({"kind": K.REVIEW, "sentiment": 0.6}, "a positive review"),
        ({"kind": K.CHAT, "sentiment": -0.6}, "a negative chat"),
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
