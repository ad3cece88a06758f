"""GB/T 36344-2018 quality dimensions as ratios (数据质量评价指标), per version.

- 规范性 conformity: values passing format rules (patterns, code tables, ranges, phones …)
- 完整性 completeness: filled cells of all info items (nulls from the Delta statistics)
- 准确性 accuracy: identifiers whose check characters, dates and codes are right (ID, USCC …)
- 一致性 consistency: unique keys, cross-field agreement (birth date and sex vs ID), references
- 时效性 timeliness: last successful load against the declared update cycle
- 可访问性 accessibility: share of the resource's recent loads that succeeded
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shuhai.quality.rules import ACCURACY, COMPLETENESS, CONFORMITY, CONSISTENCY

TIMELINESS = "时效性"
ACCESSIBILITY = "可访问性"
DIMENSIONS = (CONFORMITY, COMPLETENESS, ACCURACY, CONSISTENCY, TIMELINESS, ACCESSIBILITY)
CYCLE_DAYS = {"实时": 1, "每日": 1, "每周": 7, "每月": 31, "每季度": 92, "每半年": 183, "每年": 366}


def timeliness(
    update_cycle: str, last_success: datetime | None, now: datetime | None = None
) -> float:
    """1.0 while the last load is within one cycle, falling linearly to 0 at two cycles."""
    if update_cycle not in CYCLE_DAYS:
        return 1.0 if last_success else 0.0  # 不定期: any load is timely
    if last_success is None:
        return 0.0
    now = now or datetime.now(UTC)
    if last_success.tzinfo is None:
        last_success = last_success.replace(tzinfo=UTC)
    age = (now - last_success).total_seconds() / 86400
    cycle = CYCLE_DAYS[update_cycle]
    return max(0.0, min(1.0, 2.0 - age / cycle))


def score_version(
    results: list[dict[str, Any]],
    *,
    completeness: float,
    update_cycle: str,
    last_success: datetime | None,
    recent_statuses: list[str],
) -> dict[str, float]:
    scores: dict[str, float] = {}
    for dim in (CONFORMITY, ACCURACY, CONSISTENCY):
        checked = sum(r["checked"] for r in results if r["dimension"] == dim)
        failed = sum(r["failed"] for r in results if r["dimension"] == dim)
        scores[dim] = 1.0 - failed / checked if checked else 1.0
    scores[COMPLETENESS] = completeness
    scores[TIMELINESS] = timeliness(update_cycle, last_success)
    done = [s for s in recent_statuses if s != "running"]
    scores[ACCESSIBILITY] = sum(s == "succeeded" for s in done) / len(done) if done else 0.0
    scores = {k: round(v, 6) for k, v in scores.items()}
    scores["overall"] = round(sum(scores[d] for d in DIMENSIONS) / len(DIMENSIONS), 6)
    return scores


__all__ = ["ACCESSIBILITY", "DIMENSIONS", "TIMELINESS", "score_version", "timeliness"]
