"""FastAPI application: the portal (Jinja2 + HTMX, Chinese first) and the JSON API."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.gzip import GZipMiddleware

from shuhai.access import audit as trail
from shuhai.config import Config
from shuhai.demo.accounts import DEMO_PASSWORD
from shuhai.platform import open_home
from shuhai.web import (
    access,
    applications,
    audit,
    auth,
    bases,
    catalog,
    data,
    errors,
    grading,
    hygiene,
    objections,
    open,
    openapi,
    pages,
    quality,
    share,
    todo,
)

HERE = Path(__file__).parent


def create_app(config: Config | None = None) -> FastAPI:
    """Build the app; migrations are applied here, at server start."""
    config = open_home(config)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # What start-up made (modules, the app, caches) lives as long as the process: out of
        # the collector's sight, a full collection no longer walks a million objects and
        # stalls every request in flight for tens of milliseconds.
        gc.collect()
        gc.freeze()
        yield
        trail.flush(config, anchor=True)  # the last requests reach the trail, signed, before exit

    app = FastAPI(
        lifespan=lifespan,
        title="数海 Shuhai API",
        description="政务数据平台接口 / Government data platform API",
        version="0.1.0",
        docs_url=None,  # served by openapi.docs from the vendored Swagger UI (works offline)
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
        dependencies=[Depends(hygiene.csrf_guard)],
    )
    app.state.config = config
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["demo_mode"] = config.demo_mode
    templates.env.globals["demo_password"] = DEMO_PASSWORD if config.demo_mode else ""
    templates.env.globals["current_user"] = auth.current_user
    templates.env.globals["todo_count"] = todo.nav_count
    templates.env.filters["num"] = lambda v: (
        f"{v:,}" if isinstance(v, int) else ("" if v is None else v)
    )
    app.state.templates = templates
    # static files compressed (ECharts: 1 MB → about 340 KB on the wire) and cached a day
    static = GZipMiddleware(StaticFiles(directory=str(HERE / "static")), minimum_size=1024)
    app.mount("/static", static, name="static")
    errors.install(app)
    openapi.install(app)
    app.add_middleware(access.AuditCalls, config=config)
    app.add_middleware(hygiene.SecurityHeaders)
    # the sharing API first: routes are matched in order, and its keyed lookups are the
    # platform's busiest calls (each route tried before them costs every request a match)
    app.include_router(share.router)
    app.include_router(catalog.router)
    app.include_router(data.router)
    app.include_router(quality.router)
    app.include_router(objections.router)
    app.include_router(auth.router)
    app.include_router(applications.api)
    app.include_router(applications.pages)
    app.include_router(audit.api)
    app.include_router(audit.pages)
    app.include_router(grading.api)
    app.include_router(grading.pages)
    app.include_router(bases.api)
    app.include_router(bases.pages)
    app.include_router(open.api)
    app.include_router(open.ckan_api)
    app.include_router(open.pages)
    app.include_router(todo.api)
    app.include_router(todo.pages)
    app.include_router(pages.router)
    return app


__all__ = ["create_app"]
