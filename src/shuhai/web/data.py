"""Lake and ingest API: versions, rows of a version (through ``shuhai.serve``), ingest runs and quarantined rows."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from shuhai import ingest as ing
from shuhai import serve
from shuhai.config import Config
from shuhai.lake import service as lake
from shuhai.share import serving
from shuhai.web.access import viewer
from shuhai.web.params import Id, Offset, OptionalVersion

router = APIRouter(prefix="/api/v1")


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


@router.get("/resources/{rid}/versions", summary="数据版本 / lake versions with their runs")
def versions(request: Request, rid: Id) -> dict[str, Any]:
    return {"items": lake.list_versions(_config(request), rid)}


@router.get("/resources/{rid}/data", summary="读取某个版本 / rows of a version (time travel)")
async def data(
    request: Request,
    rid: Id,
    version: OptionalVersion = None,
    limit: int = Query(20, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> dict[str, Any]:
    """A page read from the version's serving index is a millisecond of work and answers on the
    event loop; a page that must open the lake goes to the thread pool."""
    config, v = _config(request), viewer(request)
    ask = functools.partial(
        serve.preview,
        config,
        v,
        rid,
        version=version,
        limit=limit,
        offset=offset,
        action="api.data",
    )
    if offset <= 10_000 and serving.has_index(config, rid, version):
        return ask()
    return await run_in_threadpool(ask)


@router.get("/resources/{rid}/runs", summary="导入记录 / ingest runs of a resource")
def resource_runs(
    request: Request, rid: Id, limit: int = Query(100, ge=1, le=1000)
) -> dict[str, Any]:
    return {"items": ing.list_runs(_config(request), rid, limit=limit)}


@router.get("/resources/{rid}/quarantine", summary="隔离汇总 / quarantine summary of a resource")
def resource_quarantine(request: Request, rid: Id) -> dict[str, Any]:
    return {"items": ing.quarantine_summary(_config(request), rid)}


@router.get("/runs", summary="最近导入 / recent ingest runs")
def runs(request: Request, limit: int = Query(50, ge=1, le=1000)) -> dict[str, Any]:
    return {"items": ing.list_runs(_config(request), limit=limit)}


@router.get("/runs/{run_id}", summary="导入记录详情 / one ingest run")
def run(request: Request, run_id: Id) -> dict[str, Any]:
    return ing.get_run(_config(request), run_id)


@router.get("/runs/{run_id}/quarantine", summary="隔离行 / quarantined rows of a run")
def run_quarantine(
    request: Request,
    run_id: Id,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> dict[str, Any]:
    return serve.quarantine_rows(
        _config(request), viewer(request), run_id, limit=limit, offset=offset
    )


__all__ = ["router"]
