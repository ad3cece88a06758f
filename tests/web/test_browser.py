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
from shuhai.demo.accounts import DEMO_PASSWORD
from shuhai.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
HOMES: dict[str, Path] = {}


def server_home(url: str) -> Path:
    return HOMES[url]


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
    url = f"http://127.0.0.1:{port}"
    HOMES[url] = config.home
    yield url
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


def sign_in(page, server: str, username: str, then: str = "/") -> None:  # noqa: ANN001
    page.goto(server + "/login?next=" + then)
    assert DEMO_PASSWORD in page.inner_text("#demo-accounts")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_selector("header .who")


def test_home_search_resource(server: str, browser, tmp_path: Path) -> None:  # noqa: ANN001
    page = browser.new_page()
    # Not signed in: the catalog entry is public, the rows of a resource that is not open are not.
    page.goto(server + "/catalog?q=常住人口")
    page.click("#results >> text=常住人口基本信息")
    page.wait_for_selector("text=信息项")
    assert "请先登录" in page.inner_text("body") and page.locator("#preview tr").count() == 0
    sign_in(page, server, "rs_user", then=page.url.removeprefix(server))  # another department
    page.wait_for_selector("#preview")
    assert page.locator("#preview tr").count() == 21
    assert "********" in page.inner_text("#preview")
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
    assert "********" in page.inner_text("#preview")  # still 人社's user: masked
    page.screenshot(path=str(tmp_path / "resource.png"), full_page=True)
    page.close()


def test_person_profile_and_review_in_the_browser(server: str, browser, tmp_path: Path) -> None:  # noqa: ANN001
    page = browser.new_page()
    sign_in(page, server, "ga_officer")
    page.click("header >> text=基础库 Bases")
    page.wait_for_selector("text=人口基础库")
    page.click("text=人口基础库")
    page.wait_for_selector("text=查找档案")
    first = page.locator("table a.mono").first
    name = page.locator("table tr").nth(1).locator("td").nth(1).inner_text()
    page.fill("input[name=q]", name)
    page.keyboard.press("Enter")
    page.wait_for_url("**/bases/*?q=*")
    first = page.locator("table a.mono").first
    first.click()
    page.wait_for_selector("text=标准信息")
    body = page.inner_text("body")
    for part in ["一人一档", name, "权威来源", "时间线", "来源记录", "常住人口基本信息", "出生"]:
        assert part in body, part
    page.screenshot(path=str(tmp_path / "profile.png"), full_page=True)
    # The review queue opens a pair side by side; a decision returns to the queue.
    page.goto(server + "/bases/人口基础库/reviews?status=all")
    assert "人工复核" in page.inner_text("body")
    links = page.locator("table td a")
    if links.count():
        links.first.click()
        page.wait_for_selector("text=候选档案")
        assert "待关联记录" in page.inner_text("body")
    page.goto(server + "/licences?number=NO-SUCH")
    assert "未找到" in page.inner_text("body")
    page.close()


def test_apply_approve_and_audit_in_the_browser(server: str, browser, tmp_path: Path) -> None:  # noqa: ANN001
    """民政's user applies for 人社's 失业登记信息, 人社's officer approves it, the auditor finds
    the approval in the trail (signing in with the one-time code)."""
    import json

    import pyotp

    applicant = browser.new_page()
    sign_in(applicant, server, "mz_user", then="/share")
    applicant.select_option("#apply-resource", label="失业登记信息（福州市人力资源和社会保障局）")
    applicant.wait_for_selector("#apply-items input[value='身份证号']")
    applicant.check("#apply-items input[value='身份证号']")
    applicant.check("#apply-items input[value='姓名']")
    applicant.fill("input[name=purpose]", "低保资格核查")
    applicant.fill("input[name=legal_basis]", "《社会救助暂行办法》")
    applicant.fill("input[name=period_end]", "2027-06-30")
    applicant.click("#apply-form button")
    applicant.wait_for_selector("text=低保资格核查")
    assert "待审核" in applicant.inner_text("body")
    provider = browser.new_page()
    sign_in(provider, server, "rs_officer", then="/share")
    row = provider.locator("tr", has_text="低保资格核查").first
    row.locator("button[value=approve]").click()
    provider.wait_for_selector("text=已批准")
    applicant.reload()
    grants = applicant.inner_text("body").split("本部门的授权")[1].split("待本部门审核")[0]
    assert "失业登记信息" in grants and "身份证号、姓名" in grants
    provider.screenshot(path=str(tmp_path / "share.png"), full_page=True)
    # the auditor: password and a one-time code from the demo's accounts file
    home = Path(server_home(server))
    accounts = {a["username"]: a for a in json.loads((home / "demo_accounts.json").read_text())}
    auditor = browser.new_page()
    auditor.goto(server + "/login?next=/audit")
    auditor.fill("input[name=username]", "auditor")
    auditor.fill("input[name=password]", DEMO_PASSWORD)
    auditor.fill("input[name=totp]", pyotp.TOTP(accounts["auditor"]["totp_secret"]).now())
    auditor.click("form[action='/login'] button")
    auditor.wait_for_selector("#audit-filter")
    auditor.fill("#audit-filter input[name=action]", "share.decide")
    auditor.click("#audit-filter button")
    auditor.wait_for_selector("#audit-entries >> text=rs_officer")
    assert "share.decide" in auditor.inner_text("#audit-entries")
    for page in (applicant, provider, auditor):
        page.close()


def test_open_data_search_preview_download(server: str, browser, tmp_path: Path) -> None:  # noqa: ANN001
    """The public's path (公众): the home page is the open-data portal; search in Chinese, open
    a dataset, see its preview, download it as CSV, and find the API example."""
    page = browser.new_page(accept_downloads=True)
    page.goto(server + "/")
    page.wait_for_url("**/open")
    assert "公共数据开放平台" in page.inner_text("h1")
    assert "/tmp" not in page.content() and "sqlite:" not in page.content()  # no server paths
    page.fill("#open-q", "营业执照")
    page.keyboard.press("Enter")
    page.wait_for_url("**/open/datasets?q=*")
    hit = page.locator("article.result", has_text="企业营业执照信息")
    assert hit.count() == 1 and hit.locator("mark").count() >= 1
    assert "匹配" in hit.inner_text()
    hit.locator("h3 a").click()
    page.wait_for_selector("text=数据预览")
    assert page.locator("table tr").count() > 5
    assert "datastore_search" in page.inner_text("pre.code")
    with page.expect_download() as info:
        page.click("text=下载 CSV")
    path = tmp_path / "dl.csv"
    info.value.save_as(path)
    body = path.read_bytes()
    assert body.startswith(b"\xef\xbb\xbf") and "统一社会信用代码".encode() in body.splitlines()[0]
    # a theme facet narrows the list; on a phone the facets sit above the results
    page.goto(server + "/open/datasets")
    page.click("aside >> text=市场监管")
    page.wait_for_url("**theme=*")
    assert "✓" in page.inner_text("aside")
    page.set_viewport_size({"width": 390, "height": 800})
    aside, results = page.locator("aside").bounding_box(), page.locator("#total").bounding_box()
    assert aside and results and aside["y"] < results["y"]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, width
    page.screenshot(path=str(tmp_path / "open.png"), full_page=True)
    page.close()


def test_conditional_open_data_apply_approve_key_call(server: str, browser, tmp_path: Path) -> None:  # noqa: ANN001
    """有条件开放 in the portal: a citizen applies with the signed pledge, the tax bureau's officer
    approves, the citizen takes a key (shown once) and calls the CKAN API with it."""
    import httpx

    page = browser.new_page()
    found = httpx.get(server + "/api/v1/open/datasets", params={"q": "纳税信用等级"}).json()
    name = next(r["name"] for r in found["results"] if r["title"] == "纳税信用等级评价信息")
    page.goto(server + f"/open/datasets/{name}")
    assert "有条件开放" in page.inner_text("h1") and "登录后申请" in page.inner_text("body")
    sign_in(page, server, "citizen", then=f"/open/datasets/{name}")
    page.goto(server + f"/open/datasets/{name}")
    page.fill("#purpose", "研究纳税信用与企业经营状况的关系")
    page.fill("#scenario", "学术研究，仅发布统计结果，不公开原始数据")
    page.click("button:has-text('提交申请')")  # the pledge is not yet signed: the browser asks
    assert "/apply" not in page.url
    page.check("input[name=pledge_accepted]")
    page.fill("#signed_by", "公众用户")
    page.click("button:has-text('提交申请')")
    page.wait_for_url("**/open/applications?sent=*")
    assert "已提交" in page.inner_text("[role=status]") and "待审核" in page.inner_text("table")
    page.context.clear_cookies()
    sign_in(page, server, "sw_officer", then="/open/applications")
    page.goto(server + "/open/applications")
    card = page.locator("article.result", has_text="纳税信用等级评价信息").first
    assert "公众用户" in card.inner_text()
    card.locator("button[value=yes]").click()
    page.wait_for_url("**/open/applications")
    page.context.clear_cookies()
    sign_in(page, server, "citizen", then="/open/applications")
    page.goto(server + "/open/applications")
    assert "已批准" in page.inner_text("table")
    page.click("button:has-text('领取密钥')")
    key = page.inner_text("#new-key").strip()
    assert key.startswith("shk_")
    page.screenshot(path=str(tmp_path / "key.png"), full_page=True)
    got = httpx.get(
        server + "/api/3/action/datastore_search",
        params={"resource_id": name, "limit": 3},
        headers={"Authorization": key},
    )
    assert got.status_code == 200 and got.json()["result"]["total"] > 0
    page.close()


def test_data_request_and_answer_in_the_browser(server: str, browser, tmp_path: Path) -> None:  # noqa: ANN001
    """数据需求: a citizen asks for data that is not open; the department answers in public. On a
    phone the navigation folds into a menu button."""
    page = browser.new_page(viewport={"width": 390, "height": 800})
    page.goto(server + "/open")
    assert not page.is_visible("#main-nav")
    page.click("header .menu")
    assert (
        page.is_visible("#main-nav")
        and page.get_attribute("header .menu", "aria-expanded") == "true"
    )
    page.set_viewport_size({"width": 1280, "height": 800})
    assert not page.is_visible("header .menu")  # a wide screen shows the navigation itself
    sign_in(page, server, "citizen", then="/open/requests")
    page.goto(server + "/open/requests")
    page.fill("#title", "各区县逐小时空气质量")
    page.fill("#description", "希望开放逐小时数据，用于出行提醒应用")
    page.select_option("#department", label="福州市生态环境局")
    page.click("button:has-text('提交需求')")
    page.wait_for_url("**/open/requests?sent=1")
    card = page.locator("article.result", has_text="各区县逐小时空气质量")
    assert "待答复" in card.inner_text()
    page.context.clear_cookies()
    sign_in(page, server, "hb_officer", then="/open/requests")
    page.goto(server + "/open/requests")
    card = page.locator("article.result", has_text="各区县逐小时空气质量")
    card.locator("input[name=answer]").fill("已列入明年开放计划")
    card.locator("button:has-text('答复')").click()
    page.wait_for_url("**/open/requests")
    page.context.clear_cookies()
    page.goto(server + "/open/requests")  # the answer is public
    card = page.locator("article.result", has_text="各区县逐小时空气质量")
    assert "已答复" in card.inner_text() and "已列入明年开放计划" in card.inner_text()
    page.close()


def test_api_docs_work_offline(server: str, browser) -> None:  # noqa: ANN001
    """/api/v1/docs is drawn from the vendored Swagger UI: no CDN, no inline script."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: errors.append(r.url))
    page.goto(server + "/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() > 50
    assert "package_search" in page.inner_text("body") or "/api/3/action" in page.inner_text("body")
    assert errors == [], errors
    page.close()


def test_a_citizen_sees_no_build_buttons_and_an_officer_does(server: str, browser) -> None:  # noqa: ANN001
    page = browser.new_page()
    sign_in(page, server, "citizen", then="/bases/人口基础库")
    page.goto(server + "/bases/人口基础库")
    assert page.locator("button:has-text('全量重建')").count() == 0
    assert page.locator("header a[href='/share']").count() == 0
    page.context.clear_cookies()
    sign_in(page, server, "ga_officer", then="/bases/人口基础库")
    page.goto(server + "/bases/人口基础库")
    assert page.locator("button:has-text('全量重建')").count() == 1
    page.close()
