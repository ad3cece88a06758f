"""Opening a Shuhai home (数海实例): settings, directories and migrated metadata, once per process."""

from __future__ import annotations

import threading

from shuhai.access.keys import LakeKeyring
from shuhai.config import Config
from shuhai.db import upgrade
from shuhai.lake.cipher import register_keyring

DEMO_MARKER = "DEMO"  # written by ``shuhai demo``: every page then says 演示数据

_prepared: set[tuple[str, str]] = set()
_lock = threading.Lock()


def open_home(config: Config | None = None) -> Config:
    """Resolve settings, create the home's folders, apply migrations and mark runs that a dead
    process left 'running' as interrupted (the first time per process and home)."""
    config = config or Config.from_env()
    config.ensure_dirs()
    keyring = LakeKeyring(config)
    register_keyring(config.lake_dir, keyring)
    register_keyring(config.home, keyring)  # base-database builds, under the home
    if (config.home / DEMO_MARKER).exists():
        config.demo_mode = True
        config.profiles = True  # fictional people only: the demo shows its profiles locally
    key = (config.database_url, str(config.home))
    if key not in _prepared:
        with _lock:
            if key not in _prepared:
                upgrade(config.database_url)
                _recover(config)
                _prepared.add(key)
    return config


def _recover(config: Config) -> None:
    """Runs and builds a dead process left 'running' become 'interrupted'. One cheap query
    first: the modules that know how (and their heavy imports) load only when there are any."""
    from sqlalchemy import func, select

    from shuhai.db import BaseBuild, IngestRun, session_scope

    with session_scope(config.database_url) as s:
        runs = s.scalar(select(func.count()).where(IngestRun.status == "running"))
        builds = s.scalar(select(func.count()).where(BaseBuild.status == "running"))
    if runs:
        from shuhai.ingest.service import recover_interrupted

        recover_interrupted(config)
    if builds:
        from shuhai.entities.build import recover_builds

        recover_builds(config)


__all__ = ["DEMO_MARKER", "open_home"]
