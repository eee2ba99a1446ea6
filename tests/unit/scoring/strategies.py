"""Hypothesis strategies and builders for the scoring model tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from services.scoring.model import Signal, SignalKind

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_US = 3 * 365 * 86_400 * 1_000_000
CUSTOMER = "c-1"
EMOTIONS = [
    "joy",
    "satisfaction",
    "gratitude",
    "trust",
    "frustration",
    "anger",
    "disappointment",
    "sadness",
    "anxiety",
    "confusion",
    "surprise",
    "boredom",  # unknown: ignored
]
ASPECTS = [
    "customer_service",
    "product_quality",
    "price_value",
    "delivery_reliability",
    "communication_transparency",
    "ethics_privacy",
    "brand_connection",
    "recommendation",
    "parking",  # unknown: ignored
]
QUALIFIERS = [
    "company",
    "customer",
    "marketing",
    "service_notice",
    "low",
    "high",
    "critical",
    "up",
    "down",
    "converted",
    "other",
]
# Kinds whose evidence on trust is positive only / negative only (checked in the tests).
POSITIVE_TRUST_KINDS = [
    SignalKind.PROMISE_KEPT,
    SignalKind.DELIVERY_ON_TIME,
    SignalKind.FEEDBACK_RESPONSE,
    SignalKind.REFUND,
]
NEGATIVE_TRUST_KINDS = [
    SignalKind.PROMISE_BROKEN,
    SignalKind.DELIVERY_LATE,
    SignalKind.DELIVERY_FAILED,
    SignalKind.BILLING_ERROR,
    SignalKind.PRIVACY_INCIDENT,
    SignalKind.SUPPORT_CASE_REOPENED,
]

unit = st.floats(0.0, 1.0, allow_nan=False)
compound = st.floats(-1.0, 1.0, allow_nan=False)
money = st.floats(0.0, 5000.0, allow_nan=False)
offsets = st.integers(0, SPAN_US)
zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))])


def at(offset_us: int, zone: timezone = UTC) -> datetime:
    """An aware moment ``offset_us`` after T0, expressed in ``zone``."""
    return (T0 + timedelta(microseconds=offset_us)).astimezone(zone)


@st.composite
def signal_fields(draw: st.DrawFn) -> dict[str, Any]:
    """Everything of a signal but its event id: any kind, any optional fields."""
    fields: dict[str, Any] = {
        "customer_id": CUSTOMER,
        "occurred_at": at(draw(offsets), draw(zones)),
        "kind": draw(st.sampled_from(list(SignalKind))),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "qualifier": st.sampled_from(QUALIFIERS),
        "amount": money,
        "previous_amount": money,
        "count": st.integers(1, 10),
        "nps": st.integers(0, 10),
        "csat": st.integers(1, 5),
        "ces": st.integers(1, 7),
        "stars": st.integers(1, 5),
        "sentiment": compound,
        "emotions": st.dictionaries(st.sampled_from(EMOTIONS), unit, max_size=3),
        "aspects": st.dictionaries(st.sampled_from(ASPECTS), compound, max_size=3),
        "resolution_seconds": st.floats(0.0, 30 * 86_400.0),
        "wait_seconds": st.floats(0.0, 4 * 3600.0),
        "recommend": st.booleans(),
    }
    for name in draw(st.sets(st.sampled_from(sorted(optional)), max_size=5)):
        fields[name] = draw(optional[name])
    return fields


def with_ids(fields: Sequence[dict[str, Any]], prefix: str = "e") -> list[Signal]:
    return [Signal(event_id=f"{prefix}{i}", **f) for i, f in enumerate(fields)]


@st.composite
def signal_lists(draw: st.DrawFn, min_size: int = 0, max_size: int = 20) -> list[Signal]:
    return with_ids(draw(st.lists(signal_fields(), min_size=min_size, max_size=max_size)))


def signal(
    kind: SignalKind, day: float = 0.0, event_id: str | None = None, **fields: Any
) -> Signal:
    """A signal of CUSTOMER ``day`` days after T0."""
    occurred = T0 + timedelta(days=day)
    return Signal(event_id or f"{kind.value}@{day}", CUSTOMER, occurred, kind, **fields)
