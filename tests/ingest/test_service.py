"""Ingest runs: one atomic version per run, modes, run records that add up, traceability."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from shuhai.config import Config
from shuhai.errors import InvalidInput, NotFound
from shuhai.ingest import get_run, ingest, list_runs, platform_stats, quarantine_rows
from shuhai.lake.service import list_versions, preview
from tests.conftest import register_persons, write

HEADER = "身份证号,姓名,出生日期,月收入\n"


def csv(tmp_path: Path, name: str, rows: list[str]) -> Path:
    return write(tmp_path / name, HEADER + "".join(r + "\n" for r in rows))


def test_run_record_traces_source_and_adds_up(any_config: Config, tmp_path: Path) -> None:
    res = register_persons(any_config)
    src = csv(
        tmp_path,
        "a.csv",
        [
            '110101199001011234,张三,2024/1/2,"1,000"',
            "1.10101E+17,李四,2024-01-02,1",
            "110101199001011236,王五,2024-02-30,1",
        ],
    )
    run = ingest(any_config, res["code"], str(src))
    assert run["status"] == "succeeded" and run["lake_version"] == 0
    assert run["rows_in"] == run["rows_loaded"] + run["rows_quarantined"] == 3
    assert run["rows_loaded"] == 1
    assert run["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert run["encoding"] == "utf-8" and run["duration_ms"] is not None
    assert {(q["column"], q["reason_code"]) for q in run["quarantine"]} == {
        ("身份证号", "precision_loss"),
        ("出生日期", "bad_date"),
    }
    page = quarantine_rows(any_config, run["id"])
    assert [r["_line"] for r in page["rows"]] == [3, 4]
    versions = list_versions(any_config, res["id"])
    assert versions[0]["run_id"] == run["id"] and versions[0]["sha256"] == run["source_sha256"]
    stats = platform_stats(any_config)
    assert (stats["resources"], stats["rows"], stats["versions"], stats["rows_quarantined"]) == (
        1,
        1,
        1,
        2,
    )


def test_append_replace_upsert_and_time_travel(config: Config, tmp_path: Path) -> None:
    res = register_persons(config)
    ingest(
        config, res["code"], str(csv(tmp_path, "1.csv", ["110101199001011234,张三,2024-01-02,1"]))
    )
    ingest(
        config,
        res["code"],
        str(csv(tmp_path, "2.csv", ["110101199001011235,李四,2024-01-02,2"])),
        mode="append",
    )
    up = ingest(
        config,
        res["code"],
        str(
            csv(
                tmp_path,
                "3.csv",
                [
                    "110101199001011234,张三丰,2024-01-02,9",
                    "110101199001011234,张三丰二,2024-01-02,10",
                    "110101199001011236,王五,2024-01-02,3",
                ],
            )
        ),
        mode="upsert",
    )
    assert up["lake_version"] == 2 and up["rows_quarantined"] == 1  # the earlier duplicate key
    latest = {r["身份证号"]: r["姓名"] for r in preview(config, res["id"], limit=100)["rows"]}
    assert latest == {
        "110101199001011234": "张三丰二",
        "110101199001011235": "李四",
        "110101199001011236": "王五",
    }
    assert preview(config, res["id"], version=0)["total"] == 1
    assert preview(config, res["id"], version=1)["total"] == 2
    rep = ingest(
        config,
        res["code"],
        str(csv(tmp_path, "4.csv", ["110101199001011299,赵六,2024-01-02,4"])),
        mode="replace",
    )
    assert rep["lake_version"] == 3 and preview(config, res["id"])["total"] == 1
    assert preview(config, res["id"], version=2)["total"] == 3  # history is kept
    ops = [v["operation"] for v in list_versions(config, res["id"])]
    assert len(ops) == 4 and ops[1] == "MERGE"
    with pytest.raises(NotFound):
        preview(config, res["id"], version=9)


def test_all_rows_quarantined_makes_no_version(config: Config, tmp_path: Path) -> None:
    res = register_persons(config)
    run = ingest(config, res["code"], str(csv(tmp_path, "a.csv", [",无证件,2024-01-01,1"])))
    assert run["status"] == "quarantined" and run["lake_version"] is None
    assert (run["rows_in"], run["rows_loaded"], run["rows_quarantined"]) == (1, 0, 1)
    assert list_versions(config, res["id"]) == []


def test_missing_required_column_rejects_the_file(config: Config, tmp_path: Path) -> None:
    res = register_persons(config)
    src = write(tmp_path / "a.csv", "姓名\n张三\n")
    with pytest.raises(InvalidInput) as info:
        ingest(config, res["code"], str(src))
    assert info.value.code == "ingest.missing_columns" and "身份证号" in info.value.message


def test_bad_parameters(config: Config, tmp_path: Path) -> None:
    res = register_persons(config)
    src = csv(tmp_path, "a.csv", ["110101199001011234,张三,2024-01-02,1"])
    with pytest.raises(InvalidInput):
        ingest(config, res["code"], str(src), mode="merge")
    with pytest.raises(InvalidInput):
        ingest(config, res["code"], str(src), mode="upsert", key=["不存在"])
    with pytest.raises(NotFound):
        ingest(config, "101001/GA-00099", str(src))
    with pytest.raises(NotFound):
        get_run(config, 999)
    assert (
        list_runs(config, res["id"]) == []
    )  # refused before any run started: nothing recorded, nothing written


def test_memory_stays_bounded_on_a_larger_file(config: Config, tmp_path: Path) -> None:
    """Blocks are typed and written one at a time: 20 blocks, every row accounted for."""
    res = register_persons(config)
    body = "".join(f"1101011990{i:08d},人{i},2024-01-01,{i}\n" for i in range(100_000))
    src = write(tmp_path / "big.csv", HEADER + body)
    config.block_bytes = 200 * 1024
    run = ingest(config, res["code"], str(src))
    assert run["rows_loaded"] == 100_000
    parts = list((config.lake_dir / f"r{res['id']}").glob("*.parquet"))
    assert len(parts) > 10


def test_a_run_left_running_by_a_dead_process_is_marked_interrupted(
    config: Config, tmp_path: Path
) -> None:
    import socket
    import subprocess

    from shuhai.db import IngestRun, session_scope
    from shuhai.ingest.service import recover_interrupted

    res = register_persons(config)
    dead = subprocess.Popen(["true"])
    dead.wait()
    with session_scope(config.database_url) as s:
        s.add(
            IngestRun(
                resource_id=res["id"],
                source="x.csv",
                source_kind="csv",
                mode="append",
                status="running",
                options={"pid": dead.pid, "host": socket.gethostname()},
            )
        )
        s.add(
            IngestRun(
                resource_id=res["id"],
                source="y.csv",
                source_kind="csv",
                mode="append",
                status="running",
                options={"pid": os.getpid(), "host": socket.gethostname()},
            )
        )
    assert recover_interrupted(config) == 1
    statuses = sorted(r["status"] for r in list_runs(config, res["id"]))
    assert statuses == ["interrupted", "running"]


def test_items_added_to_the_catalog_appear_in_the_next_load(config: Config, tmp_path: Path) -> None:
    from shuhai.catalog import Catalog

    cat = Catalog(config)
    cat.add_department({"name": "公安", "code": "GA"})
    spec = {
        "name": "人口",
        "department": "GA",
        "classification": "101001",
        "items": [{"name": "身份证号"}, {"name": "姓名"}],
    }
    res = cat.register(spec)
    ingest(config, res["code"], str(write(tmp_path / "a.csv", "身份证号,姓名\n1,张三\n")))
    cat.register({**spec, "items": [*spec["items"], {"name": "民族"}]}, update=True)
    run = ingest(
        config, res["code"], str(write(tmp_path / "b.csv", "身份证号,姓名,民族\n2,李四,汉族\n"))
    )
    rows = {r["身份证号"]: r for r in preview(config, res["id"])["rows"]}
    assert rows["2"]["民族"] == "汉族" and rows["1"]["民族"] is None
    assert preview(config, res["id"], version=0)["columns"] == ["身份证号", "姓名"]
    versions = list_versions(config, res["id"])
    assert (
        versions[0]["version"] == run["lake_version"] and versions[1]["run_id"] == run["id"]
    )  # schema change cites the run
    up = ingest(
        config,
        res["code"],
        str(write(tmp_path / "c.csv", "身份证号,姓名,民族\n1,张三,回族\n")),
        mode="upsert",
        key=["身份证号"],
    )
    assert up["status"] == "succeeded"
    assert {r["身份证号"]: r["民族"] for r in preview(config, res["id"])["rows"]} == {
        "1": "回族",
        "2": "汉族",
    }


def test_first_load_may_be_an_upsert(config: Config, tmp_path: Path) -> None:
    res = register_persons(config)
    run = ingest(
        config,
        res["code"],
        str(csv(tmp_path, "a.csv", ["110101199001011234,张三,2024-01-02,1"])),
        mode="upsert",
    )
    assert run["lake_version"] == 0 and preview(config, res["id"])["total"] == 1
