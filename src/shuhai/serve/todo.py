"""我的待办 (my work): what waits for the signed-in user, by role — the landing page after
sign-in and the count in the navigation.

- a department's data officer: share applications and open-data applications to decide,
  objections on its resources to handle (with their deadlines), corrections its source still
  undoes, comments to moderate, data requests addressed to it;
- the security officer: resources whose grading is not confirmed;
- the auditor: refusals in the last day and the audit trail's checkpoints;
- the system administrator: locked accounts, departments without an officer;
- the public: their open-data applications and data requests.

Each section lists its first items with a link to where the work is done.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from sqlalchemy import func, select

from shuhai.access.identity import ADMIN, AUDITOR, OFFICER, PUBLIC, SECURITY
from shuhai.access.policy import Viewer
from shuhai.config import Config
from shuhai.db import (
    AuditEntry,
    Department,
    InfoItem,
    Objection,
    OpenApplication,
    OpenDataset,
    OpenFeedback,
    OpenRequest,
    Resource,
    ShareApplication,
    User,
    session_scope,
)

SHOWN = 10  # items listed per section (the count is exact)
CACHE_SECONDS = 15.0  # the navigation's count is recomputed at most this often per user
_counts: dict[tuple[str, str], tuple[float, int]] = {}


def _section(key: str, zh: str, en: str, items: list[dict[str, Any]], count: int) -> dict[str, Any]:
    return {"key": key, "title": f"{zh} / {en}", "count": count, "items": items[:SHOWN]}


def _officer(s: Any, department_id: int, today: dt.date) -> list[dict[str, Any]]:
    out = []
    mine = select(Resource.id).where(Resource.department_id == department_id)
    share = s.execute(
        select(ShareApplication, Resource.name)
        .join(Resource, Resource.id == ShareApplication.resource_id)
        .where(
            Resource.department_id == department_id,
            ShareApplication.status.in_(("submitted", "escalated")),
        )
        .order_by(ShareApplication.deadline)
    ).all()
    out.append(
        _section(
            "share",
            "共享申请待审核",
            "Share applications to decide",
            [
                {
                    "label": f"#{a.id} {name}",
                    "href": "/share",
                    "due": a.deadline.isoformat(),
                    "overdue": a.deadline < today,
                }
                for a, name in share
            ],
            len(share),
        )
    )
    opened = s.execute(
        select(OpenApplication, OpenDataset.title)
        .join(OpenDataset, OpenDataset.id == OpenApplication.dataset_id)
        .where(
            OpenDataset.resource_id.in_(mine),
            OpenApplication.status.in_(("submitted", "escalated")),
        )
        .order_by(OpenApplication.deadline)
    ).all()
    out.append(
        _section(
            "open_applications",
            "开放数据申请待审核",
            "Open-data applications to decide",
            [
                {
                    "label": f"#{a.id} {title}",
                    "href": "/open/applications",
                    "due": a.deadline.isoformat(),
                    "overdue": a.deadline < today,
                }
                for a, title in opened
            ],
            len(opened),
        )
    )
    objections = s.execute(
        select(Objection, Resource.name)
        .join(Resource, Resource.id == Objection.resource_id)
        .where(
            Resource.department_id == department_id,
            Objection.status.in_(("raised", "accepted", "verifying")),
        )
        .order_by(Objection.deadline)
    ).all()
    out.append(
        _section(
            "objections",
            "疑义待处理",
            "Objections to handle",
            [
                {
                    "label": f"#{o.id} {name} · {o.item}",
                    "href": f"/objections/{o.id}",
                    "due": o.deadline.isoformat(),
                    "overdue": o.deadline < today,
                }
                for o, name in objections
            ],
            len(objections),
        )
    )
    still_old = s.execute(
        select(Objection, Resource.name)
        .join(Resource, Resource.id == Objection.resource_id)
        .where(Resource.department_id == department_id, Objection.source_status == "still_old")
        .order_by(Objection.id)
    ).all()
    out.append(
        _section(
            "still_old",
            "源头仍报送旧值的修正",
            "Corrections the source still sends the old value for",
            [
                {"label": f"#{o.id} {name} · {o.item}", "href": f"/objections/{o.id}"}
                for o, name in still_old
            ],
            len(still_old),
        )
    )
    comments = s.execute(
        select(OpenFeedback, OpenDataset.title, OpenDataset.name)
        .join(OpenDataset, OpenDataset.id == OpenFeedback.dataset_id)
        .where(OpenDataset.resource_id.in_(mine), OpenFeedback.status == "pending")
        .order_by(OpenFeedback.id)
    ).all()
    out.append(
        _section(
            "feedback",
            "评论与问题反馈待审核",
            "Comments and reports to moderate",
            [
                {"label": f"{title} · {f.author}", "href": f"/open/datasets/{name}#feedback"}
                for f, title, name in comments
            ],
            len(comments),
        )
    )
    requests = s.scalars(
        select(OpenRequest)
        .where(OpenRequest.department_id == department_id, OpenRequest.status == "open")
        .order_by(OpenRequest.id)
    ).all()
    out.append(
        _section(
            "requests",
            "数据需求待答复",
            "Data requests to answer",
            [
                {"label": f"#{r.id} {r.title}", "href": f"/open/requests#request-{r.id}"}
                for r in requests
            ],
            len(requests),
        )
    )
    return out


def _security(s: Any) -> list[dict[str, Any]]:
    rows = s.execute(
        select(Resource.id, Resource.name, func.count(InfoItem.id))
        .join(InfoItem, InfoItem.resource_id == Resource.id)
        .where(InfoItem.grading_confirmed_by.is_(None))
        .group_by(Resource.id, Resource.name)
        .order_by(Resource.id)
    ).all()
    return [
        _section(
            "grading",
            "分类分级待确认",
            "Gradings to confirm",
            [
                {"label": f"{name}（{n} 项 items）", "href": f"/resources/{rid}/grading"}
                for rid, name, n in rows
            ],
            len(rows),
        )
    ]


def _auditor(s: Any) -> list[dict[str, Any]]:
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat(timespec="microseconds")
    refused = s.execute(
        select(AuditEntry.action, func.count())
        .where(AuditEntry.outcome == "refused", AuditEntry.at >= since)
        .group_by(AuditEntry.action)
        .order_by(func.count().desc())
    ).all()
    return [
        _section(
            "refusals",
            "近 24 小时被拒绝的访问",
            "Refusals in the last 24 hours",
            [
                {"label": f"{action} × {n}", "href": f"/audit?outcome=refused&action={action}"}
                for action, n in refused
            ],
            int(sum(n for _a, n in refused)),
        )
    ]


def _admin(s: Any) -> list[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC)
    locked = [
        u
        for u in s.scalars(select(User).where(User.locked_until.is_not(None)))
        if _after(u.locked_until, now)
    ]
    departments = s.scalars(select(Department).order_by(Department.id)).all()
    officers = {u.department_id for u in s.scalars(select(User)) if OFFICER in (u.roles or [])}
    lacking = [d for d in departments if d.id not in officers]
    return [
        _section(
            "locked",
            "被锁定的账号",
            "Locked accounts",
            [{"label": u.username, "href": "/api/v1/users"} for u in locked],
            len(locked),
        ),
        _section(
            "no_officer",
            "没有数据管理员的部门",
            "Departments without a data officer",
            [
                {"label": f"{d.name}（{d.code}）", "href": f"/api/v1/departments/{d.code}"}
                for d in lacking
            ],
            len(lacking),
        ),
    ]


def _after(stamp: dt.datetime | None, now: dt.datetime) -> bool:
    if stamp is None:
        return False
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)) > now


def _public(s: Any, username: str) -> list[dict[str, Any]]:
    apps = s.execute(
        select(OpenApplication, OpenDataset.title)
        .join(OpenDataset, OpenDataset.id == OpenApplication.dataset_id)
        .where(OpenApplication.applicant == username)
        .order_by(OpenApplication.id.desc())
    ).all()
    requests = s.scalars(
        select(OpenRequest).where(OpenRequest.requester == username).order_by(OpenRequest.id.desc())
    ).all()
    waiting = [a for a, _t in apps if a.status in ("submitted", "escalated")]
    return [
        _section(
            "my_applications",
            "我的开放数据申请",
            "My open-data applications",
            [{"label": f"#{a.id} {t} · {a.status}", "href": "/open/applications"} for a, t in apps],
            len(waiting),
        ),
        _section(
            "my_requests",
            "我的数据需求",
            "My data requests",
            [
                {
                    "label": f"#{r.id} {r.title} · {r.status}",
                    "href": f"/open/requests#request-{r.id}",
                }
                for r in requests
            ],
            sum(1 for r in requests if r.status == "open"),
        ),
    ]


def for_viewer(config: Config, viewer: Viewer) -> dict[str, Any]:
    """The signed-in user's sections of work, by each of their roles."""
    today = dt.date.today()
    sections: list[dict[str, Any]] = []
    with session_scope(config.database_url) as s:
        if OFFICER in viewer.roles and viewer.department_id is not None:
            sections += _officer(s, viewer.department_id, today)
        if SECURITY in viewer.roles:
            sections += _security(s)
        if AUDITOR in viewer.roles:
            sections += _auditor(s)
        if ADMIN in viewer.roles:
            sections += _admin(s)
        if PUBLIC in viewer.roles:
            sections += _public(s, viewer.name)
    total = sum(x["count"] for x in sections)
    _counts[(config.database_url, viewer.name)] = (time.monotonic() + CACHE_SECONDS, total)
    return {"user": viewer.name, "roles": list(viewer.roles), "total": total, "sections": sections}


def count(config: Config, viewer: Viewer) -> int:
    """The navigation's count, recomputed at most every ``CACHE_SECONDS`` per user."""
    hit = _counts.get((config.database_url, viewer.name))
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    return int(for_viewer(config, viewer)["total"])


__all__ = ["count", "for_viewer"]
