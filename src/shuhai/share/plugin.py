"""Built-in plugin: keep serving indexes current (服务索引随新版本更新).

A resource whose serving index has been built once gets one for every new lake version, built in
the background after the version is committed; lookups use the lake until it is ready. Indexes of
versions older than the previous one are removed once the new one is in place.
"""

from __future__ import annotations

import logging
from typing import Any

from shuhai.hookspecs import hookimpl
from shuhai.plugins import in_background

log = logging.getLogger(__name__)


def _rebuild(config: Any, run: dict[str, Any]) -> None:
    from shuhai.share.serving import build_index, index_path

    rid, version = run["resource_id"], run["lake_version"]
    try:
        build_index(config, rid, version)
    except Exception:  # noqa: BLE001 - logged; lookups fall back to the lake
        log.exception("serving index after run %s failed", run["id"])
        return
    for old in index_path(config, rid, version).parent.glob("v*.sqlite"):
        number = old.stem[1:]
        if number.isdigit() and int(number) < version - 1:
            old.unlink(missing_ok=True)


@hookimpl
def after_ingest(config: Any, run: dict[str, Any]) -> None:
    from shuhai.share.serving import index_path

    if run.get("lake_version") is None:
        return
    folder = index_path(config, run["resource_id"], 0).parent
    if folder.is_dir() and any(folder.glob("v*.sqlite")):
        in_background(f"shuhai-index-{run['id']}", _rebuild, config, run)


__all__ = ["after_ingest"]
