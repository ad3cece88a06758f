"""Links between enterprises and persons (企业与人员关联): legal representatives, shareholders,
employees — each relation row resolved to a file on both sides, with its source line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from sqlalchemy import select

from shuhai.config import Config
from shuhai.db import BaseDatabase, session_scope
from shuhai.entities import sealing, store
from shuhai.entities import standardize as std
from shuhai.entities.config import BaseConfig
from shuhai.lake import LINE_COLUMN, RUN_COLUMN, LakeTable

LINK_SCHEMA = {
    "enterprise_file_id": pl.String,
    "person_file_id": pl.String,
    "person_id": pl.String,
    "role": pl.String,
    "resource_id": pl.Int32,
    "run": pl.Int64,
    "line": pl.Int64,
}


def _id_index(config: Config, base_name: str | None) -> pl.DataFrame | None:
    """``id → file_id`` of a base's last good build (valid IDs only)."""
    if not base_name:
        return None
    from shuhai.entities.service import current
    from shuhai.errors import NotFound

    try:
        _info, path = current(config, base_name)
    except NotFound:
        return None
    return (
        store.scan(path, "records", ["id", "id_valid", "file_id"])
        .filter(pl.col("id_valid"))
        .select("id", "file_id")
        .unique("id")
        .collect()
    )


def attach_files(
    frame: pl.DataFrame, index: pl.DataFrame | None, on: str, alias: str
) -> pl.DataFrame:
    """Add the file id (``alias``) of each ``on`` value through an ``id → file_id`` index
    (null when there is no index or no file)."""
    if index is None:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias(alias))
    return frame.join(index.rename({"id": on, "file_id": alias}), on=on, how="left")


def build_links(config: Config, cfg: BaseConfig, records: pl.DataFrame, out: Path) -> None:
    """Resolve every relation row: the enterprise through this build, the person through the
    person base's last good build."""
    companies = records.filter(pl.col("id_valid")).select("id", "file_id").unique("id")
    persons = _id_index(config, cfg.persons)
    frames = []
    for rel in cfg.relations:
        table = LakeTable(config.lake_dir, rel.resource_id)
        if not table.exists():
            continue
        raw = pl.from_arrow(
            table.read(columns=[rel.enterprise, rel.person, RUN_COLUMN, LINE_COLUMN])
        )
        assert isinstance(raw, pl.DataFrame)
        f = raw.select(
            pl.col(rel.enterprise).cast(pl.String).str.to_uppercase().alias("code"),
            std.id_numbers(raw[rel.person].cast(pl.String)).alias("person_id"),
            pl.lit(rel.role).alias("role"),
            pl.lit(rel.resource_id, dtype=pl.Int32).alias("resource_id"),
            pl.col(RUN_COLUMN).alias("run"),
            pl.col(LINE_COLUMN).alias("line"),
        ).filter(pl.col("code").is_not_null() & pl.col("person_id").is_not_null())
        f = f.join(
            companies.rename({"id": "code", "file_id": "enterprise_file_id"}),
            on="code",
            how="inner",
        )
        f = attach_files(f, persons, "person_id", "person_file_id")
        frames.append(f.select(list(LINK_SCHEMA)))
    links = pl.concat(frames) if frames else pl.DataFrame(schema=LINK_SCHEMA)
    store.write_file(out, "links", links.sort("enterprise_file_id"), sealing.of(out))


def links_for(config: Config, info: dict[str, Any], file_id: str) -> dict[str, Any]:
    """Enterprises a person is linked to, persons an enterprise is linked to, and licences held."""
    from shuhai.entities.build import build_path, last_build

    out: dict[str, Any] = {"enterprises": [], "persons": [], "licences": []}
    with session_scope(config.database_url) as s:
        bases = []
        for row in s.scalars(select(BaseDatabase)):
            b = last_build(s, row.id)
            if b is not None:
                bases.append((row, build_path(config, b)))
    con = sealing.connect(*(path for _row, path in bases))
    try:
        for row, path in bases:
            links = path / "links.parquet"
            if info["kind"] == "enterprise" and row.id == info["id"] and links.exists():
                persons_base = next((r.name for r, _p in bases if r.kind == "person"), "")
                out["persons"] = _rows(
                    con,
                    f"SELECT l.person_file_id, l.person_id, l.role, l.resource_id, l.line, "
                    f"? AS base "
                    f"FROM {store.file_sql(path, 'links')} l WHERE l.enterprise_file_id = ? "
                    f"ORDER BY role",
                    [persons_base, file_id],
                )
            if info["kind"] == "person" and row.kind == "enterprise" and links.exists():
                out["enterprises"] += _rows(
                    con,
                    f"SELECT l.enterprise_file_id, e.name AS enterprise_name, l.role, "
                    f"l.resource_id, l.line, '{row.name}' AS base "
                    f"FROM {store.file_sql(path, 'links')} l "
                    f"LEFT JOIN {store.sql(path, 'entities')} e "
                    f"ON e.file_id = l.enterprise_file_id "
                    f"WHERE l.person_file_id = ? ORDER BY role",
                    [file_id],
                )
            lic = path / "licences.parquet"
            if row.kind == "licence" and lic.exists():
                out["licences"] += _rows(
                    con,
                    f"SELECT number, type, issuer, issued, valid_until, status "
                    f"FROM {store.file_sql(path, 'licences')} WHERE holder_file_id = ? "
                    f"ORDER BY issued",
                    [file_id],
                )
    finally:
        con.close()
    return out


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    return sealing.rows(con, sql, params)


__all__ = ["attach_files", "build_links", "links_for"]
