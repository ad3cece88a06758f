"""``shuhai open …`` calls the same functions as the portal and the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph
from typer.testing import CliRunner

from shuhai.cli import app
from shuhai.config import Config
from shuhai.platform import open_home
from tests.open.conftest import open_city

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHUHAI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SHUHAI_DATABASE_URL", raising=False)
    open_city(open_home(Config.from_env({}, home=str(tmp_path / "home"))), tmp_path)
    return tmp_path


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_publish_search_plan_download_and_export(home: Path) -> None:
    out = run(
        "open", "publish", "203001/RS-00001", "--theme", "社保就业", "--keywords", "养老,参保"
    )
    assert "203001-rs-00001" in out
    assert "社会保险参保人员统计" in run("open", "search", "社保")
    assert "环境空气质量日报" in run("open", "list")
    assert "planned" in run("open", "plan", "203001/RS-00001", "--date", "2026-06-30")
    assert "社会保险参保人员统计" in run("open", "plan", "--year", "2026")
    target = home / "air.csv"
    assert "download id" in run("open", "download", "204001-hb-00001", "-o", str(target))
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    turtle = run("open", "dcat", "--base", "http://x.example")
    assert len(Graph().parse(data=turtle, format="turtle")) > 10
    assert "已撤回" in run("open", "withdraw", "203001-rs-00001", "--reason", "核查")
    assert "社会保险参保人员统计" not in run("open", "search", "社保")


def test_errors_are_sentences_not_tracebacks(home: Path) -> None:
    out = run("open", "publish", "203002/RS-00002", code=1)
    assert "不予开放" in out and "Traceback" not in out
    out = run("open", "publish", "204001/HB-00001", "--theme", "火星", code=1)
    assert "未知的主题" in out
    assert "不存在" in run("open", "download", "nope", "-o", str(home / "x.csv"), code=1)
