"""Portal pages: Chinese first, live figures, and an error page instead of a traceback."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_home_shows_live_figures(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    text = page.text
    assert "政务数据汇聚概况" in text and "隔离行 Quarantined rows" in text
    assert 'href="/runs/1"' in text and "市公安局" in text


def test_catalog_search_and_facets(client: TestClient) -> None:
    page = client.get("/catalog", params={"q": "人口"})
    assert page.status_code == 200 and "常住人口基本信息" in page.text and "提供部门" in page.text
    empty = client.get("/catalog", params={"q": "不存在的资源"})
    assert "没有找到匹配的资源" in empty.text


def test_resource_page_has_items_versions_runs_quarantine_preview(
    client: TestClient, loaded: dict
) -> None:
    text = client.get(f"/resources/{loaded['id']}").text
    for part in [
        "信息项",
        "数据版本",
        "导入记录",
        "隔离汇总",
        "数据预览",
        "110101199001011234",
        loaded["code"],
    ]:
        assert part in text, part
    old = client.get(f"/resources/{loaded['id']}", params={"version": 5})
    assert old.status_code == 200 and "版本 5 不存在" in old.text


def test_run_page_lists_quarantined_rows(client: TestClient) -> None:
    text = client.get("/runs/1").text
    assert "1.1E+17" in text and "精度已丢失" in text


def test_error_pages(client: TestClient) -> None:
    missing = client.get("/resources/999")
    assert (
        missing.status_code == 404
        and "资源 999 不存在" in missing.text
        and "Traceback" not in missing.text
    )
    assert client.get("/resources/abc").status_code == 422
    assert client.get("/nowhere").status_code == 404


def test_demo_banner(config, loaded) -> None:  # noqa: ANN001
    from shuhai.platform import DEMO_MARKER
    from shuhai.web.app import create_app

    (config.home / DEMO_MARKER).write_text("x")
    config.demo_mode = False
    text = TestClient(create_app(config)).get("/").text
    assert "演示数据" in text
