"""Base databases on the web: ``/api/v1/bases/…`` and the portal pages (一人一档、一企一档, review
queue, e-licence verification). Thin routes over ``shuhai.entities``.

Profiles, source records and review evidence show personal data. They are served only when the
``profiles`` setting is on (the demo turns it on), only to department staff, and each value through
the policy point of the resource it came from (``shuhai.access.policy.SourceView``): sources the
viewer may not read are withheld, the rest masked as a preview of that resource would be.
Configuring and building bases is for the platform admin and data officers; review decisions for
data officers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from shuhai.access import audit
from shuhai.access.identity import ADMIN, OFFICER
from shuhai.config import Config
from shuhai.entities import claims, service
from shuhai.entities.build import build_base
from shuhai.serve import files, licences
from shuhai.web.access import actor, require, viewer
from shuhai.web.auth import check_csrf
from shuhai.web.params import Id, Offset

api = APIRouter(prefix="/api/v1")
pages = APIRouter(include_in_schema=False)


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


def _builder(request: Request, base: str) -> None:
    require(request, (ADMIN, OFFICER), action="base.build", resource=base)


def _reviewer(request: Request, base: str) -> None:
    require(request, (OFFICER,), action="base.review", resource=base)


class BaseIn(BaseModel):
    """基础库配置 / base-database config: YAML text, or the same as a JSON object."""

    config: str | dict[str, Any] = Field(..., description="YAML 文本或对象 / YAML text or object")


class DecisionIn(BaseModel):
    decision: str = Field(..., description="accept 同一主体 / reject 不同主体")
    note: str = Field("", max_length=2000)


# --- API ---------------------------------------------------------------------------------------


@api.get("/bases", summary="基础库列表 / base databases")
def list_bases(request: Request) -> list[dict[str, Any]]:
    return service.list_bases(_config(request))


@api.put("/bases", summary="保存基础库配置 / create or update a base database")
def save_base(request: Request, body: BaseIn) -> dict[str, Any]:
    require(request, (ADMIN, OFFICER), action="base.config")
    saved = service.save_base(_config(request), body.config)
    audit.record(
        _config(request), "base.config", actor=viewer(request).name, resource=saved.get("name", "")
    )
    return saved


@api.get("/bases/{base}", summary="基础库 / one base database")
def get_base(request: Request, base: str) -> dict[str, Any]:
    return service.get_base(_config(request), base)


@api.post("/bases/{base}/builds", status_code=201, summary="构建或增量更新 / build or update")
def build(request: Request, base: str, full: bool = Query(False)) -> dict[str, Any]:
    _builder(request, base)
    return build_base(_config(request), base, full=full)


@api.get("/bases/{base}/builds", summary="构建记录 / builds")
def builds(
    request: Request, base: str, limit: int = Query(20, ge=1, le=200)
) -> list[dict[str, Any]]:
    return service.list_builds(_config(request), base, limit)


@api.get("/bases/{base}/files", summary="查找档案 / search files by name, ID or file id")
def search(
    request: Request,
    base: str,
    q: str = Query("", max_length=100),
    limit: int = Query(20, ge=1, le=200),
    offset: Offset = 0,
) -> dict[str, Any]:
    return files.search(_config(request), viewer(request), base, q, limit=limit, offset=offset)


@api.get("/bases/{base}/files/{file_id}", summary="一人一档 / 一企一档: one file")
def file(request: Request, base: str, file_id: str) -> dict[str, Any]:
    return files.profile(_config(request), viewer(request), base, file_id)


@api.get("/bases/{base}/records", summary="记录归档 / which file each source record went to")
def records(
    request: Request,
    base: str,
    limit: int = Query(100, ge=1, le=10_000),
    offset: Offset = 0,
) -> dict[str, Any]:
    """Every source record (resource, version, run, line, key) with its file id and how it was
    linked (``id`` / ``splink`` with probability / ``review``); paged, records of resources the
    caller may read only."""
    return files.records(_config(request), viewer(request), base, limit=limit, offset=offset)


@api.get("/bases/{base}/conflicts", summary="证件号冲突 / ID numbers several people claim")
def conflicts(
    request: Request,
    base: str,
    kind: str | None = Query(None, pattern="^(duplicate|borrowed|ambiguous)$"),
    limit: int = Query(50, ge=1, le=500),
    offset: Offset = 0,
) -> dict[str, Any]:
    """重号 (two people issued one number), another person's number (a guardian's on a child's
    record, a mother's on her newborn's) and unclear holders: ``{"items", "total", "counts"}``,
    each number with the records claiming it and the files they went to."""
    return files.conflicts(
        _config(request), viewer(request), base, kind=kind, limit=limit, offset=offset
    )


@api.get("/bases/{base}/disagreements", summary="来源不一致 / values the sources disagree on")
def disagreements(
    request: Request,
    base: str,
    attribute: str | None = Query(None, max_length=100),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    return files.disagreements(
        _config(request), viewer(request), base, attribute=attribute, limit=limit
    )


@api.get("/bases/{base}/reviews", summary="人工复核队列 / clerical review queue")
def reviews(
    request: Request,
    base: str,
    status: str = Query("pending", pattern="^(pending|accepted|rejected|stale|all)$"),
    limit: int = Query(50, ge=1, le=500),
    offset: Offset = 0,
) -> dict[str, Any]:
    """``{"items", "total", "limit", "offset"}``: page with ``offset`` until ``total``."""
    _reviewer(request, base)
    return files.queue(
        _config(request), viewer(request), base, status=status, limit=limit, offset=offset
    )


@api.get("/bases/{base}/reviews/{pair_id}", summary="复核对证据 / a pair with its evidence")
def review(request: Request, base: str, pair_id: Id) -> dict[str, Any]:
    _reviewer(request, base)
    return files.review(_config(request), viewer(request), base, pair_id)


@api.post("/bases/{base}/reviews/{pair_id}", summary="复核决定 / accept or reject a pair")
def decide(request: Request, base: str, pair_id: Id, body: DecisionIn) -> dict[str, Any]:
    _reviewer(request, base)
    return service.decide(
        _config(request), base, pair_id, body.decision, actor=actor(request), note=body.note
    )


@api.get("/licences/{number}", summary="电子证照核验 / verify a licence by number")
def licence(
    request: Request, number: str, holder: str | None = Query(None, max_length=100)
) -> dict[str, Any]:
    return licences.check(_config(request), viewer(request), number, holder=holder)


# --- pages -------------------------------------------------------------------------------------


def _page(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, template, context)  # type: ignore[no-any-return]


@pages.get("/bases", response_class=HTMLResponse)
def bases_page(request: Request) -> HTMLResponse:
    return _page(request, "bases.html", {"bases": service.list_bases(_config(request))})


@pages.get("/bases/{base}", response_class=HTMLResponse)
def base_page(request: Request, base: str, q: str = Query("", max_length=100)) -> HTMLResponse:
    config = _config(request)
    info = service.get_base(config, base)
    v = viewer(request)
    readable = config.profiles and v.department_member
    context: dict[str, Any] = {
        "base": info,
        "builds": service.list_builds(config, base, 10),
        "q": q,
        "profiles": config.profiles,
        "readable": readable,
        # the whole queue's size (one count), not the length of a first page
        "pending": service.review_page(config, base, limit=1)["total"]
        if OFFICER in v.roles or v.kind == "system"
        else 0,
    }
    if readable and info["last_build"] and info["kind"] != "licence":
        found = search(request, base, q=q, limit=30, offset=0)
        context["files"] = found
        context["disagreements"] = service.disagreements(config, base, limit=1)["by_attribute"]
    return _page(request, "base_db.html", context)


@pages.post("/bases/{base}/builds")
def build_form(
    request: Request, base: str, full: str = Form(""), csrf: str = Form("")
) -> RedirectResponse:
    check_csrf(request, csrf)
    _builder(request, base)
    build_base(_config(request), base, full=full == "1")
    return RedirectResponse(f"/bases/{quote(base)}", status_code=303)


@pages.get("/bases/{base}/files/{file_id}", response_class=HTMLResponse)
def file_page(request: Request, base: str, file_id: str) -> HTMLResponse:
    labels = {k: zh for k, (zh, _en) in claims.LABELS.items()}
    return _page(
        request, "profile.html", {"p": file(request, base, file_id), "flag_labels": labels}
    )


@pages.get("/bases/{base}/conflicts", response_class=HTMLResponse)
def conflicts_page(
    request: Request,
    base: str,
    kind: str | None = Query(None, pattern="^(duplicate|borrowed|ambiguous)$"),
    offset: Offset = 0,
) -> HTMLResponse:
    """证件号冲突: the numbers several people claim, for the authority to resolve."""
    config = _config(request)
    page = files.conflicts(config, viewer(request), base, kind=kind, limit=50, offset=offset)
    return _page(
        request,
        "conflicts.html",
        {
            "base": service.get_base(config, base),
            "page": page,
            "kind": kind,
            "labels": claims.LABELS,
        },
    )


@pages.get("/bases/{base}/reviews", response_class=HTMLResponse)
def reviews_page(
    request: Request,
    base: str,
    status: str = Query("pending", pattern="^(pending|accepted|rejected|stale|all)$"),
) -> HTMLResponse:
    config = _config(request)
    _reviewer(request, base)
    return _page(
        request,
        "reviews.html",
        {
            "base": service.get_base(config, base),
            "status": status,
            **_queue(files.queue(config, viewer(request), base, status=status, limit=200)),
        },
    )


def _queue(page: dict[str, Any]) -> dict[str, Any]:
    return {"pairs": page["items"], "total": page["total"]}


@pages.get("/bases/{base}/reviews/{pair_id}", response_class=HTMLResponse)
def review_page(request: Request, base: str, pair_id: Id) -> HTMLResponse:
    return _page(
        request,
        "review.html",
        {
            "base": service.get_base(_config(request), base),
            "pair": review(request, base, pair_id),
        },
    )


@pages.post("/bases/{base}/reviews/{pair_id}")
def review_form(
    request: Request,
    base: str,
    pair_id: Id,
    decision: str = Form(...),
    note: str = Form(""),
    csrf: str = Form(""),
) -> RedirectResponse:
    check_csrf(request, csrf)
    _reviewer(request, base)
    service.decide(_config(request), base, pair_id, decision, actor=actor(request), note=note)
    return RedirectResponse(f"/bases/{quote(base)}/reviews", status_code=303)


@pages.get("/licences", response_class=HTMLResponse)
def licence_page(
    request: Request,
    number: str = Query("", max_length=100),
    holder: str = Query("", max_length=100),
) -> HTMLResponse:
    result = (
        licences.check(_config(request), viewer(request), number, holder=holder or None)
        if number
        else None
    )
    return _page(request, "licence.html", {"number": number, "holder": holder, "result": result})


__all__ = ["api", "pages"]
