"""Objections and corrections (疑义数据处理与纠错), after 国发〔2016〕51号's check-and-correct rule.

Anyone with access raises an objection on one record (resource, key, item, proposed value,
reason, optional attachment). It moves 提出 raised → 受理 accepted → 核实 verifying → 修正
corrected → 办结 closed, or to 驳回 rejected (with a reason) from any open state. Every step is
kept with who and when. The correction lands as a new lake version (an upsert of that record)
whose commit and run cite the objection. Deadlines count working days (default 5).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
from sqlalchemy import func, select

from shuhai.catalog.service import find_resource, resource_dict
from shuhai.config import Config
from shuhai.db import IngestRun, Objection, ObjectionEvent, ObjectionPolicy, Resource, session_scope
from shuhai.errors import Conflict, InvalidInput, NotFound
from shuhai.lake import LINE_COLUMN, RUN_COLUMN, LakeTable
from shuhai.lake.cipher import Keyring, keyring_for, open_text, seal_text
from shuhai.lake.schema import quote_identifier as _q
from shuhai.lake.schema import table_schema
from shuhai.quality.engine import list_rules
from shuhai.quality.rowcheck import LoadCheck
from shuhai.quality.workdays import add_working_days

RAISED, ACCEPTED, VERIFYING, CORRECTED, CLOSED, REJECTED, WITHDRAWN = (
    "raised",
    "accepted",
    "verifying",
    "corrected",
    "closed",
    "rejected",
    "withdrawn",
)
LABELS = {
    RAISED: "提出",
    ACCEPTED: "受理",
    VERIFYING: "核实",
    CORRECTED: "修正",
    CLOSED: "办结",
    REJECTED: "驳回",
    WITHDRAWN: "撤回修正",
}
TRANSITIONS = {
    RAISED: {ACCEPTED, REJECTED},
    ACCEPTED: {VERIFYING, REJECTED},
    VERIFYING: {CORRECTED, REJECTED},
    CORRECTED: {CLOSED, WITHDRAWN},
    CLOSED: {WITHDRAWN},
    REJECTED: set(),
    WITHDRAWN: set(),
}
OPEN = {RAISED, ACCEPTED, VERIFYING}
CORRECTED_STATES = (CORRECTED, CLOSED)  # a correction was written and not withdrawn
# What the source sent for a corrected item since (修正后源头报送情况).
STILL_OLD, ADOPTED, CHANGED = "still_old", "adopted", "changed"
SOURCE_LABELS = {
    STILL_OLD: "源头仍报送旧值，已按修正值入湖",
    ADOPTED: "源头已更正",
    CHANGED: "源头已改报其他值，以源头为准",
}
SETTLED = (ADOPTED, CHANGED)  # the correction no longer needs putting back
DEFAULT_DAYS = 5
MAX_ATTACHMENT = 10 * 1024 * 1024


def _sealed_fields(
    table: LakeTable, key: dict[str, Any], item: str, values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """(record key, values, ``sealed``) as the metadata database keeps them: a value whose column
    the lake stores encrypted (L4) is kept SM4-encrypted under the same data key (hex)."""
    ids = table.encrypted_columns()
    if not ids:
        return key, values, None
    keyring = table.keyring()

    def seal(column: str, value: Any) -> Any:
        if value is None or column not in ids:
            return value
        return seal_text(keyring, ids[column], str(value))

    sealed = {"key": {k: ids[k] for k in key if k in ids}, "values": ids.get(item)}
    return (
        {k: seal(k, v) for k, v in key.items()},
        {name: seal(item, v) for name, v in values.items()},
        sealed,
    )


def _opened(o: Objection, keyring: Keyring | None) -> tuple[dict[str, Any], Any, Any]:
    """The record key, current and proposed value of an objection in plain text."""
    sealed = o.sealed or {}
    if not sealed:
        return o.record_key, o.current_value, o.proposed_value

    def show(key_id: str | None, value: Any) -> Any:
        if key_id is None or value is None:
            return value
        return open_text(keyring, key_id, value)

    key = {k: show((sealed.get("key") or {}).get(k), v) for k, v in (o.record_key or {}).items()}
    values = sealed.get("values")
    return key, show(values, o.current_value), show(values, o.proposed_value)


def _opened_value(o: Objection, value: str | None, keyring: Keyring | None) -> str | None:
    key_id = (o.sealed or {}).get("values")
    if key_id is None or value is None:
        return value
    return open_text(keyring, key_id, value)


def objection_dict(o: Objection, keyring: Keyring | None = None) -> dict[str, Any]:
    today = dt.date.today()
    key, current, proposed = _opened(o, keyring)
    return {
        "id": o.id,
        "resource_id": o.resource_id,
        "key": key,
        "item": o.item,
        "current_value": current,
        "proposed_value": proposed,
        "reason": o.reason,
        "attachment": o.attachment,
        "status": o.status,
        "status_label": LABELS[o.status],
        "raised_by": o.raised_by,
        "deadline": o.deadline.isoformat(),
        "overdue": o.status in OPEN and o.deadline < today,
        "lake_version": o.lake_version,
        "corrected_value": _opened_value(o, o.corrected_value, keyring),
        "in_force": o.status in CORRECTED_STATES and o.source_status not in SETTLED,
        "source_status": o.source_status,
        "source_status_label": SOURCE_LABELS.get(o.source_status or ""),
        "source_run_id": o.source_run_id,
        "source_seen_at": o.source_seen_at.isoformat() if o.source_seen_at else None,
        "created_at": o.created_at.isoformat() if o.created_at else None,
        "history": [
            {
                "from": e.from_status,
                "to": e.to_status,
                "label": LABELS[e.to_status],
                "actor": e.actor,
                "note": e.note,
                "at": e.at.isoformat() if e.at else None,
            }
            for e in o.events
        ],
    }


def _find_records(
    config: Config, res: dict[str, Any], keys: list[dict[str, Any]]
) -> dict[tuple[str, ...], dict[str, Any]]:
    """The latest version's record for each key, in one pass over the table (by the key
    columns as text); keys without a record are absent from the answer."""
    table = LakeTable(config.lake_dir, res["id"])
    if table.latest_version() is None:
        raise NotFound("objection.record_not_found", "该资源还没有数据", "The resource has no data")
    columns = list(keys[0]) if keys else []
    wanted = pa.table({f"k{i}": [str(k[c]) for k in keys] for i, c in enumerate(columns)})
    con = duckdb.connect(":memory:")
    try:
        table.register(con, "t")
        con.register("wanted", wanted)
        on = " AND ".join(f"CAST(t.{_q(c)} AS VARCHAR) = w.k{i}" for i, c in enumerate(columns))
        rows = con.sql(f"SELECT t.* FROM t JOIN wanted w ON {on}").to_arrow_table().to_pylist()
    finally:
        con.close()
    found: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        found.setdefault(tuple(str(row[c]) for c in columns), row)
    return found


def _find_record(config: Config, res: dict[str, Any], key: dict[str, Any]) -> dict[str, Any]:
    found = _find_records(config, res, [key])
    if not found:
        raise NotFound("objection.record_not_found", f"记录不存在：{key}", f"No such record: {key}")
    return next(iter(found.values()))


def raise_objection(
    config: Config, resource: str | int, data: dict[str, Any], *, actor: str
) -> dict[str, Any]:
    """提出疑义: the record must exist in the latest version; the deadline counts working days."""
    raised = raise_objections(config, resource, [data], actor=actor)
    if not raised:
        key = data.get("key") or {}
        raise NotFound("objection.record_not_found", f"记录不存在：{key}", f"No such record: {key}")
    return raised[0]


def raise_objections(
    config: Config, resource: str | int, items: list[dict[str, Any]], *, actor: str
) -> list[dict[str, Any]]:
    """Several objections on one resource (a base build's 重号, say) with one read of its
    latest version: each item as ``raise_objection`` takes it; items whose record does not
    exist are left out of the answer. Any invalid item refuses the whole batch."""
    with session_scope(config.database_url) as s:
        res = resource_dict(find_resource(s, resource))
        policy = s.get(ObjectionPolicy, res["id"])
        days = policy.working_days if policy else DEFAULT_DAYS
    keys = res["key_columns"]
    if not keys:
        raise InvalidInput(
            "objection.no_key",
            "该资源没有主键信息项，无法定位记录",
            "The resource declares no key items to locate a record",
        )
    items_names = {it["name"] for it in res["items"]}
    problems = []
    for n, data in enumerate(items):
        at = "" if len(items) == 1 else f"[{n}]."
        key = data.get("key") or {}
        if not isinstance(key, dict) or set(key) != set(keys):
            problems.append(
                {"field": f"{at}key", "error": f"主键应为 {keys} / key must give exactly {keys}"}
            )
        if data.get("item") not in items_names:
            problems.append(
                {"field": f"{at}item", "error": f"信息项“{data.get('item')}”不存在 / unknown item"}
            )
        if not str(data.get("reason") or "").strip():
            problems.append(
                {"field": f"{at}reason", "error": "请说明疑义理由 / a reason is required"}
            )
    if problems:
        raise InvalidInput(
            "objection.invalid", "疑义内容有误", "Invalid objection", details=problems
        )
    if not items:
        return []
    records = _find_records(config, res, [{k: d["key"][k] for k in keys} for d in items])
    lake = LakeTable(config.lake_dir, res["id"])
    out = []
    with session_scope(config.database_url) as s:
        for data in items:
            key = data["key"]
            record = records.get(tuple(str(key[k]) for k in keys))
            if record is None:
                continue
            current = record.get(data["item"])
            proposed = data.get("proposed_value")
            kept_key, kept, sealed = _sealed_fields(
                lake,
                {k: str(v) for k, v in key.items()},
                data["item"],
                {
                    "current": None if current is None else str(current),
                    "proposed": None if proposed is None else str(proposed),
                },
            )
            o = Objection(
                resource_id=res["id"],
                record_key=kept_key,
                item=data["item"],
                current_value=kept["current"],
                proposed_value=kept["proposed"],
                sealed=sealed,
                reason=str(data["reason"]).strip(),
                status=RAISED,
                raised_by=actor,
                deadline=add_working_days(dt.date.today(), days),
            )
            o.events = [
                ObjectionEvent(from_status=None, to_status=RAISED, actor=actor, note=o.reason)
            ]
            s.add(o)
            s.flush()
            out.append(objection_dict(o, keyring_for(config.lake_dir)))
    return out


def attach(config: Config, objection_id: int, filename: str, content: bytes) -> dict[str, Any]:
    """附件: store one attachment (at most 10 MB) with an open objection."""
    if len(content) > MAX_ATTACHMENT:
        raise InvalidInput(
            "objection.attachment_too_large",
            "附件不能超过 10 MB",
            "Attachments are limited to 10 MB",
        )
    safe = re.sub(r"[^\w.\-]+", "_", Path(filename).name)[:120] or "attachment"
    if safe.startswith(".") or safe != Path(safe).name:  # "..", ".htaccess": never a path part
        raise InvalidInput(
            "objection.bad_attachment_name",
            "附件名无效：不能以“.”开头",
            "Invalid attachment name: it may not start with a dot",
            details=[{"field": "file", "error": "附件名无效 / invalid file name"}],
        )
    with session_scope(config.database_url) as s:
        o = _get(s, objection_id)
        if o.status not in OPEN:
            raise Conflict(
                "objection.closed",
                "疑义已结束，不能再添加附件",
                "The objection is settled; no more attachments",
            )
        folder = config.home / "objections" / str(objection_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / safe).write_bytes(content)
        o.attachment = safe
        return objection_dict(o, keyring_for(config.lake_dir))


def _get(s: Any, objection_id: int) -> Objection:
    o = s.get(Objection, objection_id)
    if o is None:
        raise NotFound(
            "objection.not_found",
            f"疑义 {objection_id} 不存在",
            f"Objection {objection_id} not found",
        )
    return o


def get_objection(config: Config, objection_id: int) -> dict[str, Any]:
    with session_scope(config.database_url) as s:
        return objection_dict(_get(s, objection_id), keyring_for(config.lake_dir))


def list_objections(
    config: Config,
    *,
    resource: str | int | None = None,
    status: str | None = None,
    overdue: bool = False,
    source_status: str | None = None,
) -> list[dict[str, Any]]:
    """Objections, newest first; ``source_status`` (``still_old`` …) lists the corrections whose
    source was last seen sending that (``still_old``: for the source department to fix)."""
    if status is not None and status not in LABELS:
        raise InvalidInput(
            "objection.bad_status",
            f"状态应为 {'/'.join(LABELS)}",
            f"Status must be one of {', '.join(LABELS)}",
        )
    if source_status is not None and source_status not in SOURCE_LABELS:
        raise InvalidInput(
            "objection.bad_source_status",
            f"源头报送情况应为 {'/'.join(SOURCE_LABELS)}",
            f"Source status must be one of {', '.join(SOURCE_LABELS)}",
        )
    with session_scope(config.database_url) as s:
        stmt = select(Objection).order_by(Objection.id.desc())
        if resource is not None:
            stmt = stmt.where(Objection.resource_id == find_resource(s, resource).id)
        if status:
            stmt = stmt.where(Objection.status == status)
        if overdue:
            stmt = stmt.where(Objection.status.in_(OPEN), Objection.deadline < dt.date.today())
        if source_status:
            stmt = stmt.where(
                Objection.source_status == source_status,
                Objection.status.in_(CORRECTED_STATES),
            )
        keyring = keyring_for(config.lake_dir)
        return [objection_dict(o, keyring) for o in s.scalars(stmt)]


def transition(
    config: Config,
    objection_id: int,
    to: str,
    *,
    actor: str,
    note: str = "",
    value: str | None = None,
) -> dict[str, Any]:
    """Move an objection one step. ``corrected`` writes the record's new value as a lake version."""
    if to not in LABELS:
        raise InvalidInput(
            "objection.bad_status",
            f"状态应为 {'/'.join(LABELS)}",
            f"Status must be one of {', '.join(LABELS)}",
        )
    with session_scope(config.database_url) as s:
        o = _get(s, objection_id)
        if to not in TRANSITIONS[o.status]:
            raise Conflict(
                "objection.bad_transition",
                f"不能从“{LABELS[o.status]}”转为“{LABELS[to]}”",
                f"Cannot move an objection from {o.status} to {to}",
            )
        if to in (REJECTED, WITHDRAWN) and not note.strip():
            raise InvalidInput(
                "objection.reason_required",
                "驳回或撤回修正必须说明理由",
                "A rejection or a withdrawal needs a reason",
            )
        snapshot = objection_dict(o, keyring_for(config.lake_dir))
    version = None
    written: str | None = None
    if to == CORRECTED:
        new_value = value if value is not None else snapshot["proposed_value"]
        version = _correct(config, snapshot, new_value, actor)
        written = new_value
    with session_scope(config.database_url) as s:
        o = _get(s, objection_id)
        if o.status != snapshot["status"]:
            raise Conflict(
                "objection.changed",
                "疑义状态已被他人修改，请刷新",
                "The objection changed meanwhile; reload it",
            )
        o.events.append(ObjectionEvent(from_status=o.status, to_status=to, actor=actor, note=note))
        o.status = to
        if version is not None:
            o.lake_version = version
            o.corrected_value = _sealed_value(o, written, keyring_for(config.lake_dir))
            o.source_status = o.source_run_id = o.source_seen_at = None
        return objection_dict(o, keyring_for(config.lake_dir))


def _sealed_value(o: Objection, value: str | None, keyring: Keyring | None) -> str | None:
    """A value of the objection's item as the metadata database keeps it: sealed when its
    current and proposed values are (``_sealed_fields``)."""
    key_id = (o.sealed or {}).get("values")
    if key_id is None or value is None:
        return value
    return seal_text(keyring, key_id, value)


def _correct(config: Config, objection: dict[str, Any], new_value: str | None, actor: str) -> int:
    """The record with ``item`` set to ``new_value``, upserted as one new version citing the objection."""
    with session_scope(config.database_url) as s:
        res = resource_dict(find_resource(s, objection["resource_id"]))
    record = _find_record(config, res, objection["key"])
    schema = table_schema(res["items"])
    field = schema.field(objection["item"])
    try:
        typed = (
            pa.array([new_value], pa.string()).cast(field.type)[0].as_py()
            if new_value is not None
            else None
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidInput(
            "objection.bad_value",
            f"修正值“{new_value}”不符合 {objection['item']} 的类型",
            f"Value {new_value!r} does not fit {objection['item']}",
        ) from exc
    with session_scope(config.database_url) as s:
        run = IngestRun(
            resource_id=res["id"],
            source=f"objection:{objection['id']}",
            source_kind="objection",
            mode="upsert",
            status="running",
            rows_in=1,
            options={"objection_id": objection["id"], "actor": actor},
        )
        s.add(run)
        s.flush()
        run_id = run.id
    row = {**record, objection["item"]: typed, RUN_COLUMN: run_id, LINE_COLUMN: None}
    table = pa.Table.from_pylist([{name: row.get(name) for name in schema.names}], schema=schema)
    lake = LakeTable(config.lake_dir, res["id"])
    checker = LoadCheck(  # the corrected row's verdicts, like a load's (入湖即检)
        config,
        res["id"],
        run_id,
        list_rules(config, res["id"]),
        {it["name"]: it["data_type"] for it in res["items"]},
    )
    try:
        checker.check(pl.from_arrow(table))
        version = lake.upsert(
            pa.RecordBatchReader.from_batches(schema, table.to_batches()),
            run_id=run_id,
            key_columns=res["key_columns"],
            metadata={"shuhai.objection_id": str(objection["id"])},
        )
        checker.commit()
    finally:
        checker.discard()
    with session_scope(config.database_url) as s:
        run = s.get(IngestRun, run_id)
        assert run is not None
        run.status, run.rows_loaded, run.lake_version = "succeeded", 1, version
        run.finished_at = dt.datetime.now(dt.UTC)
        r = s.get(Resource, res["id"])
        assert r is not None
        r.lake_version, r.row_count = version, lake.count(version)
    from shuhai.ingest import get_run
    from shuhai.plugins import get_plugin_manager

    get_plugin_manager().hook.after_ingest(config=config, run=get_run(config, run_id))
    return version


_open_keys: dict[tuple[str, int], tuple[Any, dict[tuple[str, ...], list[int]]]] = {}


def open_flags(
    config: Config, resource_id: int, rows: list[dict[str, Any]], key_columns: list[str]
) -> list[dict[str, Any]]:
    """Mark rows that have open objections: ``_疑义`` lists their ids (for previews and the API).

    The open objections' keys (decrypted) are kept per resource and reused while the set of
    open objections is the same (one aggregate query tells): a preview costs no decryption."""
    if not key_columns:
        return rows
    where = (Objection.resource_id == resource_id, Objection.status.in_(OPEN))
    with session_scope(config.database_url) as s:
        seen = tuple(
            s.execute(
                select(func.count(), func.coalesce(func.sum(Objection.id), 0)).where(*where)
            ).one()
        )
        cached = _open_keys.get((config.database_url, resource_id))
        if cached is not None and cached[0] == (seen, tuple(key_columns)):
            index = cached[1]
        else:
            index = {}
            keyring = keyring_for(config.lake_dir)
            for o in s.scalars(select(Objection).where(*where)).all():
                key = _opened(o, keyring)[0]
                index.setdefault(tuple(str(key.get(k)) for k in key_columns), []).append(o.id)
            if len(_open_keys) > 1000:
                _open_keys.clear()
            _open_keys[(config.database_url, resource_id)] = ((seen, tuple(key_columns)), index)
    if not index:
        return rows
    return [{**r, "_疑义": index.get(tuple(str(r.get(k)) for k in key_columns), [])} for r in rows]


def set_policy(config: Config, resource: str | int, working_days: int) -> None:
    if not 1 <= working_days <= 60:
        raise InvalidInput(
            "objection.bad_days",
            "处理时限应为 1–60 个工作日",
            "The deadline must be 1–60 working days",
        )
    with session_scope(config.database_url) as s:
        res = find_resource(s, resource)
        policy = s.get(ObjectionPolicy, res.id) or ObjectionPolicy(resource_id=res.id)
        policy.working_days = working_days
        s.add(policy)


__all__ = [
    "LABELS",
    "SOURCE_LABELS",
    "attach",
    "corrections_for_records",
    "get_objection",
    "list_objections",
    "open_flags",
    "raise_objection",
    "set_policy",
    "transition",
]


def objections_for_records(config: Config, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Open objections on any of these lake rows (a profile's source records): matched by the
    record's resource and its key values."""
    return _on_records(config, records, OPEN)


def corrections_for_records(config: Config, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Corrections written into any of these lake rows (修正, 办结; not withdrawn): where a value
    of a profile came from when it is not what the source sent — each with its item, its
    objection and what the source has sent since (no values: the sources show those)."""
    return [
        {
            "id": o["id"],
            "resource_id": o["resource_id"],
            "item": o["item"],
            "status_label": o["status_label"],
            "in_force": o["in_force"],
            "source_status": o["source_status"],
            "source_status_label": o["source_status_label"],
            "lake_version": o["lake_version"],
        }
        for o in _on_records(config, records, set(CORRECTED_STATES))
    ]


def _on_records(
    config: Config, records: list[dict[str, Any]], statuses: set[str]
) -> list[dict[str, Any]]:
    by_resource: dict[int, list[dict[str, Any]]] = {}
    for r in records:
        by_resource.setdefault(int(r["resource_id"]), []).append(r)
    out = []
    with session_scope(config.database_url) as s:
        for resource_id, rows in by_resource.items():
            found = s.scalars(
                select(Objection).where(
                    Objection.resource_id == resource_id, Objection.status.in_(statuses)
                )
            ).all()
            if not found:
                continue
            ids = {str(r.get("id")) for r in rows if r.get("id")}
            keyring = keyring_for(config.lake_dir)
            for o in found:
                values = {str(v).upper() for v in (_opened(o, keyring)[0] or {}).values()}
                if values & ids:
                    out.append(objection_dict(o, keyring))
    return out
