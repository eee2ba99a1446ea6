"""Time as an input (issue 17): each input partition's event-time watermark, and each
customer's next review time (when the passage of time may have changed their scores or a
promise falls due), indexed per partition so that a watermark finds the customers it reaches
with a range read, not a scan.

Existing customers get no review row: they are reviewed from their next event on (or from
``rapport scores rebuild --apply``, which computes every row).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partition_clock",
        sa.Column("topic", sa.String(249), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("watermark_us", sa.BigInteger(), nullable=True),
        sa.Column("next_due_us", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "review_schedule",
        sa.Column("customer_id", sa.String(128), primary_key=True),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("next_review_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_review_schedule_due", "review_schedule", ["partition", "next_review_us"])


def downgrade() -> None:
    op.drop_index("ix_review_schedule_due", table_name="review_schedule")
    op.drop_table("review_schedule")
    op.drop_table("partition_clock")
