"""Sign-in throttling (登录限速): progressive delays instead of a lock anyone could trigger.

Failures are counted per account *and address* and per address. From the ``FREE``-th failure on,
each further attempt from that address (for that account, or for any account once the address
alone has failed ``FREE_PER_ADDRESS`` times) must wait ``2^(n - FREE)`` seconds, at most
``MAX_DELAY``. Unknown accounts are counted exactly like real ones and every refusal reads the
same, so the answers never tell which accounts exist; and failures from one address never slow
the same account signing in from another, so nobody outside can lock the platform roles out.
A success clears its account-and-address count. Counts live in Redis when configured, else in
the metadata database: either way every server process counts together.
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import delete

from shuhai.access.limits import TooManyRequests, redis_client
from shuhai.config import Config
from shuhai.db import SignInFailure, session_scope

FREE = 5  # failures per account and address before delays start
FREE_PER_ADDRESS = 50  # failures per address (any accounts) before delays start
MAX_DELAY = 900  # seconds
FORGET = 3600  # counts older than this are forgotten


def _keys(config: Config, username: str, address: str | None) -> list[tuple[str, int]]:
    """The counts an attempt touches, within this platform (several may share one Redis)."""
    where = address or "-"
    home = hashlib.sha256(config.database_url.encode()).hexdigest()[:12]
    return [
        (f"{home}:acct:{username.lower()}|{where}", FREE),
        (f"{home}:addr:{where}", FREE_PER_ADDRESS),
    ]


def _get(config: Config, key: str) -> tuple[int, float]:
    if config.redis_url:
        got = redis_client(config.redis_url).hmget(f"shuhai:login:{key}", "n", "at")
        return int(got[0] or 0), float(got[1] or 0)
    with session_scope(config.database_url) as s:
        row = s.get(SignInFailure, key)
        n, at = (row.failures, row.last_at) if row is not None else (0, 0.0)
    if at and time.time() - at > FORGET:
        return 0, 0.0
    return n, at


def delay(failures: int, free: int) -> int:
    """Seconds to wait after ``failures`` failures (0 while within ``free``)."""
    if failures < free:
        return 0
    return int(min(MAX_DELAY, 2 ** (failures - free)))


def check(config: Config, username: str, address: str | None) -> None:
    """Refuse (429, the same words for every account) while a delay is running."""
    now = time.time()
    for key, free in _keys(config, username, address):
        n, at = _get(config, key)
        wait = at + delay(n, free) - now
        if wait > 0:
            seconds = int(wait) + 1
            raise TooManyRequests(
                "auth.throttled",
                f"登录失败次数过多，请 {seconds} 秒后再试",
                f"Too many failed sign-ins; try again in {seconds} s",
            )


def failed(config: Config, username: str, address: str | None) -> None:
    now = time.time()
    keys = [key for key, _free in _keys(config, username, address)]
    if config.redis_url:
        pipe = redis_client(config.redis_url).pipeline(transaction=False)
        for key in keys:
            name = f"shuhai:login:{key}"
            pipe.hincrby(name, "n", 1)
            pipe.hset(name, "at", now)
            pipe.expire(name, FORGET)
        pipe.execute()
        return
    with session_scope(config.database_url) as s:
        for key in keys:
            row = s.get(SignInFailure, key, with_for_update=True)
            if row is None:
                s.add(SignInFailure(key=key, failures=1, last_at=now))
            else:
                fresh = now - row.last_at <= FORGET
                row.failures, row.last_at = (row.failures + 1 if fresh else 1), now
        s.execute(delete(SignInFailure).where(SignInFailure.last_at < now - FORGET))


def succeeded(config: Config, username: str, address: str | None) -> None:
    key = _keys(config, username, address)[0][0]
    if config.redis_url:
        redis_client(config.redis_url).delete(f"shuhai:login:{key}")
        return
    with session_scope(config.database_url) as s:
        s.execute(delete(SignInFailure).where(SignInFailure.key == key))


__all__ = ["FREE", "FREE_PER_ADDRESS", "MAX_DELAY", "check", "delay", "failed", "succeeded"]
