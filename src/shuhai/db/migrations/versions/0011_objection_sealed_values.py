"""objection values encrypted like their lake columns

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.drop_column("sealed")
