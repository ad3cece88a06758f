"""JSON API ``/api/v1``: thin routes over the library functions the CLI also calls."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from shuhai import ingest as ing
from shuhai import quality, serve
from shuhai.access.identity import ADMIN, OFFICER
from shuhai.access.policy import authorize
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.errors import Forbidden
from shuhai.lake import service as lake
from shuhai.quality import compare, corrections
from shuhai.serve import objections
from shuhai.share import serving
from shuhai.web.access import require, signed_in, viewer
from shuhai.web.params import Id, Offset, OptionalId, OptionalVersion

router = APIRouter(prefix="/api/v1")


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


def owner_of(config: Config, rid: Id) -> int:
    """The providing department of a resource (404 for an unknown one)."""
    return int(Catalog(config).get(rid)["department"]["id"])


def officer_of(request: Request, rid: Id, action: str) -> None:
    """The providing department's data officer (or its system) changes a resource's rules,
    runs its checks and answers objections on it."""
    require(request, (OFFICER,), department_id=owner_of(_config(request), rid), action=action)


class DepartmentIn(BaseModel):
    """部门 / department."""

    name: str = Field(..., description="部门名称", examples=["市公安局"])
    code: str = Field(..., description="提供方代码", examples=["GA"])
    uscc: str | None = Field(None, description="统一社会信用代码")


class ItemIn(BaseModel):
    """信息项 / info item."""

    name: str
    data_type: str = Field(
        "C", description="C 字符型 N 数值型 Y 货币型 D 日期型 T 日期时间型 L 逻辑型 M 备注型"
    )
    length: int | None = None
    scale: int | None = None
    required: bool = False
    description: str = ""


class ResourceIn(BaseModel):
    """政务信息资源 / catalog resource, with the elements of the 2017 编制指南."""

    name: str = Field(..., examples=["常住人口基本信息"])
    department: str = Field(..., description="提供方代码", examples=["GA"])
    classification: str | None = Field(
        None, description="类项目细目, e.g. 101001", examples=["101001"]
    )
    category: str | None = None
    item: str | None = None
    subitem: str | None = None
    detail: str | None = None
    abstract: str = ""
    format: str = "数据库"
    items: list[ItemIn]
    share_type: str = "无条件共享"
    share_condition: str = ""
    share_method: str = "共享平台"
    open_type: str = "不予开放"
    open_condition: str = ""
    update_cycle: str = "不定期"
    publish_date: date | None = None
    related_codes: list[str] = []
    key_columns: list[str] = []


@router.get("/stats", summary="平台概况 / live figures")
def stats(request: Request) -> dict[str, Any]:
    return ing.platform_stats(_config(request))


@router.get("/departments", summary="部门列表 / departments")
def departments(request: Request) -> dict[str, Any]:
    return {"items": Catalog(_config(request)).departments()}


@router.post("/departments", status_code=201, summary="登记部门 / register a department")
def add_department(request: Request, body: DepartmentIn) -> dict[str, Any]:
    require(request, (ADMIN,), action="department.add")
    return Catalog(_config(request)).add_department(body.model_dump())


@router.get("/departments/{ref}", summary="部门详情 / one department (id or code)")
def department(request: Request, ref: str) -> dict[str, Any]:
    return Catalog(_config(request)).department(ref)


@router.get("/resources", summary="检索资源目录 / search the catalog")
def resources(
    request: Request,
    q: str = Query("", max_length=200, description="检索词"),
    department: str | None = Query(None, max_length=64),
    share_type: str | None = Query(None, max_length=20),
    update_cycle: str | None = Query(None, max_length=20),
    format: str | None = Query(None, max_length=40),
    page: int = Query(1, ge=1, le=100000),
    size: int = Query(20, ge=1, le=200),
) -> dict[str, Any]:
    result = Catalog(_config(request)).search(
        q,
        department=department,
        share_type=share_type,
        update_cycle=update_cycle,
        format=format,
        page=page,
        size=size,
    )
    return asdict(result)


@router.post("/resources", status_code=201, summary="登记资源 / register a resource")
def register(request: Request, body: ResourceIn) -> dict[str, Any]:
    dept = int(Catalog(_config(request)).department(body.department)["id"])
    require(request, (ADMIN, OFFICER), department_id=dept, action="resource.register")
    data = body.model_dump(exclude_none=True)
    data["items"] = [it.model_dump() for it in body.items]
    return Catalog(_config(request)).register(data)


@router.get("/resources/{rid}", summary="资源详情 / one resource")
def resource(request: Request, rid: Id) -> dict[str, Any]:
    return Catalog(_config(request)).get(rid)


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


class ObjectionIn(BaseModel):
    """疑义 / objection on one record."""

    key: dict[str, str] = Field(..., examples=[{"身份证号": "350102198001011234"}])
    item: str
    proposed_value: str | None = None
    reason: str


class TransitionIn(BaseModel):
    to: str = Field(
        ...,
        description="accepted 受理 · verifying 核实 · corrected 修正 · closed 办结 · rejected 驳回",
    )
    note: str = ""
    value: str | None = Field(None, description="修正值（默认为提出的值）/ corrected value")


def _actor(request: Request) -> str:
    """The signed-in user's or system's name, recorded in histories."""
    return signed_in(request).name


@router.post(
    "/resources/{rid}/objections",
    status_code=201,
    summary="提出疑义 / raise an objection on a record",
)
def raise_objection(request: Request, rid: Id, body: ObjectionIn) -> dict[str, Any]:
    actor = _actor(request)
    authorize(_config(request), viewer(request), rid, action="objection.raise")
    o = corrections.raise_objection(_config(request), rid, body.model_dump(), actor=actor)
    return objections.one(_config(request), viewer(request), o, "objection.read")


@router.get("/objections", summary="疑义列表 / objections (filter by status, overdue)")
def list_objections(
    request: Request,
    status: str | None = Query(None, max_length=12),
    overdue: bool = False,
    resource: OptionalId = None,
) -> dict[str, Any]:
    items = corrections.list_objections(
        _config(request), resource=resource, status=status, overdue=overdue
    )
    return {"items": objections.visible(_config(request), viewer(request), items)}


@router.get("/objections/{oid}", summary="疑义详情与处理过程 / one objection with its history")
def objection(request: Request, oid: Id) -> dict[str, Any]:
    config = _config(request)
    return objections.one(
        config, viewer(request), corrections.get_objection(config, oid), "objection.read"
    )


@router.post("/objections/{oid}/transitions", summary="推进疑义处理 / move an objection one step")
def move_objection(request: Request, oid: Id, body: TransitionIn) -> dict[str, Any]:
    config = _config(request)
    officer_of(request, corrections.get_objection(config, oid)["resource_id"], "objection.move")
    o = corrections.transition(
        config, oid, body.to, actor=_actor(request), note=body.note, value=body.value
    )
    return objections.one(_config(request), viewer(request), o, "objection.read")


@router.post("/objections/{oid}/attachment", summary="上传附件 / attach a file (≤ 10 MB)")
async def objection_attachment(request: Request, oid: Id, file: UploadFile) -> dict[str, Any]:
    config = _config(request)
    o = corrections.get_objection(config, oid)
    v = signed_in(request)
    if v.name != o["raised_by"]:
        officer_of(request, o["resource_id"], "objection.attach")
    content = await file.read(corrections.MAX_ATTACHMENT + 1)
    o = corrections.attach(config, oid, file.filename or "attachment", content)
    return objections.one(_config(request), viewer(request), o, "objection.read")
