"""Objections API (疑义数据处理): raise, list, read, move and attach, through ``shuhai.serve.objections``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, UploadFile
from pydantic import BaseModel, Field

from shuhai.access.policy import authorize
from shuhai.config import Config
from shuhai.quality import corrections
from shuhai.serve import objections
from shuhai.web.access import actor, officer_of, signed_in, viewer
from shuhai.web.params import Id, OptionalId

router = APIRouter(prefix="/api/v1")


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


class ObjectionIn(BaseModel):
    """疑义 / objection on one record."""

    key: dict[str, str] = Field(..., examples=[{"身份证号": "350102198001011234"}])
    item: str
    proposed_value: str | None = None
    reason: str


class TransitionIn(BaseModel):
    to: str = Field(
        ...,
        description="accepted 受理 · verifying 核实 · corrected 修正 · closed 办结 · rejected 驳回"
        " · withdrawn 撤回修正",
    )
    note: str = ""
    value: str | None = Field(None, description="修正值（默认为提出的值）/ corrected value")


@router.post(
    "/resources/{rid}/objections",
    status_code=201,
    summary="提出疑义 / raise an objection on a record",
)
def raise_objection(request: Request, rid: Id, body: ObjectionIn) -> dict[str, Any]:
    raiser = actor(request)
    authorize(_config(request), viewer(request), rid, action="objection.raise")
    o = corrections.raise_objection(_config(request), rid, body.model_dump(), actor=raiser)
    return objections.one(_config(request), viewer(request), o, "objection.read")


@router.get(
    "/objections", summary="疑义列表 / objections (filter by status, overdue, source status)"
)
def list_objections(
    request: Request,
    status: str | None = Query(None, max_length=12),
    overdue: bool = False,
    resource: OptionalId = None,
    source_status: str | None = Query(
        None,
        max_length=12,
        description="still_old 源头仍报送旧值 · adopted 源头已更正 · changed 源头改报其他值",
    ),
) -> dict[str, Any]:
    items = corrections.list_objections(
        _config(request),
        resource=resource,
        status=status,
        overdue=overdue,
        source_status=source_status,
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
        config, oid, body.to, actor=actor(request), note=body.note, value=body.value
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


__all__ = ["router"]
