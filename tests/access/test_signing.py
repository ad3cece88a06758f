"""Signed system requests (HMAC-SM3): good ones pass; replay, stale timestamps, bad signatures,
unknown, revoked and rotated keys are refused with 401 and a clear code."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time

import pytest

from shuhai.access import signing
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.db import ApiCredential, session_scope


@pytest.fixture
def cred(any_config: Config) -> tuple[Config, dict]:
    Catalog(any_config).add_department({"name": "市人社局", "code": "RS"})
    return any_config, signing.create_credential(any_config, "RS", name="社保系统")


def _call(config: Config, c: dict, headers: dict | None = None, **kw: object) -> dict:
    body = b'{"q": 1}'
    h = (
        headers
        if headers is not None
        else {
            "X-Shuhai-AppKey": c["app_key"],
            **signing.sign(
                c["app_secret"], "GET", "/api/v1/share/x", [("b", "2"), ("a", "1")], body
            ),
        }
    )
    return signing.verify_request(
        config, "GET", "/api/v1/share/x", [("a", "1"), ("b", "2")], body, h, **kw
    )


def test_a_signed_request_passes_once(cred: tuple[Config, dict]) -> None:
    config, c = cred
    headers = {
        "X-Shuhai-AppKey": c["app_key"],
        **signing.sign(
            c["app_secret"], "GET", "/api/v1/share/x", [("a", "1"), ("b", "2")], b'{"q": 1}'
        ),
    }
    assert _call(config, c, headers)["app_key"] == c["app_key"]
    with pytest.raises(signing.BadSignature) as exc:
        _call(config, c, headers)  # the same nonce again
    assert exc.value.code == "signature.replay" and exc.value.status == 401


def test_replay_is_caught_by_redis_too(cred: tuple[Config, dict], redis_url: str) -> None:
    config, c = cred
    headers = {
        "X-Shuhai-AppKey": c["app_key"],
        **signing.sign(
            c["app_secret"], "GET", "/api/v1/share/x", [("a", "1"), ("b", "2")], b'{"q": 1}'
        ),
    }
    assert _call(config, c, headers, redis_url=redis_url)
    with pytest.raises(signing.BadSignature):
        _call(config, c, headers, redis_url=redis_url)


def test_stale_timestamps_and_bad_signatures(cred: tuple[Config, dict]) -> None:
    config, c = cred
    old = {
        "X-Shuhai-AppKey": c["app_key"],
        **signing.sign(
            c["app_secret"],
            "GET",
            "/api/v1/share/x",
            [("a", "1"), ("b", "2")],
            b'{"q": 1}',
            timestamp=int(time.time()) - 400,
        ),
    }
    with pytest.raises(signing.BadSignature) as exc:
        _call(config, c, old)
    assert exc.value.code == "signature.expired"
    forged = {
        "X-Shuhai-AppKey": c["app_key"],
        **signing.sign(
            "not-the-secret", "GET", "/api/v1/share/x", [("a", "1"), ("b", "2")], b'{"q": 1}'
        ),
    }
    with pytest.raises(signing.BadSignature) as exc:
        _call(config, c, forged)
    assert exc.value.code == "signature.mismatch"
    tampered_body = {
        "X-Shuhai-AppKey": c["app_key"],
        **signing.sign(c["app_secret"], "GET", "/api/v1/share/x", [("a", "1"), ("b", "2")], b"{}"),
    }
    with pytest.raises(signing.BadSignature):
        _call(config, c, tampered_body)
    for broken in (
        {},
        {
            "X-Shuhai-AppKey": c["app_key"],
            "X-Shuhai-Timestamp": "soon",
            "X-Shuhai-Nonce": "n",
            "X-Shuhai-Signature": "00" * 32,
        },
        {"X-Shuhai-AppKey": "ak_unknown", **signing.sign("x", "GET", "/p")},
        {
            "X-Shuhai-AppKey": c["app_key"],
            "X-Shuhai-Timestamp": str(int(time.time())),
            "X-Shuhai-Nonce": "n",
            "X-Shuhai-Signature": "zz",
        },
    ):
        with pytest.raises(signing.BadSignature):
            _call(config, c, broken)


def test_revoked_and_rotated_keys(cred: tuple[Config, dict]) -> None:
    config, c = cred
    new = signing.rotate(config, c["app_key"])
    with pytest.raises(signing.BadSignature) as exc:
        _call(config, c)
    assert exc.value.code == "signature.revoked"
    assert _call(config, new)["app_key"] == new["app_key"]
    signing.revoke(config, new["app_key"])
    with pytest.raises(signing.BadSignature):
        _call(config, new)


def test_secrets_are_sealed_at_rest(cred: tuple[Config, dict]) -> None:
    config, c = cred
    with session_scope(config.database_url) as s:
        stored = s.query(ApiCredential).filter_by(app_key=c["app_key"]).one().secret
    assert c["app_secret"] not in stored and len(bytes.fromhex(stored)) > 28


@pytest.mark.parametrize("with_redis", [False, True])
def test_a_key_revoked_by_another_process_is_refused_at_once(
    cred: tuple[Config, dict], with_redis: bool, request: pytest.FixtureRequest
) -> None:
    """This process has the secret cached; another process (the CLI, another server worker)
    revokes the key: the very next request here is refused, not five seconds later."""
    config, c = cred
    redis_url = request.getfixturevalue("redis_url") if with_redis else None
    if redis_url:
        config = dataclasses.replace(config, redis_url=redis_url)
    assert _call(config, c, redis_url=redis_url)["app_key"] == c["app_key"]  # cached now
    env = {
        **os.environ,
        "SHUHAI_HOME": str(config.home),
        "SHUHAI_DATABASE_URL": config.database_url,
    }
    if redis_url:
        env["SHUHAI_REDIS_URL"] = redis_url
    script = (
        "from shuhai.access import signing; from shuhai.config import Config; "
        f"signing.revoke(Config.from_env(), {c['app_key']!r})"
    )
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    with pytest.raises(signing.BadSignature) as exc:
        _call(config, c, redis_url=redis_url)
    assert exc.value.code == "signature.revoked"
