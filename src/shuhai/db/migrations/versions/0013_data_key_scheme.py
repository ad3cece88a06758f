"""data keys name their scheme (short numeric codes enciphered as one block)

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # keys made before this have no scheme: they stay SIV-only (``sm4-siv``), so what they
    # sealed still compares equal to what they seal from now on
    with op.batch_alter_table("data_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheme", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_keys", schema=None) as batch_op:
        batch_op.drop_column("scheme")
