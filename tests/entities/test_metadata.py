"""Base-database metadata (configs, builds, review pairs, events) on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.demo.population import make_city
from shuhai.entities.build import build_base
from shuhai.entities.service import get_base, list_builds, save_base, search_files
from shuhai.ingest import ingest

CONFIG = {
    "name": "人口库",
    "members": [
        {
            "resource": "户籍",
            "id": "身份证号",
            "attributes": {"姓名": "姓名", "出生日期": "出生日期"},
        },
        {"resource": "参保", "id": "身份证号", "attributes": {"姓名": "姓名"}},
    ],
    "authority": {"姓名": "户籍"},
}


def test_base_lifecycle_on_each_metadata_database(any_config: Config, tmp_path: Path) -> None:
    cat = Catalog(any_config)
    cat.add_department({"name": "公安", "code": "GA"})
    cat.add_department({"name": "人社", "code": "RS"})
    for name, dept, cls in (("户籍", "GA", "101001"), ("参保", "RS", "303001")):
        cat.register(
            {
                "name": name,
                "department": dept,
                "classification": cls,
                "items": [
                    {"name": "身份证号"},
                    {"name": "姓名"},
                    {"name": "出生日期", "data_type": "D"},
                ],
            }
        )
    people = make_city(400, 9).persons.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        pl.col("birth").cast(pl.String).alias("出生日期"),
    )
    people.write_csv(tmp_path / "a.csv")
    # 参保 holds some of them, one with a wrong check character
    some = people.head(150).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("身份证号").str.slice(0, 17) + "0")
        .otherwise(pl.col("身份证号"))
        .alias("身份证号")
    )
    some.write_csv(tmp_path / "b.csv")
    ingest(any_config, "户籍", str(tmp_path / "a.csv"))
    ingest(any_config, "参保", str(tmp_path / "b.csv"))
    assert save_base(any_config, CONFIG)["config_version"] == 1
    first = build_base(any_config, "人口库")
    assert first["status"] == "succeeded" and first["counts"]["files"] == 400
    assert search_files(any_config, "人口库", people["身份证号"][5])["total"] == 1
    changed = {**CONFIG, "thresholds": {"link": 0.9, "review": 0.5}}
    assert save_base(any_config, changed)["config_version"] == 2
    second = build_base(any_config, "人口库")
    assert second["mode"] == "full"  # a new config version relinks everything
    assert [b["id"] for b in list_builds(any_config, "人口库")] == [second["id"], first["id"]]
    assert get_base(any_config, "人口库")["last_build"]["id"] == second["id"]


def test_a_build_left_running_by_a_dead_process_is_marked_interrupted(config: Config) -> None:
    from shuhai.db import BaseBuild, BaseDatabase, session_scope
    from shuhai.entities.build import recover_builds

    with session_scope(config.database_url) as s:
        base = BaseDatabase(name="x", kind="person", config="{}", config_version=1)
        s.add(base)
        s.flush()
        s.add(
            BaseBuild(
                base_id=base.id,
                mode="full",
                status="running",
                config_version=1,
                counts={"host": __import__("socket").gethostname(), "pid": 2**22 + 12345},
            )
        )
    assert recover_builds(config) == 1
    with session_scope(config.database_url) as s:
        assert s.query(BaseBuild).one().status == "interrupted"
