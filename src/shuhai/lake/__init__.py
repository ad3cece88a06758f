"""The versioned lake (数据湖): Delta tables per resource, time travel, DuckDB queries."""

from shuhai.lake.schema import LINE_COLUMN, RUN_COLUMN, SYSTEM_COLUMNS, arrow_type, table_schema
from shuhai.lake.tables import RUN_METADATA_KEY, LakeTable, run_sql

__all__ = [
    "LINE_COLUMN",
    "RUN_COLUMN",
    "RUN_METADATA_KEY",
    "SYSTEM_COLUMNS",
    "LakeTable",
    "arrow_type",
    "run_sql",
    "table_schema",
]
