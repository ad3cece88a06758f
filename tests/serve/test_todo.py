"""我的待办: each role's waiting work, with counts, deadlines and links to where it is done."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from shuhai.access import audit
from shuhai.access.policy import Viewer, operator
from shuhai.catalog import Catalog
from shuhai.ingest import ingest
from shuhai.open import applications as open_apps
from shuhai.open import interaction, publish
from shuhai.serve.todo import for_viewer
from shuhai.web.app import create_app
from tests.conftest import signed_client, write


def _sections(work: dict) -> dict[str, dict]:
    return {s["key"]: s for s in work["sections"]}


def test_each_role_sees_its_own_work(config, tmp_path) -> None:
    cat = Catalog(config)
    cat.add_department({"name": "市税务局", "code": "SW"})
    cat.add_department({"name": "市民政局", "code": "MZ"})
    res = cat.register(
        {
            "name": "纳税信用等级",
            "department": "SW",
            "classification": "302004",
            "items": [{"name": "纳税人名称"}, {"name": "信用等级"}],
            "open_type": "有条件开放",
        }
    )
    ingest(config, res["code"], str(write(tmp_path / "t.csv", "纳税人名称,信用等级\n甲公司,A\n")))
    ds = publish(config, res["code"], viewer=operator())
    citizen = Viewer("user", "citizen", None, ("public",))
    made = open_apps.apply(
        config,
        ds["name"],
        {
            "purpose": "研究纳税信用与企业经营的关系",
            "scenario": "学术研究，仅发布统计结果",
            "pledge": {"accepted": True, "signed_by": "公众"},
        },
        viewer=citizen,
    )
    interaction.comment(config, ds["name"], viewer=citizen, text="很有用", rating=5)
    interaction.request_data(
        config,
        {"title": "欠税公告明细", "description": "希望开放欠税公告的明细数据", "department": "SW"},
        viewer=citizen,
    )
    sw = res["department"]["id"]
    officer = _sections(for_viewer(config, Viewer("user", "sw_officer", sw, ("officer",))))
    assert officer["open_applications"]["count"] == 1
    item = officer["open_applications"]["items"][0]
    assert item["href"] == "/open/applications" and item["due"] == made["deadline"]
    assert item["overdue"] is False
    assert officer["feedback"]["count"] == 1 and officer["requests"]["count"] == 1
    assert officer["share"]["count"] == 0 and officer["objections"]["count"] == 0
    # another department's officer has none of it
    mz = cat.department("MZ")["id"]
    other = _sections(for_viewer(config, Viewer("user", "mz_officer", mz, ("officer",))))
    assert sum(s["count"] for s in other.values()) == 0
    security = _sections(for_viewer(config, Viewer("user", "sec", None, ("security",))))
    assert security["grading"]["count"] == 1
    assert security["grading"]["items"][0]["href"] == f"/resources/{res['id']}/grading"
    admin = _sections(for_viewer(config, Viewer("user", "root", None, ("admin",))))
    assert {i["label"] for i in admin["no_officer"]["items"]} == {
        "市税务局（SW）",
        "市民政局（MZ）",
    }
    mine = _sections(for_viewer(config, citizen))
    assert mine["my_applications"]["count"] == 1 and mine["my_requests"]["count"] == 1
    # the auditor sees refusals of the last day
    from shuhai.access.policy import record

    record(config, Viewer(), "api.data", res["code"], outcome="refused", detail="auth.required")
    audit.flush(config)
    auditor = _sections(for_viewer(config, Viewer("user", "aud", None, ("auditor",))))
    assert auditor["refusals"]["count"] >= 1


def test_overdue_items_are_flagged(config, tmp_path) -> None:
    from shuhai.quality.corrections import raise_objection

    cat = Catalog(config)
    cat.add_department({"name": "市公安局", "code": "GA"})
    res = cat.register(
        {
            "name": "人口",
            "department": "GA",
            "classification": "101001",
            "items": [{"name": "编号"}, {"name": "姓名"}],
            "key_columns": ["编号"],
        }
    )
    ingest(config, res["code"], str(write(tmp_path / "p.csv", "编号,姓名\n1,张三\n")))
    o = raise_objection(
        config, res["code"], {"key": {"编号": "1"}, "item": "姓名", "reason": "错字"}, actor="x"
    )
    from shuhai.db import Objection, session_scope

    with session_scope(config.database_url) as s:
        s.get(Objection, o["id"]).deadline = dt.date.today() - dt.timedelta(days=3)
    work = _sections(
        for_viewer(config, Viewer("user", "ga", res["department"]["id"], ("officer",)))
    )
    assert work["objections"]["items"][0]["overdue"] is True
    assert work["objections"]["items"][0]["href"] == f"/objections/{o['id']}"


def test_the_page_the_api_and_the_navigation_count(config, tmp_path) -> None:
    Catalog(config).add_department({"name": "市统计局", "code": "TJ"})
    app = create_app(config)
    assert (
        TestClient(app).get("/todo", follow_redirects=False).headers["location"]
        == "/login?next=/todo"
    )
    assert TestClient(app, raise_server_exceptions=False).get("/api/v1/todo").status_code == 401
    admin = signed_client(app, config, "root", ["admin"], None)
    page = admin.get("/todo")
    assert (
        page.status_code == 200 and "没有数据管理员的部门" in page.text and "市统计局" in page.text
    )
    assert 'href="/todo">我的待办 My work <span class="tag warn"' in admin.get("/catalog").text
    assert admin.get("/api/v1/todo").json()["total"] >= 1
    assert (
        "next" in TestClient(app).get("/login").text
        and 'value="/todo"' in TestClient(app).get("/login").text
    )


def test_menus_and_buttons_a_role_cannot_use_are_not_shown(config) -> None:
    Catalog(config).add_department({"name": "市公安局", "code": "GA"})
    app = create_app(config)
    anon = TestClient(app).get("/catalog").text
    assert 'href="/share"' not in anon and 'href="/objections"' not in anon
    assert 'href="/open"' in anon and 'href="/quality"' in anon
    citizen = signed_client(app, config, "citizen", ["public"], None).get("/catalog").text
    assert (
        'href="/share"' not in citizen
        and 'href="/bases"' not in citizen
        and 'href="/todo"' in citizen
    )
    officer = signed_client(app, config, "ga_officer", ["officer"], "GA").get("/catalog").text
    for link in ("/share", "/objections", "/comparisons", "/bases", "/todo"):
        assert f'href="{link}"' in officer, link
    admin = signed_client(app, config, "root", ["admin"], None).get("/catalog").text
    assert 'href="/bases"' in admin and 'href="/share"' not in admin
