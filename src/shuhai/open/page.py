"""What a dataset's page shows besides its rows: the version history (without the sources'
paths), the latest quality scores, and a chart of the data where it has numbers over time or
over a few categories (drawn with ECharts in the page).

The chart is an aggregate over the whole latest version, computed by DuckDB on opened items
that are not masked for the caller, through the policy point like every other read.
"""

from __future__ import annotations

from typing import Any

import duckdb

from shuhai.access.policy import Viewer, authorize
from shuhai.config import Config
from shuhai.lake import LakeTable
from shuhai.lake.schema import quote_identifier
from shuhai.open.datasets import get_dataset

TIME_NAMES = ("年度", "年份", "统计年度", "年月", "月份", "统计期", "日期", "时间", "year", "month")
MAX_CATEGORIES = 30
OPERATIONS = {  # Delta's operation names, in the public's words
    "CREATE TABLE": "首次写入 created",
    "CREATE OR REPLACE TABLE": "全量替换 replaced",
    "WRITE": "写入 written",
    "MERGE": "合并更新 merged",
    "DELETE": "删除 deleted",
    "UPDATE": "更新 updated",
}


def history(config: Config, name: str) -> list[dict[str, Any]]:
    """The dataset's lake versions, newest first: number, time, what changed, rows."""
    from shuhai.lake import service as lake

    ds = get_dataset(config, name)
    out = []
    for v in lake.list_versions(config, ds["resource"]["id"])[:50]:
        out.append(
            {
                "version": v["version"],
                "at": v["timestamp"],
                "operation": OPERATIONS.get(
                    str(v.get("operation") or "").upper(), v.get("operation") or ""
                ),
                "mode": v.get("mode"),
                "rows_added": v.get("rows_added"),
                "rows_updated": v.get("rows_updated"),
            }
        )
    return out


def quality(config: Config, name: str) -> dict[str, Any] | None:
    """The scores of the latest version's last quality run (GB/T 36344 dimensions), or None."""
    from shuhai.quality import quality_history

    ds = get_dataset(config, name)
    if ds["lake_version"] is None:
        return None
    runs = quality_history(config, ds["resource"]["id"], version=ds["lake_version"])
    if not runs:
        return None
    last = runs[-1]
    return {
        "version": last["lake_version"],
        "scores": last["scores"],
        "rows": last["rows"],
        "at": last["created_at"],
    }


def _numeric(data_type: str) -> bool:
    return data_type in ("N", "Y")


def chart_plan(config: Config, viewer: Viewer, name: str) -> dict[str, Any] | None:
    """Which opened, unmasked items make a chart: a time item (a date, or a year or month item)
    with a number summed over it (a line), or a text item of few values (a bar of the sum, or
    of the row count). None when nothing fits."""
    ds = get_dataset(config, name)
    if ds["lake_version"] is None:
        return None
    from shuhai.access.policy import decide
    from shuhai.share.applications import grants

    d = decide(config, viewer, ds["resource"]["id"], grants=grants(config))
    if not d.allowed:
        return None
    usable = [f for f in ds["fields"] if f["name"] in d.columns and f["name"] not in d.masking]
    time = next(
        (
            f
            for f in usable
            if f["data_type"] in ("D", "T")
            or (any(t in f["name"].lower() for t in TIME_NAMES) and f["data_type"] in ("N", "C"))
        ),
        None,
    )
    measures = [
        f
        for f in usable
        if _numeric(f["data_type"]) and (time is None or f["name"] != time["name"])
    ]
    measures = [f for f in measures if not any(t in f["name"] for t in ("代码", "编号", "邮编"))]
    measure = measures[0]["name"] if measures else None
    if time is not None:
        return {
            "kind": "line",
            "dimension": time["name"],
            "time_type": time["data_type"],
            "measure": measure,
        }
    categories = [f for f in usable if f["data_type"] == "C"]
    if categories:
        return {
            "kind": "bar",
            "dimension": None,
            "candidates": [f["name"] for f in categories],
            "measure": measure,
        }
    return None


def chart(config: Config, viewer: Viewer, name: str) -> dict[str, Any]:
    """The chart's series, aggregated over the latest version (audited as a read)."""
    plan = chart_plan(config, viewer, name)
    ds = get_dataset(config, name)
    authorize(
        config, viewer, ds["resource"]["id"], action="open.chart", detail={"dataset": ds["name"]}
    )
    if plan is None:
        return {"kind": None, "x": [], "y": []}
    table = LakeTable(config.lake_dir, ds["resource"]["id"])
    con = duckdb.connect(":memory:")
    try:
        table.scan_view(con, "t")
        value = f"sum({quote_identifier(plan['measure'])})" if plan["measure"] else "count(*)"
        if plan["kind"] == "bar":
            chosen = None
            for candidate in plan["candidates"]:
                n = con.execute(
                    f"SELECT count(DISTINCT {quote_identifier(candidate)}) FROM t"
                ).fetchall()[0][0]
                if 1 < int(n) <= MAX_CATEGORIES:
                    chosen = candidate
                    break
            if chosen is None:
                return {"kind": None, "x": [], "y": []}
            plan["dimension"] = chosen
            rows = con.sql(
                f"SELECT {quote_identifier(chosen)} AS x, {value} AS y FROM t "
                f"WHERE {quote_identifier(chosen)} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"
            ).fetchall()
        else:
            dim = quote_identifier(plan["dimension"])
            x = (
                f"strftime(date_trunc('month', {dim}), '%Y-%m')"
                if plan["time_type"] in ("D", "T")
                else f"CAST({dim} AS VARCHAR)"
            )
            rows = con.sql(
                f"SELECT {x} AS x, {value} AS y FROM t WHERE {dim} IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT 500"
            ).fetchall()
    finally:
        con.close()
    return {
        "kind": plan["kind"],
        "dimension": plan["dimension"],
        "measure": plan["measure"] or "记录数 rows",
        "x": [str(r[0]) for r in rows],
        "y": [float(r[1]) if r[1] is not None else None for r in rows],
    }
