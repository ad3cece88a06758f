"""Arrow types for catalog info items (信息项数据类型 → Arrow), and the lake's system columns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa

LINE_COLUMN = "_line"  # source line (record number + header rows) of the row
RUN_COLUMN = "_run_id"  # ingest run that last wrote the row
SYSTEM_COLUMNS = (RUN_COLUMN, LINE_COLUMN)


def quote_identifier(name: str) -> str:
    """A column name as a DuckDB/SQL identifier ("身份证号"; embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def arrow_type(data_type: str, scale: int | None = None) -> pa.DataType:
    """C/M text, N number (int64 when scale is 0, else float64), Y decimal(18,2), D date, T timestamp, L bool."""
    if data_type in ("C", "M"):
        return pa.string()
    if data_type == "N":
        return pa.int64() if scale == 0 else pa.float64()
    if data_type == "Y":
        return pa.decimal128(18, 2)
    if data_type == "D":
        return pa.date32()
    if data_type == "T":
        return pa.timestamp("us")
    if data_type == "L":
        return pa.bool_()
    raise ValueError(f"unknown data type {data_type!r}")


def table_schema(items: Iterable[dict[str, Any]]) -> pa.Schema:
    """The lake schema of a resource: its info items, then the system columns."""
    fields = [pa.field(it["name"], arrow_type(it["data_type"], it.get("scale"))) for it in items]
    fields += [pa.field(RUN_COLUMN, pa.int64()), pa.field(LINE_COLUMN, pa.int64())]
    return pa.schema(fields)


__all__ = [
    "LINE_COLUMN",
    "RUN_COLUMN",
    "SYSTEM_COLUMNS",
    "arrow_type",
    "quote_identifier",
    "table_schema",
]
