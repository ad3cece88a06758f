"""Rows of open datasets by API (数据接口): CKAN's ``datastore_search`` and
``datastore_search_sql`` over a lake version, through the policy point.

Only the items a dataset opens are visible. An item masked for the public can be filtered only
by equality with one value (a lookup of a value the caller holds, counted against a rate
limit), never sorted, searched or selected in SQL — any of those would let a caller recover
the hidden value. SQL runs on a DuckDB connection that sees the opened, unmasked items of the
datasets it names and nothing else: no files, no network, no settings, one SELECT, a time
limit.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import re
import threading
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from shuhai.access import limits
from shuhai.access.policy import Decision, Viewer, apply, authorize, record
from shuhai.config import Config
from shuhai.errors import Forbidden, InvalidInput, NotFound, ShuhaiError
from shuhai.lake import LakeTable
from shuhai.lake.schema import LINE_COLUMN, RUN_COLUMN, quote_identifier
from shuhai.open.datasets import count_use, get_dataset
from shuhai.open.downloads import opened_columns
from shuhai.share.serving import MAX_VALUE, _typed

MAX_LIMIT = 32_000  # CKAN's own ceiling for one page
DEFAULT_LIMIT = 100
MAX_OFFSET = 10_000_000
SQL_SECONDS = 10.0  # a datastore_search_sql statement is interrupted after this
SQL_ROWS = 32_000
CKAN_TYPES = {
    "C": "text",
    "N": "numeric",
    "Y": "numeric",
    "D": "date",
    "T": "timestamp",
    "L": "bool",
}


class QueryError(InvalidInput):
    """A query that cannot run (CKAN's ``Search Query Error``)."""


def _bad(code: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(code, zh, en)


def _resolve(config: Config, resource_id: str) -> dict[str, Any]:
    """A dataset from a CKAN resource id: the dataset's name, or name.format."""
    if not isinstance(resource_id, str) or not resource_id:
        raise _bad("open.resource_id_required", "缺少 resource_id", "resource_id is required")
    name = (
        resource_id.rsplit(".", 1)[0]
        if re.search(r"\.(csv|xlsx|json|parquet)$", resource_id)
        else resource_id
    )
    return get_dataset(config, name)


def _decision(config: Config, viewer: Viewer, dataset: dict[str, Any], action: str) -> Decision:
    return authorize(
        config,
        viewer,
        dataset["resource"]["id"],
        action=action,
        detail={"dataset": dataset["name"]},
        record_ok=False,
    )


def _table(config: Config, dataset: dict[str, Any]) -> tuple[LakeTable, int]:
    table = LakeTable(config.lake_dir, dataset["resource"]["id"])
    if not table.exists() or table.latest_version() is None:
        raise NotFound("open.no_data", "该数据集还没有数据", "The dataset has no data yet")
    return table, int(table.latest_version() or 0)


def _fields_of(dataset: dict[str, Any], columns: list[str]) -> list[dict[str, Any]]:
    types = {f["name"]: f for f in dataset["fields"]}
    out = [{"id": "_id", "type": "int"}]
    for c in columns:
        f = types.get(c, {})
        kind = CKAN_TYPES.get(f.get("data_type", "C"), "text")
        if kind == "numeric" and f.get("data_type") == "N" and not f.get("scale"):
            kind = "int"
        out.append({"id": c, "type": kind, "info": {"label": c, "notes": f.get("description", "")}})
    return out


def _json_value(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v) if v == v.to_integral_value() or abs(v) < 10**15 else str(v)
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return None
    return v


def _parse_sort(sort: str | None, allowed: list[str], masked: set[str]) -> list[tuple[str, str]]:
    if not sort:
        return []
    if not isinstance(sort, str) or len(sort) > 500:
        raise _bad(
            "open.bad_sort", "sort 应为“列 asc, 列 desc”", "sort is 'column asc, column desc'"
        )
    out = []
    for part in sort.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r'"?(.+?)"?(?:\s+(asc|desc))?', part, flags=re.I)
        column, direction = (m.group(1), (m.group(2) or "asc").lower()) if m else (part, "asc")
        if column not in allowed:
            raise _bad("open.unknown_field", f"未知字段：{column}", f"Unknown field {column!r}")
        if column in masked:
            raise Forbidden(
                "open.masked_sort",
                f"脱敏信息项不能排序：{column}",
                f"A masked item cannot be sorted on: {column}",
            )
        out.append((column, direction))
    return out


def _parse_filters(
    filters: Any, dataset: dict[str, Any], allowed: list[str], masked: set[str]
) -> list[tuple[str, list[Any]]]:
    if filters in (None, "", {}):
        return []
    if not isinstance(filters, dict):
        raise _bad("open.bad_filters", "filters 应为 JSON 对象", "filters must be a JSON object")
    if len(filters) > 20:
        raise _bad("open.too_many_filters", "过滤条件过多", "Too many filters")
    types = {f["name"]: f["data_type"] for f in dataset["fields"]}
    out = []
    for column, value in filters.items():
        if column not in allowed:
            raise _bad("open.unknown_field", f"未知字段：{column}", f"Unknown field {column!r}")
        values = value if isinstance(value, list) else [value]
        if not values or len(values) > 1000:
            raise _bad("open.bad_filters", "每个过滤条件 1–1000 个值", "1–1000 values per filter")
        typed = []
        for v in values:
            if isinstance(v, dict | list) or v is None:
                raise _bad(
                    "open.bad_filters", f"“{column}”的过滤值无效", f"Bad value for {column!r}"
                )
            text = str(v).lower() if isinstance(v, bool) else str(v)
            if len(text) > MAX_VALUE:
                raise _bad("open.bad_filters", "过滤值过长", "Filter value too long")
            typed.append(_typed(text, types.get(column, "C"), column))
        if column in masked and len(typed) != 1:
            raise Forbidden(
                "open.masked_filter",
                f"脱敏信息项只能按单个值等值查询：{column}",
                f"A masked item can be filtered only by equality with one value: {column}",
            )
        out.append((column, typed))
    return out


def datastore_search(
    config: Config,
    viewer: Viewer,
    resource_id: str,
    *,
    filters: Any = None,
    q: Any = None,
    fields: Any = None,
    sort: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    include_total: bool = True,
    records_format: str = "objects",
    distinct: bool = False,
) -> dict[str, Any]:
    """One page of a dataset's rows, CKAN's way: ``filters`` ({item: value or [values]}), ``q``
    (text in any searchable item, or {item: text}), ``fields``, ``sort``, ``limit``/``offset``,
    the total when asked, records as objects, lists, CSV or TSV."""
    dataset = _resolve(config, resource_id)
    decision = _decision(config, viewer, dataset, "open.api")
    try:
        table, version = _table(config, dataset)
        data = table.dataset(version)
        allowed = opened_columns(dataset, decision, data.schema.names)
        masked = set(decision.masking)
        if not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
            raise _bad(
                "open.bad_limit", f"limit 应在 0–{MAX_LIMIT}", f"limit must be 0–{MAX_LIMIT}"
            )
        if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
            raise _bad("open.bad_offset", "offset 应为非负整数", "offset must be ≥ 0")
        if records_format not in ("objects", "lists", "csv", "tsv"):
            raise _bad(
                "open.bad_records_format",
                "records_format 应为 objects、lists、csv 或 tsv",
                "records_format is objects, lists, csv or tsv",
            )
        if fields in (None, "", []):
            wanted = allowed
        else:
            wanted = (
                fields if isinstance(fields, list) else [f.strip() for f in str(fields).split(",")]
            )
            unknown = [f for f in wanted if f not in allowed and f != "_id"]
            if unknown:
                raise _bad(
                    "open.unknown_field",
                    f"未知字段：{'、'.join(map(str, unknown))}",
                    f"Unknown fields: {', '.join(map(str, unknown))}",
                )
            wanted = [f for f in wanted if f != "_id"]
        parsed = _parse_filters(filters, dataset, allowed, masked)
        order = _parse_sort(sort, allowed, masked)
        if any(c in masked for c, _v in parsed):  # a lookup by a masked item: counted
            limits.hit(
                config, f"masked:{viewer.kind}:{viewer.name}", config.masked_lookups_per_minute
            )
        where, params = [], []
        for column, values in parsed:
            if len(values) == 1:
                where.append(f"{quote_identifier(column)} = ?")
            else:
                where.append(f"{quote_identifier(column)} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
        searchable = [
            f["name"]
            for f in dataset["fields"]
            if f["name"] in allowed and f["name"] not in masked and f["data_type"] == "C"
        ]
        if q not in (None, "", {}):
            if isinstance(q, dict):
                for column, text in q.items():
                    if column not in searchable:
                        raise _bad(
                            "open.unsearchable_field",
                            f"不能按该字段全文检索：{column}",
                            f"Not a searchable field: {column}",
                        )
                    where.append(f"contains({quote_identifier(column)}, ?)")
                    params.append(str(text)[:MAX_VALUE])
            else:
                words = [w for w in str(q)[:MAX_VALUE].split() if w][:10]
                for w in words:
                    if not searchable:
                        where.append("false")
                        break
                    where.append(
                        "("
                        + " OR ".join(f"contains({quote_identifier(c)}, ?)" for c in searchable)
                        + ")"
                    )
                    params.extend([w] * len(searchable))
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        # Without a sort the rows come in the version's stored order (its files in the log's
        # order, each in line order: DuckDB preserves it), so a page stops reading once it is
        # full; a sort is made total by the rows' (run, line).
        ordering = ", ".join(f"{quote_identifier(c)} {d}" for c, d in order)
        if ordering:
            ordering = (
                f" ORDER BY {ordering}, {quote_identifier(RUN_COLUMN)}, "
                f"{quote_identifier(LINE_COLUMN)}"
            )
        con = duckdb.connect(":memory:")
        try:
            table.scan_view(con, "t", data)
            select = ", ".join(quote_identifier(c) for c in [*wanted, RUN_COLUMN, LINE_COLUMN])
            head = "SELECT DISTINCT" if distinct else "SELECT"
            page = con.sql(
                f"{head} {select} FROM t{clause}{ordering} LIMIT {int(limit)} OFFSET {int(offset)}",
                params=params,
            ).pl()
            total = (
                int(con.execute(f"SELECT count(*) FROM t{clause}", params).fetchall()[0][0])
                if include_total
                else None
            )
        except duckdb.Error as exc:
            raise QueryError(
                "open.query_failed", "查询无法执行", f"The query failed: {str(exc)[:200]}"
            ) from None
        finally:
            con.close()
    except ShuhaiError as exc:
        record(
            config,
            viewer,
            "open.api",
            dataset["resource"]["code"],
            outcome="refused",
            detail=exc.code,
        )
        raise
    ids = (page[RUN_COLUMN].cast(pl.Int64) * (1 << 32) + page[LINE_COLUMN].cast(pl.Int64)).to_list()
    shown = apply(page.select(wanted), decision).select(wanted)
    record(
        config,
        viewer,
        "open.api",
        dataset["resource"]["code"],
        detail={
            "dataset": dataset["name"],
            "version": version,
            "rows": shown.height,
            "filters": [c for c, _v in parsed],
        },
    )
    count_use(config, dataset["id"], "api_calls")
    base = f"/api/3/action/datastore_search?resource_id={dataset['name']}"
    out: dict[str, Any] = {
        "resource_id": resource_id,
        "fields": [f for f in _fields_of(dataset, wanted)],
        "records_format": records_format,
        "limit": limit,
        "offset": offset,
        "include_total": include_total,
        "_links": {"start": base, "next": f"{base}&offset={offset + limit}"},
        "version": version,
    }
    if filters:
        out["filters"] = filters
    if q:
        out["q"] = q
    if sort:
        out["sort"] = sort
    if include_total:
        out["total"] = total
        out["total_was_estimated"] = False
    rows = [[_json_value(v) for v in r] for r in shown.iter_rows()]
    if records_format == "objects":
        out["records"] = [
            {"_id": i, **dict(zip(wanted, r, strict=True))} for i, r in zip(ids, rows, strict=True)
        ]
    elif records_format == "lists":
        out["records"] = [[i, *r] for i, r in zip(ids, rows, strict=True)]
    else:
        buf = io.BytesIO()
        shown.insert_column(0, pl.Series("_id", ids)).write_csv(
            buf, include_header=False, separator="," if records_format == "csv" else "\t"
        )
        out["records"] = buf.getvalue().decode()
    return out


def _views(
    config: Config, viewer: Viewer, con: duckdb.DuckDBPyConnection, names: set[str]
) -> list[dict[str, Any]]:
    """Register each named dataset as its opened, unmasked items only."""
    used = []
    for name in sorted(names):
        dataset = _resolve(config, name)
        decision = _decision(config, viewer, dataset, "open.sql")
        table, version = _table(config, dataset)
        data = table.dataset(version)
        plain = [
            c
            for c in opened_columns(dataset, decision, data.schema.names)
            if c not in decision.masking
        ]
        if any(c in table.encrypted_columns(version) for c in plain):
            plain = [c for c in plain if c not in table.encrypted_columns(version)]
        if not plain:
            raise Forbidden(
                "open.sql_no_columns",
                f"数据集 {name} 没有可用 SQL 查询的信息项",
                f"Dataset {name} has no item SQL can read",
            )
        import pyarrow.dataset as pads

        view = pads.dataset(
            data.files, schema=pa.schema([data.schema.field(c) for c in plain]), format="parquet"
        )
        con.register(name, view)
        used.append({"dataset": dataset, "version": version, "columns": plain})
    return used


def datastore_search_sql(
    config: Config, viewer: Viewer, sql: str, *, seconds: float = SQL_SECONDS
) -> dict[str, Any]:
    """One read-only SELECT over open datasets, named by their resource ids in double quotes
    (``SELECT … FROM "dataset-name"``), on the opened unmasked items; at most ``SQL_ROWS`` rows,
    interrupted after ``seconds``."""
    if not isinstance(sql, str) or not sql.strip():
        raise _bad("open.sql_required", "缺少 sql", "sql is required")
    if len(sql) > 10_000:
        raise _bad(
            "open.sql_too_long", "SQL 过长（至多 10,000 字符）", "SQL longer than 10,000 characters"
        )
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(
            "open.sql_syntax", "SQL 语法错误", f"SQL syntax error: {str(exc)[:200]}"
        ) from None
    if len(statements) != 1:
        raise QueryError("open.sql_one_statement", "只能提交一条语句", "Send exactly one statement")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise Forbidden(
            "open.sql_read_only", "只允许 SELECT 查询", "Only SELECT queries are allowed"
        )
    query = statements[0].query.strip().rstrip(";")
    con = duckdb.connect(":memory:")
    names: set[str] = set()
    try:
        try:
            names = set(con.get_table_names(query))
        except duckdb.Error as exc:
            raise QueryError(
                "open.sql_syntax", "SQL 无法解析", f"SQL cannot be parsed: {str(exc)[:200]}"
            ) from None
        if not names:
            raise QueryError(
                "open.sql_no_table", "查询未引用任何数据集", "The query names no dataset"
            )
        used = _views(config, viewer, con, names)
        for setting in (
            "SET enable_external_access = false",
            "SET memory_limit = '1GB'",
            "SET threads = 2",
            "SET lock_configuration = true",
        ):
            con.execute(setting)
        timer = threading.Timer(seconds, con.interrupt)
        timer.start()
        try:
            result = con.sql(f"SELECT * FROM ({query}) AS q LIMIT {SQL_ROWS + 1}")
            if result is None:
                raise Forbidden(
                    "open.sql_read_only", "只允许 SELECT 查询", "Only SELECT queries are allowed"
                )
            arrow = result.to_arrow_table()
        except duckdb.InterruptException:
            raise QueryError(
                "open.sql_timeout",
                f"查询超过 {seconds:g} 秒被中止，请缩小范围",
                f"The query ran longer than {seconds:g} s and was stopped",
            ) from None
        except duckdb.Error as exc:
            raise QueryError(
                "open.sql_failed", "查询无法执行", f"The query failed: {str(exc)[:300]}"
            ) from None
        finally:
            timer.cancel()
    except ShuhaiError as exc:
        record(
            config, viewer, "open.sql", ",".join(sorted(names)), outcome="refused", detail=exc.code
        )
        raise
    finally:
        con.close()
    truncated = arrow.num_rows > SQL_ROWS
    arrow = arrow.slice(0, SQL_ROWS)
    for u in used:
        record(
            config,
            viewer,
            "open.sql",
            u["dataset"]["resource"]["code"],
            detail={
                "dataset": u["dataset"]["name"],
                "version": u["version"],
                "rows": arrow.num_rows,
                "sql": sql[:500],
            },
        )
        count_use(config, u["dataset"]["id"], "api_calls")
    columns = arrow.schema.names
    records = (
        [
            {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
            for row in zip(*(arrow.column(c).to_pylist() for c in columns), strict=True)
        ]
        if columns
        else []
    )
    return {
        "sql": sql,
        "fields": [{"id": c, "type": _duck_type(arrow.schema.field(c).type)} for c in columns],
        "records": records,
        "records_truncated": truncated,
    }


def _duck_type(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_boolean(t):
        return "bool"
    return "text"
