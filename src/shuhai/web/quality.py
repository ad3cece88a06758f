"""Quality API (数据质量): rules, checks, failing rows, cross-department comparisons."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from shuhai import quality, serve
from shuhai.access.identity import ADMIN, OFFICER
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.errors import Forbidden
from shuhai.quality import compare
from shuhai.web.access import officer_of, require, viewer
from shuhai.web.params import Id, Offset, OptionalId

router = APIRouter(prefix="/api/v1")


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


class RuleIn(BaseModel):
    """质量规则 / quality rule."""

    item: str
    kind: str = Field(..., examples=["ric"])
    params: dict[str, Any] = {}
    enabled: bool = True


class QualityRunIn(BaseModel):
    version: int | None = Field(None, ge=0)


@router.get("/resources/{rid}/rules", summary="质量规则 / quality rules of a resource")
def rules(request: Request, rid: Id) -> dict[str, Any]:
    return {"items": quality.list_rules(_config(request), rid)}


@router.put("/resources/{rid}/rules", summary="替换质量规则 / replace the rules (all or nothing)")
def put_rules(request: Request, rid: Id, body: list[RuleIn]) -> dict[str, Any]:
    officer_of(request, rid, "quality.rules")
    return {"items": quality.set_rules(_config(request), rid, [r.model_dump() for r in body])}


@router.post("/resources/{rid}/quality", status_code=201, summary="运行质量检查 / check a version")
def run_quality(request: Request, rid: Id, body: QualityRunIn | None = None) -> dict[str, Any]:
    officer_of(request, rid, "quality.run")
    ran = quality.run_quality(_config(request), rid, version=body.version if body else None)
    return serve.quality_runs(_config(request), viewer(request), rid, [ran])[0]


@router.get("/resources/{rid}/quality", summary="质量趋势 / quality runs of a resource")
def quality_history(request: Request, rid: Id) -> dict[str, Any]:
    config = _config(request)
    runs = quality.quality_history(config, rid)
    return {"items": serve.quality_runs(config, viewer(request), rid, runs)}


@router.get("/quality/departments", summary="部门质量排名 / department scorecard and ranking")
def quality_departments(request: Request) -> dict[str, Any]:
    return {"items": quality.department_scores(_config(request))}


@router.get("/quality/{run_id}", summary="质量检查结果 / one quality run")
def quality_run(request: Request, run_id: Id) -> dict[str, Any]:
    q = quality.get_quality_run(_config(request), run_id)
    return serve.quality_runs(_config(request), viewer(request), q["resource_id"], [q])[0]


@router.get("/quality/{run_id}/failing", summary="不合格行 / failing rows of a quality run")
def quality_failing(
    request: Request,
    run_id: Id,
    rule_id: OptionalId = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> dict[str, Any]:
    return serve.failing_rows(
        _config(request), viewer(request), run_id, rule_id=rule_id, limit=limit, offset=offset
    )


class ComparisonSide(BaseModel):
    resource: str = Field(..., description="资源编号、代码或名称")
    item: str
    key: str


class ComparisonIn(BaseModel):
    """比对 / comparison: left.item should agree with right.item where left.key = right.key."""

    name: str | None = None
    left: ComparisonSide
    right: ComparisonSide


@router.get("/comparisons", summary="跨部门比对 / comparisons")
def comparisons(request: Request) -> dict[str, Any]:
    return {"items": compare.list_comparisons(_config(request))}


def comparison_owner(request: Request, refs: list[str | int], action: str) -> None:
    """Comparisons are declared and run by the big-data centre (admin) or by the data officer
    of a department providing one of the two sides."""
    v = require(request, (ADMIN, OFFICER), action=action)
    if ADMIN in v.roles:
        return
    cat = Catalog(_config(request))
    if v.department_id not in {cat.get(r)["department"]["id"] for r in refs}:
        raise Forbidden(
            "auth.other_department",
            "只能比对本部门提供的资源",
            "Only comparisons involving your own department's resources",
        )


@router.post("/comparisons", status_code=201, summary="声明比对 / declare a comparison")
def add_comparison(request: Request, body: ComparisonIn) -> dict[str, Any]:
    comparison_owner(request, [body.left.resource, body.right.resource], "compare.declare")
    return compare.add_comparison(_config(request), body.model_dump())


@router.post(
    "/comparisons/{cid}/runs", status_code=201, summary="运行比对 / compare the latest versions"
)
def run_comparison(request: Request, cid: Id) -> dict[str, Any]:
    spec = compare.get_comparison(_config(request), cid)
    comparison_owner(
        request, [spec["left"]["resource_id"], spec["right"]["resource_id"]], "compare.run"
    )
    return compare.run_comparison(_config(request), cid)


@router.get("/comparisons/{cid}/runs/{run_id}", summary="比对差异 / conflicts of a run")
def comparison_conflicts(
    request: Request,
    cid: Id,
    run_id: Id,
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> dict[str, Any]:
    return serve.conflicts(
        _config(request), viewer(request), cid, run_id, limit=limit, offset=offset
    )


@router.get(
    "/comparisons/{cid}/runs/{run_id}/conflicts.xlsx", summary="导出差异 / conflicts as XLSX"
)
def comparison_xlsx(request: Request, cid: Id, run_id: Id) -> FileResponse:
    config = _config(request)
    view = serve.conflict_view(config, viewer(request), cid, "compare.download")
    # one file per download: what it holds depends on who asked
    folder = config.home / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".xlsx", delete=False) as f:
        out = Path(f.name)
    compare.export_conflicts_xlsx(config, cid, run_id, out, view=view)
    return FileResponse(
        out,
        filename=f"比对差异_{cid}_{run_id}.xlsx",
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        background=BackgroundTask(out.unlink, missing_ok=True),
    )


__all__ = ["router"]
