"""Conditional opening (有条件开放 / 受限开放): a registered person or enterprise applies to use
a conditionally open dataset, with its purpose, its scenario and a signed security pledge
(数据安全承诺书); the owning department answers within 5 working days (a reminder the working
day before, escalation to the platform after); an approved applicant takes a personal key
scoped to that dataset and period, sent CKAN's way (``Authorization: <key>`` or
``X-CKAN-API-Key``). The key is shown once and stored as its SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from shuhai.access.identity import OFFICER, PUBLIC
from shuhai.access.policy import OPERATOR, Viewer, record, register_open_grants
from shuhai.catalog.spec import uscc_checksum_ok
from shuhai.config import Config
from shuhai.db import OpenApplication, OpenDataset, OpenKey, Resource, session_scope
from shuhai.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuhai.events import ACCESS_CHANGED, emit
from shuhai.open.datasets import CONDITIONAL_OPEN, PUBLISHED
from shuhai.quality.workdays import add_working_days, is_working_day
from shuhai.share.applications import parse_date

ANSWER_WITHIN = 5  # working days the owning department has to answer
MAX_PERIOD_DAYS = 366
KEY_PREFIX = "shk_"
PLEDGE_VERSION = "2026-1"
PLEDGE = (
    f"数据安全承诺书（{PLEDGE_VERSION}）\n"
    "本人/本单位申请使用上述有条件开放数据，郑重承诺：\n"
    "一、仅将数据用于申请中所述的用途和场景，不超范围使用；\n"
    "二、不以任何方式将数据转让、出售或提供给第三方，不公开发布原始数据；\n"
    "三、不尝试识别或重新识别个人身份，不与其他数据关联以还原被脱敏的信息；\n"
    "四、采取必要的安全措施保护数据和调用密钥，发现泄露立即报告并停止使用；\n"
    "五、使用期满或授权撤销后删除所获数据，并配合数据提供部门的检查；\n"
    "六、违反承诺的，自愿承担由此产生的法律责任。\n"
    "Security pledge: use the data only for the stated purpose and scenario; never pass it on or "
    "publish it; never re-identify anyone; protect the data and the key; delete it when the "
    "period ends; accept the legal consequences of a breach."
)

STATUS = {
    "submitted": "待审核 / submitted",
    "approved": "已批准 / approved",
    "refused": "未批准 / refused",
    "escalated": "逾期已上报 / escalated",
    "withdrawn": "已撤回 / withdrawn",
}


def _bad(problems: list[dict[str, str]]) -> InvalidInput:
    return InvalidInput(
        "open.invalid_application",
        f"开放数据申请有 {len(problems)} 处错误",
        f"{len(problems)} problems in the application",
        details=problems,
    )


def _dataset(s: Any, name: str | int) -> tuple[OpenDataset, Resource]:
    text = str(name)
    q = select(OpenDataset, Resource).join(Resource, Resource.id == OpenDataset.resource_id)
    q = (
        q.where(OpenDataset.id == int(text))
        if text.isascii() and text.isdigit() and len(text) <= 18
        else q.where(OpenDataset.name == text)
    )
    row = s.execute(q).first()
    if row is None or row[0].status != PUBLISHED:
        raise NotFound("open.not_found", f"开放数据集 {text} 不存在", f"No open dataset {text}")
    return row[0], row[1]


def application_dict(
    a: OpenApplication, ds: OpenDataset, res: Resource, today: dt.date | None = None
) -> dict[str, Any]:
    today = today or dt.date.today()
    return {
        "id": a.id,
        "dataset": {"id": ds.id, "name": ds.name, "title": ds.title},
        "publisher": res.department.name if res.department else "",
        "applicant": a.applicant,
        "applicant_kind": a.applicant_kind,
        "organisation": a.organisation,
        "uscc": a.uscc,
        "contact": a.contact,
        "purpose": a.purpose,
        "scenario": a.scenario,
        "pledge": {
            "version": a.pledge_version,
            "signed_by": a.pledge_signed_by,
            "signed_at": a.pledge_signed_at.isoformat() if a.pledge_signed_at else None,
        },
        "period_start": a.period_start.isoformat(),
        "period_end": a.period_end.isoformat(),
        "status": a.status,
        "status_label": STATUS.get(a.status, a.status),
        "deadline": a.deadline.isoformat(),
        "overdue": a.status == "escalated" or (a.status == "submitted" and a.deadline < today),
        "decided_by": a.decided_by,
        "decided_at": a.decided_at.isoformat() if a.decided_at else None,
        "reason": a.reason,
        "reminded_at": a.reminded_at.isoformat() if a.reminded_at else None,
        "escalated_at": a.escalated_at.isoformat() if a.escalated_at else None,
        "created_at": a.created_at.isoformat() if a.created_at else None,
    }


def apply(
    config: Config,
    name: str | int,
    data: dict[str, Any],
    *,
    viewer: Viewer,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Submit an application for a conditionally open dataset; every problem reported at once."""
    today = today or dt.date.today()
    if viewer.kind != "user" or PUBLIC not in viewer.roles:
        raise Forbidden(
            "open.public_only",
            "有条件开放数据由注册的个人或企业用户申请，请以公众账号登录",
            "Conditionally open data is applied for by a registered person or enterprise",
        )
    with session_scope(config.database_url) as s:
        ds, res = _dataset(s, name)
        if res.open_type != CONDITIONAL_OPEN:
            raise Conflict(
                "open.unconditional",
                "该数据无条件开放，无需申请，可直接下载和调用",
                "Open without conditions: no application needed",
            )
        problems: list[dict[str, str]] = []
        kind = str(data.get("applicant_kind") or "person")
        if kind not in ("person", "enterprise"):
            problems.append({"field": "applicant_kind", "error": "应为 person 或 enterprise"})
        organisation = str(data.get("organisation") or "").strip()[:200]
        uscc = str(data.get("uscc") or "").strip().upper()
        if kind == "enterprise":
            if not organisation:
                problems.append(
                    {"field": "organisation", "error": "企业申请须填写单位名称 / required"}
                )
            if len(uscc) != 18 or not uscc_checksum_ok(uscc):
                problems.append(
                    {"field": "uscc", "error": "统一社会信用代码无效 / not a valid credit code"}
                )
        for field, least in (("purpose", 10), ("scenario", 10)):
            text = str(data.get(field) or "").strip()
            if len(text) < least:
                problems.append(
                    {
                        "field": field,
                        "error": f"请具体说明（至少 {least} 字）/ describe it (at least {least} characters)",
                    }
                )
            elif len(text) > 5000:
                problems.append({"field": field, "error": "过长（至多 5000 字）/ too long"})
        pledge = data.get("pledge") or {}
        signed_by = str(pledge.get("signed_by") or "").strip() if isinstance(pledge, dict) else ""
        if not (isinstance(pledge, dict) and pledge.get("accepted") is True and signed_by):
            problems.append(
                {
                    "field": "pledge",
                    "error": "须阅读并签署数据安全承诺书（勾选并签名）/ sign the security pledge",
                }
            )
        start = parse_date(data.get("period_start") or today, "period_start", problems)
        end = parse_date(
            data.get("period_end") or (today + dt.timedelta(days=180)), "period_end", problems
        )
        if start and end and (end < start or (end - start).days > MAX_PERIOD_DAYS or start < today):
            problems.append(
                {
                    "field": "period_end",
                    "error": "使用期限应从今天或以后开始，且不超过一年 / from today on, at most a year",
                }
            )
        if problems:
            raise _bad(problems)
        pending = s.scalars(
            select(OpenApplication.id).where(
                OpenApplication.dataset_id == ds.id,
                OpenApplication.applicant == viewer.name,
                OpenApplication.status.in_(("submitted", "escalated")),
            )
        ).first()
        if pending is not None:
            raise Conflict(
                "open.pending",
                f"您对该数据集已有待审核的申请（#{pending}）",
                f"You already have an application waiting (#{pending})",
            )
        assert start is not None and end is not None
        app = OpenApplication(
            dataset_id=ds.id,
            applicant=viewer.name,
            applicant_kind=kind,
            organisation=organisation,
            uscc=uscc,
            contact=str(data.get("contact") or "").strip()[:200],
            purpose=str(data["purpose"]).strip(),
            scenario=str(data["scenario"]).strip(),
            pledge_version=PLEDGE_VERSION,
            pledge_signed_by=signed_by[:100],
            pledge_signed_at=dt.datetime.now(dt.UTC),
            period_start=start,
            period_end=end,
            status="submitted",
            deadline=add_working_days(today, ANSWER_WITHIN),
        )
        s.add(app)
        s.flush()
        out = application_dict(app, ds, res, today)
    record(config, viewer, "open.apply", out["dataset"]["name"], detail={"application": out["id"]})
    return out


def _provider(viewer: Viewer, res: Resource) -> None:
    if viewer.kind == OPERATOR:
        return
    if viewer.department_id == res.department_id and OFFICER in viewer.roles:
        return
    raise Forbidden(
        "open.not_provider",
        "只有数据提供部门的数据管理员可以审核",
        "Only the providing department's data officer decides",
    )


def decide(
    config: Config,
    application_id: int,
    *,
    approve: bool,
    viewer: Viewer,
    reason: str = "",
) -> dict[str, Any]:
    """The owning department approves or refuses (a refusal with its reason)."""
    with session_scope(config.database_url) as s:
        app = s.get(OpenApplication, application_id)
        if app is None:
            raise NotFound(
                "open.application_not_found",
                f"开放数据申请 {application_id} 不存在",
                f"No application {application_id}",
            )
        ds = s.get(OpenDataset, app.dataset_id)
        res = s.get(Resource, ds.resource_id) if ds else None
        assert ds is not None and res is not None
        _provider(viewer, res)
        if app.status not in ("submitted", "escalated"):
            raise Conflict("open.decided", "该申请已处理", "The application was already decided")
        if not approve and not reason.strip():
            raise InvalidInput(
                "open.reason_required", "不予批准须说明理由", "A refusal needs a reason"
            )
        app.status = "approved" if approve else "refused"
        app.decided_by, app.decided_at = viewer.name, dt.datetime.now(dt.UTC)
        app.reason = reason.strip()[:2000]
        out = application_dict(app, ds, res)
    record(
        config,
        viewer,
        "open.decide",
        out["dataset"]["name"],
        detail={"application": application_id, "approve": approve},
    )
    emit(ACCESS_CHANGED)
    return out


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(config: Config, application_id: int, *, viewer: Viewer) -> dict[str, Any]:
    """The approved applicant takes a personal key (shown this once); a new key replaces the
    previous one of the same application."""
    today = dt.date.today()
    with session_scope(config.database_url) as s:
        app = s.get(OpenApplication, application_id)
        if app is None or app.applicant != viewer.name or viewer.kind != "user":
            raise NotFound(
                "open.application_not_found",
                f"开放数据申请 {application_id} 不存在",
                f"No application {application_id}",
            )
        if app.status != "approved":
            raise Conflict("open.not_approved", "申请尚未批准", "The application is not approved")
        if app.period_end < today:
            raise Conflict(
                "open.expired", "使用期限已过，请重新申请", "The period is over: apply again"
            )
        for old in s.scalars(
            select(OpenKey).where(OpenKey.application_id == app.id, OpenKey.revoked_at.is_(None))
        ):
            old.revoked_at = dt.datetime.now(dt.UTC)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = OpenKey(
            application_id=app.id,
            key_hash=_hash(key),
            prefix=key[:12],
            username=app.applicant,
            dataset_id=app.dataset_id,
            valid_from=app.period_start,
            valid_to=app.period_end,
        )
        s.add(row)
        s.flush()
        ds = s.get(OpenDataset, app.dataset_id)
        out = {
            "key": key,
            "id": row.id,
            "prefix": row.prefix,
            "dataset": ds.name if ds else None,
            "valid_from": row.valid_from.isoformat(),
            "valid_to": row.valid_to.isoformat(),
            "message": "密钥只显示这一次，请妥善保存 / The key is shown this once: keep it safe",
        }
    record(config, viewer, "open.key_issue", out["dataset"] or "", detail={"key": out["prefix"]})
    emit(ACCESS_CHANGED)
    return out


def revoke_key(config: Config, key_id: int, *, viewer: Viewer) -> dict[str, Any]:
    """The key's holder, or the providing department's officer, revokes a key."""
    with session_scope(config.database_url) as s:
        row = s.get(OpenKey, key_id)
        if row is None:
            raise NotFound("open.key_not_found", f"密钥 {key_id} 不存在", f"No key {key_id}")
        if row.username != viewer.name:
            ds = s.get(OpenDataset, row.dataset_id)
            res = s.get(Resource, ds.resource_id) if ds else None
            assert res is not None
            _provider(viewer, res)
        if row.revoked_at is None:
            row.revoked_at = dt.datetime.now(dt.UTC)
        out = {"id": row.id, "prefix": row.prefix, "revoked_at": row.revoked_at.isoformat()}
    record(config, viewer, "open.key_revoke", out["prefix"], detail={"key": key_id})
    emit(ACCESS_CHANGED)
    return out


def list_applications(config: Config, viewer: Viewer) -> dict[str, Any]:
    """The caller's own applications and keys (a public user), or those their department has to
    answer (an officer)."""
    today = dt.date.today()
    with session_scope(config.database_url) as s:
        q = (
            select(OpenApplication, OpenDataset, Resource)
            .join(OpenDataset, OpenDataset.id == OpenApplication.dataset_id)
            .join(Resource, Resource.id == OpenDataset.resource_id)
            .order_by(OpenApplication.id.desc())
        )
        mine = (
            [
                application_dict(a, d, r, today)
                for a, d, r in s.execute(q.where(OpenApplication.applicant == viewer.name))
            ]
            if viewer.kind == "user"
            else []
        )
        answer = []
        if OFFICER in viewer.roles and viewer.department_id is not None:
            answer = [
                application_dict(a, d, r, today)
                for a, d, r in s.execute(q.where(Resource.department_id == viewer.department_id))
            ]
        elif viewer.kind == OPERATOR:
            answer = [application_dict(a, d, r, today) for a, d, r in s.execute(q)]
        keys = (
            [
                {
                    "id": k.id,
                    "prefix": k.prefix,
                    "application": k.application_id,
                    "valid_from": k.valid_from.isoformat(),
                    "valid_to": k.valid_to.isoformat(),
                    "revoked": k.revoked_at is not None,
                    "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                }
                for k in s.scalars(
                    select(OpenKey)
                    .where(OpenKey.username == viewer.name)
                    .order_by(OpenKey.id.desc())
                )
            ]
            if viewer.kind == "user"
            else []
        )
    return {"mine": mine, "to_answer": answer, "keys": keys, "pledge": PLEDGE}


def remind_and_escalate(config: Config, today: dt.date | None = None) -> dict[str, list[int]]:
    """The working day before a deadline the department is reminded (an audit entry its to-do
    list shows); past the deadline the application goes to the platform (逾期上报)."""
    today = today or dt.date.today()
    reminded, escalated = [], []
    now = dt.datetime.now(dt.UTC)
    with session_scope(config.database_url) as s:
        for app in s.scalars(select(OpenApplication).where(OpenApplication.status == "submitted")):
            if app.deadline < today:
                app.status, app.escalated_at = "escalated", now
                escalated.append(app.id)
            elif app.reminded_at is None and _working_days_until(today, app.deadline) <= 1:
                app.reminded_at = now
                reminded.append(app.id)
    operator = Viewer(OPERATOR, "scheduler")
    for a in reminded:
        record(config, operator, "open.remind", str(a), detail={"application": a})
    for a in escalated:
        record(config, operator, "open.escalate", str(a), detail={"application": a})
    return {"reminded": reminded, "escalated": escalated}


def _working_days_until(today: dt.date, deadline: dt.date) -> int:
    days, day = 0, today
    while day < deadline:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            days += 1
    return days


def resolve_key(config: Config, key: str) -> Viewer | None:
    """The viewer a personal key stands for: its holder, public, scoped to the key's dataset
    (None for an unknown, revoked or expired key)."""
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    today = dt.date.today()
    with session_scope(config.database_url) as s:
        row = s.execute(
            select(OpenKey, Resource.code)
            .join(OpenDataset, OpenDataset.id == OpenKey.dataset_id)
            .join(Resource, Resource.id == OpenDataset.resource_id)
            .where(OpenKey.key_hash == _hash(key))
        ).first()
        if row is None:
            return None
        k, code = row
        if k.revoked_at is not None or not (k.valid_from <= today <= k.valid_to):
            return None
        now = dt.datetime.now(dt.UTC)
        last = k.last_used_at
        if (
            last is None
            or (now - (last if last.tzinfo else last.replace(tzinfo=dt.UTC))).seconds > 60
        ):
            k.last_used_at = now
        return Viewer("open_key", k.username, None, (PUBLIC,), (code,))


def approved(config: Config) -> Callable[[int, Viewer], bool]:
    """``(resource id, viewer) → approved?`` for the policy point: an approved application of the
    viewer's, in its period (a key viewer: its holder's)."""
    today = dt.date.today()

    def lookup(resource_id: int, viewer: Viewer) -> bool:
        if viewer.kind not in ("user", "open_key"):
            return False
        with session_scope(config.database_url) as s:
            return (
                s.scalars(
                    select(OpenApplication.id)
                    .join(OpenDataset, OpenDataset.id == OpenApplication.dataset_id)
                    .where(
                        OpenDataset.resource_id == resource_id,
                        OpenApplication.applicant == viewer.name,
                        OpenApplication.status == "approved",
                        OpenApplication.period_start <= today,
                        OpenApplication.period_end >= today,
                    )
                ).first()
                is not None
            )

    return lookup


register_open_grants(approved)
