"""Catalog registration, codes, search and facets — on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.errors import Conflict, InvalidInput, NotFound


def _seed(cat: Catalog) -> None:
    cat.add_department({"name": "市市场监督管理局", "code": "SCJG"})
    cat.add_department({"name": "市公安局", "code": "GA"})
    cat.register(
        {
            "name": "企业营业执照信息",
            "department": "SCJG",
            "classification": "105002",
            "items": [{"name": "统一社会信用代码", "required": True}],
            "format": "电子表格/xlsx",
            "update_cycle": "每日",
        }
    )
    cat.register(
        {
            "name": "常住人口基本信息",
            "department": "GA",
            "classification": "101001",
            "items": [{"name": "身份证号"}, {"name": "姓名"}],
            "abstract": "全市常住人口",
            "share_type": "有条件共享",
            "share_condition": "依申请",
            "update_cycle": "每月",
        }
    )
    cat.register(
        {
            "name": "机动车驾驶证信息",
            "department": "GA",
            "classification": "105001",
            "items": [{"name": "驾驶证号", "description": "驾驶证电子证照"}],
            "update_cycle": "每日",
        }
    )


def test_codes_follow_the_guide_format(any_config: Config) -> None:
    cat = Catalog(any_config)
    _seed(cat)
    codes = [r["code"] for r in cat.all()]
    assert "105002/SCJG-00001" in codes
    assert "101001/GA-00001" in codes and "105001/GA-00002" in codes  # sequence per provider
    assert cat.get("101001/GA-00001")["name"] == "常住人口基本信息"
    assert cat.get("常住人口基本信息")["code"] == "101001/GA-00001"


def test_chinese_search_finds_substrings_and_reordered_words(any_config: Config) -> None:
    cat = Catalog(any_config)
    _seed(cat)
    assert [r["name"] for r in cat.search("营业执照").items] == ["企业营业执照信息"]
    assert [r["name"] for r in cat.search("人口").items] == ["常住人口基本信息"]
    assert [r["name"] for r in cat.search("执照营业").items] == [
        "企业营业执照信息"
    ]  # bigram fallback
    assert [r["name"] for r in cat.search("电子证照").items] == [
        "机动车驾驶证信息"
    ]  # item description
    assert cat.search("医保").total == 0
    assert cat.search("%").total == 0 and cat.search("_").total == 0  # LIKE wildcards are literal


def test_facets_and_filters(any_config: Config) -> None:
    cat = Catalog(any_config)
    _seed(cat)
    result = cat.search("")
    assert result.total == 3
    deps = {f["value"]: f["count"] for f in result.facets["department"]}
    assert deps == {"GA": 2, "SCJG": 1}
    cycles = {f["value"]: f["count"] for f in result.facets["update_cycle"]}
    assert cycles == {"每日": 2, "每月": 1}
    assert cat.search("", department="GA", update_cycle="每日").total == 1
    assert cat.search("", share_type="有条件共享").items[0]["name"] == "常住人口基本信息"
    assert cat.search("", format="电子表格").total == 1


def test_duplicates_and_unknowns(any_config: Config) -> None:
    cat = Catalog(any_config)
    _seed(cat)
    with pytest.raises(Conflict):
        cat.add_department({"name": "另一个", "code": "GA"})
    with pytest.raises(Conflict):
        cat.register(
            {
                "name": "常住人口基本信息",
                "department": "GA",
                "classification": "101001",
                "items": [{"name": "x"}],
            }
        )
    with pytest.raises(InvalidInput) as info:
        cat.register(
            {
                "name": "新资源",
                "department": "NOPE",
                "classification": "101001",
                "items": [{"name": "x"}],
            }
        )
    assert info.value.code == "catalog.unknown_department"
    with pytest.raises(NotFound):
        cat.get(999)
    with pytest.raises(NotFound):
        cat.get("101001/GA-00099")
    with pytest.raises(InvalidInput):
        cat.search("", page=0)


def test_update_keeps_code_and_replaces_items(any_config: Config) -> None:
    cat = Catalog(any_config)
    _seed(cat)
    updated = cat.register(
        {
            "name": "常住人口基本信息",
            "department": "GA",
            "classification": "101001",
            "items": [{"name": "身份证号"}, {"name": "姓名"}, {"name": "民族"}],
            "update_cycle": "每日",
        },
        update=True,
    )
    assert updated["code"] == "101001/GA-00001"
    assert [i["name"] for i in updated["items"]] == ["身份证号", "姓名", "民族"]
