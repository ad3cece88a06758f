"""Portal pages (门户页面). Each page calls the same library functions as its API twin."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import yaml
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shuhai import ingest as ing
from shuhai import quality, serve
from shuhai.catalog import FACETS, Catalog
from shuhai.config import Config
from shuhai.errors import InvalidInput, NotFound, ShuhaiError
from shuhai.lake import service as lake
from shuhai.quality import compare, corrections
from shuhai.quality.scores import DIMENSIONS
from shuhai.serve import objections
from shuhai.web.access import officer_of, viewer
from shuhai.web.auth import check_csrf, current_user
from shuhai.web.params import Id, Offset, OptionalId, OptionalVersion

router = APIRouter(include_in_schema=False)

FACET_LABELS = {
    "department": "提供部门 Department",
    "share_type": "共享类型 Sharing",
    "update_cycle": "更新周期 Update cycle",
    "format": "资源格式 Format",
}


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


def _page(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, template, context)  # type: ignore[no-any-return]


HOME_SECONDS = 2.0  # the home page's live figures are recomputed at most this often
_home: dict[str, tuple[float, dict[str, Any]]] = {}


def home_figures(config: Config) -> dict[str, Any]:
    """The figures the home page shows (counts, latest runs, departments), reused for
    ``HOME_SECONDS``: the busiest page costs a template render, not seven counts and two lists."""
    now = time.monotonic()
    hit = _home.get(config.database_url)
    if hit is not None and hit[0] > now:
        return hit[1]
    figures = {
        "stats": ing.platform_stats(config),
        "runs": ing.list_runs(config, limit=10),
        "departments": Catalog(config).departments(),
    }
    _home[config.database_url] = (now + HOME_SECONDS, figures)
    return figures


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    """Browsers ask for /favicon.ico before reading the page's icon link."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    """The public lands on the open-data portal; signed-in staff on the platform's figures
    (on the event loop: the figures are reused for ``HOME_SECONDS``, a render is ~1 ms)."""
    if current_user(request) is None:
        return RedirectResponse("/open", status_code=303)
    return _page(request, "home.html", home_figures(_config(request)))


@router.get("/catalog", response_class=HTMLResponse)
def catalog(
    request: Request,
    q: str = Query("", max_length=200),
    department: str | None = Query(None, max_length=64),
    share_type: str | None = Query(None, max_length=20),
    update_cycle: str | None = Query(None, max_length=20),
    format: str | None = Query(None, max_length=40),
    page: int = Query(1, ge=1, le=100000),
    size: int = Query(20, ge=1, le=200),
) -> HTMLResponse:
    filters = {
        "department": department,
        "share_type": share_type,
        "update_cycle": update_cycle,
        "format": format,
    }
    result = Catalog(_config(request)).search(q, page=page, size=size, **filters)
    return _page(
        request,
        "catalog.html",
        {
            "q": q,
            "filters": {k: v for k, v in filters.items() if v},
            "result": asdict(result),
            "facet_names": FACETS,
            "facet_labels": FACET_LABELS,
            "pages": (result.total + size - 1) // size,
        },
    )


@router.get("/resources/{rid}", response_class=HTMLResponse)
def resource(request: Request, rid: Id, version: OptionalVersion = None) -> HTMLResponse:
    config = _config(request)
    res = Catalog(config).get(rid)
    versions = lake.list_versions(config, rid)
    preview = None
    preview_error = None
    if versions:
        try:
            preview = serve.preview(config, viewer(request), rid, version=version, limit=20)
        except NotFound as exc:
            if version is None:
                raise
            preview_error = exc.message
        except ShuhaiError as exc:  # not entitled: the catalog entry is shown, the rows are not
            preview_error = exc.message
    return _page(
        request,
        "resource.html",
        {
            "res": res,
            "versions": versions,
            "runs": ing.list_runs(config, rid, limit=50),
            "quarantine": ing.quarantine_summary(config, rid),
            "preview": preview,
            "preview_error": preview_error,
            "version": version,
            "quality": serve.quality_runs(
                config, viewer(request), rid, quality.quality_history(config, rid)
            ),
            "objections": objections.visible(
                config, viewer(request), corrections.list_objections(config, resource=rid)
            ),
        },
    )


@router.get("/resources/{rid}/rules", response_class=HTMLResponse)
def rules_page(request: Request, rid: Id) -> HTMLResponse:
    config = _config(request)
    rules = quality.list_rules(config, rid)
    text = yaml.safe_dump(
        [{k: r[k] for k in ("item", "kind", "params", "enabled")} for r in rules],
        allow_unicode=True,
        sort_keys=False,
    )
    return _page(
        request,
        "rules.html",
        {
            "res": Catalog(config).get(rid),
            "rules": rules,
            "text": text,
            "errors": [],
            "saved": False,
        },
    )


@router.post("/resources/{rid}/rules", response_class=HTMLResponse)
async def rules_form(request: Request, rid: Id) -> HTMLResponse:
    """The rules form: YAML in a text area, validated like the API (all or nothing)."""
    config = _config(request)
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    officer_of(request, rid, "quality.rules")
    text = str(form.get("rules", ""))
    errors: list[dict[str, Any]] = []
    saved = False
    try:
        data = yaml.safe_load(text) or []
        quality.set_rules(config, rid, data.get("rules", data) if isinstance(data, dict) else data)
        saved = True
    except yaml.YAMLError as exc:
        errors = [{"field": "yaml", "error": f"YAML 格式错误 / YAML syntax error: {exc}"}]
    except InvalidInput as exc:
        errors = exc.details or [{"field": "rules", "error": exc.message}]
    rules = quality.list_rules(config, rid)
    status = 422 if errors else 200
    response = _page(
        request,
        "rules.html",
        {
            "res": Catalog(config).get(rid),
            "rules": rules,
            "text": text,
            "errors": errors,
            "saved": saved,
        },
    )
    response.status_code = status
    return response


@router.get("/quality", response_class=HTMLResponse)
def quality_page(request: Request) -> HTMLResponse:
    return _page(
        request,
        "quality.html",
        {"departments": quality.department_scores(_config(request)), "dimensions": DIMENSIONS},
    )


@router.get("/quality/{run_id}", response_class=HTMLResponse)
def quality_run_page(
    request: Request,
    run_id: Id,
    rule_id: OptionalId = None,
    offset: Offset = 0,
) -> HTMLResponse:
    config = _config(request)
    run = quality.get_quality_run(config, run_id)
    run = serve.quality_runs(config, viewer(request), run["resource_id"], [run])[0]
    res = Catalog(config).get(run["resource_id"])
    rows = serve.failing_rows(
        config, viewer(request), run_id, rule_id=rule_id, limit=100, offset=offset
    )
    return _page(
        request,
        "quality_run.html",
        {"run": run, "res": res, "rows": rows, "rule_id": rule_id, "offset": offset},
    )


@router.get("/comparisons", response_class=HTMLResponse)
def comparisons_page(request: Request) -> HTMLResponse:
    config = _config(request)
    cat = Catalog(config)
    items = compare.list_comparisons(config)
    names = {r["id"]: r["name"] for r in cat.all()}
    return _page(request, "comparisons.html", {"items": items, "names": names})


@router.get("/comparisons/{cid}/runs/{run_id}", response_class=HTMLResponse)
def comparison_run_page(request: Request, cid: Id, run_id: Id, offset: Offset = 0) -> HTMLResponse:
    data = serve.conflicts(_config(request), viewer(request), cid, run_id, limit=100, offset=offset)
    item = next((c for c in compare.list_comparisons(_config(request)) if c["id"] == cid), None)
    return _page(request, "comparison_run.html", {"data": data, "item": item, "offset": offset})


@router.get("/objections", response_class=HTMLResponse)
def objections_page(
    request: Request,
    status: str | None = Query(None, max_length=12),
    overdue: bool = False,
    source_status: str | None = Query(None, max_length=12),
) -> HTMLResponse:
    config = _config(request)
    found = corrections.list_objections(
        config, status=status, overdue=overdue, source_status=source_status
    )
    return _page(
        request,
        "objections.html",
        {
            "items": objections.visible(config, viewer(request), found),
            "status": status,
            "overdue": overdue,
            "source_status": source_status,
            "labels": corrections.LABELS,
            "source_labels": corrections.SOURCE_LABELS,
        },
    )


@router.get("/objections/{oid}", response_class=HTMLResponse)
def objection_page(request: Request, oid: Id) -> HTMLResponse:
    config = _config(request)
    o = objections.one(
        config, viewer(request), corrections.get_objection(config, oid), "objection.read"
    )
    return _page(
        request, "objection.html", {"o": o, "res": Catalog(_config(request)).get(o["resource_id"])}
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run(request: Request, run_id: Id, offset: Offset = 0) -> HTMLResponse:
    config = _config(request)
    info = ing.get_run(config, run_id)
    res = Catalog(config).get(info["resource_id"])
    rows, rows_error = None, None
    if info["rows_quarantined"]:
        try:
            rows = serve.quarantine_rows(config, viewer(request), run_id, limit=100, offset=offset)
        except ShuhaiError as exc:  # the run's figures are shown, its rejected rows are not
            rows_error = exc.message
    return _page(
        request,
        "run.html",
        {"run": info, "res": res, "rows": rows, "rows_error": rows_error, "offset": offset},
    )


__all__ = ["router"]
