"""The JSON API: every entity, paging, and 404 / 422 with the one error shape."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_stats_departments_resources(client: TestClient, loaded: dict) -> None:
    stats = client.get("/api/v1/stats").json()
    assert (
        stats["departments"],
        stats["resources"],
        stats["rows"],
        stats["versions"],
        stats["rows_quarantined"],
    ) == (1, 1, 1, 1, 1)
    assert client.get("/api/v1/departments").json()["items"][0]["code"] == "GA"
    assert client.get("/api/v1/departments/GA").json()["resources"] == 1
    found = client.get("/api/v1/resources", params={"q": "人口"}).json()
    assert found["total"] == 1 and found["items"][0]["code"] == loaded["code"]
    assert found["facets"]["department"][0]["value"] == "GA"
    res = client.get(f"/api/v1/resources/{loaded['id']}").json()
    assert [i["name"] for i in res["items"]][:2] == ["身份证号", "姓名"]


def test_versions_data_runs_quarantine(client: TestClient, loaded: dict) -> None:
    rid = loaded["id"]
    versions = client.get(f"/api/v1/resources/{rid}/versions").json()["items"]
    assert versions[0]["version"] == 0 and versions[0]["run_id"] == 1
    data = client.get(f"/api/v1/resources/{rid}/data", params={"version": 0, "limit": 5}).json()
    assert data["rows"] == [
        {"身份证号": "110101199001011234", "姓名": "张三", "出生日期": "2024-01-02", "月收入": 1.5}
    ]
    runs = client.get(f"/api/v1/resources/{rid}/runs").json()["items"]
    assert runs[0]["rows_in"] == 2
    assert client.get("/api/v1/runs/1").json()["rows_quarantined"] == 1
    rows = client.get("/api/v1/runs/1/quarantine").json()
    assert rows["total"] == 1 and rows["rows"][0]["_line"] == 3
    summary = client.get(f"/api/v1/resources/{rid}/quarantine").json()["items"]
    assert summary[0]["reason_code"] == "precision_loss"


def test_register_through_the_api(client: TestClient, signed, anon: TestClient) -> None:
    dept = {"name": "市税务局", "code": "SW"}
    assert anon.post("/api/v1/departments", json=dept).status_code == 401
    assert client.post("/api/v1/departments", json=dept).status_code == 403  # an officer
    made = signed("platform_admin", ["admin"]).post("/api/v1/departments", json=dept)
    assert made.status_code == 201
    body = {
        "name": "纳税人登记信息",
        "department": "SW",
        "classification": "302003",
        "items": [{"name": "纳税人识别号", "required": True}],
        "update_cycle": "每月",
    }
    refused = client.post("/api/v1/resources", json=body)  # GA's officer, SW's catalog
    assert refused.status_code == 403 and refused.json()["code"] == "auth.other_department"
    client = signed("sw_officer", ["officer"], "SW")
    res = client.post("/api/v1/resources", json=body)
    assert res.status_code == 201 and res.json()["code"] == "302003/SW-00001"
    again = client.post("/api/v1/resources", json=body)
    assert again.status_code == 409 and again.json()["code"] == "catalog.resource_exists"
    bad = client.post(
        "/api/v1/resources",
        json={**body, "name": "x", "classification": "9", "items": [{"name": "a b"}]},
    )
    assert bad.status_code == 422 and len(bad.json()["errors"]) >= 2


def test_unknown_ids_are_404_and_bad_parameters_422(client: TestClient) -> None:
    for url in [
        "/api/v1/resources/999",
        "/api/v1/resources/999/versions",
        "/api/v1/runs/999",
        "/api/v1/runs/999/quarantine",
        "/api/v1/departments/NOPE",
        "/api/v1/resources/1/data?version=7",
        "/api/v1/nothing",
    ]:
        r = client.get(url)
        assert r.status_code == 404, url
        assert r.json()["ok"] is False and " / " in r.json()["error"]
    for url in [
        "/api/v1/resources/abc",
        "/api/v1/resources/1/data?limit=0",
        "/api/v1/resources/1/data?version=-1",
        "/api/v1/resources?size=1000",
        "/api/v1/resources?page=0",
        "/api/v1/runs/1/quarantine?limit=x",
    ]:
        r = client.get(url)
        assert r.status_code == 422, url
        assert r.json()["code"] == "request.invalid" and r.json()["errors"]
    assert (
        client.post(
            "/api/v1/resources", content=b"{broken", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )


def test_openapi_lists_the_api(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert {
        "/api/v1/resources",
        "/api/v1/resources/{rid}/versions",
        "/api/v1/runs/{run_id}/quarantine",
        "/api/v1/departments",
    } <= set(spec["paths"])
    assert client.get("/api/v1/docs").status_code == 200
