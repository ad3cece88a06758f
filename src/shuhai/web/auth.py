"""Sign-in and sign-out (登录与退出): the session cookie (HttpOnly, SameSite=Strict, Secure when
served over HTTPS), the CSRF token forms carry, and who is asking for each request.

Every login attempt, success or refusal, is written to the audit trail.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from shuhai.access import audit
from shuhai.access import identity as idn
from shuhai.config import Config
from shuhai.errors import Forbidden, ShuhaiError

COOKIE = "shuhai_session"
router = APIRouter()


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


def current_user(request: Request) -> dict[str, Any] | None:
    """The signed-in user of this request (None for anonymous callers)."""
    cached = getattr(request.state, "user", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    token = request.cookies.get(COOKIE)
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        token = bearer[7:].strip()
    user = idn.session_user(_config(request), token)
    request.state.user = user
    return user


def check_csrf(request: Request, token: str | None) -> None:
    """Forms of a signed-in user carry the session's CSRF token. A request authenticated by
    ``Authorization: Bearer`` needs none: another site cannot make a browser send that header."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        if current_user(request) is None:
            raise idn.Unauthorized("auth.required", "未登录", "Not signed in")
        return
    user = current_user(request)
    if user is None or not token or not hmac.compare_digest(user["csrf"], token):
        raise Forbidden(
            "auth.csrf", "表单已失效，请刷新页面后重试", "The form expired; reload and try again"
        )


def _address(request: Request) -> str | None:
    """The caller's address, for sign-in throttling (the proxy's when behind one)."""
    return request.client.host if request.client else None


def _signed_in(request: Request, session: dict[str, Any], next: str, default: str) -> Response:
    """Back to where the user was going (a local path only), with the session cookie set."""
    target = next if next.startswith("/") and not next.startswith("//") else default
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        session["token"],
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=int(idn.SESSION_TTL.total_seconds()),
    )
    return response


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/todo") -> HTMLResponse:
    """Signing in lands on 我的待办 unless the user was on their way somewhere."""
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request, "login.html", {"next": next if next.startswith("/") else "/todo", "error": None}
    )


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    username: str = Form(..., max_length=64),
    password: str = Form(..., max_length=200),
    totp: str = Form("", max_length=10),
    next: str = Form("/"),
) -> Response:
    config = _config(request)
    try:
        session = idn.login(config, username, password, totp or None, address=_address(request))
    except ShuhaiError as exc:
        audit.record(config, "login", actor=username, outcome="refused", detail=exc.code)
        return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
            request,
            "login.html",
            {"next": next, "error": exc.message},
            status_code=exc.status,
        )
    audit.record(config, "login", actor=username, outcome="ok")
    return _signed_in(request, session, next, "/")


@router.get("/register", response_class=HTMLResponse, include_in_schema=False)
def register_page(request: Request, next: str = "/open") -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request, "register.html", {"next": next if next.startswith("/") else "/open", "error": None}
    )


@router.post("/register", include_in_schema=False)
def register(
    request: Request,
    username: str = Form(..., max_length=64),
    password: str = Form(..., max_length=200),
    display_name: str = Form("", max_length=100),
    next: str = Form("/open"),
) -> Response:
    """公众注册 / a person or an enterprise makes a public account, and is signed in."""
    config = _config(request)
    try:
        idn.register_public(
            config, username, password, display_name=display_name, address=_address(request)
        )
        session = idn.login(config, username, password, None, address=_address(request))
    except ShuhaiError as exc:
        audit.record(config, "register", actor=username, outcome="refused", detail=exc.code)
        return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
            request,
            "register.html",
            {"next": next, "error": exc.message, "username": username},
            status_code=exc.status,
        )
    audit.record(config, "register", actor=username, outcome="ok")
    return _signed_in(request, session, next, "/open")


@router.post("/logout", include_in_schema=False)
def logout(request: Request, csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    user = current_user(request)
    idn.logout(_config(request), request.cookies.get(COOKIE))
    audit.record(_config(request), "logout", actor=(user or {}).get("username", "anonymous"))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response


class SessionIn(BaseModel):
    """登录 / sign in from a script: the token goes in ``Authorization: Bearer``."""

    username: str = Field(..., max_length=64)
    password: str = Field(..., max_length=200)
    totp: str | None = Field(None, max_length=10)


@router.post("/api/v1/sessions", status_code=201, summary="登录取得令牌 / sign in, get a token")
def create_session(request: Request, body: SessionIn) -> dict[str, Any]:
    config = _config(request)
    try:
        session = idn.login(
            config, body.username, body.password, body.totp, address=_address(request)
        )
    except ShuhaiError as exc:
        audit.record(config, "login", actor=body.username, outcome="refused", detail=exc.code)
        raise
    audit.record(config, "login", actor=body.username, outcome="ok", detail="api")
    return {
        "token": session["token"],
        "expires_in": int(idn.SESSION_TTL.total_seconds()),
        "user": session["user"],
    }


@router.delete("/api/v1/sessions", status_code=204, summary="退出 / end this token's session")
def end_session(request: Request) -> Response:
    bearer = request.headers.get("authorization", "")
    if not bearer.lower().startswith("bearer "):
        raise idn.Unauthorized("auth.required", "未登录", "Not signed in")
    user = current_user(request)
    idn.logout(_config(request), bearer[7:].strip())
    audit.record(_config(request), "logout", actor=(user or {}).get("username", "anonymous"))
    return Response(status_code=204)


@router.get("/api/v1/me", summary="当前用户 / who is signed in")
def me(request: Request) -> dict[str, Any]:
    user = current_user(request)
    if user is None:
        raise idn.Unauthorized("auth.required", "未登录", "Not signed in")
    return {k: v for k, v in user.items() if k != "csrf"}


__all__ = ["COOKIE", "check_csrf", "current_user", "router"]
