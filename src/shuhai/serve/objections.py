"""Objections (疑义) as a viewer may see them.

An objection is seen by the person or system that raised it and by the members of the department
that provides the resource (who answer it) — not by the public, not by other departments. The
record key and the current, proposed and corrected values go through the policy point of the resource; the
free text (the reason, each step's note, the attachment's name) is masked like a free-text column
(ID, mobile and card numbers inside it), for everyone but the providing department's officer.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from shuhai.access.identity import Unauthorized
from shuhai.access.masking import mask_series
from shuhai.access.policy import Decision, Viewer, authorize, decide, mask_records, record
from shuhai.config import Config
from shuhai.errors import Forbidden
from shuhai.serve.views import masked_values
from shuhai.share.applications import grants


def may_see(viewer: Viewer, o: dict[str, Any], d: Decision) -> bool:
    """The raiser, or a member of the providing department, who may read the resource."""
    if not d.allowed:
        return False
    raiser = viewer.kind != "anonymous" and viewer.name == o.get("raised_by")
    return raiser or (viewer.department_member and viewer.department_id == d.owner)


def _free_text(values: list[str | None], d: Decision) -> list[str | None]:
    if d.code == "access.own_officer":
        return values
    return mask_series(pl.Series(values, dtype=pl.String), "free_text").to_list()


def masked(items: list[dict[str, Any]], d: Decision) -> list[dict[str, Any]]:
    """Objections on one resource as the viewer of ``d`` may see them, in one pass each for
    keys, values and free text."""
    if not items:
        return []
    keys = mask_records([dict(o["key"] or {}) for o in items], d)
    current = masked_values(d, [(o["item"], o["current_value"]) for o in items])
    proposed = masked_values(d, [(o["item"], o["proposed_value"]) for o in items])
    written = masked_values(d, [(o["item"], o.get("corrected_value")) for o in items])
    reasons = _free_text([o.get("reason") for o in items], d)
    files = _free_text([o.get("attachment") for o in items], d)
    notes = _free_text([h.get("note") for o in items for h in o.get("history") or []], d)
    at = iter(notes)
    return [
        {
            **o,
            "key": key if o["key"] else o["key"],
            "current_value": cur,
            "proposed_value": prop,
            "corrected_value": fixed,
            "reason": reason,
            "attachment": file,
            "history": [{**h, "note": next(at)} for h in o.get("history") or []],
        }
        for o, key, cur, prop, fixed, reason, file in zip(
            items, keys, current, proposed, written, reasons, files, strict=True
        )
    ]


def one(config: Config, viewer: Viewer, o: dict[str, Any], action: str) -> dict[str, Any]:
    """One objection, refused (and audited) for anyone who may not see it."""
    d = authorize(config, viewer, o["resource_id"], action=action, detail=o["id"])
    if not may_see(viewer, o, d):
        record(config, viewer, action, d.resource, outcome="refused", detail="objection.not_yours")
        zh, en = "疑义仅提出者与提供部门可见", "Only the raiser and the providing department see it"
        if viewer.kind == "anonymous":
            raise Unauthorized("objection.not_yours", f"请先登录。{zh}", f"Sign in. {en}")
        raise Forbidden("objection.not_yours", zh, en)
    return masked([o], d)[0]


def visible(config: Config, viewer: Viewer, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objections among ``items`` the viewer may see, masked; the others are left out."""
    if viewer.kind == "anonymous":
        return []
    by_resource: dict[int, list[int]] = {}
    for i, o in enumerate(items):
        by_resource.setdefault(o["resource_id"], []).append(i)
    shown: dict[int, dict[str, Any]] = {}
    approved = grants(config)
    for rid, at in by_resource.items():
        d = decide(config, viewer, rid, grants=approved)
        mine = [i for i in at if may_see(viewer, items[i], d)]
        shown.update(zip(mine, masked([items[i] for i in mine], d), strict=True))
    return [shown[i] for i in sorted(shown)]


__all__ = ["masked", "may_see", "one", "visible"]
