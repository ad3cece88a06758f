"""One error shape for the API and one error page for HTML, declared once."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shuhai.errors import ShuhaiError

log = logging.getLogger(__name__)


def error_body(
    code: str, zh: str, en: str, status: int, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "ok": False,
        "code": code,
        "error": f"{zh} / {en}",
        "errors": errors or [],
        "status": status,
    }


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def _render(request: Request, body: dict[str, Any]) -> Response:
    if _wants_json(request):
        return JSONResponse(body, status_code=body["status"])
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"error": body}, status_code=body["status"]
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ShuhaiError)
    async def shuhai_error(request: Request, exc: ShuhaiError) -> Response:
        if exc.status == 401 and request.method == "GET" and not _wants_json(request):
            # a page that needs a signed-in user: to the sign-in page, and back afterwards
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return _render(request, exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "field": ".".join(
                    str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")
                ),
                "error": e.get("msg", ""),
            }
            for e in exc.errors()
        ]
        return _render(
            request,
            error_body(
                "request.invalid", "请求参数无效", "Invalid request parameters", 422, errors
            ),
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            body = error_body("not_found", "页面或接口不存在", "Not found", 404)
        elif exc.status_code == 405:
            body = error_body("method_not_allowed", "不支持该请求方法", "Method not allowed", 405)
        else:
            body = error_body("http_error", str(exc.detail), str(exc.detail), exc.status_code)
        return _render(request, body)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return _render(
            request,
            error_body(
                "internal", "服务器内部错误，已记录", "Internal error; it has been logged", 500
            ),
        )


__all__ = ["error_body", "install"]
