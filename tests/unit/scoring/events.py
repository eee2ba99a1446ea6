"""Annotated events of every upstream type for scoring tests, built from the contract's examples.

Also used by the integration tests and the benchmark: ``annotated("delivery_late", "c1", "e1",
at)``, ``mixed_stream(...)`` for a realistic random stream.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from schemas import AnnotatedEvent, AnyUpstreamEvent, CanonicalEvent, Sentiment
from schemas.samples import upstream_examples

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@cache
def _templates() -> dict[str, AnyUpstreamEvent]:
    return {event.type: event for event in upstream_examples()}


def upstream(
    event_type: str, customer: str, event_id: str, at: datetime, **fields: Any
) -> AnyUpstreamEvent:
    template = _templates()[event_type]
    data = {
        **template.model_dump(),
        "event_id": event_id,
        "customer_id": customer,
        "occurred_at": at,
        **fields,
    }
    return type(template).model_validate(data)  # validated, as ingest would have


def annotated(
    event_type: str,
    customer: str,
    event_id: str,
    at: datetime = T0,
    *,
    sentiment: float | None = None,
    emotions: dict[str, float] | None = None,
    aspects: dict[str, float] | None = None,
    tenant_id: str | None = None,
    **fields: Any,
) -> AnnotatedEvent:
    event = upstream(event_type, customer, event_id, at, tenant_id=tenant_id, **fields)
    canonical = CanonicalEvent(
        event_id=event.event_id,
        kind=event.KIND,
        type=event.type,
        customer_id=event.customer_id,
        tenant_id=event.tenant_id,
        occurred_at=event.occurred_at,
        ingested_at=event.occurred_at + timedelta(seconds=1),
        source=event.source,
        upstream=event,
    )
    return AnnotatedEvent(
        event=canonical,
        annotated=sentiment is not None,
        sentiment=None if sentiment is None else Sentiment(compound=sentiment),
        emotions=emotions or {},
        aspects=aspects or {},
        model_version="test",
    )


def encode(event: AnnotatedEvent) -> bytes:
    return event.model_dump_json().encode()


_INTERACTIONS = [
    ("purchase", 6),
    ("delivery_on_time", 4),
    ("delivery_late", 2),
    ("delivery_failed", 1),
    ("promise_kept", 2),
    ("promise_broken", 1),
    ("support_case_opened", 3),
    ("support_case_resolved", 2),
    ("support_case_reopened", 1),
    ("company_message", 1),
    ("engagement", 2),
    ("renewal", 1),
    ("billing_error", 1),
    ("refund", 1),
]
_FEEDBACK = [
    ("survey_nps", 3),
    ("survey_csat", 2),
    ("review", 2),
    ("free_comment", 2),
    ("social_mention", 1),
]


def mixed_stream(
    customers: int,
    events: int,
    *,
    seed: int = 7,
    duplicates: int = 0,
    start: datetime = T0,
    responses: bool = True,
) -> list[AnnotatedEvent]:
    """A random but reproducible stream over ``customers`` customers: every kind of interaction
    and feedback, support cases that open and close, responses to feedback, some events out of
    order, and ``duplicates`` re-sent events (same event id) mixed in."""
    rng = random.Random(seed)
    kinds = [k for k, w in _INTERACTIONS + _FEEDBACK for _ in range(w)]
    out: list[AnnotatedEvent] = []
    feedback_ids: dict[str, list[str]] = {}
    for i in range(events):
        customer = f"cust-{rng.randrange(customers):04d}"
        at = start + timedelta(hours=i * 3 / max(1, customers) * 10, minutes=rng.randrange(600))
        event_id = f"ev-{i:06d}"
        kind = rng.choice(kinds)
        if responses and feedback_ids.get(customer) and rng.random() < 0.08:
            answered = feedback_ids[customer].pop()
            out.append(
                annotated(
                    "feedback_response", customer, event_id, at, responds_to_event_id=answered
                )
            )
            continue
        mood = rng.uniform(-1, 1)
        fields: dict[str, Any] = {}
        text: dict[str, Any] = {}
        if kind.startswith("support_case"):
            fields["case_id"] = f"case-{customer}-{rng.randrange(3)}"
        if kind == "purchase":
            fields.update(
                amount=Decimal(rng.randrange(5, 300)), currency=rng.choice(["EUR", "USD"])
            )
        if kind == "survey_nps":
            fields["score"] = rng.randrange(11)
        if kind == "survey_csat":
            fields["score"] = rng.randrange(1, 6)
        if kind == "review":
            fields["stars"] = rng.randrange(1, 6)
        if kind in ("survey_nps", "survey_csat", "review", "free_comment", "social_mention"):
            text = {
                "sentiment": round(mood, 4),
                "emotions": {"joy": round(max(0.0, mood), 3)}
                if mood > 0
                else {"frustration": round(-mood, 3)},
                "aspects": {rng.choice(["customer_service", "delivery", "price"]): round(mood, 4)}
                if rng.random() < 0.4
                else {},
            }
            feedback_ids.setdefault(customer, []).append(event_id)
        out.append(annotated(kind, customer, event_id, at, **text, **fields))
    for _ in range(duplicates):
        position = rng.randrange(len(out))
        out.insert(rng.randrange(position, len(out) + 1), out[position])
    return out
