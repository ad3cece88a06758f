"""SQL sources: a table or a query from SQLite, PostgreSQL and MariaDB, streamed in batches."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shuhai.config import Config
from shuhai.errors import RejectedFile
from shuhai.ingest import ingest
from shuhai.ingest.readers import open_source
from shuhai.lake.service import preview
from tests.conftest import register_persons

ROWS = [
    ("110101199001011234", "张三", "2024-01-02", 12.5),
    ("110101199001011235", "李四", None, None),
    ("bad", "王五", "2024-13-01", 1.0),
]


def _fill(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS persons"))
        conn.execute(
            text(
                "CREATE TABLE persons (身份证号 VARCHAR(18), 姓名 VARCHAR(50), 出生日期 VARCHAR(20), 月收入 NUMERIC(12,2))"
            )
        )
        for r in ROWS:
            conn.execute(
                text("INSERT INTO persons VALUES (:a, :b, :c, :d)"),
                {"a": r[0], "b": r[1], "c": r[2], "d": r[3]},
            )
    engine.dispose()


def _check_ingest(config: Config, url: str) -> None:
    res = register_persons(config)
    run = ingest(config, res["code"], url, table="persons")
    assert (run["rows_in"], run["rows_loaded"], run["rows_quarantined"]) == (
        3,
        2,
        1,
    )  # 2024-13-01 is no date
    data = preview(config, res["id"], limit=10)
    assert sorted(r["姓名"] for r in data["rows"]) == ["张三", "李四"]
    assert {r["月收入"] for r in data["rows"]} == {12.5, None}
    assert run["source_kind"] == "sql" and len(run["source_sha256"]) == 64
    assert "password" not in run["source"]
    run2 = ingest(
        config, res["code"], url, query="SELECT * FROM persons WHERE 姓名 = '张三'", mode="replace"
    )
    assert run2["rows_loaded"] == 1


def test_sqlite(config: Config, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dept.db'}"
    _fill(url)
    _check_ingest(config, url)


def test_postgresql(config: Config, pg_url: str) -> None:
    _fill(pg_url)
    _check_ingest(config, pg_url.replace("postgresql+psycopg://", "postgresql://"))


def test_mariadb(config: Config, mariadb_url: str) -> None:
    _fill(mariadb_url)
    _check_ingest(config, mariadb_url.replace("mysql+pymysql://", "mysql://"))


def test_bad_targets(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    sqlite3.connect(db).close()
    url = f"sqlite:///{db}"
    with pytest.raises(RejectedFile):
        open_source(url, table="nope")
    with pytest.raises(RejectedFile):
        open_source(url, query="DELETE FROM x")
    with pytest.raises(RejectedFile):
        open_source(url)
    with pytest.raises(RejectedFile) as info:
        open_source("postgresql://nobody:secret@127.0.0.1:1/none", table="t")
    assert info.value.code == "ingest.sql_connect" and "secret" not in info.value.message
