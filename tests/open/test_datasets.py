"""Publishing (发布), withdrawal, the opening plan and what the public may read."""

from __future__ import annotations

import datetime as dt

import pytest

from shuhai.access.policy import Viewer, decide, operator
from shuhai.errors import Forbidden, InvalidInput, NotFound
from shuhai.open import figures, get_dataset, list_datasets, list_plan, plan, publish, withdraw


def test_published_dataset_carries_dcat_metadata_from_the_catalog(config, city) -> None:
    ds = get_dataset(config, city["air_ds"]["name"])
    assert ds["name"] == "204001-hb-00001"
    assert ds["title"] == "环境空气质量日报"
    assert ds["description"].startswith("全市各国控站点")
    assert ds["publisher"]["name"] == "市生态环境局"
    assert ds["frequency"] == "每日" and ds["licence"] == "CC-BY-4.0"
    assert ds["keywords"] == ["空气", "AQI", "环境监测"] and ds["theme"] == "资源环境"
    assert ds["rows"] == 5 and ds["lake_version"] == 0


def test_the_public_reads_only_published_items_and_never_core_ones(config, city) -> None:
    public = Viewer()
    air = decide(config, public, city["air"]["id"])
    assert air.allowed
    assert "联系人手机" in air.masking  # a personal item: masked for the public
    # an open resource that is not published is not readable by the public at all
    insured = decide(config, public, city["insured"]["id"])
    assert not insured.allowed and insured.code == "access.not_published"
    # republished with fewer items: the others disappear from what the public reads
    publish(
        config, city["air"]["code"], {"columns": ["监测日期", "空气质量指数"]}, viewer=operator()
    )
    assert decide(config, public, city["air"]["id"]).columns == ["监测日期", "空气质量指数"]


def test_not_open_resources_cannot_be_published_or_planned(config, city) -> None:
    with pytest.raises(Forbidden) as exc:
        publish(config, city["hidden"]["code"], viewer=operator())
    assert exc.value.code == "open.not_openable"
    with pytest.raises(Forbidden):
        plan(
            config, city["hidden"]["code"], year=2026, planned_date="2026-06-01", viewer=operator()
        )
    assert all(d["title"] != "个人参保缴费明细" for d in list_datasets(config))


def test_only_the_providing_departments_officer_publishes(config, city) -> None:
    other = Viewer("user", "hb_officer", city["air"]["department"]["id"], ("officer",))
    with pytest.raises(Forbidden):
        publish(config, city["insured"]["code"], viewer=other)
    own = Viewer("user", "rs_officer", city["insured"]["department"]["id"], ("officer",))
    assert publish(config, city["insured"]["code"], viewer=own)["title"] == "社会保险参保人员统计"
    clerk = Viewer("user", "rs_user", city["insured"]["department"]["id"], ("user",))
    with pytest.raises(Forbidden):
        withdraw(config, "203001-rs-00001", viewer=clerk, reason="试")


@pytest.mark.parametrize(
    ("meta", "code"),
    [
        ({"theme": "火星"}, "open.unknown_theme"),
        ({"licence": "WTFPL"}, "open.unknown_licence"),
        ({"columns": ["不存在"]}, "open.unknown_column"),
        ({"columns": []}, "open.no_columns"),
        ({"temporal_start": "2026-13-01"}, "open.bad_date"),
        ({"temporal_start": "2026-05-01", "temporal_end": "2026-01-01"}, "open.bad_period"),
        ({"title": "x" * 201}, "open.too_long"),
        ({"owner": "me"}, "open.unknown_field"),
    ],
)
def test_bad_metadata_is_refused_by_name(config, city, meta, code) -> None:
    with pytest.raises(InvalidInput) as exc:
        publish(config, city["air"]["code"], meta, viewer=operator())
    assert exc.value.code == code
    assert get_dataset(config, city["air_ds"]["name"])["columns"]  # the stored one is untouched


def test_withdrawn_dataset_disappears_and_comes_back(config, city) -> None:
    name = city["air_ds"]["name"]
    with pytest.raises(InvalidInput):
        withdraw(config, name, viewer=operator(), reason=" ")
    withdraw(config, name, viewer=operator(), reason="数据核查中")
    with pytest.raises(NotFound):
        get_dataset(config, name)
    assert not decide(config, Viewer(), city["air"]["id"]).allowed
    again = publish(config, city["air"]["code"], viewer=operator())
    assert again["name"] == name and again["keywords"] == ["空气", "AQI", "环境监测"]


def test_opening_plan_says_what_opened_on_time_and_what_is_overdue(config, city) -> None:
    year = dt.date.today().year
    plan(
        config, city["insured"]["code"], year=year, planned_date=f"{year}-01-01", viewer=operator()
    )
    plan(config, city["air"]["code"], year=year, planned_date=f"{year}-12-31", viewer=operator())
    with pytest.raises(InvalidInput):
        plan(
            config,
            city["air"]["code"],
            year=year,
            planned_date=f"{year + 1}-01-01",
            viewer=operator(),
        )
    shown = {e["resource"]["name"]: e for e in list_plan(config, year)["entries"]}
    assert shown["环境空气质量日报"]["status"] == "opened"  # published before the planned date
    overdue = dt.date.today() > dt.date(year, 1, 1)
    assert shown["社会保险参保人员统计"]["status"] == ("overdue" if overdue else "planned")
    publish(config, city["insured"]["code"], viewer=operator())
    late = {e["resource"]["name"]: e for e in list_plan(config, year)["entries"]}
    assert late["社会保险参保人员统计"]["status"] == ("opened_late" if overdue else "opened")


def test_figures_count_what_is_open(config, city) -> None:
    f = figures(config)
    assert f["datasets"] == 1 and f["departments"] == 1 and f["rows"] == 5
    assert f["timely"] == 1  # loaded today, updated daily
