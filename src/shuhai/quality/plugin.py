"""Built-in plugin: run the quality rules on every new lake version (入湖后自动质检)."""

from __future__ import annotations

import logging
from typing import Any

from shuhai.errors import ShuhaiError
from shuhai.hookspecs import hookimpl

log = logging.getLogger(__name__)


@hookimpl
def after_ingest(config: Any, run: dict[str, Any]) -> None:
    from shuhai.quality.engine import run_quality

    try:
        run_quality(config, run["resource_id"], version=run["lake_version"])
    except ShuhaiError as exc:  # a broken rule must not undo a committed load
        log.warning("quality check after run %s failed: %s", run["id"], exc.message)
