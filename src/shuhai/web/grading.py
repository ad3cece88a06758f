"""Classification and grading on the web (分类分级): each info item's GB/T 43697 class and L1–L4
level, proposed from its name and values, confirmed by the security officer (安全保密管理员).
``GET/PUT /api/v1/resources/{rid}/grading`` and the page ``/resources/{rid}/grading``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from shuhai.access.grading import CLASSES, LEVELS, confirm, propose_for_resource
from shuhai.access.identity import OFFICER, SECURITY
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.errors import InvalidInput
from shuhai.web.access import note, require
from shuhai.web.auth import check_csrf
from shuhai.web.params import Id

api = APIRouter(prefix="/api/v1")
pages = APIRouter(include_in_schema=False)


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


class Grade(BaseModel):
    data_class: str = Field(..., description="核心 / 重要 / 一般")
    level: str = Field(..., description="L1–L4")


def _reader(request: Request, rid: Id) -> None:
    """The security officer, or the providing department's data officer (who sees what the
    items will be masked as)."""
    owner = Catalog(_config(request)).get(rid)["department"]["id"]
    v = require(request, (SECURITY, OFFICER), action="grading.read", resource=str(rid))
    if SECURITY not in v.roles:
        require(request, (OFFICER,), department_id=owner, action="grading.read", resource=str(rid))


def _confirm(request: Request, rid: Id, grading: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    config = _config(request)
    v = require(request, (SECURITY,), action="grading.confirm", resource=str(rid))
    try:
        done = confirm(config, rid, grading, actor=v.name)
    except InvalidInput as exc:
        note(request, "grading.confirm", rid, outcome="refused", detail=exc.code)
        raise
    note(request, "grading.confirm", rid, detail=grading)
    return done


@api.get("/resources/{rid}/grading", summary="分类分级建议与确认 / proposed and confirmed grading")
def grading(request: Request, rid: Id) -> dict[str, Any]:
    _reader(request, rid)
    return {"items": propose_for_resource(_config(request), rid)}


@api.put("/resources/{rid}/grading", summary="确认分类分级 / confirm (security officer)")
def put_grading(request: Request, rid: Id, body: dict[str, Grade]) -> dict[str, Any]:
    return {"items": _confirm(request, rid, {k: g.model_dump() for k, g in body.items()})}


@pages.get("/resources/{rid}/grading", response_class=HTMLResponse)
def grading_page(request: Request, rid: Id, saved: bool = False) -> HTMLResponse:
    _reader(request, rid)
    return _render(request, rid, errors=[], saved=saved)


def _render(
    request: Request, rid: Id, *, errors: list[dict[str, Any]], saved: bool, status: int = 200
) -> HTMLResponse:
    config = _config(request)
    response = request.app.state.templates.TemplateResponse(
        request,
        "grading.html",
        {
            "res": Catalog(config).get(rid),
            "items": propose_for_resource(config, rid),
            "classes": CLASSES,
            "levels": LEVELS,
            "errors": errors,
            "saved": saved,
        },
    )
    response.status_code = status
    return response  # type: ignore[no-any-return]


@pages.post("/resources/{rid}/grading", response_class=HTMLResponse)
async def grading_form(request: Request, rid: Id) -> HTMLResponse:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    grading: dict[str, dict[str, str]] = {}
    for key, value in form.multi_items():
        kind, _, item = str(key).partition(":")
        if kind in ("class", "level") and item:
            field = "data_class" if kind == "class" else "level"
            grading.setdefault(item, {})[field] = str(value)
    try:
        _confirm(request, rid, grading)
    except InvalidInput as exc:
        return _render(request, rid, errors=exc.details, saved=False, status=422)
    return _render(request, rid, errors=[], saved=True)


__all__ = ["api", "pages"]
