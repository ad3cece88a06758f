"""The audit trail for the auditor (安全审计员): ``/audit`` and ``GET /api/v1/audit``, filtered by
user, department, resource, action, outcome and time. Only the auditor reads the trail (三员分立:
the platform admin and the security officer do not); reading it is itself recorded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from shuhai.access import audit
from shuhai.access.identity import AUDITOR
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.web.access import require

api = APIRouter(prefix="/api/v1")
pages = APIRouter(include_in_schema=False)
PAGE = 100


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


def _search(request: Request, filters: dict[str, Any], offset: int) -> list[dict[str, Any]]:
    v = require(request, (AUDITOR,), action="audit.read", resource="audit")
    config = _config(request)
    used = {k: val for k, val in filters.items() if val}
    audit.record(config, "audit.read", actor=v.name, resource="audit", detail=used)
    return audit.search(config, **used, limit=PAGE, offset=offset)


@dataclass
class Filters:
    """审计筛选 / what the auditor filters by (query parameters of the API and the page)."""

    actor: str | None = Query(None, max_length=100)
    department: str | None = Query(None, max_length=100)
    resource: str | None = Query(None, max_length=200)
    action: str | None = Query(None, max_length=60)
    outcome: str | None = Query(None, pattern="^(ok|refused|error|)$")
    since: str | None = Query(None, max_length=32, description="ISO 时间 / ISO time")
    until: str | None = Query(None, max_length=32)


@api.get("/audit", summary="审计日志 / the audit trail (auditor only)")
def entries(
    request: Request,
    filters: Filters = Depends(),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> dict[str, Any]:
    return {"items": _search(request, asdict(filters), offset), "offset": offset, "limit": PAGE}


@pages.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    filters: Filters = Depends(),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> HTMLResponse:
    items = _search(request, asdict(filters), offset)
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "audit.html",
        {
            "items": items,
            "filters": {k: v or "" for k, v in asdict(filters).items()},
            "offset": offset,
            "page": PAGE,
            "departments": Catalog(_config(request)).departments(),
        },
    )


__all__ = ["api", "pages"]
