"""Shared fixtures: a fresh Shuhai home per test, and real PostgreSQL / MariaDB databases.

A service test is skipped only when the service is absent and CI is not set; under CI an absent
service fails the test.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.platform import open_home

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PG_ADMIN = os.environ.get("SHUHAI_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")
MARIADB_ADMIN = os.environ.get("SHUHAI_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")


def _service_missing(name: str, exc: Exception) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required under CI but not reachable: {exc}")
    pytest.skip(f"{name} not reachable: {exc}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test (dropped afterwards)."""
    name = f"shuhai_t_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        _service_missing("PostgreSQL", exc)
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    from shuhai.db.session import get_engine

    get_engine.cache_clear()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    name = f"shuhai_t_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(MARIADB_ADMIN)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    except Exception as exc:  # noqa: BLE001
        _service_missing("MariaDB", exc)
    base = MARIADB_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}?charset=utf8mb4"
    with admin.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()


@pytest.fixture
def redis_url() -> str:
    """The local Redis (its database 15, flushed), for nonce replay checks."""
    url = os.environ.get("SHUHAI_TEST_REDIS", "redis://127.0.0.1:6379/15")
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.flushdb()
    except Exception as exc:  # noqa: BLE001
        _service_missing("Redis", exc)
    return url


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """A fresh home with a SQLite metadata database."""
    return open_home(Config.from_env({}, home=str(tmp_path / "home")))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_config(request: pytest.FixtureRequest, tmp_path: Path) -> Config:
    """The same test against SQLite and PostgreSQL metadata."""
    if request.param == "sqlite":
        return open_home(Config.from_env({}, home=str(tmp_path / "home")))
    url = request.getfixturevalue("pg_url")
    return open_home(Config.from_env({}, home=str(tmp_path / "home"), database_url=url))


PERSON_ITEMS = [
    {"name": "身份证号", "data_type": "C", "length": 18, "required": True},
    {"name": "姓名", "data_type": "C", "length": 50},
    {"name": "出生日期", "data_type": "D"},
    {"name": "月收入", "data_type": "N", "scale": 2},
]


@pytest.fixture
def persons(config: Config) -> dict:
    """A registered person resource (GA department) in a fresh home."""
    return register_persons(config)


def register_persons(config: Config) -> dict:
    cat = Catalog(config)
    cat.add_department({"name": "市公安局", "code": "GA"}, update=True)
    return cat.register(
        {
            "name": "常住人口基本信息",
            "department": "GA",
            "classification": "101001",
            "items": PERSON_ITEMS,
            "key_columns": ["身份证号"],
            "update_cycle": "每日",
        },
        update=True,
    )


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def shared_data() -> Path:
    path = SHARED / "data"
    if not path.is_dir():
        pytest.fail(f"reference data not found at {path}")
    return path


@pytest.fixture(autouse=True)
def _no_check_outlives_its_test() -> Iterator[None]:
    """Quality checks run in background threads after each ingest; each test waits for its own."""
    yield
    from shuhai.quality.plugin import wait_for_checks

    wait_for_checks(timeout=60)


PASSWORD = "Correct1horse"


def session_token(config: Config, username: str, roles: list[str], department: str | None) -> str:
    """Create the user (when new) and sign in; the token goes in ``Authorization: Bearer``.
    Platform roles sign in with their TOTP code, as a person would."""
    import pyotp

    from shuhai.access import identity as idn
    from shuhai.demo.accounts import ACCOUNTS_FILE
    from shuhai.errors import Conflict

    code, password = None, PASSWORD
    try:
        user = idn.add_user(config, username, PASSWORD, roles=roles, department=department)
        if user.get("totp_uri"):
            code = pyotp.TOTP(pyotp.parse_uri(user["totp_uri"]).secret).now()
    except Conflict:  # a demo account: its password and TOTP secret are in the home
        demo = config.home / ACCOUNTS_FILE
        accounts = {a["username"]: a for a in json.loads(demo.read_text("utf-8"))}
        password = accounts[username]["password"]
        if accounts[username].get("totp_secret"):
            code = pyotp.TOTP(accounts[username]["totp_secret"]).now()
    return str(idn.login(config, username, password, code)["token"])


def signed_client(
    app: object, config: Config, username: str, roles: list[str], department: str | None = None
) -> object:
    """A TestClient of ``app`` signed in as a (new) user with these roles."""
    from fastapi.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    token = session_token(config, username, roles, department)
    client.headers["Authorization"] = f"Bearer {token}"
    return client
