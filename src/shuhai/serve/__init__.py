"""The serve edge (服务出口): the one place through which data leaves the platform.

Each function takes the config, a ``Viewer`` and what was asked, and does, inside: decide (the
policy point, ``shuhai.access.policy``) → read → mask → audit. Web routes and CLI commands are
thin calls into it.
"""

from __future__ import annotations

from shuhai.serve import objections
from shuhai.serve.filters import check_filters
from shuhai.serve.views import (
    conflict_view,
    conflicts,
    failing_rows,
    masked_values,
    own_rows,
    preview,
    quality_runs,
    quarantine_rows,
    query,
)

__all__ = [
    "check_filters",
    "conflict_view",
    "conflicts",
    "failing_rows",
    "masked_values",
    "objections",
    "own_rows",
    "preview",
    "quality_runs",
    "quarantine_rows",
    "query",
]
