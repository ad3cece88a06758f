"""Row rules checked during the load (入湖即检): the verdict of a version is the same whether its
row rules were answered by the loads or by reading the version again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.db import Resource, session_scope
from shuhai.demo import build_demo
from shuhai.ingest import ingest, list_runs
from shuhai.lake import LakeTable
from shuhai.platform import open_home
from shuhai.quality import list_rules, quality_history, run_quality, set_rules
from shuhai.quality.engine import failing_rows
from shuhai.quality.rowcheck import row_level, rows_path, stored_failures
from tests.conftest import write


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Config:
    config = open_home(Config.from_env({}, home=str(tmp_path_factory.mktemp("demo") / "home")))
    build_demo(config, persons=1500, seed=7)
    return config


def _verdict(run: dict) -> list[tuple]:
    return [
        (r["rule_id"], r["kind"], r["checked"], r["failed"], repr(r["samples"]))
        for r in run["results"]
    ]


def _lines(config: Config, run: dict) -> set[tuple]:
    page = failing_rows(config, run["id"], limit=1_000_000)
    return {(row["_run_id"], row["_line"]) for row in page["rows"]}


def test_the_demo_city_gets_the_same_verdict_both_ways(demo: Config) -> None:
    with session_scope(demo.database_url) as s:
        resources = [
            {"id": r.id, "name": r.name}
            for r in s.scalars(select(Resource).where(Resource.lake_version.is_not(None)))
        ]
    assert len(resources) >= 40
    compared = row_rules = 0
    for res in resources:
        rid = res["id"]
        table = LakeTable(demo.lake_dir, rid)
        version = table.latest_version()
        rules = [r for r in list_rules(demo, rid) if r["enabled"]]
        runs = sorted({r["id"] for r in list_runs(demo, rid) if r["lake_version"] is not None})
        present = set(table.dataset(version).schema.names)
        usable = [r for r in rules if r["item"] in present]
        stored = stored_failures(demo, rid, runs, usable)
        # every row rule of every demo resource was answered by its loads
        assert sorted(stored) == [i for i, r in enumerate(usable) if row_level(r)], res["name"]
        row_rules += len(stored)
        fast = run_quality(demo, rid, version=version)
        kept = [rows_path(demo, rid, run) for run in runs if rows_path(demo, rid, run).exists()]
        for path in kept:
            path.rename(path.with_suffix(".kept"))
        try:
            slow = run_quality(demo, rid, version=version)
        finally:
            for path in kept:
                path.with_suffix(".kept").rename(path)
        assert _verdict(fast) == _verdict(slow), res["name"]
        assert (fast["rows"], fast["rows_failed"]) == (slow["rows"], slow["rows_failed"])
        assert fast["scores"] == slow["scores"]
        assert _lines(demo, fast) == _lines(demo, slow), res["name"]
        compared += 1
    assert compared == len(resources) and row_rules > 50


def test_a_version_made_of_several_loads_and_a_correction(config: Config, tmp_path: Path) -> None:
    cat = Catalog(config)
    cat.add_department({"name": "市公安局", "code": "GA"})
    res = cat.register(
        {
            "name": "人员",
            "department": "GA",
            "classification": "101001",
            "items": [
                {"name": "身份证号", "data_type": "C", "length": 18},
                {"name": "姓名", "data_type": "C", "length": 50},
                {"name": "手机号码", "data_type": "C", "length": 20},
            ],
            "key_columns": ["身份证号"],
        }
    )
    set_rules(
        config,
        res["id"],
        [
            {"item": "身份证号", "kind": "ric"},
            {"item": "身份证号", "kind": "unique"},
            {"item": "手机号码", "kind": "mobile"},
            {"item": "姓名", "kind": "length", "params": {"max": 3}},
        ],
    )
    first = write(
        tmp_path / "a.csv",
        "身份证号,姓名,手机号码\n11010519491231002X,张三,13800138000\n110105194912310021,李四四四,123\n",
    )
    second = write(
        tmp_path / "b.csv",
        "身份证号,姓名,手机号码\n11010519491231002X,王五,13900139000\n350102199001011238,赵六,abc\n",
    )
    ingest(config, res["id"], str(first))
    run = ingest(config, res["id"], str(second))
    from shuhai.quality.plugin import wait_for_checks

    wait_for_checks()
    fast = quality_history(config, res["id"])[-1]
    assert fast["lake_version"] == run["lake_version"]
    failed = {r["kind"]: r["failed"] for r in fast["results"]}
    # one bad checksum, one repeated ID across the two loads, two bad phones, one long name
    assert failed == {"ric": 1, "unique": 2, "mobile": 2, "length": 1}
    # a correction is checked like a load: the corrected phone passes, the version agrees
    from shuhai.quality.corrections import raise_objection, transition

    o = raise_objection(
        config,
        res["id"],
        {
            "key": {"身份证号": "350102199001011238"},
            "item": "手机号码",
            "proposed_value": "13700137000",
            "reason": "号码有误",
        },
        actor="test",
    )
    for to in ("accepted", "verifying", "corrected"):
        transition(config, o["id"], to, actor="test")
    wait_for_checks()
    correction = list_runs(config, res["id"])[0]
    assert correction["source_kind"] == "objection"
    assert rows_path(config, res["id"], correction["id"]).exists()
    after = quality_history(config, res["id"])[-1]
    assert after["lake_version"] == correction["lake_version"]
    assert {r["kind"]: r["failed"] for r in after["results"]}["mobile"] == 1
    # a changed rule is not answered by verdicts stored for the old one: the version is re-read
    set_rules(config, res["id"], [{"item": "姓名", "kind": "length", "params": {"max": 1}}])
    again = run_quality(config, res["id"])
    assert {r["kind"]: r["failed"] for r in again["results"]} == {"length": 4}
