"""Base databases over HTTP: profiles behind the setting, review decisions, licence verification,
bad input as clear 4xx, and a failed build that leaves the last good one readable."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shuhai.access import audit
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.demo import build_demo
from shuhai.demo.bases import PERSONS
from shuhai.entities import linking
from shuhai.entities.build import build_base
from shuhai.web.app import create_app
from tests.conftest import signed_client


def _dept(config: Config, code: str) -> int:
    return int(next(d for d in Catalog(config).departments() if d["code"] == code)["id"])


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Config:
    config = Config.from_env({}, home=str(tmp_path_factory.mktemp("bases") / "home"))
    build_demo(config, persons=1500, seed=5)
    return config


@pytest.fixture(scope="module")
def app(demo_home: Config) -> FastAPI:
    return create_app(demo_home)


@pytest.fixture
def client(app: FastAPI, demo_home: Config) -> TestClient:
    """The data officer of 福州市公安局."""
    return signed_client(app, demo_home, "ga_officer", ["officer"], "GA")  # type: ignore[return-value]


def test_files_are_for_department_staff_only(app: FastAPI, demo_home: Config) -> None:
    anon = TestClient(app, raise_server_exceptions=False)
    r = anon.get("/api/v1/bases/人口基础库/files")
    assert r.status_code == 401 and r.json()["code"] == "access.base_members_only"
    assert anon.get("/api/v1/bases/人口基础库/files/P00000001").status_code == 401
    for who, roles, dept in (
        ("citizen", ["public"], None),
        ("sysadmin", ["admin"], None),
        ("auditor1", ["auditor"], None),
    ):
        c = signed_client(app, demo_home, who, roles, dept)
        assert c.get("/api/v1/bases/人口基础库/files/P00000001").status_code == 403, who  # type: ignore[attr-defined]
        assert c.post("/api/v1/bases/电子证照库/builds").status_code == (  # type: ignore[attr-defined]
            201 if who == "sysadmin" else 403
        ), who
    audit.flush(demo_home)
    refused = audit.search(demo_home, action="base.profile", outcome="refused")
    assert {e["actor"] for e in refused} >= {"anonymous", "citizen", "sysadmin", "auditor1"}


def test_a_profile_shows_only_what_its_sources_allow(app: FastAPI, demo_home: Config) -> None:
    """公安's officer reads its own records unmasked; 人社's user reads 公安's unconditionally
    shared records with ID numbers masked, and never the conditionally shared ones."""
    ga = signed_client(app, demo_home, "ga_officer", ["officer"], "GA")
    rs = signed_client(app, demo_home, "rs_user", ["user"], "RS")
    ga_dept, rs_dept = _dept(demo_home, "GA"), _dept(demo_home, "RS")
    catalog = Catalog(demo_home).all()
    owners = {r["id"]: r["department"]["id"] for r in catalog}
    readable = {
        r["id"] for r in catalog if r["share_type"] == "无条件共享" or owners[r["id"]] == rs_dept
    }
    found = ga.get("/api/v1/bases/人口基础库/files", params={"limit": 25}).json()["items"]  # type: ignore[attr-defined]
    withheld = 0
    for fid in (f["file_id"] for f in found):
        mine = ga.get(f"/api/v1/bases/人口基础库/files/{fid}").json()  # type: ignore[attr-defined]
        theirs = rs.get(f"/api/v1/bases/人口基础库/files/{fid}").json()  # type: ignore[attr-defined]
        own = [s for s in mine["sources"] if owners[s["resource_id"]] == ga_dept]
        assert all("*" not in s["id"] for s in own)
        assert all("*" in s["id"] for s in theirs["sources"] if owners[s["resource_id"]] == ga_dept)
        assert {s["resource_id"] for s in theirs["sources"]} <= readable
        total = len(mine["sources"]) + mine["withheld_sources"]
        assert len(theirs["sources"]) + theirs["withheld_sources"] == total
        for g in theirs["golden"]:
            assert g["withheld"] is (g["resource_id"] not in readable) and (
                g["value"] is None or not g["withheld"]
            )
        withheld += theirs["withheld_sources"]
    assert withheld > 0  # 婚姻登记 and 失业登记 records are conditionally shared


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
    queue = client.get("/api/v1/bases/复核演示库/reviews").json()
    pending = queue["items"]
    assert pending and queue["total"] >= len(pending) and queue["offset"] == 0
    past = client.get(f"/api/v1/bases/复核演示库/reviews?offset={queue['total']}").json()
    assert past["items"] == [] and past["total"] == queue["total"]  # past the end: empty
    assert client.get("/api/v1/bases/复核演示库/reviews?offset=-1").status_code == 422
    page = client.get("/bases/复核演示库").text  # the base page says how long the queue is
    assert f"{queue['total']:,} 对待复核" in page
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
    )
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert r.json()["decided_by"] == "ga_officer"  # who is signed in, not what a header claims
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


def test_id_conflicts_over_http_each_number_as_its_source_allows(
    app: FastAPI, demo_home: Config, client: TestClient
) -> None:
    """重号 and other people's numbers: 公安's officer sees the numbers its own register holds
    in full; another department's officer sees them masked; the public is refused."""
    r = client.get("/api/v1/bases/人口基础库/conflicts", params={"kind": "duplicate"})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] >= 1 and page["counts"].get("duplicate") == page["total"]
    item = page["items"][0]
    assert item["kind"] == "duplicate" and len(item["id"]) == 18 and "*" not in item["id"]
    assert item["files"] == 2 and item["objection_id"]
    # 环保 holds none of these records: each number masked or withheld, never shown whole
    other = signed_client(app, demo_home, "hb_officer", ["officer"], "HB")
    seen = other.get("/api/v1/bases/人口基础库/conflicts", params={"kind": "duplicate"}).json()  # type: ignore[attr-defined]
    assert seen["total"] == page["total"]
    assert all(i["id"] is None or "*" in i["id"] for i in seen["items"])
    assert all(i["withheld"] + len(i["records"]) >= 2 for i in seen["items"])
    anon = TestClient(app, raise_server_exceptions=False)
    assert anon.get("/api/v1/bases/人口基础库/conflicts").status_code == 401
    bad = client.get("/api/v1/bases/人口基础库/conflicts", params={"kind": "twins"})
    assert bad.status_code == 422
    assert client.get("/api/v1/bases/没有/conflicts").status_code == 404


def test_the_portal_lists_conflicts_and_a_files_numbers(client: TestClient) -> None:
    page = client.get("/bases/人口基础库/conflicts", params={"kind": "duplicate"})
    assert page.status_code == 200 and "重号" in page.text and "/objections/" in page.text
    base = client.get("/bases/人口基础库")
    assert (
        "证件号冲突" in base.text
        and "/bases/%E4%BA%BA%E5%8F%A3%E5%9F%BA%E7%A1%80%E5%BA%93/conflicts" in base.text
    )
    first = client.get("/api/v1/bases/人口基础库/conflicts", params={"kind": "duplicate"}).json()
    file_id = first["items"][0]["records"][0]["file_id"]
    profile = client.get(f"/bases/人口基础库/files/{file_id}")
    assert profile.status_code == 200 and "证件号" in profile.text and "重号" in profile.text
    # the objection raised with 公安 shows in the file of the record it is about
    shown = client.get(f"/api/v1/bases/人口基础库/files/{file_id}").json()
    assert any(o["id"] == first["items"][0]["objection_id"] for o in shown["objections"])
    reviews = client.get("/bases/人口基础库/reviews")
    assert reviews.status_code == 200 and "期望收益" in reviews.text
    assert client.get("/bases/人口基础库/conflicts", params={"kind": "x"}).status_code == 422
    anon = TestClient(client.app, raise_server_exceptions=False)
    refused = anon.get("/bases/人口基础库/conflicts", follow_redirects=False)
    assert refused.status_code in (302, 303, 401) and "重号" not in refused.text
