"""The public portal's pages and the open REST API as a browser or a script meets them:
right status codes, no server paths, no traceback."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shuhai.web.app import create_app
from tests.conftest import signed_client

NAME = "204001-hb-00001"


@pytest.fixture
def anon(config, city) -> TestClient:
    return TestClient(create_app(config), raise_server_exceptions=False)


def test_the_public_lands_on_the_open_portal(anon: TestClient, config) -> None:
    r = anon.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/open"
    home = anon.get("/open")
    assert home.status_code == 200 and "公共数据开放平台" in home.text
    assert str(config.home) not in home.text and "sqlite:" not in home.text
    assert "环境空气质量日报" in home.text


def test_the_portal_has_an_icon(anon: TestClient) -> None:
    assert 'rel="icon"' in anon.get("/open").text
    icon = anon.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_search_page_and_dataset_page(anon: TestClient) -> None:
    found = anon.get("/open/datasets", params={"q": "空气"})
    assert found.status_code == 200 and "<mark>环境空气质量</mark>日报" in found.text
    page = anon.get(f"/open/datasets/{NAME}")
    assert page.status_code == 200
    for part in ("字段", "数据预览", "datastore_search", "下载 CSV", "版本历史", "138****8000"):
        assert part in page.text, part
    assert "13800138000" not in page.text  # masked for the public
    assert anon.get("/open/datasets/nope").status_code == 404
    assert anon.get("/open/datasets/203001-rs-00001").status_code == 404  # open, not published
    assert anon.get("/open/plan").status_code == 200
    figures = anon.get("/open/figures")
    assert (
        figures.status_code == 200 and "按期更新" in figures.text and "需求已答复" in figures.text
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/open/datasets?q=" + "x" * 10_000, 200),
        ("/open/datasets?sort=random()", 422),
        ("/open/datasets?page=0", 422),
        ("/api/v1/open/datasets?limit=5000", 422),
        ("/api/v1/open/datasets?department=%3Cscript%3E", 200),
        (f"/api/v1/open/datasets/{NAME}/download.exe", 422),
        (f"/api/v1/open/datasets/{NAME}/download.csv?version=-1", 422),
        (f"/api/v1/open/datasets/{NAME}/preview?limit=1000", 422),
        ("/api/v1/open/downloads/%2e%2e%2fetc", 404),
        ("/api/v1/open/plan?year=99999", 422),
        ("/api/v1/open/applications", 401),
        ("/open/applications", 303),
    ],
)
def test_bad_requests_get_clear_answers(anon: TestClient, path: str, status: int) -> None:
    r = anon.get(path, follow_redirects=False)
    assert r.status_code == status, r.text[:300]
    assert "Traceback" not in r.text


def test_applications_page_for_the_public_and_for_an_officer(config, city) -> None:
    app = create_app(config)
    citizen = signed_client(app, config, "citizen", ["public"], None)
    r = citizen.get("/open/applications")
    assert r.status_code == 200 and "我的申请" in r.text and "我的密钥" in r.text
    officer = signed_client(app, config, "hb_officer", ["officer"], "HB")
    r = officer.get("/open/applications")
    assert r.status_code == 200 and "待本部门审核" in r.text


def test_publishing_through_the_api_is_for_the_owning_officer(config, city) -> None:
    app = create_app(config)
    body = {"resource": "203001/RS-00001", "keywords": ["养老"]}
    assert TestClient(app).post("/api/v1/open/datasets", json=body).status_code == 401
    other = signed_client(app, config, "hb_officer", ["officer"], "HB")
    assert other.post("/api/v1/open/datasets", json=body).status_code == 403
    own = signed_client(app, config, "rs_officer", ["officer"], "RS")
    r = own.post("/api/v1/open/datasets", json=body)
    assert r.status_code == 201 and r.json()["name"] == "203001-rs-00001"
    bad = own.post("/api/v1/open/datasets", json={**body, "theme": "火星"})
    assert bad.status_code == 422 and bad.json()["code"] == "open.unknown_theme"
    gone = own.post("/api/v1/open/datasets/203001-rs-00001/withdraw", json={"reason": "核查"})
    assert gone.status_code == 200
    assert TestClient(app).get("/api/v1/open/datasets/203001-rs-00001").status_code == 404


def test_the_open_api_limits_each_address(config, city, monkeypatch) -> None:
    from shuhai.web import open as web_open

    monkeypatch.setattr(web_open, "ANONYMOUS_CALLS_PER_MINUTE", 5)
    client = TestClient(create_app(config), raise_server_exceptions=False)
    codes = [client.get("/api/v1/open/datasets").status_code for _ in range(8)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3
    ckan = client.get("/api/3/action/package_list")
    assert ckan.status_code == 429 and ckan.json()["error"]["__type"] == "Rate Limit Error"


def test_the_open_api_limits_count_in_redis_when_configured(
    tmp_path, city, redis_url, monkeypatch
) -> None:
    from shuhai.config import Config
    from shuhai.platform import open_home
    from shuhai.web import open as web_open

    shared = open_home(Config.from_env({"SHUHAI_REDIS_URL": redis_url}, home=str(tmp_path / "r")))
    monkeypatch.setattr(web_open, "ANONYMOUS_CALLS_PER_MINUTE", 3)
    first, second = (TestClient(create_app(shared)) for _ in range(2))
    codes = [c.get("/api/v1/open/datasets").status_code for c in (first, second, first, second)]
    assert codes == [200, 200, 200, 429]
    import redis

    counted = redis.Redis.from_url(redis_url).keys("shuhai:limit:*open:addr:*")
    assert counted  # the count lives in Redis, where every server process reads it


def test_a_person_signs_up_as_public_and_nothing_more(config, city) -> None:
    client = TestClient(create_app(config), raise_server_exceptions=False)
    assert "公众注册" in client.get("/register").text
    r = client.post(
        "/register",
        data={
            "username": "lisi",
            "password": "abc1234567",
            "display_name": "李四",
            "next": "/open/applications",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/open/applications"
    me = client.get("/api/v1/me").json()
    assert me["roles"] == ["public"] and me["department_id"] is None
    client.cookies.clear()  # (signed in, a form without the session's CSRF token is refused)
    weak = client.post("/register", data={"username": "wangwu", "password": "short"})
    assert weak.status_code == 422 and "密码至少 10 位" in weak.text
    taken = client.post("/register", data={"username": "lisi", "password": "abc1234567"})
    assert taken.status_code == 409
    # the form takes no role or department: extra fields are ignored
    client.cookies.clear()
    extra = client.post(
        "/register",
        data={
            "username": "zhaoliu",
            "password": "abc1234567",
            "roles": "admin",
            "department": "HB",
        },
        follow_redirects=False,
    )
    assert extra.status_code == 303
    from shuhai.access.identity import list_users

    made = {u["username"]: u for u in list_users(config)}
    assert made["zhaoliu"]["roles"] == ["public"] and made["zhaoliu"]["department_id"] is None


def test_sign_ups_are_limited_per_address(config, city, monkeypatch) -> None:
    from shuhai.access import identity

    monkeypatch.setattr(identity, "SIGNUPS_PER_HOUR", 2)
    client = TestClient(create_app(config), raise_server_exceptions=False)
    codes = []
    for i in range(3):
        client.cookies.clear()  # each sign-up from a browser that is not signed in
        r = client.post(
            "/register",
            data={"username": f"u{i}", "password": "abc1234567"},
            follow_redirects=False,
        )
        codes.append(r.status_code)
    assert codes == [303, 303, 429]


HOSTILE = [
    "",
    "x" * 6000,
    "<script>alert(1)</script>",
    "'; DROP TABLE open_datasets; --",
    "\x00",
    "-1",
    "9" * 30,
]


@pytest.mark.parametrize("who", ["citizen", "officer"])
def test_every_open_form_answers_hostile_input_without_a_500(config, city, who) -> None:
    app = create_app(config)
    client = (
        signed_client(app, config, "citizen", ["public"], None)
        if who == "citizen"
        else signed_client(app, config, "hb_officer", ["officer"], "HB")
    )
    forms = {
        f"/open/datasets/{NAME}/apply": [
            "applicant_kind",
            "organisation",
            "uscc",
            "purpose",
            "scenario",
            "period_end",
            "pledge_accepted",
            "signed_by",
        ],
        "/open/datasets/nope/apply": ["purpose"],
        "/open/requests": ["title", "description", "department"],
        "/open/requests/1/answer": ["answer", "dataset", "decline"],
        "/open/requests/999999/answer": ["answer"],
        f"/open/datasets/{NAME}/comments": ["text", "rating"],
        f"/open/datasets/{NAME}/problems": ["text", "row_id", "item", "proposed_value"],
        "/open/feedback/999999/moderation": ["approve", "back"],
        "/open/showcases": ["title", "description", "url", "datasets"],
        "/open/showcases/999999/review": ["approve"],
        "/open/applications/999999/decision": ["approve", "reason"],
        "/open/applications/999999/key": [],
        "/open/keys/999999/revoke": [],
    }
    seen = []
    for path, fields in forms.items():
        for value in HOSTILE:
            r = client.post(path, data=dict.fromkeys(fields, value), follow_redirects=False)
            seen.append((path, r.status_code))
            assert r.status_code < 500, (path, value[:20], r.text[:300])
            assert "Traceback" not in r.text
    assert {code for _p, code in seen} <= {303, 401, 403, 404, 409, 422}, seen
    # after the barrage a proper form still goes through
    ok = client.post(
        f"/open/datasets/{NAME}/comments",
        data={"text": "好", "rating": "5"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    # nothing already stored was lost: the dataset is still there for the public
    assert TestClient(app).get(f"/api/v1/open/datasets/{NAME}").status_code == 200
    for value in HOSTILE:  # last: the owning officer's withdrawal, whatever the reason says
        r = client.post(
            f"/open/datasets/{NAME}/withdraw", data={"reason": value}, follow_redirects=False
        )
        assert r.status_code < 500 and "Traceback" not in r.text
