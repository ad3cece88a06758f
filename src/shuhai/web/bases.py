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
from shuhai.access.policy import SourceView
from shuhai.config import Config
from shuhai.entities import service
from shuhai.entities.build import build_base
from shuhai.entities.licences import verify
from shuhai.errors import Forbidden
from shuhai.serve import objections as objection_views
from shuhai.web.access import require, viewer
from shuhai.web.api import _actor
from shuhai.web.auth import check_csrf
from shuhai.web.params import Id, Offset

api = APIRouter(prefix="/api/v1")
pages = APIRouter()


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


def _personal(request: Request, action: str, target: str) -> tuple[Config, SourceView]:
    """Base-database files: the instance setting first, then the caller (department staff)."""
    config = _config(request)
    if not config.profiles:
        raise Forbidden(
            "entities.profiles_off",
            "档案含个人信息，本实例未开启档案查看（设置 SHUHAI_PROFILES=true）",
            "Profiles hold personal data and are off on this instance (set SHUHAI_PROFILES=true)",
        )
    view = SourceView(config, viewer(request))
    view.check(action, target)
    return config, view


# Fields of entity rows and review evidence, by the attribute whose masking rule they follow.
PERSON_FIELDS = {"id": "身份证号", "person_id": "身份证号"}


def _mixed(view: SourceView, kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows drawn from several sources (search hits, entity, links): L4 fields masked, in one
    pass over all the rows."""
    if kind != "person" or not rows:
        return rows
    named = [{attr: r.get(f) for f, attr in PERSON_FIELDS.items() if f in r} for r in rows]
    masked = view.mixed_rows(named)
    return [
        {**r, **{f: m.get(attr) for f, attr in PERSON_FIELDS.items() if f in r}}
        for r, m in zip(rows, masked, strict=True)
    ]


def profile_view(view: SourceView, p: dict[str, Any]) -> dict[str, Any]:
    """A file as this viewer may see it: every value through the decision of its source."""
    kind = p["base"]["kind"]
    shown_golden = view.values_many(
        [(g["resource_id"], {g["attribute"]: g["value"]}) for g in p["golden"]]
    )
    golden = [
        {**g, "value": None, "withheld": True}
        if shown is None
        else {**g, "value": shown.get(g["attribute"]), "withheld": False}
        for g, shown in zip(p["golden"], shown_golden, strict=True)
    ]
    shown_sources = view.values_many([(src["resource_id"], src["values"]) for src in p["sources"]])
    sources = [
        {**src, "values": shown}
        for src, shown in zip(p["sources"], shown_sources, strict=True)
        if shown is not None
    ]
    if kind == "person" and sources:  # a source's ID is masked like an ID number
        ids = view.values_many([(s["resource_id"], {"身份证号": s["id"]}) for s in sources])
        for src, masked in zip(sources, ids, strict=True):
            src["id"] = (masked or {}).get("身份证号", src["id"])
    disagreements = _disagreements(view, p["disagreements"])
    objections = [
        objection_views.masked([o], view.decision(o["resource_id"]))[0]
        for o in p["objections"]
        if objection_views.may_see(view.viewer, o, view.decision(o["resource_id"]))
    ]
    links = {
        k: _mixed(view, "person", [r for r in rows if view.readable(r.get("resource_id", 0))])
        if k != "licences"
        else rows
        for k, rows in p["links"].items()
    }
    return {
        **p,
        "entity": _mixed(view, kind, [p["entity"]])[0],
        "golden": golden,
        "sources": sources,
        "withheld_sources": len(p["sources"]) - len(sources),
        "timeline": [t for t in p["timeline"] if view.readable(t["resource_id"])],
        "disagreements": disagreements,
        "objections": objections,
        "links": links,
    }


def _disagreements(view: SourceView, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each attribute's competing values, each shown only from a source the viewer may read
    (one masking pass for all of them)."""
    pairs = [
        (one["resource_id"], {d["attribute"]: one.get("value")})
        for d in items
        for one in d["sources"]
    ]
    shown = iter(view.values_many(pairs))
    out = []
    for d in items:
        kept = []
        for one in d["sources"]:
            masked = next(shown)
            if masked is not None:
                kept.append({**one, "value": masked.get(d["attribute"])})
        if kept:
            out.append({**d, "sources": kept})
    return out


def disagreements_view(view: SourceView, data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "items": _disagreements(view, data["items"])}


def review_view(view: SourceView, kind: str, pair: dict[str, Any]) -> dict[str, Any]:
    """Review evidence: both sides' fields and the golden values, L4 masked (mixed sources)."""
    evidence = {
        "record": {**pair["record"], "fields": _mixed(view, kind, [pair["record"]["fields"]])[0]},
        "file": {
            "fields": _mixed(view, kind, [pair["file"]["fields"]])[0],
            "golden": [
                {**g, "value": m.get(g["attribute"])}
                for g, m in zip(
                    pair["file"]["golden"],
                    view.mixed_rows([{g["attribute"]: g["value"]} for g in pair["file"]["golden"]]),
                    strict=True,
                )
            ],
        },
    }
    return {**pair, **evidence}


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
    config, view = _personal(request, "base.search", base)
    found = service.search_files(config, base, q, limit=limit, offset=offset)
    kind = found["base"]["kind"]
    return {**found, "items": _mixed(view, kind, found["items"])}


@api.get("/bases/{base}/files/{file_id}", summary="一人一档 / 一企一档: one file")
def file(request: Request, base: str, file_id: str) -> dict[str, Any]:
    config, view = _personal(request, "base.profile", f"{base}/{file_id}")
    return profile_view(view, service.profile(config, base, file_id))


@api.get("/bases/{base}/disagreements", summary="来源不一致 / values the sources disagree on")
def disagreements(
    request: Request,
    base: str,
    attribute: str | None = Query(None, max_length=100),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    config, view = _personal(request, "base.disagreements", base)
    return disagreements_view(
        view, service.disagreements(config, base, attribute=attribute, limit=limit)
    )


@api.get("/bases/{base}/reviews", summary="人工复核队列 / clerical review queue")
def reviews(
    request: Request,
    base: str,
    status: str = Query("pending", pattern="^(pending|accepted|rejected|stale|all)$"),
    limit: int = Query(50, ge=1, le=500),
) -> list[dict[str, Any]]:
    _reviewer(request, base)
    return service.review_queue(_config(request), base, status=status, limit=limit)


@api.get("/bases/{base}/reviews/{pair_id}", summary="复核对证据 / a pair with its evidence")
def review(request: Request, base: str, pair_id: Id) -> dict[str, Any]:
    _reviewer(request, base)
    config, view = _personal(request, "base.review", f"{base}/{pair_id}")
    kind = service.get_base(config, base)["kind"]
    return review_view(view, kind, service.review_pair(config, base, pair_id))


@api.post("/bases/{base}/reviews/{pair_id}", summary="复核决定 / accept or reject a pair")
def decide(request: Request, base: str, pair_id: Id, body: DecisionIn) -> dict[str, Any]:
    _reviewer(request, base)
    return service.decide(
        _config(request), base, pair_id, body.decision, actor=_actor(request), note=body.note
    )


@api.get("/licences/{number}", summary="电子证照核验 / verify a licence by number")
def licence(
    request: Request, number: str, holder: str | None = Query(None, max_length=100)
) -> dict[str, Any]:
    return verify(_config(request), number, holder=holder)


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
        "pending": service.review_queue(config, base, limit=500)
        if OFFICER in v.roles or v.kind == "system"
        else [],
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
    return _page(request, "profile.html", {"p": file(request, base, file_id)})


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
            "pairs": service.review_queue(config, base, status=status, limit=200),
        },
    )


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
    service.decide(_config(request), base, pair_id, decision, actor=_actor(request), note=note)
    return RedirectResponse(f"/bases/{quote(base)}/reviews", status_code=303)


@pages.get("/licences", response_class=HTMLResponse)
def licence_page(
    request: Request,
    number: str = Query("", max_length=100),
    holder: str = Query("", max_length=100),
) -> HTMLResponse:
    result = verify(_config(request), number, holder=holder or None) if number else None
    return _page(request, "licence.html", {"number": number, "holder": holder, "result": result})


__all__ = ["api", "pages"]
