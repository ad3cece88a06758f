"""Readers: every source format becomes a ``SourceStream`` of text batches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shuhai.errors import InvalidInput, RejectedFile
from shuhai.ingest.readers.csv import open_csv
from shuhai.ingest.readers.jsonl import open_jsonl
from shuhai.ingest.readers.sql import is_sql_url, open_sql, public_url
from shuhai.ingest.readers.xlsx import check_container, open_xlsx
from shuhai.ingest.source import SourceStream

FORMATS = ("csv", "tsv", "xlsx", "jsonl", "sql")


def detect_format(source: str) -> str:
    if is_sql_url(source):
        return "sql"
    suffix = Path(source).suffix.lower()
    return {
        ".csv": "csv",
        ".txt": "csv",
        ".tsv": "tsv",
        ".xlsx": "xlsx",
        ".xlsm": "xlsx",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "jsonl",
    }.get(suffix, "csv")


def open_source(source: str, *, format: str | None = None, **options: Any) -> SourceStream:
    """Open a file path or database URL. Options: encoding, delimiter, sheet, header_row, table, query."""
    fmt = format or detect_format(source)
    if fmt not in FORMATS:
        raise InvalidInput(
            "ingest.bad_format", f"不支持的格式：{fmt}", f"Unsupported format: {fmt}"
        )
    if fmt == "sql":
        return open_sql(
            source,
            table=options.get("table"),
            query=options.get("query"),
            batch_rows=options.get("batch_rows", 50_000),
        )
    path = Path(source)
    if not path.is_file():
        raise InvalidInput("ingest.no_file", f"文件不存在：{source}", f"No such file: {source}")
    if fmt in ("csv", "tsv"):
        return open_csv(
            path,
            encoding=options.get("encoding"),
            delimiter="\t" if fmt == "tsv" else options.get("delimiter"),
            block_bytes=options.get("block_bytes", 16 << 20),
        )
    if fmt == "xlsx":
        check_container(path)  # encrypted or cut off: said in words a clerk can act on
        with open(path, "rb") as fh:
            magic = fh.read(2)
        if magic != b"PK":
            raise RejectedFile(
                "ingest.bad_xlsx",
                "不是 XLSX 工作簿：请在 Excel 中打开并另存为“Excel 工作簿（.xlsx）”，或按实际格式（如 CSV）提交",
                "Not an XLSX workbook: open it in Excel and save it as an Excel Workbook (.xlsx), "
                "or submit it in its real format (such as CSV)",
            )
        return open_xlsx(
            path, sheet=options.get("sheet"), header_row=options.get("header_row") or 1
        )
    return open_jsonl(path)


__all__ = ["FORMATS", "SourceStream", "detect_format", "open_source", "public_url"]
