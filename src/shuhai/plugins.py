"""The plugin manager: built-in plugins plus any installed under the ``shuhai`` entry point."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
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


def in_background(name: str, target: Callable[..., None], *args: Any) -> None:
    """Run a plugin's follow-up work (a quality check, an index rebuild) in its own thread, so
    the ingest that triggered it returns at once; ``wait_for_background`` joins them."""
    thread = threading.Thread(target=target, args=args, name=name)
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


__all__ = ["DEFAULT_PLUGINS", "get_plugin_manager", "in_background", "wait_for_background"]
