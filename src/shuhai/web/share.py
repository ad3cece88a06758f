"""The data-sharing API for department systems (``/api/v1/share/…``), signed with HMAC-SM3.

So far: 核验 (verification) — "do this ID number and name belong together in resource R?" →
yes / no, nothing else disclosed; the most common sharing call in practice. Every call, allowed or
refused, is appended to the audit trail.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shuhai.access import audit
from shuhai.access.identity import ADMIN, OFFICER
from shuhai.access.policy import Viewer
from shuhai.catalog.service import find_resource, resource_dict
from shuhai.config import Config
from shuhai.db import session_scope
from shuhai.errors import InvalidInput, ShuhaiError
from shuhai.lake.service import jsonable
from shuhai.serve import share as share_edge
from shuhai.share import serving
from shuhai.web.access import require, signed_system, viewer
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
        data = VerifyIn.model_validate_json(body or b"{}")
    except ValueError as exc:
        error = InvalidInput("share.bad_body", "请求体格式错误", "Malformed request body")
        share_edge.refused(config, viewer, "share.verify", resource[:200], error)
        raise error from exc
    return await run_in_threadpool(
        share_edge.verify, config, viewer, resource, data.id_number, data.name
    )


# --- rows, changes, serving index ---------------------------------------------------------------

FORMATS = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "arrow": "application/vnd.apache.arrow.stream",
}


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
    """A cell as JSON (``lake.service.jsonable``), money as a number: the serving index keeps
    decimals as floats, so both engines answer alike."""
    return float(v) if isinstance(v, Decimal) else jsonable(v)


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


@router.get("/{resource}/rows", summary="共享数据 / rows of a resource version (filters, keyset)")
async def rows(request: Request, resource: str) -> Response:
    """Filters as ``item=op.value`` (eq, ne, gt, gte, lt, lte, in.(a,b)); ``columns`` (within the
    grant), ``limit`` ≤ 10,000, ``after`` (the ``next`` cursor of the previous page), ``version``
    (time travel), ``since`` (only rows written after that version), ``format`` json | csv |
    parquet | arrow.

    Runs on the event loop: a keyed lookup is a fraction of a millisecond of work (a cached
    decision, a Redis nonce, one indexed SQLite read), cheaper than a hop to the thread pool."""
    config, v = _config(request), viewer(request)
    ask = share_edge.ask_rows(config, v, resource, list(request.query_params.multi_items()))
    try:
        fmt = _format(request)
        # a keyed read from the index stays on the event loop; a scan of the lake does not
        page = ask.read() if ask.indexed else await run_in_threadpool(ask.read)
    except ShuhaiError as exc:
        share_edge.refused(config, v, "share.rows", ask.res["code"], exc)
        raise
    frame, body = share_edge.answer_rows(ask, page)
    return _respond(frame, fmt, body)


@router.get("/{resource}/changes", summary="订阅变更 / changes since version N")
def changes(request: Request, resource: str) -> dict[str, Any]:
    """Rows written after version ``since`` up to ``version`` (default latest), paged like
    ``rows``, and on the first page the keys that were removed."""
    body = share_edge.changes(
        _config(request), viewer(request), resource, list(request.query_params.multi_items())
    )
    body["upserted"] = [_json_row(r) for r in body["upserted"]]
    if "deleted" in body:
        body["deleted"] = [_json_row(r) for r in body["deleted"]]
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
