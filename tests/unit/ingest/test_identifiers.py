"""Identifiers free of personal data: each kind the detectors know, each policy choice."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas import EventKind, Normalization
from services.ingest.domain import IngestPolicy, parse_raw
from services.ingest.identifiers import (
    PERSONAL_DATA_IN_IDENTIFIER,
    IdentifierPolicy,
    personal_data_in_identifiers,
)
from services.ingest.pii import PiiKind
from services.product.send import plan
from services.runtime.exceptions import PermanentError
from services.runtime.settings import IngestSettings, Topics

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
KEY = b"0123456789abcdef0123456789abcdef"


def delivery(**overrides: object) -> bytes:
    document: dict[str, object] = {
        "event_id": "dl-1",
        "customer_id": "cust-1",
        "occurred_at": "2026-11-20T10:00:00+00:00",
        "source": "shop",
        "type": "delivery_late",
        "order_id": "ord-1",
        "promised_at": "2026-11-19T10:00:00+00:00",
    }
    document.update(overrides)
    return json.dumps(document).encode()


def parse(value: bytes, policy: IngestPolicy | None = None) -> object:
    return parse_raw(value, EventKind.INTERACTION, now=NOW, policy=policy)


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("customer_id", "jane.doe@example.com", PiiKind.EMAIL),
        ("event_id", "crm:jane.doe@example.com:1", PiiKind.EMAIL),
        ("order_id", "4111111111111111", PiiKind.CARD),
        ("order_id", "ord-4111-1111-1111-1111", PiiKind.CARD),
        ("customer_id", "0151-12345678", PiiKind.PHONE),
        ("customer_id", "tel-020-7946-0958", PiiKind.PHONE),
        ("customer_id", "DE89370400440532013000", PiiKind.IBAN),
        ("customer_id", "10.1.2.3", PiiKind.IP),
    ],
)
def test_each_kind_of_personal_data_in_an_id_is_rejected_by_default(
    field: str, value: str, kind: PiiKind
) -> None:
    with pytest.raises(PermanentError) as caught:
        parse(delivery(**{field: value}))
    assert caught.value.reason == PERSONAL_DATA_IN_IDENTIFIER
    assert f"{field} holds {kind}" in caught.value.message
    assert value not in caught.value.message  # the dead letter's reason never repeats it


@pytest.mark.parametrize(
    "value",
    [
        "cust-48213",
        "ORD-20240517-0042",
        "INV-2024-000123",
        "case-00012345",
        "sub_1234567",
        "02079460958",  # a bare number is an id, not a phone number
        "4915112345678",  # 13 digits that pass Luhn: a numeric order id, not a card
    ],
)
def test_ordinary_ids_pass(value: str) -> None:
    parse(delivery(order_id=value, customer_id=value))


def test_pseudonymise_replaces_the_id_by_a_stable_keyed_hash() -> None:
    policy = IngestPolicy(
        identifier_personal_data=IdentifierPolicy.PSEUDONYMISE, pseudonymize_key=KEY
    )
    first = parse(delivery(order_id="4111111111111111"), policy)
    again = parse(delivery(event_id="dl-2", order_id="4111111111111111"), policy)
    upstream = first.upstream  # type: ignore[attr-defined]
    assert upstream.order_id.startswith("p_")
    assert upstream.order_id == again.upstream.order_id  # type: ignore[attr-defined]
    assert "4111" not in first.model_dump_json()  # type: ignore[attr-defined]
    assert Normalization.IDENTIFIER_PSEUDONYMIZED in first.normalizations  # type: ignore[attr-defined]


def test_a_customer_id_pseudonymised_as_a_whole_is_hashed_once() -> None:
    policy = IngestPolicy(
        identifier_personal_data=IdentifierPolicy.PSEUDONYMISE, pseudonymize_key=KEY
    )
    with_email = parse(delivery(customer_id="jane.doe@example.com"), policy)
    plain = parse(delivery(customer_id="jane.doe@example.com"), IngestPolicy(
        identifier_personal_data=IdentifierPolicy.ALLOW, pseudonymize_key=KEY
    ))  # fmt: skip
    assert with_email.customer_id == plain.customer_id  # type: ignore[attr-defined]


def test_allow_forwards_ids_as_they_are() -> None:
    policy = IngestPolicy(identifier_personal_data=IdentifierPolicy.ALLOW)
    event = parse(delivery(customer_id="jane.doe@example.com"), policy)
    assert event.customer_id == "jane.doe@example.com"  # type: ignore[attr-defined]


def test_only_the_kinds_the_deployment_detects_count() -> None:
    value = delivery(customer_id="10.1.2.3")
    parse(value, IngestPolicy(pii_kinds=frozenset({PiiKind.EMAIL})))
    event = parse(delivery())
    assert personal_data_in_identifiers(event.upstream) == {}  # type: ignore[attr-defined]


def test_pseudonymising_without_a_key_is_refused_by_the_settings() -> None:
    with pytest.raises(ValidationError, match="PSEUDONYMIZE_KEY"):
        IngestSettings(identifier_personal_data="pseudonymise")
    IngestSettings(identifier_personal_data="pseudonymise", pseudonymize_key="k" * 32)


def test_rapport_send_rejects_what_ingest_would() -> None:
    files = [("ids.ndjson", delivery(customer_id="jane.doe@example.com") + b"\n" + delivery())]
    outgoing, rejected = plan(files, Topics())
    assert len(outgoing) == 1
    assert [r.reason for r in rejected] == [PERSONAL_DATA_IN_IDENTIFIER]
    allowed, none = plan(files, Topics(), identifiers=IdentifierPolicy.ALLOW)
    assert len(allowed) == 2
    assert not none


def test_unknown_field_names_that_are_not_names_are_withheld() -> None:
    event = parse(delivery(**{"jane.doe@example.com": "x", "loyalty_tier": "gold"}))
    fields = event.unknown_fields  # type: ignore[attr-defined]
    assert "loyalty_tier" in fields
    assert "<withheld>" in fields
    assert not any("@" in name for name in fields)
