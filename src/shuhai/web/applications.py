"""Share applications on the web (共享申请): a department applies for a conditionally shared
resource, the providing department's data officer approves (all or some items) or refuses with a
reason within 10 working days, overdue applications go to the platform; ``/api/v1/applications``
and the portal page ``/share``. Thin routes over ``shuhai.share.applications``; every step audited.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from shuhai.access.identity import ADMIN, OFFICER, USER
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.errors import ShuhaiError
from shuhai.share import applications as apps
from shuhai.web.access import note, require, viewer
from shuhai.web.auth import check_csrf
from shuhai.web.params import Id

api = APIRouter(prefix="/api/v1")
pages = APIRouter(include_in_schema=False)


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


class ApplicationIn(BaseModel):
    """共享申请 / a share application."""

    resource: str = Field(..., max_length=200, description="资源编号、代码或名称")
    purpose: str = Field(..., max_length=500, description="用途")
    legal_basis: str = Field(..., max_length=500, description="依据")
    items: list[str] = Field(..., max_length=200, description="申请的信息项")
    period_start: str | None = Field(None, max_length=10, description="开始日期 YYYY-MM-DD")
    period_end: str = Field(..., max_length=10, description="截止日期 YYYY-MM-DD")
    scenario: str = Field("", max_length=500, description="使用场景")


class DecisionIn(BaseModel):
    approve: bool
    reason: str = Field("", max_length=1000, description="理由（拒绝时必填）")
    items: list[str] | None = Field(None, description="批准的信息项（默认全部）")


def _named(config: Config, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cat = Catalog(config)
    resources = {r["id"]: r for r in cat.all()}
    departments = {d["id"]: d["name"] for d in cat.departments()}
    out = []
    for a in items:
        res = resources.get(a["resource_id"], {})
        out.append(
            {
                **a,
                "resource": res.get("name", ""),
                "resource_code": res.get("code", ""),
                "provider": res.get("department", {}).get("name", ""),
                "applicant_department": departments.get(a["department_id"], ""),
            }
        )
    return out


def _apply(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    config = _config(request)
    v = require(request, (OFFICER, USER), action="share.apply", resource=str(data.get("resource")))
    try:
        made = apps.apply(
            config, int(v.department_id or 0), data["resource"], data, applicant=v.name
        )
    except ShuhaiError as exc:
        note(request, "share.apply", str(data.get("resource")), outcome="refused", detail=exc.code)
        raise
    note(
        request,
        "share.apply",
        made["resource_id"],
        detail={"application": made["id"], "items": made["items"]},
    )
    return _named(config, [made])[0]


def _decide(
    request: Request, application_id: Id, approve: bool, reason: str, items: list[str] | None
) -> dict[str, Any]:
    config = _config(request)
    target = f"application/{application_id}"
    v = require(request, (OFFICER,), action="share.decide", resource=target)
    try:
        done = apps.decide(
            config,
            application_id,
            approve=approve,
            department_id=int(v.department_id or 0),
            actor=v.name,
            reason=reason,
            items=items,
        )
    except ShuhaiError as exc:
        note(request, "share.decide", target, outcome="refused", detail=exc.code)
        raise
    note(
        request,
        "share.decide",
        target,
        detail={"status": done["status"], "items": done["approved_items"]},
    )
    return _named(config, [done])[0]


def overview(request: Request) -> dict[str, Any]:
    """What the caller sees: their department's applications and grants, what they have to
    answer as provider, and (for the platform admin) the escalated ones."""
    config = _config(request)
    v = require(request, (OFFICER, USER, ADMIN), action="share.list")
    apps.escalate_overdue(config)
    out: dict[str, Any] = {"mine": [], "to_answer": [], "escalated": [], "grants": []}
    if v.department_id is not None:
        mine = apps.list_applications(config, department_id=v.department_id)
        out["mine"] = _named(config, mine)
        out["grants"] = [a for a in out["mine"] if a["active"]]
        if OFFICER in v.roles:
            out["to_answer"] = _named(
                config, apps.list_applications(config, provider_id=v.department_id)
            )
    if ADMIN in v.roles:
        every = apps.list_applications(config)
        out["escalated"] = _named(config, [a for a in every if a["status"] == "escalated"])
    return out


# --- API ---------------------------------------------------------------------------------------


@api.post("/applications", status_code=201, summary="提交共享申请 / apply for a resource")
def apply_api(request: Request, body: ApplicationIn) -> dict[str, Any]:
    return _apply(request, body.model_dump())


@api.get("/applications", summary="共享申请与授权 / applications, grants, to answer")
def list_api(request: Request) -> dict[str, Any]:
    return overview(request)


@api.post("/applications/{application_id}/decision", summary="审核共享申请 / approve or refuse")
def decide_api(request: Request, application_id: Id, body: DecisionIn) -> dict[str, Any]:
    return _decide(request, application_id, body.approve, body.reason, body.items)


# --- pages -------------------------------------------------------------------------------------


@pages.get("/share", response_class=HTMLResponse)
def share_page(request: Request, error: str = "") -> HTMLResponse:
    config = _config(request)
    v = viewer(request)
    data = overview(request)  # 401 / 403 for callers without a department or the platform role
    conditional = [
        r
        for r in Catalog(config).all()
        if r["share_type"] == "有条件共享" and r["department"]["id"] != v.department_id
    ]
    not_shared = [r for r in Catalog(config).all() if r["share_type"] == "不予共享"]
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "share.html",
        {
            "data": data,
            "conditional": conditional,
            "not_shared": not_shared,
            "error": error,
            "is_officer": OFFICER in v.roles,
        },
    )


@pages.post("/share/applications")
def apply_form(
    request: Request,
    resource: str = Form(..., max_length=200),
    purpose: str = Form("", max_length=500),
    legal_basis: str = Form("", max_length=500),
    items: list[str] = Form([]),
    period_start: str = Form("", max_length=10),
    period_end: str = Form("", max_length=10),
    scenario: str = Form("", max_length=500),
    csrf: str = Form(""),
) -> RedirectResponse:
    check_csrf(request, csrf)
    data = {
        "resource": resource,
        "purpose": purpose,
        "legal_basis": legal_basis,
        "items": items,
        "period_start": period_start or None,
        "period_end": period_end or None,
        "scenario": scenario,
    }
    try:
        _apply(request, data)
    except ShuhaiError as exc:
        if exc.status in (401, 403):
            raise
        problems = "; ".join(d.get("error", "") for d in exc.details) or exc.message
        return RedirectResponse(f"/share?error={quote(problems[:500])}", status_code=303)
    return RedirectResponse("/share", status_code=303)


@pages.post("/share/applications/{application_id}/decision")
def decide_form(
    request: Request,
    application_id: Id,
    decision: str = Form(..., pattern="^(approve|refuse)$"),
    reason: str = Form("", max_length=1000),
    csrf: str = Form(""),
) -> RedirectResponse:
    check_csrf(request, csrf)
    try:
        _decide(request, application_id, decision == "approve", reason, None)
    except ShuhaiError as exc:
        if exc.status in (401, 403, 404):
            raise
        return RedirectResponse(f"/share?error={quote(exc.message)}", status_code=303)
    return RedirectResponse("/share", status_code=303)


__all__ = ["api", "pages"]
