"""Web hygiene: security headers and no-store on every answer, the CSRF token on every change
a session cookie makes (every state-changing route, from the route table), and hostile input
that once gave 500s."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from shuhai.config import Config
from shuhai.quality.corrections import raise_objection
from shuhai.web.hygiene import NO_CSRF
from tests.conftest import session_token

CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def cookie_client(app: FastAPI, config: Config) -> TestClient:
    """A browser: signed in by the session cookie only (no Authorization header)."""
    client = TestClient(app, raise_server_exceptions=False)
    client.cookies.set("shuhai_session", session_token(config, "browser", ["officer"], "GA"))
    return client


def api_routes(routes: list) -> list[APIRoute]:
    """Every route of the app, included routers walked (FastAPI wraps them)."""
    out = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):
            out += api_routes(r.original_router.routes)
    return out


def _path(route: APIRoute) -> str:
    return re.sub(r"\{[^}]+\}", "1", route.path)


@pytest.mark.parametrize(
    "path", ["/", "/catalog", "/api/v1/resources", "/api/v1/resources/1/data", "/nowhere"]
)
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    h = r.headers
    assert "script-src 'self';" in h["content-security-policy"]
    assert "unsafe-inline" not in h["content-security-policy"].split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert h["x-frame-options"] == "DENY"
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "same-origin"
    assert h["cache-control"] == "no-store"


def test_static_files_are_cached_and_pages_have_no_inline_script(client: TestClient) -> None:
    assert "max-age" in client.get("/static/htmx.min.js").headers["cache-control"]
    for page in ("/", "/catalog", "/quality", "/resources/1", "/share"):
        html = client.get(page).text
        inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
        assert inline == [], page


def test_every_state_change_by_cookie_needs_the_csrf_token(
    app: FastAPI, config: Config, client: TestClient
) -> None:
    browser = cookie_client(app, config)
    routes = [
        (m, r)
        for r in api_routes(app.routes)
        for m in r.methods & CHANGING
        if r.path not in NO_CSRF
    ]
    assert len(routes) > 20  # the table is read, not a list kept by hand
    missed = []
    for method, route in routes:
        r = browser.request(method, _path(route), json={})
        said = r.json().get("code") if "json" in r.headers["content-type"] else r.text
        if r.status_code != 403 or "auth.csrf" not in said and "跨站令牌" not in said:
            missed.append((method, route.path, r.status_code))
    assert missed == []
    # with the token, the same browser gets past the check (here: to the route's own answer)
    token = client.get("/api/v1/me")  # (bearer) — the cookie session's token is on its pages
    assert token.status_code == 200
    page = browser.get("/").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    r = browser.post("/api/v1/resources/1/objections", json={}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422  # the body is checked now, not the token


def test_hostile_attachment_names_are_refused(
    client: TestClient, config: Config, loaded: dict
) -> None:
    o = raise_objection(
        config,
        loaded["id"],
        {"key": {"身份证号": "110101199001011234"}, "item": "姓名", "reason": "姓名有误"},
        actor="ga_officer",
    )
    for name in ("..", ".htaccess", "../..", "..."):
        r = client.post(f"/api/v1/objections/{o['id']}/attachment", files={"file": (name, b"data")})
        assert r.status_code == 422, (name, r.status_code, r.text)
        assert r.json()["code"] == "objection.bad_attachment_name"
    # only the last part of a path is kept
    r = client.post(f"/api/v1/objections/{o['id']}/attachment", files={"file": ("../../x", b"1")})
    assert r.status_code == 200 and r.json()["attachment"] == "x"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/runs/99999999999999999999",
        "/api/v1/objections/99999999999999999999",
        "/api/v1/quality/99999999999999999999",
        "/api/v1/comparisons/99999999999999999999/runs/1",
        "/api/v1/resources/99999999999999999999",
        "/api/v1/runs/0",
        "/api/v1/runs/-1",
        "/api/v1/runs/%C2%B3",
        "/api/v1/departments/%C2%B3",
        "/api/v1/departments/99999999999999999999",
        "/api/v1/resources?department=%C2%B9",
        "/api/v1/objections?resource=99999999999999999999",
        "/api/v1/resources/1/data?offset=99999999999999999999",
    ],
)
def test_ids_out_of_range_are_4xx_never_500(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
    assert r.json()["ok"] is False
