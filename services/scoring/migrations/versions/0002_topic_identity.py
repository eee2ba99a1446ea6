"""Applied offsets remember which topic they belong to (its KIP-516 topic id), so that a topic
deleted and recreated under the same name, or a new cluster, is never mistaken for the old one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows get no id: the first batch after the upgrade adopts the topic's current id.
    with op.batch_alter_table("applied_offsets") as batch:
        batch.add_column(sa.Column("topic_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applied_offsets") as batch:
        batch.drop_column("topic_id")
