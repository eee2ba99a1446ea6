"""Engines, migrations, durability and the configuration the stored states were built with."""

from __future__ import annotations

import operator
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

from sqlalchemy import Engine, Table, create_engine, event, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect

from services.runtime.exceptions import FatalError
from services.scoring.store.tables import customer_state, scoring_meta

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent.parent / "migrations"
# Serialises concurrent migrations of several instances starting at once (PostgreSQL).
_MIGRATION_LOCK_KEY: Final = 0x5241_5050_4F52_54  # "RAPPORT"
_CHUNK: Final = 500
"""Ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        # pysqlite opens transactions lazily and as DEFERRED, so two processes can both read
        # and then fail to upgrade to a write lock. BEGIN IMMEDIATE takes the write lock up
        # front, which serialises batches the way SELECT ... FOR UPDATE does on PostgreSQL.
        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            _use_wal(dbapi_conn)
            # FULL: a commit is on disk when it returns. NORMAL (WAL's usual partner) may lose
            # the last commits to a power cut, and their Kafka offsets are already committed.
            dbapi_conn.execute("PRAGMA synchronous=FULL")

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def _use_wal(dbapi_conn: Any) -> None:
    """Switch a SQLite database to WAL once; connections after that find it already set.

    The mode is stored in the file, but switching takes an exclusive lock and SQLite does not
    run its busy handler for it: instances starting at once on a new file got "database is
    locked" from this statement, not from their work. So read first, and retry the switch
    itself for as long as the connection's own busy timeout would have waited.
    """
    deadline = time.monotonic() + 30
    while True:
        mode = str(dbapi_conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode == "wal":
            return
        try:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def durability_problems(engine: Engine) -> list[str]:
    """Why a commit this database acknowledges might not survive a crash of it (empty: none).

    Scoring commits a batch's state, then the batch's Kafka offsets. A database that loses an
    acknowledged commit (PostgreSQL with synchronous_commit=off or fsync=off, SQLite without a
    durable journal or with synchronous below FULL, an in-memory database) comes back behind
    offsets that Kafka has already committed: those events are never applied, although their
    score updates were published. Nothing would say so; only a rebuild would show it.
    An asynchronous replica promoted on failover has the same effect and cannot be seen from
    here: docs/operations.md says how to configure one.
    """
    problems: list[str] = []
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            commit = str(conn.execute(text("SHOW synchronous_commit")).scalar_one())
            fsync = str(conn.execute(text("SHOW fsync")).scalar_one())
            if commit == "off":
                problems.append("PostgreSQL synchronous_commit=off")
            if fsync == "off":
                problems.append("PostgreSQL fsync=off")
        elif conn.dialect.name == "sqlite":
            if engine.url.database in (None, "", ":memory:"):
                return ["an in-memory SQLite database"]
            journal = str(conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()).lower()
            synchronous = int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())
            if journal in ("off", "memory"):
                problems.append(f"SQLite journal_mode={journal}")
            if synchronous < 2:
                problems.append(f"SQLite synchronous={synchronous} (below FULL)")
    return problems


def alembic_config(url: str | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine, revision: str = "head", *, default_tenant: str | None = None) -> None:
    """``alembic upgrade <revision>`` with the migrations shipped in the package.
    ``default_tenant``: the tenant rows written before tenants existed belong to (the
    deployment's ``RAPPORT_TENANCY__DEFAULT_TENANT``; the tenant-keys migration reads it).

    Safe when several instances start at once: on PostgreSQL an advisory lock serialises the
    upgrades (SQLite's BEGIN IMMEDIATE does the same), and the later ones find nothing to do.
    """
    _alembic(engine, "upgrade", revision, default_tenant)


def downgrade(engine: Engine, revision: str) -> None:
    """``alembic downgrade <revision>`` (``base`` drops every scoring table)."""
    _alembic(engine, "downgrade", revision)


def _alembic(engine: Engine, action: str, revision: str, default_tenant: str | None = None) -> None:
    from alembic import command

    config = alembic_config()
    if default_tenant is not None:
        config.attributes["default_tenant"] = default_tenant
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


def insert_statement(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _upsert_statement(conn: Connection, table: Table, columns: Sequence[str]) -> Any:
    keys = [c.name for c in table.primary_key.columns]
    stmt = insert_statement(conn)(table)
    return stmt.on_conflict_do_update(
        index_elements=keys,
        set_={name: stmt.excluded[name] for name in columns if name not in keys},
    )


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        _executemany(conn, table, rows, upsert=True)
        return
    conn.execute(_upsert_statement(conn, table, list(rows[0])), list(rows))


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        _executemany(conn, table, rows, upsert=False)
        return
    conn.execute(table.insert(), list(rows))


# --- SQLite: executemany at the driver ------------------------------------------------------------
# The scoring handler writes every row of a batch in a few executemany calls. SQLAlchemy's
# executemany builds and processes a parameter dictionary per row, several times the cost of the
# insert itself on SQLite (an in-process library); here the statement is compiled once per
# table and column set, and each row goes to the driver as a tuple of values passed through the
# columns' own bind processors (the same conversions SQLAlchemy applies). PostgreSQL keeps
# SQLAlchemy's path, whose "insertmanyvalues" batching is what makes it fast there.


@dataclass(frozen=True, slots=True)
class _DriverInsert:
    sql: str
    getter: Callable[[dict[str, Any]], tuple[Any, ...]]
    """A row's values in parameter order, as a tuple (also for a single column)."""
    converted: tuple[tuple[int, Callable[[Any], Any]], ...]
    """(position, bind processor) of the columns that need one."""


_DRIVER_INSERTS: dict[tuple[Dialect, Table, tuple[str, ...], bool], _DriverInsert] = {}


def _driver_insert(
    conn: Connection, table: Table, columns: tuple[str, ...], *, upsert: bool
) -> _DriverInsert:
    key = (conn.dialect, table, columns, upsert)
    known = _DRIVER_INSERTS.get(key)
    if known is not None:
        return known
    dialect = conn.dialect
    stmt = _upsert_statement(conn, table, columns) if upsert else table.insert()
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    order = tuple(compiled.positiontup or ())
    if sorted(order) != sorted(columns):
        raise ValueError(f"unexpected parameters for {table.name}: {order} vs {columns}")
    processors = tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order
    )
    getter: Callable[[dict[str, Any]], tuple[Any, ...]]
    if len(order) == 1:
        (only,) = order

        def getter(row: dict[str, Any]) -> tuple[Any, ...]:
            return (row[only],)
    else:
        getter = cast(Callable[[dict[str, Any]], tuple[Any, ...]], operator.itemgetter(*order))
    converted = tuple((i, p) for i, p in enumerate(processors) if p is not None)
    plan = _DriverInsert(compiled.string, getter, converted)
    _DRIVER_INSERTS[key] = plan
    return plan


def _executemany(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, upsert: bool
) -> None:
    plan = _driver_insert(conn, table, tuple(rows[0]), upsert=upsert)
    # One C-level itemgetter call per row, then only the columns that have a bind processor
    # (JSON, dates) converted: a generator over every value cost more than the rows' inserts.
    values = list(map(plan.getter, rows))
    if plan.converted:
        for index, row in enumerate(values):
            converted = list(row)
            for position, process in plan.converted:
                converted[position] = process(converted[position])
            values[index] = tuple(converted)
    conn.exec_driver_sql(plan.sql, values)


# --- configuration ------------------------------------------------------------------------------

CONFIG_HASH_KEY: Final = "config_hash"


def stored_config_hash(conn: Connection) -> str | None:
    value = conn.execute(
        select(scoring_meta.c.value).where(scoring_meta.c.key == CONFIG_HASH_KEY)
    ).scalar_one_or_none()
    return None if value is None else str(value)


def set_config_hash(conn: Connection, content_hash: str) -> None:
    upsert(conn, scoring_meta, [{"key": CONFIG_HASH_KEY, "value": content_hash}])


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
