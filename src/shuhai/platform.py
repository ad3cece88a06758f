"""Opening a Shuhai home (数海实例): settings, directories and migrated metadata, once per process."""

from __future__ import annotations

from functools import lru_cache

from shuhai.config import Config
from shuhai.db import upgrade

DEMO_MARKER = "DEMO"  # written by ``shuhai demo``: every page then says 演示数据


@lru_cache(maxsize=8)
def _prepared(url: str, home: str) -> bool:
    upgrade(url)
    return True


def open_home(config: Config | None = None) -> Config:
    """Resolve settings, create the home's folders and apply migrations (idempotent)."""
    config = config or Config.from_env()
    config.ensure_dirs()
    if (config.home / DEMO_MARKER).exists():
        config.demo_mode = True
    _prepared(config.database_url, str(config.home))
    return config


__all__ = ["DEMO_MARKER", "open_home"]
