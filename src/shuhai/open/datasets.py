"""Open datasets (开放数据集): publishing a resource whose 开放属性 allows it, with DCAT metadata,
the yearly opening plan (开放计划), and the usage figures of each dataset.

A published dataset names the items it opens (``columns``); the policy point serves the public
those items only (``shuhai.access.policy.register_open``), 核心 (L4) items never, 重要 (L3)
items masked. 不予开放 resources cannot be published and are never listed, not even by title.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shuhai.access.grading import levels_of
from shuhai.access.identity import OFFICER
from shuhai.access.policy import OPERATOR, Viewer, record, register_open
from shuhai.catalog.service import find_resource, resource_dict
from shuhai.config import Config
from shuhai.db import OpenDataset, OpenPlanEntry, Resource, session_scope
from shuhai.errors import Forbidden, InvalidInput, NotFound
from shuhai.events import ACCESS_CHANGED, emit
from shuhai.open.search import changed, reindex

UNCONDITIONAL_OPEN = "无条件开放"  # 无条件开放: anonymous download and API
CONDITIONAL_OPEN = "有条件开放"  # 有条件开放 (受限开放): by application, with a personal key
NOT_OPEN = "不予开放"  # 不予开放: never listed
OPENABLE = (UNCONDITIONAL_OPEN, CONDITIONAL_OPEN)

PUBLISHED = "published"  # 已发布
WITHDRAWN = "withdrawn"  # 已撤回

# 开放主题 (the themes provincial portals file datasets under)
THEMES: dict[str, str] = {
    "经济建设": "Economy",
    "财税金融": "Finance and tax",
    "信用服务": "Credit",
    "市场监管": "Market regulation",
    "社保就业": "Social security and jobs",
    "教育科技": "Education and science",
    "健康卫生": "Health",
    "民生服务": "Public services",
    "道路交通": "Transport",
    "资源环境": "Environment and resources",
    "城建住房": "Housing and construction",
    "公共安全": "Public safety",
    "农业农村": "Agriculture",
    "文化休闲": "Culture and leisure",
    "机构团体": "Organisations",
    "地理空间": "Geography",
    "统计数据": "Statistics",
}

# 开放许可 (licences a dataset can be opened under)
LICENCES: dict[str, dict[str, str]] = {
    "CC-BY-4.0": {
        "title": "知识共享署名 4.0 / Creative Commons Attribution 4.0",
        "url": "https://creativecommons.org/licenses/by/4.0/",
    },
    "CC0-1.0": {
        "title": "知识共享零授权 / CC0 1.0 Public Domain Dedication",
        "url": "https://creativecommons.org/publicdomain/zero/1.0/",
    },
    "ODC-BY-1.0": {
        "title": "开放数据共享署名许可 / Open Data Commons Attribution 1.0",
        "url": "https://opendatacommons.org/licenses/by/1-0/",
    },
    "ODbL-1.0": {
        "title": "开放数据库许可 / Open Database License 1.0",
        "url": "https://opendatacommons.org/licenses/odbl/1-0/",
    },
}

FIELDS = (
    "title",
    "description",
    "keywords",
    "theme",
    "licence",
    "temporal_start",
    "temporal_end",
    "spatial",
    "contact",
    "columns",
)


def slug(code: str) -> str:
    """A dataset's name in URLs and the CKAN API, from its resource code (``101001/GA-00001``
    → ``101001-ga-00001``): lowercase letters, digits and hyphens, as CKAN names are."""
    return re.sub(r"[^a-z0-9]+", "-", code.lower()).strip("-")[:100] or "dataset"


def _bad(code: str, zh: str, en: str, field: str | None = None) -> InvalidInput:
    details = [{"field": field, "error": f"{zh} / {en}"}] if field else None
    return InvalidInput(code, zh, en, details=details)


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _bad(
            "open.bad_date", f"{field} 应为日期（2026-01-31）", f"{field} must be a date", field
        ) from None


def _text(value: Any, field: str, most: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad("open.bad_field", f"{field} 应为文本", f"{field} must be text", field)
    value = value.strip()
    if len(value) > most:
        raise _bad(
            "open.too_long", f"{field} 超过 {most} 字", f"{field} is longer than {most}", field
        )
    return value


def _words(value: Any, field: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = re.split(r"[,，;；、\s]+", value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(
            "open.bad_field", f"{field} 应为词语列表", f"{field} must be a list of words", field
        )
    words = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(words) > 50 or any(len(w) > 40 for w in words):
        raise _bad("open.too_long", f"{field} 过多或过长", f"Too many or too long {field}", field)
    return words


def _clean(meta: dict[str, Any], res: dict[str, Any], levels: dict[str, str]) -> dict[str, Any]:
    """The metadata as stored, each field checked; unknown fields refused by name."""
    unknown = sorted(set(meta) - set(FIELDS))
    if unknown:
        raise _bad(
            "open.unknown_field",
            f"未知的元数据字段：{'、'.join(unknown)}",
            f"Unknown metadata fields: {', '.join(unknown)}",
        )
    out: dict[str, Any] = {}
    if "title" in meta:
        out["title"] = _text(meta["title"], "title", 200) or res["name"]
    if "description" in meta:
        out["description"] = _text(meta["description"], "description", 5000)
    if "keywords" in meta:
        out["keywords"] = _words(meta["keywords"], "keywords")
    if "theme" in meta:
        theme = _text(meta["theme"], "theme", 40)
        if theme and theme not in THEMES:
            raise _bad(
                "open.unknown_theme",
                f"未知的主题“{theme}”，可选：{'、'.join(THEMES)}",
                f"Unknown theme {theme!r}",
                "theme",
            )
        out["theme"] = theme
    if "licence" in meta:
        licence = _text(meta["licence"], "licence", 40) or "CC-BY-4.0"
        if licence not in LICENCES:
            raise _bad(
                "open.unknown_licence",
                f"未知的开放许可“{licence}”，可选：{'、'.join(LICENCES)}",
                f"Unknown licence {licence!r}; one of {', '.join(LICENCES)}",
                "licence",
            )
        out["licence"] = licence
    for name in ("temporal_start", "temporal_end"):
        if name in meta:
            out[name] = _date(meta[name], name)
    if "spatial" in meta:
        out["spatial"] = _text(meta["spatial"], "spatial", 100)
    if "contact" in meta:
        out["contact"] = _text(meta["contact"], "contact", 200)
    if "columns" in meta:
        cols = _words(meta["columns"], "columns")
        items = [it["name"] for it in res["items"]]
        missing = [c for c in cols if c not in items]
        if missing:
            raise _bad(
                "open.unknown_column",
                f"资源没有信息项：{'、'.join(missing)}",
                f"Unknown items: {', '.join(missing)}",
                "columns",
            )
        core = [c for c in cols if levels.get(c) == "L4"]
        if core:
            raise _bad(
                "open.core_column",
                f"核心数据（L4）不予开放：{'、'.join(core)}",
                f"Core (L4) items are never opened: {', '.join(core)}",
                "columns",
            )
        if not cols:
            raise _bad("open.no_columns", "至少开放一个信息项", "Open at least one item", "columns")
        out["columns"] = [c for c in items if c in cols]  # the catalog's order
    start, end = out.get("temporal_start"), out.get("temporal_end")
    if start and end and start > end:
        raise _bad(
            "open.bad_period",
            "时间范围的开始晚于结束",
            "The temporal coverage starts after it ends",
            "temporal_end",
        )
    return out


def _may_publish(viewer: Viewer, res: dict[str, Any]) -> None:
    if viewer.kind == OPERATOR:
        return
    if viewer.department_id == res["department"]["id"] and OFFICER in viewer.roles:
        return
    raise Forbidden(
        "open.not_owner",
        "只有提供部门的数据管理员可以发布或撤回开放数据",
        "Only the providing department's data officer publishes or withdraws open data",
    )


def dataset_dict(ds: OpenDataset, res: Resource) -> dict[str, Any]:
    """The dataset as the portal and the APIs describe it (DCAT's fields, in our words)."""
    r = resource_dict(res, items=True)
    opened = set(ds.columns or [])
    return {
        "id": ds.id,
        "name": ds.name,
        "title": ds.title,
        "description": ds.description,
        "keywords": list(ds.keywords or []),
        "theme": ds.theme,
        "licence": ds.licence,
        "licence_title": LICENCES.get(ds.licence, {}).get("title", ds.licence),
        "licence_url": LICENCES.get(ds.licence, {}).get("url", ""),
        "temporal_start": ds.temporal_start.isoformat() if ds.temporal_start else None,
        "temporal_end": ds.temporal_end.isoformat() if ds.temporal_end else None,
        "spatial": ds.spatial,
        "contact": ds.contact,
        "status": ds.status,
        "open_type": r["open_type"],
        "open_condition": r["open_condition"],
        "frequency": r["update_cycle"],
        "format": r["format"],
        "publisher": r["department"],
        "resource": {"id": r["id"], "code": r["code"], "name": r["name"]},
        "fields": [
            {k: it[k] for k in ("name", "data_type", "length", "scale", "description")}
            for it in r["items"]
            if it["name"] in opened
        ],
        "columns": [it["name"] for it in r["items"] if it["name"] in opened],
        "lake_version": res.lake_version,
        "rows": res.row_count if res.lake_version is not None else 0,
        "data_updated_at": r["updated_at"],
        "published_by": ds.published_by,
        "published_at": ds.published_at.isoformat() if ds.published_at else None,
        "updated_at": ds.updated_at.isoformat() if ds.updated_at else None,
        "views": ds.views,
        "downloads": ds.downloads,
        "api_calls": ds.api_calls,
    }


def _find(s: Session, ref: str | int, *, withdrawn: bool = False) -> OpenDataset:
    q = select(OpenDataset)
    text = str(ref)
    if isinstance(ref, int) or (text.isascii() and text.isdigit() and len(text) <= 18):
        q = q.where(OpenDataset.id == int(text))
    else:
        q = q.where(OpenDataset.name == text)
    ds = s.scalars(q).first()
    if ds is None or (ds.status != PUBLISHED and not withdrawn):
        raise NotFound("open.not_found", f"开放数据集 {text} 不存在", f"No open dataset {text}")
    return ds


def publish(
    config: Config, resource: str | int, meta: dict[str, Any] | None = None, *, viewer: Viewer
) -> dict[str, Any]:
    """Publish a resource as an open dataset (or publish it again after a withdrawal, or update
    the metadata of a published one). Defaults come from the catalog: the title is the resource
    name, the description its abstract, the items every item below 核心 (L4)."""
    meta = dict(meta or {})
    with session_scope(config.database_url) as s:
        row = find_resource(s, resource)
        res = resource_dict(row)
        _may_publish(viewer, res)
        if res["open_type"] not in OPENABLE:
            raise Forbidden(
                "open.not_openable",
                f"该资源的开放属性为“{res['open_type']}”，不能发布为开放数据",
                f"The resource's open type is {res['open_type']}: it cannot be published",
            )
        levels = levels_of(config, res["id"])
        fields = _clean(meta, res, levels)
        ds = s.scalars(select(OpenDataset).where(OpenDataset.resource_id == row.id)).first()
        new = ds is None
        if ds is None:
            defaults = {
                "title": res["name"],
                "description": res["abstract"],
                "keywords": [],
                "theme": "",
                "licence": "CC-BY-4.0",
                "spatial": "",
                "contact": res["department"]["name"],
                "columns": [it["name"] for it in res["items"] if levels.get(it["name"]) != "L4"],
            }
            ds = OpenDataset(
                resource_id=row.id,
                name=_free_name(s, slug(res["code"])),
                published_by=viewer.name,
                **{**defaults, **fields},
            )
            s.add(ds)
        else:
            for k, v in fields.items():
                setattr(ds, k, v)
            if ds.status != PUBLISHED:
                ds.status, ds.published_at, ds.published_by = PUBLISHED, _now(), viewer.name
        if not ds.columns:
            raise _bad("open.no_columns", "没有可开放的信息项", "No item can be opened", "columns")
        s.flush()
        _mark_plan(s, row.id, ds.published_at or _now())
        reindex(s, ds, row)
        out = dataset_dict(ds, row)
    record(config, viewer, "open.publish" if new else "open.update", res["code"], detail=fields)
    emit(ACCESS_CHANGED)
    _forget()
    return out


def _free_name(s: Session, base: str) -> str:
    name, n = base, 1
    while s.scalars(select(OpenDataset.id).where(OpenDataset.name == name)).first() is not None:
        n += 1
        name = f"{base}-{n}"
    return name


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def withdraw(config: Config, name: str | int, *, viewer: Viewer, reason: str) -> dict[str, Any]:
    """Take a dataset off the portal (its downloads, API and listing); the record stays."""
    reason = _text(reason, "reason", 1000)
    if not reason:
        raise _bad("open.reason_required", "撤回需填写原因", "Give the reason", "reason")
    with session_scope(config.database_url) as s:
        ds = _find(s, name)
        row = s.get(Resource, ds.resource_id)
        assert row is not None
        _may_publish(viewer, resource_dict(row, items=False))
        ds.status = WITHDRAWN
        s.flush()
        reindex(s, ds, row)
        out = dataset_dict(ds, row)
    record(config, viewer, "open.withdraw", out["resource"]["code"], detail={"reason": reason})
    emit(ACCESS_CHANGED)
    _forget()
    return out


def get_dataset(config: Config, name: str | int) -> dict[str, Any]:
    """A published dataset by name or id (404 for withdrawn and unknown ones alike)."""
    with session_scope(config.database_url) as s:
        ds = _find(s, name)
        row = s.get(Resource, ds.resource_id)
        assert row is not None
        return dataset_dict(ds, row)


def list_datasets(config: Config) -> list[dict[str, Any]]:
    """Every published dataset, newest first."""
    with session_scope(config.database_url) as s:
        rows = s.execute(
            select(OpenDataset, Resource)
            .join(Resource, Resource.id == OpenDataset.resource_id)
            .where(OpenDataset.status == PUBLISHED, Resource.open_type.in_(OPENABLE))
            .order_by(OpenDataset.published_at.desc(), OpenDataset.id.desc())
        ).all()
        return [dataset_dict(ds, res) for ds, res in rows]


COUNTERS = ("views", "downloads", "api_calls")
FLUSH_SECONDS = 2.0  # usage counts are written at most this often (one transaction per flush)
_pending: dict[tuple[str, int, str], int] = {}
_pending_lock = threading.Lock()
_flushed = [time.monotonic()]


def count_use(config: Config, dataset_id: int, counter: str, n: int = 1) -> None:
    """One more view, download or API call of a dataset (the figures on its page). Counted in
    memory and written every ``FLUSH_SECONDS``: a busy API does not write once per call."""
    if counter not in COUNTERS:
        raise ValueError(counter)
    with _pending_lock:
        key = (config.database_url, dataset_id, counter)
        _pending[key] = _pending.get(key, 0) + n
        due = time.monotonic() - _flushed[0] >= FLUSH_SECONDS
    if due:
        flush_counts()


def flush_counts() -> None:
    """Write the usage counts gathered so far (also at exit)."""
    with _pending_lock:
        taken = dict(_pending)
        _pending.clear()
        _flushed[0] = time.monotonic()
    by_url: dict[str, list[tuple[int, str, int]]] = {}
    for (url, dataset_id, counter), n in taken.items():
        by_url.setdefault(url, []).append((dataset_id, counter, n))
    for url, rows in by_url.items():
        try:
            with session_scope(url) as s:
                for dataset_id, counter, n in rows:
                    column = getattr(OpenDataset, counter)
                    s.execute(  # updated_at kept: a view is not a change of the dataset
                        update(OpenDataset)
                        .where(OpenDataset.id == dataset_id)
                        .values(
                            {column: column + n, OpenDataset.updated_at: OpenDataset.updated_at}
                        )
                    )
        except Exception:  # noqa: BLE001 - counts are figures, never a reason to fail a read
            logging.getLogger(__name__).warning("usage counts not written", exc_info=True)


atexit.register(flush_counts)


# --- the policy point's source ----------------------------------------------------------------

_CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, dict[int, list[str]]]] = {}
_cache_lock = threading.Lock()


def _forget(**_payload: Any) -> None:
    with _cache_lock:
        _cache.clear()
    changed()


def published_columns(config: Config) -> Callable[[int], list[str] | None]:
    """resource id → the items its published dataset opens (None: not published). Read once
    per few seconds per database, so the open API's hot path costs no metadata query."""
    key = config.database_url
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is None or hit[0] < now:
        with session_scope(config.database_url) as s:
            rows = s.execute(
                select(OpenDataset.resource_id, OpenDataset.columns).where(
                    OpenDataset.status == PUBLISHED
                )
            ).all()
        hit = (now + _CACHE_SECONDS, {rid: list(cols or []) for rid, cols in rows})
        with _cache_lock:
            _cache[key] = hit
    table = hit[1]
    return table.get


register_open(published_columns)


# --- 开放计划 ----------------------------------------------------------------------------------


def _mark_plan(s: Session, resource_id: int, at: dt.datetime) -> None:
    for entry in s.scalars(
        select(OpenPlanEntry).where(
            OpenPlanEntry.resource_id == resource_id, OpenPlanEntry.opened_at.is_(None)
        )
    ):
        entry.opened_at = at


def plan(
    config: Config,
    resource: str | int,
    *,
    year: int,
    planned_date: str | dt.date,
    note: str = "",
    viewer: Viewer,
) -> dict[str, Any]:
    """Put a resource in a year's opening plan (开放计划): what opens, by when."""
    when = _date(planned_date, "planned_date")
    if when is None or when.year != year:
        raise _bad(
            "open.bad_plan_date",
            f"计划开放日期应在 {year} 年内",
            f"The planned date must fall in {year}",
            "planned_date",
        )
    with session_scope(config.database_url) as s:
        row = find_resource(s, resource)
        res = resource_dict(row, items=False)
        _may_publish(viewer, res)
        if res["open_type"] not in OPENABLE:
            raise Forbidden(
                "open.not_openable",
                f"该资源的开放属性为“{res['open_type']}”，不能列入开放计划",
                f"The resource's open type is {res['open_type']}: it cannot be planned",
            )
        entry = s.scalars(
            select(OpenPlanEntry).where(
                OpenPlanEntry.year == year, OpenPlanEntry.resource_id == row.id
            )
        ).first()
        if entry is None:
            entry = OpenPlanEntry(year=year, resource_id=row.id, created_by=viewer.name)
            s.add(entry)
        entry.planned_date, entry.note = when, _text(note, "note", 1000)
        ds = s.scalars(
            select(OpenDataset).where(
                OpenDataset.resource_id == row.id, OpenDataset.status == PUBLISHED
            )
        ).first()
        if ds is not None and entry.opened_at is None:
            entry.opened_at = ds.published_at
        s.flush()
        out = _plan_dict(entry, row, dt.date.today())
    record(config, viewer, "open.plan", res["code"], detail={"year": year, "date": str(when)})
    return out


def _plan_dict(entry: OpenPlanEntry, res: Resource, today: dt.date) -> dict[str, Any]:
    if entry.opened_at is not None:
        opened = entry.opened_at.date()
        status = "opened" if opened <= entry.planned_date else "opened_late"
    else:
        status = "overdue" if today > entry.planned_date else "planned"
    return {
        "year": entry.year,
        "resource": {"id": res.id, "code": res.code, "name": res.name},
        "department": res.department.name,
        "planned_date": entry.planned_date.isoformat(),
        "opened_at": entry.opened_at.isoformat() if entry.opened_at else None,
        "status": status,
        "note": entry.note,
    }


PLAN_STATUS = {
    "planned": "计划中 / planned",
    "opened": "已按期开放 / opened on time",
    "opened_late": "逾期后开放 / opened late",
    "overdue": "已逾期未开放 / overdue",
}


def list_plan(config: Config, year: int | None = None) -> dict[str, Any]:
    """A year's opening plan with what opened when; by default the current year."""
    today = dt.date.today()
    year = year or today.year
    with session_scope(config.database_url) as s:
        rows = s.execute(
            select(OpenPlanEntry, Resource)
            .join(Resource, Resource.id == OpenPlanEntry.resource_id)
            .where(OpenPlanEntry.year == year, Resource.open_type.in_(OPENABLE))
            .order_by(OpenPlanEntry.planned_date, OpenPlanEntry.id)
        ).all()
        entries = [_plan_dict(e, r, today) for e, r in rows]
    counts = {k: sum(1 for e in entries if e["status"] == k) for k in PLAN_STATUS}
    return {"year": year, "entries": entries, "counts": counts}


def figures(config: Config) -> dict[str, Any]:
    """The platform's own open-data figures (开放数林指数's data and use layers, in short)."""
    flush_counts()
    with session_scope(config.database_url) as s:
        rows = s.execute(
            select(OpenDataset, Resource)
            .join(Resource, Resource.id == OpenDataset.resource_id)
            .where(OpenDataset.status == PUBLISHED, Resource.open_type.in_(OPENABLE))
        ).all()
        totals = s.execute(
            select(
                func.coalesce(func.sum(OpenDataset.downloads), 0),
                func.coalesce(func.sum(OpenDataset.api_calls), 0),
                func.coalesce(func.sum(OpenDataset.views), 0),
            ).where(OpenDataset.status == PUBLISHED)
        ).one()
    now = _now()
    timely = sum(1 for ds, res in rows if _timely(res, now))
    return {
        "datasets": len(rows),
        "unconditional": sum(1 for _ds, r in rows if r.open_type == UNCONDITIONAL_OPEN),
        "conditional": sum(1 for _ds, r in rows if r.open_type == CONDITIONAL_OPEN),
        "departments": len({r.department_id for _ds, r in rows}),
        "rows": sum(r.row_count or 0 for _ds, r in rows if r.lake_version is not None),
        "fields": sum(len(ds.columns or []) for ds, _r in rows),
        "timely": timely,
        "downloads": int(totals[0]),
        "api_calls": int(totals[1]),
        "views": int(totals[2]),
    }


# How long data may go without an update before it is late, by update cycle (days).
CYCLE_DAYS = {"实时": 1, "每日": 2, "每周": 8, "每月": 32, "每季度": 93, "每半年": 184, "每年": 366}


def _timely(res: Resource, now: dt.datetime) -> bool:
    days = CYCLE_DAYS.get(res.update_cycle)
    if days is None:  # 不定期: timely when it has data at all
        return res.lake_version is not None
    stamp = res.updated_at
    if stamp is None or res.lake_version is None:
        return False
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return (now - stamp).days <= days
