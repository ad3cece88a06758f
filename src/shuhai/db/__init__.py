"""Metadata database: models, sessions, migrations."""

from shuhai.db.models import (
    Base,
    Comparison,
    ComparisonRun,
    Department,
    InfoItem,
    IngestRun,
    Objection,
    ObjectionEvent,
    ObjectionPolicy,
    QualityResult,
    QualityRule,
    QualityRun,
    QuarantineSummary,
    Resource,
)
from shuhai.db.session import get_engine, session_scope, upgrade

__all__ = [
    "Objection",
    "ObjectionEvent",
    "ObjectionPolicy",
    "Comparison",
    "ComparisonRun",
    "QualityResult",
    "QualityRule",
    "QualityRun",
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
