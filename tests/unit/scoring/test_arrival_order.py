"""Order independence of the published outputs (issue 17, "Done when"), through the service
with a real database: for any arrival order in which each customer's events come in event-time
order and every event arrives before its partition's watermark has passed it (out of order
across customers by less than the allowed lateness), every customer's published score updates
and alerts are the same, byte for byte, as for arrival in event-time order; and the state is
the same for any order at all (docs/scoring.md, "Arrival order")."""

from __future__ import annotations

import random
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import AnnotatedEvent
from services.scoring import store
from services.scoring.model import ScoringConfig
from services.scoring.model.signal import to_us
from services.scoring.watermark import watermark_after
from tests.unit.scoring.events import mixed_stream
from tests.unit.scoring.harness import Scoring

# Three days of allowed lateness: on-time orders then reorder across customers freely within
# days, not just within the default five minutes.
_LOADED = ScoringConfig.load()
CONFIG = _LOADED.model_copy(
    update={
        "publishing": _LOADED.publishing.model_copy(
            update={"watermark_lateness_minutes": 3 * 24 * 60.0}
        )
    }
)


def _key(event: AnnotatedEvent) -> tuple[int, str]:
    return to_us(event.event.occurred_at), event.event.event_id


def _on_time_interleaving(events: list[AnnotatedEvent], rng: random.Random) -> list[AnnotatedEvent]:
    """A random merge of the customers' event-time-ordered streams in which no event arrives
    after the partition's watermark passed it."""
    queues: dict[str, list[AnnotatedEvent]] = defaultdict(list)
    for event in sorted(events, key=_key):
        queues[event.event.customer_id].append(event)
    out: list[AnnotatedEvent] = []
    watermark: int | None = None
    while any(queues.values()):
        heads = [q[0] for q in queues.values() if q]
        allowed = []
        for head in heads:
            after = watermark_after(watermark, _key(head)[0], CONFIG)
            rest = [_key(e)[0] for q in queues.values() for e in q if e is not head]
            if not rest or min(rest) >= after:
                allowed.append(head)
        choice = rng.choice(allowed)  # the earliest head is always allowed
        queues[choice.event.customer_id].pop(0)
        watermark = watermark_after(watermark, _key(choice)[0], CONFIG)
        out.append(choice)
    return out


def _per_customer(
    events: list[AnnotatedEvent], batch: int
) -> tuple[dict[str, list[bytes]], dict[str, dict[str, Any]]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'order.db'}"
        scoring = Scoring(url, partitions=1, max_poll_records=batch, config=CONFIG)
        scoring.send(events)
        scoring.run()
        outputs: dict[str, list[bytes]] = defaultdict(list)
        for topic in (scoring.topics.score_updates, scoring.topics.alerts):
            for record in scoring.out(topic):
                outputs[f"{topic}:{(record.key or b'').decode()}"].append(record.value or b"")
        states = {c: dict(row) for c, row in store.tenant_states(scoring.engine).items()}
        scoring.engine.dispose()
    return dict(outputs), states


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    order=st.randoms(use_true_random=False),
    batch=st.integers(1, 30),
)
def test_on_time_arrival_orders_publish_the_same_for_every_customer(
    seed: int, order: random.Random, batch: int
) -> None:
    events = mixed_stream(3, 36, seed=seed, responses=True)
    in_time = sorted(events, key=_key)
    shuffled = _on_time_interleaving(events, order)
    expected, states = _per_customer(in_time, 50)
    got, got_states = _per_customer(shuffled, batch)
    assert got == expected
    assert got_states.keys() == states.keys()
    for customer, row in states.items():
        assert got_states[customer]["event_count"] == row["event_count"]
        assert abs(got_states[customer]["trust"] - row["trust"]) < 1e-9
        assert abs(got_states[customer]["loyalty"] - row["loyalty"]) < 1e-9
