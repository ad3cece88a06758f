"""The e-licence base database (电子证照库): licences and certificates departments issue, with
holder (resolved to a person's or enterprise's file), issuer, number, validity and status, and
verification by number (核验: does it exist, is it valid, whose is it)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select

from shuhai.config import Config
from shuhai.db import BaseDatabase, session_scope
from shuhai.entities import sealing, store
from shuhai.entities import standardize as std
from shuhai.entities.config import BaseConfig
from shuhai.entities.records import constant
from shuhai.entities.sealing import Sealing
from shuhai.errors import InvalidInput, NotFound
from shuhai.lake import LINE_COLUMN, RUN_COLUMN, LakeTable

VALID, EXPIRED, REVOKED = "有效", "已过期", "已注销"


def build_licences(
    config: Config, cfg: BaseConfig, out: Path, sealed: Sealing
) -> tuple[dict[str, Any], dict[str, int]]:
    from shuhai.entities.relations import _id_index, attach_files

    persons = _id_index(config, cfg.persons)
    companies = _id_index(config, cfg.enterprises)
    today = dt.date.today()
    frames, versions = [], {}
    for src in cfg.licences:
        table = LakeTable(config.lake_dir, src.resource_id)
        if not table.exists():
            continue
        version = int(table.latest_version() or 0)
        versions[str(src.resource_id)] = version
        cols = [
            c
            for c in (src.number, src.holder, src.name, src.issued, src.valid_until, src.status)
            if c
        ]
        raw = pl.from_arrow(
            table.read(version, columns=[*dict.fromkeys(cols), RUN_COLUMN, LINE_COLUMN])
        )
        assert isinstance(raw, pl.DataFrame)
        n = raw.height
        none = constant(None, n, pl.String)
        holder = raw[src.holder].cast(pl.String)
        holder = (
            std.id_numbers(holder) if src.holder_kind == "person" else holder.str.to_uppercase()
        )
        until_raw = raw[src.valid_until] if src.valid_until else none
        until = std.dates(until_raw)
        f = pl.DataFrame(
            {
                "number": raw[src.number].cast(pl.String).str.strip_chars(),
                "type": constant(src.type, n, pl.String),
                "holder_kind": constant(src.holder_kind, n, pl.String),
                "holder_id": holder,
                "holder_name": raw[src.name].cast(pl.String) if src.name else none,
                "issuer": constant(src.department, n, pl.String),
                "issued": std.dates(raw[src.issued]) if src.issued else none,
                "valid_until": until,
                "long_term": until_raw.cast(pl.String).str.contains("长期").fill_null(False)
                if src.valid_until
                else constant(False, n, pl.Boolean),
                "stated_status": raw[src.status].cast(pl.String) if src.status else none,
                "resource_id": constant(src.resource_id, n, pl.Int32),
                "version": constant(version, n, pl.Int32),
                "run": raw[RUN_COLUMN],
                "line": raw[LINE_COLUMN],
            }
        ).filter(pl.col("number").is_not_null())
        index = persons if src.holder_kind == "person" else companies
        frames.append(attach_files(f, index, "holder_id", "holder_file_id"))
    if not frames:
        raise NotFound(
            "entities.no_licence_data", "证照来源资源还没有数据", "No licence source has data yet"
        )
    lic = pl.concat(frames, how="diagonal_relaxed")
    lic = lic.with_columns(
        pl.when(pl.col("stated_status").str.contains("注销|吊销|撤销").fill_null(False))
        .then(pl.lit(REVOKED))
        .when(pl.col("long_term") | pl.col("valid_until").is_null())
        .then(pl.lit(VALID))
        .when(pl.col("valid_until") < pl.lit(today.isoformat()))
        .then(pl.lit(EXPIRED))
        .otherwise(pl.lit(VALID))
        .alias("status")
    ).drop("long_term")
    # a source that sends one licence twice (a duplicated row) has one licence, not two that
    # a check would have to call ambiguous: the same number, type and holder, the latest row kept
    lic = lic.sort(["resource_id", "run", "line"]).unique(
        subset=["number", "type", "holder_id"], keep="last", maintain_order=True
    )
    store.write_file(out, "licences", lic.sort("number"), sealed)
    counts = {
        "licences": lic.height,
        "valid": int((lic["status"] == VALID).sum()),
        "expired": int((lic["status"] == EXPIRED).sum()),
        "revoked": int((lic["status"] == REVOKED).sum()),
        "holders_resolved": int(lic["holder_file_id"].is_not_null().sum()),
    }
    return counts, versions


def verify(config: Config, number: str, *, holder: str | None = None) -> dict[str, Any]:
    """核验: is there a licence with this number, is it valid, whose is it. ``holder`` (ID number,
    credit code or name) is checked against the holder without disclosing it."""
    from shuhai.entities.build import build_path, last_build

    number = (number or "").strip()
    if not number or len(number) > 100:
        raise InvalidInput("licence.bad_number", "证照编号无效", "Invalid licence number")
    with session_scope(config.database_url) as s:
        paths = []
        for row in s.scalars(select(BaseDatabase).where(BaseDatabase.kind == "licence")):
            b = last_build(s, row.id)
            if b is not None and (build_path(config, b) / "licences.parquet").exists():
                paths.append(build_path(config, b) / "licences.parquet")
    if not paths:
        raise NotFound(
            "licence.no_base", "电子证照库还没有构建", "The e-licence base has not been built"
        )
    con = sealing.connect(*(path.parent for path in paths))
    rows: list[dict[str, Any]] = []
    try:
        for path in paths:  # each build's holders decrypted under its own key
            rows += sealing.rows(
                con,
                f"SELECT number, status, type, issuer, issued, valid_until, holder_kind, "
                f"holder_id, holder_name, holder_file_id "
                f"FROM {store.file_sql(path.parent, 'licences')} WHERE number = ?",
                [number],
            )
    finally:
        con.close()
    if not rows:
        return {"number": number, "exists": False, "valid": False}
    if holder is not None:
        h = holder.strip().upper()
        mine = [
            r
            for r in rows
            if h in {(r["holder_id"] or "").upper(), (r["holder_name"] or "").upper()}
        ]
        rows = mine or rows
        matched = bool(mine)
    if len(rows) > 1:
        # one number, several licences (of other types or holders): answering for one of them
        # would tell someone else's status; the caller narrows it down with ``holder``
        return {
            "number": number,
            "exists": True,
            "valid": False,
            "ambiguous": True,
            "matches": len(rows),
            **({"holder_matches": matched} if holder is not None else {}),
        }
    r = rows[0]
    out: dict[str, Any] = {
        "number": number,
        "exists": True,
        "valid": r["status"] == VALID,
        "status": r["status"],
        "type": r["type"],
        "issuer": r["issuer"],
        "issued": r["issued"],
        "valid_until": r["valid_until"],
        "holder": {
            "kind": r["holder_kind"],
            "file_id": r["holder_file_id"],
            "name": r["holder_name"],  # raw: shuhai.serve.licences masks it for the caller
        },
    }
    if holder is not None:
        out["holder_matches"] = matched
    return out


__all__ = ["build_licences", "verify"]
