"""Data quality (数据质量): validators as vectorized SQL, rules as data, one query per version,
GB/T 36344 scores."""

from shuhai.quality import validators
from shuhai.quality.divisions import codes_in_use, division_periods
from shuhai.quality.engine import (
    department_scores,
    failing_rows,
    get_quality_run,
    list_rules,
    quality_history,
    run_quality,
    set_rules,
)
from shuhai.quality.plugin import wait_for_checks
from shuhai.quality.rules import KINDS, RuleSpec, default_rules, validate_rules
from shuhai.quality.scores import DIMENSIONS, score_version

__all__ = [
    "DIMENSIONS",
    "KINDS",
    "RuleSpec",
    "codes_in_use",
    "default_rules",
    "department_scores",
    "division_periods",
    "failing_rows",
    "get_quality_run",
    "list_rules",
    "quality_history",
    "run_quality",
    "score_version",
    "set_rules",
    "validate_rules",
    "validators",
    "wait_for_checks",
]
