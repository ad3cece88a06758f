"""In a real browser (Playwright + Debian's Chromium): home, catalog search, resource page."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from shuhai.config import Config
from shuhai.demo import build_demo
from shuhai.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("browser")
    config = Config.from_env({}, home=str(home / "home"))
    build_demo(config, persons=1500, seed=7)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is required under CI (make test installs it)")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield b
        b.close()


def test_home_search_resource(server: str, browser, tmp_path: Path) -> None:  # noqa: ANN001
    page = browser.new_page()
    page.goto(server + "/")
    assert "演示数据" in page.inner_text("body")
    figures = page.inner_text("#stats")
    assert "部门 Departments" in figures and "12" in figures
    page.fill("input[name=q]", "营业执照")
    page.keyboard.press("Enter")
    page.wait_for_url("**/catalog?q=*")
    page.wait_for_selector("text=企业营业执照信息")
    # typing in the catalog's box refreshes the results in place (HTMX)
    page.fill("input[name=q]", "人口")
    page.wait_for_selector("#results >> text=常住人口基本信息")
    assert "企业营业执照信息" not in page.inner_text("#results")
    page.click("#results >> text=常住人口基本信息")
    page.wait_for_selector("text=信息项")
    body = page.inner_text("body")
    for part in ["身份证号", "数据版本", "导入记录", "隔离汇总", "v1", "MERGE"]:
        assert part in body, part
    assert page.locator("#preview tr").count() == 21  # header + 20 rows
    page.screenshot(path=str(tmp_path / "resource.png"), full_page=True)
    page.close()
