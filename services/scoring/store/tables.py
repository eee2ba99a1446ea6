"""The scoring database's tables (created and changed only by the Alembic migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

from services.scoring.model.channels import ACCUMULATORS, accumulator_name


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


def _tenant(**kw: Any) -> Column[str]:
    """The tenant a row belongs to: with ``customer_id`` (or an event or alert id) its key, so
    that two tenants' customers (and events) with the same id never meet. Every row of a
    single-tenant deployment belongs to its default tenant (``Tenancy.tenant_of``)."""
    return _id("tenant", **kw)


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
    _tenant(primary_key=True),
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
    # Service bookkeeping. `tenant_id`: the upstream tenant_id last seen, as published (in a
    # single-tenant deployment it may differ from `tenant`, the deployment's one tenant).
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
    _tenant(nullable=False),
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
    Index("ix_score_history_customer", "tenant", "customer_id", "id"),
    Index("ux_score_history_event", "tenant", "customer_id", "event_id", unique=True),
)
processed_events = Table(
    "processed_events",
    metadata,
    _tenant(primary_key=True),
    _id("customer_id", primary_key=True),
    _id("event_id", primary_key=True),
    # The event's time: a customer's ids beyond ``publishing.processed_ids_limit`` are pruned
    # oldest first (NULL: stored before it was kept, the oldest).
    Column("occurred_us", BigInteger),
)
alert_state = Table(
    "alert_state",
    metadata,
    _tenant(primary_key=True),
    _id("customer_id", primary_key=True),
    Column("tracker", JSON, nullable=False),
)
alerts = Table(
    "alerts",
    metadata,
    _tenant(primary_key=True),
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
    Index("ix_alerts_customer", "tenant", "customer_id"),
)
erasures = Table(
    "erasures",
    metadata,
    _tenant(primary_key=True),
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
    # The topic's KIP-516 id when the offset was recorded: offsets of a recreated topic of the
    # same name mean nothing (None: not known yet, adopted on the next batch).
    Column("topic_id", String(64)),
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
partition_clock = Table(
    "partition_clock",
    metadata,
    # The input partition's event-time watermark (max event time seen minus the allowed
    # lateness) and the earliest review time of its customers (None: none scheduled).
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("watermark_us", BigInteger),
    Column("next_due_us", BigInteger),
)
review_schedule = Table(
    "review_schedule",
    metadata,
    # When a watermark should next look at the customer (domain.next_review_us); indexed per
    # input partition so that a watermark reads the customers it reaches as a range.
    _tenant(primary_key=True),
    _id("customer_id", primary_key=True),
    Column("partition", Integer, nullable=False),
    Column("next_review_us", BigInteger, nullable=False),
    Index("ix_review_schedule_due", "partition", "next_review_us"),
)
erased_customers = Table(
    "erased_customers",
    metadata,
    # Erasure is final: a keyed hash of (tenant, customer id) (``erasure.customer_hash``) and
    # the erasure request's event time; events dated before it are dropped. Nothing else.
    _id("tenant", primary_key=True),
    Column("customer_hash", String(64), primary_key=True),
    Column("erased_at_us", BigInteger, nullable=False),
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
    erased_customers,
    partition_clock,
    review_schedule,
)
"""Everything derived from the annotated topic (what a rebuild recomputes)."""
