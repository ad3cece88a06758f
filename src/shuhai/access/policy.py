"""The policy point (访问控制决策): who may read which resource and which columns, masked how.

Every read that leaves the platform asks ``decide`` first and passes its rows through ``apply``;
the answer depends only on the viewer and the resource, so the same record looks the same in a
preview, a profile, the API and a download for the same viewer. Default deny:

- the three platform roles (admin, security officer, auditor) read no department data (三员分立);
- the public and anonymous callers read only resources open without conditions (无条件开放),
  with every personal column (L3–L4) masked;
- a department's own officer reads its resources unmasked, its users with L4 columns masked;
- another department reads 无条件共享 resources with L4 columns masked, 有条件共享 resources
  only under an approved grant (the columns and period approved), never 不予共享 ones;
- a system credential acts for its department, within its scopes when it has any.

L4 columns without a masking rule are left out rather than shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from shuhai.access.grading import levels_of
from shuhai.access.identity import ADMIN, AUDITOR, OFFICER, PUBLIC, SECURITY, USER
from shuhai.access.masking import mask_frame, rule_for
from shuhai.catalog.service import find_resource, resource_dict
from shuhai.config import Config
from shuhai.db import session_scope

UNCONDITIONAL = "无条件共享"  # 无条件共享
CONDITIONAL = "有条件共享"  # 有条件共享
NOT_SHARED = "不予共享"  # 不予共享
OPEN = "无条件开放"  # 无条件开放


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a signed-in user, a department system, or nobody."""

    kind: str = "anonymous"  # user | system | anonymous
    name: str = "anonymous"
    department_id: int | None = None
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()

    @property
    def department_member(self) -> bool:
        return self.department_id is not None and (
            self.kind == "system" or bool({OFFICER, USER} & set(self.roles))
        )


@dataclass
class Decision:
    allowed: bool
    code: str
    reason: str  # "中文 / English"
    columns: list[str] = field(default_factory=list)
    masking: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "code": self.code,
            "reason": self.reason,
            "columns": self.columns,
            "masking": self.masking,
        }


Grants = Callable[[int, int], set[str] | None]  # (department id, resource id) -> approved columns


def no_grants(department_id: int, resource_id: int) -> set[str] | None:
    return None


def decide(
    config: Config, viewer: Viewer, resource: str | int, *, grants: Grants = no_grants
) -> Decision:
    """The columns ``viewer`` may read of ``resource`` and how each is masked."""
    with session_scope(config.database_url) as s:
        res = resource_dict(find_resource(s, resource))
    columns = [it["name"] for it in res["items"]]
    levels = levels_of(config, res["id"])
    owner = res["department"]["id"]

    def deny(code: str, zh: str, en: str) -> Decision:
        return Decision(False, code, f"{zh} / {en}")

    def allow(cols: list[str], mask_from: set[str], code: str, zh: str, en: str) -> Decision:
        masking, shown = {}, []
        for c in cols:
            if mask_from and rule_for(c) == "free_text":  # numbers hidden in text, at any level
                masking[c] = "free_text"
            elif levels.get(c) in mask_from:
                rule = rule_for(c)
                if rule is None:
                    continue  # sensitive and no rule that keeps it useful: left out
                masking[c] = rule
            shown.append(c)
        return Decision(True, code, f"{zh} / {en}", shown, masking)

    platform = {ADMIN, SECURITY, AUDITOR} & set(viewer.roles)
    if platform and not viewer.department_member:
        return deny(
            "access.platform_role",
            "系统管理员、安全保密管理员、安全审计员不读取部门数据（三员分立）",
            "Platform roles do not read department data (separation of duties)",
        )
    if viewer.kind == "system" and viewer.scopes and res["code"] not in viewer.scopes:
        return deny(
            "access.out_of_scope",
            "凭证的授权范围不含该资源",
            "The credential's scope excludes this resource",
        )
    if not viewer.department_member:
        if res.get("open_type") == OPEN and (
            viewer.kind == "anonymous" or PUBLIC in viewer.roles or not viewer.roles
        ):
            return allow(columns, {"L3", "L4"}, "access.open", "开放数据", "Open data")
        return deny("access.denied", "无权访问该资源", "No access to this resource")
    if viewer.department_id == owner:
        if OFFICER in viewer.roles:
            return allow(
                columns, set(), "access.own_officer", "本部门数据管理员", "Own department's officer"
            )
        return allow(columns, {"L4"}, "access.own", "本部门数据", "Own department's data")
    share = res.get("share_type")
    if share == NOT_SHARED:
        return deny(
            "access.not_shared",
            f"该资源不予共享：{res.get('share_condition') or '依法不予共享'}",
            "This resource is not shared (legal basis in the catalog)",
        )
    if share == UNCONDITIONAL:
        return allow(
            columns, {"L4"}, "access.unconditional", "无条件共享", "Shared without conditions"
        )
    if share == CONDITIONAL:
        approved = grants(int(viewer.department_id or 0), int(res["id"]))
        if not approved:
            return deny(
                "access.needs_grant",
                "有条件共享资源需先申请并获批准",
                "A conditionally shared resource needs an approved application",
            )
        return allow(
            [c for c in columns if c in approved],
            {"L4"},
            "access.granted",
            "已获批准的共享",
            "Approved share",
        )
    return deny("access.denied", "无权访问该资源", "No access to this resource")


def apply(frame: pl.DataFrame, decision: Decision) -> pl.DataFrame:
    """The rows as the viewer may see them: allowed columns only (system columns kept), masked."""
    if not decision.allowed:
        return frame.clear().select([])
    keep = [c for c in frame.columns if c in decision.columns or c.startswith("_")]
    return mask_frame(frame.select(keep), decision.masking)


__all__ = ["Decision", "Grants", "Viewer", "apply", "decide", "no_grants"]
