"""Open data on the web (公共数据开放): the public portal (``/open…``), its REST API
(``/api/v1/open/…``) and the CKAN-compatible Action API (``/api/3/action/{name}`` and
``/api/action/{name}``). Thin routes over ``shuhai.open``; every row served passes the policy
point there.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shuhai import open as opendata
from shuhai.access import limits
from shuhai.access.identity import ADMIN, OFFICER
from shuhai.config import Config
from shuhai.errors import InvalidInput, ShuhaiError
from shuhai.open import applications, ckan, downloads, harvest, interaction, interchange, page
from shuhai.web.access import require, signed_in, viewer
from shuhai.web.auth import check_csrf, current_user
from shuhai.web.params import Id

api = APIRouter(prefix="/api/v1/open", tags=["open"])
ckan_api = APIRouter(tags=["ckan"])
pages = APIRouter(include_in_schema=False)

ANONYMOUS_CALLS_PER_MINUTE = 600  # per address, for the open APIs
KEY_CALLS_PER_MINUTE = 3000  # per signed-in user or key

FACET_LABELS = {
    "department": "提供部门 Publisher",
    "theme": "主题 Theme",
    "format": "资源格式 Format",
    "open_type": "开放类型 Open type",
    "frequency": "更新频率 Frequency",
}
SORT_LABELS = {
    "relevance": "相关度 Relevance",
    "newest": "最新发布 Newest",
    "updated": "最近更新 Updated",
    "most_used": "最常用 Most used",
    "title": "名称 Title",
}


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _throttle(request: Request) -> None:
    """Rate limits of the open APIs: per address for anonymous callers, per user otherwise
    (counted in Redis when configured, so every server process counts together)."""
    v = viewer(request)
    if v.kind == "anonymous":
        key, most = f"open:addr:{_address(request)}", ANONYMOUS_CALLS_PER_MINUTE
    else:
        key, most = f"open:{v.kind}:{v.name}", KEY_CALLS_PER_MINUTE
    try:
        limits.hit(_config(request), key, most)
    except limits.TooManyRequests:
        raise limits.TooManyRequests(
            "open.rate_limited",
            f"调用过于频繁（每分钟至多 {most} 次），请稍后再试",
            f"Too many calls (at most {most} a minute); retry shortly",
        ) from None


def _filters(**values: list[str] | None) -> dict[str, list[str]]:
    return {k: v for k, v in values.items() if v}


class PublishIn(BaseModel):
    """发布开放数据集 / publish a resource as an open dataset."""

    resource: str = Field(..., max_length=120, description="资源代码或编号 / resource code or id")
    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)
    keywords: list[str] | None = Field(None, max_length=50)
    theme: str | None = Field(None, max_length=40)
    licence: str | None = Field(None, max_length=40)
    temporal_start: str | None = Field(None, max_length=10)
    temporal_end: str | None = Field(None, max_length=10)
    spatial: str | None = Field(None, max_length=100)
    contact: str | None = Field(None, max_length=200)
    columns: list[str] | None = Field(
        None, max_length=1000, description="开放的信息项 / items opened"
    )


class WithdrawIn(BaseModel):
    reason: str = Field(..., min_length=1, max_length=1000)


class PledgeIn(BaseModel):
    accepted: bool = Field(..., description="已阅读并同意数据安全承诺书 / read and accepted")
    signed_by: str = Field(..., min_length=1, max_length=100, description="签名 / signature")


class ApplyIn(BaseModel):
    """有条件开放申请 / apply for conditionally open data."""

    applicant_kind: str = Field("person", description="person 个人 / enterprise 企业")
    organisation: str = Field("", max_length=200)
    uscc: str = Field("", max_length=18, description="企业的统一社会信用代码 / credit code")
    contact: str = Field("", max_length=200)
    purpose: str = Field(..., max_length=5000, description="用途 / purpose")
    scenario: str = Field(..., max_length=5000, description="使用场景 / scenario")
    period_start: str | None = Field(None, max_length=10)
    period_end: str | None = Field(None, max_length=10)
    pledge: PledgeIn


class OpenDecisionIn(BaseModel):
    approve: bool
    reason: str = Field("", max_length=2000)


class RequestIn(BaseModel):
    """数据需求 / ask for data that is not open yet."""

    title: str = Field(..., max_length=200)
    description: str = Field(..., max_length=5000)
    department: str | None = Field(None, max_length=64, description="部门代码或名称 / department")


class AnswerIn(BaseModel):
    answer: str = Field(..., max_length=5000)
    dataset: str | None = Field(None, max_length=120, description="已开放的数据集 / the dataset")
    decline: bool = False


class CommentIn(BaseModel):
    text: str = Field("", max_length=2000)
    rating: int | None = Field(None, ge=1, le=5)


class ProblemIn(BaseModel):
    text: str = Field(..., max_length=2000)
    row_id: int | None = Field(None, ge=0, le=2**62, description="行号 _id / the row's _id")
    item: str | None = Field(None, max_length=100)
    proposed_value: str | None = Field(None, max_length=1000)


class ModerateIn(BaseModel):
    approve: bool
    note: str = Field("", max_length=1000)


class ShowcaseIn(BaseModel):
    title: str = Field(..., max_length=200)
    description: str = Field(..., max_length=5000)
    url: str = Field("", max_length=500)
    datasets: list[str] = Field(..., max_length=50)


class SourceIn(BaseModel):
    name: str = Field(..., max_length=100)
    url: str = Field(..., max_length=500)
    kind: str = Field(..., description="ckan | dcat")


class PlanIn(BaseModel):
    resource: str = Field(..., max_length=120)
    year: int = Field(..., ge=2000, le=2100)
    planned_date: str = Field(..., max_length=10, description="计划开放日期 / YYYY-MM-DD")
    note: str = Field("", max_length=1000)


def _meta(body: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in body.model_dump(exclude={"resource"}).items() if v is not None}


# --- REST API ------------------------------------------------------------------------------


@api.get("/datasets", summary="检索开放数据 / search open datasets")
def search_datasets(
    request: Request,
    q: str = Query("", max_length=10_000),
    department: list[str] | None = Query(None),
    theme: list[str] | None = Query(None),
    format: list[str] | None = Query(None),
    open_type: list[str] | None = Query(None),
    frequency: list[str] | None = Query(None),
    keyword: list[str] | None = Query(None),
    sort: str = Query("relevance", max_length=20),
    limit: int = Query(20, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> dict[str, Any]:
    _throttle(request)
    filters = _filters(
        department=department,
        theme=theme,
        format=format,
        open_type=open_type,
        frequency=frequency,
        keyword=keyword,
    )
    return opendata.search(
        _config(request), q, filters=filters, sort=sort, limit=limit, offset=offset
    )


@api.post("/datasets", status_code=201, summary="发布开放数据集 / publish a dataset")
def publish_dataset(request: Request, body: PublishIn) -> dict[str, Any]:
    v = require(request, (OFFICER,), action="open.publish", resource=body.resource)
    return opendata.publish(_config(request), body.resource, _meta(body), viewer=v)


@api.get("/datasets/{name}", summary="开放数据集 / one dataset")
def show_dataset(request: Request, name: str) -> dict[str, Any]:
    _throttle(request)
    return opendata.get_dataset(_config(request), name)


@api.patch("/datasets/{name}", summary="修改元数据 / update a dataset's metadata")
def update_dataset(request: Request, name: str, body: PublishIn) -> dict[str, Any]:
    v = require(request, (OFFICER,), action="open.update", resource=name)
    ds = opendata.get_dataset(_config(request), name)
    return opendata.publish(_config(request), ds["resource"]["id"], _meta(body), viewer=v)


@api.post("/datasets/{name}/withdraw", summary="撤回开放数据集 / withdraw a dataset")
def withdraw_dataset(request: Request, name: str, body: WithdrawIn) -> dict[str, Any]:
    v = require(request, (OFFICER,), action="open.withdraw", resource=name)
    return opendata.withdraw(_config(request), name, viewer=v, reason=body.reason)


@api.get("/datasets/{name}/preview", summary="数据预览（50 行）/ a 50-row preview")
def preview_dataset(
    request: Request, name: str, limit: int = Query(50, ge=1, le=50)
) -> dict[str, Any]:
    _throttle(request)
    return downloads.preview(_config(request), viewer(request), name, limit=limit)


@api.get("/datasets/{name}/chart", summary="图表预览 / a chart of the data")
def chart_dataset(request: Request, name: str) -> dict[str, Any]:
    _throttle(request)
    return page.chart(_config(request), viewer(request), name)


@api.get(
    "/datasets/{name}/download.{fmt}",
    summary="下载 / download (csv, xlsx, json, parquet)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                media.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                for media, _ext in downloads.FORMATS.values()
            }
        }
    },
)
def download_dataset(
    request: Request,
    name: str,
    fmt: str,
    version: int | None = Query(None, ge=0, le=2**62),
) -> StreamingResponse:
    _throttle(request)
    d = downloads.download(
        _config(request), viewer(request), name, fmt, version=version, address=_address(request)
    )
    return StreamingResponse(
        d.body,
        media_type=d.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(d.filename)}",
            "X-Shuhai-Download": d.id,
            "X-Shuhai-Version": str(d.version),
            "Link": f'</api/v1/open/downloads/{d.id}>; rel="describedby"',
        },
    )


@api.get("/downloads/{download_id}", summary="下载记录 / what a download id leads back to")
def show_download(request: Request, download_id: str) -> dict[str, Any]:
    return downloads.download_record(_config(request), download_id)


@api.get("/plan", summary="年度开放计划 / the yearly opening plan")
def show_plan(request: Request, year: int | None = Query(None, ge=2000, le=2100)) -> dict[str, Any]:
    return opendata.list_plan(_config(request), year)


@api.post("/plan", status_code=201, summary="列入开放计划 / plan a resource's opening")
def add_plan(request: Request, body: PlanIn) -> dict[str, Any]:
    v = require(request, (OFFICER,), action="open.plan", resource=body.resource)
    return opendata.plan(
        _config(request),
        body.resource,
        year=body.year,
        planned_date=body.planned_date,
        note=body.note,
        viewer=v,
    )


@api.get(
    "/catalog.ttl",
    summary="DCAT 目录（Turtle）/ the open catalog as DCAT Turtle",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/turtle": {"schema": {"type": "string"}}}}},
)
def catalog_turtle(request: Request) -> PlainTextResponse:
    text, errors = interchange.dcat(_config(request), str(request.base_url).rstrip("/"))
    return PlainTextResponse(
        text, media_type="text/turtle", headers={"X-Shuhai-Left-Out": str(len(errors))}
    )


@api.get(
    "/catalog.jsonld",
    summary="DCAT 目录（JSON-LD）/ the open catalog as DCAT JSON-LD",
    response_class=PlainTextResponse,
    responses={200: {"content": {"application/ld+json": {"schema": {}}}}},
)
def catalog_jsonld(request: Request) -> PlainTextResponse:
    text, errors = interchange.dcat(_config(request), str(request.base_url).rstrip("/"), "json-ld")
    return PlainTextResponse(
        text, media_type="application/ld+json", headers={"X-Shuhai-Left-Out": str(len(errors))}
    )


@api.get("/datasets/{name}/datapackage.json", summary="数据包描述 / Frictionless Data Package")
def datapackage(request: Request, name: str) -> dict[str, Any]:
    _throttle(request)
    return interchange.datapackage(
        _config(request), viewer(request), name, str(request.base_url).rstrip("/")
    )


@api.get("/pledge", summary="数据安全承诺书 / the security pledge applicants sign")
def show_pledge() -> dict[str, str]:
    return {"version": applications.PLEDGE_VERSION, "text": applications.PLEDGE}


@api.post(
    "/datasets/{name}/applications",
    status_code=201,
    summary="申请有条件开放数据 / apply for conditionally open data",
)
def apply_dataset(request: Request, name: str, body: ApplyIn) -> dict[str, Any]:
    return applications.apply(_config(request), name, body.model_dump(), viewer=signed_in(request))


@api.get("/applications", summary="我的申请与密钥、待审核申请 / applications and keys")
def list_open_applications(request: Request) -> dict[str, Any]:
    return applications.list_applications(_config(request), signed_in(request))


@api.post("/applications/{application_id}/decision", summary="审核开放申请 / approve or refuse")
def decide_open(request: Request, application_id: Id, body: OpenDecisionIn) -> dict[str, Any]:
    v = require(request, (OFFICER,), action="open.decide", resource=str(application_id))
    return applications.decide(
        _config(request), application_id, approve=body.approve, viewer=v, reason=body.reason
    )


@api.post(
    "/applications/{application_id}/key",
    status_code=201,
    summary="领取调用密钥（只显示一次）/ take the personal key (shown once)",
)
def take_key(request: Request, application_id: Id) -> dict[str, Any]:
    return applications.issue_key(_config(request), application_id, viewer=signed_in(request))


@api.post("/keys/{key_id}/revoke", summary="撤销密钥 / revoke a key")
def revoke_open_key(request: Request, key_id: Id) -> dict[str, Any]:
    return applications.revoke_key(_config(request), key_id, viewer=signed_in(request))


@api.post("/requests", status_code=201, summary="提交数据需求 / ask for data not yet open")
def post_request(request: Request, body: RequestIn) -> dict[str, Any]:
    return interaction.request_data(_config(request), body.model_dump(), viewer=signed_in(request))


@api.get("/requests", summary="数据需求与答复（公开）/ data requests and answers")
def get_requests(
    request: Request, status: str | None = Query(None, max_length=12)
) -> list[dict[str, Any]]:
    return interaction.list_requests(_config(request), status=status)


@api.post("/requests/{request_id}/answer", summary="答复数据需求 / answer a request")
def post_answer(request: Request, request_id: Id, body: AnswerIn) -> dict[str, Any]:
    v = require(request, (OFFICER,), action="open.request_answer", resource=str(request_id))
    return interaction.answer_request(
        _config(request),
        request_id,
        viewer=v,
        answer=body.answer,
        dataset=body.dataset,
        decline=body.decline,
    )


@api.get("/datasets/{name}/comments", summary="评分与评论 / ratings and comments")
def get_comments(request: Request, name: str) -> dict[str, Any]:
    return interaction.feedback(_config(request), name, viewer=viewer(request))


@api.post("/datasets/{name}/comments", status_code=201, summary="评分或评论 / rate or comment")
def post_comment(request: Request, name: str, body: CommentIn) -> dict[str, Any]:
    return interaction.comment(
        _config(request), name, viewer=signed_in(request), text=body.text, rating=body.rating
    )


@api.post("/datasets/{name}/problems", status_code=201, summary="问题反馈 / report a problem")
def post_problem(request: Request, name: str, body: ProblemIn) -> dict[str, Any]:
    return interaction.report_problem(
        _config(request),
        name,
        viewer=signed_in(request),
        text=body.text,
        row_id=body.row_id,
        item=body.item,
        proposed_value=body.proposed_value,
    )


@api.post("/feedback/{feedback_id}/moderation", summary="审核评论 / moderate a comment")
def post_moderation(request: Request, feedback_id: Id, body: ModerateIn) -> dict[str, Any]:
    v = require(request, (OFFICER,), action="open.moderate", resource=str(feedback_id))
    return interaction.moderate(_config(request), feedback_id, viewer=v, approve=body.approve)


@api.get("/showcases", summary="数据应用成果 / applications built on open data")
def get_showcases(
    request: Request, dataset: str | None = Query(None, max_length=120)
) -> list[dict[str, Any]]:
    return interaction.showcases(_config(request), dataset=dataset, viewer=viewer(request))


@api.post("/showcases", status_code=201, summary="提交应用成果 / submit an application")
def post_showcase(request: Request, body: ShowcaseIn) -> dict[str, Any]:
    return interaction.submit_showcase(
        _config(request), body.model_dump(), viewer=signed_in(request)
    )


@api.post("/showcases/{showcase_id}/review", summary="审核应用成果 / review a showcase")
def post_review(request: Request, showcase_id: Id, body: ModerateIn) -> dict[str, Any]:
    v = signed_in(request)
    return interaction.review_showcase(
        _config(request), showcase_id, viewer=v, approve=body.approve, note=body.note
    )


@api.get("/harvest/sources", summary="采集源 / harvest sources")
def get_sources(request: Request) -> list[dict[str, Any]]:
    require(request, (ADMIN,), action="open.harvest_sources")
    return harvest.list_sources(_config(request))


@api.post("/harvest/sources", status_code=201, summary="登记采集源 / add a harvest source")
def post_source(request: Request, body: SourceIn) -> dict[str, Any]:
    v = require(request, (ADMIN,), action="open.harvest_source")
    return harvest.add_source(_config(request), body.name, body.url, body.kind, viewer=v)


@api.post("/harvest/sources/{source_id}/runs", status_code=201, summary="采集 / harvest now")
def post_harvest(request: Request, source_id: Id) -> dict[str, Any]:
    v = require(request, (ADMIN,), action="open.harvest")
    return harvest.harvest(_config(request), source_id, viewer=v)


@api.get("/external/{external_id}", summary="外部数据集 / a harvested dataset")
def get_external(request: Request, external_id: Id) -> dict[str, Any]:
    return harvest.get_external(_config(request), external_id)


@api.get("/figures", summary="平台开放指标 / the platform's open-data figures")
def show_figures(request: Request) -> dict[str, Any]:
    return {**opendata.figures(_config(request)), **interaction.counts(_config(request))}


# --- CKAN Action API -----------------------------------------------------------------------


def _ckan_help(request: Request, name: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/api/3/action/help_show?name={quote(name)}"


async def _ckan(request: Request, name: str) -> JSONResponse:
    help_url = _ckan_help(request, name)
    params: dict[str, Any] = {}
    try:
        if request.method == "POST":
            kind = request.headers.get("content-type", "")
            raw = await request.body()
            if len(raw) > 1_000_000:
                raise ckan.ValidationError("ckan.too_large", "请求体过大", "Request body too large")
            if raw.strip() and "form" not in kind:
                try:
                    body = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise ckan.ValidationError(
                        "ckan.bad_json", "请求体不是有效的 JSON", "The body is not valid JSON"
                    ) from None
                if not isinstance(body, dict):
                    raise ckan.ValidationError(
                        "ckan.bad_json", "请求体应为 JSON 对象", "The body must be a JSON object"
                    )
                params = body
            elif raw.strip():
                params = dict((await request.form()).items())
        params = {**dict(request.query_params.items()), **params}
        _throttle(request)
        ctx = ckan.Context(_config(request), viewer(request), str(request.base_url).rstrip("/"))
        result = await run_in_threadpool(ckan.call, ctx, name, params)
    except ShuhaiError as exc:
        status, error = ckan.error_body(exc)
        return JSONResponse(
            {"help": help_url, "success": False, "error": error}, status_code=status
        )
    return JSONResponse({"help": help_url, "success": True, "result": result})


for prefix in ("/api/3/action", "/api/action"):
    for method in ("GET", "POST"):
        ckan_api.add_api_route(
            prefix + "/{name}",
            _ckan,
            methods=[method],
            name=f"ckan_{method.lower()}_{prefix.count('/')}",
            summary="CKAN 兼容接口 / CKAN Action API",
            include_in_schema=prefix == "/api/3/action",
        )


# --- pages ---------------------------------------------------------------------------------


def _render(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, template, context)  # type: ignore[no-any-return]


@pages.get("/open", response_class=HTMLResponse)
def open_home(request: Request) -> HTMLResponse:
    config = _config(request)
    newest = opendata.search(config, "", sort="newest", limit=6)
    popular = opendata.search(config, "", sort="most_used", limit=6)
    return _render(
        request,
        "open_home.html",
        {
            "figures": {**opendata.figures(config), **interaction.counts(config)},
            "newest": newest["results"],
            "popular": popular["results"],
            "themes": newest["facets"]["theme"],
            "departments": newest["facets"]["department"],
        },
    )


@pages.get("/open/datasets", response_class=HTMLResponse)
def open_search(
    request: Request,
    q: str = Query("", max_length=10_000),
    department: list[str] | None = Query(None),
    theme: list[str] | None = Query(None),
    format: list[str] | None = Query(None),
    open_type: list[str] | None = Query(None),
    frequency: list[str] | None = Query(None),
    sort: str = Query("relevance", max_length=20),
    page: int = Query(1, ge=1, le=10_000),
) -> HTMLResponse:
    filters = _filters(
        department=department, theme=theme, format=format, open_type=open_type, frequency=frequency
    )
    size = 20
    if sort not in SORT_LABELS:
        raise InvalidInput("open.bad_sort", "未知的排序方式", "Unknown sort order")
    result = opendata.search(
        _config(request), q, filters=filters, sort=sort, limit=size, offset=(page - 1) * size
    )
    return _render(
        request,
        "open_search.html",
        {
            "q": q,
            "filters": filters,
            "result": result,
            "facet_labels": FACET_LABELS,
            "sort_labels": SORT_LABELS,
            "sort": sort,
            "page": page,
            "pages": max(1, (result["count"] + size - 1) // size),
        },
    )


@pages.get("/open/datasets/{name}", response_class=HTMLResponse)
def open_dataset(request: Request, name: str) -> HTMLResponse:
    config = _config(request)
    ds = opendata.get_dataset(config, name)
    preview, preview_error = None, None
    try:
        preview = downloads.preview(config, viewer(request), name)
    except ShuhaiError as exc:
        preview_error = exc.message
    base = str(request.base_url).rstrip("/")
    return _render(
        request,
        "open_dataset.html",
        {
            "ds": ds,
            "preview": preview,
            "preview_error": preview_error,
            "history": page.history(config, name),
            "quality": page.quality(config, name),
            "base": base,
            "formats": list(downloads.FORMATS),
            "chartable": page.chart_plan(config, viewer(request), name) is not None,
            "pledge": applications.PLEDGE,
            "feedback": interaction.feedback(config, name, viewer=viewer(request)),
            "showcases": interaction.showcases(config, dataset=name),
            "me": current_user(request),
        },
    )


@pages.get("/open/figures", response_class=HTMLResponse)
def figures_page(request: Request) -> HTMLResponse:
    config = _config(request)
    return _render(
        request,
        "open_figures.html",
        {
            "f": {**opendata.figures(config), **interaction.counts(config)},
            "plan": opendata.list_plan(config),
        },
    )


@pages.get("/open/plan", response_class=HTMLResponse)
def open_plan(request: Request, year: int | None = Query(None, ge=2000, le=2100)) -> HTMLResponse:
    return _render(
        request,
        "open_plan.html",
        {"plan": opendata.list_plan(_config(request), year), "labels": opendata.PLAN_STATUS},
    )


@pages.post("/open/datasets/{name}/apply")
def apply_form(
    request: Request,
    name: str,
    applicant_kind: str = Form("person"),
    organisation: str = Form(""),
    uscc: str = Form(""),
    contact: str = Form(""),
    purpose: str = Form(""),
    scenario: str = Form(""),
    period_end: str = Form(""),
    pledge_accepted: str = Form(""),
    signed_by: str = Form(""),
    csrf: str = Form(""),
) -> RedirectResponse:
    check_csrf(request, csrf)
    made = applications.apply(
        _config(request),
        name,
        {
            "applicant_kind": applicant_kind,
            "organisation": organisation,
            "uscc": uscc,
            "contact": contact,
            "purpose": purpose,
            "scenario": scenario,
            "period_end": period_end or None,
            "pledge": {"accepted": pledge_accepted == "yes", "signed_by": signed_by},
        },
        viewer=signed_in(request),
    )
    return RedirectResponse(f"/open/applications?sent={made['id']}", status_code=303)


@pages.get("/open/applications", response_class=HTMLResponse)
def applications_page(request: Request, sent: int | None = Query(None, ge=1, le=2**62)) -> Response:
    if current_user(request) is None:
        return RedirectResponse("/login?next=/open/applications", status_code=303)
    listing = applications.list_applications(_config(request), signed_in(request))
    return _render(
        request,
        "open_applications.html",
        {"listing": listing, "sent": sent, "key": None},
    )


@pages.post("/open/applications/{application_id}/decision")
def decision_form(
    request: Request,
    application_id: Id,
    approve: str = Form(...),
    reason: str = Form(""),
    csrf: str = Form(""),
) -> RedirectResponse:
    check_csrf(request, csrf)
    v = require(request, (OFFICER,), action="open.decide", resource=str(application_id))
    applications.decide(
        _config(request), application_id, approve=approve == "yes", viewer=v, reason=reason
    )
    return RedirectResponse("/open/applications", status_code=303)


@pages.post("/open/applications/{application_id}/key", response_class=HTMLResponse)
def key_form(request: Request, application_id: Id, csrf: str = Form("")) -> HTMLResponse:
    check_csrf(request, csrf)
    key = applications.issue_key(_config(request), application_id, viewer=signed_in(request))
    listing = applications.list_applications(_config(request), signed_in(request))
    return _render(
        request, "open_applications.html", {"listing": listing, "sent": None, "key": key}
    )


@pages.post("/open/keys/{key_id}/revoke")
def revoke_form(request: Request, key_id: Id, csrf: str = Form("")) -> RedirectResponse:
    check_csrf(request, csrf)
    applications.revoke_key(_config(request), key_id, viewer=signed_in(request))
    return RedirectResponse("/open/applications", status_code=303)


@pages.get("/open/external/{external_id}", response_class=HTMLResponse)
def external_page(request: Request, external_id: Id) -> HTMLResponse:
    return _render(
        request, "open_external.html", {"ext": harvest.get_external(_config(request), external_id)}
    )


@pages.get("/open/requests", response_class=HTMLResponse)
def requests_page(request: Request) -> HTMLResponse:
    config = _config(request)
    from shuhai.catalog import Catalog

    return _render(
        request,
        "open_requests.html",
        {
            "requests": interaction.list_requests(config),
            "labels": interaction.REQUEST_STATUS,
            "departments": Catalog(config).departments(),
        },
    )


@pages.post("/open/requests")
def request_form(
    request: Request,
    title: str = Form(""),
    description: str = Form(""),
    department: str = Form(""),
    csrf: str = Form(""),
) -> RedirectResponse:
    check_csrf(request, csrf)
    interaction.request_data(
        _config(request),
        {"title": title, "description": description, "department": department or None},
        viewer=signed_in(request),
    )
    return RedirectResponse("/open/requests?sent=1", status_code=303)


@pages.post("/open/requests/{request_id}/answer")
def answer_form(
    request: Request,
    request_id: Id,
    answer: str = Form(""),
    dataset: str = Form(""),
    decline: str = Form(""),
    csrf: str = Form(""),
) -> RedirectResponse:
    check_csrf(request, csrf)
    v = require(request, (OFFICER,), action="open.request_answer", resource=str(request_id))
    interaction.answer_request(
        _config(request),
        request_id,
        viewer=v,
        answer=answer,
        dataset=dataset or None,
        decline=decline == "yes",
    )
    return RedirectResponse("/open/requests", status_code=303)


@pages.post("/open/datasets/{name}/comments")
def comment_form(
    request: Request,
    name: str,
    text: str = Form(""),
    rating: str = Form(""),
    csrf: str = Form(""),
) -> RedirectResponse:
    check_csrf(request, csrf)
    rating = rating.strip()
    stars = (
        (int(rating) if rating.isascii() and rating.isdigit() and len(rating) < 3 else -1)
        if rating
        else None
    )
    interaction.comment(_config(request), name, viewer=signed_in(request), text=text, rating=stars)
    return RedirectResponse(f"/open/datasets/{name}?commented=1#feedback", status_code=303)


def _row_id(text: str) -> int | None:
    """A row's ``_id`` typed into a form: blank is none; anything but a whole number is refused."""
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        raise InvalidInput("open.bad_row", "行号应为整数 _id", "The row id is a whole number (_id)")
    return int(text)


@pages.post("/open/datasets/{name}/problems")
def problem_form(
    request: Request,
    name: str,
    text: str = Form(""),
    row_id: str = Form(""),
    item: str = Form(""),
    proposed_value: str = Form(""),
    csrf: str = Form(""),
) -> RedirectResponse:
    check_csrf(request, csrf)
    interaction.report_problem(
        _config(request),
        name,
        viewer=signed_in(request),
        text=text,
        row_id=_row_id(row_id),
        item=item or None,
        proposed_value=proposed_value or None,
    )
    return RedirectResponse(f"/open/datasets/{name}?reported=1#feedback", status_code=303)


@pages.post("/open/feedback/{feedback_id}/moderation")
def moderate_form(
    request: Request,
    feedback_id: Id,
    approve: str = Form(...),
    back: str = Form("/open"),
    csrf: str = Form(""),
) -> RedirectResponse:
    check_csrf(request, csrf)
    v = require(request, (OFFICER,), action="open.moderate", resource=str(feedback_id))
    interaction.moderate(_config(request), feedback_id, viewer=v, approve=approve == "yes")
    target = back if back.startswith("/open/") else "/open"
    return RedirectResponse(target + "#feedback", status_code=303)


@pages.get("/open/showcases", response_class=HTMLResponse)
def showcases_page(request: Request) -> HTMLResponse:
    return _render(
        request,
        "open_showcases.html",
        {"showcases": interaction.showcases(_config(request), viewer=viewer(request))},
    )


@pages.post("/open/showcases")
def showcase_form(
    request: Request,
    title: str = Form(""),
    description: str = Form(""),
    url: str = Form(""),
    datasets: str = Form(""),
    csrf: str = Form(""),
) -> RedirectResponse:
    check_csrf(request, csrf)
    interaction.submit_showcase(
        _config(request),
        {"title": title, "description": description, "url": url, "datasets": datasets},
        viewer=signed_in(request),
    )
    return RedirectResponse("/open/showcases?sent=1", status_code=303)


@pages.post("/open/showcases/{showcase_id}/review")
def review_form(
    request: Request, showcase_id: Id, approve: str = Form(...), csrf: str = Form("")
) -> RedirectResponse:
    check_csrf(request, csrf)
    interaction.review_showcase(
        _config(request), showcase_id, viewer=signed_in(request), approve=approve == "yes"
    )
    return RedirectResponse("/open/showcases", status_code=303)


@pages.post("/open/datasets/{name}/withdraw")
def withdraw_form(
    request: Request, name: str, reason: str = Form(...), csrf: str = Form("")
) -> RedirectResponse:
    check_csrf(request, csrf)
    v = require(request, (OFFICER,), action="open.withdraw", resource=name)
    opendata.withdraw(_config(request), name, viewer=v, reason=reason)
    return RedirectResponse("/open/datasets", status_code=303)


__all__ = ["api", "ckan_api", "pages"]
