"""Source files as departments deliver them: UTF-8 CSV (with or without BOM), GBK CSV, XLSX,
JSON lines, and a SQLite "department system" database."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl import Workbook

DATE_STYLES = {
    "iso": "%Y-%m-%d",
    "slash": "%Y/%-m/%-d",
    "compact": "%Y%m%d",
    "chinese": "%Y年%-m月%-d日",
}


def as_text(frame: pl.DataFrame, style: str) -> pl.DataFrame:
    """Every column as text, dates in the department's style."""
    fmt = DATE_STYLES[style]
    return frame.with_columns(
        pl.col(c).dt.strftime(fmt) if frame.schema[c] == pl.Date else pl.col(c).cast(pl.String)
        for c in frame.columns
        if not c.startswith("__")
    )


def write_csv(
    frame: pl.DataFrame,
    path: Path,
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    ragged: list[str] | None = None,
) -> str:
    text = frame.write_csv()
    if ragged:
        text += "\n".join(ragged) + "\n"
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        encoding = "gb18030"  # a character outside GBK: departments' systems then use GB18030
        data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return encoding


def write_xlsx(
    frame: pl.DataFrame,
    path: Path,
    items: list[dict[str, Any]],
    excel_numbers: set[tuple[int, str]],
) -> None:
    types = {it["name"]: it["data_type"] for it in items}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("数据")
    ws.append(frame.columns)
    columns = frame.columns
    for r, row in enumerate(frame.iter_rows()):
        out: list[Any] = []
        for c, value in zip(columns, row, strict=True):
            if value is None:
                out.append(None)
            elif (r, c) in excel_numbers:
                out.append(float(value))  # what Excel does to a long number typed into a cell
            elif types.get(c) in ("N", "Y"):
                try:
                    out.append(float(value) if "." in value else int(value))
                except ValueError:
                    out.append(value)
            elif types.get(c) == "D":
                try:
                    out.append(
                        dt.datetime.strptime(value, "%Y/%m/%d").date()
                        if "/" in value
                        else dt.date.fromisoformat(value)
                    )
                except ValueError:
                    out.append(value)
            else:
                out.append(value)
        ws.append(out)
    wb.save(path)


def write_sqlite(frame: pl.DataFrame, path: Path, table: str) -> None:
    con = sqlite3.connect(path)
    try:
        cols = ", ".join(f'"{c}" TEXT' for c in frame.columns)
        con.execute(f'DROP TABLE IF EXISTS "{table}"')
        con.execute(f'CREATE TABLE "{table}" ({cols})')
        marks = ", ".join("?" for _ in frame.columns)
        con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', frame.iter_rows())
        con.commit()
    finally:
        con.close()


def write_jsonl(frame: pl.DataFrame, path: Path) -> None:
    frame.write_ndjson(path)


__all__ = ["as_text", "write_csv", "write_jsonl", "write_sqlite", "write_xlsx"]
