"""System credentials (系统凭证): department systems call the API with appKey/appSecret, every
request signed with HMAC-SM3 over::

    METHOD \\n PATH \\n sorted query (k=v&…, percent-encoded) \\n timestamp \\n nonce \\n SM3(body) hex

sent in ``X-Shuhai-AppKey``, ``X-Shuhai-Timestamp`` (Unix seconds), ``X-Shuhai-Nonce`` and
``X-Shuhai-Signature`` (hex). A request is refused when the key is unknown, revoked or expired, the
timestamp is more than five minutes off, the nonce was seen before (Redis when configured, the
metadata database otherwise) or the signature does not match (compared in constant time).
"""

from __future__ import annotations

import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from shuhai.access import keys
from shuhai.access.crypto import hmac_sm3, sm3_hex
from shuhai.access.limits import redis_client
from shuhai.config import Config
from shuhai.db import ApiCredential, Department, UsedNonce, session_scope
from shuhai.errors import NotFound, ShuhaiError

SKEW = 300  # seconds either way
HEADERS = ("x-shuhai-appkey", "x-shuhai-timestamp", "x-shuhai-nonce", "x-shuhai-signature")


class BadSignature(ShuhaiError):
    """签名校验失败: the request is not from whom it claims, or is a replay."""

    status = 401


def canonical_request(
    method: str, path: str, query: list[tuple[str, str]], timestamp: str, nonce: str, body: bytes
) -> bytes:
    q = "&".join(
        f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(query, key=lambda kv: kv)
    )
    return "\n".join([method.upper(), path, q, timestamp, nonce, sm3_hex(body)]).encode()


def sign(
    secret: str,
    method: str,
    path: str,
    query: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers a department system sends (the client side, also used by tests and benches)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    sig = hmac_sm3(secret.encode(), canonical_request(method, path, query or [], ts, nonce, body))
    return {"X-Shuhai-Timestamp": ts, "X-Shuhai-Nonce": nonce, "X-Shuhai-Signature": sig.hex()}


def create_credential(
    config: Config,
    department: str,
    *,
    name: str = "",
    scopes: list[str] | None = None,
    days: int = 365,
) -> dict[str, Any]:
    """A new appKey/appSecret for a department's system; the secret is shown this once."""
    with session_scope(config.database_url) as s:
        dep = s.scalars(
            select(Department).where(
                (Department.code == department) | (Department.name == department)
            )
        ).first()
        if dep is None:
            raise NotFound(
                "credential.unknown_department",
                f"部门“{department}”不存在",
                f"No department {department!r}",
            )
        app_key = "ak_" + secrets.token_hex(12)
        secret = secrets.token_urlsafe(32)
        cred = ApiCredential(
            app_key=app_key,
            secret=keys.seal(config, secret.encode(), f"credential:{app_key}"),
            department_id=dep.id,
            name=name,
            scopes=list(scopes or []),
            expires_at=datetime.now(UTC) + timedelta(days=days),
        )
        s.add(cred)
        s.flush()
        return {
            "app_key": app_key,
            "app_secret": secret,
            "department": dep.code,
            "scopes": cred.scopes,
            "expires_at": cred.expires_at.isoformat() if cred.expires_at else None,
        }


def list_credentials(config: Config) -> list[dict[str, Any]]:
    """Every credential without its secret."""
    with session_scope(config.database_url) as s:
        rows = s.execute(
            select(ApiCredential, Department.code)
            .join(Department, Department.id == ApiCredential.department_id)
            .order_by(ApiCredential.id)
        ).all()
        return [
            {
                "app_key": c.app_key,
                "department": code,
                "name": c.name,
                "scopes": list(c.scopes or []),
                "expires_at": c.expires_at.isoformat() if c.expires_at else None,
                "revoked": c.revoked_at is not None,
                "replaced_by": c.replaced_by,
            }
            for c, code in rows
        ]


def revoke(config: Config, app_key: str) -> None:
    with session_scope(config.database_url) as s:
        cred = _get(s, app_key)
        cred.revoked_at = datetime.now(UTC)
    _announce_revoked(config, app_key)  # every process refuses it from the next request on


def rotate(config: Config, app_key: str) -> dict[str, Any]:
    """A new key with the same department and scopes; the old one is revoked."""
    with session_scope(config.database_url) as s:
        cred = _get(s, app_key)
        dep = s.get(Department, cred.department_id)
        assert dep is not None
        code, name, scopes = dep.code, cred.name, list(cred.scopes or [])
    new = create_credential(config, code, name=name, scopes=scopes)
    with session_scope(config.database_url) as s:
        cred = _get(s, app_key)
        cred.revoked_at, cred.replaced_by = datetime.now(UTC), new["app_key"]
    _announce_revoked(config, app_key)
    return new


def _get(s: Any, app_key: str) -> ApiCredential:
    cred = s.scalars(select(ApiCredential).where(ApiCredential.app_key == app_key)).first()
    if cred is None:
        raise NotFound("credential.not_found", f"凭证 {app_key} 不存在", f"No credential {app_key}")
    return cred


_secrets: dict[
    str, tuple[str, int, list[str], float]
] = {}  # app key -> secret, dept, scopes, until


def verify_request(
    config: Config,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    body: bytes,
    headers: dict[str, str],
    *,
    redis_url: str | None = None,
) -> dict[str, Any]:
    """Check a signed request; returns the caller (department id, scopes) or raises."""
    h = {k.lower(): v for k, v in headers.items()}
    missing = [k for k in HEADERS if not h.get(k)]
    if missing:
        raise BadSignature(
            "signature.missing",
            f"缺少签名头：{', '.join(missing)}",
            f"Missing headers: {', '.join(missing)}",
        )
    app_key, ts, nonce, sig = (h[k] for k in HEADERS)
    if not (ts.isascii() and ts.isdigit()) or len(ts) > 12:
        raise BadSignature("signature.bad_timestamp", "时间戳格式错误", "Malformed timestamp")
    if abs(time.time() - int(ts)) > SKEW:
        raise BadSignature(
            "signature.expired",
            "请求时间戳超出 ±5 分钟",
            "The timestamp is more than 5 minutes off",
        )
    if len(nonce) > 64 or len(sig) != 64:
        raise BadSignature(
            "signature.malformed", "签名或随机数格式错误", "Malformed nonce or signature"
        )
    caller = _credential(config, app_key)
    expected = hmac_sm3(
        caller["secret"].encode(), canonical_request(method, path, query, ts, nonce, body)
    )
    try:
        given = bytes.fromhex(sig)
    except ValueError:
        given = b""
    if not hmac.compare_digest(expected, given):
        raise BadSignature("signature.mismatch", "签名不符", "The signature does not match")
    fresh, revoked = _fresh_nonce(config, app_key, nonce, redis_url)
    if revoked:  # asked on every request, with the nonce: a revocation holds at once everywhere
        _secrets.pop(app_key, None)
        raise BadSignature("signature.revoked", "appKey 已吊销", "The appKey was revoked")
    if not fresh:
        raise BadSignature(
            "signature.replay", "重复的请求（随机数已使用）", "Replayed request (nonce reused)"
        )
    return {
        "app_key": app_key,
        "department_id": caller["department_id"],
        "scopes": caller["scopes"],
    }


def forget_secrets() -> None:
    """Drop this process's cached secrets (after a master-key rotation)."""
    _secrets.clear()


def _credential(config: Config, app_key: str) -> dict[str, Any]:
    now = time.time()
    hit = _secrets.get(app_key)
    if hit is None or hit[3] < now:
        with session_scope(config.database_url) as s:
            cred = s.scalars(select(ApiCredential).where(ApiCredential.app_key == app_key)).first()
            if cred is None:
                raise BadSignature("signature.unknown_key", "未知的 appKey", "Unknown appKey")
            expires = cred.expires_at
            if expires is not None and expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            if cred.revoked_at is not None:
                raise BadSignature("signature.revoked", "appKey 已吊销", "The appKey was revoked")
            if expires is not None and expires < datetime.now(UTC):
                raise BadSignature("signature.key_expired", "appKey 已过期", "The appKey expired")
            secret = keys.unseal(config, cred.secret, f"credential:{app_key}").decode()
            hit = (secret, cred.department_id, list(cred.scopes or []), now + 5)  # 5 s cache
            _secrets[app_key] = hit
    return {"secret": hit[0], "department_id": hit[1], "scopes": hit[2]}


def _revoked_key(app_key: str) -> str:
    return f"shuhai:revoked:{app_key}"


def _fresh_nonce(
    config: Config, app_key: str, nonce: str, redis_url: str | None
) -> tuple[bool, bool]:
    """(the nonce is new, the key is revoked): one round trip to where nonces are kept, which
    also tells whether the key was revoked since this process cached its secret."""
    if redis_url:
        pipe = redis_client(redis_url).pipeline(transaction=False)
        pipe.set(f"shuhai:nonce:{app_key}:{nonce}", 1, nx=True, ex=2 * SKEW + 60)
        pipe.exists(_revoked_key(app_key))
        fresh, revoked = pipe.execute()
        return bool(fresh), bool(revoked)
    try:
        with session_scope(config.database_url) as s:
            revoked = s.scalar(
                select(ApiCredential.revoked_at).where(ApiCredential.app_key == app_key)
            )
            s.add(UsedNonce(app_key=app_key, nonce=nonce))
    except IntegrityError:
        return False, False
    return True, revoked is not None


def _announce_revoked(config: Config, app_key: str) -> None:
    _secrets.pop(app_key, None)
    if config.redis_url:
        redis_client(config.redis_url).set(_revoked_key(app_key), 1)


def purge_nonces(config: Config) -> int:
    """Nonces older than the skew window can go: their timestamps are refused anyway."""
    cutoff = datetime.now(UTC) - timedelta(seconds=2 * SKEW + 60)
    with session_scope(config.database_url) as s:
        return int(s.execute(delete(UsedNonce).where(UsedNonce.seen_at < cutoff)).rowcount or 0)


__all__ = [
    "BadSignature",
    "canonical_request",
    "create_credential",
    "forget_secrets",
    "list_credentials",
    "purge_nonces",
    "revoke",
    "rotate",
    "sign",
    "verify_request",
]
