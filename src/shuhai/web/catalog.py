"""Catalog API (资源目录): departments, resources, platform figures. Thin routes over ``shuhai.catalog``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from shuhai import ingest as ing
from shuhai.access.identity import ADMIN, OFFICER
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.web.access import require
from shuhai.web.params import Id

router = APIRouter(prefix="/api/v1")


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


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


__all__ = ["router"]
