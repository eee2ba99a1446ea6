"""Mapping the CX annotation onto the contract's AnnotatedEvent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from schemas import CanonicalEvent, EventKind
from schemas.downstream import ConversationTrend, NotAnnotatedReason
from services.ingest.domain import parse_raw
from services.sentiment.domain import Annotator

NOW = datetime(2026, 11, 22, tzinfo=UTC)
ANNOTATOR = Annotator()


def canonical(document: dict[str, object], kind: EventKind = EventKind.FEEDBACK) -> CanonicalEvent:
    base = {
        "event_id": "e1",
        "customer_id": "c1",
        "occurred_at": "2026-11-20T10:00:00Z",
        "source": "s",
    }
    return parse_raw(json.dumps(base | document).encode(), kind, now=NOW)


def test_a_factual_complaint_is_negative_with_aspect_and_emotion() -> None:
    event = canonical(
        {"type": "review", "stars": 1, "text": "Package arrived damaged and nobody called back."}
    )
    annotated = ANNOTATOR.annotate(event)
    assert annotated.annotated
    assert annotated.sentiment is not None
    assert annotated.sentiment.compound < -0.05
    assert annotated.model_version.startswith("rapport-cx/")
    assert annotated.aspects  # something about delivery or service
    assert all(-1 <= v <= 1 for v in annotated.aspects.values())
    assert all(0 < v <= 1 for v in annotated.emotions.values())


def test_sentence_offsets_point_into_the_canonical_text() -> None:
    text = "The food was great. The delivery took two hours!"
    event = canonical({"type": "free_comment", "text": text})
    annotated = ANNOTATOR.annotate(event)
    assert annotated.sentiment is not None
    spans = [text[s.start : s.end] for s in annotated.sentiment.sentences]
    assert spans == ["The food was great.", "The delivery took two hours!"]


def test_events_without_text_pass_through_not_annotated() -> None:
    event = canonical({"type": "purchase", "order_id": "o-1"}, EventKind.INTERACTION)
    annotated = ANNOTATOR.annotate(event)
    assert not annotated.annotated
    assert annotated.sentiment is None


def test_a_chat_gets_a_customer_side_summary_with_its_trend() -> None:
    messages = [
        ("customer", "My order never arrived, this is ridiculous.", "10:00"),
        ("agent", "So sorry! I have sent a replacement with express delivery.", "10:02"),
        ("customer", "Thank you so much, that is great service!", "10:05"),
    ]
    event = canonical(
        {
            "type": "chat",
            "conversation_id": "c-1",
            "channel": "chat",
            "messages": [
                {"author": a, "text": t, "sent_at": f"2026-11-20T{at}:00Z"} for a, t, at in messages
            ],
        }
    )
    annotated = ANNOTATOR.annotate(event)
    summary = annotated.conversation
    assert summary is not None
    assert summary.customer_messages == 2  # the agent does not count
    assert summary.opening_sentiment < 0 < summary.closing_sentiment
    assert summary.trend is ConversationTrend.IMPROVING
    # Later messages weigh more: the weighted mean leans to the happy ending.
    assert summary.customer_sentiment > (summary.opening_sentiment + summary.closing_sentiment) / 2


def test_text_in_another_language_is_not_annotated_but_marked() -> None:
    event = canonical(
        {"type": "free_comment", "text": "Mon colis n'est toujours pas arrivé, c'est inadmissible."}
    )
    annotated = ANNOTATOR.annotate(event)
    assert not annotated.annotated
    assert annotated.not_annotated_reason is NotAnnotatedReason.UNSUPPORTED_LANGUAGE
    assert annotated.language == "fr"
    assert annotated.sentiment is None
    assert annotated.emotions == {}
    assert annotated.aspects == {}


def test_english_text_is_annotated_with_its_language() -> None:
    annotated = ANNOTATOR.annotate(canonical({"type": "free_comment", "text": "great app"}))
    assert annotated.annotated
    assert annotated.language == "en"
    assert annotated.not_annotated_reason is None


def test_no_text_says_why() -> None:
    event = canonical({"type": "purchase", "order_id": "o-1"}, EventKind.INTERACTION)
    annotated = ANNOTATOR.annotate(event)
    assert annotated.not_annotated_reason is NotAnnotatedReason.NO_TEXT
    assert annotated.language is None
