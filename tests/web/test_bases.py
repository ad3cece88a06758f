"""Base databases over HTTP: profiles behind the setting, review decisions, licence verification,
bad input as clear 4xx, and a failed build that leaves the last good one readable."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shuhai.config import Config
from shuhai.demo import build_demo
from shuhai.demo.bases import PERSONS
from shuhai.entities import linking
from shuhai.entities.build import build_base
from shuhai.web.app import create_app


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Config:
    config = Config.from_env({}, home=str(tmp_path_factory.mktemp("bases") / "home"))
    build_demo(config, persons=1500, seed=5)
    return config


@pytest.fixture
def client(demo_home: Config) -> TestClient:
    return TestClient(create_app(demo_home), raise_server_exceptions=False)


def test_profiles_are_served_in_the_demo(client: TestClient) -> None:
    files = client.get("/api/v1/bases/人口基础库/files", params={"limit": 5}).json()
    assert files["total"] > 1000
    fid = files["items"][0]["file_id"]
    p = client.get(f"/api/v1/bases/人口基础库/files/{fid}").json()
    assert p["golden"] and p["sources"] and p["timeline"]
    page = client.get(f"/bases/人口基础库/files/{fid}")
    assert page.status_code == 200 and "一人一档" in page.text and "时间线" in page.text


def test_profiles_are_refused_when_the_setting_is_off(demo_home: Config) -> None:
    off = Config.from_env({}, home=str(demo_home.home))
    app = create_app(off)
    app.state.config.profiles = False  # what a non-demo instance has by default
    c = TestClient(app, raise_server_exceptions=False)
    r = c.get("/api/v1/bases/人口基础库/files")
    assert r.status_code == 403 and r.json()["code"] == "entities.profiles_off"
    assert c.get("/api/v1/bases/人口基础库/files/P00000001").status_code == 403
    page = c.get("/bases/人口基础库")
    assert page.status_code == 200 and "未开启" in page.text  # the overview is still there
    assert c.get("/api/v1/licences/NOPE").status_code == 200  # verification discloses nothing


def test_unknown_things_are_404(client: TestClient) -> None:
    for url in (
        "/api/v1/bases/不存在",
        "/api/v1/bases/不存在/files",
        "/api/v1/bases/人口基础库/files/P99999999",
        "/api/v1/bases/人口基础库/reviews/99999",
    ):
        r = client.get(url)
        assert r.status_code == 404, url
        assert r.json()["ok"] is False and " / " in r.json()["error"]
    r = client.post("/api/v1/bases/人口基础库/reviews/99999", json={"decision": "accept"})
    assert r.status_code == 404


def test_bad_configs_are_422_and_nothing_is_saved(client: TestClient) -> None:
    before = client.get("/api/v1/bases/人口基础库").json()
    bad = {
        "config": {
            "name": "人口基础库",
            "members": [
                {"resource": "不存在的资源", "id": "身份证号"},
                {"resource": "常住人口基本信息", "id": "证件号码", "attributes": {"姓名": "名字"}},
                {"resource": "参保人员信息", "id": "身份证号", "attributes": {"姓名": "姓名"}},
            ],
            "authority": [
                {"attribute": "姓名", "resource": "常住人口基本信息"},
                {"attribute": "姓名", "resource": "参保人员信息"},
            ],
        }
    }
    r = client.put("/api/v1/bases", json=bad)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {
        "members[0].resource",
        "members[1].id",
        "members[1].attributes.姓名",
        "authority.姓名",
    } <= fields
    assert client.put("/api/v1/bases", json={"config": "members: [unclosed"}).status_code == 422
    after = client.get("/api/v1/bases/人口基础库").json()
    assert after["config_version"] == before["config_version"]  # nothing saved
    assert client.get("/api/v1/bases/人口基础库/files").status_code == 200


def test_review_decision_errors(client: TestClient) -> None:
    # A strict copy of the population base: almost every probabilistic link needs a reviewer.
    strict = {**PERSONS, "name": "复核演示库", "thresholds": {"link": 0.99999999, "review": 0.3}}
    assert client.put("/api/v1/bases", json={"config": strict}).status_code == 200
    assert client.post("/api/v1/bases/复核演示库/builds").status_code == 201
    pending = client.get("/api/v1/bases/复核演示库/reviews").json()
    assert pending
    pid = pending[0]["id"]
    r = client.post(f"/api/v1/bases/复核演示库/reviews/{pid}", json={"decision": "perhaps"})
    assert r.status_code == 422
    detail = client.get(f"/api/v1/bases/复核演示库/reviews/{pid}").json()
    assert detail["record"]["fields"] and detail["file"]["golden"]
    page = client.get(f"/bases/复核演示库/reviews/{pid}")
    assert page.status_code == 200 and "Accept" in page.text and "bit" in page.text
    r = client.post(
        f"/api/v1/bases/复核演示库/reviews/{pid}",
        json={"decision": "accept", "note": "同一人"},
        headers={"x-shuhai-user": "reviewer"},
    )
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert r.json()["decided_by"] == "reviewer"
    b = client.post("/api/v1/bases/复核演示库/builds").json()
    assert b["counts"]["linked_by_review"] >= 1


def test_licence_verification_over_http(client: TestClient) -> None:
    r = client.get("/api/v1/licences/NO-SUCH")
    assert r.status_code == 200 and r.json() == {
        "number": "NO-SUCH",
        "exists": False,
        "valid": False,
    }
    assert client.get("/api/v1/licences/" + "9" * 150).status_code == 422
    page = client.get("/licences", params={"number": "NO-SUCH"})
    assert page.status_code == 200 and "未找到" in page.text


def test_a_failed_build_leaves_the_last_good_one(
    demo_home: Config, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = client.get("/api/v1/bases/人口基础库").json()["last_build"]["id"]

    def broken(*args: object, **kwargs: object) -> None:  # fault injection: Splink dies
        raise RuntimeError("splink crashed")

    monkeypatch.setattr(linking, "score", broken)
    monkeypatch.setattr(linking, "train", broken)
    with pytest.raises(RuntimeError):
        build_base(demo_home, "人口基础库", full=True)
    builds = client.get("/api/v1/bases/人口基础库/builds").json()
    assert builds[0]["status"] == "failed" and "splink crashed" in builds[0]["error"]
    assert client.get("/api/v1/bases/人口基础库").json()["last_build"]["id"] == good
    assert client.get("/api/v1/bases/人口基础库/files").status_code == 200


def test_build_over_http_and_errors_stay_shuhai_errors(client: TestClient) -> None:
    r = client.post("/api/v1/bases/电子证照库/builds")
    assert r.status_code == 201 and r.json()["status"] == "succeeded"
    r = client.post("/api/v1/bases/不存在/builds")
    assert r.status_code == 404 and r.json()["code"] == "entities.base_not_found"


def test_pages_list_bases(client: TestClient) -> None:
    r = client.get("/bases")
    assert r.status_code == 200
    for name in ("人口基础库", "法人基础库", "电子证照库"):
        assert name in r.text
    r = client.get("/bases/法人基础库")
    assert r.status_code == 200 and "档案" in r.text
