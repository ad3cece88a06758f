"""conditional opening (有条件开放): applications with a signed security pledge, answered
within 5 working days, and the personal keys an approval issues

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open_applications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "dataset_id",
            sa.Integer(),
            sa.ForeignKey("open_datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("applicant", sa.String(100), nullable=False),
        sa.Column("applicant_kind", sa.String(12), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("pledge_version", sa.String(20), nullable=False),
        sa.Column("pledge_signed_by", sa.String(100), nullable=False),
        sa.Column("pledge_signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_open_applications_dataset_id", "open_applications", ["dataset_id"])
    op.create_index("ix_open_applications_applicant", "open_applications", ["applicant"])
    op.create_index("ix_open_applications_status", "open_applications", ["status"])
    op.create_table(
        "open_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "application_id",
            sa.Integer(),
            sa.ForeignKey("open_applications.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column(
            "dataset_id",
            sa.Integer(),
            sa.ForeignKey("open_datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_open_keys_application_id", "open_keys", ["application_id"])
    op.create_index("ix_open_keys_username", "open_keys", ["username"])


def downgrade() -> None:
    op.drop_table("open_keys")
    op.drop_table("open_applications")
