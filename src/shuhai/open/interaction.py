"""Interaction on the open portal (互动交流): data requests for what is not yet open (数据需求,
answered by the department in public), ratings and comments on datasets (shown once the
publisher approves them), problem reports (问题反馈: a report on a row becomes an objection on
the record, so the correction workflow takes it from there) and applications built on open
data (成果提交: reviewed, then showcased with the datasets they use).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select

from shuhai.access.identity import ADMIN, OFFICER
from shuhai.access.policy import OPERATOR, Viewer, record
from shuhai.config import Config
from shuhai.db import (
    Department,
    OpenDataset,
    OpenFeedback,
    OpenRequest,
    OpenShowcase,
    Resource,
    session_scope,
)
from shuhai.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuhai.lake.schema import LINE_COLUMN, RUN_COLUMN, quote_identifier
from shuhai.open.datasets import PUBLISHED

REQUEST_STATUS = {
    "open": "待答复 / open",
    "answered": "已答复 / answered",
    "declined": "暂不开放 / declined",
}
MODERATION = {
    "pending": "待审核 / pending",
    "approved": "已通过 / approved",
    "rejected": "未通过 / rejected",
}


def _signed(viewer: Viewer) -> None:
    if viewer.kind not in ("user", OPERATOR):
        from shuhai.access.identity import Unauthorized

        raise Unauthorized("auth.required", "请先登录", "Sign in first")


def _text(value: Any, field: str, least: int, most: int) -> str:
    text = str(value or "").strip()
    if len(text) < least:
        raise InvalidInput(
            "open.too_short",
            f"{field} 至少 {least} 字",
            f"{field}: at least {least} characters",
            details=[{"field": field, "error": f"至少 {least} 字 / at least {least}"}],
        )
    if len(text) > most:
        raise InvalidInput(
            "open.too_long",
            f"{field} 至多 {most} 字",
            f"{field}: at most {most} characters",
            details=[{"field": field, "error": f"至多 {most} 字 / at most {most}"}],
        )
    return text


def _dataset(s: Any, name: str) -> tuple[OpenDataset, Resource]:
    row = s.execute(
        select(OpenDataset, Resource)
        .join(Resource, Resource.id == OpenDataset.resource_id)
        .where(OpenDataset.name == str(name))
    ).first()
    if row is None or row[0].status != PUBLISHED:
        raise NotFound("open.not_found", f"开放数据集 {name} 不存在", f"No open dataset {name}")
    return row[0], row[1]


def _officer_of(viewer: Viewer, department_id: int | None) -> None:
    if viewer.kind == OPERATOR:
        return
    if (
        OFFICER in viewer.roles
        and department_id is not None
        and viewer.department_id == department_id
    ):
        return
    raise Forbidden(
        "open.not_provider",
        "只有相关部门的数据管理员可以处理",
        "Only the department's data officer handles this",
    )


# --- 数据需求 -----------------------------------------------------------------------------------


def _request_dict(
    r: OpenRequest, dept: Department | None, ds: OpenDataset | None
) -> dict[str, Any]:
    return {
        "id": r.id,
        "title": r.title,
        "description": r.description,
        "department": {"id": dept.id, "name": dept.name} if dept else None,
        "requester": r.requester,
        "status": r.status,
        "status_label": REQUEST_STATUS.get(r.status, r.status),
        "answer": r.answer,
        "answered_by": r.answered_by,
        "answered_at": r.answered_at.isoformat() if r.answered_at else None,
        "dataset": {"name": ds.name, "title": ds.title} if ds else None,
        "created_at": r.created_at.isoformat() if r.created_at else None,
    }


def request_data(config: Config, data: dict[str, Any], *, viewer: Viewer) -> dict[str, Any]:
    """Ask for data that is not open yet, optionally addressed to a department."""
    _signed(viewer)
    title = _text(data.get("title"), "title", 4, 200)
    description = _text(data.get("description"), "description", 10, 5000)
    with session_scope(config.database_url) as s:
        dept = None
        ref = data.get("department")
        if ref not in (None, ""):
            q = select(Department)
            text = str(ref)
            q = (
                q.where(Department.id == int(text))
                if text.isascii() and text.isdigit() and len(text) <= 18
                else q.where((Department.code == text) | (Department.name == text))
            )
            dept = s.scalars(q).first()
            if dept is None:
                raise NotFound(
                    "catalog.department_not_found", f"部门 {ref} 不存在", f"No department {ref}"
                )
        row = OpenRequest(
            title=title,
            description=description,
            department_id=dept.id if dept else None,
            requester=viewer.name,
            status="open",
        )
        s.add(row)
        s.flush()
        out = _request_dict(row, dept, None)
    record(config, viewer, "open.request", title[:100], detail={"request": out["id"]})
    return out


def answer_request(
    config: Config,
    request_id: int,
    *,
    viewer: Viewer,
    answer: str,
    dataset: str | None = None,
    decline: bool = False,
) -> dict[str, Any]:
    """The department answers in public: with the dataset that now holds the data, or why it is
    not opened (a request addressed to nobody is answered by any department's officer)."""
    text = _text(answer, "answer", 2, 5000)
    with session_scope(config.database_url) as s:
        row = s.get(OpenRequest, request_id)
        if row is None:
            raise NotFound(
                "open.request_not_found",
                f"数据需求 {request_id} 不存在",
                f"No request {request_id}",
            )
        if row.department_id is not None:
            _officer_of(viewer, row.department_id)
        elif viewer.kind != OPERATOR and OFFICER not in viewer.roles:
            _officer_of(viewer, None)
        if row.status != "open":
            raise Conflict("open.answered", "该需求已答复", "The request was already answered")
        ds = _dataset(s, dataset)[0] if dataset else None
        row.status = "declined" if decline else "answered"
        row.answer, row.answered_by, row.answered_at = text, viewer.name, dt.datetime.now(dt.UTC)
        row.dataset_id = ds.id if ds else None
        if row.department_id is None and viewer.department_id is not None:
            row.department_id = viewer.department_id
        dept = s.get(Department, row.department_id) if row.department_id else None
        out = _request_dict(row, dept, ds)
    record(config, viewer, "open.request_answer", str(request_id), detail={"status": out["status"]})
    return out


def list_requests(config: Config, *, status: str | None = None) -> list[dict[str, Any]]:
    """Every data request, newest first: requests and answers are public."""
    if status is not None and status not in REQUEST_STATUS:
        raise InvalidInput(
            "open.bad_status", "未知的状态", f"status is one of {', '.join(REQUEST_STATUS)}"
        )
    with session_scope(config.database_url) as s:
        q = select(OpenRequest).order_by(OpenRequest.id.desc())
        if status:
            q = q.where(OpenRequest.status == status)
        out = []
        for r in s.scalars(q.limit(500)):
            dept = s.get(Department, r.department_id) if r.department_id else None
            ds = s.get(OpenDataset, r.dataset_id) if r.dataset_id else None
            out.append(_request_dict(r, dept, ds))
        return out


# --- 评分、评论与问题反馈 ------------------------------------------------------------------------


def _feedback_dict(f: OpenFeedback) -> dict[str, Any]:
    return {
        "id": f.id,
        "kind": f.kind,
        "author": f.author,
        "rating": f.rating,
        "text": f.text,
        "status": f.status,
        "status_label": MODERATION.get(f.status, f.status),
        "objection_id": f.objection_id,
        "created_at": f.created_at.isoformat() if f.created_at else None,
    }


def comment(
    config: Config, name: str, *, viewer: Viewer, text: str = "", rating: int | None = None
) -> dict[str, Any]:
    """A rating (1–5) and/or a comment; shown once the publisher approves it."""
    _signed(viewer)
    if rating is not None and (not isinstance(rating, int) or not 1 <= rating <= 5):
        raise InvalidInput("open.bad_rating", "评分应为 1–5", "A rating is 1–5")
    body = _text(text, "text", 0, 2000)
    if rating is None and not body:
        raise InvalidInput("open.empty_comment", "请评分或填写评论", "Give a rating or a comment")
    with session_scope(config.database_url) as s:
        ds, _res = _dataset(s, name)
        row = OpenFeedback(
            dataset_id=ds.id, kind="comment", author=viewer.name, rating=rating, text=body
        )
        s.add(row)
        s.flush()
        out = _feedback_dict(row)
    record(config, viewer, "open.comment", name, detail={"feedback": out["id"]})
    return out


def report_problem(
    config: Config,
    name: str,
    *,
    viewer: Viewer,
    text: str,
    row_id: int | None = None,
    item: str | None = None,
    proposed_value: str | None = None,
) -> dict[str, Any]:
    """问题反馈 on a dataset; on a row (its ``_id`` from the preview or the API) and an item, it
    also becomes an objection on that record, raised in the reporter's name — the record is
    found by its position, so the reporter never needs the values masked for them."""
    _signed(viewer)
    body = _text(text, "text", 5, 2000)
    with session_scope(config.database_url) as s:
        ds, res = _dataset(s, name)
        rid, key_columns, columns = res.id, list(res.key_columns or []), list(ds.columns or [])
        dataset_id = ds.id
    objection = None
    if row_id is not None:
        if item not in columns:
            raise InvalidInput(
                "open.unknown_field", f"数据集没有字段“{item}”", f"Unknown field {item!r}"
            )
        key = _record_key(config, rid, key_columns, row_id)
        from shuhai.quality.corrections import raise_objection

        objection = raise_objection(
            config,
            rid,
            {
                "key": key,
                "item": item,
                "reason": f"公众反馈 / public report：{body}",
                "proposed_value": proposed_value,
            },
            actor=viewer.name,
        )
    with session_scope(config.database_url) as s:
        row = OpenFeedback(
            dataset_id=dataset_id,
            kind="problem",
            author=viewer.name,
            text=body,
            status="pending",
            objection_id=objection["id"] if objection else None,
        )
        s.add(row)
        s.flush()
        out = _feedback_dict(row)
    record(
        config,
        viewer,
        "open.problem",
        name,
        detail={"feedback": out["id"], "objection": out["objection_id"]},
    )
    return out


def _record_key(
    config: Config, resource_id: int, key_columns: list[str], row_id: int
) -> dict[str, Any]:
    if not key_columns:
        raise InvalidInput(
            "open.no_record_key",
            "该数据集的记录没有主键，无法定位到行；请在说明中描述问题",
            "The dataset's records have no key: describe the problem in the text",
        )
    if not isinstance(row_id, int) or row_id < 0 or row_id >= 1 << 62:
        raise InvalidInput("open.bad_row", "行号无效", "Not a row id")
    import duckdb

    from shuhai.lake import LakeTable

    run, line = row_id >> 32, row_id & 0xFFFFFFFF
    table = LakeTable(config.lake_dir, resource_id)
    if not table.exists():
        raise NotFound("open.row_not_found", "找不到该行", "No such row")
    con = duckdb.connect(":memory:")
    try:
        opened = table.register(con, "t")
        cols = ", ".join(
            f"{opened[c]} AS {quote_identifier(c)}" if c in opened else quote_identifier(c)
            for c in key_columns
        )
        source = "t__stored" if opened else "t"
        rows = con.execute(
            f"SELECT {cols} FROM {source} WHERE {quote_identifier(RUN_COLUMN)} = ? "
            f"AND {quote_identifier(LINE_COLUMN)} = ? LIMIT 1",
            [run, line],
        ).fetchall()
    finally:
        con.close()
    if not rows:
        raise NotFound(
            "open.row_not_found",
            "找不到该行（数据可能已更新）",
            "No such row (the data may have changed)",
        )
    return dict(zip(key_columns, rows[0], strict=True))


def moderate(config: Config, feedback_id: int, *, viewer: Viewer, approve: bool) -> dict[str, Any]:
    """The publisher approves or rejects a comment (a problem report is marked handled)."""
    with session_scope(config.database_url) as s:
        row = s.get(OpenFeedback, feedback_id)
        if row is None:
            raise NotFound(
                "open.feedback_not_found",
                f"反馈 {feedback_id} 不存在",
                f"No feedback {feedback_id}",
            )
        ds = s.get(OpenDataset, row.dataset_id)
        res = s.get(Resource, ds.resource_id) if ds else None
        assert res is not None
        _officer_of(viewer, res.department_id)
        row.status = "approved" if approve else "rejected"
        row.moderated_by, row.moderated_at = viewer.name, dt.datetime.now(dt.UTC)
        out = _feedback_dict(row)
    record(config, viewer, "open.moderate", str(feedback_id), detail={"status": out["status"]})
    return out


def feedback(config: Config, name: str, *, viewer: Viewer | None = None) -> dict[str, Any]:
    """A dataset's approved comments and rating; its publisher also sees what waits."""
    with session_scope(config.database_url) as s:
        ds, res = _dataset(s, name)
        rows = s.scalars(
            select(OpenFeedback)
            .where(OpenFeedback.dataset_id == ds.id)
            .order_by(OpenFeedback.id.desc())
        ).all()
        ratings = [
            f.rating for f in rows if f.rating and f.status == "approved" and f.kind == "comment"
        ]
        publisher = viewer is not None and (
            viewer.kind == OPERATOR
            or (OFFICER in viewer.roles and viewer.department_id == res.department_id)
        )
        shown = [
            _feedback_dict(f)
            for f in rows
            if (f.kind == "comment" and f.status == "approved")
            or publisher
            or (viewer is not None and f.author == viewer.name)
        ]
    return {
        "rating": round(sum(ratings) / len(ratings), 1) if ratings else None,
        "ratings": len(ratings),
        "items": shown[:200],
        "publisher": publisher,
    }


# --- 成果提交 -----------------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>\"']{3,490}")


def _showcase_dict(sc: OpenShowcase, names: dict[int, tuple[str, str]]) -> dict[str, Any]:
    return {
        "id": sc.id,
        "title": sc.title,
        "description": sc.description,
        "url": sc.url,
        "author": sc.author,
        "datasets": [
            {"name": names[i][0], "title": names[i][1]} for i in sc.datasets or [] if i in names
        ],
        "status": sc.status,
        "status_label": MODERATION.get(sc.status, sc.status),
        "note": sc.note,
        "created_at": sc.created_at.isoformat() if sc.created_at else None,
    }


def submit_showcase(config: Config, data: dict[str, Any], *, viewer: Viewer) -> dict[str, Any]:
    """Submit an application built on open datasets (named by their dataset names)."""
    _signed(viewer)
    title = _text(data.get("title"), "title", 2, 200)
    description = _text(data.get("description"), "description", 10, 5000)
    url = str(data.get("url") or "").strip()
    if url and not _URL.fullmatch(url):
        raise InvalidInput(
            "open.bad_url", "链接应为 http(s):// 地址", "The link must be an http(s) address"
        )
    wanted = data.get("datasets") or []
    if isinstance(wanted, str):
        wanted = [w for w in re.split(r"[,，\s]+", wanted) if w]
    if not isinstance(wanted, list) or not wanted or len(wanted) > 50:
        raise InvalidInput(
            "open.no_datasets", "请列出使用的数据集（1–50 个）", "Name the datasets used (1–50)"
        )
    with session_scope(config.database_url) as s:
        ids = [_dataset(s, str(n))[0].id for n in wanted]
        row = OpenShowcase(
            title=title, description=description, url=url, author=viewer.name, datasets=ids
        )
        s.add(row)
        s.flush()
        out = _showcase_dict(row, _names(s))
    record(config, viewer, "open.showcase", title[:100], detail={"showcase": out["id"]})
    return out


def _names(s: Any) -> dict[int, tuple[str, str]]:
    return {
        i: (n, t)
        for i, n, t in s.execute(select(OpenDataset.id, OpenDataset.name, OpenDataset.title))
    }


def review_showcase(
    config: Config, showcase_id: int, *, viewer: Viewer, approve: bool, note: str = ""
) -> dict[str, Any]:
    """Reviewed by the platform admin or an officer of a department whose dataset it uses."""
    with session_scope(config.database_url) as s:
        row = s.get(OpenShowcase, showcase_id)
        if row is None:
            raise NotFound(
                "open.showcase_not_found",
                f"成果 {showcase_id} 不存在",
                f"No showcase {showcase_id}",
            )
        owners = set(
            s.scalars(
                select(Resource.department_id)
                .join(OpenDataset, OpenDataset.resource_id == Resource.id)
                .where(OpenDataset.id.in_(row.datasets or []))
            )
        )
        if not (
            viewer.kind == OPERATOR
            or ADMIN in viewer.roles
            or (OFFICER in viewer.roles and viewer.department_id in owners)
        ):
            raise Forbidden(
                "open.not_reviewer", "无权审核该成果", "You may not review this showcase"
            )
        row.status = "approved" if approve else "rejected"
        row.reviewed_by, row.reviewed_at, row.note = (
            viewer.name,
            dt.datetime.now(dt.UTC),
            note[:1000],
        )
        out = _showcase_dict(row, _names(s))
    record(
        config, viewer, "open.showcase_review", str(showcase_id), detail={"status": out["status"]}
    )
    return out


def showcases(
    config: Config, *, dataset: str | None = None, viewer: Viewer | None = None
) -> list[dict[str, Any]]:
    """Approved showcases (of one dataset, if named); reviewers and authors also see theirs."""
    with session_scope(config.database_url) as s:
        names = _names(s)
        wanted = None
        if dataset:
            wanted = _dataset(s, dataset)[0].id
        out = []
        for sc in s.scalars(select(OpenShowcase).order_by(OpenShowcase.id.desc()).limit(500)):
            if wanted is not None and wanted not in (sc.datasets or []):
                continue
            mine = viewer is not None and (
                sc.author == viewer.name or ADMIN in viewer.roles or OFFICER in viewer.roles
            )
            if sc.status == "approved" or mine:
                out.append(_showcase_dict(sc, names))
        return out


def counts(config: Config) -> dict[str, int]:
    """Requests received and answered, showcases shown: for the platform's figures."""
    with session_scope(config.database_url) as s:
        by = dict(
            s.execute(select(OpenRequest.status, func.count()).group_by(OpenRequest.status)).all()
        )
        shown = (
            s.scalar(
                select(func.count())
                .select_from(OpenShowcase)
                .where(OpenShowcase.status == "approved")
            )
            or 0
        )
    return {
        "requests": int(sum(by.values())),
        "requests_answered": int(by.get("answered", 0) + by.get("declined", 0)),
        "showcases": int(shown),
    }
