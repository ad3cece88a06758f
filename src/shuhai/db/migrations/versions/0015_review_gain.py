"""review pairs carry their expected gain (probability × records the answer would join), the
order the clerical review queue is worked in

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_pairs") as batch:
        batch.add_column(sa.Column("gain", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_pairs") as batch:
        batch.drop_column("gain")
