"""Classification and grading proposals from names and values, and the officer's confirmation."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from shuhai.access import grading
from shuhai.config import Config
from shuhai.errors import InvalidInput
from shuhai.ingest import ingest
from tests.conftest import register_persons, write


@pytest.mark.parametrize(
    ("name", "level", "data_class"),
    [
        ("身份证号", "L4", "重要"),
        ("银行卡号", "L4", "重要"),
        ("接种日期", "L4", "重要"),
        ("联系电话", "L3", "重要"),
        ("户籍地址", "L3", "重要"),
        ("姓名", "L3", "重要"),
        ("罚款金额", "L2", "一般"),
        ("统一社会信用代码", "L1", "一般"),
        ("备用字段", "L2", "一般"),
    ],
)
def test_proposals_from_names(name: str, level: str, data_class: str) -> None:
    p = grading.propose(name)
    assert (p["level"], p["data_class"]) == (level, data_class) and p["reason"]


def test_values_reveal_an_id_column_with_a_bland_name() -> None:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]  # GB 11643

    def valid(body: str) -> str:
        return (
            body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
        )

    bodies = ["11010519491231002", "35010219800101001", "35010219920304002"]
    assert valid(bodies[0]) == "11010519491231002X"  # the standard's example
    ids = pl.Series([valid(b) for b in bodies] * 3)
    p = grading.propose("备用字段", ids)
    assert p["level"] == "L4" and p["masking"] == "id_number"


def test_officer_confirms_and_bad_grading_is_refused(config: Config, tmp_path: Path) -> None:
    res = register_persons(config)
    ingest(
        config,
        res["code"],
        str(
            write(
                tmp_path / "p.csv",
                "身份证号,姓名,出生日期,月收入\n11010519491231002X,张三,1949-12-31,1\n",
            )
        ),
    )
    proposals = {p["item"]: p for p in grading.propose_for_resource(config, res["id"])}
    assert proposals["身份证号"]["level"] == "L4" and proposals["身份证号"]["confirmed"] is None
    with pytest.raises(InvalidInput) as exc:
        grading.confirm(
            config,
            res["id"],
            {"姓名": {"data_class": "绝密", "level": "L9"}, "无此项": {}},
            actor="sec",
        )
    assert len(exc.value.details) == 3
    grading.confirm(
        config, res["id"], {"月收入": {"data_class": "重要", "level": "L3"}}, actor="sec"
    )
    levels = grading.levels_of(config, res["id"])
    assert levels["月收入"] == "L3" and levels["身份证号"] == "L4"
    again = {p["item"]: p for p in grading.propose_for_resource(config, res["id"])}
    assert again["月收入"]["confirmed"] == {"data_class": "重要", "level": "L3", "by": "sec"}
