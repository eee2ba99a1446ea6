"""Ingest's checks and normalisation, without Kafka."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from schemas import EventKind, Normalization
from services.ingest.domain import IngestPolicy, check_record, parse_raw
from services.runtime.exceptions import PermanentError

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def review(**overrides: object) -> bytes:
    document: dict[str, object] = {
        "event_id": "rv-1",
        "customer_id": "cust-1",
        "occurred_at": "2026-11-20T10:00:00+02:00",
        "source": "shop",
        "type": "review",
        "stars": 2,
        "title": "Meh",
        "text": "It broke.",
    }
    document.update(overrides)
    return json.dumps(document).encode()


def reason_of(value: bytes, kind: EventKind = EventKind.FEEDBACK) -> str:
    with pytest.raises(PermanentError) as caught:
        parse_raw(value, kind, now=NOW)
    return caught.value.reason


def test_a_valid_event_becomes_a_canonical_event_in_utc() -> None:
    event = parse_raw(review(), EventKind.FEEDBACK, now=NOW)
    assert event.occurred_at == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert Normalization.OCCURRED_AT_CONVERTED_TO_UTC in event.normalizations
    assert event.text == "Meh\nIt broke."
    assert event.ingested_at == NOW


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff\xfe", "invalid_utf8"),
        (b"{not json", "invalid_json"),
        (b"[" * 100_000, "invalid_json"),
        (b'{"n": ' + b"9" * 5000 + b"}", "invalid_json"),
        (review(stars=9), "schema_violation"),
        (review(type="telepathy"), "unknown_type"),
        (review(text="x" * 20_001), "text_too_long"),
        (review(occurred_at="2027-01-01T00:00:00Z"), "timestamp_in_future"),
        (review(occurred_at="2026-11-20T10:00:00"), "schema_violation"),
    ],
)
def test_rejections_carry_a_machine_readable_reason(value: bytes, reason: str) -> None:
    assert reason_of(value) == reason


def test_schema_violations_name_the_field() -> None:
    with pytest.raises(PermanentError) as caught:
        parse_raw(review(stars=9), EventKind.FEEDBACK, now=NOW)
    assert "stars" in caught.value.message


def test_records_without_a_key_or_too_large_are_rejected() -> None:
    policy = IngestPolicy(max_record_bytes=2048)
    with pytest.raises(PermanentError) as no_key:
        check_record(None, b"{}", policy)
    assert no_key.value.reason == "missing_key"
    with pytest.raises(PermanentError) as too_big:
        check_record(b"k", b"x" * 4096, policy)
    assert too_big.value.reason == "oversized_record"
    check_record(b"k", b"x" * 2048, policy)


def test_text_is_unicode_normalised_and_trimmed() -> None:
    decomposed = "Cafe\u0301 was  great  "
    event = parse_raw(review(title=None, text=decomposed), EventKind.FEEDBACK, now=NOW)
    assert event.text == "Caf\u00e9 was  great"
    assert Normalization.TEXT_UNICODE_NORMALIZED in event.normalizations


def test_personal_data_is_redacted_everywhere_with_counts() -> None:
    chat = {
        "event_id": "ch-1",
        "customer_id": "cust-1",
        "occurred_at": "2026-11-20T10:00:00Z",
        "source": "helpdesk",
        "type": "chat",
        "conversation_id": "conv-1",
        "channel": "chat",
        "messages": [
            {
                "author": "customer",
                "sent_at": "2026-11-20T10:00:00Z",
                "text": "Refund to DE89 3704 0044 0532 0130 00 please, mail me at ann@example.com",
            },
            {
                "author": "agent",
                "sent_at": "2026-11-20T10:01:00Z",
                "text": "Done, confirmation sent to ann@example.com",
            },
        ],
    }
    event = parse_raw(json.dumps(chat).encode(), EventKind.FEEDBACK, now=NOW)
    assert event.text == "Refund to [IBAN] please, mail me at [EMAIL]"
    assert event.pii_redactions == {"iban": 1, "email": 2}  # the agent's message too
    assert event.upstream is not None
    dumped = event.upstream.model_dump_json()
    assert "ann@example.com" not in dumped
    assert "DE89" not in dumped


def test_redaction_can_be_switched_off() -> None:
    value = review(text="write to ann@example.com")
    event = parse_raw(value, EventKind.FEEDBACK, now=NOW, policy=IngestPolicy(redact_pii=False))
    assert event.text is not None
    assert "ann@example.com" in event.text
    assert event.pii_redactions == {}


def test_customer_ids_can_be_pseudonymised_with_a_key() -> None:
    policy = IngestPolicy(pseudonymize_key=b"a-secret-of-16-bytes")
    first = parse_raw(review(), EventKind.FEEDBACK, now=NOW, policy=policy)
    again = parse_raw(review(event_id="rv-2"), EventKind.FEEDBACK, now=NOW, policy=policy)
    other_key = parse_raw(
        review(),
        EventKind.FEEDBACK,
        now=NOW,
        policy=IngestPolicy(pseudonymize_key=b"another-secret-of-16"),
    )
    assert first.customer_id != "cust-1"
    assert first.customer_id == again.customer_id  # stable: scores still add up per customer
    assert first.customer_id != other_key.customer_id
    assert Normalization.CUSTOMER_ID_PSEUDONYMIZED in first.normalizations


def test_erasure_requests_pass_through() -> None:
    erasure = {
        "event_id": "er-1",
        "customer_id": "cust-1",
        "occurred_at": "2026-11-20T10:00:00Z",
        "source": "privacy-portal",
        "type": "erasure_request",
        "request_id": "ER-1",
    }
    event = parse_raw(json.dumps(erasure).encode(), EventKind.INTERACTION, now=NOW)
    assert event.type == "erasure_request"
