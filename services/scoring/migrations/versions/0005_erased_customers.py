"""Erasure is final (issue 17): each erased customer as a keyed hash of (tenant, customer id)
and the erasure's time, nothing else, so that events dated before the erasure (re-sent or late)
are dropped instead of bringing the customer back. Keyed by tenant like every scoring table
will be (schemas/identity.py; single-tenant deployments: the default tenant).

Existing erasures (the ``erasures`` table holds request ids, not customers) are not backfilled:
``rapport scores rebuild --apply`` derives the rows from the erasure requests still in the topic.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_customers",
        sa.Column("tenant", sa.String(128), primary_key=True),
        sa.Column("customer_hash", sa.String(64), primary_key=True),
        sa.Column("erased_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erased_customers")
