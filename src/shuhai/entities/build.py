"""Building a base database (基础库构建): link member records into files, keep file ids stable,
pick golden values with lineage, list disagreements, record merges and splits.

A build reads the member resources' current versions and writes one directory of Parquet files
(``records``, ``golden``, ``disagreements``, ``entities``, ``ids``, ``links``) plus the Splink
model. The directory appears only when the build succeeded: a failed build leaves the last good
one readable. An incremental build reads the previous build, links only records that are new
(or whose review decision changed) and recomputes golden values only for the files they touch.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from sqlalchemy import select

from shuhai.config import Config
from shuhai.db import BaseBuild, BaseDatabase, EntityEvent, ReviewPair, session_scope
from shuhai.entities import claims, linking, sealing, store
from shuhai.entities.config import BaseConfig, validate_config
from shuhai.entities.records import (
    FIELDS,
    attr_column,
    current_versions,
    empty,
    quarantined,
    read_member,
    read_members,
    settle_claims,
)
from shuhai.errors import NotFound
from shuhai.lake import LINE_COLUMN, RUN_COLUMN, LakeTable

PREFIX = {"person": "P", "enterprise": "E"}
KEEP_BUILDS = 3


def base_dir(config: Config, base_id: int) -> Path:
    return config.home / "bases" / f"b{base_id}"


def find_base(s: Any, base: str | int) -> BaseDatabase:
    row = None
    if isinstance(base, int) or (
        str(base).isascii() and str(base).isdigit() and len(str(base)) < 19
    ):
        row = s.get(BaseDatabase, int(base))
    if row is None:
        row = s.scalars(select(BaseDatabase).where(BaseDatabase.name == str(base))).first()
    if row is None:
        raise NotFound(
            "entities.base_not_found", f"基础库“{base}”不存在", f"No base database {base!r}"
        )
    return row


def load_config(s: Any, row: BaseDatabase) -> BaseConfig:
    return validate_config(s, yaml.safe_load(row.config))


def last_build(s: Any, base_id: int) -> BaseBuild | None:
    return s.scalars(
        select(BaseBuild)
        .where(BaseBuild.base_id == base_id, BaseBuild.status == "succeeded")
        .order_by(BaseBuild.id.desc())
    ).first()


def build_path(config: Config, build: BaseBuild) -> Path:
    return base_dir(config, build.base_id) / str(build.id)


class _Ids:
    """File id allocation: ``P00000001``…, never reused (the counter travels in build.json)."""

    def __init__(self, kind: str, next_number: int) -> None:
        self.prefix = PREFIX.get(kind, "X")
        self.next = next_number

    @staticmethod
    def highest(*columns: pl.Series) -> int:
        numbers = [c.str.slice(1).cast(pl.Int64, strict=False).max() for c in columns if c.len()]
        return max([int(n) for n in numbers if n is not None], default=0)

    def take(self, n: int) -> pl.Series:
        """``n`` new ids, made in one expression (a full build takes a million at once)."""
        numbers = pl.int_range(self.next, self.next + n, eager=True, dtype=pl.Int64)
        self.next += n
        return (self.prefix + numbers.cast(pl.String).str.zfill(8)).alias("file_id")


def build_base(
    config: Config,
    base: str | int,
    *,
    full: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build (or update) a base database; returns the build record."""
    say = progress or (lambda _m: None)
    started = time.perf_counter()
    with session_scope(config.database_url) as s:
        row = find_base(s, base)
        cfg = load_config(s, row)
        prev = last_build(s, row.id)
        prev_info = (
            {"id": prev.id, "path": build_path(config, prev), "config_version": prev.config_version}
            if prev
            else None
        )
        build = BaseBuild(
            base_id=row.id,
            mode="full",
            status="running",
            config_version=row.config_version,
            sources={},
            counts={"host": socket.gethostname(), "pid": os.getpid()},
        )
        s.add(build)
        s.flush()
        build_id, base_id, config_version = build.id, row.id, row.config_version
        decisions = [
            (p.record_key, p.file_id, p.status, p.id, p.decided_at)
            for p in s.scalars(
                select(ReviewPair).where(
                    ReviewPair.base_id == row.id, ReviewPair.status.in_(("accepted", "rejected"))
                )
            )
        ]
    out_dir = base_dir(config, base_id) / str(build_id)
    tmp = out_dir.with_name(f".{build_id}.tmp")
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        sealed = sealing.plan(config, cfg, base_id)  # copies of L4 columns stay encrypted
        sealed.save(tmp)
        # the earlier builds were written otherwise (a column was raised to L4 since)
        resealed = prev_info is not None and not sealing.of(prev_info["path"]).same_as(sealed)
        if cfg.kind == "licence":
            from shuhai.entities.licences import build_licences

            counts, sources = build_licences(config, cfg, tmp, sealed)
            mode, events, reviews, scope = "full", [], [], None
        else:
            incremental = (
                not full
                and prev_info is not None
                and prev_info["config_version"] == config_version
                and (prev_info["path"] / "base" / "records.parquet").exists()
                and not resealed  # the base is rewritten in full, encrypted the new way
            )
            mode = "incremental" if incremental else "full"
            counts, sources, events, reviews, scope = _build_entities(
                config, cfg, tmp, prev_info, decisions, sealed, incremental=incremental, say=say
            )
        tmp.rename(out_dir)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        with session_scope(config.database_url) as s:
            b = s.get(BaseBuild, build_id)
            assert b is not None
            b.status = "failed"
            b.error = str(exc)[:2000]
            b.finished_at = datetime.now(UTC)
            b.seconds = time.perf_counter() - started
        raise
    if cfg.kind == "person":
        raised = raise_duplicate_numbers(config, cfg, out_dir, sealed)
        if raised:
            counts = {**counts, "objections_raised": raised}
            say(f"重号已向权威部门提出疑义 / duplicate numbers raised with the authority: {raised}")
    seconds = time.perf_counter() - started
    with session_scope(config.database_url) as s:
        b = s.get(BaseBuild, build_id)
        assert b is not None
        b.status, b.mode, b.counts, b.sources = "succeeded", mode, counts, sources
        b.finished_at, b.seconds = datetime.now(UTC), seconds
        for e in events:
            s.add(EntityEvent(base_id=base_id, build_id=build_id, **e))
        _save_reviews(s, base_id, build_id, reviews, scope)
        result = build_dict(b)
    if resealed:  # earlier builds hold what must now be encrypted in plain text: gone now
        _prune(config, base_id, keep=1)
    else:  # old build folders go in the background: their files are hard links
        threading.Thread(target=_prune, args=(config, base_id), daemon=True).start()
    say(f"完成 / done in {seconds:.1f}s")
    return result


def raise_duplicate_numbers(
    config: Config, cfg: BaseConfig, out: Path, sealed: sealing.Sealing
) -> int:
    """Each 重号 (two people, one number) the authority holds a record of is raised with it as
    an objection (疑义) on that record's ID item, once: the objection's id travels with the
    conflict from build to build. Returns how many were raised now."""
    from shuhai.errors import ShuhaiError
    from shuhai.quality.corrections import raise_objections

    path = out / "conflicts.parquet"
    if not path.exists():
        return 0
    table = store.load_file(out, "conflicts")
    authority = next((m for m in cfg.members if m.key == cfg.authority_key), None)
    if authority is None or not authority.id_column:
        return 0
    todo = (
        table.filter((pl.col("kind") == claims.DUPLICATE) & pl.col("objection_id").is_null())
        .group_by("id")
        .agg(
            (pl.col("member") == authority.key).any().alias("held"),
            pl.col("file_id").unique().sort().alias("files"),
        )
        .filter(pl.col("held"))
        .sort("id")
    )
    items, numbers = [], []
    for number, _held, file_ids in todo.iter_rows():
        shown = "、".join(f for f in file_ids if f)
        numbers.append(number)
        items.append(
            {
                "key": {authority.id_column: number},
                "item": authority.id_column,
                "reason": (
                    f"重号：基础库“{cfg.name}”发现该号码由 {len(file_ids)} 个不同的人使用"
                    f"（档案 {shown}），请核实持有人并更正。"
                    f" / Duplicate number: {len(file_ids)} different people use it in "
                    f"base {cfg.name} (files {shown}); please establish the holder."
                ),
            }
        )
    raised: dict[str, int] = {}
    if items:
        try:  # one read of the authority's table for all of them
            made = raise_objections(
                config, authority.resource_id, items, actor=f"基础库:{cfg.name}"
            )
        except ShuhaiError:
            made = []  # the authority keys its records otherwise: the conflicts stay listed
        for o in made:
            number = o["key"].get(authority.id_column)
            if number is not None:
                raised[str(number)] = int(o["id"])
    if raised:
        table = table.with_columns(
            pl.col("id")
            .replace_strict(raised, default=None, return_dtype=pl.Int64)
            .fill_null(pl.col("objection_id"))
            .alias("objection_id")
        )
        store.write_file(out, "conflicts", table, sealed)
    return len(raised)


def recover_builds(config: Config) -> int:
    """Builds left 'running' by a dead process of this host become 'interrupted' (their output
    never replaced the last good build, which stays current); their temporary folders go."""
    import psutil

    host, fixed = socket.gethostname(), 0
    with session_scope(config.database_url) as s:
        for b in s.scalars(select(BaseBuild).where(BaseBuild.status == "running")):
            owner = b.counts or {}
            if owner.get("host") == host and not psutil.pid_exists(int(owner.get("pid") or 0)):
                b.status, b.finished_at = "interrupted", datetime.now(UTC)
                b.error = "构建进程意外终止 / the build process died"
                shutil.rmtree(base_dir(config, b.base_id) / f".{b.id}.tmp", ignore_errors=True)
                fixed += 1
    return fixed


def build_dict(b: BaseBuild) -> dict[str, Any]:
    return {
        "id": b.id,
        "base_id": b.base_id,
        "mode": b.mode,
        "status": b.status,
        "config_version": b.config_version,
        "sources": b.sources,
        "counts": b.counts,
        "error": b.error,
        "seconds": round(b.seconds, 3) if b.seconds is not None else None,
        "started_at": b.started_at.isoformat() if b.started_at else None,
        "finished_at": b.finished_at.isoformat() if b.finished_at else None,
    }


def _prune(config: Config, base_id: int, keep: int = KEEP_BUILDS) -> None:
    root = base_dir(config, base_id)
    try:
        builds = sorted((p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    except OSError:
        return
    for old in builds[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _save_reviews(
    s: Any, base_id: int, build_id: int, reviews: list[dict[str, Any]], scope: set[str] | None
) -> None:
    """Queue the proposed pairs; a pending pair whose record was relinked (or is gone) and not
    proposed again becomes stale. ``scope``: the records this build looked at (None: all)."""
    q = select(ReviewPair).where(ReviewPair.base_id == base_id)
    keys = sorted((scope or set()) | {r["record_key"] for r in reviews})
    if scope is not None and len(keys) <= 5000:  # an update touches only its records' pairs
        q = q.where(
            ReviewPair.record_key.in_(keys)
            | (
                ReviewPair.status.in_(("accepted", "rejected"))
                & ReviewPair.applied_build_id.is_(None)
            )
        )
    existing = {(p.record_key, p.file_id): p for p in s.scalars(q)}
    proposed = set()
    for r in reviews:
        k = (r["record_key"], r["file_id"])
        proposed.add(k)
        p = existing.get(k)
        if p is None:
            s.add(ReviewPair(base_id=base_id, build_id=build_id, status="pending", **r))
        elif p.status in ("pending", "stale"):
            p.status, p.build_id = "pending", build_id
            p.probability, p.evidence, p.gain = r["probability"], r["evidence"], r.get("gain")
    for k, p in existing.items():
        in_scope = scope is None or k[0] in scope
        if p.status == "pending" and k not in proposed and in_scope:
            p.status = "stale"
        if p.status in ("accepted", "rejected") and p.applied_build_id is None:
            p.applied_build_id = build_id


# --- linking -------------------------------------------------------------------------------


def _diff(
    config: Config,
    cfg: BaseConfig,
    versions: dict[int, int],
    old: pl.DataFrame,
    built: dict[str, int],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows of the current versions that the previous build did not have (``member``, ``run``,
    ``line``), and the previous build's records that are gone. Only members whose lake version
    moved are read; rows are compared on integers."""
    new_rows, removed = [], []
    for m in cfg.members:
        if built.get(str(m.resource_id)) == versions.get(m.resource_id):
            continue  # the same lake version as last build: nothing new, nothing gone
        before = (
            old.filter(pl.col("resource_id") == m.resource_id)  # integers first, then the name
            .filter(pl.col("member") == m.key)
            .select("member", "run", "line", "key")
        )
        if m.resource_id not in versions:
            removed.append(before)
            continue
        t = LakeTable(config.lake_dir, m.resource_id).dataset(versions[m.resource_id])
        now = pl.from_arrow(t.to_table(columns=[RUN_COLUMN, LINE_COLUMN]))
        assert isinstance(now, pl.DataFrame)
        now = now.rename({RUN_COLUMN: "run", LINE_COLUMN: "line"}).with_columns(
            pl.col("run").cast(pl.Int64), pl.col("line").cast(pl.Int64)
        )
        held = quarantined(config, m, now["run"].unique().sort().to_list())
        if held is not None:  # quarantined rows of these runs are records too
            now = pl.concat(
                [
                    now,
                    held.select(pl.col(RUN_COLUMN).alias("run"), pl.col(LINE_COLUMN).alias("line")),
                ]
            )
        # (run, line) packed into one integer: one hash probe per row instead of a two-column join
        packed = (pl.col("run") * (1 << 32) + pl.col("line")).alias("_rl")
        seen = before.select(packed)["_rl"]
        fresh = now.filter(~packed.is_in(seen.implode()))
        new_rows.append(fresh.with_columns(pl.lit(m.key).alias("member")))
        if before.height + fresh.height != now.height:
            still = now.select(packed)["_rl"]
            removed.append(before.filter(~packed.is_in(still.implode())))
    schema = {"run": pl.Int64, "line": pl.Int64, "member": pl.String}
    empty_removed = pl.DataFrame(
        schema={"member": pl.String, "run": pl.Int64, "line": pl.Int64, "key": pl.String}
    )
    return (
        pl.concat(new_rows) if new_rows else pl.DataFrame(schema=schema),
        pl.concat(removed, how="diagonal_relaxed") if removed else empty_removed,
    )


def _anchor(frame: pl.DataFrame) -> pl.Expr:
    """What keeps a file id stable: its number (``ID:<number>``), and for the second holder of
    a 重号 the number with the holder's name (``ID:<number>#<name>``)."""
    plain = pl.concat_str([pl.lit("ID:"), pl.col("id")])
    if "holder" not in frame.columns:
        return plain
    return pl.when(pl.col("holder").is_null()).then(plain).otherwise(plain + "#" + pl.col("holder"))


LAYOUT = 2  # 2: records carry ``id_flag`` (claims judged); builds list ID conflicts


def _build_entities(
    config: Config,
    cfg: BaseConfig,
    out: Path,
    prev: dict[str, Any] | None,
    decisions: list[tuple[str, str, str, int, Any]],
    sealed: sealing.Sealing,
    *,
    incremental: bool,
    say: Callable[[str], None],
) -> tuple[
    dict[str, Any], dict[str, int], list[dict[str, Any]], list[dict[str, Any]], set[str] | None
]:
    out.mkdir(parents=True, exist_ok=True)
    versions = current_versions(config, cfg)
    prev_path: Path | None = prev["path"] if prev else None
    if prev_path is not None and not (prev_path / "base").is_dir():
        prev_path = None  # a build from before the base/delta layout: rebuild in full
        incremental = False
    if prev_path is not None and _read_json(prev_path / "build.json").get("layout", 1) < LAYOUT:
        incremental = False  # records of an older shape (no ID claims judged): rebuild in full
    # An update reads the previous records lazily (only the rows it needs are materialized); a
    # full build reads them whole, for stable file ids.
    previous = store.load(prev_path, "records") if prev_path and not incremental else None
    scan = (
        store.scan_marked(prev_path, "records", stored=True) if prev_path and incremental else None
    )
    prev_built = _read_json(prev_path / "build.json") if prev_path else {}
    decided = {(key, file_id): (status, pid, at) for key, file_id, status, pid, at in decisions}
    say("读取成员记录 / reading member records…")
    narrow = [
        "key",
        "file_id",
        "id",
        "id_valid",
        *[c for c in FIELDS if c not in ("id", "id_valid")],
    ]
    old: pl.DataFrame | None = None
    where: pl.Expr | None = None  # which of the previous records are still current
    if incremental and scan is not None and prev_path is not None:
        live = pl.col("_live")
        applied = set(prev_built.get("decisions", []))
        # records whose decision is new or changed since the last build are linked again
        redo_keys = {
            k for (k, _f), (st, pid, _a) in decided.items() if f"{pid}:{st}" not in applied
        }
        moved = [
            m.resource_id
            for m in cfg.members
            if (prev_built.get("versions") or {}).get(str(m.resource_id))
            != versions.get(m.resource_id)
        ]
        redo_series = pl.Series(list(redo_keys), dtype=pl.String)
        lineage = (
            scan.filter(
                live
                & (
                    pl.col("resource_id").is_in(pl.Series(moved, dtype=pl.Int32).implode())
                    | pl.col("key").is_in(redo_series.implode())
                )
            )
            .select("key", "member", "resource_id", "run", "line", "file_id", "method")
            .collect()
        )
        new_rows, removed = _diff(config, cfg, versions, lineage, prev_built.get("versions") or {})
        redo = lineage.filter(pl.col("key").is_in(redo_series.implode()))
        gone = pl.concat([removed.select("key"), redo.select("key")])
        wanted = pl.concat([new_rows, redo.select("run", "line", "member")], how="vertical_relaxed")
        frames = []
        for m in cfg.members:
            rows = wanted.filter(pl.col("member") == m.key)
            if rows.height:
                frames.append(
                    read_member(config, cfg, m, version=versions.get(m.resource_id), rows=rows)
                )
        new = pl.concat([empty(cfg), *frames], how="diagonal_relaxed") if frames else empty(cfg)
        # the previous records are read through this filter, never copied whole
        where = live & ~pl.col("key").is_in(gone["key"].implode())
        # the placed records claiming the same numbers are the evidence the new claims meet
        claimed = new.filter(pl.col("id_valid"))["id"].unique()
        probe = _stored_in(sealed, "id", claimed)
        context = scan.filter(where & probe).drop("_live").collect() if claimed.len() else None
        disputed: list[pl.DataFrame] = []
        new = settle_claims(cfg, new, context=context, context_conflicts=disputed)
        state = scan
        model = _read_json(prev_path / "model.json")
        prev_files = redo.select("key", "file_id")
    else:
        state, redo = None, None
        new = settle_claims(cfg, read_members(config, cfg, versions))
        disputed = []
        old = previous
        removed = old.join(new.select("key"), on="key", how="anti") if old is not None else None
        model = None
        prev_files = old.select("key", "file_id") if old is not None else None
    # the previous entity rows: all of them for a full build, the touched ones (below) otherwise
    prev_entities = store.load(prev_path, "entities") if prev_path and state is None else None
    say(f"新增或变更记录 / new or changed records: {new.height:,}")
    if prev_path is None:
        id_frame = pl.DataFrame(schema={"anchor": pl.String, "file_id": pl.String})
    elif state is None:
        id_frame = store.load(prev_path, "ids")
    else:  # an update needs only the anchors of its new records and the files they leave
        # (matched as stored: the anchors asked for are sealed, only the hits are decrypted)
        ids_scan = store.scan(prev_path, "ids", raw=True)
        anchors = sealed.seal(
            "ids",
            new.filter(pl.col("id_valid")).select(_anchor(new).alias("anchor")).unique(),
        )
        id_frame = sealed.open(
            "ids",
            pl.concat(
                [
                    ids_scan.join(anchors.lazy(), on="anchor", how="semi").collect(),
                    ids_scan.join(
                        prev_files.select("file_id").unique().lazy(), on="file_id", how="semi"
                    ).collect(),
                ]
            ).unique(),
        )
    next_number = prev_built.get("next_file_number") or 1 + _Ids.highest(
        id_frame["file_id"],
        store.load(prev_path, "entities", ["file_id"])["file_id"]
        if prev_path
        else pl.Series([], dtype=pl.String),
    )
    ids = _Ids(cfg.kind, int(next_number))

    # 1. Exact: a valid ID is its own anchor.
    resolved_new = new.filter(pl.col("id_valid")).with_columns(_anchor(new).alias("anchor"))
    unresolved = new.filter(~pl.col("id_valid"))
    conflicts = new.filter(pl.col("conflict").is_not_null()) if "conflict" in new.columns else None
    if disputed and conflicts is not None:
        conflicts = pl.concat([conflicts, *disputed], how="diagonal_relaxed")
    fresh_anchors = (
        resolved_new.select("anchor")
        .unique(maintain_order=True)
        .join(id_frame, on="anchor", how="anti")
    )
    fresh = fresh_anchors.with_columns(ids.take(fresh_anchors.height))
    known = id_frame.join(resolved_new.select("anchor").unique(), on="anchor", how="semi")
    resolved_new = (
        resolved_new.join(pl.concat([known, fresh]), on="anchor", how="left")
        .drop("anchor")
        .with_columns(pl.lit("id").alias("method"), pl.lit(1.0).alias("score"))
    )
    placed = resolved_new.select(narrow) if state is None else scan
    extra = None if state is None else resolved_new.select(narrow)

    # 2. Probabilistic: the rest against every placed record, then among themselves.
    if model is None:
        # same-number pairs teach how one person's records differ; a 重号's do not
        training = placed.filter(
            pl.col("id_valid") & pl.col("id_flag").fill_null("").ne(claims.DUPLICATE)
        )
        if training.height < MIN_TRAINING:  # too few anchored records: u from all of them
            cols = [c for c in linking.COMPARE[cfg.kind] if c in unresolved.columns]
            training = pl.concat(
                [placed.select(cols), unresolved.select(cols)], how="vertical_relaxed"
            )
        say(f"训练匹配模型 / training the Splink model on {training.height:,} records…")
        model = (
            linking.train(training, cfg.kind, files=max(training["id"].n_unique(), 2))
            if training.height >= MIN_TRAINING
            else {}  # nothing to learn from, nothing to compare: every record stays apart
        )
    say(f"概率匹配 / scoring {unresolved.height:,} records without a valid ID…")
    # Term frequencies of names: measured on the full build, carried by incremental ones.
    tf: dict[str, pl.DataFrame] = {}
    for col in linking.TF_COLUMNS[cfg.kind]:
        carried = prev_path / f"tf_{col}.parquet" if prev_path is not None else None
        if state is not None and carried is not None and carried.exists():
            tf[col] = store.load_file(prev_path, f"tf_{col}")
        else:
            tf[col] = linking.term_frequencies(placed, col)
        store.write_file(out, f"tf_{col}", tf[col], sealed)
    linked, reviews, leftovers, within = (_link_unresolved if model else _link_nothing)(
        model,
        cfg,
        unresolved,
        placed,
        decided,
        tf,
        where=where,
        extra=extra,
        seal=sealed.seal_series if "id" in sealed.sealed("records") else None,
    )
    groups = _group_leftovers(leftovers, within)
    # file ids for records without a file: keep the id they had in the previous build.
    leftovers = leftovers.join(groups, on="key", how="left")
    before = (
        leftovers.select("key").join(prev_files, on="key", how="inner")
        if prev_files is not None
        else pl.DataFrame(schema={"key": pl.String, "file_id": pl.String})
    )
    id_owned = set(
        id_frame.join(before.select("file_id").unique(), on="file_id", how="semi")["file_id"]
    )
    prev_key_file = dict(zip(before["key"].to_list(), before["file_id"].to_list(), strict=True))
    assign: dict[int, str] = {}
    for g, keys in leftovers.group_by("group").agg(pl.col("key")).iter_rows():
        previous = [prev_key_file[k] for k in keys if k in prev_key_file]
        taken = previous and previous[0] not in id_owned and previous[0] not in assign.values()
        assign[g] = previous[0] if taken else str(ids.take(1)[0])
    leftovers = leftovers.with_columns(
        pl.col("group").replace_strict(assign, return_dtype=pl.String).alias("file_id"),
        pl.lit("new").alias("method"),
        pl.lit(None, dtype=pl.Float64).alias("score"),
    ).drop("group")
    columns = [*empty(cfg).columns, "file_id", "method", "score"]
    changed = pl.concat([resolved_new, linked, leftovers], how="diagonal_relaxed").select(columns)
    all_ids = pl.concat([id_frame, fresh]) if state is None else fresh
    if cfg.kind == "person":
        changed = _join_damaged(changed, resolved_new, cfg, scan, where, sealed)
    if cfg.kind == "person":
        # 一人多号: files of an old number join the person's file; the number keeps pointing there
        if state is None:
            moves = claims.former_numbers(changed, cfg.authority_key)
        else:  # an update: the new files of a number, against the placed files of their names
            moves = _former_in_update(changed, fresh, cfg, scan, where, sealed)
        if moves.height:
            changed = _move(changed, moves)
            all_ids = all_ids.join(moves, on="file_id", how="left").select(
                "anchor", pl.coalesce("into", "file_id").alias("file_id")
            )
            say(f"曾用号 / files of a former number joined: {moves.height:,}")
        if state is None:
            changed = _mark_former(changed, cfg.authority_key)

    say(f"关联完成 / linked: {linked.height:,} by Splink, {leftovers.height:,} new files")
    earlier = (
        store.load_file(prev_path, "conflicts")
        if prev_path is not None and (prev_path / "conflicts.parquet").exists()
        else None
    )
    conflict_rows = _conflicts(conflicts, changed, earlier)
    if state is not None and earlier is not None:
        assert removed is not None and redo is not None
        stale = pl.concat([removed.select("key"), redo.select("key"), changed.select("key")])
        kept = earlier.join(stale, on="key", how="anti")
        conflict_rows = (
            pl.concat([kept, conflict_rows], how="diagonal_relaxed")
            .select(list(CONFLICT_SCHEMA))
            .unique("key", keep="last", maintain_order=True)
        )
    store.write_file(out, "conflicts", conflict_rows, sealed)
    # 3. Events, golden records, disagreements, entity rows: for the files that changed.
    if state is not None and scan is not None and prev_path is not None:
        assert removed is not None
        gone_keys = pl.concat([removed.select("key"), redo.select("key")])
        departed = lineage.filter(pl.col("key").is_in(gone_keys["key"].implode()))
        affected = pl.concat([departed["file_id"], changed["file_id"]]).unique()
        old_affected = (
            scan.filter(live & pl.col("file_id").is_in(affected.implode())).drop("_live").collect()
        )
        current = pl.concat(
            [old_affected.filter(~pl.col("key").is_in(gone_keys["key"].implode())), changed],
            how="diagonal_relaxed",
        ).select(columns)
        events = _events(old_affected, current)
        prev_entities = (
            store.scan(prev_path, "entities")
            .join(pl.DataFrame({"file_id": affected}).lazy(), on="file_id", how="semi")
            .collect()
        )
        golden, disagreements = _golden(cfg, current)
        entities = _entities(current, prev_entities, events)
        compacted = store.write_incremental(
            out,
            prev_path,
            {
                "records": changed,
                "golden": golden,
                "entities": entities,
                "disagreements": disagreements,
                "ids": all_ids,
            },
            tomb_keys=gone_keys["key"],
            tomb_files=affected,
            sealing=sealed,
        )
        if compacted:
            say("压缩增量 / compacted the delta into a new base")
    else:
        records = changed.sort("file_id", "resource_id", "run", "line")
        events = _events(old, records) if old is not None else []
        golden, disagreements = _golden(cfg, records)
        entities = _entities(records, prev_entities, events)
        store.write_full(
            out,
            {
                "records": records,
                "golden": golden,
                "entities": entities,
                "disagreements": disagreements,
                "ids": all_ids,
            },
            sealed,
        )
    say("标准信息已写出 / golden records written")
    (out / "model.json").write_text(json.dumps(model, ensure_ascii=False), encoding="utf-8")
    if cfg.relations:
        from shuhai.entities.relations import build_links

        build_links(config, cfg, store.load(out, "records", ["id", "id_valid", "file_id"]), out)

    def tally(frame: pl.DataFrame) -> dict[str, int]:
        return {k: int(v) for k, v in frame.group_by("method").len().iter_rows()}

    prev_counts = prev_built.get("counts") or {}
    if state is not None and prev_counts:
        # Counts carried forward: the previous build's, minus what left, plus what came.
        lost, got = tally(departed), tally(changed)
        by_method = {
            m: prev_counts.get(f"linked_by_{m}" if m != "new" else "unlinked", 0)
            - lost.get(m, 0)
            + got.get(m, 0)
            for m in ("id", "former_id", "partial_id", "splink", "review", "new")
        }
        was_active = prev_entities.filter(
            pl.col("file_id").is_in(affected.implode()) & (pl.col("status") == "active")
        ).height
        files = (
            prev_counts["files"] - was_active + entities.filter(pl.col("status") == "active").height
        )
        n_disagree = store.scan(out, "disagreements", ["file_id"]).select(pl.len()).collect().item()
    else:
        by_method = tally(records)
        files = entities.filter(pl.col("status") == "active").height
        n_disagree = disagreements.height
    counts = {
        "records": int(sum(by_method.values())),
        "files": int(files),
        "linked_by_id": int(by_method.get("id", 0)),
        "linked_by_former_id": int(by_method.get("former_id", 0)),
        "linked_by_partial_id": int(by_method.get("partial_id", 0)),
        "linked_by_splink": int(by_method.get("splink", 0)),
        "linked_by_review": int(by_method.get("review", 0)),
        "unlinked": int(by_method.get("new", 0)),
        "new_records": new.height,
        "removed_records": 0 if removed is None else removed.height,
        "review_pairs": len(reviews),
        "id_conflicts": int(conflict_rows["id"].n_unique()),
        "disagreements": int(n_disagree),
        "merges": sum(1 for e in events if e["kind"] == "merge"),
        "splits": sum(1 for e in events if e["kind"] == "split"),
    }
    applied_ids = [f"{pid}:{st}" for (st, pid, _a) in decided.values()]
    (out / "build.json").write_text(
        json.dumps(
            {
                "versions": versions,
                "decisions": applied_ids,
                "counts": counts,
                "next_file_number": ids.next,
                "layout": LAYOUT,
            }
        ),
        encoding="utf-8",
    )
    if state is None and counts["disagreements"]:
        feed_comparisons(config, cfg, disagreements)
    scope = None
    if state is not None and removed is not None:
        scope = set(unresolved["key"].to_list()) | set(removed["key"].to_list())
    return counts, {str(k): v for k, v in versions.items()}, events, reviews, scope


def feed_comparisons(config: Config, cfg: BaseConfig, disagreements: pl.DataFrame) -> list[int]:
    """Disagreements feed the quality issue's comparisons (跨部门比对): for each attribute the
    sources disagree on, every member that provides it is compared with its authority, keyed by
    their ID columns, so the conflicts reach the comparison pages and the objection workflow.
    Declared once; returns the ids of the comparisons added."""
    from shuhai.errors import ShuhaiError
    from shuhai.quality.compare import add_comparison, list_comparisons

    disputed = set(disagreements["attribute"].unique().to_list())
    declared = {
        (c["left"]["resource_id"], c["left"]["item"], c["right"]["resource_id"], c["right"]["item"])
        for c in list_comparisons(config)
    }
    members = {m.resource_id: m for m in cfg.members if m.id_column}
    added = []
    for attribute, authority_id in cfg.authority.items():
        auth = members.get(authority_id)
        if attribute not in disputed or auth is None:
            continue
        for m in cfg.members:
            if m is auth or not m.id_column or attribute not in m.attributes:
                continue
            item, auth_item = m.attributes[attribute], auth.attributes[attribute]
            if (m.resource_id, item, auth.resource_id, auth_item) in declared:
                continue
            try:
                c = add_comparison(
                    config,
                    {
                        "name": f"{cfg.name}·{attribute}：{m.resource} ↔ {auth.resource}（权威）",
                        "left": {"resource": m.resource_id, "item": item, "key": m.id_column},
                        "right": {
                            "resource": auth.resource_id,
                            "item": auth_item,
                            "key": auth.id_column,
                        },
                    },
                )
            except ShuhaiError:
                continue  # incompatible types: the base database still lists the values
            declared.add((m.resource_id, item, auth.resource_id, auth_item))
            added.append(c["id"])
    return added


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _link_unresolved(
    model: dict[str, Any],
    cfg: BaseConfig,
    unresolved: pl.DataFrame,
    placed: pl.DataFrame | pl.LazyFrame,
    decided: dict[tuple[str, str], tuple[str, int, Any]],
    tf: dict[str, pl.DataFrame],
    *,
    where: pl.Expr | None = None,
    extra: pl.DataFrame | None = None,
    seal: Callable[[pl.Series], pl.Series] | None = None,
) -> tuple[pl.DataFrame, list[dict[str, Any]], pl.DataFrame, pl.DataFrame]:
    """Each record without a valid ID: linked to a file, queued for review, or left over; plus
    the confident pairs among the unresolved records themselves (``key_l``, ``key_r``)."""
    link_at, review_at = cfg.thresholds["link"], cfg.thresholds["review"]
    no_pairs = pl.DataFrame(schema={"key_l": pl.String, "key_r": pl.String})
    if unresolved.height == 0:
        return (
            unresolved.with_columns(
                pl.lit(None, dtype=pl.String).alias("file_id"),
                pl.lit(None, dtype=pl.String).alias("method"),
                pl.lit(None, dtype=pl.Float64).alias("score"),
            ),
            [],
            unresolved,
            no_pairs,
        )
    present = (
        placed.collect_schema().names() if isinstance(placed, pl.LazyFrame) else placed.columns
    )
    cols = [c for c in linking.COMPARE[cfg.kind] if c in present]
    # A number that is damaged or somebody else's says nothing about the record: it is left out
    # of blocking and comparison on both sides (the record keeps it).
    unresolved = unresolved.with_columns(
        pl.when(pl.col("id_flag").is_in(BLIND)).then(None).otherwise(pl.col("id")).alias("_cmp_id")
    )
    probe = unresolved.drop("id").rename({"_cmp_id": "id"})
    near = _blind(
        linking.candidates(placed, probe, cfg.kind, where=where, seal=seal), ["file_id", *cols]
    )
    if extra is not None:  # records placed by this build (valid IDs) are candidates too
        near = pl.concat(
            [near, _blind(linking.candidates(extra, probe, cfg.kind), ["file_id", *cols])]
        )
    # One Splink call scores each record against placed records and against the other
    # unresolved ones (those pairs group records that belong to no file yet).
    right = pl.concat(
        [
            near.select(["file_id", *cols])
            .unique(maintain_order=True)
            .with_columns(pl.lit(None, dtype=pl.String).alias("key")),
            probe.select([pl.lit(None, dtype=pl.String).alias("file_id"), *cols, "key"]),
        ],
        how="vertical_relaxed",
    ).with_row_index("uid")
    left = probe.with_row_index("uid")
    pairs = linking.score(model, cfg.kind, left, right, threshold=min(review_at, 0.3), tf=tf)
    scored = (
        pairs.join(
            left.select(pl.col("uid").cast(pl.Int64).alias("uid_l"), "key"), on="uid_l"
        ).join(
            right.select(
                pl.col("uid").cast(pl.Int64).alias("uid_r"), "file_id", pl.col("key").alias("key_r")
            ),
            on="uid_r",
        )
        if pairs.height
        else None
    )
    within = (
        scored.filter(
            pl.col("key_r").is_not_null()
            & (pl.col("key_r") != pl.col("key"))
            & (pl.col("match_probability") >= link_at)
        ).select(pl.col("key").alias("key_l"), "key_r")
        if scored is not None
        else no_pairs
    )
    best = (
        scored.filter(pl.col("file_id").is_not_null())
        .sort("match_probability", descending=True)
        .unique(["key", "file_id"], keep="first", maintain_order=True)
        if scored is not None
        else pl.DataFrame(
            schema={"key": pl.String, "file_id": pl.String, "match_probability": pl.Float64}
        )
    )
    target: dict[str, tuple[str, str, float]] = {}
    reviews: list[dict[str, Any]] = []
    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in best.iter_rows(named=True):
        by_key.setdefault(r["key"], []).append(r)
    # records of each candidate file among those compared: what an answer would join
    at_stake = dict(near.group_by("file_id").len().iter_rows()) if near.height else {}
    for key, cands in by_key.items():
        cands = [c for c in cands if decided.get((key, c["file_id"]), ("",))[0] != "rejected"]
        accepted = [c for c in cands if decided.get((key, c["file_id"]), ("",))[0] == "accepted"]
        if accepted:
            target[key] = (accepted[0]["file_id"], "review", accepted[0]["match_probability"])
            continue
        if not cands:
            continue
        top = cands[0]
        runner = cands[1] if len(cands) > 1 else None
        if top["match_probability"] >= link_at and (
            runner is None
            or runner["match_probability"] < review_at
            # one candidate clearly dominates: the evidence for it outweighs the evidence for
            # the next by DOMINANCE_BITS (a likelihood ratio of 2**DOMINANCE_BITS)
            or float(top["match_weight"]) - float(runner["match_weight"]) >= DOMINANCE_BITS
        ):
            target[key] = (top["file_id"], "splink", top["match_probability"])
            continue
        for c in cands[:3]:
            if c["match_probability"] >= review_at:
                p = float(c["match_probability"])
                reviews.append(
                    {
                        "record_key": key,
                        "file_id": c["file_id"],
                        "probability": p,
                        "gain": round(p * (1 + at_stake.get(c["file_id"], 0)), 4),
                        "evidence": _evidence(c, model),
                    }
                )
    mapping = pl.DataFrame(
        {
            "key": list(target.keys()),
            "file_id": [t[0] for t in target.values()],
            "method": [t[1] for t in target.values()],
            "score": [float(t[2]) for t in target.values()],
        },
        schema={"key": pl.String, "file_id": pl.String, "method": pl.String, "score": pl.Float64},
    )
    unresolved = unresolved.drop("_cmp_id")
    linked = unresolved.join(mapping, on="key", how="inner")
    leftovers = unresolved.join(mapping, on="key", how="anti")
    return linked, reviews, leftovers, within


BLIND = [claims.DAMAGED, *claims.CONTESTED]
MIN_TRAINING = 10  # records a model is learned from; fewer cannot tell random pairs apart


def _link_nothing(
    _model: dict[str, Any], _cfg: BaseConfig, unresolved: pl.DataFrame, *_args: Any, **_kw: Any
) -> tuple[pl.DataFrame, list[dict[str, Any]], pl.DataFrame, pl.DataFrame]:
    """No model to score with (a base of a handful of records): every record left apart."""
    return (
        unresolved.clear().with_columns(
            pl.lit(None, dtype=pl.String).alias("file_id"),
            pl.lit(None, dtype=pl.String).alias("method"),
            pl.lit(None, dtype=pl.Float64).alias("score"),
        ),
        [],
        unresolved,
        pl.DataFrame(schema={"key_l": pl.String, "key_r": pl.String}),
    )


DOMINANCE_BITS = 10.0  # 1000 : 1 for the best candidate over the next: no question to ask


def _blind(frame: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """Candidate rows for scoring, their number left out where it is damaged or contested."""
    if "id_flag" in frame.columns and "id" in cols:
        frame = frame.with_columns(
            pl.when(pl.col("id_flag").is_in(BLIND)).then(None).otherwise(pl.col("id")).alias("id")
        )
    return frame.select(cols)


def _stored_in(sealed: sealing.Sealing, column: str, values: pl.Series) -> pl.Expr:
    """A filter on placed records for ``column`` in ``values``, on the stored bytes where the
    column is kept encrypted (only the rows kept are decrypted)."""
    if column in sealed.sealed("records"):
        return pl.col(f"{column}__stored").is_in(sealed.seal_series(values).implode())
    return pl.col(column).is_in(values.implode())


def _join_damaged(
    changed: pl.DataFrame,
    anchored: pl.DataFrame,
    cfg: BaseConfig,
    scan: pl.LazyFrame | None,
    where: pl.Expr | None,
    sealed: sealing.Sealing,
) -> pl.DataFrame:
    """Files of records left on their own whose number Excel damaged join the authority file
    whose number starts with the digits that survived (``claims.partial_numbers``); the whole
    leftover file moves, its records marked ``partial_id``."""
    authority = cfg.authority_key
    damaged = changed.filter((pl.col("method") == "new") & (pl.col("id_flag") == claims.DAMAGED))
    if authority is None or damaged.height == 0:
        return changed
    holders = anchored.filter(pl.col("member") == authority).select(
        "file_id", "id", "name", "birth", "sex"
    )
    if scan is not None and where is not None:  # an update: the placed holders of those names
        probe = _stored_in(sealed, "name", damaged["name"].drop_nulls().unique())
        placed = (
            scan.filter(where & probe & (pl.col("member") == authority) & pl.col("id_valid"))
            .select("file_id", "id", "name", "birth", "sex")
            .collect()
        )
        holders = pl.concat([holders, placed], how="vertical_relaxed")
    matched = claims.partial_numbers(damaged, holders)
    if matched.height == 0:
        return changed
    by_file = (
        damaged.select("key", "file_id")
        .join(matched, on="key")
        .group_by("file_id")
        .agg(pl.col("into").n_unique().alias("n"), pl.col("into").first())
        .filter(pl.col("n") == 1)
        .select("file_id", "into")
    )
    return _move(changed, by_file, method="partial_id")


def _former_in_update(
    changed: pl.DataFrame,
    fresh: pl.DataFrame,
    cfg: BaseConfig,
    scan: pl.LazyFrame | None,
    where: pl.Expr | None,
    sealed: sealing.Sealing,
) -> pl.DataFrame:
    """``claims.former_numbers`` for an update: only the files this update opened for a new
    number, compared with the authority's placed files of the same names (read through the
    stored names, then whole: their departments decide whether they can be one person)."""
    authority = cfg.authority_key
    empty = pl.DataFrame(schema={"file_id": pl.String, "into": pl.String})
    opened = changed.filter(pl.col("file_id").is_in(fresh["file_id"].implode()))
    if authority is None or scan is None or where is None or opened.height == 0:
        return empty
    names = opened["name"].drop_nulls().unique()
    if names.len() == 0:
        return empty
    probe = _stored_in(sealed, "name", names)
    holders = (
        scan.filter(where & probe & (pl.col("member") == authority) & pl.col("id_valid"))
        .select("file_id")
        .unique()
        .collect()
    )
    if holders.height == 0:
        return empty
    placed = (
        scan.filter(where & pl.col("file_id").is_in(holders["file_id"].implode()))
        .drop("_live")
        .collect()
    )
    both = pl.concat([opened, placed], how="diagonal_relaxed")
    moves = claims.former_numbers(both, authority)
    return moves.filter(pl.col("file_id").is_in(fresh["file_id"].implode()))


def _move(records: pl.DataFrame, moves: pl.DataFrame, method: str = "former_id") -> pl.DataFrame:
    """Records of the files in ``moves`` (``file_id`` → ``into``) placed in their new files."""
    return (
        records.join(moves, on="file_id", how="left")
        .with_columns(
            pl.coalesce("into", "file_id").alias("file_id"),
            pl.when(pl.col("into").is_not_null())
            .then(pl.lit(method))
            .otherwise(pl.col("method"))
            .alias("method"),
        )
        .drop("into")
    )


def _mark_former(records: pl.DataFrame, authority: str | None) -> pl.DataFrame:
    """Records placed by a number that is not their file's current one (the authority's, else
    the commonest) are linked by a former number (``former_id``, 曾用号)."""
    anchored = records.filter(
        pl.col("id_valid")
        & pl.col("method").is_in(["id", "former_id"])
        & pl.col("id_flag").fill_null("").ne(claims.DUPLICATE)
    )
    if anchored.height == 0:
        return records
    primary = (
        anchored.with_columns((pl.col("member") == (authority or "")).alias("_auth"))
        .group_by("file_id", "id")
        .agg(pl.col("_auth").any(), pl.len().alias("_n"))
        .sort(["_auth", "_n", "id"], descending=[True, True, False])
        .group_by("file_id", maintain_order=True)
        .first()
        .select("file_id", pl.col("id").alias("_primary"))
    )
    return (
        records.join(primary, on="file_id", how="left")
        .with_columns(
            pl.when(
                pl.col("method").is_in(["id", "former_id"])
                & pl.col("_primary").is_not_null()
                & pl.col("id_valid")
                & pl.col("id_flag").fill_null("").ne(claims.DUPLICATE)
            )
            .then(
                pl.when(pl.col("id") == pl.col("_primary"))
                .then(pl.lit("id"))
                .otherwise(pl.lit("former_id"))
            )
            .otherwise(pl.col("method"))
            .alias("method")
        )
        .drop("_primary")
    )


CONFLICT_SCHEMA = {
    "id": pl.String,
    "kind": pl.String,
    "key": pl.String,
    "member": pl.String,
    "resource_id": pl.Int32,
    "run": pl.Int64,
    "line": pl.Int64,
    "name": pl.String,
    "file_id": pl.String,
    "objection_id": pl.Int64,
}


def _conflicts(
    conflicts: pl.DataFrame | None, placed: pl.DataFrame, earlier: pl.DataFrame | None
) -> pl.DataFrame:
    """The records of numbers several people claim (重号, another person's number), each with
    the file it went to and the objection already raised about the number (``earlier``: the
    previous build's conflicts): what the authority is asked to resolve."""
    if conflicts is None or conflicts.height == 0:
        return pl.DataFrame(schema=CONFLICT_SCHEMA)
    raised = (
        earlier.filter(pl.col("objection_id").is_not_null())
        .group_by("id")
        .agg(pl.col("objection_id").first())
        if earlier is not None and "objection_id" in earlier.columns
        else pl.DataFrame(schema={"id": pl.String, "objection_id": pl.Int64})
    )
    if "file_id" not in conflicts.columns:
        conflicts = conflicts.with_columns(pl.lit(None, dtype=pl.String).alias("file_id"))
    return (
        conflicts.select(
            "id",
            pl.col("conflict").alias("kind"),
            "key",
            "member",
            "resource_id",
            "run",
            "line",
            "name",
            "file_id",
        )
        # records placed by this build take their new file; placed ones keep theirs
        .join(placed.select("key", pl.col("file_id").alias("_placed")), on="key", how="left")
        .with_columns(pl.coalesce("_placed", "file_id").alias("file_id"))
        .join(raised, on="id", how="left")
        .select(list(CONFLICT_SCHEMA))
        .cast(CONFLICT_SCHEMA)  # type: ignore[arg-type]
    )


def _evidence(row: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    """Per comparison: which level the pair reached and its weight of evidence (bits)."""
    labels, weights = linking.level_labels(model), linking.weights(model)
    out = {}
    for name, levels in labels.items():
        mw = row.get(f"mw_{name}")
        if mw is None:
            continue
        level = "空值 / null" if mw == 0 else ""
        for label, w in zip(levels, weights.get(name, []), strict=False):
            if mw != 0 and abs(w - mw) < 0.01:
                level = label
        out[name] = {
            "level": level,
            "weight": round(float(mw) + float(row.get(f"mw_tf_adj_{name}") or 0), 2),
        }
    return {"levels": out, "match_weight": float(row.get("match_weight") or 0)}


def _group_leftovers(leftovers: pl.DataFrame, within: pl.DataFrame) -> pl.DataFrame:
    """Records linked to no file, grouped among themselves (same person, no ID) through the
    confident pairs Splink found between them (union-find)."""
    keys = leftovers["key"].to_list()
    index = {k: i for i, k in enumerate(keys)}
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(within["key_l"].to_list(), within["key_r"].to_list(), strict=True):
        if a in index and b in index:
            ra, rb = find(index[a]), find(index[b])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return pl.DataFrame(
        {"key": keys, "group": [find(i) for i in range(len(keys))]},
        schema={"key": pl.String, "group": pl.Int64},
    )


# --- events ---------------------------------------------------------------------------------


def _events(old: pl.DataFrame | None, records: pl.DataFrame) -> list[dict[str, Any]]:
    """Merges, splits and retirements: compare where each record was and where it is now."""
    if old is None:
        return []
    moved = (
        old.select("key", pl.col("file_id").alias("before"))
        .join(records.select("key", "file_id", "method", "score"), on="key")
        .filter(pl.col("before") != pl.col("file_id"))
    )
    now = set(records["file_id"].unique().to_list())
    events = []
    for (before, after), grp in moved.group_by(["before", "file_id"]):
        methods = grp["method"].to_list()
        reason = _reason(methods, grp["score"].to_list())
        kind = "split" if before in now else "merge"
        events.append(
            {
                "kind": kind,
                "file_id": before if kind == "split" else after,
                "other_file_id": after if kind == "split" else before,
                "records": grp.height,
                "reason": reason,
            }
        )
    merged_away = {e["other_file_id"] for e in events if e["kind"] == "merge"}
    before_ids = set(old["file_id"].unique().to_list())
    for f in sorted(before_ids - now - merged_away):
        n = old.filter(pl.col("file_id") == f).height
        events.append(
            {
                "kind": "retire",
                "file_id": f,
                "other_file_id": None,
                "records": n,
                "reason": "来源记录已删除或被更新替换 / its source records were removed or replaced",
            }
        )
    return events


def _reason(methods: list[str], scores: list[Any]) -> str:
    if "review" in methods:
        return "人工复核通过 / accepted in clerical review"
    if "splink" in methods:
        best = max((s for s in scores if s is not None), default=0)
        return f"概率匹配 p={best:.4f} / probabilistic match"
    if "id" in methods:
        return "身份证号或代码一致 / same valid ID"
    return "复核拒绝或记录变更后拆分 / split after a rejected pair or changed record"


# --- golden records -------------------------------------------------------------------------


def _golden(cfg: BaseConfig, records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One value per file and attribute: the authority's, else by survivorship; every value
    cites resource, version, run and line. Disagreements list every distinct value."""
    attrs = [a for a in cfg.attributes if attr_column(a) in records.columns]
    source = records
    long = (
        source.select(
            "file_id", "resource_id", "version", "run", "line", *[attr_column(a) for a in attrs]
        )
        .unpivot(
            index=["file_id", "resource_id", "version", "run", "line"],
            variable_name="attribute",
            value_name="value",
        )
        .filter(pl.col("value").is_not_null())
    )
    long = long.with_columns(pl.col("attribute").str.slice(2))
    authority = pl.DataFrame(
        {"attribute": list(cfg.authority.keys()), "auth": list(cfg.authority.values())},
        schema={"attribute": pl.String, "auth": pl.Int32},
    )
    group = ["file_id", "attribute"]
    ranked = long.join(authority, on="attribute", how="left").with_columns(
        (pl.col("resource_id") == pl.col("auth")).fill_null(False).alias("authoritative"),
        pl.len().over([*group, "value"]).alias("freq"),
        pl.col("value").n_unique().over(group).alias("n_values"),
        pl.col("value").str.len_chars().alias("length"),
    )
    order = {
        "most_recent": ["run", "line"],
        "most_frequent": ["freq", "run", "line"],
        "longest": ["length", "run", "line"],
    }[cfg.survivorship]
    # the authority first, then the survivorship rule: the first row of each group wins
    golden = (
        ranked.sort(["authoritative", *order], descending=True)
        .group_by(group, maintain_order=False)
        .first()
        .select(
            *group, "value", "resource_id", "version", "run", "line", "authoritative", "n_values"
        )
        .sort(group)
    )
    disagreements = (
        long.filter(pl.col("value").n_unique().over(group) > 1)
        .sort([*group, "value", "run", "line"])
        .group_by(group, maintain_order=True)
        .agg(
            pl.col("value").n_unique().alias("n_values"),
            pl.struct("value", "resource_id", "version", "run", "line").alias("sources"),
        )
    )
    return golden, disagreements


def _entities(
    records: pl.DataFrame,
    prev_entities: pl.DataFrame | None,
    events: list[dict[str, Any]],
) -> pl.DataFrame:
    """One row per file: display name, ID, record and source counts, status."""
    active = (
        records.group_by("file_id")
        .agg(
            pl.col("name").filter(pl.col("name").is_not_null()).mode().first().alias("name"),
            # the current number: one the file was anchored by, not a former one (曾用号)
            pl.col("id")
            .filter(pl.col("id_valid") & (pl.col("method") == "id"))
            .first()
            .fill_null(pl.col("id").filter(pl.col("id_valid")).first())
            .alias("id"),
            pl.len().alias("records"),
            pl.col("resource_id").n_unique().alias("sources"),
            pl.col("method").is_in(["splink", "review", "new"]).any().alias("probabilistic"),
        )
        .with_columns(
            pl.lit("active").alias("status"), pl.lit(None, dtype=pl.String).alias("merged_into")
        )
    )
    gone = []
    merged = {e["other_file_id"]: e["file_id"] for e in events if e["kind"] == "merge"}
    if prev_entities is not None:
        previous = prev_entities.filter(~pl.col("file_id").is_in(active["file_id"].to_list()))
        for r in previous.iter_rows(named=True):
            status = (
                r["status"]
                if r["status"] != "active"
                else ("merged" if r["file_id"] in merged else "retired")
            )
            gone.append(
                {
                    **r,
                    "status": status,
                    "merged_into": r.get("merged_into") or merged.get(r["file_id"]),
                }
            )
    frame = (
        pl.concat([active, pl.DataFrame(gone, schema=active.schema)], how="vertical_relaxed")
        if gone
        else active
    )
    return frame.sort("file_id")


__all__ = ["base_dir", "build_base", "build_dict", "build_path", "find_base", "last_build"]
