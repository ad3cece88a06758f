"""XLSX reader (python-calamine): a chosen sheet and header row; values become text for typing.

Excel stores big numbers as floats, so an ID number typed into a cell can arrive as 1.10105E+17.
Such values are written in scientific notation, which typing quarantines as precision loss instead
of guessing the lost digits. Trailing empty rows (some files declare a million of them) are skipped
without being materialized as records.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from shuhai.errors import RejectedFile
from shuhai.ingest.readers.csv import _check_header
from shuhai.ingest.source import SourceStream, TextBatch

MAX_EMPTY_RUN = 10_000  # this many empty rows in a row end the sheet


OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")  # compound file: an encrypted workbook, or an old .xls


def check_container(path: Path) -> None:
    """What a clerk can act on before the parser speaks: an encrypted (password-protected)
    workbook is an OLE2 file, not a ZIP; a cut-off upload lacks the ZIP's end record."""
    import zipfile

    with open(path, "rb") as fh:
        head = fh.read(8)
    if head == OLE2:
        raise RejectedFile(
            "ingest.encrypted_xlsx",
            "文件受密码保护（已加密），或是旧版 .xls：请在 Excel 中去掉密码，另存为 .xlsx 后重新提交",
            "The workbook is password-protected (encrypted) or an old .xls: remove the password "
            "in Excel, save it as .xlsx and submit it again",
        )
    if head[:2] == b"PK" and not zipfile.is_zipfile(path):
        raise RejectedFile(
            "ingest.truncated_xlsx",
            "文件不完整（可能上传或复制中断），请重新导出或重新上传",
            "The file is incomplete (the upload or copy was cut off); export or upload it again",
        )


def open_xlsx(
    path: Path,
    *,
    sheet: str | int | None = None,
    header_row: int = 1,
    batch_rows: int = 50_000,
) -> SourceStream:
    from python_calamine import CalamineWorkbook

    path = Path(path)
    hasher = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            hasher.update(chunk)
    if path.stat().st_size == 0:
        raise RejectedFile("ingest.empty_file", "文件为空", "The file is empty")
    check_container(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = wb.sheet_names
        if sheet is None:
            ws = wb.get_sheet_by_index(0)
        elif isinstance(sheet, int) or (
            isinstance(sheet, str) and sheet.isascii() and sheet.isdigit() and sheet not in names
        ):
            ws = wb.get_sheet_by_index(int(sheet) - 1 if int(sheet) > 0 else 0)
        elif sheet in names:
            ws = wb.get_sheet_by_name(sheet)
        else:
            raise RejectedFile(
                "ingest.no_sheet",
                f"工作表“{sheet}”不存在，现有：{'、'.join(names)}",
                f"Sheet {sheet!r} does not exist; sheets: {', '.join(names)}",
            )
        rows = ws.iter_rows()
    except RejectedFile:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine raises several error types
        raise RejectedFile(
            "ingest.bad_xlsx",
            f"XLSX 文件已损坏或不是 XLSX 文件：{str(exc)[:200]}",
            f"The XLSX file is damaged or not an XLSX file: {str(exc)[:200]}",
        ) from exc

    header: list[str] = []
    line = 0
    for raw in rows:
        line += 1
        if line == header_row:
            header = [_text(v) or "" for v in raw]
            break
    while header and not header[-1]:
        header.pop()
    if not header:
        raise RejectedFile(
            "ingest.empty_file", f"第 {header_row} 行没有表头", f"No header in row {header_row}"
        )
    _check_header([h.strip() for h in header])
    header = [h.strip() for h in header]
    stream = SourceStream(
        kind="xlsx", columns=header, batches=iter(()), encoding=None, hasher=hasher
    )
    stream.batches = _batches(rows, header, line, batch_rows)
    stream.description = f"{path}" + (f"#{sheet}" if sheet else "")
    return stream


def _batches(
    rows: Iterator[list[Any]], header: list[str], line: int, batch_rows: int
) -> Iterator[TextBatch]:
    width = len(header)
    buffer: list[list[str | None]] = []
    lines: list[int] = []
    empty_run = 0
    for raw in rows:
        line += 1
        values = [_text(v) for v in raw[:width]]
        if not any(values) and not any(_text(v) for v in raw[width:]):
            empty_run += 1
            if empty_run >= MAX_EMPTY_RUN:
                break
            continue
        empty_run = 0
        values += [None] * (width - len(values))
        buffer.append(values)
        lines.append(line)
        if len(buffer) >= batch_rows:
            yield _to_batch(buffer, lines, header)
            buffer, lines = [], []
    if buffer:
        yield _to_batch(buffer, lines, header)


def _to_batch(buffer: list[list[str | None]], lines: list[int], header: list[str]) -> TextBatch:
    columns = [pa.array(col, pa.string()) for col in zip(*buffer, strict=True)]
    return TextBatch(pa.RecordBatch.from_arrays(columns, names=header), pa.array(lines, pa.int64()))


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)  # large floats keep scientific notation: precision was lost in Excel
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


__all__ = ["open_xlsx"]
