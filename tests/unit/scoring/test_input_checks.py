"""Scoring's own input ranges: absurd dates and amounts are dead letters, not state."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.runtime.exceptions import PermanentError
from services.runtime.settings import ScoringLimits
from services.scoring.input_checks import check_ranges
from services.scoring.model import ScoringConfig
from services.scoring.signals import to_input
from tests.unit.scoring.events import T0, annotated

LIMITS = ScoringLimits()
WRITTEN_MS = int(T0.timestamp() * 1000)


def check(**fields: object) -> None:
    at = fields.pop("at", T0)
    event = annotated("purchase", "c-1", "e-1", at, **fields)  # type: ignore[arg-type]
    check_ranges(to_input(event, ScoringConfig.load()), WRITTEN_MS, LIMITS)


def test_ordinary_events_pass() -> None:
    check(amount=120, currency="EUR")
    check(at=T0 - timedelta(days=3_000))  # an old backfill
    check(at=T0 + timedelta(hours=23))  # upstream clock skew


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"at": T0 + timedelta(days=2)}, "timestamp_out_of_range"),
        ({"at": T0 - timedelta(days=3_700)}, "timestamp_out_of_range"),
        ({"amount": 5_000_000_000, "currency": "EUR"}, "amount_out_of_range"),
    ],
)
def test_out_of_range_values_are_refused_with_a_reason(
    fields: dict[str, object], reason: str
) -> None:
    with pytest.raises(PermanentError) as refused:
        check(**fields)
    assert refused.value.reason == reason


def test_a_record_without_a_timestamp_is_not_judged_by_time() -> None:
    event = annotated("purchase", "c-1", "e-1", T0 - timedelta(days=4_000))
    check_ranges(to_input(event, ScoringConfig.load()), 0, LIMITS)
