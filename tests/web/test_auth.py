"""Sign-in over HTTP: the cookie's flags, who am I, refusals and lockout as pages, CSRF on sign-out,
the second factor for platform roles, and an audit entry for every attempt."""

from __future__ import annotations

import pyotp
import pytest
from fastapi.testclient import TestClient

from shuhai.access import audit
from shuhai.access import identity as idn
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.web.app import create_app


@pytest.fixture
def client(config: Config) -> TestClient:
    Catalog(config).add_department({"name": "市公安局", "code": "GA"})
    idn.add_user(config, "ga_user", "Correct1horse", roles=["user"], department="GA")
    return TestClient(create_app(config), raise_server_exceptions=False)


def test_sign_in_sets_a_strict_httponly_cookie(client: TestClient, config: Config) -> None:
    r = client.post(
        "/login",
        data={"username": "ga_user", "password": "Correct1horse", "next": "/catalog"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/catalog"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    me = client.get("/api/v1/me").json()
    assert me["username"] == "ga_user" and "csrf" not in me
    assert "ga_user" in client.get("/").text  # the header names who is signed in
    audit.flush(config)
    assert audit.search(config, actor="ga_user", action="login")[0]["outcome"] == "ok"


def test_refusals_are_pages_and_are_audited(client: TestClient, config: Config) -> None:
    r = client.post("/login", data={"username": "ga_user", "password": "wrong-password-1"})
    assert r.status_code == 401 and "密码" in r.text
    assert client.get("/api/v1/me").status_code == 401
    for _ in range(4):
        client.post("/login", data={"username": "ga_user", "password": "wrong-password-1"})
    r = client.post("/login", data={"username": "ga_user", "password": "Correct1horse"})
    assert r.status_code == 429 and "秒后再试" in r.text  # slowed down, not locked
    audit.flush(config)
    assert len(audit.search(config, actor="ga_user", action="login")) == 6
    assert client.post("/login", data={"username": "x" * 65, "password": "p"}).status_code == 422


def test_sign_out_needs_the_csrf_token(client: TestClient) -> None:
    client.post("/login", data={"username": "ga_user", "password": "Correct1horse"})
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert client.get("/api/v1/me").status_code == 200  # still signed in
    page = client.get("/").text
    token = page.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_platform_roles_sign_in_with_a_one_time_code(client: TestClient, config: Config) -> None:
    created = idn.add_user(config, "auditor1", "Correct1horse", roles=["auditor"])
    secret = pyotp.parse_uri(created["totp_uri"]).secret
    r = client.post("/login", data={"username": "auditor1", "password": "Correct1horse"})
    assert r.status_code == 401
    r = client.post(
        "/login",
        data={
            "username": "auditor1",
            "password": "Correct1horse",
            "totp": pyotp.TOTP(secret).now(),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get("/api/v1/me").json()["roles"] == ["auditor"]


def test_open_redirects_are_refused(client: TestClient) -> None:
    r = client.post(
        "/login",
        data={"username": "ga_user", "password": "Correct1horse", "next": "//evil.example"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"
