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


@hookspec
def load_corrections(config: Any, resource: dict[str, Any], run_id: int) -> Any:
    """An object that rewrites each typed batch of a load before anything else sees it
    (``apply(frame) -> frame``), then ``commit() -> dict`` (the step's account, kept with the
    run) once the version is made, or ``discard()``; ``None`` when there is nothing to rewrite.
    The quality plugin puts corrections in force back on top of what the source re-sent."""


__all__ = ["after_ingest", "hookimpl", "hookspec", "load_checker", "load_corrections"]
