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
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import yaml
from sqlalchemy import select

from shuhai.config import Config
from shuhai.db import BaseBuild, BaseDatabase, EntityEvent, ReviewPair, session_scope
from shuhai.entities import linking
from shuhai.entities.config import BaseConfig, validate_config
from shuhai.entities.records import attr_column, current_versions, empty, read_member, read_members
from shuhai.errors import NotFound
from shuhai.lake import LINE_COLUMN, RUN_COLUMN, LakeTable

PREFIX = {"person": "P", "enterprise": "E"}
KEEP_BUILDS = 3


def base_dir(config: Config, base_id: int) -> Path:
    return config.home / "bases" / f"b{base_id}"


def find_base(s: Any, base: str | int) -> BaseDatabase:
    row = None
    if isinstance(base, int) or str(base).isdigit():
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
    """File id allocation: ``P00000001``…, never reused."""

    def __init__(self, kind: str, used: list[str]) -> None:
        self.prefix = PREFIX.get(kind, "X")
        numbers = [int(u[1:]) for u in used if u and u[1:].isdigit()]
        self.next = max(numbers, default=0) + 1

    def take(self, n: int) -> list[str]:
        out = [f"{self.prefix}{i:08d}" for i in range(self.next, self.next + n)]
        self.next += n
        return out


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
        if cfg.kind == "licence":
            from shuhai.entities.licences import build_licences

            tmp.mkdir(parents=True, exist_ok=True)
            counts, sources = build_licences(config, cfg, tmp)
            mode, events, reviews = "full", [], []
        else:
            incremental = (
                not full
                and prev_info is not None
                and prev_info["config_version"] == config_version
                and (prev_info["path"] / "records.parquet").exists()
            )
            mode = "incremental" if incremental else "full"
            counts, sources, events, reviews = _build_entities(
                config, cfg, tmp, prev_info, decisions, incremental=incremental, say=say
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
    seconds = time.perf_counter() - started
    with session_scope(config.database_url) as s:
        b = s.get(BaseBuild, build_id)
        assert b is not None
        b.status, b.mode, b.counts, b.sources = "succeeded", mode, counts, sources
        b.finished_at, b.seconds = datetime.now(UTC), seconds
        for e in events:
            s.add(EntityEvent(base_id=base_id, build_id=build_id, **e))
        _save_reviews(s, base_id, build_id, reviews)
        result = build_dict(b)
    _prune(config, base_id)
    say(f"完成 / done in {seconds:.1f}s")
    return result


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


def _prune(config: Config, base_id: int) -> None:
    root = base_dir(config, base_id)
    builds = sorted((p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    for old in builds[:-KEEP_BUILDS]:
        shutil.rmtree(old, ignore_errors=True)


def _save_reviews(s: Any, base_id: int, build_id: int, reviews: list[dict[str, Any]]) -> None:
    existing = {
        (p.record_key, p.file_id): p
        for p in s.scalars(select(ReviewPair).where(ReviewPair.base_id == base_id))
    }
    proposed = set()
    for r in reviews:
        k = (r["record_key"], r["file_id"])
        proposed.add(k)
        p = existing.get(k)
        if p is None:
            s.add(ReviewPair(base_id=base_id, build_id=build_id, status="pending", **r))
        elif p.status in ("pending", "stale"):
            p.status, p.build_id = "pending", build_id
            p.probability, p.evidence = r["probability"], r["evidence"]
    for k, p in existing.items():
        if p.status == "pending" and k not in proposed:
            p.status = "stale"
        if p.status in ("accepted", "rejected") and p.applied_build_id is None:
            p.applied_build_id = build_id


# --- linking -------------------------------------------------------------------------------


def _member_keys(config: Config, cfg: BaseConfig, versions: dict[int, int]) -> pl.DataFrame:
    frames = []
    for m in cfg.members:
        if m.resource_id not in versions:
            continue
        t = LakeTable(config.lake_dir, m.resource_id).dataset(versions[m.resource_id])
        f = pl.from_arrow(t.to_table(columns=[RUN_COLUMN, LINE_COLUMN]))
        assert isinstance(f, pl.DataFrame)
        frames.append(
            f.select(
                pl.concat_str(
                    [
                        pl.lit(f"{m.key}/"),
                        pl.col(RUN_COLUMN).cast(pl.String),
                        pl.lit("/"),
                        pl.col(LINE_COLUMN).cast(pl.String),
                    ]
                ).alias("key"),
                pl.lit(m.key).alias("member"),
            )
        )
    return (
        pl.concat(frames)
        if frames
        else pl.DataFrame(schema={"key": pl.String, "member": pl.String})
    )


def _build_entities(
    config: Config,
    cfg: BaseConfig,
    out: Path,
    prev: dict[str, Any] | None,
    decisions: list[tuple[str, str, str, int, Any]],
    *,
    incremental: bool,
    say: Callable[[str], None],
) -> tuple[dict[str, Any], dict[str, int], list[dict[str, Any]], list[dict[str, Any]]]:
    out.mkdir(parents=True, exist_ok=True)
    versions = current_versions(config, cfg)
    prev_path: Path | None = prev["path"] if prev else None
    old = pl.read_parquet(prev_path / "records.parquet") if prev_path else None
    prev_ids = pl.read_parquet(prev_path / "ids.parquet") if prev_path else None
    prev_entities = pl.read_parquet(prev_path / "entities.parquet") if prev_path else None
    decided_after = {}
    for key, file_id, status, pid, at in decisions:
        decided_after[(key, file_id)] = (status, pid, at)
    say("读取成员记录 / reading member records…")
    if incremental and old is not None:
        keys = _member_keys(config, cfg, versions)
        prev_built = _read_json(prev_path / "build.json") if prev_path else {}
        applied = set(prev_built.get("decisions", []))
        redo = {k for (k, _f), (_st, pid, _at) in decided_after.items() if pid not in applied}
        state = old.join(keys.select("key"), on="key", how="semi").filter(
            ~pl.col("key").is_in(list(redo))
        )
        new_keys = keys.join(state.select("key"), on="key", how="anti")
        touched_members = set(new_keys["member"].unique().to_list())
        frames = []
        for m in cfg.members:
            if m.key in touched_members:
                f = read_member(config, cfg, m, version=versions.get(m.resource_id))
                frames.append(f.join(new_keys.select("key"), on="key", how="semi"))
        new = pl.concat([empty(cfg), *frames], how="diagonal_relaxed") if frames else empty(cfg)
        removed = old.join(keys.select("key"), on="key", how="anti")
        model = _read_json(prev_path / "model.json")
    else:
        state = None
        new = read_members(config, cfg, versions)
        removed = old.join(new.select("key"), on="key", how="anti") if old is not None else None
        model = None
    say(f"新增或变更记录 / new or changed records: {new.height:,}")
    idmap: dict[str, str] = {}
    if prev_ids is not None:
        idmap = dict(zip(prev_ids["anchor"].to_list(), prev_ids["file_id"].to_list(), strict=True))
    prev_key_file: dict[str, str] = {}
    if old is not None and not incremental:
        prev_key_file = dict(zip(old["key"].to_list(), old["file_id"].to_list(), strict=True))
    used = list(idmap.values())
    if prev_entities is not None:
        used += prev_entities["file_id"].to_list()
    ids = _Ids(cfg.kind, used)

    # 1. Exact: a valid ID is its own anchor.
    resolved_new = new.filter(pl.col("id_valid"))
    unresolved = new.filter(~pl.col("id_valid"))
    anchors = resolved_new["id"].unique().to_list()
    fresh = [a for a in anchors if f"ID:{a}" not in idmap]
    for a, f in zip(fresh, ids.take(len(fresh)), strict=True):
        idmap[f"ID:{a}"] = f
    resolved_new = resolved_new.with_columns(
        pl.concat_str([pl.lit("ID:"), pl.col("id")])
        .replace_strict(idmap, return_dtype=pl.String)
        .alias("file_id"),
        pl.lit("id").alias("method"),
        pl.lit(1.0).alias("score"),
    )
    placed = (
        resolved_new if state is None else pl.concat([state, resolved_new], how="diagonal_relaxed")
    )

    # 2. Probabilistic: the rest against every placed record, then among themselves.
    if model is None:
        training = placed.filter(pl.col("id_valid"))
        say(f"训练匹配模型 / training the Splink model on {training.height:,} records…")
        model = linking.train(training, cfg.kind, files=max(training["id"].n_unique(), 2))
    say(f"概率匹配 / scoring {unresolved.height:,} records without a valid ID…")
    linked, reviews, leftovers = _link_unresolved(model, cfg, unresolved, placed, decided_after)
    groups = _group_leftovers(model, cfg, leftovers)
    # file ids for records without a file: keep the id they had in the previous build.
    leftovers = leftovers.join(groups, on="key", how="left")
    assign: dict[int, str] = {}
    for g, keys in leftovers.group_by("group").agg(pl.col("key")).iter_rows():
        previous = [prev_key_file[k] for k in keys if k in prev_key_file]
        taken = (
            previous and previous[0] not in idmap.values() and previous[0] not in assign.values()
        )
        assign[g] = previous[0] if taken else ids.take(1)[0]
    leftovers = leftovers.with_columns(
        pl.col("group").replace_strict(assign, return_dtype=pl.String).alias("file_id"),
        pl.lit("new").alias("method"),
        pl.lit(None, dtype=pl.Float64).alias("score"),
    ).drop("group")
    records = pl.concat([placed, linked, leftovers], how="diagonal_relaxed").select(
        *empty(cfg).columns, "file_id", "method", "score"
    )
    records = records.sort("file_id", "resource_id", "run", "line")
    say(f"档案 / files: {records['file_id'].n_unique():,}")

    # 3. Events: what moved between files since the previous build.
    events = _events(old, records, removed, prev_entities, incremental)

    # 4. Golden records, disagreements, entity list.
    affected = None
    if incremental and old is not None:
        affected = set(new["key"].to_list())
        touched = set(records.filter(pl.col("key").is_in(list(affected)))["file_id"].to_list())
        if removed is not None:
            touched |= set(removed["file_id"].to_list())
        affected = touched
    _golden(cfg, records, out, prev_path, affected)
    entities = _entities(cfg, records, prev_entities, events)
    pl.DataFrame(
        {"anchor": list(idmap.keys()), "file_id": list(idmap.values())},
        schema={"anchor": pl.String, "file_id": pl.String},
    ).write_parquet(out / "ids.parquet")
    records.write_parquet(out / "records.parquet", row_group_size=65536)
    entities.write_parquet(out / "entities.parquet")
    (out / "model.json").write_text(json.dumps(model, ensure_ascii=False), encoding="utf-8")
    if cfg.relations:
        from shuhai.entities.relations import build_links

        build_links(config, cfg, records, out)
    applied_ids = [pid for (_s, pid, _a) in decided_after.values()]
    counts = {
        "records": records.height,
        "files": int(entities.filter(pl.col("status") == "active").height),
        "linked_by_id": int((records["method"] == "id").sum()),
        "linked_by_splink": int((records["method"] == "splink").sum()),
        "linked_by_review": int((records["method"] == "review").sum()),
        "unlinked": int((records["method"] == "new").sum()),
        "new_records": new.height,
        "removed_records": 0 if removed is None else removed.height,
        "review_pairs": len(reviews),
        "disagreements": pl.scan_parquet(out / "disagreements.parquet")
        .select(pl.len())
        .collect()
        .item(),
        "merges": sum(1 for e in events if e["kind"] == "merge"),
        "splits": sum(1 for e in events if e["kind"] == "split"),
    }
    (out / "build.json").write_text(
        json.dumps({"versions": versions, "decisions": applied_ids, "counts": counts}),
        encoding="utf-8",
    )
    return counts, {str(k): v for k, v in versions.items()}, events, reviews


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _link_unresolved(
    model: dict[str, Any],
    cfg: BaseConfig,
    unresolved: pl.DataFrame,
    placed: pl.DataFrame,
    decided: dict[tuple[str, str], tuple[str, int, Any]],
) -> tuple[pl.DataFrame, list[dict[str, Any]], pl.DataFrame]:
    """Each record without a valid ID: linked to a file, queued for review, or left over."""
    link_at, review_at = cfg.thresholds["link"], cfg.thresholds["review"]
    if unresolved.height == 0:
        return (
            unresolved.with_columns(
                pl.lit(None, dtype=pl.String).alias("file_id"),
                pl.lit(None, dtype=pl.String).alias("method"),
                pl.lit(None, dtype=pl.Float64).alias("score"),
            ),
            [],
            unresolved,
        )
    cols = [c for c in linking.COMPARE[cfg.kind] if c in placed.columns]
    right = placed.select(["file_id", *cols]).unique(maintain_order=True).with_row_index("uid")
    left = unresolved.with_row_index("uid")
    pairs = linking.score(model, cfg.kind, left, right, threshold=min(review_at, 0.3))
    best = (
        (
            pairs.join(left.select(pl.col("uid").cast(pl.Int64).alias("uid_l"), "key"), on="uid_l")
            .join(right.select(pl.col("uid").cast(pl.Int64).alias("uid_r"), "file_id"), on="uid_r")
            .sort("match_probability", descending=True)
            .unique(["key", "file_id"], keep="first", maintain_order=True)
        )
        if pairs.height
        else pl.DataFrame(
            schema={"key": pl.String, "file_id": pl.String, "match_probability": pl.Float64}
        )
    )
    labels = linking.level_labels(model)
    target: dict[str, tuple[str, str, float]] = {}
    reviews: list[dict[str, Any]] = []
    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in best.iter_rows(named=True):
        by_key.setdefault(r["key"], []).append(r)
    for key, cands in by_key.items():
        cands = [c for c in cands if decided.get((key, c["file_id"]), ("",))[0] != "rejected"]
        accepted = [c for c in cands if decided.get((key, c["file_id"]), ("",))[0] == "accepted"]
        if accepted:
            target[key] = (accepted[0]["file_id"], "review", accepted[0]["match_probability"])
            continue
        if not cands:
            continue
        top = cands[0]
        runner = cands[1]["match_probability"] if len(cands) > 1 else 0.0
        if top["match_probability"] >= link_at and runner < review_at:
            target[key] = (top["file_id"], "splink", top["match_probability"])
            continue
        for c in cands[:3]:
            if c["match_probability"] >= review_at:
                reviews.append(
                    {
                        "record_key": key,
                        "file_id": c["file_id"],
                        "probability": float(c["match_probability"]),
                        "evidence": _evidence(c, labels),
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
    linked = unresolved.join(mapping, on="key", how="inner")
    leftovers = unresolved.join(mapping, on="key", how="anti")
    return linked, reviews, leftovers


def _evidence(row: dict[str, Any], labels: dict[str, list[str]]) -> dict[str, Any]:
    out = {}
    for name, levels in labels.items():
        g = row.get(f"gamma_{name}")
        bf = row.get(f"bf_{name}")
        if g is None:
            continue
        out[name] = {
            "level": "空值 / null" if g < 0 else (levels[g] if g < len(levels) else str(g)),
            "gamma": int(g),
            "bayes_factor": float(bf) if bf is not None else None,
        }
    return {"levels": out, "match_weight": float(row.get("match_weight") or 0)}


def _group_leftovers(
    model: dict[str, Any], cfg: BaseConfig, leftovers: pl.DataFrame
) -> pl.DataFrame:
    """Records linked to no file: grouped among themselves (same person, no ID) by Splink."""
    n = leftovers.height
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n > 1:
        left = leftovers.with_row_index("uid")
        pairs = linking.score(
            model, cfg.kind, left, left, threshold=cfg.thresholds["link"], within=True
        )
        for a, b in zip(pairs["uid_l"].to_list(), pairs["uid_r"].to_list(), strict=True):
            ra, rb = find(int(a)), find(int(b))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return pl.DataFrame(
        {"key": leftovers["key"], "group": [find(i) for i in range(n)]},
        schema={"key": pl.String, "group": pl.Int64},
    )


# --- events ---------------------------------------------------------------------------------


def _events(
    old: pl.DataFrame | None,
    records: pl.DataFrame,
    removed: pl.DataFrame | None,
    prev_entities: pl.DataFrame | None,
    incremental: bool,
) -> list[dict[str, Any]]:
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


def _golden(
    cfg: BaseConfig,
    records: pl.DataFrame,
    out: Path,
    prev_path: Path | None,
    affected: set[str] | None,
) -> None:
    """One value per file and attribute: the authority's, else by survivorship; every value
    cites resource, version, run and line. Disagreements list every distinct value."""
    attrs = [a for a in cfg.attributes if attr_column(a) in records.columns]
    source = records
    if affected is not None:
        source = records.filter(pl.col("file_id").is_in(list(affected)))
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
    con = duckdb.connect(":memory:")
    try:
        con.register("v", long.to_arrow())
        con.register("auth", authority.to_arrow())
        order = {
            "most_recent": "run DESC, line DESC",
            "most_frequent": "freq DESC, run DESC, line DESC",
            "longest": "length(value) DESC, run DESC, line DESC",
        }[cfg.survivorship]
        golden = con.sql(
            f"""
            WITH x AS (
              SELECT v.*, coalesce(v.resource_id = auth.auth, false) AS authoritative,
                     count(*) OVER (PARTITION BY file_id, attribute, value) AS freq,
                     count(DISTINCT value) OVER (PARTITION BY file_id, attribute) AS n_values
              FROM v LEFT JOIN auth USING (attribute)
            )
            SELECT file_id, attribute, value, resource_id, version, run, line, authoritative,
                   n_values
            FROM x
            QUALIFY row_number() OVER (
              PARTITION BY file_id, attribute ORDER BY authoritative DESC, {order}) = 1
            ORDER BY file_id, attribute
            """
        ).pl()
        disagreements = con.sql(
            """
            SELECT file_id, attribute, count(DISTINCT value) AS n_values,
                   list(struct_pack(value, resource_id, version, run, line) ORDER BY value, run, line)
                     AS sources
            FROM v GROUP BY file_id, attribute HAVING count(DISTINCT value) > 1
            ORDER BY file_id, attribute
            """
        ).pl()
    finally:
        con.close()
    if affected is not None and prev_path is not None:
        keep = pl.read_parquet(prev_path / "golden.parquet").filter(
            ~pl.col("file_id").is_in(list(affected))
        )
        golden = pl.concat([keep, golden], how="diagonal_relaxed").sort("file_id", "attribute")
        keep_d = pl.read_parquet(prev_path / "disagreements.parquet").filter(
            ~pl.col("file_id").is_in(list(affected))
        )
        disagreements = pl.concat([keep_d, disagreements], how="diagonal_relaxed").sort(
            "file_id", "attribute"
        )
    golden.write_parquet(out / "golden.parquet", row_group_size=65536)
    disagreements.write_parquet(out / "disagreements.parquet", row_group_size=65536)


def _entities(
    cfg: BaseConfig,
    records: pl.DataFrame,
    prev_entities: pl.DataFrame | None,
    events: list[dict[str, Any]],
) -> pl.DataFrame:
    """One row per file: display name, ID, record and source counts, status."""
    active = (
        records.group_by("file_id")
        .agg(
            pl.col("name").filter(pl.col("name").is_not_null()).mode().first().alias("name"),
            pl.col("id").filter(pl.col("id_valid")).first().alias("id"),
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
