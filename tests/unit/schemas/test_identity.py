"""The documented key format of customers and events (schemas.identity) and its settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from schemas import ValidationPolicy
from schemas.base import ID_MAX_LENGTH
from schemas.identity import (
    TENANT_SEPARATOR,
    CustomerIdentity,
    EventIdentity,
    Tenancy,
    TenancyMode,
    customer_key,
    event_identity,
    parse_customer_key,
    parse_event_identity,
)
from schemas.validation import ContractError, RejectReason, parse_raw_event
from services.cli import app
from services.runtime.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[3] / "schemas" / "examples" / "upstream" / "chat.json"

# What ID_PATTERN allows: the separator is not among them.
ids = st.text(alphabet="ABCxyz019._:@/-", min_size=1, max_size=ID_MAX_LENGTH)
MULTI = Tenancy(mode=TenancyMode.MULTI, default_tenant="acme-de")


def test_the_documented_formats() -> None:
    assert customer_key(None, "cust-1") == b"cust-1"
    assert customer_key("acme-de", "cust-1") == b"acme-de|cust-1"
    assert event_identity(None, "ev-1") == "ev-1"
    assert event_identity("acme-fr", "ev-1") == "acme-fr|ev-1"
    assert TENANT_SEPARATOR == "|"


@given(tenant=st.none() | ids, customer=ids)
def test_a_customer_key_parses_back_to_its_identity(tenant: str | None, customer: str) -> None:
    identity = CustomerIdentity(tenant, customer)
    assert parse_customer_key(identity.key) == identity


@given(tenant=st.none() | ids, event=ids)
def test_an_event_identity_parses_back(tenant: str | None, event: str) -> None:
    identity = EventIdentity(tenant, event)
    assert parse_event_identity(identity.key) == identity


@given(a=st.tuples(ids, ids), b=st.tuples(ids, ids))
def test_distinct_customers_have_distinct_keys(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert (customer_key(*a) == customer_key(*b)) == (a == b)


def test_single_tenant_keeps_the_key_of_the_customer_id_alone() -> None:
    single = Tenancy()
    assert single.mode is TenancyMode.SINGLE
    # tenant_id is carried along but names no one apart: one implicit tenant.
    assert single.customer_key("acme-de", "cust-1") == b"cust-1"
    assert single.customer_key(None, "cust-1") == b"cust-1"
    assert single.event_identity("acme-de", "ev-1") == "ev-1"


def test_multi_tenant_keys_name_the_tenant() -> None:
    assert MULTI.customer_key("acme-fr", "cust-1") == b"acme-fr|cust-1"
    # A record without a tenant was written before the switch: the default tenant's.
    assert MULTI.customer_key(None, "cust-1") == b"acme-de|cust-1"


def test_stored_identities_follow_the_deployment() -> None:
    # An old changelog key (event id alone) belongs to the default tenant.
    assert MULTI.normalize_event_identity("ev-1") == "acme-de|ev-1"
    assert MULTI.normalize_event_identity("acme-fr|ev-1") == "acme-fr|ev-1"
    assert Tenancy().normalize_event_identity("ev-1") == "ev-1"
    assert Tenancy().normalize_event_identity("acme-fr|ev-1") == "ev-1"


def test_settings_read_the_tenancy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().tenancy == Tenancy()
    monkeypatch.setenv("RAPPORT_TENANCY__MODE", "multi")
    monkeypatch.setenv("RAPPORT_TENANCY__DEFAULT_TENANT", "acme-de")
    assert Settings().tenancy == MULTI


@pytest.mark.parametrize("bad", ["acme|de", "", "a b"])
def test_a_default_tenant_must_be_an_id(bad: str) -> None:
    with pytest.raises(ValidationError):
        Tenancy(default_tenant=bad)


def test_an_unknown_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_TENANCY__MODE", "several")
    with pytest.raises(ValidationError):
        Settings()


# --- the contract requires a tenant where the deployment does ------------------------------------


def chat(**changes: object) -> bytes:
    document = {**json.loads(EXAMPLE.read_text()), **changes}
    return json.dumps({k: v for k, v in document.items() if v is not None}).encode()


def test_a_multi_tenant_policy_rejects_an_event_without_tenant() -> None:
    assert parse_raw_event(chat(tenant_id=None)).event.tenant_id is None
    with pytest.raises(ContractError) as caught:
        parse_raw_event(chat(tenant_id=None), policy=ValidationPolicy(require_tenant=True))
    assert caught.value.reason is RejectReason.MISSING_TENANT
    assert str(caught.value.problems[0]) == "tenant_id: required in this multi-tenant deployment"
    parsed = parse_raw_event(chat(), policy=ValidationPolicy(require_tenant=True))
    assert parsed.event.tenant_id == "acme-de"


def test_missing_tenant_with_other_problems_is_a_schema_violation() -> None:
    with pytest.raises(ContractError) as caught:
        parse_raw_event(
            chat(tenant_id=None, source="no spaces allowed"),
            policy=ValidationPolicy(require_tenant=True),
        )
    assert caught.value.reason is RejectReason.SCHEMA_VIOLATION
    assert len(caught.value.problems) == 2


def test_validate_checks_as_a_multi_tenant_deployment(tmp_path: Path) -> None:
    file = tmp_path / "events.ndjson"
    file.write_bytes(chat(tenant_id=None) + b"\n" + chat())
    single = CliRunner().invoke(app, ["validate", "--json", str(file)])
    assert single.exit_code == 0
    multi = CliRunner().invoke(app, ["validate", "--json", "--multi-tenant", str(file)])
    assert multi.exit_code == 1
    report = json.loads(multi.stdout)
    assert (report["valid"], report["invalid"]) == (1, 1)
    assert [p["reason"] for p in report["problems"]] == ["missing_tenant"]
