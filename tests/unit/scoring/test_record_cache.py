"""The handler's in-memory customer records (reused only while the stored record is the one it
committed) and the bounded score history."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from services.runtime.records import InRecord, PartitionBatch, TopicPartition
from services.runtime.settings import Topics
from services.scoring import store
from services.scoring.model import ScoringConfig
from services.scoring.service import ScoringHandler, open_store
from tests.unit.scoring.events import T0, annotated, encode


def _batch(topics: Topics, offset: int, event_id: str, days: int) -> PartitionBatch:
    event = annotated("purchase", "c-1", event_id, T0 + timedelta(days=days))
    record = InRecord(topics.annotated, 0, offset, b"c-1", encode(event))
    return PartitionBatch(TopicPartition(topics.annotated, 0), [record])


def test_a_customer_written_by_another_instance_is_loaded_afresh(database_url: str) -> None:
    config = ScoringConfig.load()
    topics = Topics()
    engine = open_store(database_url, config)
    first = ScoringHandler(engine, topics, config)
    second = ScoringHandler(engine, topics, config)  # e.g. after a rebalance and back
    first.handle_batch(_batch(topics, 0, "e1", 0))
    second.handle_batch(_batch(topics, 1, "e2", 1))
    first.handle_batch(_batch(topics, 2, "e3", 2))  # its cached record is one event behind
    state = store.tenant_states(engine)["c-1"]
    assert state["event_count"] == 3
    assert state["last_event_id"] == "e3"
    # And the cache serves the next batch: the same result as a fresh handler would give.
    first.handle_batch(_batch(topics, 3, "e4", 3))
    assert store.tenant_states(engine)["c-1"]["event_count"] == 4


def test_an_erased_customer_is_not_served_from_memory(database_url: str) -> None:
    config = ScoringConfig.load()
    topics = Topics()
    engine = open_store(database_url, config)
    handler = ScoringHandler(engine, topics, config)
    handler.handle_batch(_batch(topics, 0, "e1", 0))
    handler.handle_batch(_batch(topics, 1, "e2", 1))
    with engine.begin() as conn:
        store.erase_customers(conn, {("default", "c-1")})  # behind the handler's back
    handler.handle_batch(_batch(topics, 2, "e3", 2))
    assert store.tenant_states(engine)["c-1"]["event_count"] == 1


def test_the_score_history_keeps_the_newest_rows_up_to_its_bound(database_url: str) -> None:
    config = ScoringConfig.load()
    bounded = config.model_copy(
        update={"publishing": config.publishing.model_copy(update={"history_limit": 3})}
    )
    topics = Topics()
    engine = open_store(database_url, bounded)
    handler = ScoringHandler(engine, topics, bounded)
    for offset in range(5):
        handler.handle_batch(_batch(topics, offset, f"e{offset}", offset))
    with engine.connect() as conn:
        rows = conn.execute(
            select(store.score_history.c.event_id).order_by(store.score_history.c.id)
        )
        kept = [str(row.event_id) for row in rows]
    assert kept == ["e2", "e3", "e4"]
    assert store.tenant_states(engine)["c-1"]["event_count"] == 5  # the state keeps everything
