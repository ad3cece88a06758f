"""The demo city: deterministic, ≥ 40 resources from 12 departments in four source formats,
flaws recorded in the ground truth, some rows left in quarantine, 20k persons in under a minute."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import polars as pl
from stdnum.cn import ric, uscc

from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.demo import build_demo
from shuhai.ingest import list_runs, platform_stats
from shuhai.platform import open_home


def test_twenty_thousand_persons_in_under_a_minute(tmp_path: Path) -> None:
    config = open_home(Config.from_env({}, home=str(tmp_path / "home")))
    started = time.perf_counter()
    summary = build_demo(config, persons=20_000, seed=11)
    assert time.perf_counter() - started < 60
    assert summary["departments"] == 12 and summary["resources"] >= 40
    stats = platform_stats(config)
    assert stats["resources_loaded"] == summary["resources"]
    assert stats["rows_quarantined"] > 0 and stats["rows"] > 50_000
    runs = list_runs(config, limit=200)
    assert all(r["status"] == "succeeded" for r in runs)
    assert all(r["rows_in"] == r["rows_loaded"] + r["rows_quarantined"] for r in runs)
    kinds = {r["source_kind"] for r in runs}
    assert {"csv", "xlsx", "sql", "jsonl"} <= kinds
    assert {"utf-8", "utf-8-sig", "gb18030"} <= {
        r["encoding"] for r in runs if r["source_kind"] == "csv"
    }
    assert len(Catalog(config).search("").facets["department"]) == 12


def test_ground_truth_matches_the_files(tmp_path: Path) -> None:
    config = open_home(Config.from_env({}, home=str(tmp_path / "home")))
    summary = build_demo(config, persons=3000, seed=5, load=False)
    out = Path(summary["output"])
    truth = pl.read_csv(out / "ground_truth.csv", infer_schema=False)
    flaws = set(truth["flaw"])
    assert {
        "bad_id_checksum",
        "bad_uscc_checksum",
        "bad_phone",
        "bad_date",
        "missing_required",
        "duplicate_row",
        "address_conflict",
        "excel_precision_loss",
        "ragged_row",
    } <= flaws
    bad_ids = truth.filter(pl.col("flaw") == "bad_id_checksum")
    assert not any(ric.is_valid(v) for v in bad_ids["value"].to_list())
    assert all(len(o) == 18 for o in bad_ids["original"].to_list())
    bad_uscc = truth.filter(pl.col("flaw") == "bad_uscc_checksum")
    assert not any(uscc.is_valid(v) for v in bad_uscc["value"].to_list())
    people = pl.read_csv(
        out / "GA" / "01_常住人口基本信息.csv", infer_schema=False, truncate_ragged_lines=True
    )
    flagged = bad_ids.filter(pl.col("resource_name") == "常住人口基本信息")
    for row, value in zip(
        flagged["row"].to_list()[:20], flagged["value"].to_list()[:20], strict=False
    ):
        assert people["身份证号"][int(row) - 1] == value
    records = pl.read_parquet(out / "truth_records.parquet")
    assert {"resource", "row", "pidx", "eidx"} <= set(records.columns)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["tables"]) >= 40 and manifest["updates"]


def test_same_seed_same_city(tmp_path: Path) -> None:
    def digest(name: str) -> str:
        config = open_home(Config.from_env({}, home=str(tmp_path / name)))
        out = Path(build_demo(config, persons=1000, seed=3, load=False)["output"])
        files = sorted(p for p in out.rglob("*") if p.suffix in (".csv", ".jsonl"))
        return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()

    assert digest("a") == digest("b")


def test_the_demo_holds_every_hard_linkage_case_with_its_truth(tmp_path: Path) -> None:
    from shuhai.demo.hard import CASES

    config = open_home(Config.from_env({}, home=str(tmp_path / "home")))
    out = Path(build_demo(config, persons=5000, seed=7, load=False)["output"])
    cases = pl.read_parquet(out / "truth_cases.parquet")
    assert set(cases["case"].unique().to_list()) == set(CASES)
    kids = pl.read_csv(out / "WJ" / "22_儿童健康档案信息.csv", infer_schema=False)
    assert kids["姓名"].str.contains("之[子女]$").any()  # newborn placeholders
    from openpyxl import load_workbook

    sheet = load_workbook(out / "JY" / "24_在校学生学籍信息.xlsx", read_only=True).active
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    students = pl.DataFrame(
        [[None if v is None else str(v) for v in r] for r in rows],
        schema=[str(h) for h in header],
        orient="row",
    )
    assert students["身份证号"].str.starts_with("G").any()
    assert set(students["性别"].drop_nulls().unique().to_list()) >= {"0", "9"}
    elderly = pl.read_csv(out / "WJ" / "23_老年人健康管理信息.csv", infer_schema=False)
    assert elderly.height > 0


def test_life_events_are_plausible(tmp_path: Path) -> None:
    """Nobody joins social insurance or registers for work as a child, nor drives before 18:
    every event is checked against the person's true birth date."""
    import sqlite3

    from shuhai.demo.population import make_city

    config = open_home(Config.from_env({}, home=str(tmp_path / "home")))
    out = Path(build_demo(config, persons=3000, seed=3, load=False)["output"])
    births = make_city(3000, 3).persons.select("pidx", "birth")
    truth = pl.read_parquet(out / "truth_records.parquet")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))

    def youngest(name: str, column: str) -> float:
        entry = next(t for t in manifest["tables"] if t["name"] == name)
        if entry["format"] == "sql":
            with sqlite3.connect(entry["source"].removeprefix("sqlite:///")) as con:
                frame = pl.read_database(f"SELECT * FROM {entry['table']}", con)
            frame = frame.with_columns(pl.all().cast(pl.String))
        else:
            frame = pl.read_csv(entry["source"], infer_schema=False)
        rows = truth.filter(pl.col("resource") == entry["resource"]).select("row", "pidx")
        dated = frame.with_row_index("row", offset=1).with_columns(pl.col("row").cast(pl.Int64))
        joined = dated.join(rows, on="row").join(births, on="pidx")
        event = joined[column].str.replace_all("/", "-").str.to_date(strict=False)
        age = ((event - joined["birth"]).dt.total_days() / 365.25).drop_nulls()
        assert age.len() > 0, name
        return float(age.min())

    assert youngest("参保人员信息", "参保日期") >= 15.9
    assert youngest("就业登记信息", "就业登记日期") >= 15.9
    assert youngest("机动车驾驶证信息", "初次领证日期") >= 17.9
