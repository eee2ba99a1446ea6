"""Scoring model 2 (issue 17): the state's two new channels, company-side actions and the long
memory of trust (four evidence sums). Existing rows get zeros; their ``state_version`` (1) and
``config_hash`` make the service refuse them until ``rapport scores rebuild --apply``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported: a migration is a snapshot of the schema at its revision.
_NEW_ACCUMULATORS = ["company_pos", "company_neg", "trust_long_pos", "trust_long_neg"]


def upgrade() -> None:
    with op.batch_alter_table("customer_state") as batch:
        for name in _NEW_ACCUMULATORS:
            batch.add_column(sa.Column(name, sa.Double(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("customer_state") as batch:
        for name in _NEW_ACCUMULATORS:
            batch.drop_column(name)
