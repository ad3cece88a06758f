"""The lake: DuckDB SQL over a version, read-only and single-statement."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuhai.config import Config
from shuhai.errors import InvalidInput, NotFound
from shuhai.ingest import ingest
from shuhai.lake import LakeTable
from shuhai.lake.service import preview, sql_query
from tests.conftest import register_persons, write


@pytest.fixture
def loaded(config: Config, tmp_path: Path) -> dict:
    res = register_persons(config)
    ingest(
        config,
        res["code"],
        str(
            write(
                tmp_path / "a.csv",
                "身份证号,姓名,出生日期,月收入\n1,张三,2024-01-02,1.5\n2,李四,2023-01-02,2.5\n",
            )
        ),
    )
    ingest(
        config,
        res["code"],
        str(write(tmp_path / "b.csv", "身份证号,姓名,出生日期,月收入\n3,王五,2022-01-02,3\n")),
    )
    return res


def test_sql_over_any_version(config: Config, loaded: dict) -> None:
    latest = sql_query(config, loaded["id"], 'SELECT count(*) AS n, sum("月收入") AS s FROM t')
    assert latest["rows"] == [{"n": 3, "s": 7.0}]
    first = sql_query(config, loaded["id"], "SELECT count(*) AS n FROM t", version=0)
    assert first["rows"] == [{"n": 2}] and first["version"] == 0
    dated = sql_query(
        config, loaded["id"], "SELECT 姓名 FROM t WHERE 出生日期 < DATE '2023-06-01' ORDER BY 1"
    )
    assert [r["姓名"] for r in dated["rows"]] == ["李四", "王五"]


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE t",
        "SELECT 1; SELECT 2",
        "COPY t TO '/tmp/x.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELEC nonsense",
        "ATTACH '/tmp/x.db'",
    ],
)
def test_only_safe_reads(config: Config, loaded: dict, sql: str) -> None:
    with pytest.raises(InvalidInput):
        sql_query(config, loaded["id"], sql)


def test_preview_paging_and_system_columns(config: Config, loaded: dict) -> None:
    page = preview(config, loaded["id"], limit=1, offset=1)
    assert page["total"] == 3 and len(page["rows"]) == 1 and "_run_id" not in page["columns"]
    full = preview(config, loaded["id"], system_columns=True)
    assert {"_run_id", "_line"} <= set(full["columns"])
    with pytest.raises(InvalidInput):
        preview(config, loaded["id"], limit=0)


def test_no_data_yet(config: Config) -> None:
    with pytest.raises(NotFound):
        LakeTable(config.lake_dir, 42).dataset()
