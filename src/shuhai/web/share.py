"""The data-sharing API for department systems (``/api/v1/share/…``), signed with HMAC-SM3.

So far: 核验 (verification) — "do this ID number and name belong together in resource R?" →
yes / no, nothing else disclosed; the most common sharing call in practice. Every call, allowed or
refused, is appended to the audit trail.
"""

from __future__ import annotations

import functools
import io
import re
from decimal import Decimal
from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shuhai.access import audit
from shuhai.access.identity import ADMIN, OFFICER, Unauthorized
from shuhai.access.policy import Viewer, apply, authorize, record, remembered
from shuhai.catalog.service import find_resource, resource_dict
from shuhai.config import Config
from shuhai.db import session_scope
from shuhai.entities import standardize as std
from shuhai.errors import Forbidden, InvalidInput, ShuhaiError
from shuhai.lake import LakeTable
from shuhai.serve.filters import check_filters
from shuhai.share import serving
from shuhai.web.access import note, require, signed_system, viewer
from shuhai.web.params import OptionalVersion

router = APIRouter(prefix="/api/v1/share")
MAX_BODY = 64 * 1024


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


async def signed_caller(request: Request) -> tuple[Viewer, bytes]:
    """Check the request's signature; returns the calling department system and the body."""
    body = await request.body()
    if len(body) > MAX_BODY:
        exc = InvalidInput(
            "share.body_too_large", "请求体过大", "The request body is too large", status=413
        )
        audit.record(
            _config(request),
            "share.refused",
            actor=request.headers.get("x-shuhai-appkey", "anonymous")[:100],
            resource=request.url.path,
            outcome="refused",
            detail=exc.code,
        )
        raise exc
    viewer = signed_system(request, body, refused="share.refused")
    request.state.viewer = viewer
    return viewer, body


class VerifyIn(BaseModel):
    """核验请求 / verification request."""

    id_number: str = Field(..., max_length=32, description="公民身份号码")
    name: str = Field(..., max_length=64, description="姓名")


@router.post(
    "/{resource}/verify", summary="核验：身份证号与姓名是否一致 / do this ID and name match?"
)
async def verify(request: Request, resource: str) -> dict[str, Any]:
    config = _config(request)
    viewer, body = await signed_caller(request)
    try:
        return await run_in_threadpool(_verify, config, viewer, resource, body)
    except ShuhaiError as exc:  # every refusal leaves an audit entry
        audit.record(
            config,
            "share.verify",
            actor=viewer.name,
            resource=resource[:200],
            outcome="refused",
            detail=exc.code,
        )
        raise


def note_verified(config: Config, viewer: Viewer, code: str, match: bool) -> None:
    record(config, viewer, "share.verify", code, detail={"match": match})


def _verify(config: Config, viewer: Viewer, resource: str, body: bytes) -> dict[str, Any]:
    try:
        data = VerifyIn.model_validate_json(body or b"{}")
    except ValueError as exc:
        raise InvalidInput("share.bad_body", "请求体格式错误", "Malformed request body") from exc
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
    entitled = decision.allowed and {id_col, name_col} <= set(decision.columns)
    if not entitled:
        raise Forbidden(
            decision.code, "无权核验该资源", "Not entitled to verify against this resource"
        )
    id_number = std.id_numbers(pl.Series([data.id_number]))[0]
    if not id_number or not re.fullmatch(r"\d{17}[\dX]", id_number):
        raise InvalidInput("share.bad_id", "身份证号格式错误", "Malformed ID number")
    name = std.names(pl.Series([data.name]))[0]
    match = False
    if LakeTable(config.lake_dir, res["id"]).exists():
        # through the serving index when it is built (a keyed read), else a scan of the lake
        spellings = tuple(dict.fromkeys([id_number, id_number.lower()]))
        page = serving.query(
            config,
            res,
            columns=[name_col],
            filters=[serving.Filter(id_col, "in", spellings)],
            limit=5,
        )
        found = [v for v in page.frame[name_col].to_list() if v]
        match = bool(found) and name in std.names(pl.Series(found, dtype=pl.String)).to_list()
    note_verified(config, viewer, res["code"], match)
    return {"resource": res["code"], "match": match}


# --- rows, changes, serving index ---------------------------------------------------------------

FORMATS = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "arrow": "application/vnd.apache.arrow.stream",
}


def _caller(request: Request, action: str, resource: str) -> Viewer:
    """A department system (signed) or a signed-in user; everyone else 401, audited."""
    v = viewer(request)
    if v.kind == "anonymous":
        note(request, action, resource, outcome="refused", detail="auth.required")
        raise Unauthorized(
            "auth.required",
            "共享接口需签名调用或登录",
            "The sharing API needs a signed call or a signed-in user",
        )
    return v


def _shared(request: Request, resource: str, action: str) -> tuple[dict, Any]:
    config = _config(request)
    v = _caller(request, action, resource)
    try:
        res, decision = remembered(config, v, resource)
    except ShuhaiError as exc:
        note(request, action, resource, outcome="refused", detail=exc.code)
        raise
    decision = authorize(config, v, res["id"], action=action, record_ok=False, decision=decision)
    return res, decision


def _columns(request: Request, res: dict[str, Any], decision: Any) -> list[str]:
    asked = request.query_params.get("columns")
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
    refused = [c for c in wanted if c not in decision.columns]
    if refused:
        raise Forbidden(
            "share.column_not_granted",
            f"无权读取：{'、'.join(refused)}",
            f"Not entitled to: {', '.join(refused)}",
        )
    return wanted


def _refusing(request: Request, action: str, resource: str):  # type: ignore[no-untyped-def]
    """Every refusal after the policy decision leaves an audit entry too."""

    def refused(exc: ShuhaiError) -> None:
        note(request, action, resource, outcome="refused", detail=exc.code)

    return refused


def _respond(frame: pl.DataFrame, fmt: str, body: dict[str, Any]) -> Response:
    if fmt == "json":
        return JSONResponse({**body, "rows": [_json_row(r) for r in frame.iter_rows(named=True)]})
    headers = {k: str(v) for k, v in (("X-Next-Cursor", body.get("next")),) if v}
    headers["X-Lake-Version"] = str(body["version"])
    if fmt == "csv":
        # a value that a spreadsheet would run as a formula is written as text (CSV injection)
        text = frame.with_columns(
            [
                pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r]"))
                .then(pl.lit("'") + pl.col(c))
                .otherwise(pl.col(c))
                .alias(c)
                for c, t in frame.schema.items()
                if t == pl.String
            ]
        ).write_csv()
        return Response(("\ufeff" + text).encode(), media_type=FORMATS["csv"], headers=headers)
    sink = io.BytesIO()
    if fmt == "parquet":
        frame.write_parquet(sink)
    else:
        frame.write_ipc_stream(sink)
    return Response(sink.getvalue(), media_type=FORMATS[fmt], headers=headers)


def _json_value(v: Any) -> Any:
    """A cell as JSON: dates and times in ISO form, money (Decimal) as a number, bytes as hex."""
    if v is None or isinstance(v, str | int | float | bool):
        return v
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).hex()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    return str(v)


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _json_value(v) for k, v in row.items()}


def _format(request: Request) -> str:
    fmt = request.query_params.get("format", "json")
    if fmt not in FORMATS:
        raise InvalidInput(
            "share.bad_format",
            "format 应为 json、csv、parquet 或 arrow",
            "format must be json, csv, parquet or arrow",
        )
    return fmt


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise InvalidInput(
            "share.bad_parameter", f"参数 {name} 应为非负整数", f"{name} must be a whole number"
        )
    return int(raw)


def _limit(request: Request) -> int:
    if request.query_params.get("limit", "").startswith("-"):
        raise InvalidInput("share.bad_limit", "limit 应为正整数", "limit must be positive")
    value = _int_param(request, "limit")
    return 1000 if value is None else value


@router.get("/{resource}/rows", summary="共享数据 / rows of a resource version (filters, keyset)")
async def rows(request: Request, resource: str) -> Response:
    """Filters as ``item=op.value`` (eq, ne, gt, gte, lt, lte, in.(a,b)); ``columns`` (within the
    grant), ``limit`` ≤ 10,000, ``after`` (the ``next`` cursor of the previous page), ``version``
    (time travel), ``since`` (only rows written after that version), ``format`` json | csv |
    parquet | arrow.

    Runs on the event loop: a keyed lookup is a fraction of a millisecond of work (a cached
    decision, a Redis nonce, one indexed SQLite read), cheaper than a hop to the thread pool."""
    config = _config(request)
    res, decision = _shared(request, resource, "share.rows")
    v = viewer(request)
    refused = _refusing(request, "share.rows", res["code"])
    try:
        fmt = _format(request)
        columns = _columns(request, res, decision)
        types = {it["name"]: it["data_type"] for it in res["items"]}
        filters = serving.parse_filters(list(request.query_params.multi_items()), types)
        masked_lookups = check_filters(config, v, decision, filters)
        version = _int_param(request, "version")
        ask = functools.partial(
            serving.query,
            config,
            res,
            columns=columns,
            filters=filters,
            version=version,
            limit=_limit(request),
            after=request.query_params.get("after"),
            since=_int_param(request, "since"),
        )
        # a keyed read from the index stays on the event loop; a scan of the lake does not
        indexed = serving.has_index(config, res["id"], version)
        page = ask() if indexed else await run_in_threadpool(ask)
    except ShuhaiError as exc:
        refused(exc)
        raise
    frame = apply(page.frame[columns], decision)  # [] picks columns without a query plan
    note(
        request,
        "share.rows",
        res["code"],
        detail={
            "version": page.version,
            "rows": frame.height,
            "filters": [f.column for f in filters],
            **({"masked_lookup": masked_lookups} if masked_lookups else {}),
        },
    )
    return _respond(
        frame,
        fmt,
        {
            "resource": res["code"],
            "version": page.version,
            "columns": frame.columns,
            "masking": {c: r for c, r in decision.masking.items() if c in frame.columns},
            "next": page.next_cursor,
            "engine": page.engine,
        },
    )


@router.get("/{resource}/changes", summary="订阅变更 / changes since version N")
def changes(request: Request, resource: str) -> dict[str, Any]:
    """Rows written after version ``since`` up to ``version`` (default latest), paged like
    ``rows``, and on the first page the keys that were removed."""
    config = _config(request)
    res, decision = _shared(request, resource, "share.changes")
    refused = _refusing(request, "share.changes", res["code"])
    try:
        since = _int_param(request, "since")
        if since is None:
            raise InvalidInput("share.since_required", "需要参数 since", "since is required")
        columns = _columns(request, res, decision)
        page = serving.query(
            config,
            res,
            columns=columns,
            filters=[],
            version=_int_param(request, "version"),
            limit=_limit(request),
            after=request.query_params.get("after"),
            since=since,
        )
    except ShuhaiError as exc:
        refused(exc)
        raise
    body: dict[str, Any] = {
        "resource": res["code"],
        "since": since,
        "version": page.version,
        "upserted": [
            _json_row(r) for r in apply(page.frame.select(columns), decision).iter_rows(named=True)
        ],
        "next": page.next_cursor,
    }
    if not request.query_params.get("after"):
        gone, total = serving.deleted_keys(config, res, since, page.version)
        keys = [k for k in gone.columns if k in decision.columns]
        body["deleted"] = [
            _json_row(r) for r in apply(gone.select(keys), decision).iter_rows(named=True)
        ]
        body["deleted_total"] = total
    note(
        request,
        "share.changes",
        res["code"],
        detail={"since": since, "version": page.version, "rows": len(body["upserted"])},
    )
    return body


@router.post("/{resource}/index", status_code=201, summary="建立服务索引 / build the serving index")
def index(request: Request, resource: str, version: OptionalVersion = None) -> dict[str, Any]:
    """The providing department's officer (or the platform admin) builds the keyed-lookup index
    of a version."""
    config = _config(request)
    with session_scope(config.database_url) as s:
        res = resource_dict(find_resource(s, resource))
    require(
        request,
        (ADMIN, OFFICER),
        department_id=res["department"]["id"],
        action="share.index",
        resource=res["code"],
    )
    built = serving.build_index(config, res["id"], version)
    audit.record(
        config,
        "share.index",
        actor=viewer(request).name,
        resource=res["code"],
        detail=built["rows"],
    )
    return {k: v for k, v in built.items() if k != "path"}


__all__ = ["router", "signed_caller"]
