"""Share applications (共享申请与审批), under 国发〔2016〕51号:

- 无条件共享 resources need no application; 不予共享 ones cannot be applied for (their legal
  basis is given back);
- an application for a 有条件共享 resource names purpose, legal basis, the info items wanted,
  the period and the usage scenario; the providing department answers within 10 working days
  (the shipped working-day calendar with holidays and 调休), a refusal always with a reason;
- applications left unanswered past the deadline are escalated to the platform;
- an approval is a grant of exactly the approved items for the approved period, then it expires.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from shuhai.access.policy import register_grants
from shuhai.catalog.service import find_resource, resource_dict
from shuhai.config import Config
from shuhai.db import ShareApplication, session_scope
from shuhai.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuhai.events import ACCESS_CHANGED, emit
from shuhai.quality.workdays import add_working_days

ANSWER_WITHIN = 10  # working days
MAX_PERIOD_DAYS = 3 * 366
STATUS = {
    "submitted": "待审核",
    "approved": "已批准",
    "refused": "已拒绝",
    "escalated": "逾期已上报",
    "withdrawn": "已撤回",
}


def application_dict(a: ShareApplication, today: dt.date | None = None) -> dict[str, Any]:
    today = today or dt.date.today()
    return {
        "id": a.id,
        "resource_id": a.resource_id,
        "department_id": a.department_id,
        "applicant": a.applicant,
        "purpose": a.purpose,
        "legal_basis": a.legal_basis,
        "scenario": a.scenario,
        "items": list(a.items or []),
        "period": [a.period_start.isoformat(), a.period_end.isoformat()],
        "status": a.status,
        "status_label": STATUS[a.status],
        "deadline": a.deadline.isoformat(),
        "overdue": a.status == "submitted" and a.deadline < today,
        "approved_items": list(a.approved_items or []),
        "active": a.status == "approved" and a.period_start <= today <= a.period_end,
        "decided_by": a.decided_by,
        "reason": a.reason,
    }


def parse_date(value: Any, field: str, problems: list[dict[str, str]]) -> dt.date | None:
    """A date field of a form (YYYY-MM-DD); a problem is noted, not raised, when it is not one."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.append({"field": field, "error": "日期格式应为 YYYY-MM-DD / a date as YYYY-MM-DD"})
        return None


def apply(
    config: Config,
    department_id: int,
    resource: str | int,
    data: dict[str, Any],
    *,
    applicant: str,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Submit an application; every problem is reported at once."""
    today = today or dt.date.today()
    with session_scope(config.database_url) as s:
        res = resource_dict(find_resource(s, resource))
        if res["department"]["id"] == department_id:
            raise Conflict(
                "share.own_resource",
                "本部门资源无需申请",
                "A department does not apply for its own data",
            )
        if res["share_type"] == "无条件共享":
            raise Conflict(
                "share.unconditional",
                "无条件共享资源无需申请，可直接调用",
                "Unconditionally shared: no application needed",
            )
        if res["share_type"] == "不予共享":
            raise Forbidden(
                "share.not_shared",
                f"该资源不予共享：{res.get('share_condition') or '依法不予共享'}",
                "This resource is not shared (see its legal basis)",
            )
        problems: list[dict[str, str]] = []
        for field in ("purpose", "legal_basis"):
            if not str(data.get(field) or "").strip():
                problems.append({"field": field, "error": "必填 / required"})
        items = data.get("items") or []
        known = {it["name"] for it in res["items"]}
        if not isinstance(items, list) or not items:
            problems.append({"field": "items", "error": "至少申请一个信息项 / at least one item"})
            items = []
        unknown = [i for i in items if i not in known]
        if unknown:
            problems.append(
                {
                    "field": "items",
                    "error": f"信息项不存在：{'、'.join(map(str, unknown))} / unknown items",
                }
            )
        start = parse_date(data.get("period_start") or today, "period_start", problems)
        end = parse_date(data.get("period_end"), "period_end", problems)
        if start and end and (end < start or (end - start).days > MAX_PERIOD_DAYS):
            problems.append(
                {
                    "field": "period_end",
                    "error": "期限应在开始之后且不超过三年 / end after start, at most 3 years",
                }
            )
        if problems:
            raise InvalidInput(
                "share.invalid_application",
                f"共享申请有 {len(problems)} 处错误",
                f"{len(problems)} problems in the application",
                details=problems,
            )
        assert start is not None and end is not None
        app = ShareApplication(
            resource_id=res["id"],
            department_id=department_id,
            applicant=applicant,
            purpose=str(data["purpose"]).strip(),
            legal_basis=str(data["legal_basis"]).strip(),
            scenario=str(data.get("scenario") or ""),
            items=[str(i) for i in items],
            period_start=start,
            period_end=end,
            status="submitted",
            deadline=add_working_days(today, ANSWER_WITHIN),
        )
        s.add(app)
        s.flush()
        return application_dict(app, today)


def decide(
    config: Config,
    application_id: int,
    *,
    approve: bool,
    department_id: int,
    actor: str,
    reason: str = "",
    items: list[str] | None = None,
) -> dict[str, Any]:
    """The providing department approves (all or some of the items) or refuses with a reason."""
    with session_scope(config.database_url) as s:
        app = s.get(ShareApplication, application_id)
        if app is None:
            raise NotFound(
                "share.not_found",
                f"共享申请 {application_id} 不存在",
                f"No application {application_id}",
            )
        res = resource_dict(find_resource(s, app.resource_id))
        if res["department"]["id"] != department_id:
            raise Forbidden(
                "share.not_provider",
                "只有资源提供部门可以审核",
                "Only the providing department decides",
            )
        if app.status not in ("submitted", "escalated"):
            raise Conflict("share.decided", "该申请已处理", "The application was already decided")
        if not approve and not reason.strip():
            raise InvalidInput(
                "share.reason_required", "拒绝必须说明理由", "A refusal needs a reason"
            )
        granted = list(app.items) if items is None else items
        extra = [i for i in granted if i not in app.items]
        if approve and (extra or not granted):
            raise InvalidInput(
                "share.bad_items",
                "批准的信息项须为申请信息项的子集",
                "Approved items must be a non-empty subset of those applied for",
            )
        app.status = "approved" if approve else "refused"
        app.approved_items = granted if approve else []
        app.decided_by, app.decided_at, app.reason = actor, dt.datetime.now(dt.UTC), reason.strip()
        out = application_dict(app)
    emit(ACCESS_CHANGED)  # remembered decisions of this process see the new grant now
    return out


def escalate_overdue(config: Config, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Applications past their deadline without an answer go to the platform (逾期上报)."""
    today = today or dt.date.today()
    with session_scope(config.database_url) as s:
        late = s.scalars(
            select(ShareApplication).where(
                ShareApplication.status == "submitted", ShareApplication.deadline < today
            )
        ).all()
        for app in late:
            app.status, app.escalated_at = "escalated", dt.datetime.now(dt.UTC)
        return [application_dict(a, today) for a in late]


def grants(config: Config, today: dt.date | None = None):  # type: ignore[no-untyped-def]
    """A ``(department id, resource id) → approved items`` lookup for the policy point: the union
    of the department's approved, unexpired applications for that resource."""
    today = today or dt.date.today()

    def lookup(department_id: int, resource_id: int) -> set[str] | None:
        with session_scope(config.database_url) as s:
            rows = s.scalars(
                select(ShareApplication).where(
                    ShareApplication.department_id == department_id,
                    ShareApplication.resource_id == resource_id,
                    ShareApplication.status == "approved",
                    ShareApplication.period_start <= today,
                    ShareApplication.period_end >= today,
                )
            ).all()
            items = {i for r in rows for i in (r.approved_items or [])}
        return items or None

    return lookup


def list_applications(
    config: Config, *, department_id: int | None = None, provider_id: int | None = None
) -> list[dict[str, Any]]:
    """A department's own applications, or those it has to answer as provider."""
    from shuhai.db import Resource

    with session_scope(config.database_url) as s:
        q = select(ShareApplication).order_by(ShareApplication.id.desc())
        if department_id is not None:
            q = q.where(ShareApplication.department_id == department_id)
        if provider_id is not None:
            q = q.join(Resource, Resource.id == ShareApplication.resource_id).where(
                Resource.department_id == provider_id
            )
        return [application_dict(a) for a in s.scalars(q)]


register_grants(grants)  # the policy point asks this module for approved grants

__all__ = [
    "ANSWER_WITHIN",
    "apply",
    "decide",
    "escalate_overdue",
    "grants",
    "list_applications",
]
