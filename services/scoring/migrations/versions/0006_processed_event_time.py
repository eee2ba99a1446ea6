"""Bounded processed ids (issue 17): each processed event id with its event time, so that a
customer's ids beyond ``publishing.processed_ids_limit`` are pruned oldest first (and events
dated at or before the newest pruned one refused, ``AlertTracker.ids_forgotten_until_us``).

Existing rows get no time (NULL): they count as the oldest, pruned first.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("processed_events") as batch:
        batch.add_column(sa.Column("occurred_us", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processed_events") as batch:
        batch.drop_column("occurred_us")
