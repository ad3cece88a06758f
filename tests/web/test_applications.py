"""Share applications over HTTP and in the portal: apply, the provider approves or refuses with a
reason, the grant opens exactly the approved items through the sharing API, and every step is in
the audit trail; bad applications are 422 with every problem, other departments 403."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shuhai.access import audit
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.ingest import ingest
from shuhai.web.app import create_app
from tests.conftest import PASSWORD, session_token, signed_client, write

ITEMS = [{"name": "身份证号"}, {"name": "姓名"}, {"name": "失业日期", "data_type": "D"}]


@pytest.fixture
def app(config: Config, tmp_path: Path) -> FastAPI:
    cat = Catalog(config)
    for code, name in (("RS", "市人社局"), ("MZ", "市民政局"), ("GA", "市公安局")):
        cat.add_department({"name": name, "code": code})
    cat.register(
        {
            "name": "失业登记信息",
            "department": "RS",
            "classification": "303005",
            "items": ITEMS,
            "key_columns": ["身份证号"],
            "share_type": "有条件共享",
            "share_condition": "用于社会救助资格核查",
        }
    )
    cat.register(
        {
            "name": "预防接种信息",
            "department": "RS",
            "classification": "303006",
            "items": ITEMS[:2],
            "share_type": "不予共享",
            "share_condition": "《疫苗管理法》第七十九条",
        }
    )
    text = "身份证号,姓名,失业日期\n350102198001010014,张三,2024-03-01\n"
    ingest(config, "失业登记信息", str(write(tmp_path / "u.csv", text)))
    return create_app(config)


def _application(**kw: object) -> dict:
    today = dt.date.today()
    return {
        "resource": "失业登记信息",
        "purpose": "低保资格核查",
        "legal_basis": "《社会救助暂行办法》",
        "items": ["身份证号", "失业日期"],
        "period_start": today.isoformat(),
        "period_end": (today + dt.timedelta(days=180)).isoformat(),
        "scenario": "低保审批",
        **kw,
    }


def test_apply_approve_and_read_exactly_the_grant(app: FastAPI, config: Config) -> None:
    mz = signed_client(app, config, "mz_user", ["user"], "MZ")
    rs = signed_client(app, config, "rs_officer", ["officer"], "RS")
    ga = signed_client(app, config, "ga_officer", ["officer"], "GA")
    rid = Catalog(config).get("失业登记信息")["id"]
    assert mz.get(f"/api/v1/resources/{rid}/data").status_code == 403  # before the grant
    made = mz.post("/api/v1/applications", json=_application())
    assert made.status_code == 201 and made.json()["status"] == "submitted"
    aid = made.json()["id"]
    assert made.json()["provider"] == "市人社局"
    todo = rs.get("/api/v1/applications").json()["to_answer"]
    assert [a["id"] for a in todo] == [aid]
    assert (
        ga.post(f"/api/v1/applications/{aid}/decision", json={"approve": True}).status_code == 403
    )
    assert (
        mz.post(f"/api/v1/applications/{aid}/decision", json={"approve": True}).status_code == 403
    )
    ok = rs.post(f"/api/v1/applications/{aid}/decision", json={"approve": True})
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    grants = mz.get("/api/v1/applications").json()["grants"]
    assert [g["approved_items"] for g in grants] == [["身份证号", "失业日期"]]
    data = mz.get(f"/api/v1/resources/{rid}/data").json()
    assert data["columns"] == ["身份证号", "失业日期"]  # exactly the approved items
    assert data["rows"][0]["身份证号"] == "350102********0014"
    assert "张三" not in str(data)
    again = rs.post(f"/api/v1/applications/{aid}/decision", json={"approve": False, "reason": "x"})
    assert again.status_code == 409
    audit.flush(config)
    actions = {e["action"] for e in audit.search(config, limit=1000)}
    assert {"share.apply", "share.decide"} <= actions


def test_refusal_needs_a_reason_and_bad_applications_are_422(app: FastAPI, config: Config) -> None:
    mz = signed_client(app, config, "mz_user", ["user"], "MZ")
    rs = signed_client(app, config, "rs_officer", ["officer"], "RS")
    bad = mz.post(
        "/api/v1/applications",
        json=_application(items=["身份证号", "不存在的项"], purpose="", period_end="2020-01-01"),
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"items", "purpose", "period_end"} <= fields
    never = mz.post("/api/v1/applications", json=_application(resource="预防接种信息"))
    assert never.status_code == 403 and never.json()["code"] == "share.not_shared"
    unknown = mz.post("/api/v1/applications", json=_application(resource="不存在"))
    assert unknown.status_code == 404
    own = rs.post("/api/v1/applications", json=_application())
    assert own.status_code == 409
    aid = mz.post("/api/v1/applications", json=_application()).json()["id"]
    no_reason = rs.post(f"/api/v1/applications/{aid}/decision", json={"approve": False})
    assert no_reason.status_code == 422
    refused = rs.post(
        f"/api/v1/applications/{aid}/decision", json={"approve": False, "reason": "用途不符"}
    )
    assert refused.json()["status"] == "refused" and refused.json()["reason"] == "用途不符"
    assert mz.get("/api/v1/applications").json()["grants"] == []
    assert TestClient(app).post("/api/v1/applications", json=_application()).status_code == 401
    audit.flush(config)
    refusals = audit.search(config, action="share.apply", outcome="refused")
    assert len(refusals) >= 4


def test_the_share_page(app: FastAPI, config: Config) -> None:
    """Apply through the form as a person would, answer as the provider, see the grant."""
    for user, roles, dept in (("mz_user", ["user"], "MZ"), ("rs_officer", ["officer"], "RS")):
        session_token(config, user, roles, dept)
    applicant = TestClient(app, raise_server_exceptions=False)
    bounced = applicant.get("/share", follow_redirects=False)
    assert bounced.status_code == 303 and bounced.headers["location"] == "/login?next=%2Fshare"
    applicant.post("/login", data={"username": "mz_user", "password": PASSWORD})
    page = applicant.get("/share")
    assert page.status_code == 200 and "《疫苗管理法》第七十九条" in page.text
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    form = {**_application(), "csrf": csrf}
    rid = Catalog(config).get("失业登记信息")["id"]
    form["resource"] = str(rid)
    forged = applicant.post("/share/applications", data={**form, "csrf": "x"})
    assert forged.status_code == 403
    sent = applicant.post("/share/applications", data=form, follow_redirects=False)
    assert sent.status_code == 303
    empty = applicant.post(
        "/share/applications", data={**form, "items": [], "purpose": ""}, follow_redirects=True
    )
    assert "share-error" in empty.text
    provider = TestClient(app, raise_server_exceptions=False)
    provider.post("/login", data={"username": "rs_officer", "password": PASSWORD})
    page = provider.get("/share")
    assert "待本部门审核" in page.text and "低保资格核查" in page.text
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    aid = page.text.split('id="application-')[1].split('"')[0]
    r = provider.post(
        f"/share/applications/{aid}/decision",
        data={"decision": "approve", "csrf": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "已批准" in applicant.get("/share").text or "approved" in applicant.get("/share").text
