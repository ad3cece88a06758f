"""Web hygiene on every response and request (安全响应头与跨站请求伪造防护).

- Security headers: a Content-Security-Policy without inline script (``'self'`` only, the
  portal's scripts are static files), ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``,
  ``nosniff``, ``Referrer-Policy: same-origin``.
- ``Cache-Control: no-store`` on every page and API answer (they may hold personal data);
  vendored static files are cached for a day.
- CSRF: every state-changing request authenticated by the session cookie carries the session's
  token, in ``X-CSRF-Token`` (scripts) or the form field ``csrf`` (portal forms). Bearer tokens
  and signed calls need none: another site cannot make a browser send them.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Request

from shuhai.errors import Forbidden
from shuhai.web.auth import COOKIE, current_user

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
NO_CSRF = ("/login", "/api/v1/sessions")  # no session yet: nothing another site could ride


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = CSP  # the API docs too: Swagger UI is vendored, with no inline script
        cache = b"public, max-age=86400" if path.startswith("/static/") else b"no-store"

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"cache-control", b"content-security-policy")
                ]
                headers += HEADERS
                headers.append((b"content-security-policy", csp.encode()))
                headers.append((b"cache-control", cache))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


async def csrf_guard(request: Request) -> None:
    """A global dependency: refuse a cookie-authenticated change without the session's token."""
    if request.method in SAFE_METHODS or request.url.path in NO_CSRF:
        return
    if request.headers.get("authorization") or "x-shuhai-appkey" in request.headers:
        return
    if COOKIE not in request.cookies:
        return
    user = current_user(request)
    if user is None:
        return  # an expired cookie: the route answers 401 itself
    token = request.headers.get("x-csrf-token", "")
    if not token and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # cached: the route reads the same form
        token = str(form.get("csrf") or "")
    if not (token and hmac.compare_digest(str(user["csrf"]), token)):
        raise Forbidden(
            "auth.csrf",
            "缺少或错误的跨站令牌（X-CSRF-Token 请求头或表单 csrf 字段），请刷新页面后重试",
            "Missing or wrong CSRF token (X-CSRF-Token header or form field csrf); reload and retry",
        )


__all__ = ["CSP", "SecurityHeaders", "csrf_guard"]
