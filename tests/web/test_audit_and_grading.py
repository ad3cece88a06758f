"""The auditor's view of the trail (only the auditor reads it) and the security officer's
classification and grading (only the security officer confirms; a confirmed level changes what
other departments see)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shuhai.access import audit
from shuhai.catalog import Catalog
from shuhai.config import Config


def test_only_the_auditor_reads_the_trail(
    app: FastAPI, config: Config, client: TestClient, anon: TestClient, signed
) -> None:
    rid = client.get("/api/v1/resources").json()["items"][0]["id"]
    client.get(f"/api/v1/resources/{rid}/data")
    anon.get(f"/api/v1/resources/{rid}/data")  # refused: not open data
    audit.flush(config)
    auditor = signed("auditor1", ["auditor"])
    for who, roles, dept in (
        ("admin1", ["admin"], None),
        ("security1", ["security"], None),
        ("ga_officer2", ["officer"], "GA"),
    ):
        r = signed(who, roles, dept).get("/api/v1/audit")
        assert r.status_code == 403, who
    assert anon.get("/api/v1/audit").status_code == 401
    mine = auditor.get("/api/v1/audit", params={"actor": "ga_officer"}).json()["items"]
    assert mine and {e["actor"] for e in mine} == {"ga_officer"}
    refused = auditor.get("/api/v1/audit", params={"outcome": "refused"}).json()["items"]
    assert any(e["actor"] == "anonymous" and e["action"] == "api.data" for e in refused)
    assert all(e["outcome"] == "refused" for e in refused)
    assert auditor.get("/api/v1/audit", params={"outcome": "maybe"}).status_code == 422
    page = auditor.get("/audit", params={"action": "api.data"})
    assert page.status_code == 200 and "api.data" in page.text and "ga_officer" in page.text
    assert signed("admin2", ["admin"]).get("/audit").status_code == 403
    audit.flush(config)
    reads = audit.search(config, action="audit.read")
    assert {e["actor"] for e in reads} >= {"auditor1", "admin1", "admin2"}  # refusals too


def test_grading_is_confirmed_by_the_security_officer(
    app: FastAPI, config: Config, client: TestClient, signed, loaded: dict
) -> None:
    rid = loaded["id"]
    security = signed("sec1", ["security"])
    proposals = security.get(f"/api/v1/resources/{rid}/grading").json()["items"]
    by_item = {p["item"]: p for p in proposals}
    assert by_item["身份证号"]["level"] == "L4" and by_item["姓名"]["level"] == "L3"
    assert client.get(f"/api/v1/resources/{rid}/grading").status_code == 200  # its officer
    Catalog(config).add_department({"name": "市人社局", "code": "RS"})
    other = signed("rs_officer", ["officer"], "RS")
    assert other.get(f"/api/v1/resources/{rid}/grading").status_code == 403
    grade = {"姓名": {"data_class": "重要", "level": "L4"}}
    assert client.put(f"/api/v1/resources/{rid}/grading", json=grade).status_code == 403
    bad = security.put(
        f"/api/v1/resources/{rid}/grading",
        json={"姓名": {"data_class": "机密", "level": "L9"}, "不存在": grade["姓名"]},
    )
    assert bad.status_code == 422 and len(bad.json()["errors"]) == 3
    viewer = signed("ga_user2", ["user"], "GA")  # the department's user: L4 masked
    before = viewer.get(f"/api/v1/resources/{rid}/data").json()["rows"][0]["姓名"]
    assert before == "张三"
    ok = security.put(f"/api/v1/resources/{rid}/grading", json=grade)
    assert ok.status_code == 200
    after = viewer.get(f"/api/v1/resources/{rid}/data").json()["rows"][0]["姓名"]
    assert after == "张*"  # names are now L4 for this resource, so masked for its users
    page = security.get(f"/resources/{rid}/grading")
    assert page.status_code == 200 and "sec1" in page.text
    form = {"class:姓名": "重要", "level:姓名": "L3", "csrf": ""}
    saved = security.post(f"/resources/{rid}/grading", data=form)
    assert saved.status_code == 200 and "grading-saved" in saved.text
    assert viewer.get(f"/api/v1/resources/{rid}/data").json()["rows"][0]["姓名"] == "张三"
    audit.flush(config)
    assert len(audit.search(config, action="grading.confirm")) >= 3


def test_every_api_call_is_recorded(config: Config, client: TestClient, anon: TestClient) -> None:
    client.get("/api/v1/resources")
    client.put("/api/v1/resources/1/rules", json=[{"item": "不存在", "kind": "ric"}])
    anon.post("/api/v1/departments", json={"name": "x", "code": "X"})
    audit.flush(config)
    calls = audit.search(config, action="api.call", limit=1000)
    seen = {(e["actor"], e["resource"], e["outcome"]) for e in calls}
    assert ("ga_officer", "/api/v1/resources", "ok") in seen
    assert ("ga_officer", "/api/v1/resources/1/rules", "refused") in seen  # 422
    assert ("anonymous", "/api/v1/departments", "refused") in seen  # 401
    assert all('"status"' in e["detail"] for e in calls)
