"""The plugin manager: built-in plugins plus any installed under the ``shuhai`` entry point."""

from __future__ import annotations

import contextvars
import importlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import pluggy

from shuhai import hookspecs

DEFAULT_PLUGINS = ("shuhai.quality.plugin", "shuhai.share.plugin")


@lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("shuhai")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.load_setuptools_entrypoints("shuhai")
    return pm


_pending: list[threading.Thread] = []
_pending_lock = threading.Lock()
_detach: contextvars.ContextVar[bool] = contextvars.ContextVar("shuhai_detach", default=False)


@contextmanager
def detached_follow_ups() -> Iterator[None]:
    """Within this block, follow-up work nobody waits for runs in detached processes (a
    short-lived command's load: it answers once its own result is in, instead of building a
    serving index first)."""
    token = _detach.set(True)
    try:
        yield
    finally:
        _detach.reset(token)


def in_background(
    name: str, target: Callable[..., None], config: Any, *args: Any, detachable: bool = False
) -> None:
    """Run a plugin's follow-up work (a quality check, an index rebuild) in its own thread, so
    the ingest that triggered it returns at once; ``wait_for_background`` joins them.

    ``detachable`` work (JSON arguments after the config) runs in a process of its own instead
    inside ``detached_follow_ups``; its output goes to ``SHUHAI_HOME/logs/<name>.log``."""
    if detachable and _detach.get():
        logs = config.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SHUHAI_HOME": str(config.home)}
        env["SHUHAI_DATABASE_URL"] = config.database_url
        with open(logs / f"{name}.log", "ab") as out:
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "shuhai.plugins",
                    f"{target.__module__}:{target.__qualname__}",
                    json.dumps(args, ensure_ascii=False, default=str),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        return
    thread = threading.Thread(target=target, args=(config, *args), name=name)
    with _pending_lock:
        _pending[:] = [t for t in _pending if t.is_alive()]
        _pending.append(thread)
    thread.start()


def wait_for_background(timeout: float | None = None) -> None:
    """Block until every background task started by this process has finished."""
    with _pending_lock:
        pending = list(_pending)
    for thread in pending:
        thread.join(timeout)


def _run_detached(target: str, args: str) -> None:
    """The detached side of ``in_background``: open the home named by the environment, run."""
    from shuhai.platform import open_home

    module, _, function = target.partition(":")
    getattr(importlib.import_module(module), function)(open_home(), *json.loads(args))


__all__ = [
    "DEFAULT_PLUGINS",
    "detached_follow_ups",
    "get_plugin_manager",
    "in_background",
    "wait_for_background",
]

if __name__ == "__main__":
    _run_detached(sys.argv[1], sys.argv[2])
