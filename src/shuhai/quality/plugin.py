"""Built-in plugin: run the quality rules on every new lake version (入湖后自动质检).

The row rules are checked during the load itself, on the batches in plain text (``load_checker``,
see ``shuhai.quality.rowcheck``); the check of the version then only looks their verdicts up.
Corrections in force are put back on each load before that (``load_corrections``, see
``shuhai.quality.carryover``).

The check starts in a background thread once the version is committed, so an ingest returns
(and is timed) without waiting for it; ``wait_for_checks`` joins the pending checks (the CLI and
the demo call it; Python also joins these non-daemon threads before the interpreter exits).
"""

from __future__ import annotations

import logging
from typing import Any

from shuhai.errors import ShuhaiError
from shuhai.hookspecs import hookimpl
from shuhai.plugins import in_background, wait_for_background

log = logging.getLogger(__name__)


def _check(config: Any, run: dict[str, Any]) -> None:
    from shuhai.quality.engine import run_quality

    try:
        run_quality(config, run["resource_id"], version=run["lake_version"])
    except ShuhaiError as exc:  # a broken rule must not undo a committed load
        log.warning("quality check after run %s failed: %s", run["id"], exc.message)
    except Exception:  # noqa: BLE001 - logged; the load itself stands
        log.exception("quality check after run %s failed", run["id"])


@hookimpl
def after_ingest(config: Any, run: dict[str, Any]) -> None:
    in_background(f"shuhai-quality-{run['id']}", _check, config, run)


@hookimpl
def load_checker(config: Any, resource_id: int, run_id: int, items: list[dict[str, Any]]) -> Any:
    from shuhai.quality.engine import list_rules
    from shuhai.quality.rowcheck import LoadCheck

    rules = list_rules(config, resource_id)
    types = {it["name"]: it["data_type"] for it in items}
    return LoadCheck(config, resource_id, run_id, rules, types) if rules else None


@hookimpl
def load_corrections(config: Any, resource: dict[str, Any], run_id: int) -> Any:
    from shuhai.quality.carryover import LoadCorrections, in_force

    corrections = in_force(config, resource["id"]) if resource["key_columns"] else []
    return LoadCorrections(config, resource, run_id, corrections) if corrections else None


def wait_for_checks(timeout: float | None = None) -> None:
    """Block until every quality check (and other post-ingest work) of this process is done."""
    wait_for_background(timeout)


__all__ = ["after_ingest", "load_checker", "load_corrections", "wait_for_checks"]
