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


@hookspec
def load_checker(config: Any, resource_id: int, run_id: int, items: list[dict[str, Any]]) -> Any:
    """An object that sees each typed batch of a load in plain text (``check(frame)``), then
    ``commit()`` once the version is made or ``discard()``; ``None`` to see nothing. The quality
    plugin checks the row rules here, so the check after the load need not read the rows again."""


__all__ = ["after_ingest", "hookimpl", "load_checker", "hookspec"]
