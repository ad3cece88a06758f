"""open data (数据开放): published datasets, the yearly opening plan, the download record, and
the full-text index of the open catalog (SQLite FTS5 / PostgreSQL tsvector + GIN over the
jieba-segmented text)

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open_datasets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "resource_id",
            sa.Integer(),
            sa.ForeignKey("resources.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("theme", sa.String(40), nullable=False),
        sa.Column("licence", sa.String(40), nullable=False),
        sa.Column("temporal_start", sa.Date(), nullable=True),
        sa.Column("temporal_end", sa.Date(), nullable=True),
        sa.Column("spatial", sa.String(100), nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("published_by", sa.String(100), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=False),
        sa.Column("api_calls", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_open_datasets_name", "open_datasets", ["name"], unique=True)
    op.create_index("ix_open_datasets_status", "open_datasets", ["status"])
    op.create_table(
        "open_plan",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "resource_id",
            sa.Integer(),
            sa.ForeignKey("resources.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("year", "resource_id"),
    )
    op.create_index("ix_open_plan_year", "open_plan", ["year"])
    op.create_table(
        "open_downloads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "dataset_id",
            sa.Integer(),
            sa.ForeignKey("open_datasets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("lake_version", sa.Integer(), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_open_downloads_dataset_id", "open_downloads", ["dataset_id"])
    op.create_index("ix_open_downloads_at", "open_downloads", ["at"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE open_fts USING fts5("
            "tokens, dataset_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 0')"
        )
    elif dialect == "postgresql":
        op.execute(
            "CREATE TABLE open_fts (dataset_id integer PRIMARY KEY, tokens text NOT NULL, "
            "tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED)"
        )
        op.execute("CREATE INDEX ix_open_fts_tsv ON open_fts USING gin (tsv)")
    else:  # any other metadata database: the same tokens, matched with LIKE
        op.create_table(
            "open_fts",
            sa.Column("dataset_id", sa.Integer(), primary_key=True),
            sa.Column("tokens", sa.Text(), nullable=False),
        )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS open_fts")
    op.drop_table("open_downloads")
    op.drop_table("open_plan")
    op.drop_table("open_datasets")
