"""The CKAN-compatible Action API driven by CKAN's own client (``ckanapi``) against a running
server, and CKAN's error shapes for bad calls."""

from __future__ import annotations

import time

import httpx
import pytest
from ckanapi import NotAuthorized, NotFound, RemoteCKAN, SearchQueryError, ValidationError


@pytest.fixture
def ckan(site: str) -> RemoteCKAN:
    return RemoteCKAN(site, user_agent="shuhai-tests")


NAME = "204001-hb-00001"


def test_catalog_through_ckanapi(ckan: RemoteCKAN) -> None:
    assert ckan.action.package_list() == [NAME]
    pkg = ckan.action.package_show(id=NAME)
    assert pkg["title"] == "环境空气质量日报" and pkg["organization"]["title"] == "市生态环境局"
    assert {t["name"] for t in pkg["tags"]} == {"空气", "AQI", "环境监测"}
    assert [r["format"] for r in pkg["resources"]] == ["CSV", "XLSX", "JSON", "Parquet"]
    assert ckan.action.resource_show(id=f"{NAME}.csv")["package_id"] == NAME
    assert ckan.action.organization_list() == ["hb"]
    assert (
        ckan.action.organization_show(id="hb", include_datasets=True)["packages"][0]["name"] == NAME
    )
    assert ckan.action.group_list() == ["environment-and-resources"]
    assert ckan.action.group_show(id="environment-and-resources")["package_count"] == 1
    assert "空气" in ckan.action.tag_list()
    assert "Search datasets" in ckan.action.help_show(name="package_search")


def test_package_search_with_chinese_fq_and_facets(ckan: RemoteCKAN) -> None:
    found = ckan.action.package_search(
        q="空气", fq="organization:hb res_format:CSV", rows=10, **{"facet.field": '["tags"]'}
    )
    assert found["count"] == 1 and found["results"][0]["name"] == NAME
    assert found["facets"]["tags"]["AQI"] == 1
    assert ckan.action.package_search(q="驾照")["count"] == 0
    assert ckan.action.package_search(fq='tags:"空气"')["count"] == 1
    with pytest.raises(SearchQueryError):
        ckan.action.package_search(fq="owner:me")
    # Solr fields inside q, as CKAN clients send them
    assert ckan.action.package_search(q="title:空气 organization:hb")["count"] == 1
    assert ckan.action.package_search(q='title:"空气质量" organization:rs')["count"] == 0
    with pytest.raises(SearchQueryError):
        ckan.action.package_search(q="secret:x")
    with pytest.raises(ValidationError):
        ckan.action.package_search(rows=1001)


def test_datastore_search_filters_totals_and_formats(ckan: RemoteCKAN) -> None:
    page = ckan.action.datastore_search(resource_id=NAME, limit=2)
    assert page["total"] == 5 and len(page["records"]) == 2
    assert [f["id"] for f in page["fields"]][:3] == ["_id", "监测日期", "监测站点"]
    assert page["records"][0]["联系人手机"] == "138****8000"  # masked for the public
    hit = ckan.action.datastore_search(
        resource_id=NAME, filters={"监测站点": "鼓楼五四路"}, sort="空气质量指数 desc"
    )
    assert hit["total"] == 2 and [r["空气质量指数"] for r in hit["records"]] == [61, 42]
    text = ckan.action.datastore_search(resource_id=NAME, q="仓山", fields="监测站点")
    assert {r["监测站点"] for r in text["records"]} == {"仓山师大"}
    lists = ckan.action.datastore_search(resource_id=f"{NAME}.csv", records_format="lists", limit=1)
    assert isinstance(lists["records"][0], list)
    csv_page = ckan.action.datastore_search(resource_id=NAME, records_format="csv", limit=2)
    assert csv_page["records"].count("\n") == 2
    no_total = ckan.action.datastore_search(resource_id=NAME, include_total=False)
    assert "total" not in no_total


def test_masked_items_cannot_be_searched_sorted_or_ranged(ckan: RemoteCKAN) -> None:
    with pytest.raises(NotAuthorized):
        ckan.action.datastore_search(resource_id=NAME, sort="联系人手机")
    with pytest.raises(NotAuthorized):
        ckan.action.datastore_search(resource_id=NAME, filters={"联系人手机": ["138", "139"]})
    with pytest.raises(ValidationError):
        ckan.action.datastore_search(resource_id=NAME, q={"联系人手机": "138"})
    one = ckan.action.datastore_search(resource_id=NAME, filters={"联系人手机": "13800138000"})
    assert one["total"] == 1  # a lookup of a value the caller already holds


def test_datastore_search_sql_is_read_only_and_sees_only_plain_open_items(ckan: RemoteCKAN) -> None:
    out = ckan.action.datastore_search_sql(
        sql=f'SELECT 监测站点, max(空气质量指数) AS top FROM "{NAME}" GROUP BY 1 ORDER BY 2 DESC'
    )
    assert out["records"][0] == {"监测站点": "晋安紫阳", "top": 70}
    for sql in (
        f'SELECT 联系人手机 FROM "{NAME}"',  # masked: not in SQL at all
        f'SELECT * FROM "{NAME}"; SELECT 1',
        "SELECT * FROM read_csv('/etc/passwd')",
        f"SELECT * FROM \"{NAME}\", read_parquet('/tmp/*.parquet')",
        'SELECT * FROM "203002-rs-00001"',  # never open
        "SELECT * FROM open_datasets",
    ):
        with pytest.raises((SearchQueryError, NotAuthorized, NotFound, ValidationError)):
            ckan.action.datastore_search_sql(sql=sql)
    with pytest.raises(NotAuthorized):
        ckan.action.datastore_search_sql(sql=f'DELETE FROM "{NAME}"')
    slow = f'SELECT count(*) FROM range(100000000000) a, "{NAME}" b'
    started = time.monotonic()
    with pytest.raises(SearchQueryError):
        ckan.action.datastore_search_sql(sql=slow)
    assert time.monotonic() - started < 30


def test_errors_have_ckans_shape_on_both_paths(site: str) -> None:
    for prefix in ("/api/3/action", "/api/action"):
        r = httpx.get(f"{site}{prefix}/package_show", params={"id": "nope"})
        assert r.status_code == 404
        body = r.json()
        assert body["success"] is False and body["error"]["__type"] == "Not Found Error"
        assert body["help"].endswith("help_show?name=package_show")
        r = httpx.post(f"{site}{prefix}/datastore_search", content=b"{not json")
        assert r.status_code == 409 and r.json()["error"]["__type"] == "Validation Error"
        r = httpx.get(f"{site}{prefix}/no_such_action")
        assert r.status_code == 404
        r = httpx.get(
            f"{site}{prefix}/datastore_search", params={"resource_id": NAME, "limit": "-1"}
        )
        assert r.status_code == 409
        r = httpx.get(f"{site}{prefix}/package_list", follow_redirects=False)
        assert r.status_code == 200 and r.json()["result"] == [NAME]
