"""Data requests answered in public, moderated comments and ratings, problem reports that become
objections, and reviewed showcases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shuhai.access.policy import Viewer, operator
from shuhai.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuhai.open import interaction as ia
from shuhai.open import publish
from shuhai.open.datastore import datastore_search
from shuhai.quality.corrections import get_objection
from shuhai.web.app import create_app
from tests.conftest import signed_client

NAME = "204001-hb-00001"
CITIZEN = Viewer("user", "citizen", None, ("public",))


def _officer(city) -> Viewer:
    return Viewer("user", "hb_officer", city["air"]["department"]["id"], ("officer",))


def test_a_data_request_is_answered_in_public(config, city) -> None:
    with pytest.raises(InvalidInput):
        ia.request_data(config, {"title": "数据", "description": "短"}, viewer=CITIZEN)
    made = ia.request_data(
        config,
        {
            "title": "各站点小时空气质量",
            "description": "希望开放逐小时数据，用于出行提醒应用",
            "department": "HB",
        },
        viewer=CITIZEN,
    )
    assert made["status"] == "open" and made["department"]["name"] == "市生态环境局"
    rs = Viewer("user", "rs_officer", city["insured"]["department"]["id"], ("officer",))
    with pytest.raises(Forbidden):
        ia.answer_request(config, made["id"], viewer=rs, answer="不是我们的")
    done = ia.answer_request(
        config, made["id"], viewer=_officer(city), answer="已开放日报", dataset=NAME
    )
    assert done["status"] == "answered" and done["dataset"]["name"] == NAME
    with pytest.raises(Conflict):
        ia.answer_request(config, made["id"], viewer=_officer(city), answer="再答一次")
    listed = ia.list_requests(config)
    assert listed[0]["answer"] == "已开放日报"  # public: anyone reads it
    assert ia.counts(config)["requests_answered"] == 1


def test_comments_show_once_approved_and_ratings_average(config, city) -> None:
    ia.comment(config, NAME, viewer=CITIZEN, text="数据很及时", rating=5)
    ia.comment(config, NAME, viewer=Viewer("user", "u2", None, ("public",)), rating=3)
    with pytest.raises(InvalidInput):
        ia.comment(config, NAME, viewer=CITIZEN, rating=6)
    with pytest.raises(InvalidInput):
        ia.comment(config, NAME, viewer=CITIZEN)
    public = ia.feedback(config, NAME)
    assert public["items"] == [] and public["rating"] is None  # nothing shown before moderation
    waiting = ia.feedback(config, NAME, viewer=_officer(city))
    assert waiting["publisher"] and len(waiting["items"]) == 2
    for f in waiting["items"]:
        ia.moderate(config, f["id"], viewer=_officer(city), approve=True)
    shown = ia.feedback(config, NAME)
    assert shown["rating"] == 4.0 and shown["ratings"] == 2
    with pytest.raises(Forbidden):
        ia.moderate(config, waiting["items"][0]["id"], viewer=CITIZEN, approve=False)


def test_a_problem_report_on_a_row_becomes_an_objection(config, city) -> None:
    from shuhai.catalog import Catalog
    from tests.open.conftest import AIR_ITEMS

    Catalog(config).register(
        {
            "name": "环境空气质量日报",
            "department": "HB",
            "classification": "204001",
            "items": AIR_ITEMS,
            "key_columns": ["监测日期", "监测站点"],
            "open_type": "无条件开放",
        },
        update=True,
    )
    publish(config, city["air"]["code"], viewer=operator())
    page = datastore_search(
        config, CITIZEN, NAME, filters={"监测站点": "仓山师大"}, sort="监测日期"
    )
    row = page["records"][0]
    report = ia.report_problem(
        config,
        NAME,
        viewer=CITIZEN,
        text="首要污染物不应是公式",
        row_id=row["_id"],
        item="首要污染物",
        proposed_value="PM2.5",
    )
    objection = get_objection(config, report["objection_id"])
    assert objection["item"] == "首要污染物" and objection["raised_by"] == "citizen"
    assert objection["key"] == {"监测日期": "2026-01-01", "监测站点": "仓山师大"}
    with pytest.raises(NotFound):
        ia.report_problem(
            config, NAME, viewer=CITIZEN, text="不存在的行", row_id=123, item="首要污染物"
        )
    plain = ia.report_problem(config, NAME, viewer=CITIZEN, text="整体缺少 2 月数据")
    assert plain["objection_id"] is None


def test_showcases_are_reviewed_then_shown_with_their_datasets(config, city) -> None:
    with pytest.raises(InvalidInput):
        ia.submit_showcase(
            config,
            {
                "title": "出行",
                "description": "空气质量出行提醒小程序",
                "url": "javascript:alert(1)",
                "datasets": [NAME],
            },
            viewer=CITIZEN,
        )
    made = ia.submit_showcase(
        config,
        {
            "title": "榕城好空气",
            "description": "空气质量出行提醒小程序",
            "url": "https://example.org/app",
            "datasets": NAME,
        },
        viewer=CITIZEN,
    )
    assert ia.showcases(config) == []
    with pytest.raises(Forbidden):
        ia.review_showcase(config, made["id"], viewer=CITIZEN, approve=True)
    ia.review_showcase(config, made["id"], viewer=_officer(city), approve=True)
    shown = ia.showcases(config, dataset=NAME)
    assert shown[0]["title"] == "榕城好空气" and shown[0]["datasets"][0]["name"] == NAME


def test_portal_forms_and_api(config, city) -> None:
    app = create_app(config)
    anon = TestClient(app, raise_server_exceptions=False)
    assert (
        anon.post(
            "/api/v1/open/requests", json={"title": "x" * 5, "description": "y" * 12}
        ).status_code
        == 401
    )
    citizen = signed_client(app, config, "citizen", ["public"], None)
    r = citizen.post(
        "/api/v1/open/datasets/" + NAME + "/comments", json={"text": "好", "rating": 4}
    )
    assert r.status_code == 201
    assert (
        citizen.post("/api/v1/open/datasets/" + NAME + "/comments", json={"rating": 9}).status_code
        == 422
    )
    page = citizen.get(f"/open/datasets/{NAME}")
    assert "评分与评论" in page.text and "待审核" in page.text  # the author sees their own
    assert anon.get(f"/open/datasets/{NAME}").text.count("★★★★☆") == 0
    assert anon.get("/open/requests").status_code == 200
    assert anon.get("/open/showcases").status_code == 200
    figures = anon.get("/api/v1/open/figures").json()
    assert {"requests", "requests_answered", "showcases"} <= set(figures)
