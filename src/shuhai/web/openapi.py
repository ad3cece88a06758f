"""The OpenAPI document as clients meet it: every operation declares the errors it can return
(400, 401, 403, 404, 409, 413, 422, 429) in the platform's one error shape, so a generated client
or a fuzzer knows every answer it may get."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

ERROR_SCHEMA = {
    "title": "Error",
    "description": "统一错误 / the platform's error shape",
    "type": "object",
    "required": ["ok", "code", "error", "errors", "status"],
    "properties": {
        "ok": {"type": "boolean", "const": False},
        "code": {"type": "string", "description": "稳定的错误码 / stable machine code"},
        "error": {"type": "string", "description": "中文 / English"},
        "errors": {"type": "array", "items": {"type": "object"}},
        "status": {"type": "integer"},
    },
}
# CKAN's own envelope, which the CKAN-compatible Action API answers in (its clients expect it)
CKAN_SCHEMA = {
    "title": "CkanResponse",
    "description": "CKAN 兼容响应 / CKAN's response envelope",
    "type": "object",
    "required": ["help", "success"],
    "properties": {
        "help": {"type": "string"},
        "success": {"type": "boolean"},
        "result": {},
        "error": {
            "type": "object",
            "required": ["__type", "message"],
            "properties": {"__type": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}
CKAN_STATUSES = {
    "200": "成功 / success",
    "403": "Authorization Error",
    "404": "Not Found Error",
    "409": "Validation Error / Search Query Error",
    "429": "Rate Limit Error",
}
ERRORS = {
    "400": "请求错误 / Bad request",
    "401": "未登录或签名无效 / Not signed in, or a bad signature",
    "403": "无权访问 / Not entitled",
    "404": "不存在 / Not found",
    "409": "与已有数据冲突 / Conflicts with what is stored",
    "413": "请求体过大 / Request body too large",
    "422": "参数无效 / Invalid parameters",
    "429": "过于频繁 / Too many requests",
}


DOCS_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>接口文档 API · 数海 Shuhai</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/swagger/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<noscript>接口文档需要 JavaScript；机器可读的文档见 /api/v1/openapi.json / The docs need JavaScript;
the machine-readable document is /api/v1/openapi.json</noscript>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/swagger/init.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one that adds the error responses to every operation, and
    serve the docs page from the vendored Swagger UI (``/static/swagger``: works offline)."""

    @app.get("/api/v1/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas["Error"] = ERROR_SCHEMA
        schemas["CkanResponse"] = CKAN_SCHEMA
        ref = {"$ref": "#/components/schemas/Error"}
        ckan = {"$ref": "#/components/schemas/CkanResponse"}
        for ops in doc.get("paths", {}).values():
            for op in ops.values():
                if "ckan" in op.get("tags", []):
                    op["responses"] = {
                        code: {
                            "description": text,
                            "content": {"application/json": {"schema": ckan}},
                        }
                        for code, text in CKAN_STATUSES.items()
                    }
                    continue
                responses = op.setdefault("responses", {})
                for code, text in ERRORS.items():
                    responses[code] = {
                        "description": text,
                        "content": {"application/json": {"schema": ref}},
                    }
        schemas.pop("HTTPValidationError", None)  # 422 answers in the error shape above
        schemas.pop("ValidationError", None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["ERRORS", "install"]
