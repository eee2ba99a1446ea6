"""Who a record is about: a customer is (tenant, customer id), an event is (tenant, event id).

Two tenants sharing one Rapport may both have a customer ``12345`` and both number their events
``1, 2, 3…``; every stage keys its records and its state by these identities so that they never
meet. The format of the Kafka keys built here is part of the contract (docs/sending-events.md
and docs/subscribing-to-scores.md describe it; docs/decisions/0001-tenant-keys.md says why):

* single-tenant deployments (``RAPPORT_TENANCY__MODE=single``, the default): the key is the
  customer id alone, UTF-8, exactly as before tenants existed; every customer belongs to the
  deployment's one, implicit tenant and ``tenant_id`` is carried along but names nobody apart;
* multi-tenant deployments (``RAPPORT_TENANCY__MODE=multi``): the key is
  ``<tenant_id>|<customer_id>``, UTF-8. ``|`` cannot occur in an id (``ID_PATTERN``), so the
  first ``|`` splits a key unambiguously, and a key without one is a record written before the
  deployment became multi-tenant: it belongs to the default tenant.

Ingest's duplicate-suppression changelog keys events the same way (``<tenant_id>|<event_id>``
or the event id alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Self

from pydantic import BaseModel, TypeAdapter, model_validator

from schemas.base import Id

TENANT_SEPARATOR: Final = "|"
"""Between tenant and id in a multi-tenant key; never part of an id (see ``ID_PATTERN``)."""

DEFAULT_TENANT: Final = "default"


class TenancyMode(StrEnum):
    SINGLE = "single"
    MULTI = "multi"


@dataclass(frozen=True, slots=True)
class CustomerIdentity:
    """A customer: ``tenant_id`` None means the deployment's default (single-tenant) tenant."""

    tenant_id: str | None
    customer_id: str

    @property
    def key(self) -> bytes:
        return customer_key(self.tenant_id, self.customer_id)


@dataclass(frozen=True, slots=True)
class EventIdentity:
    """An event: ``tenant_id`` None means the deployment's default (single-tenant) tenant."""

    tenant_id: str | None
    event_id: str

    @property
    def key(self) -> str:
        return _join(self.tenant_id, self.event_id)


def customer_key(tenant_id: str | None, customer_id: str) -> bytes:
    """The Kafka key of a customer's records: ``tenant|customer``, or the customer id alone
    when ``tenant_id`` is None (single-tenant deployments, today's key)."""
    return _join(tenant_id, customer_id).encode()


def parse_customer_key(key: bytes) -> CustomerIdentity:
    tenant_id, customer_id = _split(key.decode())
    return CustomerIdentity(tenant_id, customer_id)


def event_identity(tenant_id: str | None, event_id: str) -> str:
    """The event's identity as a string (dedup windows, changelog keys): ``tenant|event`` or
    the event id alone when ``tenant_id`` is None."""
    return _join(tenant_id, event_id)


def parse_event_identity(identity: str) -> EventIdentity:
    tenant_id, event_id = _split(identity)
    return EventIdentity(tenant_id, event_id)


class Tenancy(BaseModel):
    """How a deployment tells tenants apart, e.g. ``RAPPORT_TENANCY__MODE=multi``.

    Part of the contract because it decides the keys downstream teams read; the runtime's
    settings carry it like ``Topics``.
    """

    # `single`: one implicit tenant, keys are customer ids (as before tenants). `multi`: keys
    # name the tenant and the customer, events are told apart by tenant, tenant_id is required.
    mode: TenancyMode = TenancyMode.SINGLE
    # The tenant of records written before the deployment became multi-tenant (keys without a
    # tenant, events without tenant_id already accepted): set it to the tenant those belonged
    # to, so their history carries over.
    default_tenant: Id = DEFAULT_TENANT
    # Hard isolation (multi mode only): each tenant of RAPPORT_TENANCY__TENANTS gets its own
    # score-update, latest-score and alert topics (`<topic>.<tenant>`), so that Kafka ACLs can
    # give each tenant's consumers only their own data (docs/operations.md); an event of another
    # tenant is a dead letter (`unknown_tenant`). Off: the tenants share the topics, keyed apart.
    topics_per_tenant: bool = False
    # The tenants with topics of their own, e.g. '["acme-de", "acme-fr"]' (ids).
    tenants: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _isolation_needs_tenants(self) -> Self:
        for tenant in self.tenants:
            _TENANT_ID.validate_python(tenant)
        if self.topics_per_tenant and (not self.multi_tenant or not self.tenants):
            raise ValueError(
                "topics_per_tenant needs mode=multi and the tenants listed "
                "(RAPPORT_TENANCY__TENANTS)"
            )
        return self

    @property
    def multi_tenant(self) -> bool:
        return self.mode is TenancyMode.MULTI

    def tenant_of(self, tenant_id: str | None) -> str:
        """The tenant a record belongs to in this deployment's state (scoring's tables): the
        record's own in multi-tenant mode, else (and for a record without one) the default."""
        return self.key_tenant(tenant_id) or self.default_tenant

    def key_tenant(self, tenant_id: str | None) -> str | None:
        """The tenant a key names for a record of ``tenant_id``: none in single-tenant mode;
        in multi-tenant mode the record's own, or the default tenant for one without."""
        if not self.multi_tenant:
            return None
        return tenant_id or self.default_tenant

    def customer_key(self, tenant_id: str | None, customer_id: str) -> bytes:
        return customer_key(self.key_tenant(tenant_id), customer_id)

    def event_identity(self, tenant_id: str | None, event_id: str) -> str:
        return event_identity(self.key_tenant(tenant_id), event_id)

    def normalize_event_identity(self, stored: str) -> str:
        """A stored identity (a changelog key, whenever written) as this deployment keys events
        now: an old key without a tenant belongs to the default tenant."""
        parsed = parse_event_identity(stored)
        return self.event_identity(parsed.tenant_id, parsed.event_id)


_TENANT_ID: Final = TypeAdapter(Id)


def _join(tenant_id: str | None, identifier: str) -> str:
    if tenant_id is None:
        return identifier
    return f"{tenant_id}{TENANT_SEPARATOR}{identifier}"


def _split(joined: str) -> tuple[str | None, str]:
    tenant_id, separator, identifier = joined.partition(TENANT_SEPARATOR)
    return (tenant_id, identifier) if separator else (None, joined)
