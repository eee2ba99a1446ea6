"""The scoring schema: customer state, score history, processed events, alerts, erasures and
the exactly-once tables (applied offsets, outbox).

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.scoring.store import UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported: a migration is a snapshot of the schema at its revision.
_ACCUMULATORS = [
    f"{channel}_{polarity}"
    for channel in (
        "trust",
        "commitment",
        "activity",
        "spend",
        "advocacy",
        "satisfaction",
        "emotion",
        "connection",
    )
    for polarity in ("pos", "neg")
]
_SCORES = [
    "trust",
    "trust_stddev",
    "trust_uncertainty",
    "loyalty",
    "loyalty_uncertainty",
    "churn_risk",
]


def _id(name: str, **kw: object) -> sa.Column[str]:
    return sa.Column(name, sa.String(128), **kw)  # type: ignore[arg-type]


def upgrade() -> None:
    op.create_table(
        "customer_state",
        _id("customer_id", primary_key=True),
        sa.Column("state_version", sa.Integer(), nullable=False),
        sa.Column("as_of", UtcDateTime()),
        sa.Column("first_seen_at", UtcDateTime()),
        sa.Column("last_activity_at", UtcDateTime()),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("config_hash", sa.String(64)),
        *(sa.Column(name, sa.Double(), nullable=False) for name in _ACCUMULATORS),
        *(sa.Column(name, sa.Double(), nullable=False) for name in _SCORES),
        sa.Column("segment", sa.String(16), nullable=False),
        _id("tenant_id"),
        _id("last_event_id", nullable=False),
        sa.Column("recent_events", sa.JSON(), nullable=False),
    )
    op.create_table(
        "score_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        _id("customer_id", nullable=False),
        _id("event_id", nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("as_of", UtcDateTime(), nullable=False),
        *(sa.Column(name, sa.Double(), nullable=False) for name in _SCORES),
        sa.Column("segment", sa.String(16), nullable=False),
        sa.Column("trust_delta", sa.Double(), nullable=False),
        sa.Column("loyalty_delta", sa.Double(), nullable=False),
        sa.Column("summary", sa.String(200), nullable=False),
        sa.Column("config_version", sa.String(64), nullable=False),
    )
    op.create_index("ix_score_history_customer", "score_history", ["customer_id", "id"])
    op.create_index(
        "ux_score_history_event", "score_history", ["customer_id", "event_id"], unique=True
    )
    op.create_table(
        "processed_events",
        _id("customer_id", primary_key=True),
        _id("event_id", primary_key=True),
    )
    op.create_table(
        "alert_state",
        _id("customer_id", primary_key=True),
        sa.Column("tracker", sa.JSON(), nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.String(128), primary_key=True),
        _id("customer_id", nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("raised_at", UtcDateTime(), nullable=False),
        sa.Column("resolved_at", UtcDateTime()),
        _id("caused_by_event_id", nullable=False),
        _id("resolved_by_event_id"),
        sa.Column("message", sa.String(200), nullable=False),
        sa.Column("resolution", sa.String(200)),
    )
    op.create_index("ix_alerts_customer", "alerts", ["customer_id"])
    op.create_table(
        "erasures",
        _id("event_id", primary_key=True),
        _id("request_id", nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "applied_offsets",
        sa.Column("topic", sa.String(249), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("topic", sa.String(249), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("source_offset", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("out_topics", sa.JSON(), nullable=False),
        sa.Column("out_key", sa.LargeBinary()),
        sa.Column("out_value", sa.LargeBinary()),
        sa.Column("out_headers", sa.JSON(), nullable=False),
    )
    op.create_table(
        "scoring_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "scoring_meta",
        "outbox",
        "applied_offsets",
        "erasures",
        "alerts",
        "alert_state",
        "processed_events",
        "score_history",
        "customer_state",
    ):
        op.drop_table(table)
