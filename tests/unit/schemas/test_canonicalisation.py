"""What ingest makes of a valid upstream event (the canonical form the contract documents), and
the shape of the score update the scoring skeleton publishes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import AnnotatedEvent, CanonicalEvent, EventKind, Normalization, ScoreUpdate
from schemas.feedback import Chat
from schemas.samples import upstream_examples
from schemas.upstream import type_name
from services.ingest.domain import customer_text, parse_raw
from services.runtime.exceptions import PermanentError
from services.scoring.domain import CustomerRecord, score_event
from services.scoring.model import ScoringConfig
from services.scoring.signals import to_input
from services.sentiment.domain import Annotator

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def chat(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "chat",
        "event_id": "chat:1",
        "customer_id": "cust-1",
        "occurred_at": "2026-11-22T10:30:00+01:00",
        "source": "zendesk",
        "conversation_id": "c-1",
        "channel": "chat",
        "messages": [
            {"author": "customer", "text": "Thanks, solved!", "sent_at": "2026-11-22T09:20:00Z"},
            {"author": "customer", "text": "My order is late.", "sent_at": "2026-11-22T09:00:00Z"},
            {"author": "agent", "text": "Sorry! Let me check.", "sent_at": "2026-11-22T09:05:00Z"},
        ],
        **overrides,
    }


def canonical(document: dict[str, Any], kind: EventKind = EventKind.FEEDBACK) -> CanonicalEvent:
    return parse_raw(json.dumps(document).encode(), kind, now=NOW)


def test_a_conversation_is_sorted_in_utc_and_its_customer_side_becomes_the_text() -> None:
    event = canonical({**chat(), "priority": "high"})

    assert event.occurred_at == datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    assert event.ingested_at == NOW
    assert event.normalizations == (
        Normalization.OCCURRED_AT_CONVERTED_TO_UTC,
        Normalization.MESSAGES_SORTED_BY_TIME,
    )
    assert event.text == "My order is late.\nThanks, solved!"
    assert event.unknown_fields == ("priority",)
    assert isinstance(event.upstream, Chat)
    assert event.upstream.messages[0].text == "My order is late."
    assert event.upstream.occurred_at == event.occurred_at


def test_the_combined_text_of_a_long_conversation_is_truncated_and_flagged() -> None:
    messages = [
        {"author": "customer", "text": "x" * 15_000, "sent_at": f"2026-11-22T09:0{i}:00Z"}
        for i in range(2)
    ]
    event = canonical(chat(messages=messages))
    assert event.text_truncated
    assert event.text is not None
    assert len(event.text) == 20_000


@pytest.mark.parametrize(
    ("type_name_", "expected"),
    [
        ("purchase", None),
        ("company_message", None),
        ("review", "Good products, poor support\nThe lamp is lovely"),
        ("survey_ces", None),
        ("survey_nps", "Lieferung kam kaputt an"),
        ("support_ticket", "I only got 29.95 back"),
    ],
)
def test_customer_text_is_what_the_customer_wrote(type_name_: str, expected: str | None) -> None:
    event = next(e for e in upstream_examples() if type_name(type(e)) == type_name_)
    text = customer_text(event)
    if expected is None:
        assert text is None
    else:
        assert text is not None
        assert text.startswith(expected)
    if type_name_ == "support_ticket":
        assert text is not None
        assert "refunded the remaining" not in text  # the agent's words are left out


def test_every_example_becomes_a_canonical_event_that_round_trips() -> None:
    for example in upstream_examples():
        kind = type(example).KIND
        event = parse_raw(example.model_dump_json().encode(), kind, now=NOW)
        assert event.kind is kind
        assert event.upstream is not None
        assert CanonicalEvent.model_validate_json(event.model_dump_json()) == event


def test_ingest_rejections_carry_the_contract_reason() -> None:
    with pytest.raises(PermanentError) as future:
        canonical(chat(occurred_at="2026-11-22T13:00:00Z"))
    assert future.value.reason == "timestamp_in_future"
    with pytest.raises(PermanentError) as empty:
        parse_raw(None, EventKind.FEEDBACK)
    assert empty.value.reason == "empty_record"


def test_scoring_publishes_the_full_score_update_shape() -> None:
    annotated = Annotator().annotate(canonical(chat()))
    assert annotated.sentiment is not None
    assert annotated.sentiment.positive is not None  # VADER's proportions are passed on

    config = ScoringConfig.load()
    inp = to_input(annotated, config)
    outcome = score_event(CustomerRecord.empty(inp.signal.customer_id), inp, config)
    update = outcome.update

    assert [driver.event_id for driver in update.drivers] == ["chat:1"]
    assert update.caused_by_event_id == "chat:1"
    assert ScoreUpdate.model_validate_json(update.model_dump_json()) == update
    assert AnnotatedEvent.model_validate_json(annotated.model_dump_json()) == annotated
