"""Rate limits (限流): fixed one-minute windows per key, in Redis when the platform has one (so
every server process counts together), else in this process.

Used for lookups by a value masked for the caller: each such equality lookup tells whether one
guessed value exists, so their number per credential is bounded (``masked_lookups_per_minute``).
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from typing import Any

from shuhai.config import Config
from shuhai.errors import ShuhaiError

WINDOW = 60


class TooManyRequests(ShuhaiError):
    """Over a rate limit (429)."""

    status = 429


@functools.lru_cache(maxsize=8)
def redis_client(url: str) -> Any:
    """One client (and its connection pool) per Redis URL and process."""
    import redis  # (a dependency; loaded only by platforms that configure Redis)

    return redis.Redis.from_url(url)


_counts: dict[str, tuple[int, int]] = {}  # key -> (window, count)
_lock = threading.Lock()


def hit(config: Config, key: str, limit: int, *, window: int = WINDOW) -> int:
    """Count one use of ``key``; raises ``TooManyRequests`` past ``limit`` in the window.
    Returns the uses so far in this window."""
    slot = int(time.time() // window)
    key = f"{hashlib.sha256(config.database_url.encode()).hexdigest()[:12]}:{key}"
    if config.redis_url:
        name = f"shuhai:limit:{key}:{slot}"
        pipe = redis_client(config.redis_url).pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, window * 2)
        used = int(pipe.execute()[0])
    else:
        with _lock:
            seen_slot, count = _counts.get(key, (slot, 0))
            used = (count if seen_slot == slot else 0) + 1
            _counts[key] = (slot, used)
            if len(_counts) > 100_000:
                _counts.clear()
    if used > limit:
        wait = window - int(time.time()) % window
        raise TooManyRequests(
            "access.rate_limited",
            f"按脱敏信息项查询过于频繁（每分钟至多 {limit} 次），请 {wait} 秒后再试",
            f"Too many lookups by masked items (at most {limit} a minute); retry in {wait} s",
        )
    return used


__all__ = ["TooManyRequests", "hit", "redis_client"]
