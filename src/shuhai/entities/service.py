"""Base databases as a library (基础库服务): configure, build, read files, review pairs.

Everything the CLI and the web layer do with base databases goes through these functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import yaml
from sqlalchemy import func, select

from shuhai.config import Config
from shuhai.db import BaseBuild, BaseDatabase, EntityEvent, ReviewPair, session_scope
from shuhai.entities import claims, sealing, store
from shuhai.entities.build import (
    CONFLICT_SCHEMA,
    build_dict,
    build_path,
    find_base,
    last_build,
    load_config,
)
from shuhai.entities.config import validate_config
from shuhai.errors import Conflict, InvalidInput, NotFound, check_paging


def parse_config(text_or_data: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(text_or_data, dict):
        return text_or_data
    try:
        data = yaml.safe_load(text_or_data)
    except yaml.YAMLError as exc:
        raise InvalidInput(
            "entities.bad_yaml", f"YAML 无法解析：{exc}", f"The YAML cannot be parsed: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise InvalidInput("entities.bad_config", "配置应为对象", "The config must be an object")
    return data


def save_base(config: Config, text_or_data: str | dict[str, Any]) -> dict[str, Any]:
    """Create or update a base database from its config; the config version goes up on change.

    Nothing is saved when the config has problems (every problem is reported at once).
    """
    data = parse_config(text_or_data)
    text = (
        text_or_data
        if isinstance(text_or_data, str)
        else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    )
    with session_scope(config.database_url) as s:
        cfg = validate_config(s, data)
        row = s.scalars(select(BaseDatabase).where(BaseDatabase.name == cfg.name)).first()
        if row is None:
            row = BaseDatabase(name=cfg.name, kind=cfg.kind, config=text, config_version=1)
            s.add(row)
        elif row.config != text:
            if row.kind != cfg.kind:
                raise Conflict(
                    "entities.kind_changed",
                    f"基础库“{cfg.name}”已是 {row.kind} 类型",
                    f"Base database {cfg.name!r} is already of kind {row.kind}",
                )
            row.config, row.config_version = text, row.config_version + 1
        s.flush()
        return base_dict(s, row)


def base_dict(s: Any, row: BaseDatabase) -> dict[str, Any]:
    build = last_build(s, row.id)
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "config_version": row.config_version,
        "config": row.config,
        "last_build": build_dict(build) if build else None,
        "pending_reviews": s.scalar(
            select(ReviewPair.id)
            .where(ReviewPair.base_id == row.id, ReviewPair.status == "pending")
            .limit(1)
        )
        is not None,
    }


def list_bases(config: Config) -> list[dict[str, Any]]:
    with session_scope(config.database_url) as s:
        return [base_dict(s, r) for r in s.scalars(select(BaseDatabase).order_by(BaseDatabase.id))]


def get_base(config: Config, base: str | int) -> dict[str, Any]:
    with session_scope(config.database_url) as s:
        return base_dict(s, find_base(s, base))


def list_builds(config: Config, base: str | int, limit: int = 20) -> list[dict[str, Any]]:
    with session_scope(config.database_url) as s:
        row = find_base(s, base)
        return [
            build_dict(b)
            for b in s.scalars(
                select(BaseBuild)
                .where(BaseBuild.base_id == row.id)
                .order_by(BaseBuild.id.desc())
                .limit(limit)
            )
        ]


def current(config: Config, base: str | int) -> tuple[dict[str, Any], Path]:
    """The base database and the directory of its last good build."""
    with session_scope(config.database_url) as s:
        row = find_base(s, base)
        b = last_build(s, row.id)
        if b is None:
            raise NotFound(
                "entities.not_built",
                f"基础库“{row.name}”还没有成功的构建",
                f"Base database {row.name!r} has no successful build yet",
            )
        return {"id": row.id, "name": row.name, "kind": row.kind, "build": b.id}, build_path(
            config, b
        )


def _query(path: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows of a query on the build at ``path`` (encrypted columns decrypted; their stored
    bytes, ``*__stored``, left out)."""
    con = sealing.connect(path)
    try:
        return sealing.rows(con, sql, params or [])
    except duckdb.IOException as exc:  # a part this kind of base does not build
        raise NotFound(
            "entities.no_part",
            "该基础库没有这部分内容（如电子证照库只有证照，没有档案与来源不一致）",
            "This base database has no such part (a licence base holds licences, not files)",
        ) from exc
    finally:
        con.close()


def search_files(
    config: Config, base: str | int, q: str = "", *, limit: int = 20, offset: int = 0
) -> dict[str, Any]:
    """Files by name, ID number / credit code or file id (exact or prefix)."""
    info, path = current(config, base)
    limit = max(1, min(int(limit), 200))
    q = (q or "").strip()
    where, params = "status = 'active'", []
    if q:
        # an encrypted ID is found by sealing the value asked for (nothing decrypted)
        by_id, sealed_q = store.equals(path, "entities", "id", q.upper())
        by_name, name_q = store.equals(path, "entities", "name", q)
        # a former number (曾用号) finds the file it now belongs to, through the anchors
        by_anchor, anchor_q = store.equals(path, "ids", "anchor", f"ID:{q.upper()}")
        where += (
            f" AND (file_id = ? OR {by_id} OR {by_name} OR file_id IN "
            f"(SELECT file_id FROM {store.sql(path, 'ids')} WHERE {by_anchor})"
        )
        params = [q, sealed_q, name_q, anchor_q]
        if "name" not in sealing.of(path).sealed("entities"):  # plain names: prefixes too
            where += " OR name LIKE ? || '%'"
            params.append(q)
        where += ")"
    rows = _query(
        path,
        f"SELECT file_id, name, id, records, sources, probabilistic FROM {store.sql(path, 'entities')} "
        f"WHERE {where} ORDER BY file_id LIMIT {limit} OFFSET {int(offset)}",
        params,
    )
    total = _query(
        path, f"SELECT count(*) AS n FROM {store.sql(path, 'entities')} WHERE {where}", params
    )
    return {"base": info, "total": total[0]["n"], "items": rows}


def profile(config: Config, base: str | int, file_id: str) -> dict[str, Any]:
    """一人一档 / 一企一档: golden record with lineage, source records, timeline, conflicts,
    open objections, merges and splits, links to persons or enterprises, licences."""
    info, path = current(config, base)
    entity = _query(
        path, f"SELECT * FROM {store.sql(path, 'entities')} WHERE file_id = ?", [file_id]
    )
    if not entity:
        raise NotFound("entities.file_not_found", f"档案 {file_id} 不存在", f"No file {file_id}")
    e = entity[0]
    if e["status"] == "merged" and e.get("merged_into"):
        return {**profile(config, base, e["merged_into"]), "redirected_from": file_id}
    golden = _query(
        path,
        f"SELECT attribute, value, resource_id, version, run, line, authoritative, n_values "
        f"FROM {store.sql(path, 'golden')} WHERE file_id = ? ORDER BY attribute",
        [file_id],
    )
    records = _query(
        path,
        f"SELECT * EXCLUDE (name_py, legal_py) FROM {store.sql(path, 'records')} WHERE file_id = ? "
        f"ORDER BY resource_id, run, line",
        [file_id],
    )
    disagreements = _query(
        path,
        f"SELECT attribute, n_values, sources FROM {store.sql(path, 'disagreements')} "
        f"WHERE file_id = ? ORDER BY attribute",
        [file_id],
    )
    names = _resource_names(config, {r["resource_id"] for r in records + golden})
    for g in golden:
        g["resource"] = names.get(g["resource_id"], str(g["resource_id"]))
    for d in disagreements:
        for src in d["sources"]:
            src["resource"] = names.get(src["resource_id"], str(src["resource_id"]))
    sources = []
    for r in records:
        sources.append(
            {
                "key": r["key"],
                "resource_id": r["resource_id"],
                "resource": names.get(r["resource_id"], str(r["resource_id"])),
                "version": r["version"],
                "run": r["run"],
                "line": r["line"],
                "method": r["method"],
                "score": r["score"],
                "id": r["id"],
                "values": {k[2:]: v for k, v in r.items() if k.startswith("a:") and v is not None},
            }
        )
    numbers = _numbers(records, names)
    timeline = sorted(
        (
            {
                "date": r["event_date"],
                "label": r["event_label"],
                "resource": names.get(r["resource_id"], ""),
                "resource_id": r["resource_id"],
                "line": r["line"],
            }
            for r in records
            if r.get("event_date")
        ),
        key=lambda t: t["date"],
    )
    with session_scope(config.database_url) as s:
        events = [
            {
                "kind": ev.kind,
                "file_id": ev.file_id,
                "other_file_id": ev.other_file_id,
                "records": ev.records,
                "reason": ev.reason,
                "build_id": ev.build_id,
                "at": ev.at.isoformat() if ev.at else None,
            }
            for ev in s.scalars(
                select(EntityEvent)
                .where(
                    EntityEvent.base_id == info["id"],
                    (EntityEvent.file_id == file_id) | (EntityEvent.other_file_id == file_id),
                )
                .order_by(EntityEvent.id)
            )
        ]
        reviews = [
            review_dict(p)
            for p in s.scalars(
                select(ReviewPair).where(
                    ReviewPair.base_id == info["id"],
                    ReviewPair.file_id == file_id,
                    ReviewPair.status == "pending",
                )
            )
        ]
    from shuhai.entities.relations import links_for
    from shuhai.quality.corrections import corrections_for_records, objections_for_records

    return {
        "base": info,
        "file_id": file_id,
        "entity": e,
        "golden": golden,
        "numbers": numbers,
        "sources": sources,
        "timeline": timeline,
        "disagreements": disagreements,
        "objections": objections_for_records(config, records),
        "corrections": corrections_for_records(config, records),
        "events": events,
        "pending_reviews": reviews,
        "links": links_for(config, info, file_id),
    }


def _numbers(records: list[dict[str, Any]], names: dict[int, str]) -> list[dict[str, Any]]:
    """Every number the file's records give (现用号, 曾用号, flagged ones), with the sources
    that use it and the period their events span."""
    by_id: dict[str, dict[str, Any]] = {}
    for r in records:
        number = r.get("id")
        if not number:
            continue
        n = by_id.setdefault(
            number,
            {
                "id": number,
                "status": "current",
                "flag": r.get("id_flag"),
                "sources": [],
                "dates": [],
            },
        )
        if r.get("method") == "former_id":
            n["status"] = "former"
        elif not r.get("id_valid"):
            n["status"] = "flagged" if n["status"] != "former" else n["status"]
        n["flag"] = n["flag"] or r.get("id_flag")
        source = {"resource_id": r["resource_id"], "resource": names.get(r["resource_id"], "")}
        if source not in n["sources"]:
            n["sources"].append(source)
        if r.get("event_date"):
            n["dates"].append(r["event_date"])
    out = []
    for n in by_id.values():
        dates = sorted(n.pop("dates"))
        out.append(
            {
                **n,
                "first_seen": dates[0] if dates else None,
                "last_seen": dates[-1] if dates else None,
            }
        )
    order = {"current": 0, "former": 1, "flagged": 2}
    return sorted(out, key=lambda n: (order[n["status"]], n["id"]))


def _resource_names(config: Config, ids: set[int]) -> dict[int, str]:
    from shuhai.db import Resource

    if not ids:
        return {}
    with session_scope(config.database_url) as s:
        return {r.id: r.name for r in s.scalars(select(Resource).where(Resource.id.in_(list(ids))))}


def disagreements(
    config: Config, base: str | int, *, attribute: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """Files whose sources disagree, with counts per attribute."""
    info, path = current(config, base)
    limit = max(1, min(int(limit), 500))
    by_attr = _query(
        path,
        f"SELECT attribute, count(*) AS files FROM {store.sql(path, 'disagreements')} "
        f"GROUP BY attribute ORDER BY files DESC",
    )
    where, params = ("WHERE attribute = ?", [attribute]) if attribute else ("", [])
    rows = _query(
        path,
        f"SELECT file_id, attribute, n_values, sources FROM {store.sql(path, 'disagreements')} "
        f"{where} ORDER BY file_id LIMIT {limit}",
        params,
    )
    return {"base": info, "by_attribute": by_attr, "items": rows}


# --- which file each source record went to -------------------------------------------------

RECORD_COLUMNS = [
    "resource_id",
    "version",
    "run",
    "line",
    "key",
    "file_id",
    "method",
    "score",
    "id_flag",
]


def record_files(config: Config, base: str | int) -> tuple[dict[str, Any], pl.LazyFrame]:
    """Every source record of the last good build with the file it went to and how it was
    linked (``id`` exact on a valid ID, ``splink`` with its probability, ``review``): the base's
    own account of itself, for auditors and downstream systems. Lazy: exports stream it."""
    info, path = current(config, base)
    present = store.scan(path, "records", raw=True).collect_schema().names()
    columns = [c for c in RECORD_COLUMNS if c in present]  # builds before ID flags lack one
    frame = store.scan(path, "records", columns).sort("resource_id", "run", "line", "key")
    return info, frame


def record_files_page(
    config: Config, base: str | int, *, limit: int = 100, offset: int = 0, resources: set[int]
) -> dict[str, Any]:
    """A page of ``record_files`` restricted to ``resources`` (those the caller may read)."""
    check_paging("entities.bad_paging", limit, offset, MAX_REVIEW_PAGE)
    info, frame = record_files(config, base)
    frame = frame.filter(pl.col("resource_id").is_in(sorted(resources)))
    total = int(frame.select(pl.len()).collect().item())
    rows = frame.slice(offset, limit).collect().to_dicts()
    return {"base": info, "items": rows, "total": total, "limit": limit, "offset": offset}


# --- numbers several people claim (重号, another person's number) -----------------------


def id_conflicts(
    config: Config,
    base: str | int,
    *,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """The last good build's ID conflicts, one item per number: its kind (``duplicate`` 重号
    first, then another person's number, then unclear) and the records claiming it, each with
    its source, line, name and file. Paged with a total; ``counts`` per kind."""
    check_paging("entities.bad_paging", limit, offset, MAX_REVIEW_PAGE)
    if kind is not None and kind not in claims.LABELS:
        raise InvalidInput(
            "entities.bad_conflict_kind",
            f"冲突类型应为 {', '.join(claims.CONTESTED[1:])}",
            f"The kind must be one of {', '.join(claims.CONTESTED[1:])}",
        )
    info, path = current(config, base)
    if (path / "conflicts.parquet").exists():
        frame = store.load_file(path, "conflicts")
    else:  # a build from before conflicts were listed
        frame = pl.DataFrame(schema=CONFLICT_SCHEMA)
    if "objection_id" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("objection_id"))
    order = {claims.DUPLICATE: 0, claims.BORROWED: 1, claims.AMBIGUOUS: 2}
    numbers = (
        frame.group_by("id")
        .agg(
            pl.col("kind").first(),
            pl.len().alias("n"),
            pl.col("file_id").n_unique().alias("files"),
            pl.col("objection_id").drop_nulls().first(),
        )
        .with_columns(pl.col("kind").replace_strict(order, default=9).alias("_order"))
    )
    counts = {k: int(v) for k, v in numbers.group_by("kind").len().iter_rows()}
    if kind is not None:
        numbers = numbers.filter(pl.col("kind") == kind)
    total = numbers.height
    page = numbers.sort("_order", "id").slice(offset, limit)
    rows = frame.join(page.select("id"), on="id", how="semi").sort("resource_id", "run", "line")
    names = _resource_names(config, set(rows["resource_id"].to_list()))
    by_id: dict[str, list[dict[str, Any]]] = {}
    for r in rows.iter_rows(named=True):
        by_id.setdefault(r["id"], []).append(
            {
                "resource_id": r["resource_id"],
                "resource": names.get(r["resource_id"], str(r["resource_id"])),
                "line": r["line"],
                "key": r["key"],
                "name": r["name"],
                "file_id": r["file_id"],
            }
        )
    items = [
        {
            "id": n["id"],
            "kind": n["kind"],
            "label": claims.LABELS[n["kind"]][0],
            "files": n["files"],
            "objection_id": n["objection_id"],
            "records": by_id.get(n["id"], []),
        }
        for n in page.iter_rows(named=True)
    ]
    return {
        "base": info,
        "items": items,
        "total": total,
        "counts": counts,
        "limit": limit,
        "offset": offset,
    }


# --- clerical review ---------------------------------------------------------------------


def review_dict(p: ReviewPair) -> dict[str, Any]:
    return {
        "id": p.id,
        "base_id": p.base_id,
        "record_key": p.record_key,
        "file_id": p.file_id,
        "probability": round(p.probability, 4),
        "gain": p.gain,
        "evidence": p.evidence,
        "status": p.status,
        "decided_by": p.decided_by,
        "decided_at": p.decided_at.isoformat() if p.decided_at else None,
        "note": p.note,
        "build_id": p.build_id,
        "applied_build_id": p.applied_build_id,
    }


MAX_REVIEW_PAGE = 10_000


def review_queue(
    config: Config, base: str | int, *, status: str = "pending", limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """One page of the review queue, the likeliest pairs first (``review_page`` adds the total)."""
    return review_page(config, base, status=status, limit=limit, offset=offset)["items"]


def review_page(
    config: Config, base: str | int, *, status: str = "pending", limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """``limit`` pairs from ``offset`` on, and how many there are in all; a page past the end
    is empty, a limit out of 1–10,000 is refused (never silently cut)."""
    check_paging("entities.bad_paging", limit, offset, MAX_REVIEW_PAGE)
    with session_scope(config.database_url) as s:
        row = find_base(s, base)
        where = [ReviewPair.base_id == row.id]
        if status != "all":
            where.append(ReviewPair.status == status)
        total = s.scalar(select(func.count()).select_from(ReviewPair).where(*where)) or 0
        q = (
            select(ReviewPair)
            .where(*where)
            # the answers worth most first: expected gain, then probability
            .order_by(
                ReviewPair.gain.desc().nulls_last(), ReviewPair.probability.desc(), ReviewPair.id
            )
            .limit(limit)
            .offset(offset)
        )
        pairs = list(s.scalars(q))
        items = [review_dict(p) for p in pairs]
        # the other candidate files of the same records: one record, one question
        keys = sorted({p.record_key for p in pairs})
        others: dict[str, list[dict[str, Any]]] = {}
        if keys:
            for o in s.scalars(
                select(ReviewPair).where(
                    ReviewPair.base_id == row.id,
                    ReviewPair.record_key.in_(keys),
                    ReviewPair.status == "pending",
                )
            ):
                others.setdefault(o.record_key, []).append(
                    {"id": o.id, "file_id": o.file_id, "probability": round(o.probability, 4)}
                )
        for item in items:
            item["alternatives"] = [
                o for o in others.get(item["record_key"], []) if o["id"] != item["id"]
            ]
    return {"items": items, "total": int(total), "limit": limit, "offset": offset}


def _pair(s: Any, base: str | int, pair_id: int) -> ReviewPair:
    row = find_base(s, base)
    p = s.get(ReviewPair, pair_id)
    if p is None or p.base_id != row.id:
        raise NotFound(
            "entities.pair_not_found", f"复核对 {pair_id} 不存在", f"No review pair {pair_id}"
        )
    return p


def review_pair(config: Config, base: str | int, pair_id: int) -> dict[str, Any]:
    """A pair with the evidence side by side: the record's values and the file's golden values."""
    with session_scope(config.database_url) as s:
        p = _pair(s, base, pair_id)
        pair = review_dict(p)
    info, path = current(config, base)
    record = _query(
        path,
        f"SELECT * EXCLUDE (name_py, legal_py) FROM {store.sql(path, 'records')} WHERE key = ?",
        [pair["record_key"]],
    )
    golden = _query(
        path,
        f"SELECT attribute, value FROM {store.sql(path, 'golden')} WHERE file_id = ?",
        [pair["file_id"]],
    )
    left = record[0] if record else {}
    names = _resource_names(config, {left["resource_id"]} if left else set())
    fields = ["id", "name", "birth", "sex", "phone", "address", "legal"]
    other = _query(
        path,
        f"SELECT * EXCLUDE (name_py, legal_py) FROM {store.sql(path, 'records')} WHERE file_id = ? "
        f"ORDER BY method = 'id' DESC, run DESC LIMIT 1",
        [pair["file_id"]],
    )
    right = other[0] if other else {}
    return {
        **pair,
        "record": {
            "resource": names.get(left.get("resource_id"), ""),
            "line": left.get("line"),
            "fields": {f: left.get(f) for f in fields},
            "file_id": left.get("file_id"),
        },
        "file": {"fields": {f: right.get(f) for f in fields}, "golden": golden},
    }


def decide(
    config: Config, base: str | int, pair_id: int, decision: str, *, actor: str, note: str = ""
) -> dict[str, Any]:
    """Accept (same person/enterprise) or reject a pair; kept and reused by every later build."""
    if decision not in ("accept", "reject"):
        raise InvalidInput(
            "entities.bad_decision",
            "决定应为 accept 或 reject",
            "The decision must be accept or reject",
        )
    with session_scope(config.database_url) as s:
        p = _pair(s, base, pair_id)
        if p.status == "stale":
            raise Conflict(
                "entities.pair_stale",
                "该记录对在最近一次构建中已不存在（记录已变更或删除），无需再复核",
                "This pair no longer exists in the latest build (the record changed or is gone)",
            )
        p.status = "accepted" if decision == "accept" else "rejected"
        now = datetime.now(UTC)
        p.decided_by, p.decided_at, p.note = actor, now, note
        p.applied_build_id = None
        settled = []
        if decision == "accept":
            # a record belongs to one file: its other candidate files are answered with it
            for o in s.scalars(
                select(ReviewPair).where(
                    ReviewPair.base_id == p.base_id,
                    ReviewPair.record_key == p.record_key,
                    ReviewPair.status == "pending",
                    ReviewPair.id != p.id,
                )
            ):
                o.status, o.decided_by, o.decided_at = "rejected", actor, now
                o.note = (
                    f"同一记录已确认归入档案 {p.file_id} / the record was placed in {p.file_id}"
                )
                o.applied_build_id = None
                settled.append(o.id)
        return {**review_dict(p), "settled": settled}


__all__ = [
    "base_dict",
    "current",
    "decide",
    "disagreements",
    "get_base",
    "list_bases",
    "list_builds",
    "load_config",
    "parse_config",
    "profile",
    "id_conflicts",
    "record_files",
    "record_files_page",
    "review_page",
    "review_pair",
    "review_queue",
    "save_base",
    "search_files",
]
