"""Rules as data, one query per version, stored results and scores; bad rules are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.demo.population import make_uscc
from shuhai.errors import InvalidInput, NotFound
from shuhai.ingest import ingest
from shuhai.quality import (
    default_rules,
    department_scores,
    failing_rows,
    list_rules,
    quality_history,
    run_quality,
    set_rules,
    wait_for_checks,
)
from shuhai.web.app import create_app
from tests.conftest import PASSWORD, session_token, signed_client, write

ITEMS = [
    {"name": "身份证号", "data_type": "C", "required": True},
    {"name": "姓名", "data_type": "C", "required": True},
    {"name": "性别", "data_type": "C"},
    {"name": "出生日期", "data_type": "D"},
    {"name": "联系电话", "data_type": "C"},
    {"name": "单位统一社会信用代码", "data_type": "C"},
]
GOOD_USCC = make_uscc("91350100", "M000100Y")
BAD_USCC = GOOD_USCC[:17] + ("1" if GOOD_USCC[17] != "1" else "2")
ROWS = [
    f"11010519491231002X,张三,2,1949-12-31,13800138000,{GOOD_USCC}",  # all good
    f"110105194912310021,李四,2,1949-12-31,13800138000,{GOOD_USCC}",  # bad ID check character
    f"110105194912310038,王五,2,1949-12-31,12800138000,{BAD_USCC}",  # sex disagrees with the ID, bad phone and USCC
    "11010519491231002X,张三,2,1949-12-31,13800138000,",  # duplicate ID
]


@pytest.fixture
def loaded(config: Config, tmp_path: Path) -> dict:
    cat = Catalog(config)
    cat.add_department({"name": "市公安局", "code": "GA"})
    res = cat.register(
        {
            "name": "人口",
            "department": "GA",
            "classification": "101001",
            "items": ITEMS,
            "key_columns": ["身份证号"],
        }
    )
    header = ",".join(it["name"] for it in ITEMS)
    ingest(
        config, res["code"], str(write(tmp_path / "p.csv", header + "\n" + "\n".join(ROWS) + "\n"))
    )
    wait_for_checks()  # the automatic check runs in the background
    return res


def test_defaults_are_inferred_from_item_names() -> None:
    rules = {(r.item, r.kind) for r in default_rules(ITEMS, ["身份证号"])}
    assert rules == {
        ("身份证号", "ric"),
        ("身份证号", "not_null"),
        ("姓名", "not_null"),
        ("性别", "sex_code"),
        ("联系电话", "phone"),
        ("单位统一社会信用代码", "uscc"),
        ("身份证号", "unique"),
        ("出生日期", "ric_birth_date"),
        ("性别", "ric_sex"),
    }


def test_quality_runs_after_ingest_and_finds_each_flaw(config: Config, loaded: dict) -> None:
    history = quality_history(config, loaded["id"])
    assert len(history) == 1 and history[0]["lake_version"] == 0  # run by the after_ingest hook
    results = {(r["item"], r["kind"]): r for r in history[0]["results"]}
    assert results[("身份证号", "ric")]["failed"] == 1
    assert results[("身份证号", "unique")]["failed"] == 2
    assert (
        results[("性别", "ric_sex")]["failed"] == 1
    )  # 王五: odd sequence digit (男) but recorded 2
    assert results[("出生日期", "ric_birth_date")]["failed"] == 0
    assert results[("联系电话", "phone")]["failed"] == 1
    assert results[("单位统一社会信用代码", "uscc")]["failed"] == 1
    assert (
        results[("单位统一社会信用代码", "uscc")]["checked"] == 3
    )  # the empty value is not checked
    scores = history[0]["scores"]
    assert set(scores) == {"规范性", "完整性", "准确性", "一致性", "时效性", "可访问性", "overall"}
    assert 0 < scores["准确性"] < 1 and scores["可访问性"] == 1.0
    rows = failing_rows(config, history[0]["id"], rule_id=results[("身份证号", "ric")]["rule_id"])
    assert rows["total"] == 1 and rows["rows"][0]["身份证号"] == "110105194912310021"
    assert department_scores(config)[0]["code"] == "GA"


def test_declared_rules_replace_the_defaults(config: Config, loaded: dict) -> None:
    rules = set_rules(
        config,
        loaded["id"],
        [
            {"item": "姓名", "kind": "regex", "params": {"pattern": "张.*"}},
            {"item": "出生日期", "kind": "range", "params": {"min": "1950-01-01", "max": "today"}},
            {"item": "性别", "kind": "code_table", "params": {"values": ["1", "2"]}},
        ],
    )
    assert [r["kind"] for r in rules] == ["regex", "range", "code_table"]
    q = run_quality(config, loaded["id"])
    assert {r["kind"]: r["failed"] for r in q["results"]} == {
        "regex": 2,
        "range": 4,
        "code_table": 0,
    }


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ([{"item": "不存在", "kind": "ric"}], "rules[0].item"),
        ([{"item": "姓名", "kind": "magic"}], "rules[0].kind"),
        (
            [{"item": "姓名", "kind": "regex", "params": {"pattern": "(("}}],
            "rules[0].params.pattern",
        ),
        (
            [{"item": "出生日期", "kind": "ric"}],
            "rules[0]",
        ),  # ID rule on a date item: incompatible types
        ([{"item": "姓名", "kind": "reference", "params": {"resource": "x"}}], "rules[0].params"),
    ],
)
def test_bad_rules_are_refused_and_nothing_changes(
    config: Config, loaded: dict, rules: list, field: str
) -> None:
    before = list_rules(config, loaded["id"])
    with pytest.raises(InvalidInput) as info:
        set_rules(config, loaded["id"], rules)
    assert any(d["field"] == field for d in info.value.details)
    assert list_rules(config, loaded["id"]) == before


def test_reference_to_unknown_resource(config: Config, loaded: dict) -> None:
    with pytest.raises(NotFound):
        set_rules(
            config,
            loaded["id"],
            [{"item": "姓名", "kind": "reference", "params": {"resource": "999", "item": "x"}}],
        )


def test_quality_api(config: Config, loaded: dict) -> None:
    app = create_app(config)
    client = signed_client(app, config, "ga_officer", ["officer"], "GA")
    rid = loaded["id"]
    anon = TestClient(app, raise_server_exceptions=False)
    assert anon.post(f"/api/v1/resources/{rid}/quality", json={}).status_code == 401
    assert len(client.get(f"/api/v1/resources/{rid}/rules").json()["items"]) == 9
    bad = client.put(f"/api/v1/resources/{rid}/rules", json=[{"item": "nope", "kind": "ric"}])
    assert bad.status_code == 422 and bad.json()["code"] == "quality.invalid_rules"
    ran = client.post(f"/api/v1/resources/{rid}/quality", json={"version": 0})
    assert ran.status_code == 201 and ran.json()["lake_version"] == 0
    assert client.post(f"/api/v1/resources/{rid}/quality", json={"version": 7}).status_code == 404
    assert client.get("/api/v1/quality/999").status_code == 404
    assert len(client.get(f"/api/v1/resources/{rid}/quality").json()["items"]) == 2
    page = client.get("/quality")
    assert page.status_code == 200 and "市公安局" in page.text
    assert "数据质量" in client.get(f"/resources/{rid}").text


def test_rules_form_in_the_portal(config: Config, loaded: dict) -> None:
    client = TestClient(create_app(config), raise_server_exceptions=False)
    rid = loaded["id"]
    page = client.get(f"/resources/{rid}/rules")
    assert page.status_code == 200 and "kind: ric" in page.text
    anonymous = client.post(f"/resources/{rid}/rules", data={"rules": "[]", "csrf": ""})
    assert anonymous.status_code == 403 and list_rules(config, rid)  # no session, no CSRF token
    session_token(config, "ga_officer", ["officer"], "GA")  # the user exists; sign in as a person
    client.post("/login", data={"username": "ga_officer", "password": PASSWORD})
    page = client.get(f"/resources/{rid}/rules")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    forged = client.post(f"/resources/{rid}/rules", data={"rules": "[]", "csrf": "forged"})
    assert forged.status_code == 403 and list_rules(config, rid)
    bad = client.post(
        f"/resources/{rid}/rules", data={"rules": "- {item: 不存在, kind: ric}", "csrf": csrf}
    )
    assert bad.status_code == 422 and "不存在" in bad.text
    broken = client.post(
        f"/resources/{rid}/rules", data={"rules": "- {item: [unclosed", "csrf": csrf}
    )
    assert broken.status_code == 422 and "YAML" in broken.text
    assert len(list_rules(config, rid)) == 9  # nothing changed
    ok = client.post(
        f"/resources/{rid}/rules", data={"rules": "- {item: 联系电话, kind: mobile}", "csrf": csrf}
    )
    assert ok.status_code == 200 and "已保存" in ok.text
    assert [r["kind"] for r in list_rules(config, rid)] == ["mobile"]


def test_unique_flags_each_repeated_value_and_never_empty_cells(
    config: Config, tmp_path: Path
) -> None:
    cat = Catalog(config)
    cat.add_department({"name": "市市场监管局", "code": "SC"})
    res = cat.register(
        {
            "name": "企业",
            "department": "SC",
            "classification": "102001",
            "items": [
                {"name": "统一社会信用代码", "data_type": "C"},
                {"name": "名称", "data_type": "C"},
            ],
        }
    )
    body = "统一社会信用代码,名称\nA1,甲\nA1,乙\nB2,丙\n,丁\n,戊\nC3,己\n"
    ingest(config, res["code"], str(write(tmp_path / "e.csv", body)))
    set_rules(config, res["id"], [{"item": "统一社会信用代码", "kind": "unique"}])
    result = run_quality(config, res["id"])["results"][0]
    # the two A1 rows; two empty cells are not a repeated value and do not hide B2 or C3
    assert result["failed"] == 2
    assert sorted(s["line"] for s in result["samples"]) == [2, 3]
