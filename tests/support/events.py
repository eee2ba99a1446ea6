"""Valid upstream events of every type, with fresh ids, for tests that need many of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from schemas import EventKind
from schemas.base import FeedbackBase
from schemas.samples import upstream_examples
from schemas.upstream import AnyUpstreamEvent

EXAMPLES: list[AnyUpstreamEvent] = upstream_examples()


def kind_of(event: AnyUpstreamEvent) -> EventKind:
    return EventKind.FEEDBACK if isinstance(event, FeedbackBase) else EventKind.INTERACTION


def variant(index: int, customer: str, event_id: str | None = None) -> tuple[EventKind, bytes]:
    """The ``index``-th example type as a fresh event of ``customer``, serialised as upstream
    sends it."""
    example = EXAMPLES[index % len(EXAMPLES)]
    occurred = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(minutes=index)
    event = example.model_copy(
        update={
            "event_id": event_id or f"ev-{index}",
            "customer_id": customer,
            "occurred_at": occurred,
        }
    )
    document = event.model_dump(mode="json", by_alias=True, exclude_none=True)
    return kind_of(example), json.dumps(document).encode()
