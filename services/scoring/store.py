"""Scoring state in a relational database (SQLite by default, PostgreSQL in production).

Besides the scores, the database holds what makes the Kafka -> database -> Kafka leg exactly
once: the next input offset already applied per partition, and an outbox of the records each
applied input produced. See ``ScoringHandler`` for the protocol.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    TypeDecorator,
    create_engine,
    delete,
    event,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect

from services.runtime.records import OutRecord, TopicPartition
from services.scoring.domain import CustomerState


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware in and out on every backend; SQLite would otherwise return naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: Rapport stores event times in UTC only")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

customer_scores = Table(
    "customer_scores",
    metadata,
    Column("customer_id", String(128), primary_key=True),
    Column("sentiment_sum", Float, nullable=False),
    Column("sentiment_count", Integer, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("as_of", UtcDateTime),
    Column("score", Float, nullable=False),
)
processed_events = Table(
    "processed_events",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False),
)
applied_offsets = Table(
    "applied_offsets",
    metadata,
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("next_offset", BigInteger, nullable=False),
)
outbox = Table(
    "outbox",
    metadata,
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("source_offset", BigInteger, primary_key=True, autoincrement=False),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("out_topic", String(249), nullable=False),
    Column("out_key", LargeBinary),
    Column("out_value", LargeBinary),
    Column("out_headers", JSON, nullable=False),
)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        # pysqlite opens transactions lazily and as DEFERRED, so two processes can both read
        # and then fail to upgrade to a write lock. BEGIN IMMEDIATE takes the write lock up
        # front, which serialises batches the way SELECT ... FOR UPDATE does on PostgreSQL.
        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            dbapi_conn.execute("PRAGMA journal_mode=WAL")

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def create_schema(engine: Engine) -> None:
    metadata.create_all(engine)


def ping(engine: Engine) -> bool:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return True


def _insert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def lock_partition(conn: Connection, tp: TopicPartition) -> int:
    """The next offset already applied for ``tp`` (0 if none), row-locked until commit."""
    conn.execute(
        _insert(conn)(applied_offsets)
        .values(topic=tp.topic, partition=tp.partition, next_offset=0)
        .on_conflict_do_nothing()
    )
    query = select(applied_offsets.c.next_offset).where(
        applied_offsets.c.topic == tp.topic, applied_offsets.c.partition == tp.partition
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return int(conn.execute(query).scalar_one())


def set_applied(conn: Connection, tp: TopicPartition, next_offset: int) -> None:
    conn.execute(
        update(applied_offsets)
        .where(applied_offsets.c.topic == tp.topic, applied_offsets.c.partition == tp.partition)
        .values(next_offset=next_offset)
    )


def add_outbox(
    conn: Connection, tp: TopicPartition, source_offset: int, records: Iterable[OutRecord]
) -> None:
    rows = [
        {
            "topic": tp.topic,
            "partition": tp.partition,
            "source_offset": source_offset,
            "seq": seq,
            "out_topic": r.topic,
            "out_key": r.key,
            "out_value": r.value,
            "out_headers": [[k, v.decode("latin-1")] for k, v in r.headers],
        }
        for seq, r in enumerate(records)
    ]
    if rows:
        conn.execute(outbox.insert(), rows)


def outbox_records(conn: Connection, tp: TopicPartition, first: int, last: int) -> list[OutRecord]:
    rows = conn.execute(
        select(outbox)
        .where(
            outbox.c.topic == tp.topic,
            outbox.c.partition == tp.partition,
            outbox.c.source_offset >= first,
            outbox.c.source_offset <= last,
        )
        .order_by(outbox.c.source_offset, outbox.c.seq)
    )
    return [
        OutRecord(
            r.out_topic,
            r.out_key,
            r.out_value,
            [(k, v.encode("latin-1")) for k, v in r.out_headers],
        )
        for r in rows
    ]


def prune_outbox(conn: Connection, tp: TopicPartition, below: int) -> None:
    # The consumer only ever starts a batch at the committed offset, and the outputs of every
    # record before it were committed in the same Kafka transaction as that offset.
    conn.execute(
        delete(outbox).where(
            outbox.c.topic == tp.topic,
            outbox.c.partition == tp.partition,
            outbox.c.source_offset < below,
        )
    )


def mark_processed(conn: Connection, event_id: str, customer_id: str) -> bool:
    """Record the event id; False if it was already there (a duplicate)."""
    # RETURNING rather than rowcount: psycopg reports -1 for this statement.
    inserted = conn.execute(
        _insert(conn)(processed_events)
        .values(event_id=event_id, customer_id=customer_id)
        .on_conflict_do_nothing()
        .returning(processed_events.c.event_id)
    ).first()
    return inserted is not None


def load_state(conn: Connection, customer_id: str) -> CustomerState:
    row = conn.execute(
        select(customer_scores).where(customer_scores.c.customer_id == customer_id)
    ).one_or_none()
    if row is None:
        return CustomerState(customer_id)
    as_of: datetime | None = row.as_of
    return CustomerState(
        customer_id, row.sentiment_sum, row.sentiment_count, row.event_count, as_of
    )


def save_state(conn: Connection, state: CustomerState) -> None:
    values = {
        "sentiment_sum": state.sentiment_sum,
        "sentiment_count": state.sentiment_count,
        "event_count": state.event_count,
        "as_of": state.as_of,
        "score": state.score,
    }
    stmt = _insert(conn)(customer_scores).values(customer_id=state.customer_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["customer_id"], set_=values))


def all_scores(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {
            r.customer_id: dict(r._mapping)
            for r in conn.execute(select(customer_scores).order_by(customer_scores.c.customer_id))
        }
