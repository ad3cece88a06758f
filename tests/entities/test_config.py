"""Base-database configs are checked against the catalog; every problem is reported."""

from __future__ import annotations

import pytest

from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.db import session_scope
from shuhai.entities.config import validate_config
from shuhai.errors import InvalidInput


@pytest.fixture
def catalog(config: Config) -> Config:
    cat = Catalog(config)
    cat.add_department({"name": "公安", "code": "GA"})
    cat.add_department({"name": "人社", "code": "RS"})
    cat.register(
        {
            "name": "户籍",
            "department": "GA",
            "classification": "101001",
            "items": [
                {"name": "身份证号"},
                {"name": "姓名"},
                {"name": "出生日期", "data_type": "D"},
            ],
        }
    )
    cat.register(
        {
            "name": "参保",
            "department": "RS",
            "classification": "303001",
            "items": [{"name": "身份证号"}, {"name": "姓名"}, {"name": "社会保障号码"}],
        }
    )
    return config


GOOD = {
    "name": "人口基础库",
    "members": [
        {
            "resource": "户籍",
            "id": "身份证号",
            "attributes": {"姓名": "姓名", "出生日期": "出生日期"},
        },
        {
            "resource": "参保",
            "id": "身份证号",
            "attributes": {"姓名": "姓名", "社会保障号码": "社会保障号码"},
        },
    ],
    "authority": {"姓名": "户籍", "社会保障号码": "参保"},
}


def test_a_good_config(catalog: Config) -> None:
    with session_scope(catalog.database_url) as s:
        cfg = validate_config(s, GOOD)
    assert [m.resource for m in cfg.members] == ["户籍", "参保"]
    assert cfg.attributes == ["姓名", "出生日期", "社会保障号码"]
    assert set(cfg.authority) == {"姓名", "社会保障号码"}


def test_every_problem_is_reported(catalog: Config) -> None:
    bad = {
        "kind": "animal",
        "members": [
            {"resource": "不存在", "id": "x"},
            {"resource": "户籍", "id": "证件号", "attributes": {"姓名": "名字"}},
            {"resource": "参保", "id": "身份证号", "attributes": {"社会保障号码": "社会保障号码"}},
        ],
        "authority": [
            {"attribute": "社会保障号码", "resource": "参保"},
            {"attribute": "社会保障号码", "resource": "户籍"},
            {"attribute": "民族", "resource": "参保"},
        ],
    }
    with session_scope(catalog.database_url) as s, pytest.raises(InvalidInput) as info:
        validate_config(s, bad)
    fields = {d["field"] for d in info.value.details}
    assert {
        "kind",
        "members[0].resource",
        "members[1].id",
        "members[1].attributes.姓名",
        "authority.社会保障号码",
        "authority.民族",
    } <= fields
    assert info.value.status == 422


def _with_rules(rules: dict) -> dict:
    members = [dict(GOOD["members"][0]), {**GOOD["members"][1], "standardize": rules}]
    return {**GOOD, "members": members}


def test_standardization_rules_are_data(catalog: Config) -> None:
    import polars as pl

    from shuhai.entities.standardize import id_numbers

    with session_scope(catalog.database_url) as s:
        cfg = validate_config(
            s, _with_rules({"身份证号": {"prefixes": ["G", "L"], "remove": ["^身份证[:：]"]}})
        )
    fmt = cfg.members[1].id_format
    got = id_numbers(pl.Series(["L350102198001010011", "身份证：350102198001010011"]), fmt)
    assert got.to_list() == ["350102198001010011"] * 2
    assert cfg.members[0].id_format.prefixes == ("G",)  # the defaults where nothing is declared


def test_a_standardization_rule_that_does_not_compile_is_refused_by_name(catalog: Config) -> None:
    with session_scope(catalog.database_url) as s, pytest.raises(InvalidInput) as err:
        validate_config(
            s,
            _with_rules(
                {
                    "身份证号": {"remove": ["(unclosed"], "upgrade_15": "yes", "colour": 1},
                    "姓名": {"prefixes": ["X"]},
                }
            ),
        )
    fields = {d["field"]: d["error"] for d in err.value.details}
    assert "does not compile" in fields["members[1].standardize.身份证号.remove"]
    assert "members[1].standardize.身份证号.upgrade_15" in fields
    assert "unknown rules" in fields["members[1].standardize.身份证号"]
    assert "members[1].standardize.姓名" in fields  # not the ID or the sex column
