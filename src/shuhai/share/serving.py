"""Serving shared rows (共享服务): one version of a resource, filtered, projected and paged by keys.

Filters are PostgREST-like query parameters, ``身份证号=eq.350102…``, ``出生日期=gte.1990-01-01``,
``区县=in.(鼓楼区,台江区)`` — equality, ranges and IN, each value typed by the item's data type and
bound as a parameter (never spliced into SQL). Pages follow the row's stable position (ingest run,
source line): ``after`` is an opaque cursor, so a page costs the same at row 10 and at row 10
million, and rows never shift between pages as offsets do.

Two engines answer the same query: DuckDB over the lake version (any filter, no preparation), or
the version's **serving index** — a SQLite copy with B-tree indexes on the key and ID columns,
built by ``shuhai share index`` — for keyed lookups in well under a millisecond. The index is used
when it exists for the asked version; otherwise the lake is scanned.

Columns the lake stores encrypted (L4, SM4-SIV) stay encrypted in the index: an equality filter on
one is sealed and matched as ciphertext (the encryption is deterministic), a range filter on one is
answered by the lake on decrypted values, and only the rows returned are decrypted.

``changes`` answers subscribers: rows written by the runs after version N, and the keys present at
N that are gone.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from shuhai.catalog.service import find_resource, resource_dict
from shuhai.config import Config
from shuhai.db import session_scope
from shuhai.errors import InvalidInput, NotFound
from shuhai.lake import LakeTable
from shuhai.lake.schema import LINE_COLUMN, RUN_COLUMN, quote_identifier

EQUALITY = {"eq", "ne", "in"}  # operators that work on deterministic ciphertext
OPS = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "in": "IN"}
RESERVED = {"version", "columns", "limit", "after", "format", "since"}
MAX_FILTERS = 20
MAX_IN = 1000
MAX_VALUE = 200
MAX_LIMIT = 10_000
ORDER = (RUN_COLUMN, LINE_COLUMN)
ID_NAMES = re.compile(r"身份证|证件号码|公民身份号码|统一社会信用代码|社会保障号码|信用代码")


@dataclass(frozen=True)
class Filter:
    column: str
    op: str
    values: tuple[Any, ...]


def _bad(code: str, zh: str, en: str, field: str | None = None) -> InvalidInput:
    details = [{"field": field, "error": f"{zh} / {en}"}] if field else None
    return InvalidInput(code, zh, en, details=details)


def _typed(value: str, data_type: str, column: str) -> Any:
    """A filter value as the item's type (422 when it is not one)."""
    if len(value) > MAX_VALUE:
        raise _bad("share.value_too_long", "过滤值过长", "Filter value too long", column)
    try:
        if data_type == "N":
            number = float(value)
            return int(number) if number.is_integer() and "." not in value else number
        if data_type == "Y":
            return float(value)
        if data_type == "D":
            return dt.date.fromisoformat(value)
        if data_type == "T":
            return dt.datetime.fromisoformat(value)
        if data_type == "L":
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return value.lower() in ("true", "1")
    except ValueError as exc:
        raise _bad(
            "share.bad_value",
            f"“{column}”的过滤值“{value}”不是该信息项的类型",
            f"Filter value {value!r} does not fit the type of {column!r}",
            column,
        ) from exc
    return value


def parse_filters(params: list[tuple[str, str]], types: dict[str, str]) -> list[Filter]:
    """``[("身份证号", "eq.350…"), ("年龄", "gte.18")]`` → filters; unknown columns, unknown
    operators and values that do not fit the item's type are 422."""
    out = []
    for column, raw in params:
        if column in RESERVED:
            continue
        if column not in types:
            raise _bad(
                "share.unknown_column",
                f"资源没有信息项“{column}”",
                f"The resource has no item {column!r}",
                column,
            )
        op, sep, text = raw.partition(".")
        if not sep or op not in OPS:
            op, text = "eq", raw  # a bare value means equality
        if op == "in":
            if not (text.startswith("(") and text.endswith(")")):
                raise _bad("share.bad_in", "in 的写法为 in.(a,b)", "Write IN as in.(a,b)", column)
            items = [v.strip() for v in text[1:-1].split(",") if v.strip()]
            if not items or len(items) > MAX_IN:
                raise _bad(
                    "share.bad_in",
                    f"in 需要 1–{MAX_IN} 个值",
                    f"IN takes 1–{MAX_IN} values",
                    column,
                )
            values = tuple(_typed(v, types[column], column) for v in items)
        else:
            values = (_typed(text, types[column], column),)
        out.append(Filter(column, op, values))
    if len(out) > MAX_FILTERS:
        raise _bad("share.too_many_filters", "过滤条件过多", "Too many filters")
    return out


def encode_cursor(run: int, line: int) -> str:
    return base64.urlsafe_b64encode(f"{run}:{line}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        run, line = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
        return int(run), int(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad("share.bad_cursor", "翻页游标无效", "Invalid page cursor", "after") from exc


# --- the serving index ---------------------------------------------------------------------------


def index_path(config: Config, resource_id: int, version: int) -> Path:
    return config.home / "serving" / f"r{resource_id}" / f"v{version}.sqlite"


def has_index(config: Config, resource_id: int, version: int | None = None) -> bool:
    """Whether a query of this version would be answered by its serving index."""
    if version is None:
        version = LakeTable(config.lake_dir, resource_id).latest_version()
        if version is None:
            return False
    return index_path(config, resource_id, version).exists()


def indexed_columns(res: dict[str, Any]) -> list[str]:
    """Key columns, then ID-like columns (身份证号, 统一社会信用代码 …)."""
    names = [it["name"] for it in res["items"]]
    cols = [c for c in res.get("key_columns") or [] if c in names]
    return cols + [c for c in names if ID_NAMES.search(c) and c not in cols]


def build_index(config: Config, resource: str | int, version: int | None = None) -> dict[str, Any]:
    """Copy one lake version into its serving index (SQLite, bulk-loaded through ADBC in Arrow
    batches, so memory stays bounded), with an index per key or ID column. Atomic: readers see
    the old index or the new one."""
    import adbc_driver_sqlite.dbapi as adbc

    with session_scope(config.database_url) as s:
        res = resource_dict(find_resource(s, resource))
    table = LakeTable(config.lake_dir, res["id"])
    if not table.exists():
        raise NotFound("share.no_data", "该资源还没有数据", "The resource has no data yet")
    version = table.latest_version() if version is None else version
    dataset = table.dataset(version)
    path = index_path(config, res["id"], int(version or 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    # one file per build: a build after a commit and one asked by hand may run at once
    tmp = path.with_suffix(f".building-{os.getpid()}-{threading.get_ident()}")
    tmp.unlink(missing_ok=True)
    started = dt.datetime.now(dt.UTC)
    rows = 0
    con = adbc.connect(str(tmp))
    try:
        cur = con.cursor()
        mode = "create"
        for batch in dataset.to_batches(batch_size=200_000):
            batch = _sqlite_friendly(batch)
            cur.adbc_ingest("t", batch, mode=mode)
            mode = "append"
            rows += batch.num_rows
        if mode == "create":  # an empty version: still a table to ask
            cur.adbc_ingest("t", _sqlite_friendly(dataset.schema.empty_table()), mode="create")
        con.commit()
        cur.close()
    finally:
        con.close()
    plain = sqlite3.connect(tmp)
    try:
        # not unique: a merge that updated duplicated keys leaves rows sharing a (run, line)
        plain.execute(f"CREATE INDEX ix_order ON t ({_q(RUN_COLUMN)}, {_q(LINE_COLUMN)})")
        for i, col in enumerate(indexed_columns(res)):
            plain.execute(f"CREATE INDEX ix_{i} ON t ({_q(col)})")
        # what a preview page needs without opening the version: its count, decimal scales
        scales = {f.name: f.type.scale for f in dataset.schema if pa.types.is_decimal(f.type)}
        plain.execute("CREATE TABLE meta (rows INTEGER NOT NULL, scales TEXT NOT NULL)")
        plain.execute("INSERT INTO meta VALUES (?, ?)", (rows, json.dumps(scales)))
        plain.execute("ANALYZE")
        plain.commit()
    finally:
        plain.close()
    os.replace(tmp, path)
    return {
        "resource": res["code"],
        "version": version,
        "rows": rows,
        "indexed": indexed_columns(res),
        "path": str(path),
        "seconds": (dt.datetime.now(dt.UTC) - started).total_seconds(),
    }


def _sqlite_friendly(batch: pa.RecordBatch | pa.Table) -> pa.RecordBatch | pa.Table:
    """Decimals become floats (SQLite has none); dates and times stay ISO text via ADBC."""
    fields, arrays = [], []
    for field, col in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_decimal(field.type):
            col = col.cast(pa.float64())
            field = pa.field(field.name, pa.float64())
        fields.append(field)
        arrays.append(col)
    if isinstance(batch, pa.Table):
        return pa.table(arrays, schema=pa.schema(fields))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


_local = threading.local()


def _sqlite(path: Path) -> sqlite3.Connection:
    """A read-only connection per thread and index file (the eight most recently used)."""
    cache: dict[str, sqlite3.Connection] = getattr(_local, "cons", None) or {}
    _local.cons = cache
    key = str(path)
    con = cache.pop(key, None)
    if con is None:
        con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        while len(cache) >= 8:  # indexes of old versions are removed; so are their handles
            cache.pop(next(iter(cache))).close()
    cache[key] = con  # most recent last
    return con


def _q(name: str) -> str:
    return quote_identifier(name)


# --- queries ----------------------------------------------------------------------------------


@dataclass
class Page:
    frame: pl.DataFrame  # the asked columns (and the two ordering columns)
    version: int
    next_cursor: str | None
    engine: str  # "index" or "lake"


def _where(
    filters: list[Filter],
    after: tuple[int, int] | None,
    runs: list[int] | None,
    engine: str,
    opened: dict[str, str],
    exact: tuple[int, int] | None = None,
) -> tuple[str, list[Any]]:
    """The WHERE clause and its parameters. ``opened``: encrypted column → the SQL that
    decrypts it, used for range filters (equality filters come with sealed values); ``exact``:
    only the rows of this (run, line)."""
    parts, params = [], []
    for f in filters:
        values = [
            v.isoformat() if engine == "index" and isinstance(v, (dt.date, dt.datetime)) else v
            for v in f.values
        ]
        column = opened[f.column] if f.column in opened and f.op not in EQUALITY else _q(f.column)
        if f.op == "in":
            parts.append(f"{column} IN ({', '.join('?' for _ in values)})")
        else:
            parts.append(f"{column} {OPS[f.op]} ?")
        params.extend(values)
    if runs is not None:
        parts.append(f"{_q(RUN_COLUMN)} IN ({', '.join('?' for _ in runs) or 'NULL'})")
        params.extend(runs)
    if after is not None:
        parts.append(f"({_q(RUN_COLUMN)}, {_q(LINE_COLUMN)}) > (?, ?)")
        params.extend(after)
    if exact is not None:
        parts.append(f"{_q(RUN_COLUMN)} = ? AND {_q(LINE_COLUMN)} = ?")
        params.extend(exact)
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


def query(
    config: Config,
    res: dict[str, Any],
    *,
    columns: list[str],
    filters: list[Filter],
    version: int | None = None,
    limit: int = 1000,
    after: str | None = None,
    since: int | None = None,
) -> Page:
    """One page of rows of a version: ``columns`` of the rows matching every filter, after the
    cursor, at most ``limit``; with ``since``, only rows written after version ``since``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad(
            "share.bad_limit", f"limit 应在 1–{MAX_LIMIT}", f"limit must be 1–{MAX_LIMIT}", "limit"
        )
    table = LakeTable(config.lake_dir, res["id"])
    if not table.exists():
        raise NotFound("share.no_data", "该资源还没有数据", "The resource has no data yet")
    latest = table.latest_version() or 0
    version = latest if version is None else version
    if not 0 <= version <= latest:
        raise NotFound("lake.version_not_found", f"版本 {version} 不存在", f"No version {version}")
    runs = _runs_after(table, since, version) if since is not None else None
    cursor = decode_cursor(after) if after else None
    path = index_path(config, res["id"], version)
    engine = "index" if path.exists() else "lake"
    ciphers = table.ciphers(version)
    if any(f.column in ciphers and f.op not in EQUALITY for f in filters):
        engine = "lake"  # ranges on ciphertext mean nothing: compare decrypted values
    # Equality on an encrypted column compares ciphertexts (deterministic encryption), so the
    # index's B-tree and the scan's filter work without decrypting anything but the answer.
    stored = [
        Filter(f.column, f.op, tuple(ciphers[f.column].seal_value(str(v)) for v in f.values))
        if f.column in ciphers and f.op in EQUALITY
        else f
        for f in filters
    ]

    def fetch(after_key: tuple[int, int] | None, exact: tuple[int, int] | None) -> pl.DataFrame:
        rows = f" LIMIT {int(limit) + 1}" if exact is None else ""
        tail = f" ORDER BY {_q(RUN_COLUMN)}, {_q(LINE_COLUMN)}{rows}"
        if engine == "index":
            where, params = _where(stored, after_key, runs, engine, {}, exact)
            select = ", ".join(_q(c) for c in [*columns, *ORDER])
            cur = _sqlite(path).execute(f"SELECT {select} FROM t{where}{tail}", params)
            names = [d[0] for d in cur.description]
            data = cur.fetchall()
            if ciphers:  # the rows' encrypted values, decrypted before they become a frame
                data = _opened(data, names, ciphers)
            return pl.DataFrame(data, schema=names, orient="row", infer_schema_length=None)
        con = duckdb.connect(":memory:")
        try:
            opened = table.register(con, "t", version)
            where, params = _where(stored, after_key, runs, engine, opened, exact)
            select = ", ".join(
                f"{opened[c]} AS {_q(c)}" if c in opened else _q(c) for c in [*columns, *ORDER]
            )
            source = "t__stored" if opened else "t"
            sql = f"SELECT {select} FROM {source}{where}{tail}"
            return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())  # type: ignore[return-value]
        finally:
            con.close()

    frame = fetch(cursor, None)
    next_cursor = None
    if frame.height > limit:
        last = frame.row(limit - 1, named=True)
        edge = (int(last[RUN_COLUMN]), int(last[LINE_COLUMN]))
        after_edge = frame.row(limit, named=True)
        if (int(after_edge[RUN_COLUMN]), int(after_edge[LINE_COLUMN])) == edge:
            # Rows can share a (run, line) — a merge that updated duplicated keys — and the
            # cursor cannot sit between them: the page takes every row of the edge.
            before = frame.head(limit).filter(
                (pl.col(RUN_COLUMN) != edge[0]) | (pl.col(LINE_COLUMN) != edge[1])
            )
            frame = pl.concat([before, fetch(None, edge)], how="vertical_relaxed")
        else:
            frame = frame.head(limit)
        next_cursor = encode_cursor(*edge)
    return Page(frame, version, next_cursor, engine)


def page_from_index(
    config: Config, resource_id: int, version: int | None, *, limit: int, offset: int
) -> dict[str, Any] | None:
    """A preview page (``lake.service.preview``'s answer) read from the version's serving index
    — rows in their stable order (ingest run, source line), the total from the index's own
    count — or None when the version has no index. A B-tree read instead of opening the
    version's Parquet files: what makes a paged API read cost a fraction of a millisecond."""
    table = LakeTable(config.lake_dir, resource_id)
    latest = table.latest_version()
    use = latest if version is None else version
    if use is None:
        return None
    path = index_path(config, resource_id, use)
    if not path.exists():
        return None
    con = _sqlite(path)
    try:
        total, kept = con.execute("SELECT rows, scales FROM meta").fetchone()
        scales = json.loads(kept)
    except sqlite3.OperationalError:  # an index built before it kept these
        total = con.execute("SELECT count(*) FROM t").fetchone()[0]
        schema = table.dataset(use).schema
        scales = {f.name: f.type.scale for f in schema if pa.types.is_decimal(f.type)}
    names = [r[1] for r in con.execute("PRAGMA table_info(t)")]
    columns = [c for c in names if not c.startswith("_")]
    cur = con.execute(
        f"SELECT {', '.join(_q(c) for c in columns)} FROM t "
        f"ORDER BY {_q(RUN_COLUMN)}, {_q(LINE_COLUMN)} LIMIT ? OFFSET ?",
        (int(limit), int(offset)),
    )
    rows = cur.fetchall()
    ciphers = table.ciphers(use)
    if ciphers:
        rows = _opened(rows, columns, ciphers)
    out = _as_lake(columns, rows, scales)
    return {
        "version": use,
        "latest_version": latest,
        "total": int(total),
        "columns": columns,
        "rows": out,
        "limit": limit,
        "offset": offset,
    }


def _as_lake(columns: list[str], rows: list[tuple], scales: dict[str, int]) -> list[dict[str, Any]]:
    """Rows as ``lake.service.preview`` gives them: the index keeps a decimal as a float, the
    preview as its text at the item's scale (dates are ISO text in both)."""
    out = [dict(zip(columns, r, strict=True)) for r in rows]
    for r in out:
        for name, scale in scales.items():
            v = r.get(name)
            if isinstance(v, float):
                r[name] = f"{v:.{scale}f}"
    return out


def _opened(rows: list[tuple], names: list[str], ciphers: dict[str, Any]) -> list[tuple]:
    """Rows from the serving index with their encrypted values decrypted."""
    if not rows:
        return rows
    columns = [list(c) for c in zip(*rows, strict=True)]
    for i, name in enumerate(names):
        if name in ciphers:
            columns[i] = ciphers[name].open_values(columns[i])
    return list(zip(*columns, strict=True))


def _runs_after(table: LakeTable, since: int, version: int) -> list[int]:
    if since < 0 or since > version:
        raise _bad(
            "share.bad_since",
            f"since 应在 0–{version}",
            f"since must be between 0 and {version}",
            "since",
        )
    return [
        int(h["run_id"])
        for h in table.history()
        if h["run_id"] is not None and since < h["version"] <= version
    ]


def deleted_keys(
    config: Config, res: dict[str, Any], since: int, version: int, *, limit: int = MAX_LIMIT
) -> tuple[pl.DataFrame, int]:
    """Key values present at version ``since`` and gone at ``version`` (needs key columns)."""
    keys = [c for c in res.get("key_columns") or []]
    if not keys:
        return pl.DataFrame(), 0
    table = LakeTable(config.lake_dir, res["id"])
    cols = ", ".join(_q(k) for k in keys)
    on = " AND ".join(f"o.{_q(k)} = n.{_q(k)}" for k in keys)
    con = duckdb.connect(":memory:")
    try:
        table.register(con, "o", since)
        table.register(con, "n", version)
        gone = f"SELECT {cols} FROM o WHERE NOT EXISTS (SELECT 1 FROM n WHERE {on})"
        total = con.sql(f"SELECT count(*) FROM ({gone})").fetchall()[0][0]
        frame = pl.from_arrow(con.sql(f"{gone} LIMIT {int(limit)}").to_arrow_table())
    finally:
        con.close()
    return frame, int(total)  # type: ignore[return-value]


__all__ = [
    "Filter",
    "Page",
    "build_index",
    "decode_cursor",
    "deleted_keys",
    "encode_cursor",
    "has_index",
    "index_path",
    "page_from_index",
    "parse_filters",
    "query",
]
