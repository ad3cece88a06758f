from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shuhai.config import Config
from shuhai.ingest import ingest
from shuhai.web.app import create_app
from tests.conftest import register_persons, write


@pytest.fixture
def loaded(config: Config, tmp_path: Path) -> dict:
    res = register_persons(config)
    ingest(
        config,
        res["code"],
        str(
            write(
                tmp_path / "a.csv",
                "身份证号,姓名,出生日期,月收入\n110101199001011234,张三,2024-01-02,1.5\n1.1E+17,李四,2023-01-02,2.5\n",
            )
        ),
    )
    return res


@pytest.fixture
def client(config: Config, loaded: dict) -> TestClient:
    return TestClient(create_app(config), raise_server_exceptions=False)
