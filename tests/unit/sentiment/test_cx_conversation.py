"""annotate_conversation: customer-only scoring, recency weights, trend, merging."""

from __future__ import annotations

import pytest

from services.sentiment.cx import CxAnnotator

ANNOTATOR = CxAnnotator()

ANGRY = "My parcel never arrived and nobody called back."
NEUTRAL = "The order number is in my first message."
HAPPY = "Brilliant, thank you so much, that's perfect!"


def test_agent_and_bot_messages_do_not_count() -> None:
    conversation = ANNOTATOR.annotate_conversation(
        [("customer", ANGRY), ("agent", HAPPY), ("bot", HAPPY), ("Agent", HAPPY)]
    )
    assert conversation.customer_messages == 1
    assert conversation.compound == ANNOTATOR.annotate(ANGRY).compound
    assert [m.is_customer for m in conversation.messages] == [True, False, False, False]
    assert [m.weight for m in conversation.messages] == [1.0, 0.0, 0.0, 0.0]


def test_recency_weights_halve_every_half_life_and_sum_to_one() -> None:
    conversation = ANNOTATOR.annotate_conversation(
        [("customer", ANGRY), ("agent", NEUTRAL), ("customer", NEUTRAL), ("customer", HAPPY)]
    )
    weights = [m.weight for m in conversation.messages if m.is_customer]
    raw = [0.5 ** (2 / 2), 0.5 ** (1 / 2), 1.0]
    assert weights == [round(w / sum(raw), 4) for w in raw]
    assert sum(weights) == pytest.approx(1.0, abs=1e-3)
    compounds = [ANNOTATOR.annotate(t).compound for t in (ANGRY, NEUTRAL, HAPPY)]
    expected = sum(w / sum(raw) * c for w, c in zip(raw, compounds, strict=True))
    assert conversation.compound == round(expected, 4)


def test_later_messages_weigh_more() -> None:
    recovering = ANNOTATOR.annotate_conversation([("customer", ANGRY), ("customer", HAPPY)])
    souring = ANNOTATOR.annotate_conversation([("customer", HAPPY), ("customer", ANGRY)])
    assert recovering.compound > 0 > souring.compound


def test_trend_improved_worsened_unchanged() -> None:
    improved = ANNOTATOR.annotate_conversation(
        [("customer", ANGRY), ("agent", "Sorry, refunded now."), ("customer", HAPPY)]
    )
    assert improved.trend_label == "improved"
    assert improved.trend == round(improved.end_compound - improved.start_compound, 4)
    assert improved.start_compound < 0 < improved.end_compound
    worsened = ANNOTATOR.annotate_conversation([("customer", HAPPY), ("customer", ANGRY)])
    assert worsened.trend_label == "worsened"
    same = ANNOTATOR.annotate_conversation([("customer", NEUTRAL), ("customer", NEUTRAL)])
    assert same.trend == 0
    assert same.trend_label == "unchanged"


def test_trend_threshold_and_half_life_are_configurable() -> None:
    strict = CxAnnotator(trend_threshold=2.0)
    assert (
        strict.annotate_conversation([("customer", ANGRY), ("customer", HAPPY)]).trend_label
        == "unchanged"
    )
    flat = CxAnnotator(recency_half_life=1e9)
    weights = [
        m.weight
        for m in flat.annotate_conversation(
            [("customer", ANGRY), ("customer", NEUTRAL), ("customer", HAPPY)]
        ).messages
    ]
    assert weights == [0.3333, 0.3333, 0.3333]
    with pytest.raises(ValueError, match="half_life"):
        CxAnnotator(recency_half_life=0)


def test_single_message_has_no_trend_and_empty_conversation_is_neutral() -> None:
    single = ANNOTATOR.annotate_conversation([("customer", ANGRY)])
    assert single.trend_label == "unchanged"
    assert single.trend == 0
    empty = ANNOTATOR.annotate_conversation([("agent", HAPPY)])
    assert (empty.compound, empty.label, empty.customer_messages) == (0.0, "neutral", 0)
    assert ANNOTATOR.annotate_conversation([]).messages == ()


def test_custom_customer_authors() -> None:
    annotator = CxAnnotator(customer_authors={"caller"})
    conversation = annotator.annotate_conversation([("customer", HAPPY), ("Caller", ANGRY)])
    assert conversation.customer_messages == 1
    assert conversation.label == "negative"


def test_emotions_and_aspects_are_merged_over_customer_messages() -> None:
    conversation = ANNOTATOR.annotate_conversation(
        [
            ("customer", "I'm really worried, my card was declined and the fee is a rip-off."),
            ("agent", "I'm so happy to help, the support team is brilliant!"),
            ("customer", "Thank you, the fee was refunded, great value after all."),
        ]
    )
    assert "anxiety" in conversation.emotions
    assert "gratitude" in conversation.emotions
    assert "joy" not in conversation.emotions  # only the agent was "happy"
    first, last = (m.annotation for m in conversation.messages[::2])
    assert conversation.emotions["anxiety"] == first.emotions["anxiety"]
    price = conversation.aspects["price_value"]
    assert (
        price.mentions
        == first.aspects["price_value"].mentions + last.aspects["price_value"].mentions
    )
    assert first.aspects["price_value"].sentiment < price.sentiment
    assert "customer_service" not in conversation.aspects
    assert conversation.model_version == ANNOTATOR.model_version
