"""Conditional opening (有条件开放): apply with a signed pledge, the publisher answers within 5
working days, the approved applicant takes a personal key scoped to the dataset and period."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from shuhai.access.policy import Viewer, decide, operator
from shuhai.catalog import Catalog
from shuhai.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuhai.ingest import ingest
from shuhai.open import applications as apps
from shuhai.open import publish
from shuhai.quality.workdays import add_working_days
from shuhai.web.app import create_app
from tests.conftest import signed_client, write

GOOD = {
    "applicant_kind": "enterprise",
    "organisation": "福州数智科技有限公司",
    "uscc": "91350100M000100Y43",
    "purpose": "研究企业信用与纳税的关系，用于风险模型训练",
    "scenario": "内部建模，不对外提供原始数据，结果以统计形式发布",
    "pledge": {"accepted": True, "signed_by": "王五"},
}


@pytest.fixture
def conditional(config, city, tmp_path) -> dict:
    cat = Catalog(config)
    cat.add_department({"name": "市税务局", "code": "SW"}, update=True)
    made = []
    for n, name in ((1, "纳税信用评价结果"), (2, "欠税公告明细")):
        res = cat.register(
            {
                "name": name,
                "department": "SW",
                "classification": f"30500{n}",
                "items": [
                    {"name": "纳税人名称", "data_type": "C"},
                    {"name": "信用等级", "data_type": "C"},
                ],
                "open_type": "有条件开放",
                "open_condition": "用于科研与风控，须签署承诺",
            }
        )
        csv = "纳税人名称,信用等级\n福州甲公司,A\n福州乙公司,B\n"
        ingest(config, res["code"], str(write(tmp_path / f"t{n}.csv", csv)))
        made.append(publish(config, res["code"], viewer=operator()))
    return {"ds": made[0], "other": made[1], "dept": made[0]["publisher"]["id"]}


PUBLIC = Viewer("user", "wangwu", None, ("public",))


def test_an_application_needs_purpose_scenario_and_the_signed_pledge(config, conditional) -> None:
    with pytest.raises(InvalidInput) as exc:
        apps.apply(config, conditional["ds"]["name"], {"purpose": "看看"}, viewer=PUBLIC)
    fields = {d["field"] for d in exc.value.details}
    assert {"purpose", "scenario", "pledge"} <= fields
    bad_code = {**GOOD, "uscc": "91350100M000100Y44"}
    with pytest.raises(InvalidInput) as exc:
        apps.apply(config, conditional["ds"]["name"], bad_code, viewer=PUBLIC)
    assert [d["field"] for d in exc.value.details] == ["uscc"]
    with pytest.raises(Forbidden):  # department staff do not apply as the public
        apps.apply(
            config, conditional["ds"]["name"], GOOD, viewer=Viewer("user", "x", 1, ("user",))
        )
    with pytest.raises(Conflict):  # open without conditions: nothing to apply for
        apps.apply(config, city_name(config), GOOD, viewer=PUBLIC)


def city_name(config) -> str:
    return "204001-hb-00001"


def test_approval_lets_the_applicant_read_and_take_a_scoped_key(config, conditional) -> None:
    name, rid = conditional["ds"]["name"], conditional["ds"]["resource"]["id"]
    assert decide(config, PUBLIC, rid).code == "access.open_conditional"
    made = apps.apply(config, name, GOOD, viewer=PUBLIC, today=dt.date(2026, 12, 4))
    assert made["deadline"] == add_working_days(dt.date(2026, 12, 4), 5).isoformat()
    with pytest.raises(Conflict):
        apps.apply(config, name, GOOD, viewer=PUBLIC)  # one waiting application at a time
    stranger = Viewer("user", "hb_officer", 1, ("officer",))
    with pytest.raises(Forbidden):
        apps.decide(config, made["id"], approve=True, viewer=stranger)
    with pytest.raises(InvalidInput):
        apps.decide(config, made["id"], approve=False, viewer=_officer(conditional))
    apps.decide(config, made["id"], approve=True, viewer=_officer(conditional))
    assert decide(config, PUBLIC, rid).allowed  # the signed-in applicant reads it now
    assert not decide(config, Viewer("user", "someone", None, ("public",)), rid).allowed
    key = apps.issue_key(config, made["id"], viewer=PUBLIC)
    assert key["key"].startswith("shk_")
    holder = apps.resolve_key(config, key["key"])
    assert holder is not None and holder.name == "wangwu"
    assert decide(config, holder, rid).allowed
    other = conditional["other"]["resource"]["id"]
    assert decide(config, holder, other).code == "access.out_of_scope"
    listing = apps.list_applications(config, PUBLIC)
    assert (
        listing["mine"][0]["status"] == "approved" and listing["keys"][0]["prefix"] == key["prefix"]
    )
    assert "key" not in listing["keys"][0]  # never shown again
    again = apps.issue_key(config, made["id"], viewer=PUBLIC)  # a new key replaces the old
    assert apps.resolve_key(config, key["key"]) is None
    apps.revoke_key(config, again["id"], viewer=PUBLIC)
    assert apps.resolve_key(config, again["key"]) is None
    assert apps.resolve_key(config, "shk_" + "x" * 43) is None


def _officer(conditional) -> Viewer:
    return Viewer("user", "sw_officer", conditional["dept"], ("officer",))


def test_reminder_the_day_before_and_escalation_after_the_deadline(config, conditional) -> None:
    made = apps.apply(config, conditional["ds"]["name"], GOOD, viewer=PUBLIC)
    deadline = dt.date.fromisoformat(made["deadline"])
    day_before = deadline - dt.timedelta(days=1)
    while not __import__("shuhai.quality.workdays", fromlist=["x"]).is_working_day(day_before):
        day_before -= dt.timedelta(days=1)
    assert apps.remind_and_escalate(config, today=day_before)["reminded"] == [made["id"]]
    assert apps.remind_and_escalate(config, today=day_before)["reminded"] == []  # once
    late = apps.remind_and_escalate(config, today=deadline + dt.timedelta(days=1))
    assert late["escalated"] == [made["id"]]
    answer = apps.list_applications(config, _officer(conditional))["to_answer"][0]
    assert answer["status"] == "escalated" and answer["overdue"]
    apps.decide(
        config, made["id"], approve=False, viewer=_officer(conditional), reason="用途不明确"
    )
    mine = apps.list_applications(config, PUBLIC)["mine"][0]
    assert mine["status"] == "refused" and mine["reason"] == "用途不明确"
    with pytest.raises(Conflict):
        apps.issue_key(config, made["id"], viewer=PUBLIC)
    with pytest.raises(NotFound):  # someone else's application is not theirs to take a key for
        apps.issue_key(config, made["id"], viewer=Viewer("user", "mallory", None, ("public",)))


def test_the_key_works_the_ckan_way_and_a_bad_key_is_refused(config, conditional) -> None:
    app = create_app(config)
    citizen = signed_client(app, config, "wangwu", ["public"], None)
    name = conditional["ds"]["name"]
    r = citizen.post(f"/api/v1/open/datasets/{name}/applications", json=GOOD)
    assert r.status_code == 201, r.text
    apps.decide(config, r.json()["id"], approve=True, viewer=_officer(conditional))
    key = citizen.post(f"/api/v1/open/applications/{r.json()['id']}/key").json()["key"]
    anon = TestClient(app, raise_server_exceptions=False)
    url = f"/api/3/action/datastore_search?resource_id={name}"
    assert anon.get(url).json()["error"]["__type"] == "Authorization Error"
    for header in ("Authorization", "X-CKAN-API-Key"):
        got = anon.get(url, headers={header: key})
        assert got.status_code == 200 and got.json()["result"]["total"] == 2, got.text
    bad = anon.get(url, headers={"Authorization": "shk_wrong"})
    assert bad.status_code == 403 and bad.json()["error"]["__type"] == "Authorization Error"
    assert (
        anon.get(
            f"/api/v1/open/datasets/{name}/preview", headers={"X-CKAN-API-Key": "shk_x"}
        ).status_code
        == 401
    )
    other = conditional["other"]["name"]
    scoped = anon.get(
        f"/api/3/action/datastore_search?resource_id={other}", headers={"Authorization": key}
    )
    assert scoped.status_code == 403
