"""Filters by what the viewer may see (按可见内容过滤).

A filter compares the stored, unmasked value. On a column masked for the caller, a range, a
prefix, an ordering or an ``in`` list would let them find the hidden value by bisection (60 calls
recovered an ID number); only equality with one value is allowed there — a keyed lookup by a
value the caller already holds — and each such lookup is counted against the credential's
``masked_lookups_per_minute`` and named in the audit entry.
"""

from __future__ import annotations

from shuhai.access import limits
from shuhai.access.policy import Decision, Viewer
from shuhai.config import Config
from shuhai.errors import Forbidden
from shuhai.share.serving import Filter


def check_filters(
    config: Config, viewer: Viewer, decision: Decision, filters: list[Filter]
) -> list[str]:
    """Refuse filters the viewer may not use; returns the masked columns looked up by equality
    (already counted against the viewer's rate limit)."""
    outside = [f.column for f in filters if f.column not in decision.columns]
    if outside:
        raise Forbidden(
            "share.column_not_granted",
            f"无权按未获授权的信息项过滤：{'、'.join(outside)}",
            f"Cannot filter on items outside the grant: {', '.join(outside)}",
        )
    masked = [f for f in filters if f.column in decision.masking]
    wrong = [f.column for f in masked if f.op != "eq" or len(f.values) != 1]
    if wrong:
        raise Forbidden(
            "share.masked_filter",
            f"对您脱敏显示的信息项只能按单个值等值查询（eq.值）：{'、'.join(wrong)}",
            f"Items masked for you can be filtered only by equality with one value: "
            f"{', '.join(wrong)}",
        )
    if masked:
        limits.hit(
            config,
            f"masked:{viewer.kind}:{viewer.name}",
            config.masked_lookups_per_minute,
        )
    return [f.column for f in masked]


__all__ = ["check_filters"]
