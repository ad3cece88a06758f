"""Cross-department comparison (比对): values that should agree between two departments' data.

A comparison names an item of one resource and an item of another, each with the key that joins
them (人社 联系地址 vs 公安 户籍地址 by 身份证号). A run joins the two latest versions in DuckDB and
keeps every key whose values differ after normalization (white space, full-width characters, 號/号),
with both values, both lines and both versions. Conflicts are stored as Parquet and exported to XLSX.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from sqlalchemy import select

from shuhai.catalog.service import find_resource, resource_dict
from shuhai.config import Config
from shuhai.db import Comparison, ComparisonRun, session_scope
from shuhai.errors import InvalidInput, NotFound
from shuhai.lake import LINE_COLUMN, LakeTable, cipher
from shuhai.lake.schema import quote_identifier as _q

FAMILY = {
    "C": "text",
    "M": "text",
    "N": "number",
    "Y": "number",
    "D": "date",
    "T": "time",
    "L": "bool",
}
FULL = "０１２３４５６７８９（）－號"
HALF = "0123456789()-号"


def _normal(expr: str, family: str) -> str:
    if family != "text":
        return expr
    return f"lower(translate(regexp_replace(trim({expr}), '[\\s\u3000]+', '', 'g'), '{FULL}', '{HALF}'))"


def comparison_dict(c: Comparison) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "left": {"resource_id": c.left_resource_id, "item": c.left_item, "key": c.left_key},
        "right": {"resource_id": c.right_resource_id, "item": c.right_item, "key": c.right_key},
    }


def add_comparison(config: Config, data: dict[str, Any]) -> dict[str, Any]:
    """Declare a comparison; unknown resources or items and incompatible types are refused."""
    problems = []
    with session_scope(config.database_url) as s:
        sides = {}
        for side in ("left", "right"):
            part = data.get(side) or {}
            res = find_resource(s, part.get("resource", ""))
            types = {it["name"]: it["data_type"] for it in resource_dict(res)["items"]}
            for field in ("item", "key"):
                if part.get(field) not in types:
                    problems.append(
                        {
                            "field": f"{side}.{field}",
                            "error": f"信息项“{part.get(field)}”不在 {res.name} 中 / unknown item {part.get(field)!r}",
                        }
                    )
            sides[side] = (res, part, types)
        if not problems:
            (lres, lp, lt), (rres, rp, rt) = sides["left"], sides["right"]
            if FAMILY[lt[lp["item"]]] != FAMILY[rt[rp["item"]]]:
                problems.append(
                    {
                        "field": "right.item",
                        "error": f"类型不可比：{lt[lp['item']]} 与 {rt[rp['item']]} / incompatible types",
                    }
                )
            if FAMILY[lt[lp["key"]]] != FAMILY[rt[rp["key"]]]:
                problems.append(
                    {"field": "right.key", "error": "连接键类型不一致 / keys of different types"}
                )
        if problems:
            raise InvalidInput(
                "compare.invalid", "比对定义有误", "Invalid comparison", details=problems
            )
        name = str(data.get("name") or f"{lres.name}.{lp['item']} ↔ {rres.name}.{rp['item']}")
        c = Comparison(
            name=name,
            left_resource_id=lres.id,
            left_item=lp["item"],
            left_key=lp["key"],
            right_resource_id=rres.id,
            right_item=rp["item"],
            right_key=rp["key"],
        )
        s.add(c)
        s.flush()
        return comparison_dict(c)


def _comparison(s: Any, comparison_id: int) -> Comparison:
    c = s.get(Comparison, comparison_id)
    if c is None:
        raise NotFound(
            "compare.not_found",
            f"比对 {comparison_id} 不存在",
            f"Comparison {comparison_id} not found",
        )
    return c  # type: ignore[no-any-return]


def get_comparison(config: Config, comparison_id: int) -> dict[str, Any]:
    with session_scope(config.database_url) as s:
        return comparison_dict(_comparison(s, comparison_id))


def list_comparisons(config: Config) -> list[dict[str, Any]]:
    with session_scope(config.database_url) as s:
        out = []
        for c in s.scalars(select(Comparison).order_by(Comparison.id)):
            last = s.scalars(
                select(ComparisonRun)
                .where(ComparisonRun.comparison_id == c.id)
                .order_by(ComparisonRun.id.desc())
                .limit(1)
            ).first()
            out.append({**comparison_dict(c), "last_run": _run_dict(last) if last else None})
        return out


def _run_dict(r: ComparisonRun) -> dict[str, Any]:
    return {
        "id": r.id,
        "comparison_id": r.comparison_id,
        "left_version": r.left_version,
        "right_version": r.right_version,
        "joined": r.joined,
        "compared": r.compared,
        "conflicts": r.conflicts,
        "created_at": r.created_at.isoformat() if r.created_at else None,
    }


def conflicts_path(config: Config, comparison_id: int, run_id: int) -> Path:
    return config.home / "compare" / f"c{comparison_id}" / f"run{run_id}.parquet"


def run_comparison(config: Config, comparison_id: int) -> dict[str, Any]:
    with session_scope(config.database_url) as s:
        spec = comparison_dict(_comparison(s, comparison_id))
        types = {
            side: {
                it["name"]: it["data_type"]
                for it in resource_dict(find_resource(s, spec[side]["resource_id"]))["items"]
            }
            for side in ("left", "right")
        }
    left, right = (
        LakeTable(config.lake_dir, spec["left"]["resource_id"]),
        LakeTable(config.lake_dir, spec["right"]["resource_id"]),
    )
    lv, rv = left.latest_version(), right.latest_version()
    if lv is None or rv is None:
        raise NotFound(
            "compare.no_data", "参与比对的资源还没有数据", "A compared resource has no data yet"
        )
    family = FAMILY[types["left"][spec["left"]["item"]]]
    L, R = spec["left"], spec["right"]
    con = duckdb.connect(":memory:")
    try:
        left.register(con, "l", lv)
        right.register(con, "r", rv)
        joined_sql = (
            f"SELECT l.{_q(L['key'])} AS key, l.{_q(L['item'])} AS left_value, r.{_q(R['item'])} AS right_value, "
            f"l.{LINE_COLUMN} AS left_line, r.{LINE_COLUMN} AS right_line "
            f"FROM l JOIN r ON l.{_q(L['key'])} = r.{_q(R['key'])}"
        )
        stats = con.sql(
            f"SELECT count(*), count(left_value) FILTER (WHERE right_value IS NOT NULL) FROM ({joined_sql})"
        ).fetchall()[0]
        conflicts = con.sql(
            f"SELECT CAST(key AS VARCHAR) AS key, CAST(left_value AS VARCHAR) AS left_value, CAST(right_value AS VARCHAR) AS right_value, "
            f"left_line, right_line FROM ({joined_sql}) WHERE left_value IS NOT NULL AND right_value IS NOT NULL "
            f"AND {_normal('left_value', family)} <> {_normal('right_value', family)} ORDER BY key"
        ).to_arrow_table()
    finally:
        con.close()
    with session_scope(config.database_url) as s:
        run = ComparisonRun(
            comparison_id=comparison_id,
            left_version=lv,
            right_version=rv,
            joined=int(stats[0]),
            compared=int(stats[1]),
            conflicts=conflicts.num_rows,
        )
        s.add(run)
        s.flush()
        result = _run_dict(run)
    path = conflicts_path(config, comparison_id, result["id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(_sealed(conflicts, (left, lv, L), (right, rv, R)), str(path))
    return result


def _sealed(
    conflicts: pa.Table,
    left: tuple[LakeTable, int, dict[str, Any]],
    right: tuple[LakeTable, int, dict[str, Any]],
) -> pa.Table:
    """The conflicts as kept on disk: a key or value that either side stores encrypted (L4) is
    encrypted under that side's data key, and the file's schema says so."""
    lk = left[0].encrypted_columns(left[1])
    rk = right[0].encrypted_columns(right[1])
    wanted = {
        "key": lk.get(left[2]["key"]),
        "left_value": lk.get(left[2]["item"]),
        "right_value": rk.get(right[2]["item"]),
    }
    if not any(wanted.values()):
        return conflicts
    target = pa.schema(
        [
            cipher.sealed_field(f, wanted[f.name]) if wanted.get(f.name) else f
            for f in conflicts.schema
        ]
    )
    return cipher.seal_table(conflicts, target, left[0].keyring())


def _read_conflicts(config: Config, comparison_id: int, run_id: int) -> pa.Table:
    table = pq.read_table(conflicts_path(config, comparison_id, run_id))
    return cipher.open_table(table, cipher.keyring_for(config.lake_dir))


def _get_run(config: Config, comparison_id: int, run_id: int) -> dict[str, Any]:
    with session_scope(config.database_url) as s:
        run = s.get(ComparisonRun, run_id)
        if run is None or run.comparison_id != comparison_id:
            raise NotFound(
                "compare.run_not_found",
                f"比对结果 {run_id} 不存在",
                f"Comparison run {run_id} not found",
            )
        return _run_dict(run)


def conflicts(
    config: Config, comparison_id: int, run_id: int, *, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    run = _get_run(config, comparison_id, run_id)
    table = _read_conflicts(config, comparison_id, run_id)
    return {**run, "rows": table.slice(offset, limit).to_pylist(), "total": table.num_rows}


def export_conflicts_xlsx(
    config: Config,
    comparison_id: int,
    run_id: int,
    path: Path,
    view: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> Path:
    """The conflicts of a run as XLSX: key, both values, both lines (Chinese headers). ``view``
    turns each batch of rows into what the reader may see (the policy point's masking)."""
    _get_run(config, comparison_id, run_id)
    table = _read_conflicts(config, comparison_id, run_id)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("比对差异")
    ws.append(
        [
            "连接键 key",
            "左值 left value",
            "右值 right value",
            "左行号 left line",
            "右行号 right line",
        ]
    )
    fields = table.column_names
    for batch in table.to_batches(10_000):
        rows = batch.to_pylist()
        for row in view(rows) if view else rows:
            ws.append([row.get(f) for f in fields])
    wb.save(path)
    return path


__all__ = [
    "add_comparison",
    "conflicts",
    "export_conflicts_xlsx",
    "get_comparison",
    "list_comparisons",
    "run_comparison",
]
