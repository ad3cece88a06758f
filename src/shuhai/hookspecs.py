"""Extension points (扩展点), pluggy hook specifications. Shuhai's own features register through
the same hooks as third-party plugins (see ``shuhai.plugins.DEFAULT_PLUGINS``)."""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("shuhai")
hookimpl = pluggy.HookimplMarker("shuhai")


@hookspec
def after_ingest(config: Any, run: dict[str, Any]) -> None:
    """Called after an ingest run committed a new lake version (quality checks run here)."""


__all__ = ["after_ingest", "hookimpl", "hookspec"]
