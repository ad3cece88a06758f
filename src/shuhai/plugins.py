"""The plugin manager: built-in plugins plus any installed under the ``shuhai`` entry point."""

from __future__ import annotations

import importlib
from functools import lru_cache

import pluggy

from shuhai import hookspecs

DEFAULT_PLUGINS = ("shuhai.quality.plugin",)


@lru_cache(maxsize=1)
def get_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("shuhai")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.load_setuptools_entrypoints("shuhai")
    return pm


__all__ = ["DEFAULT_PLUGINS", "get_plugin_manager"]
