"""The documented key format of customers and events (schemas.identity) and its settings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

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
from services.runtime.settings import Settings

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
