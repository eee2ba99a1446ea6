"""Tenant keys (issue 16): every table holding customers or events is keyed by the tenant first,
so that two tenants' customer ``12345`` (and their events ``1, 2, 3…``) never meet.

Existing rows belong to the deployment's default tenant: ``RAPPORT_TENANCY__DEFAULT_TENANT``
(passed by ``store.migrate(default_tenant=…)``, read from the environment by the ``alembic``
command), ``default`` when unset. Nothing else changes: states, history, processed ids, alert
trackers, alerts and erasures keep every value, so no rebuild is needed.

``erased_customers`` (revision 0005) was keyed by tenant from the start: its rows stay as they
are (written under the tenant ``default``, whose name is also in their keyed hashes).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported: a migration is a snapshot of the schema at its revision.
# Table -> its key after this revision (the tenant first, then the key it had).
_KEYS = {
    "customer_state": ["tenant", "customer_id"],
    "processed_events": ["tenant", "customer_id", "event_id"],
    "alert_state": ["tenant", "customer_id"],
    "alerts": ["tenant", "alert_id"],
    "erasures": ["tenant", "event_id"],
    "review_schedule": ["tenant", "customer_id"],
}
# Index -> (table, columns before, columns after).
_INDEXES = {
    "ix_score_history_customer": ("score_history", ["customer_id", "id"], False),
    "ux_score_history_event": ("score_history", ["customer_id", "event_id"], True),
    "ix_alerts_customer": ("alerts", ["customer_id"], False),
}


def _default_tenant() -> str:
    configured = context.config.attributes.get("default_tenant")
    return str(configured or os.environ.get("RAPPORT_TENANCY__DEFAULT_TENANT") or "default")


def _tenant_column(default: str) -> sa.Column[str]:
    # The server default fills the existing rows; it is dropped afterwards (the service always
    # writes the tenant).
    return sa.Column("tenant", sa.String(128), nullable=False, server_default=default)


def upgrade() -> None:
    default = _default_tenant()
    for name in _INDEXES:
        op.drop_index(name, table_name=_INDEXES[name][0])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, key in _KEYS.items():
        # SQLite: the table is copied (batch mode) with the tenant as its first column and
        # the wider key; PostgreSQL: the key constraint is replaced in place.
        with (
            warnings.catch_warnings(),
            op.batch_alter_table(table, partial_reordering=[tuple(key)]) as batch,
        ):
            # SQLAlchemy notes that the copy's key differs from the old column flags: intended.
            warnings.filterwarnings("ignore", "Table '_alembic_tmp_", sa.exc.SAWarning)
            batch.add_column(_tenant_column(default))
            if not sqlite:
                batch.drop_constraint(f"{table}_pkey", type_="primary")
            batch.create_primary_key(f"{table}_pkey", key)
    with op.batch_alter_table("score_history") as batch:
        batch.add_column(_tenant_column(default))
    # Only once the rows have their tenant (SQLite copies a table per batch, filling the new
    # column from its server default): the service always writes the tenant itself.
    for table in (*_KEYS, "score_history"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("tenant", server_default=None)
    for name, (table, columns, unique) in _INDEXES.items():
        op.create_index(name, table, ["tenant", *columns], unique=unique)


def downgrade() -> None:
    # Only a database holding one tenant can go back: two tenants' rows with the same customer
    # or event id would collide in the old keys (the primary keys refuse them).
    for name in _INDEXES:
        op.drop_index(name, table_name=_INDEXES[name][0])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, key in _KEYS.items():
        with op.batch_alter_table(table) as batch:
            if not sqlite:  # SQLite's copy loses the tenant's part of the key with the column
                batch.drop_constraint(f"{table}_pkey", type_="primary")
                batch.create_primary_key(f"{table}_pkey", key[1:])
            batch.drop_column("tenant")
    with op.batch_alter_table("score_history") as batch:
        batch.drop_column("tenant")
    for name, (table, columns, unique) in _INDEXES.items():
        op.create_index(name, table, columns, unique=unique)
