"""Bounded per customer (issue 17): processed ids and score history are pruned to documented
bounds by the service, and nothing counts twice for it: an event older than the customer's
remembered ids is refused, since it may be a duplicate no longer recognisable."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, Table, func, select

from schemas import ScoreUpdate
from services.runtime.records import InRecord, PartitionBatch, TopicPartition
from services.runtime.settings import Topics
from services.scoring import store
from services.scoring.model import ScoringConfig
from services.scoring.service import ScoringHandler, open_store
from tests.unit.scoring.events import T0, annotated, encode

LIMIT = 5


def _bounded() -> ScoringConfig:
    config = ScoringConfig.load()
    publishing = config.publishing.model_copy(
        update={"processed_ids_limit": LIMIT, "history_limit": 3}
    )
    return config.model_copy(update={"publishing": publishing})


class _Feed:
    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self.offset = 0

    def batch(self, *events: tuple[str, int]) -> PartitionBatch:
        records = []
        for event_id, day in events:
            event = annotated("purchase", "c-1", event_id, T0 + timedelta(days=day))
            records.append(InRecord(self.topics.annotated, 0, self.offset, b"c-1", encode(event)))
            self.offset += 1
        return PartitionBatch(TopicPartition(self.topics.annotated, 0), records)


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_processed_ids_and_history_stay_within_their_bounds(database_url: str) -> None:
    config = _bounded()
    topics = Topics()
    engine = open_store(database_url, config)
    handler = ScoringHandler(engine, topics, config)
    feed = _Feed(topics)
    for day in range(12):
        handler.handle_batch(feed.batch((f"e{day}", day)))
        assert _count(engine, store.processed_events) <= LIMIT
        assert _count(engine, store.score_history) <= 3
    assert store.tenant_processed(engine) == {("c-1", f"e{d}") for d in range(7, 12)}
    assert store.tenant_states(engine)["c-1"]["event_count"] == 12  # the state keeps everything

    def published(batch: PartitionBatch) -> list[ScoreUpdate]:
        return [
            ScoreUpdate.model_validate_json(o.value or b"")
            for o in handler.handle_batch(batch)
            if o.topic == topics.score_updates
        ]

    # A re-delivered forgotten id, and a late event dated before the remembered ids: refused
    # (either may be a duplicate); a remembered duplicate: refused as ever; a late event within
    # the remembered ids' dates: scored.
    assert published(feed.batch(("e2", 2), ("late-1", 5), ("e9", 9))) == []
    [late] = published(feed.batch(("late-2", 8)))
    assert late.caused_by_event_id == "late-2"
    assert store.tenant_states(engine)["c-1"]["event_count"] == 13
    assert _count(engine, store.processed_events) <= LIMIT
