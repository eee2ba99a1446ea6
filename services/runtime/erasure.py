"""The erasure receipt: what an erasure removed, where, and what remains until when.

Scoring builds it into ``ErasureCompleted.receipt`` when it erases a customer;
``rapport erasure status`` reads the receipts back and checks the running system (the key topic,
the latest-scores topic) against them. The bounds are docs/privacy.md's, computed from the
configs Rapport creates its topics with (services/runtime/topic_configs.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.downstream import ErasureCompleted, ErasureReceipt, RemainingCopy
from services.runtime.settings import Settings, Topics
from services.runtime.shredding import Shredder
from services.runtime.topic_configs import (
    TOPICS,
    bounds,
    compaction_bound_ms,
    declared_configs,
)

# What of an erased customer each topic may still hold (short: it travels in every receipt).
_HOLDS = {
    "raw_interactions": "events as upstream sent them",
    "raw_feedback": "feedback as upstream sent it",
    "canonical": "validated, redacted events",
    "annotated": "redacted events with sentiment",
    "dead_letter": "rejected records, sealed under the destroyed keys",
    "ingest_dedup": "event identities",
    "score_updates": "score updates",
    "scores_latest": "the latest score until compaction, then the tombstone (customer id)",
    "alerts": "alerts",
    "erasure_completed": "erasure receipts (this one included)",
}


def receipt(
    settings: Settings,
    completed_at: datetime,
    *,
    database_tables: Iterable[str],
    tombstones: Iterable[str],
    keys_destroyed: int,
) -> ErasureReceipt:
    names = settings.topics.model_dump()
    remaining = []
    key_topic_bound = 0
    for declaration in TOPICS:
        configs = declared_configs(declaration, settings)
        if declaration.field == "privacy_keys":
            key_topic_bound = compaction_bound_ms(configs)
            continue
        bound = bounds(configs)
        # A tombstoned key stays readable longer than the values it erased: the longer counts.
        after_ms = bound.key_readable_ms or bound.readable_ms
        remaining.append(
            RemainingCopy(
                topic=names[declaration.field],
                holds=_HOLDS.get(declaration.field, declaration.holds),
                removed_by=completed_at + timedelta(milliseconds=after_ms),
                readable=declaration.field != "dead_letter",
            )
        )
    return ErasureReceipt(
        database_tables=tuple(database_tables),
        tombstones=tuple(tombstones),
        dead_letter_keys_destroyed=keys_destroyed,
        key_topic=settings.topics.privacy_keys,
        keys_removed_by=completed_at + timedelta(milliseconds=key_topic_bound),
        remaining=tuple(remaining),
    )


@dataclass
class ErasureStatus:
    """A customer's erasures as the running system shows them."""

    customer_id: str
    tenant_id: str | None
    receipts: list[ErasureCompleted] = field(default_factory=list)
    live_dead_letter_keys: int = 0
    latest_score_present: bool = False

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "tenant_id": self.tenant_id,
            "erased": bool(self.receipts),
            "live_dead_letter_keys": self.live_dead_letter_keys,
            "latest_score_present": self.latest_score_present,
            "receipts": [
                {
                    **json.loads(r.model_dump_json()),
                    "remaining_now": [
                        c.topic
                        for c in (r.receipt.remaining if r.receipt else ())
                        if c.removed_by > now
                    ],
                }
                for r in self.receipts
            ],
        }


def status(
    settings: Settings,
    customer_id: str,
    tenant_id: str | None,
    *,
    erasure_records: Iterable[tuple[bytes | None, bytes | None]],
    latest_records: Iterable[tuple[bytes | None, bytes | None]],
    shredder: Shredder,
) -> ErasureStatus:
    """The customer's receipts (from the erasure-completed topic), the dead-letter keys of
    theirs still live in the key topic (written after the erasure, or an erasure not done), and
    whether the latest-scores topic still has a score for them (a tombstone last: no)."""
    found = ErasureStatus(customer_id, tenant_id)
    for _, value in erasure_records:
        if value is None:
            continue
        try:
            completed = ErasureCompleted.model_validate_json(value)
        except ValueError:
            continue
        # Without a tenant, any of the customer's (a single-tenant deployment carries the
        # tenant_id upstream sent, but its keys ignore it).
        if completed.customer_id == customer_id and tenant_id in (None, completed.tenant_id):
            found.receipts.append(completed)
    # Scoring keys its topics by tenant|customer in multi-tenant deployments, else (and before
    # it kept tenants apart) by customer id.
    keys = {customer_id.encode(), settings.tenancy.customer_key(tenant_id, customer_id)}
    for record_key, value in latest_records:
        if record_key in keys:
            found.latest_score_present = value is not None
    found.live_dead_letter_keys = sum(
        1
        for scope in shredder.scopes_of(tenant_id, customer_id)
        for k in shredder.ring.keys_of(scope)
        if shredder.ring.data_key(k) is not None
    )
    return found


def destroy_and_receipt(
    completed: ErasureCompleted,
    sealer: object,
    topics: Topics,
    *,
    database_tables: Iterable[str],
    tombstones: Iterable[str],
) -> ErasureCompleted:
    """Destroy the customer's dead-letter keys (when the service seals its dead letters) and
    attach the receipt. Idempotent: a retried batch destroys nothing more and says so."""
    destroyed = 0
    settings = Settings.model_construct(topics=topics)
    if isinstance(sealer, Shredder):
        destroyed = sealer.erase_customer(completed.tenant_id, completed.customer_id)
        settings = sealer.settings
    return completed.model_copy(
        update={
            "receipt": receipt(
                settings,
                completed.completed_at,
                database_tables=database_tables,
                tombstones=tombstones,
                keys_destroyed=destroyed,
            )
        }
    )
