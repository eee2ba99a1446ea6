"""Ranges scoring accepts before an annotated event becomes state.

Scoring reads a topic other systems can write to, and one absurd value is forever: an event
dated 9999-12-31 would pin its customer's clock (every later event looks "old"), an amount of
10^14 their spend. Such events are dead letters with a reason, not evidence.

The reference time is the record's Kafka timestamp, not the wall clock, so a replay or
``rapport scores rebuild`` a year later accepts and refuses exactly what the service did.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from services.runtime.exceptions import PermanentError
from services.runtime.settings import ScoringLimits
from services.scoring.signals import ScoringInput

TIMESTAMP_OUT_OF_RANGE: Final = "timestamp_out_of_range"
AMOUNT_OUT_OF_RANGE: Final = "amount_out_of_range"
_AMOUNT_FIELDS: Final = ("amount", "previous_amount")


def check_ranges(inp: ScoringInput, record_timestamp_ms: int, limits: ScoringLimits) -> None:
    """Raise ``PermanentError`` when the event's time or amounts are out of range."""
    signal = inp.signal
    if record_timestamp_ms > 0:
        written = datetime.fromtimestamp(record_timestamp_ms / 1000, UTC)
        latest = written + timedelta(seconds=limits.max_future_skew_seconds)
        earliest = written - timedelta(days=limits.max_event_age_days)
        if not earliest <= signal.occurred_at <= latest:
            raise PermanentError(
                TIMESTAMP_OUT_OF_RANGE,
                f"occurred_at {signal.occurred_at.isoformat()} is outside "
                f"[{earliest.isoformat()}, {latest.isoformat()}] around the record's time "
                f"{written.isoformat()} (RAPPORT_SCORING__MAX_EVENT_AGE_DAYS, "
                f"RAPPORT_SCORING__MAX_FUTURE_SKEW_SECONDS)",
            )
    for name in _AMOUNT_FIELDS:
        value = getattr(signal, name, None)
        if value is not None and not abs(value) <= limits.max_amount:
            raise PermanentError(
                AMOUNT_OUT_OF_RANGE,
                f"{name} {value:g} is beyond ±{limits.max_amount:g} (RAPPORT_SCORING__MAX_AMOUNT)",
            )
