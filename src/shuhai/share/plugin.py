"""Built-in plugin: keep serving indexes current (服务索引随新版本更新).

Every resource that is shared (无条件共享 or 有条件共享) and has key or ID columns to look up, and
every resource whose index was once built by hand, gets a serving index for each new lake
version, built in the background after the version is committed; lookups use the lake until it is
ready. Indexes of versions older than the previous one are removed once the new one is in place.
"""

from __future__ import annotations

import logging
from typing import Any

from shuhai.catalog.service import find_resource, resource_dict
from shuhai.db import session_scope
from shuhai.hookspecs import hookimpl
from shuhai.plugins import in_background
from shuhai.share.serving import build_index, index_path, indexed_columns

log = logging.getLogger(__name__)

SHARED = ("无条件共享", "有条件共享")  # share types whose rows other departments look up


def _rebuild(config: Any, run: dict[str, Any]) -> None:
    rid, version = run["resource_id"], run["lake_version"]
    try:
        build_index(config, rid, version)
    except Exception:  # noqa: BLE001 - logged; lookups fall back to the lake
        log.exception("serving index after run %s failed", run["id"])
        return
    for old in index_path(config, rid, version).parent.glob("v*.sqlite"):
        number = old.stem[1:]
        if number.isascii() and number.isdigit() and int(number) < version - 1:
            old.unlink(missing_ok=True)


def wanted(config: Any, resource_id: int) -> bool:
    """Whether a resource keeps a serving index: shared with lookup columns, or built before."""
    folder = index_path(config, resource_id, 0).parent
    if folder.is_dir() and any(folder.glob("v*.sqlite")):
        return True
    with session_scope(config.database_url) as s:
        res = resource_dict(find_resource(s, resource_id))
    return res.get("share_type") in SHARED and bool(indexed_columns(res))


@hookimpl
def after_ingest(config: Any, run: dict[str, Any]) -> None:
    if run.get("lake_version") is None:
        return
    if wanted(config, run["resource_id"]):
        in_background(f"shuhai-index-{run['id']}", _rebuild, config, run, detachable=True)


__all__ = ["after_ingest", "wanted"]
