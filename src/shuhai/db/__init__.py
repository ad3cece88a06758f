"""Metadata database: models, sessions, migrations."""

from shuhai.db.models import (
    Base,
    Department,
    InfoItem,
    IngestRun,
    QuarantineSummary,
    Resource,
)
from shuhai.db.session import get_engine, session_scope, upgrade

__all__ = [
    "Base",
    "Department",
    "InfoItem",
    "IngestRun",
    "QuarantineSummary",
    "Resource",
    "get_engine",
    "session_scope",
    "upgrade",
]
