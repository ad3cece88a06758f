"""Who is asking, for every route (访问主体): a signed-in user (session cookie, or the same session
token as ``Authorization: Bearer``), a department system (HMAC-SM3 signed request), or nobody.

Routes ask ``viewer`` and hand it to the policy point (``shuhai.access.policy.authorize``); routes
that change something ask ``require`` for a role (and the department that owns the thing).
Refusals are audited like reads.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Any

from fastapi import Request

from shuhai.access import audit, signing
from shuhai.access.identity import ADMIN, OFFICER, Unauthorized
from shuhai.access.policy import Viewer, record
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.errors import Forbidden, ShuhaiError
from shuhai.web.auth import current_user

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


def viewer(request: Request) -> Viewer:
    """The caller of this request. A signed GET is a department system; its signature, time
    and nonce are checked here (signed calls with a body go to ``/api/v1/share``)."""
    cached = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    user = current_user(request)
    if user is not None:
        v = Viewer("user", user["username"], user["department_id"], tuple(user["roles"]))
    elif "x-shuhai-appkey" in request.headers and request.method in SAFE_METHODS:
        v = signed_system(request, b"", refused="api.refused")
    elif key := open_key(request):
        from shuhai.open.applications import resolve_key

        found = resolve_key(_config(request), key)
        if found is None:
            record(_config(request), Viewer(), "open.key", "", outcome="refused", detail="bad_key")
            raise Unauthorized(
                "open.bad_key",
                "开放数据密钥无效、已撤销或已过期",
                "The open-data key is unknown, revoked or expired",
            )
        v = found
    else:
        v = Viewer()
    request.state.viewer = v
    return v


def open_key(request: Request) -> str | None:
    """A personal open-data key sent CKAN's way: ``X-CKAN-API-Key`` or a bare ``Authorization``."""
    key = request.headers.get("x-ckan-api-key") or request.headers.get("authorization", "")
    key = key.strip()
    return key if key.startswith("shk_") else None


def signed_system(request: Request, body: bytes, *, refused: str) -> Viewer:
    """The department system that signed this request (HMAC-SM3 over method, path, query,
    time, nonce and body); a refusal is audited under ``refused`` and raised (401)."""
    config = _config(request)
    try:
        caller = signing.verify_request(
            config,
            request.method,
            request.url.path,
            list(request.query_params.multi_items()),
            body,
            dict(request.headers),
            redis_url=config.redis_url,
        )
    except ShuhaiError as exc:
        audit.record(
            config,
            refused,
            actor=request.headers.get("x-shuhai-appkey", "anonymous")[:100],
            resource=request.url.path[:200],
            outcome="refused",
            detail=exc.code,
        )
        raise
    return Viewer(
        "system", caller["app_key"], caller["department_id"], scopes=tuple(caller["scopes"])
    )


def _check_csrf_header(request: Request) -> None:
    """Cookie-authenticated API writes carry the session's CSRF token in ``X-CSRF-Token``
    (bearer tokens and signatures cannot be sent by another site, cookies can)."""
    if request.method in SAFE_METHODS or request.headers.get("authorization"):
        return
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ) and not request.url.path.startswith("/api/"):
        return  # portal forms check their own ``csrf`` field
    user = current_user(request)
    token = request.headers.get("x-csrf-token", "")
    if user is not None and not (token and hmac.compare_digest(user["csrf"], token)):
        raise Forbidden(
            "auth.csrf",
            "缺少或错误的 X-CSRF-Token 请求头",
            "Missing or wrong X-CSRF-Token header",
        )


def require(
    request: Request,
    roles: Iterable[str] = (OFFICER,),
    *,
    department_id: int | None = None,
    action: str = "write",
    resource: str = "",
) -> Viewer:
    """A signed-in caller holding one of ``roles``; with ``department_id``, a member of that
    department (the platform admin passes for platform-wide configuration when listed)."""
    v = viewer(request)
    config = _config(request)
    wanted = set(roles)

    def refuse(exc: Exception) -> Exception:
        record(
            config,
            v,
            action,
            resource or request.url.path,
            outcome="refused",
            detail=getattr(exc, "code", ""),
        )
        return exc

    if v.kind == "anonymous":
        raise refuse(Unauthorized("auth.required", "请先登录", "Sign in first"))
    _check_csrf_header(request)
    held = set(v.roles) | ({OFFICER} if v.kind == "system" else set())
    if not held & wanted:
        raise refuse(
            Forbidden(
                "auth.role",
                "当前角色无权执行该操作",
                "Your role may not do this",
            )
        )
    platform_wide = ADMIN in held and ADMIN in wanted
    if department_id is not None and not platform_wide and v.department_id != department_id:
        raise refuse(
            Forbidden(
                "auth.other_department",
                "只能管理本部门的资源",
                "Only your own department's resources",
            )
        )
    return v


def note(
    request: Request,
    action: str,
    resource: str | int,
    *,
    outcome: str = "ok",
    detail: Any = None,
) -> None:
    """An audit entry for what this request's caller did or was refused."""
    record(_config(request), viewer(request), action, resource, outcome=outcome, detail=detail)


def owner_of(config: Config, rid: int) -> int:
    """The providing department of a resource (404 for an unknown one)."""
    return int(Catalog(config).get(rid)["department"]["id"])


def officer_of(request: Request, rid: int, action: str) -> None:
    """The providing department's data officer (or its system) changes a resource's rules,
    runs its checks and answers objections on it."""
    require(request, (OFFICER,), department_id=owner_of(_config(request), rid), action=action)


def actor(request: Request) -> str:
    """The signed-in user's or system's name, recorded in histories."""
    return signed_in(request).name


def signed_in(request: Request) -> Viewer:
    v = viewer(request)
    if v.kind == "anonymous":
        raise Unauthorized("auth.required", "请先登录", "Sign in first")
    return v


class AuditCalls:
    """ASGI middleware: every ``/api/`` call leaves one audit entry (method, path, status, who).
    The signed sharing API records its own calls (one entry each, with what was served), and the
    API's own documentation is not recorded."""

    SKIP = ("/api/v1/share/", "/api/v1/docs", "/api/v1/openapi.json")

    def __init__(self, app: Any, config: Config) -> None:
        self.app, self.config = app, config

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/api/") or path.startswith(self.SKIP):
            await self.app(scope, receive, send)
            return
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            v = (scope.get("state") or {}).get("viewer")
            if v is None:  # the route did not ask who called: ask now, for the record
                try:
                    v = viewer(Request(scope))
                except Exception:  # noqa: BLE001 - a refused signature is recorded as such
                    v = None
            record(
                self.config,
                v or Viewer(),
                "api.call",
                path,
                outcome="ok" if status < 400 else "refused" if status < 500 else "error",
                detail={"method": scope.get("method"), "status": status},
            )


__all__ = [
    "AuditCalls",
    "actor",
    "note",
    "officer_of",
    "owner_of",
    "require",
    "signed_in",
    "signed_system",
    "viewer",
]
