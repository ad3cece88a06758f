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
from shuhai.ingest.source import RejectedRow, SourceStream, TextBatch

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


def _sheet_part(book: Any, position: int) -> str | None:
    """The package part of the ``position``-th sheet (0-based, workbook order)."""
    import xml.etree.ElementTree as ET

    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "p": "http://schemas.openxmlformats.org/package/2006/relationships",
    }
    try:
        sheets = ET.fromstring(book.read("xl/workbook.xml")).findall("m:sheets/m:sheet", ns)
        rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels")).findall("p:Relationship", ns)
    except (KeyError, ET.ParseError):
        return None
    if position >= len(sheets):
        return None
    rid = sheets[position].get(f"{{{ns['r']}}}id")
    target = next((r.get("Target") for r in rels if r.get("Id") == rid), None)
    if not target:
        return None
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def uncomputed_formulas(path: Path, position: int) -> dict[int, list[str]]:
    """Cells holding a formula but no computed value (a workbook saved by a program that does
    not calculate): by row, their references. Reading them would store nothing in their
    place, so their rows are quarantined instead. Sheets without formulas cost one scan."""
    import xml.etree.ElementTree as ET
    import zipfile

    out: dict[int, list[str]] = {}
    with zipfile.ZipFile(path) as book:
        part = _sheet_part(book, position)
        if part is None or part not in book.namelist():
            return out
        with book.open(part) as fh:  # a cheap look for any formula first
            tail = b""
            found = False
            while chunk := fh.read(1 << 20):
                if b"<f" in tail + chunk or b":f" in tail + chunk:
                    found = True
                    break
                tail = chunk[-8:]
        if not found:
            return out
        main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
        with book.open(part) as fh:
            for _event, el in ET.iterparse(fh, events=("end",)):
                if el.tag != f"{main}c":
                    if el.tag == f"{main}row":
                        el.clear()
                    continue
                formula = el.find(f"{main}f")
                value = el.find(f"{main}v")
                inline = el.find(f"{main}is")
                if formula is not None and (value is None or value.text is None) and inline is None:
                    ref = el.get("r") or ""
                    row = int("".join(ch for ch in ref if ch.isdigit()) or 0)
                    out.setdefault(row, []).append(ref)
    return out


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
        position = names.index(ws.name) if ws.name in names else 0
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
    stream.batches = _batches(
        rows, header, line, batch_rows, uncomputed_formulas(path, position), stream.rejects
    )
    stream.description = f"{path}" + (f"#{sheet}" if sheet else "")
    return stream


def _batches(
    rows: Iterator[list[Any]],
    header: list[str],
    line: int,
    batch_rows: int,
    formulas: dict[int, list[str]] | None = None,
    rejects: list[RejectedRow] | None = None,
) -> Iterator[TextBatch]:
    width = len(header)
    formulas = formulas or {}
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
        if line in formulas and rejects is not None:
            cells = "、".join(formulas[line][:10])
            rejects.append(
                RejectedRow(
                    line,
                    "formula_uncomputed",
                    f"单元格 {cells} 是公式但没有计算结果：请在 Excel 中打开、重新计算并保存后重新提交 / "
                    f"cells {cells} hold formulas without computed values: open the file in Excel, "
                    f"recalculate, save and submit again",
                    ",".join(v or "" for v in values)[:2000],
                )
            )
            continue
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
