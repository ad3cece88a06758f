from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shuhai.config import Config
from shuhai.ingest import ingest
from shuhai.web.app import create_app
from tests.conftest import register_persons, signed_client, write


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
def app(config: Config) -> FastAPI:
    return create_app(config)


@pytest.fixture
def client(app: FastAPI, config: Config, loaded: dict) -> TestClient:
    """Signed in as the data officer of the loaded resource's department (市公安局)."""
    return signed_client(app, config, "ga_officer", ["officer"], "GA")  # type: ignore[return-value]


@pytest.fixture
def anon(app: FastAPI, loaded: dict) -> TestClient:
    """Nobody signed in."""
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def signed(app: FastAPI, config: Config):  # type: ignore[no-untyped-def]
    """``signed(username, roles, department)`` → a client signed in as that (new) user."""

    def make(username: str, roles: list[str], department: str | None = None) -> TestClient:
        return signed_client(app, config, username, roles, department)  # type: ignore[return-value]

    return make
