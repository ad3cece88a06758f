"""objections keep the value a correction wrote and what the source sent since: a correction
stays in force over later loads until the source sends the corrected value or it is withdrawn

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("objections") as batch:
        batch.add_column(sa.Column("corrected_value", sa.Text(), nullable=True))
        batch.add_column(sa.Column("source_status", sa.String(12), nullable=True))
        batch.add_column(sa.Column("source_run_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("source_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("objections") as batch:
        batch.drop_column("source_seen_at")
        batch.drop_column("source_run_id")
        batch.drop_column("source_status")
        batch.drop_column("corrected_value")
