"""SQL reader: a table or a SELECT query from any SQLAlchemy URL (SQLite, PostgreSQL, MariaDB…).

Rows are fetched in batches through a server-side cursor where the driver has one, so memory
stays bounded. The run's SHA-256 is taken over the text of the rows read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from shuhai.errors import RejectedFile
from shuhai.ingest.source import SourceStream, TextBatch

DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
}


def public_url(url: str) -> str:
    """The URL with its password hidden (what the run record keeps)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"//[^@/]*@", "//***@", url)


def is_sql_url(source: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+]*://", source)) and not source.startswith(
        ("http://", "https://", "file://")
    )


def open_sql(
    url: str, *, table: str | None = None, query: str | None = None, batch_rows: int = 50_000
) -> SourceStream:
    if bool(table) == bool(query):
        raise RejectedFile(
            "ingest.sql_target",
            "请指定 --table 或 --query 之一",
            "Give exactly one of --table or --query",
        )
    scheme, sep, rest = url.partition("://")
    engine_url = f"{DRIVERS.get(scheme, scheme)}{sep}{rest}"
    try:
        engine = create_engine(engine_url)
        with engine.connect() as probe:
            if table:
                names = inspect(probe).get_table_names()
                if table not in names:
                    raise RejectedFile(
                        "ingest.no_table",
                        f"数据库中没有表 {table}",
                        f"The database has no table {table!r}",
                    )
    except RejectedFile:
        raise
    except (SQLAlchemyError, NoSuchModuleError, ArgumentError, OSError) as exc:
        raise RejectedFile(
            "ingest.sql_connect",
            f"无法连接数据库：{str(exc)[:200]}",
            f"Cannot connect to the database: {str(exc)[:200]}",
        ) from exc
    if query is not None and not re.match(r"^\s*(select|with)\b", query, re.I):
        raise RejectedFile(
            "ingest.sql_query", "只能使用 SELECT 查询", "Only SELECT queries are allowed"
        )
    if table:
        quote = engine.dialect.identifier_preparer.quote
        sql = f"SELECT * FROM {quote(table)}"
    else:
        sql = str(query)
    try:
        conn = engine.connect().execution_options(stream_results=True, max_row_buffer=batch_rows)
        result = conn.execute(text(sql))
    except SQLAlchemyError as exc:
        engine.dispose()
        raise RejectedFile(
            "ingest.sql_query", f"查询失败：{str(exc)[:300]}", f"The query failed: {str(exc)[:300]}"
        ) from exc
    columns = [str(c) for c in result.keys()]  # noqa: SIM118 - a SQLAlchemy result, not a dict
    stream = SourceStream(kind="sql", columns=columns, batches=iter(()))
    stream.batches = _batches(result, conn, engine, columns, batch_rows, stream.hasher)
    stream.description = f"{public_url(url)} :: {table or query}"
    return stream


def _batches(
    result: Any, conn: Any, engine: Any, columns: list[str], batch_rows: int, hasher: Any
) -> Iterator[TextBatch]:
    seen = 0
    try:
        while True:
            try:
                rows = result.fetchmany(batch_rows)
            except SQLAlchemyError as exc:
                raise RejectedFile(
                    "ingest.sql_query",
                    f"读取失败：{str(exc)[:300]}",
                    f"Reading failed: {str(exc)[:300]}",
                ) from exc
            if not rows:
                break
            arrays = []
            for col in zip(*rows, strict=True):
                arr = _text_array(col)
                for buf in arr.buffers():
                    if buf is not None:
                        hasher.update(buf)
                arrays.append(arr)
            batch = pa.RecordBatch.from_arrays(arrays, names=columns)
            yield TextBatch(batch, pa.array(range(seen + 1, seen + 1 + len(rows)), pa.int64()))
            seen += len(rows)
    finally:
        result.close()
        conn.close()
        engine.dispose()


def _text_array(values: tuple[Any, ...]) -> pa.Array:
    """A column of driver values as text: converted by Arrow in C when the column has one type,
    value by value only when the database mixed types in it (SQLite can)."""
    try:
        arr = pa.array(values)
        if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type):
            raise pa.ArrowInvalid("binary")
        if pa.types.is_boolean(arr.type):
            return pa.array(
                [None if v is None else ("true" if v else "false") for v in values], pa.string()
            )
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else _text(v) for v in values], pa.string())


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


__all__ = ["is_sql_url", "open_sql", "public_url"]
