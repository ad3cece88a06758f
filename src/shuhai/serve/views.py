"""Rows, quality results and comparison conflicts as a viewer may see them: decide → read →
mask → audit, in that order (a refused viewer never causes a read of the lake)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shuhai import ingest, quality
from shuhai.access.identity import Unauthorized
from shuhai.access.policy import (
    OPERATOR_CODE,
    Decision,
    Viewer,
    authorize,
    decide,
    mask_records,
    remembered,
)
from shuhai.config import Config
from shuhai.errors import Forbidden, check_paging
from shuhai.lake import service as lake
from shuhai.quality import compare, corrections
from shuhai.share import serving
from shuhai.share.applications import grants


def masked_values(d: Decision, values: list[tuple[str, Any]]) -> list[Any]:
    """Values each of a named item, masked in one pass (None where the item is not shown)."""
    rows = mask_records([{item: value} for item, value in values], d)
    return [row.get(item) for (item, _value), row in zip(values, rows, strict=True)]


def preview(
    config: Config,
    viewer: Viewer,
    rid: int | str,
    *,
    version: int | None = None,
    limit: int = 20,
    offset: int = 0,
    action: str = "preview",
) -> dict[str, Any]:
    """Rows of a version through the policy point: decided (and audited) first, then read, open
    objections flagged on the raw keys, the columns the viewer may not read dropped and the rest
    masked."""
    check_paging("lake.bad_paging", limit, offset, lake.MAX_ROWS)  # whichever engine answers
    res, d = remembered(config, viewer, rid)  # the catalog entry and decision, reused briefly
    d = authorize(config, viewer, res["id"], action=action, detail={"version": version}, decision=d)
    data = serving.page_from_index(
        config, res["id"], version, limit=limit, offset=offset
    ) or lake.preview(config, res["id"], version=version, limit=limit, offset=offset)
    rows = corrections.open_flags(config, res["id"], data["rows"], res["key_columns"])
    data["rows"] = mask_records(rows, d)
    data["columns"] = [c for c in data["columns"] if c in d.columns]
    data["masking"] = d.masking
    return data


def query(
    config: Config,
    viewer: Viewer,
    resource: int | str,
    sql: str,
    *,
    version: int | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """A read-only DuckDB query over a version (table ``t``). Its answer can be any expression
    of any column, so it cannot be masked column by column: only a viewer who reads the whole
    resource unmasked (its officer, the operator) may ask one; the query is audited."""
    d = decide(config, viewer, resource, grants=grants(config))
    if d.allowed and not d.unmasked:
        d = Decision(
            False,
            "query.masked",
            "该资源对您有脱敏或隐藏的信息项，不能用 SQL 查询 / "
            "Items of this resource are masked or hidden for you: no SQL over it",
            owner=d.owner,
            resource=d.resource,
            items=d.items,
        )
    authorize(config, viewer, resource, action="query", detail={"sql": sql[:500]}, decision=d)
    return lake.sql_query(config, resource, sql, version=version, limit=limit)


def own_rows(
    config: Config, viewer: Viewer, rid: int, action: str, *, officer: bool = False
) -> Decision:
    """Raw rows kept for the providing department's own work (quarantine, failing rows)."""
    if viewer.kind == "anonymous":
        raise Unauthorized("auth.required", "请先登录", "Sign in first")
    d = authorize(config, viewer, rid, action=action)
    if not d.own_department or (officer and d.code not in ("access.own_officer", OPERATOR_CODE)):
        raise Forbidden(
            "access.own_department_only",
            "仅提供部门可查看" + ("（数据管理员）" if officer else ""),
            "Only the providing department" + (" (its data officer)" if officer else ""),
        )
    return d


def quality_runs(
    config: Config, viewer: Viewer, rid: int, runs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Quality results keep their figures for everyone; the sample failing values (data) go
    through the policy point, and are left out for callers who may not read the resource."""
    d = decide(config, viewer, rid, grants=grants(config))
    shown = [
        (r["item"], one)
        for q in runs
        for r in q.get("results", [])
        if d.allowed and r["item"] in d.columns
        for one in r.get("samples") or []
    ]
    keys = mask_records([dict(one.get("key") or {}) for _item, one in shown], d)
    values = masked_values(d, [(item, one.get("value")) for item, one in shown])
    masked = iter(zip(keys, values, strict=True))
    out = []
    for q in runs:
        results = []
        for r in q.get("results", []):
            samples = []
            if d.allowed and r["item"] in d.columns:
                for one in r.get("samples") or []:
                    key, value = next(masked)
                    samples.append({**one, "key": key if one.get("key") else {}, "value": value})
            results.append({**r, "samples": samples})
        out.append({**q, "results": results})
    return out


def failing_rows(
    config: Config,
    viewer: Viewer,
    run_id: int,
    *,
    rule_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """The failing rows of a quality run, for the providing department, masked."""
    d = own_rows(
        config, viewer, quality.get_quality_run(config, run_id)["resource_id"], "quality.failing"
    )
    data = quality.failing_rows(config, run_id, rule_id=rule_id, limit=limit, offset=offset)
    data["rows"] = mask_records(data["rows"], d)
    return data


def quarantine_rows(
    config: Config, viewer: Viewer, run_id: int, *, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """Quarantined rows of a run: raw source text, for the providing department's officer."""
    own_rows(
        config,
        viewer,
        ingest.get_run(config, run_id)["resource_id"],
        "quarantine.read",
        officer=True,
    )
    return ingest.quarantine_rows(config, run_id, limit=limit, offset=offset)


def conflict_view(
    config: Config, viewer: Viewer, cid: int, action: str
) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Conflict rows as this viewer may see them: both sides through the policy point."""
    spec = compare.get_comparison(config, cid)
    L, R = spec["left"], spec["right"]
    left = authorize(config, viewer, L["resource_id"], action=action, detail={"comparison": cid})
    right = authorize(config, viewer, R["resource_id"], action=action, detail={"comparison": cid})

    def view(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = mask_records(rows, left, {"key": L["key"], "left_value": L["item"]})
        return mask_records(rows, right, {"right_value": R["item"]})

    return view


def conflicts(
    config: Config, viewer: Viewer, cid: int, run_id: int, *, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    view = conflict_view(config, viewer, cid, "compare.conflicts")
    data = compare.conflicts(config, cid, run_id, limit=limit, offset=offset)
    data["rows"] = view(data["rows"])
    return data


__all__ = [
    "conflict_view",
    "conflicts",
    "failing_rows",
    "masked_values",
    "own_rows",
    "preview",
    "quality_runs",
    "query",
    "quarantine_rows",
]
