"""Scoring state in a relational database (SQLite by default, PostgreSQL in production).

The tables (created and changed only by the Alembic migrations in ``migrations/``; ``migrate``
runs them, at every service start and from ``rapport scores migrate``):

* ``customer_state``: one row per customer: the model's ``CustomerState.to_row()`` (the
  decayed evidence sums, event times, count, configuration hash), the scores derived from it,
  the latest events behind the published drivers, the tenant;
* ``score_history``: append-only, one row per scored event (the scores after it, the change,
  the summary line);
* ``processed_events``: (customer, event id) of every event applied: a duplicate never counts;
* ``alert_state``: what the alert rules remember per customer (open alerts, cooldowns...);
* ``alerts``: every alert raised, with its resolution;
* ``erasures``: completed erasure requests (no customer id: only what detects a re-sent one);
* ``applied_offsets`` and ``outbox``: the exactly-once protocol between Kafka and the
  database (``service.py`` and ``docs/scoring.md`` explain it);
* ``scoring_meta``: the configuration hash the stored states were built with.

Reads and writes are in bulk, per partition batch: one query per table to load the batch's
customers, one executemany per table to write them back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Double,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    TypeDecorator,
    create_engine,
    delete,
    event,
    inspect,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect

from services.runtime.exceptions import FatalError
from services.runtime.records import OutRecord, TopicPartition
from services.scoring.alerts import AlertTracker
from services.scoring.domain import CustomerRecord, RecentEvent
from services.scoring.model import CustomerState, Scores
from services.scoring.model.channels import ACCUMULATORS, accumulator_name

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
# Serialises concurrent migrations of several instances starting at once (PostgreSQL).
_MIGRATION_LOCK_KEY: Final = 0x5241_5050_4F52_54  # "RAPPORT"
_CHUNK: Final = 500
"""Ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits."""


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


def _id(name: str, **kw: Any) -> Column[str]:
    return Column(name, String(128), **kw)


# SQLite only auto-increments an INTEGER PRIMARY KEY.
_BIGSERIAL = BigInteger().with_variant(Integer(), "sqlite")
ACCUMULATOR_COLUMNS: Final = tuple(accumulator_name(i) for i in range(ACCUMULATORS))
SCORE_COLUMNS: Final = (
    "trust",
    "trust_stddev",
    "trust_uncertainty",
    "loyalty",
    "loyalty_uncertainty",
    "churn_risk",
)

metadata = MetaData()

customer_state = Table(
    "customer_state",
    metadata,
    _id("customer_id", primary_key=True),
    # The model's CustomerState.to_row()
    Column("state_version", Integer, nullable=False),
    Column("as_of", UtcDateTime),
    Column("first_seen_at", UtcDateTime),
    Column("last_activity_at", UtcDateTime),
    Column("event_count", Integer, nullable=False),
    Column("config_hash", String(64)),
    *(Column(name, Double, nullable=False) for name in ACCUMULATOR_COLUMNS),
    # The scores at as_of, derived from the above (for queries, dashboards and rebuild diffs)
    *(Column(name, Double, nullable=False) for name in SCORE_COLUMNS),
    Column("segment", String(16), nullable=False),
    # Service bookkeeping
    _id("tenant_id"),
    _id("last_event_id", nullable=False),
    Column("recent_events", JSON, nullable=False),
)
customer_scores = customer_state
"""The walking skeleton's name of the table (tests/integration/test_pipeline.py uses it)."""

score_history = Table(
    "score_history",
    metadata,
    Column("id", _BIGSERIAL, primary_key=True, autoincrement=True),
    _id("customer_id", nullable=False),
    _id("event_id", nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    *(Column(name, Double, nullable=False) for name in SCORE_COLUMNS),
    Column("segment", String(16), nullable=False),
    Column("trust_delta", Double, nullable=False),
    Column("loyalty_delta", Double, nullable=False),
    Column("summary", String(200), nullable=False),
    Column("config_version", String(64), nullable=False),
    Index("ix_score_history_customer", "customer_id", "id"),
    Index("ux_score_history_event", "customer_id", "event_id", unique=True),
)
processed_events = Table(
    "processed_events",
    metadata,
    _id("customer_id", primary_key=True),
    _id("event_id", primary_key=True),
)
alert_state = Table(
    "alert_state",
    metadata,
    _id("customer_id", primary_key=True),
    Column("tracker", JSON, nullable=False),
)
alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", String(128), primary_key=True),
    _id("customer_id", nullable=False),
    Column("kind", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    _id("caused_by_event_id", nullable=False),
    _id("resolved_by_event_id"),
    Column("message", String(200), nullable=False),
    Column("resolution", String(200)),
    Index("ix_alerts_customer", "customer_id"),
)
erasures = Table(
    "erasures",
    metadata,
    _id("event_id", primary_key=True),
    _id("request_id", nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime, nullable=False),
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
    Column("out_topics", JSON, nullable=False),
    Column("out_key", LargeBinary),
    Column("out_value", LargeBinary),
    Column("out_headers", JSON, nullable=False),
)
scoring_meta = Table(
    "scoring_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

STATE_TABLES: Final = (
    customer_state,
    score_history,
    processed_events,
    alert_state,
    alerts,
    erasures,
)
"""Everything derived from the annotated topic (what a rebuild recomputes)."""


# --- engine and schema ----------------------------------------------------------------------------


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
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """``alembic upgrade <revision>`` with the migrations shipped in the package.

    Safe when several instances start at once: on PostgreSQL an advisory lock serialises the
    upgrades (SQLite's BEGIN IMMEDIATE does the same), and the later ones find nothing to do.
    """
    _alembic(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    """``alembic downgrade <revision>`` (``base`` drops every scoring table)."""
    _alembic(engine, "downgrade", revision)


def _alembic(engine: Engine, action: str, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        tables = set(inspect(conn).get_table_names())
        if "customer_scores" in tables and "alembic_version" not in tables:
            raise FatalError(
                "this database holds the walking skeleton's placeholder scores (table "
                "customer_scores, no Alembic version): point RAPPORT_DATABASE_URL at a new "
                "database and run `rapport scores rebuild --apply`"
            )
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        rev: str | None = MigrationContext.configure(conn).get_current_revision()
        return rev


def ping(engine: Engine) -> bool:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return True


def _insert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    stmt = _insert(conn)(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={name: stmt.excluded[name] for name in rows[0] if name not in keys},
    )
    conn.execute(stmt, list(rows))


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(table.insert(), list(rows))


# --- configuration ------------------------------------------------------------------------------

CONFIG_HASH_KEY: Final = "config_hash"


def stored_config_hash(conn: Connection) -> str | None:
    value = conn.execute(
        select(scoring_meta.c.value).where(scoring_meta.c.key == CONFIG_HASH_KEY)
    ).scalar_one_or_none()
    return None if value is None else str(value)


def set_config_hash(conn: Connection, content_hash: str) -> None:
    _upsert(conn, scoring_meta, [{"key": CONFIG_HASH_KEY, "value": content_hash}])


def check_config(engine: Engine, content_hash: str) -> None:
    """Refuse to fold into states built with another configuration: they must be rebuilt."""
    with engine.begin() as conn:
        stored = stored_config_hash(conn)
        if stored == content_hash:
            return
        has_states = conn.execute(select(customer_state.c.customer_id).limit(1)).first()
        if stored is not None and has_states is not None:
            raise FatalError(
                f"the stored scores were built with scoring configuration {stored[:12]}, not "
                f"{content_hash[:12]}: stop every scoring instance, run `rapport scores "
                "rebuild --apply`, then start them again"
            )
        set_config_hash(conn, content_hash)


# --- the exactly-once protocol ------------------------------------------------------------------


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


def applied_offsets_of(conn: Connection, topic: str) -> dict[int, int]:
    rows = conn.execute(
        select(applied_offsets.c.partition, applied_offsets.c.next_offset).where(
            applied_offsets.c.topic == topic
        )
    )
    return {int(r.partition): int(r.next_offset) for r in rows}


def outbox_rows(
    tp: TopicPartition, source_offset: int, records: Iterable[OutRecord]
) -> list[dict[str, Any]]:
    """Outbox rows of one source record's outputs. Consecutive outputs with the same key, value
    and headers (a score update and its copy on the latest-scores topic) share one row."""
    rows: list[dict[str, Any]] = []
    for r in records:
        if r.partition is not None:
            raise ValueError("outbox records use the key partitioner")
        headers = [[k, v.decode("latin-1")] for k, v in r.headers]
        last = rows[-1] if rows else None
        if (
            last is not None
            and last["out_key"] == r.key
            and last["out_value"] == r.value
            and last["out_headers"] == headers
        ):
            last["out_topics"].append(r.topic)
            continue
        rows.append(
            {
                "topic": tp.topic,
                "partition": tp.partition,
                "source_offset": source_offset,
                "seq": len(rows),
                "out_topics": [r.topic],
                "out_key": r.key,
                "out_value": r.value,
                "out_headers": headers,
            }
        )
    return rows


def add_outbox(conn: Connection, rows: list[dict[str, Any]]) -> None:
    insert_rows(conn, outbox, rows)


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
            topic, r.out_key, r.out_value, [(k, v.encode("latin-1")) for k, v in r.out_headers]
        )
        for r in rows
        for topic in r.out_topics
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


# --- bulk loads -----------------------------------------------------------------------------------


def processed_among(conn: Connection, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (customer, event id) pairs among ``keys`` that were already applied."""
    found: set[tuple[str, str]] = set()
    ordered = sorted(keys)
    for chunk in _chunks(ordered):
        rows = conn.execute(
            select(processed_events.c.customer_id, processed_events.c.event_id).where(
                tuple_(processed_events.c.customer_id, processed_events.c.event_id).in_(chunk)
            )
        )
        found.update((r.customer_id, r.event_id) for r in rows)
    return found


def erasures_among(conn: Connection, event_ids: Collection[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(event_ids)):
        rows = conn.execute(select(erasures.c.event_id).where(erasures.c.event_id.in_(chunk)))
        found.update(r.event_id for r in rows)
    return found


def record_from_rows(
    state_row: Mapping[str, Any] | None, tracker: Mapping[str, Any] | None, customer_id: str
) -> CustomerRecord:
    if state_row is None:
        return CustomerRecord(CustomerState.empty(customer_id), AlertTracker.from_json(tracker))
    return CustomerRecord(
        state=CustomerState.from_row(state_row),
        tracker=AlertTracker.from_json(tracker),
        recent=tuple(RecentEvent.from_json(item) for item in state_row["recent_events"]),
        tenant_id=state_row["tenant_id"],
    )


def load_records(conn: Connection, customer_ids: Collection[str]) -> dict[str, CustomerRecord]:
    """Every customer's record (empty for a customer not seen yet), in two queries per chunk."""
    states: dict[str, Mapping[str, Any]] = {}
    trackers: dict[str, Any] = {}
    ordered = sorted(customer_ids)
    for chunk in _chunks(ordered):
        for row in conn.execute(
            select(customer_state).where(customer_state.c.customer_id.in_(chunk))
        ):
            states[row.customer_id] = dict(row._mapping)
        for tracked in conn.execute(
            select(alert_state).where(alert_state.c.customer_id.in_(chunk))
        ):
            trackers[tracked.customer_id] = tracked.tracker
    return {cid: record_from_rows(states.get(cid), trackers.get(cid), cid) for cid in ordered}


# --- bulk writes ----------------------------------------------------------------------------------


def state_row(record: CustomerRecord, scores: Scores, last_event_id: str) -> dict[str, Any]:
    row = record.state.to_row()
    row.update(
        trust=scores.trust,
        trust_stddev=scores.trust_stddev,
        trust_uncertainty=scores.trust_uncertainty,
        loyalty=scores.loyalty,
        loyalty_uncertainty=scores.loyalty_uncertainty,
        churn_risk=scores.churn_risk,
        segment=scores.segment.value,
        tenant_id=record.tenant_id,
        last_event_id=last_event_id,
        recent_events=[event.to_json() for event in record.recent],
    )
    return row


def save_states(conn: Connection, rows: list[dict[str, Any]]) -> None:
    _upsert(conn, customer_state, rows)


def save_trackers(conn: Connection, trackers: Mapping[str, AlertTracker]) -> None:
    _upsert(
        conn,
        alert_state,
        [{"customer_id": cid, "tracker": t.to_json()} for cid, t in sorted(trackers.items())],
    )


def upsert_alerts(conn: Connection, rows: list[dict[str, Any]]) -> None:
    _upsert(conn, alerts, rows)


def erase_customers(conn: Connection, customer_ids: Collection[str]) -> None:
    """Delete everything held about these customers (the erasures table holds no customer)."""
    ordered = sorted(customer_ids)
    for chunk in _chunks(ordered):
        for table in (customer_state, score_history, processed_events, alert_state, alerts):
            conn.execute(delete(table).where(table.c.customer_id.in_(chunk)))


# --- reads for tools ------------------------------------------------------------------------------


def all_states(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every customer_state row by customer (``rapport scores rebuild``, tests)."""
    with engine.connect() as conn:
        return {
            r.customer_id: dict(r._mapping)
            for r in conn.execute(select(customer_state).order_by(customer_state.c.customer_id))
        }


def all_processed(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return {
            (r.customer_id, r.event_id)
            for r in conn.execute(
                select(processed_events.c.customer_id, processed_events.c.event_id)
            )
        }


def customer_view(
    engine: Engine, customer_id: str, history: int = 20
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]:
    """A customer's state row, latest history rows (newest first) and alerts."""
    with engine.connect() as conn:
        row = conn.execute(
            select(customer_state).where(customer_state.c.customer_id == customer_id)
        ).first()
        rows = conn.execute(
            select(score_history)
            .where(score_history.c.customer_id == customer_id)
            .order_by(score_history.c.id.desc())
            .limit(history)
        )
        found_alerts = conn.execute(
            select(alerts)
            .where(alerts.c.customer_id == customer_id)
            .order_by(alerts.c.raised_at, alerts.c.alert_id)
        )
        return (
            None if row is None else dict(row._mapping),
            [dict(r._mapping) for r in rows],
            [dict(r._mapping) for r in found_alerts],
        )
