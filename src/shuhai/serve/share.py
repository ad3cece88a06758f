"""The data-sharing API's reads (共享接口) at the edge: 核验 (verify), rows and changes of a
resource version, for department systems (signed) and signed-in users.

Each call is decided by the policy point (the decision is reused for a few seconds, so a keyed
lookup costs no metadata query), its columns and filters checked against what the caller may
see (``filters.check_filters``), the rows read through the serving index or the lake, masked,
and one audit entry written — for a refusal too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from shuhai.access.identity import Unauthorized
from shuhai.access.policy import Decision, Viewer, apply, authorize, record, remembered
from shuhai.config import Config
from shuhai.entities import standardize as std
from shuhai.errors import Forbidden, InvalidInput, ShuhaiError
from shuhai.lake import LakeTable
from shuhai.serve.filters import check_filters
from shuhai.share import serving


def refused(config: Config, viewer: Viewer, action: str, resource: str, exc: ShuhaiError) -> None:
    record(config, viewer, action, resource, outcome="refused", detail=exc.code)


def shared(
    config: Config, viewer: Viewer, resource: str, action: str
) -> tuple[dict[str, Any], Decision]:
    """The resource and the caller's decision: department systems and signed-in users only."""
    if viewer.kind == "anonymous":
        record(config, viewer, action, resource, outcome="refused", detail="auth.required")
        raise Unauthorized(
            "auth.required",
            "共享接口需签名调用或登录",
            "The sharing API needs a signed call or a signed-in user",
        )
    try:
        res, decision = remembered(config, viewer, resource)
    except ShuhaiError as exc:
        refused(config, viewer, action, resource, exc)
        raise
    decision = authorize(
        config, viewer, res["id"], action=action, record_ok=False, decision=decision
    )
    return res, decision


def columns(res: dict[str, Any], decision: Decision, asked: str | None) -> list[str]:
    """The columns asked for (``columns=a,b``), all within the grant; every granted one when
    none are named."""
    if not asked:
        return list(decision.columns)
    wanted = [c.strip() for c in asked.split(",") if c.strip()]
    items = {it["name"] for it in res["items"]}
    unknown = [c for c in wanted if c not in items]
    if unknown:
        raise InvalidInput(
            "share.unknown_column",
            f"资源没有信息项：{'、'.join(unknown)}",
            f"Unknown items: {', '.join(unknown)}",
        )
    outside = [c for c in wanted if c not in decision.columns]
    if outside:
        raise Forbidden(
            "share.column_not_granted",
            f"无权读取：{'、'.join(outside)}",
            f"Not entitled to: {', '.join(outside)}",
        )
    return wanted


def whole_number(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise InvalidInput(
            "share.bad_parameter", f"参数 {name} 应为非负整数", f"{name} must be a whole number"
        )
    return int(raw)


def limit(params: dict[str, str]) -> int:
    if params.get("limit", "").startswith("-"):
        raise InvalidInput("share.bad_limit", "limit 应为正整数", "limit must be positive")
    value = whole_number(params, "limit")
    return 1000 if value is None else value


@dataclass
class RowsAsk:
    """A rows request that passed the policy point, ready to be read (``read``) — on the event
    loop when the serving index answers it, in a worker thread when the lake must be scanned."""

    config: Config
    viewer: Viewer
    res: dict[str, Any]
    decision: Decision
    columns: list[str]
    filters: list[serving.Filter]
    masked_lookups: list[str]
    read: Callable[[], serving.Page]
    indexed: bool


def ask_rows(
    config: Config, viewer: Viewer, resource: str, params: list[tuple[str, str]]
) -> RowsAsk:
    """Decide a ``/rows`` request: the caller, the columns, the filters (none that would make
    a masked column an oracle), paging; refusals audited."""
    res, decision = shared(config, viewer, resource, "share.rows")
    one = dict(params)
    try:
        cols = columns(res, decision, one.get("columns"))
        types = {it["name"]: it["data_type"] for it in res["items"]}
        filters = serving.parse_filters(params, types)
        masked = check_filters(config, viewer, decision, filters)
        version, since, most = whole_number(one, "version"), whole_number(one, "since"), limit(one)

        def read() -> serving.Page:
            return serving.query(
                config,
                res,
                columns=cols,
                filters=filters,
                version=version,
                limit=most,
                after=one.get("after"),
                since=since,
            )

    except ShuhaiError as exc:
        refused(config, viewer, "share.rows", res["code"], exc)
        raise
    indexed = serving.has_index(config, res["id"], version)
    return RowsAsk(config, viewer, res, decision, cols, filters, masked, read, indexed)


def answer_rows(ask: RowsAsk, page: serving.Page) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The page masked for the caller and the answer's fields; one audit entry."""
    frame = apply(page.frame[ask.columns], ask.decision)  # [] picks columns without a plan
    detail: dict[str, Any] = {
        "version": page.version,
        "rows": frame.height,
        "filters": [f.column for f in ask.filters],
    }
    if ask.masked_lookups:
        detail["masked_lookup"] = ask.masked_lookups
    record(ask.config, ask.viewer, "share.rows", ask.res["code"], detail=detail)
    return frame, {
        "resource": ask.res["code"],
        "version": page.version,
        "columns": frame.columns,
        "masking": {c: r for c, r in ask.decision.masking.items() if c in frame.columns},
        "next": page.next_cursor,
        "engine": page.engine,
    }


def changes(
    config: Config, viewer: Viewer, resource: str, params: list[tuple[str, str]]
) -> dict[str, Any]:
    """Rows written after version ``since`` up to ``version`` (default latest), paged like
    ``rows``, and on the first page the keys that were removed; masked, audited."""
    res, decision = shared(config, viewer, resource, "share.changes")
    one = dict(params)
    try:
        since = whole_number(one, "since")
        if since is None:
            raise InvalidInput("share.since_required", "需要参数 since", "since is required")
        cols = columns(res, decision, one.get("columns"))
        page = serving.query(
            config,
            res,
            columns=cols,
            filters=[],
            version=whole_number(one, "version"),
            limit=limit(one),
            after=one.get("after"),
            since=since,
        )
    except ShuhaiError as exc:
        refused(config, viewer, "share.changes", res["code"], exc)
        raise
    body: dict[str, Any] = {
        "resource": res["code"],
        "since": since,
        "version": page.version,
        "upserted": apply(page.frame.select(cols), decision).to_dicts(),
        "next": page.next_cursor,
    }
    if not one.get("after"):
        gone, total = serving.deleted_keys(config, res, since, page.version)
        keys = [k for k in gone.columns if k in decision.columns]
        body["deleted"] = apply(gone.select(keys), decision).to_dicts()
        body["deleted_total"] = total
    record(
        config,
        viewer,
        "share.changes",
        res["code"],
        detail={"since": since, "version": page.version, "rows": len(body["upserted"])},
    )
    return body


def verify(config: Config, viewer: Viewer, resource: str, id_number: str, name: str) -> dict:
    """核验: do this ID number and this name belong together in the resource? Yes or no,
    nothing else disclosed; audited either way."""
    try:
        res, decision = remembered(config, viewer, resource)
        names = {it["name"] for it in res["items"]}
        id_col = next((c for c in ("身份证号", "公民身份号码") if c in names), None)
        name_col = "姓名" if "姓名" in names else None
        if id_col is None or name_col is None:
            raise InvalidInput(
                "share.not_verifiable",
                "该资源没有身份证号和姓名",
                "The resource has no ID number and name",
            )
        if not (decision.allowed and {id_col, name_col} <= set(decision.columns)):
            raise Forbidden(
                decision.code, "无权核验该资源", "Not entitled to verify against this resource"
            )
        wanted = std.id_numbers(pl.Series([id_number]))[0]
        if not wanted or not re.fullmatch(r"\d{17}[\dX]", wanted):
            raise InvalidInput("share.bad_id", "身份证号格式错误", "Malformed ID number")
        person = std.names(pl.Series([name]))[0]
        match = False
        if LakeTable(config.lake_dir, res["id"]).exists():
            # through the serving index when it is built (a keyed read), else a lake scan
            spellings = tuple(dict.fromkeys([wanted, wanted.lower()]))
            page = serving.query(
                config,
                res,
                columns=[name_col],
                filters=[serving.Filter(id_col, "in", spellings)],
                limit=5,
            )
            found = [v for v in page.frame[name_col].to_list() if v]
            match = bool(found) and person in std.names(pl.Series(found, dtype=pl.String)).to_list()
    except ShuhaiError as exc:
        refused(config, viewer, "share.verify", resource[:200], exc)
        raise
    record(config, viewer, "share.verify", res["code"], detail={"match": match})
    return {"resource": res["code"], "match": match}


__all__ = ["RowsAsk", "answer_rows", "ask_rows", "changes", "columns", "shared", "verify"]
