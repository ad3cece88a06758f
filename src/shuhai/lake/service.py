"""Lake reads for users (版本、预览、查询): versions joined with their runs, previews and SQL.

These functions are what the CLI and the web layer call; values come back JSON-ready.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from shuhai.catalog.service import find_resource
from shuhai.config import Config
from shuhai.db import IngestRun, session_scope
from shuhai.errors import InvalidInput, check_paging
from shuhai.lake.schema import SYSTEM_COLUMNS
from shuhai.lake.tables import LakeTable

MAX_ROWS = 1000


def _resource_id(config: Config, resource: str | int) -> int:
    with session_scope(config.database_url) as s:
        return find_resource(s, resource).id


def table_for(config: Config, resource: str | int) -> LakeTable:
    return LakeTable(config.lake_dir, _resource_id(config, resource))


def list_versions(config: Config, resource: str | int) -> list[dict[str, Any]]:
    """Every lake version, newest first, with the run that made it and that run's source."""
    rid = _resource_id(config, resource)
    history = LakeTable(config.lake_dir, rid).history()
    with session_scope(config.database_url) as s:
        runs = {r.id: r for r in s.scalars(select(IngestRun).where(IngestRun.resource_id == rid))}
        out = []
        for h in history:
            run = runs.get(h["run_id"]) if h["run_id"] else None
            out.append(
                {
                    **h,
                    "rows": run.rows_loaded if run else h.get("rows_added"),
                    "source": run.source if run else None,
                    "sha256": run.source_sha256 if run else None,
                    "mode": run.mode if run else None,
                }
            )
    return out


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    return value


def table_rows(table: pa.Table) -> list[dict[str, Any]]:
    return [{k: jsonable(v) for k, v in row.items()} for row in table.to_pylist()]


def preview(
    config: Config,
    resource: str | int,
    *,
    version: int | None = None,
    limit: int = 20,
    offset: int = 0,
    system_columns: bool = False,
) -> dict[str, Any]:
    """A page of rows of one version (latest by default), with the total row count."""
    check_paging("lake.bad_paging", limit, offset, MAX_ROWS)
    table = table_for(config, resource)
    latest = table.latest_version()
    use = latest if version is None else version
    dataset = table.dataset(use)
    columns = [c for c in dataset.schema.names if system_columns or c not in SYSTEM_COLUMNS]
    data = table.read(use, columns=columns, limit=limit, offset=offset)
    return {
        "version": use,
        "latest_version": latest,
        "total": dataset.count_rows(),
        "columns": columns,
        "rows": table_rows(data),
        "limit": limit,
        "offset": offset,
    }


def sql_query(
    config: Config, resource: str | int, sql: str, *, version: int | None = None, limit: int = 100
) -> dict[str, Any]:
    """DuckDB SQL over one version (table ``t``); at most ``limit`` rows come back."""
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidInput(
            "lake.bad_limit", f"limit 应在 1–{MAX_ROWS}", f"limit must be 1–{MAX_ROWS}"
        )
    table = table_for(config, resource)
    result = table.query(sql, version)
    return {
        "version": table.latest_version() if version is None else version,
        "columns": result.column_names,
        "rows": table_rows(result.slice(0, limit)),
        "total": result.num_rows,
        "truncated": result.num_rows > limit,
    }


__all__ = ["jsonable", "list_versions", "preview", "sql_query", "table_for", "table_rows"]
