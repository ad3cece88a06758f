"""Chinese full-text search of the open catalog, the same on SQLite FTS5 and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuhai.access.policy import operator
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.errors import InvalidInput
from shuhai.open import publish, search, withdraw
from shuhai.open.search import compile_query, query_words, tokens

DATASETS = [
    (
        "RS",
        "社会保险参保人员统计",
        "城镇职工基本养老保险和医疗保险参保人数",
        ["参保", "养老"],
        "社保就业",
    ),
    ("MZ", "城乡最低生活保障对象", "全市最低生活保障户数和保障金额", ["救助"], "民生服务"),
    ("GA", "机动车驾驶证业务统计", "驾驶证申领、换证和注销的月度统计", ["车管"], "公共安全"),
    ("SCJG", "企业营业执照信息", "市场主体登记的营业执照电子证照", ["企业", "登记"], "市场监管"),
    ("HB", "环境空气质量日报", "国控站点每日空气质量指数 AQI", ["空气"], "资源环境"),
    ("JT", "公交线路与站点", "全市公共交通线路、站点和首末班时间", [], "道路交通"),
    ("XY", "统一社会信用代码赋码信息", "机关、事业单位和社会组织的信用代码", [], "信用服务"),
]


def _load(config: Config) -> None:
    cat = Catalog(config)
    for i, (dept, title, abstract, keywords, theme) in enumerate(DATASETS):
        cat.add_department({"name": f"市{dept}局", "code": dept}, update=True)
        res = cat.register(
            {
                "name": title,
                "department": dept,
                "classification": f"30{i + 1}001",
                "abstract": abstract,
                "items": [{"name": "统计期", "data_type": "C"}, {"name": "数量", "data_type": "N"}],
                "open_type": "无条件开放",
            }
        )
        publish(config, res["code"], {"keywords": keywords, "theme": theme}, viewer=operator())


def _titles(config: Config, q: str, **kw) -> list[str]:
    return [r["title"] for r in search(config, q, **kw)["results"]]


QUERIES = {
    "社保": ["社会保险参保人员统计"],  # synonym: 社保 → 社会保险 / 参保
    "低保": ["城乡最低生活保障对象"],  # synonym: 低保 → 最低生活保障
    "驾照": ["机动车驾驶证业务统计"],  # synonym: 驾照 → 驾驶证
    "医保": ["社会保险参保人员统计"],  # 医疗保险 in the description
    "营业执照": ["企业营业执照信息"],
    "信用代码": ["统一社会信用代码赋码信息"],  # parts of a longer word
    "公交 站点": ["公交线路与站点"],  # every word must match
    "空气 驾照": [],
    "AQI": ["环境空气质量日报"],
    "市JT": ["公交线路与站点"],  # the publisher's name, by prefix
}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_words_people_type_find_the_datasets_on_both_databases(backend, request, tmp_path) -> None:
    from shuhai.platform import open_home

    if backend == "sqlite":
        config = open_home(Config.from_env({}, home=str(tmp_path / "home")))
    else:
        url = request.getfixturevalue("pg_url")
        config = open_home(Config.from_env({}, home=str(tmp_path / "home"), database_url=url))
    _load(config)
    for q, expected in QUERIES.items():
        assert sorted(_titles(config, q)) == sorted(expected), q


def test_same_answers_and_order_on_sqlite_and_postgresql(pg_url: str, tmp_path: Path) -> None:
    from shuhai.platform import open_home

    lite = open_home(Config.from_env({}, home=str(tmp_path / "a")))
    pg = open_home(Config.from_env({}, home=str(tmp_path / "b"), database_url=pg_url))
    _load(lite)
    _load(pg)
    for q in [*QUERIES, "统计", "保障 金额", "城镇", ""]:
        a, b = search(lite, q), search(pg, q)
        assert [r["title"] for r in a["results"]] == [r["title"] for r in b["results"]], q
        assert a["facets"] == b["facets"], q


def test_results_say_why_they_matched_with_highlights(config: Config) -> None:
    _load(config)
    hit = search(config, "社保")["results"][0]
    assert hit["matched"][0]["word"] == "社保"
    assert hit["matched"][0]["matched"] in ("社会保险", "参保")
    assert "<mark>" in hit["highlight"]["title"]
    html = search(config, "<script>alert(1)</script> 空气")
    assert html["count"] == 0 or "<script>" not in str(html["results"])


def test_facets_filter_and_count_the_matches(config: Config) -> None:
    _load(config)
    everything = search(config, "")
    assert everything["count"] == len(DATASETS)
    assert everything["facets"]["theme"]["资源环境"] == 1
    only = search(config, "", filters={"theme": ["资源环境", "道路交通"]})
    assert sorted(r["title"] for r in only["results"]) == ["公交线路与站点", "环境空气质量日报"]
    assert search(config, "统计", filters={"department": ["市GA局"]})["count"] == 1
    with pytest.raises(InvalidInput):
        search(config, "", filters={"secret": ["x"]})


def test_sorting_and_paging(config: Config) -> None:
    _load(config)
    newest = _titles(config, "", sort="newest", limit=2)
    assert newest == ["统一社会信用代码赋码信息", "公交线路与站点"]
    assert (
        _titles(config, "", sort="title", limit=3, offset=1)
        == _titles(config, "", sort="title")[1:4]
    )
    with pytest.raises(InvalidInput):
        search(config, "", sort="random()")
    with pytest.raises(InvalidInput):
        search(config, "", limit=5000)


def test_withdrawn_dataset_is_not_found(config: Config) -> None:
    _load(config)
    withdraw(config, search(config, "驾照")["results"][0]["name"], viewer=operator(), reason="核查")
    assert search(config, "驾照")["count"] == 0


@pytest.mark.parametrize(
    "q",
    [
        "' OR 1=1 --",
        '"; DROP TABLE open_fts; --',
        "NEAR(a b) OR *",
        "社保)) OR ((x",
        ".*[a-z]+(?=",
        "<img src=x onerror=alert(1)>",
        "x" * 10_000,
        "🙂" * 50,
        "\x00\x01",
    ],
)
def test_hostile_queries_answer_cleanly(config: Config, q: str) -> None:
    _load(config)
    out = search(config, q)
    assert out["count"] >= 0
    assert search(config, "驾照")["count"] == 1  # the index is intact


def test_a_credit_code_offers_the_verification_page(config: Config) -> None:
    _load(config)
    out = search(config, "91350100M000100Y43")
    assert out["verify"]["kind"] == "uscc"
    assert out["verify"]["url"] == "/licences?number=91350100M000100Y43"
    assert search(config, "91350100M000100Y44")["verify"] is None  # wrong check character


def test_segmentation_keeps_catalog_words_whole() -> None:
    assert "社会保险" in tokens("城镇职工社会保险")
    assert query_words("的 数据") == []  # stop words only
    clause = compile_query("信用代码")[0]
    assert ["信用", "代码"] in clause.options
