"""Sentiment keys annotated records by customer in the documented format (issue 16)."""

from __future__ import annotations

import pytest

from schemas.identity import Tenancy, TenancyMode
from schemas.samples import canonical_example
from services.runtime.records import InRecord
from services.runtime.settings import Settings
from services.sentiment.service import make_process

MULTI = Tenancy(mode=TenancyMode.MULTI, default_tenant="acme-de")


@pytest.mark.parametrize(
    ("tenancy", "tenant", "key"),
    [
        (Tenancy(), "acme-fr", b"cust-48213"),  # single-tenant: today's key
        (MULTI, "acme-fr", b"acme-fr|cust-48213"),
        (MULTI, None, b"acme-de|cust-48213"),  # accepted before the switch: default tenant's
    ],
)
def test_the_annotated_key_names_tenant_and_customer(
    tenancy: Tenancy, tenant: str | None, key: bytes
) -> None:
    event = canonical_example().model_copy(update={"tenant_id": tenant})
    assert event.customer_id == "cust-48213"
    value = event.model_dump_json(exclude_none=True).encode()
    process = make_process(Settings(tenancy=tenancy))
    (out,) = process(InRecord("rapport.canonical", 0, 0, b"whatever the input key", value))
    assert out.key == key
    assert out.partition is None  # the producer partitions by this key
