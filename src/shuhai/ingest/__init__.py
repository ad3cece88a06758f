"""Ingest (汇聚): readers, typing, quarantine and atomic lake commits."""

from shuhai.ingest.readers import FORMATS, detect_format, open_source
from shuhai.ingest.service import (
    MODES,
    get_run,
    ingest,
    list_runs,
    platform_stats,
    quarantine_rows,
    quarantine_summary,
    run_dict,
)

__all__ = [
    "FORMATS",
    "MODES",
    "detect_format",
    "get_run",
    "ingest",
    "list_runs",
    "open_source",
    "platform_stats",
    "quarantine_rows",
    "quarantine_summary",
    "run_dict",
]
