"""Objections: raise, accept, verify, correct (a new version citing it), close; or reject with a
reason. Out-of-order steps, unknown records and bad values are refused and change nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shuhai.config import Config
from shuhai.errors import Conflict, InvalidInput, NotFound
from shuhai.ingest import ingest, list_runs
from shuhai.lake.service import list_versions, preview
from shuhai.quality.corrections import (
    attach,
    get_objection,
    list_objections,
    raise_objection,
    set_policy,
    transition,
)
from shuhai.quality.workdays import add_working_days, is_working_day
from shuhai.web.app import create_app
from tests.conftest import register_persons, signed_client, write


@pytest.fixture
def loaded(config: Config, tmp_path: Path) -> dict:
    res = register_persons(config)
    ingest(
        config,
        res["code"],
        str(
            write(
                tmp_path / "a.csv",
                "身份证号,姓名,出生日期,月收入\n11010519491231002X,张三,1949-12-31,100\n110105194912310038,李四,1949-12-31,200\n",
            )
        ),
    )
    return res


def test_working_day_calendar() -> None:
    assert not is_working_day(dt.date(2026, 10, 1))  # 国庆节
    assert is_working_day(dt.date(2026, 10, 10))  # Saturday worked (调休)
    assert not is_working_day(dt.date(2026, 11, 28))  # an ordinary Saturday
    assert add_working_days(dt.date(2026, 9, 30), 5) == dt.date(
        2026, 10, 13
    )  # 10-8, 10-9, 10-10, 10-12, 10-13
    assert add_working_days(dt.date(2026, 11, 26), 5) == dt.date(2026, 12, 3)


def test_full_workflow_corrects_through_a_new_version(config: Config, loaded: dict) -> None:
    o = raise_objection(
        config,
        loaded["id"],
        {
            "key": {"身份证号": "11010519491231002X"},
            "item": "姓名",
            "proposed_value": "张叁",
            "reason": "户籍登记为张叁",
        },
        actor="市民A",
    )
    assert (o["status"], o["current_value"], o["deadline"]) == (
        "raised",
        "张三",
        add_working_days(dt.date.today(), 5).isoformat(),
    )
    flagged = {
        r["身份证号"]: r["_疑义"]
        for r in __import__("shuhai.quality.corrections", fromlist=["x"]).open_flags(
            config, loaded["id"], preview(config, loaded["id"])["rows"], ["身份证号"]
        )
    }
    assert flagged == {"11010519491231002X": [o["id"]], "110105194912310038": []}
    for step in ("accepted", "verifying"):
        transition(config, o["id"], step, actor="公安数据员")
    done = transition(config, o["id"], "corrected", actor="公安数据员", note="已核实")
    assert done["lake_version"] == 1
    rows = {r["身份证号"]: r["姓名"] for r in preview(config, loaded["id"])["rows"]}
    assert rows == {"11010519491231002X": "张叁", "110105194912310038": "李四"}
    assert preview(config, loaded["id"], version=0)["rows"][0]["姓名"] in (
        "张三",
        "李四",
    )  # history kept
    run = list_runs(config, loaded["id"], limit=1)[0]
    assert run["source"] == f"objection:{o['id']}" and run["lake_version"] == 1
    assert list_versions(config, loaded["id"])[0]["run_id"] == run["id"]
    closed = transition(config, o["id"], "closed", actor="公安数据员")
    assert [h["to"] for h in closed["history"]] == [
        "raised",
        "accepted",
        "verifying",
        "corrected",
        "closed",
    ]
    assert [h["actor"] for h in closed["history"]][:2] == ["市民A", "公安数据员"]


def test_out_of_order_and_rejection(config: Config, loaded: dict) -> None:
    o = raise_objection(
        config,
        loaded["id"],
        {
            "key": {"身份证号": "110105194912310038"},
            "item": "月收入",
            "proposed_value": "abc",
            "reason": "x",
        },
        actor="A",
    )
    with pytest.raises(Conflict):
        transition(config, o["id"], "corrected", actor="B")  # not accepted yet
    with pytest.raises(InvalidInput):
        transition(config, o["id"], "rejected", actor="B")  # no reason
    transition(config, o["id"], "accepted", actor="B")
    transition(config, o["id"], "verifying", actor="B")
    with pytest.raises(InvalidInput):
        transition(config, o["id"], "corrected", actor="B")  # "abc" is no number
    assert (
        get_objection(config, o["id"])["status"] == "verifying"
        and preview(config, loaded["id"])["latest_version"] == 0
    )
    rejected = transition(config, o["id"], "rejected", actor="B", note="收入数据来自税务，无误")
    with pytest.raises(Conflict):
        transition(config, o["id"], "closed", actor="B")  # closing a rejected objection
    assert get_objection(config, o["id"])["status"] == rejected["status"] == "rejected"
    with pytest.raises(InvalidInput):
        transition(config, o["id"], "teleported", actor="B")


def test_bad_objections(config: Config, loaded: dict, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        raise_objection(
            config,
            loaded["id"],
            {"key": {"身份证号": "000"}, "item": "姓名", "reason": "r"},
            actor="A",
        )
    with pytest.raises(InvalidInput):
        raise_objection(
            config, loaded["id"], {"key": {"姓名": "张三"}, "item": "籍贯", "reason": ""}, actor="A"
        )
    with pytest.raises(NotFound):
        transition(config, 999, "accepted", actor="A")
    assert list_objections(config) == []
    with pytest.raises(InvalidInput):
        set_policy(config, loaded["id"], 0)
    set_policy(config, loaded["id"], 10)
    o = raise_objection(
        config,
        loaded["id"],
        {"key": {"身份证号": "11010519491231002X"}, "item": "姓名", "reason": "r"},
        actor="A",
    )
    assert o["deadline"] == add_working_days(dt.date.today(), 10).isoformat()
    assert attach(config, o["id"], "../../etc/证明.pdf", b"%PDF")["attachment"] == "证明.pdf"
    assert (config.home / "objections" / str(o["id"]) / "证明.pdf").read_bytes() == b"%PDF"
    with pytest.raises(InvalidInput):
        attach(config, o["id"], "big.bin", b"x" * (10 * 1024 * 1024 + 1))


def test_objection_api(config: Config, loaded: dict) -> None:
    app = create_app(config)
    client = signed_client(app, config, "ga_officer", ["officer"], "GA")
    clerk = signed_client(app, config, "ga_clerk", ["user"], "GA")
    anon = TestClient(app, raise_server_exceptions=False)
    rid = loaded["id"]
    body = {"key": {"身份证号": "110105194912310038"}, "item": "姓名", "reason": "r"}
    assert anon.post(f"/api/v1/resources/{rid}/objections", json=body).status_code == 401
    made = clerk.post(
        f"/api/v1/resources/{rid}/objections",
        json={
            "key": {"身份证号": "110105194912310038"},
            "item": "姓名",
            "proposed_value": "李肆",
            "reason": "更名",
        },
    )
    assert made.status_code == 201 and made.json()["raised_by"] == "ga_clerk"
    assert made.json()["key"] == {"身份证号": "110105********0038"}  # a department user: L4 masked
    oid = made.json()["id"]
    assert client.get(f"/api/v1/objections/{oid}").json()["key"] == {
        "身份证号": "110105194912310038"
    }
    assert anon.get(f"/api/v1/objections/{oid}").status_code == 401
    assert anon.get("/api/v1/objections").json()["items"] == []
    data = client.get(f"/api/v1/resources/{rid}/data").json()["rows"]
    assert {r["身份证号"]: r["_疑义"] for r in data}["110105194912310038"] == [oid]
    assert (
        clerk.post(f"/api/v1/objections/{oid}/transitions", json={"to": "accepted"}).status_code
        == 403
    )  # answered by the providing department's data officer
    assert (
        client.post(f"/api/v1/objections/{oid}/transitions", json={"to": "closed"}).status_code
        == 409
    )
    assert (
        client.post(f"/api/v1/objections/{oid}/transitions", json={"to": "accepted"}).json()[
            "status"
        ]
        == "accepted"
    )
    up = clerk.post(f"/api/v1/objections/{oid}/attachment", files={"file": ("证明.txt", b"ok")})
    assert up.status_code == 200 and up.json()["attachment"] == "证明.txt"
    assert (
        client.post(
            f"/api/v1/resources/{rid}/objections",
            json={"key": {"身份证号": "nope"}, "item": "姓名", "reason": "r"},
        ).status_code
        == 404
    )
    assert client.get("/api/v1/objections?status=bogus").status_code == 422
    assert len(client.get("/api/v1/objections?status=accepted").json()["items"]) == 1
    assert client.get("/api/v1/objections/999").status_code == 404
    assert (
        "李肆" in client.get(f"/objections/{oid}").text
        and "疑义 #" in client.get(f"/resources/{rid}").text
    )


def test_many_objections_in_one_read(config: Config, loaded: dict) -> None:
    """A base build raising its 重号 at once: one pass over the table, records that do not
    exist left out, one bad item refusing the batch."""
    from shuhai.quality.corrections import raise_objections

    items = [
        {"key": {"身份证号": k}, "item": "姓名", "reason": "重号"}
        for k in ("11010519491231002X", "110105194912310038", "110105190001010000")
    ]
    made = raise_objections(config, loaded["id"], items, actor="基础库:人口")
    assert [o["key"]["身份证号"] for o in made] == ["11010519491231002X", "110105194912310038"]
    assert [o["current_value"] for o in made] == ["张三", "李四"]
    with pytest.raises(InvalidInput):
        raise_objections(config, loaded["id"], [*items, {"key": {}, "item": "x"}], actor="x")
    assert len(list_objections(config)) == 2  # the refused batch added nothing
