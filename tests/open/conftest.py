"""An open-data city in miniature: a statistics resource opened without conditions and loaded,
a person resource (never open), and a resource not yet published."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from shuhai.access.policy import operator
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.ingest import ingest
from shuhai.open import publish
from shuhai.platform import open_home
from shuhai.web.app import create_app
from tests.conftest import write

AIR_ITEMS = [
    {"name": "监测日期", "data_type": "D"},
    {"name": "监测站点", "data_type": "C", "length": 50},
    {"name": "空气质量指数", "data_type": "N"},
    {"name": "首要污染物", "data_type": "C", "length": 20},
    {"name": "联系人手机", "data_type": "C", "length": 11},
]

AIR_CSV = (
    "监测日期,监测站点,空气质量指数,首要污染物,联系人手机\n"
    "2026-01-01,鼓楼五四路,42,PM2.5,13800138000\n"
    "2026-01-01,仓山师大,55,=1+1,13900139000\n"
    "2026-01-02,鼓楼五四路,61,@SUM(A1),13700137000\n"
    "2026-02-01,晋安紫阳,70,-3+cmd|' /C calc'!A0,13600136000\n"
    "2026-02-02,仓山师大,38,-5,13500135000\n"
)


def open_city(config: Config, tmp_path: Path) -> dict:
    cat = Catalog(config)
    cat.add_department({"name": "市生态环境局", "code": "HB"}, update=True)
    cat.add_department({"name": "市人社局", "code": "RS"}, update=True)
    air = cat.register(
        {
            "name": "环境空气质量日报",
            "department": "HB",
            "classification": "204001",
            "abstract": "全市各国控站点每日空气质量指数和首要污染物",
            "items": AIR_ITEMS,
            "update_cycle": "每日",
            "share_type": "无条件共享",
            "open_type": "无条件开放",
        }
    )
    insured = cat.register(
        {
            "name": "社会保险参保人员统计",
            "department": "RS",
            "classification": "203001",
            "abstract": "按年度统计的城镇职工基本养老保险参保人数",
            "items": [
                {"name": "统计年度", "data_type": "N"},
                {"name": "参保人数", "data_type": "N"},
            ],
            "update_cycle": "每年",
            "open_type": "无条件开放",
        }
    )
    hidden = cat.register(
        {
            "name": "个人参保缴费明细",
            "department": "RS",
            "classification": "203002",
            "items": [
                {"name": "身份证号", "data_type": "C"},
                {"name": "缴费基数", "data_type": "N"},
            ],
            "open_type": "不予开放",
        }
    )
    ingest(config, air["code"], str(write(tmp_path / "air.csv", AIR_CSV)))
    ingest(
        config,
        insured["code"],
        str(write(tmp_path / "ins.csv", "统计年度,参保人数\n2023,100\n2024,120\n2025,150\n")),
    )
    air_ds = publish(
        config,
        air["code"],
        {"theme": "资源环境", "keywords": ["空气", "AQI", "环境监测"]},
        viewer=operator(),
    )
    return {"air": air, "insured": insured, "hidden": hidden, "air_ds": air_ds}


@pytest.fixture
def city(config: Config, tmp_path: Path) -> dict:
    return open_city(config, tmp_path)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The open city served by a real server (uvicorn) on a free port."""
    tmp: Path = tmp_path_factory.mktemp("ckan")
    config = open_home(Config.from_env({}, home=str(tmp / "home")))
    open_city(config, tmp)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
