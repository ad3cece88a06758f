"""In-process events (事件): how a lower package tells a higher one that something changed
without importing it (a catalog entry, a grading or a grant changes what the policy point
decided; the policy point forgets what it remembered).

``subscribe(ACCESS_CHANGED, forget)`` in the package that caches, ``emit(ACCESS_CHANGED)`` in the
one that changes; handlers run at once, in the emitting thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ACCESS_CHANGED = "access.changed"  # a catalog entry, a grading or a share grant changed

_handlers: dict[str, list[Callable[..., None]]] = {}


def subscribe(event: str, handler: Callable[..., None]) -> None:
    """Run ``handler(**payload)`` on every ``emit(event, …)`` of this process (once per handler)."""
    handlers = _handlers.setdefault(event, [])
    if handler not in handlers:
        handlers.append(handler)


def emit(event: str, **payload: Any) -> None:
    for handler in list(_handlers.get(event, ())):
        handler(**payload)


__all__ = ["ACCESS_CHANGED", "emit", "subscribe"]
