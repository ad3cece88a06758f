"""The policy point (访问控制决策): who may read which resource and which columns, masked how.

Every read that leaves the platform asks ``decide`` first and passes its rows through ``apply``;
the answer depends only on the viewer and the resource, so the same record looks the same in a
preview, a profile, the API and a download for the same viewer. Default deny:

- the three platform roles (admin, security officer, auditor) read no department data (三员分立);
- the public and anonymous callers read only resources open without conditions (无条件开放),
  with every personal column (L3–L4) masked;
- a department's own officer (and its own systems) reads its resources unmasked, its users with
  L4 columns masked;
- another department reads 无条件共享 resources with L4 columns masked, 有条件共享 resources
  only under an approved grant (the columns and period approved), never 不予共享 ones;
- a system credential acts for its department, within its scopes when it has any;
- the operator (``OPERATOR``: the operating-system user who owns the data directory, at the
  command line) reads everything unmasked — they hold the files anyway — and every read is
  audited under their name.

L4 columns without a masking rule are left out rather than shown.
"""

from __future__ import annotations

import getpass
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from shuhai.access import audit
from shuhai.access.grading import levels_of, propose
from shuhai.access.identity import ADMIN, AUDITOR, OFFICER, PUBLIC, SECURITY, USER, Unauthorized
from shuhai.access.masking import linked, mask_frame, mask_series, rule_for
from shuhai.catalog.service import find_resource, resource_dict
from shuhai.config import Config
from shuhai.db import session_scope
from shuhai.errors import Forbidden
from shuhai.events import ACCESS_CHANGED, subscribe

UNCONDITIONAL = "无条件共享"  # 无条件共享
CONDITIONAL = "有条件共享"  # 有条件共享
NOT_SHARED = "不予共享"  # 不予共享
OPEN = "无条件开放"  # 无条件开放
CONDITIONAL_OPEN = "有条件开放"  # 有条件开放 (受限开放): by approved application
OPERATOR = "operator"  # 数据目录操作员: the OS user running the command line on the data directory
OPERATOR_CODE = "access.operator"


def operator() -> Viewer:
    """The command line's viewer: the operating-system user who runs it on the data directory."""
    return Viewer(OPERATOR, f"cli:{getpass.getuser()}")


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a signed-in user, a department system, or nobody."""

    kind: str = "anonymous"  # user | system | operator | anonymous
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
    mask_levels: frozenset[str] = frozenset()  # levels masked for this viewer (L3, L4)
    owner: int | None = None  # the providing department
    resource: str = ""  # the resource's code
    items: tuple[str, ...] = ()  # every info item of the resource

    def as_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "code": self.code,
            "reason": self.reason,
            "columns": self.columns,
            "masking": self.masking,
        }

    @property
    def own_department(self) -> bool:
        return self.code in ("access.own", "access.own_officer", OPERATOR_CODE)

    @property
    def unmasked(self) -> bool:
        """The viewer reads every column of the resource in full (its officer, the operator)."""
        return self.allowed and not self.masking and set(self.columns) == set(self.items)


Grants = Callable[[int, int], set[str] | None]  # (department id, resource id) -> approved columns


def no_grants(department_id: int, resource_id: int) -> set[str] | None:
    return None


_grants_source: list[Callable[[Config], Grants]] = []


def register_grants(source: Callable[[Config], Grants]) -> None:
    """Where approved grants come from (``shuhai.share.applications`` registers itself when
    imported): passed in, so this package never imports the one above it. Without a source no
    conditional grant is known, and conditionally shared resources are refused."""
    _grants_source[:] = [source]


def approved(config: Config) -> Grants:
    """The registered grants lookup for this platform (none: ``no_grants``)."""
    return _grants_source[0](config) if _grants_source else no_grants


OpenColumns = Callable[[int], list[str] | None]  # resource id -> the items it opens, or None

_open_source: list[Callable[[Config], OpenColumns]] = []


def register_open(source: Callable[[Config], OpenColumns]) -> None:
    """Where the published open datasets come from (``shuhai.open`` registers itself when
    imported): a 无条件开放 resource is read by the public only once it is published, and then
    only the items its publication opens. Without a source nothing is open (default deny)."""
    _open_source[:] = [source]


def opened(config: Config) -> OpenColumns | None:
    return _open_source[0](config) if _open_source else None


OpenGrants = Callable[[int, "Viewer"], bool]  # (resource id, viewer) -> approved to use it
_open_grants: list[Callable[[Config], OpenGrants]] = []


def register_open_grants(source: Callable[[Config], OpenGrants]) -> None:
    """Where approved applications for conditionally open data come from (``shuhai.open``
    registers itself): without a source, nobody reads conditionally open data."""
    _open_grants[:] = [source]


def open_granted(config: Config, resource_id: int, viewer: Viewer) -> bool:
    return bool(_open_grants) and _open_grants[0](config)(resource_id, viewer)


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
        return Decision(
            False, code, f"{zh} / {en}", owner=owner, resource=res["code"], items=tuple(columns)
        )

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
        masking = linked(masking, shown)  # no pair of shown columns rebuilds a masked value
        return Decision(
            True,
            code,
            f"{zh} / {en}",
            shown,
            masking,
            frozenset(mask_from),
            owner,
            res["code"],
            tuple(columns),
        )

    if viewer.kind == OPERATOR:
        return allow(
            columns,
            set(),
            OPERATOR_CODE,
            "数据目录操作员（命令行）",
            "The data directory's operator",
        )
    platform = {ADMIN, SECURITY, AUDITOR} & set(viewer.roles)
    if platform and not viewer.department_member:
        return deny(
            "access.platform_role",
            "系统管理员、安全保密管理员、安全审计员不读取部门数据（三员分立）",
            "Platform roles do not read department data (separation of duties)",
        )
    if viewer.kind in ("system", "open_key") and viewer.scopes and res["code"] not in viewer.scopes:
        return deny(
            "access.out_of_scope",
            "凭证的授权范围不含该资源",
            "The credential's scope excludes this resource",
        )
    if not viewer.department_member:
        if res.get("open_type") in (OPEN, CONDITIONAL_OPEN) and (
            viewer.kind == "anonymous" or PUBLIC in viewer.roles or not viewer.roles
        ):
            published = opened(config)
            cols = published(res["id"]) if published is not None else None
            if cols is None:  # not published (or no open-data package in this process)
                return deny(
                    "access.not_published",
                    "该资源尚未作为开放数据发布",
                    "The resource is not published as open data",
                )
            if res["open_type"] == CONDITIONAL_OPEN and not open_granted(config, res["id"], viewer):
                return deny(
                    "access.open_conditional",
                    "有条件开放数据须申请并获批准后使用",
                    "Conditionally open data: apply, and use it once approved",
                )
            # 核心 (L4) items are never opened, even if graded so after publishing
            cols = [c for c in columns if c in set(cols) and levels.get(c) != "L4"]
            return allow(cols, {"L3", "L4"}, "access.open", "开放数据", "Open data")
        return deny("access.denied", "无权访问该资源", "No access to this resource")
    if viewer.department_id == owner:
        if OFFICER in viewer.roles or viewer.kind == "system":  # its officer, or its own system
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


def record(
    config: Config,
    viewer: Viewer,
    action: str,
    resource: str | int,
    *,
    outcome: str = "ok",
    detail: Any = None,
) -> None:
    """One audit entry for what ``viewer`` did (or was refused)."""
    audit.record(
        config,
        action,
        actor=viewer.name,
        department=viewer.department_id,
        resource=str(resource)[:200],
        outcome=outcome,
        detail=detail,
    )


CACHE_SECONDS = 5.0  # how long a hot-path decision is reused (the sharing API's lookups)
_cache: dict[tuple[str, Viewer, str], tuple[float, dict[str, Any], Decision]] = {}
_cache_lock = threading.Lock()


def forget(**_payload: Any) -> None:
    """Drop remembered decisions: called (``events.ACCESS_CHANGED``) when a grant, a grading or
    a catalog entry changes in this process; other processes see it within ``CACHE_SECONDS``."""
    with _cache_lock:
        _cache.clear()


subscribe(ACCESS_CHANGED, forget)


def remembered(
    config: Config, viewer: Viewer, resource: str | int
) -> tuple[dict[str, Any], Decision]:
    """The resource and the viewer's decision, reused for ``CACHE_SECONDS``: a keyed lookup then
    costs no metadata query. Refusals are not remembered."""
    key = (config.database_url, viewer, str(resource))
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    with session_scope(config.database_url) as s:
        res = resource_dict(find_resource(s, resource))
    decision = decide(config, viewer, res["id"], grants=approved(config))
    if decision.allowed:
        with _cache_lock:
            if len(_cache) > 10_000:
                _cache.clear()
            _cache[key] = (now + CACHE_SECONDS, res, decision)
    return res, decision


def authorize(
    config: Config,
    viewer: Viewer,
    resource: str | int,
    *,
    action: str,
    grants: Grants | None = None,
    detail: Any = None,
    record_ok: bool = True,
    decision: Decision | None = None,
) -> Decision:
    """``decide``, and append the read (or its refusal) to the audit trail; a refusal raises
    401 for anonymous callers (sign in first) and 403 for everyone else. Callers that can still
    refuse after the decision (bad parameters) pass ``record_ok=False`` and record the outcome
    themselves, so that one call leaves one entry."""
    if decision is None:
        if grants is None:
            grants = approved(config)
        decision = decide(config, viewer, resource, grants=grants)
    if decision.allowed and not record_ok:
        return decision
    record(
        config,
        viewer,
        action,
        decision.resource or resource,
        outcome="ok" if decision.allowed else "refused",
        detail=detail if decision.allowed else decision.code,
    )
    if not decision.allowed:
        zh, en = decision.reason.split(" / ", 1)
        if viewer.kind == "anonymous":
            raise Unauthorized(decision.code, f"请先登录。{zh}", f"Sign in first. {en}")
        raise Forbidden(decision.code, zh, en)
    return decision


def mask_records(
    rows: list[dict[str, Any]], decision: Decision, fields: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Rows as plain dicts (previews, failing rows, conflicts), masked like ``apply`` does:
    resource columns the viewer may not read are dropped, the others masked by the decision.
    ``fields`` maps a row field to the resource column it holds (``{"left_value": "姓名"}``),
    by default every field named like an info item; other fields (flags, line numbers) pass
    through."""
    if not rows:
        return rows
    columns = set(decision.columns)
    if fields is None:
        items = set(decision.items)
        fields = {k: k for k in {k for r in rows for k in r} if k in items}
    drop = {f for f, col in fields.items() if col not in columns}
    rules = {f: decision.masking[col] for f, col in fields.items() if col in decision.masking}
    out = [{k: v for k, v in r.items() if k not in drop} for r in rows]
    if rules:
        frame = pl.DataFrame(
            {f: [None if r.get(f) is None else str(r[f]) for r in out] for f in rules},
            schema={f: pl.String for f in rules},
        )
        masked = mask_frame(frame, rules)
        for f in rules:
            for r, v in zip(out, masked[f].to_list(), strict=True):
                if f in r:
                    r[f] = v
    return out


def mask_attribute_rows(rows: list[dict[str, Any]], decision: Decision) -> list[dict[str, Any]]:
    """Rows of values named by attribute rather than by column (base-database files): each
    attribute masked by the rule and level its name implies, at the levels this decision masks —
    one vectorized pass per attribute over all the rows. Sensitive attributes without a rule are
    left out."""
    out = [dict(r) for r in rows]
    if not decision.mask_levels:
        return out
    names = list(dict.fromkeys(a for r in rows for a in r))
    rules: dict[str, str] = {}
    for attr in names:
        rule = rule_for(attr)
        if propose(attr)["level"] not in decision.mask_levels and rule != "free_text":
            continue
        if rule is None:
            for r in out:
                if r.get(attr) is not None:
                    del r[attr]
            continue
        rules[attr] = rule
    for attr, rule in linked(rules, names).items():
        at = [i for i, r in enumerate(out) if r.get(attr) is not None]
        if at:
            values = pl.Series([str(out[i][attr]) for i in at], dtype=pl.String)
            for i, masked in zip(at, mask_series(values, rule).to_list(), strict=True):
                out[i][attr] = masked
    return out


class SourceView:
    """Reads that gather records of many resources (一人一档 files, review evidence): each value
    goes through the decision of the resource it came from, so a file shows a viewer exactly what
    the viewer could read in those resources, masked the same way.

    Only department members read such files (the three platform roles and the public do not).
    Values that mix sources (search hits, review evidence) are masked at L4 for everyone.
    """

    MIXED = frozenset({"L4"})

    def __init__(self, config: Config, viewer: Viewer, grants: Grants | None = None) -> None:
        if grants is None:
            grants = approved(config)
        self.config, self.viewer, self.grants = config, viewer, grants
        self._decisions: dict[int, Decision] = {}

    def check(self, action: str, target: str) -> None:
        """Refuse (and audit) callers who may not read base-database files at all."""
        v = self.viewer
        allowed = v.department_member or v.kind == OPERATOR
        record(
            self.config,
            v,
            action,
            target,
            outcome="ok" if allowed else "refused",
            detail=None if allowed else "access.base_members_only",
        )
        if allowed:
            return
        zh, en = "档案仅供各部门工作人员查看", "Files are read by department staff only"
        if v.kind == "anonymous":
            raise Unauthorized("access.base_members_only", f"请先登录。{zh}", f"Sign in. {en}")
        raise Forbidden("access.base_members_only", zh, en)

    def decision(self, resource_id: int) -> Decision:
        if resource_id not in self._decisions:
            self._decisions[resource_id] = decide(
                self.config, self.viewer, resource_id, grants=self.grants
            )
        return self._decisions[resource_id]

    def readable(self, resource_id: int) -> bool:
        return self.decision(resource_id).allowed

    def values_many(self, items: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any] | None]:
        """Sources' values by attribute name, each masked as its resource is for this viewer
        (None where the viewer may not read the resource): one masking pass per resource."""
        out: list[dict[str, Any] | None] = [None] * len(items)
        by_resource: dict[int, list[int]] = {}
        for i, (rid, _values) in enumerate(items):
            by_resource.setdefault(rid, []).append(i)
        for rid, at in by_resource.items():
            d = self.decision(rid)
            if d.allowed:
                masked = mask_attribute_rows([items[i][1] for i in at], d)
                for i, row in zip(at, masked, strict=True):
                    out[i] = row
        return out

    def mixed_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Values drawn from several sources at once: L4 masked."""
        return mask_attribute_rows(rows, Decision(True, "access.mixed", "", mask_levels=self.MIXED))


def apply(frame: pl.DataFrame, decision: Decision) -> pl.DataFrame:
    """The rows as the viewer may see them: allowed columns only (system columns kept), masked."""
    if not decision.allowed:
        return frame.clear().select([])
    keep = [c for c in frame.columns if c in decision.columns or c.startswith("_")]
    if len(keep) < frame.width:
        frame = frame[keep]  # (no query plan: a one-row answer pays for every one)
    return mask_frame(frame, decision.masking)


__all__ = [
    "Decision",
    "Grants",
    "SourceView",
    "Viewer",
    "apply",
    "approved",
    "authorize",
    "decide",
    "forget",
    "operator",
    "mask_attribute_rows",
    "mask_records",
    "no_grants",
    "record",
    "register_grants",
    "register_open",
    "register_open_grants",
    "open_granted",
    "opened",
    "remembered",
]
