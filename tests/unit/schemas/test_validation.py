"""The validation rules of the contract, one by one, with the reason codes and messages a
sender sees."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import Alert, CanonicalEvent, EventKind, ValidationPolicy
from schemas.base import ACCEPTED_EVENTS_POLICY, CONTRACT_VERSION, DEFAULT_MAX_TEXT_CHARS
from schemas.feedback import Chat, Review, SurveyNps
from schemas.interactions import Purchase, Refund
from schemas.upstream import FEEDBACK_TYPES_BY_NAME, INTERACTION_TYPES_BY_NAME
from schemas.validation import (
    ContractError,
    ParsedEvent,
    RejectReason,
    describe_validation_error,
    format_path,
    parse_raw_event,
    validate_event,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
POLICY = ValidationPolicy(now=NOW)


def nps(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "survey_nps",
        "event_id": "qualtrics:R_1",
        "customer_id": "cust-1",
        "occurred_at": "2026-11-22T10:00:00+01:00",
        "source": "qualtrics",
        "score": 9,
        **overrides,
    }


def purchase(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "purchase",
        "event_id": "shop:1",
        "customer_id": "cust-1",
        "occurred_at": "2026-11-22T10:00:00Z",
        "source": "shop",
        **overrides,
    }


def parse(document: dict[str, Any], policy: ValidationPolicy = POLICY) -> ParsedEvent:
    return parse_raw_event(json.dumps(document).encode(), policy=policy)


def rejection(document: dict[str, Any] | bytes, policy: ValidationPolicy = POLICY) -> ContractError:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    with pytest.raises(ContractError) as rejected:
        parse_raw_event(raw, policy=policy)
    return rejected.value


# --- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe{}", RejectReason.INVALID_UTF8),
        (b'{"type": "purchase",', RejectReason.INVALID_JSON),
        (b'{"amount": NaN}', RejectReason.INVALID_JSON),
        (b"[1, 2]", RejectReason.SCHEMA_VIOLATION),
        (b'"purchase"', RejectReason.SCHEMA_VIOLATION),
        (b"[" * 100_000 + b"]" * 100_000, RejectReason.INVALID_JSON),
    ],
)
def test_undecodable_values_get_their_own_reason(raw: bytes, reason: RejectReason) -> None:
    assert rejection(raw).reason == reason


def test_a_byte_order_mark_is_tolerated() -> None:
    parsed = parse_raw_event(b"\xef\xbb\xbf" + json.dumps(purchase()).encode(), policy=POLICY)
    assert parsed.event.event_id == "shop:1"


# --- required fields and types ----------------------------------------------------------------


def test_missing_fields_are_listed_with_their_paths() -> None:
    document = nps()
    del document["customer_id"]
    del document["score"]

    error = rejection(document)

    assert error.reason == RejectReason.MISSING_FIELD
    assert {problem.path for problem in error.problems} == {"customer_id", "score"}
    assert "customer_id: required field is missing" in error.message


def test_a_missing_type_is_a_missing_field() -> None:
    document = purchase()
    del document["type"]
    error = rejection(document)
    assert error.reason == RejectReason.MISSING_FIELD
    assert error.problems[0].path == "type"


def test_an_unknown_type_is_rejected_listing_the_known_ones() -> None:
    error = rejection(purchase(type="shipment_lost"))

    assert error.reason == RejectReason.UNKNOWN_TYPE
    assert error.problems[0].path == "type"
    for known in [*INTERACTION_TYPES_BY_NAME, *FEEDBACK_TYPES_BY_NAME]:
        assert known in error.message


def test_a_type_sent_to_the_wrong_topic_says_which_topic_is_right() -> None:
    with pytest.raises(ContractError) as rejected:
        parse_raw_event(json.dumps(nps()).encode(), EventKind.INTERACTION, POLICY)

    assert rejected.value.reason == RejectReason.UNKNOWN_TYPE
    assert "raw feedback topic" in rejected.value.message
    assert "purchase" in rejected.value.message  # still lists the interaction types


def test_the_kind_is_taken_from_the_type_when_not_given() -> None:
    assert parse(nps()).kind is EventKind.FEEDBACK
    assert parse(purchase()).kind is EventKind.INTERACTION


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("event_id", "has spaces in it", "event_id"),
        ("customer_id", "x" * 129, "customer_id"),
        ("customer_id", "", "customer_id"),
        ("event_id", "über", "event_id"),
        ("source", 42, "source"),
    ],
)
def test_ids_are_1_to_128_safe_characters(field: str, value: object, path: str) -> None:
    error = rejection(nps(**{field: value}))
    assert error.reason == RejectReason.SCHEMA_VIOLATION
    assert error.problems[0].path == path


def test_an_id_error_explains_the_format_and_shows_the_value() -> None:
    message = rejection(nps(customer_id="cust 1")).message
    assert message == (
        'customer_id: must be 1-128 characters of letters, digits and . _ : @ / - (got "cust 1")'
    )


def test_ids_are_trimmed() -> None:
    assert parse(nps(customer_id="  cust-1 ")).event.customer_id == "cust-1"


@pytest.mark.parametrize(
    ("type_name", "field", "low", "high"),
    [("survey_nps", "score", 0, 10), ("survey_csat", "score", 1, 5), ("survey_ces", "score", 1, 7)],
)
def test_survey_scores_have_their_scales(type_name: str, field: str, low: int, high: int) -> None:
    for good in (low, high):
        assert getattr(parse(nps(type=type_name, **{field: good})).event, field) == good
    for bad in (low - 1, high + 1):
        error = rejection(nps(type=type_name, **{field: bad}))
        assert error.problems[0].path == field
        assert f"(got {bad})" in error.message


def test_review_stars_are_1_to_5() -> None:
    review = nps(type="review", stars=5)
    del review["score"]
    assert isinstance(parse(review).event, Review)
    assert rejection({**review, "stars": 0}).problems[0].path == "stars"


def test_nested_paths_name_the_list_index() -> None:
    chat = nps(
        type="chat",
        conversation_id="c-1",
        channel="chat",
        messages=[
            {"author": "customer", "text": "hi", "sent_at": "2026-11-22T09:00:00Z"},
            {"author": "robot", "text": "hello", "sent_at": "2026-11-22T09:01:00"},
        ],
    )
    error = rejection(chat)
    assert {problem.path for problem in error.problems} == {
        "messages[1].author",
        "messages[1].sent_at",
    }


def test_format_path_leaves_out_union_tags() -> None:
    assert format_path(("chat", "messages", 2, "text")) == "messages[2].text"
    assert format_path(()) == "<root>"


# --- money ------------------------------------------------------------------------------------


def test_amounts_are_non_negative_decimals_written_in_plain_notation() -> None:
    event = parse(purchase(amount="1e2", currency="eur")).event
    assert isinstance(event, Purchase)
    assert json.loads(event.model_dump_json())["amount"] == "100"
    assert rejection(purchase(amount=-1, currency="EUR")).problems[0].path == "amount"
    assert rejection(purchase(amount=1.23456, currency="EUR")).problems[0].path == "amount"


def test_currency_is_upper_cased_and_must_be_three_letters() -> None:
    event = parse(purchase(amount=10, currency=" eur")).event
    assert isinstance(event, Purchase)
    assert event.currency == "EUR"
    error = rejection(purchase(amount=10, currency="EURO"))
    assert error.problems[0].path == "currency"
    assert "ISO 4217" in error.message


def test_an_amount_needs_a_currency() -> None:
    error = rejection(purchase(amount=10))
    assert error.reason == RejectReason.MISSING_FIELD
    assert str(error.problems[0]) == "currency: required when amount is given"
    assert rejection(purchase(amount=10, currency=None)).problems[0].path == "currency"
    assert parse(purchase(amount=None, currency=None)).event.type == "purchase"


def test_a_refund_needs_its_amount() -> None:
    document = purchase(type="refund", currency="EUR")
    assert rejection(document).problems[0].path == "amount"
    assert isinstance(parse({**document, "amount": "5.00"}).event, Refund)


# --- text cap ---------------------------------------------------------------------------------


def test_text_above_the_cap_is_rejected_not_truncated() -> None:
    at_cap = parse(nps(text="a" * DEFAULT_MAX_TEXT_CHARS)).event
    assert isinstance(at_cap, SurveyNps)
    assert at_cap.text is not None
    assert len(at_cap.text) == DEFAULT_MAX_TEXT_CHARS

    error = rejection(nps(text="a" * (DEFAULT_MAX_TEXT_CHARS + 1)))
    assert error.reason == RejectReason.TEXT_TOO_LONG
    assert error.message == "text: text is 20001 characters long; the limit is 20000"


def test_the_text_cap_is_configurable_and_applies_to_every_free_text() -> None:
    policy = ValidationPolicy(max_text_chars=10, now=NOW)
    chat = nps(
        type="chat",
        conversation_id="c-1",
        channel="chat",
        messages=[{"author": "customer", "text": "x" * 11, "sent_at": "2026-11-22T09:00:00Z"}],
    )
    error = rejection(chat, policy)
    assert error.reason == RejectReason.TEXT_TOO_LONG
    assert error.problems[0].path == "messages[0].text"  # and no echo about the list's length
    assert len(error.problems) == 1
    assert isinstance(parse(chat, ValidationPolicy(max_text_chars=None, now=NOW)).event, Chat)


# --- time -------------------------------------------------------------------------------------


def test_timestamps_need_a_timezone() -> None:
    error = rejection(nps(occurred_at="2026-11-22T10:00:00"))
    assert error.reason == RejectReason.SCHEMA_VIOLATION
    assert error.problems[0].path == "occurred_at"
    assert "must include a timezone" in error.message


def test_occurred_at_may_be_ahead_of_the_clock_by_the_skew_only() -> None:
    within = (NOW + timedelta(minutes=5)).isoformat()
    beyond = (NOW + timedelta(minutes=5, seconds=1)).isoformat()

    assert parse(nps(occurred_at=within)).event.occurred_at == NOW + timedelta(minutes=5)
    error = rejection(nps(occurred_at=beyond))
    assert error.reason == RejectReason.TIMESTAMP_IN_FUTURE
    assert error.problems[0].path == "occurred_at"
    assert "5 minutes 1 second ahead" in error.message
    assert "at most 5 minutes of clock skew" in error.message


def test_the_skew_is_configurable_and_the_check_can_be_disabled() -> None:
    next_year = nps(occurred_at="2027-11-22T10:00:00Z")
    assert rejection(next_year).reason == RejectReason.TIMESTAMP_IN_FUTURE
    lenient = ValidationPolicy(max_future_skew=timedelta(days=400), now=NOW)
    assert parse(next_year, lenient).event.type == "survey_nps"
    assert parse(next_year, ACCEPTED_EVENTS_POLICY).event.type == "survey_nps"


def test_old_events_are_always_accepted() -> None:
    assert parse(nps(occurred_at="2001-01-01T00:00:00Z")).event.type == "survey_nps"


def test_a_policy_clock_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ValidationPolicy(now=datetime(2026, 1, 1))


# --- versions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "1.7", "1.12"])
def test_every_minor_version_of_the_major_is_accepted(version: str) -> None:
    assert parse(nps(schema_version=version)).event.schema_version == version


def test_another_major_version_is_rejected_with_its_own_reason() -> None:
    error = rejection(nps(schema_version="2.0"))
    assert error.reason == RejectReason.UNSUPPORTED_SCHEMA_VERSION
    assert error.message == (
        "schema_version: version 2.0 is not supported: this Rapport accepts 1.x"
    )


def test_a_malformed_version_is_a_schema_violation() -> None:
    assert rejection(nps(schema_version="v1")).reason == RejectReason.SCHEMA_VIOLATION


def test_the_version_defaults_to_the_current_one() -> None:
    assert parse(nps()).event.schema_version == CONTRACT_VERSION


# --- unknown fields ---------------------------------------------------------------------------


def test_unknown_fields_are_ignored_and_reported_by_path() -> None:
    chat = nps(
        type="chat",
        conversation_id="c-1",
        channel="chat",
        colour="blue",
        messages=[
            {"author": "customer", "text": "hi", "sent_at": "2026-11-22T09:00:00Z", "mood": 3}
        ],
    )
    del chat["score"]

    parsed = parse(chat)

    assert parsed.unknown_fields == ("colour", "messages[0].mood")
    dumped = json.loads(parsed.event.model_dump_json())
    assert "colour" not in dumped
    assert "mood" not in dumped["messages"][0]


def test_a_misspelt_required_field_gets_a_hint() -> None:
    document = nps()
    document["ocurred_at"] = document.pop("occurred_at")
    assert rejection(document).message == (
        "occurred_at: required field is missing (is 'ocurred_at' a misspelling?)"
    )


def test_problems_of_different_kinds_make_a_schema_violation_listing_all() -> None:
    document = nps(occurred_at="2026-11-22T10:00:00", score=11)
    del document["customer_id"]

    error = rejection(document)

    assert error.reason == RejectReason.SCHEMA_VIOLATION
    assert [problem.reason for problem in error.problems] == [
        RejectReason.MISSING_FIELD,
        RejectReason.SCHEMA_VIOLATION,
        RejectReason.SCHEMA_VIOLATION,
    ]


def test_validate_event_takes_decoded_documents() -> None:
    assert validate_event(purchase(), EventKind.INTERACTION, POLICY).event.type == "purchase"


# --- downstream -------------------------------------------------------------------------------


def test_describe_validation_error_works_for_downstream_models_too() -> None:
    with pytest.raises(ValidationError) as invalid:
        CanonicalEvent.model_validate_json(b'{"event_id": "e1"}')
    description = describe_validation_error(invalid.value)
    assert "customer_id: required field is missing" in description
    assert "occurred_at: required field is missing" in description


def test_an_alert_has_resolved_at_exactly_when_resolved() -> None:
    alert = {
        "alert_id": "a-1",
        "customer_id": "cust-1",
        "kind": "trust_drop",
        "severity": "warning",
        "state": "resolved",
        "raised_at": "2026-11-22T10:00:00Z",
        "message": "Trust fell",
        "caused_by_event_id": "e-1",
    }
    with pytest.raises(ValidationError, match="required when state is resolved"):
        Alert.model_validate(alert)
    with pytest.raises(ValidationError, match="must be absent while state is raised"):
        Alert.model_validate({**alert, "state": "raised", "resolved_at": "2026-11-22T11:00Z"})
    assert Alert.model_validate({**alert, "resolved_at": "2026-11-22T11:00:00Z"}).resolved_at
