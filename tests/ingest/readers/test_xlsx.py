"""XLSX: sheet and header row, Excel's own types, and damaged or hostile workbooks."""

from __future__ import annotations

import datetime as dt
import re
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from shuhai.errors import RejectedFile
from shuhai.ingest.readers import open_source


def book(path: Path, rows: list[list], sheet: str = "数据", title_rows: int = 0) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for i in range(title_rows):
        ws.append([f"标题行 {i + 1}"])
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def rows(stream) -> list[dict]:  # noqa: ANN001
    return [r for tb in stream.batches for r in tb.to_pylist()]


def test_sheet_header_row_and_types(tmp_path: Path) -> None:
    path = book(
        tmp_path / "a.xlsx",
        [
            ["身份证号", "日期", "金额"],
            [110105199001011234.0, dt.date(2024, 1, 2), 12.5],
            ["110105199001011235", "2024/1/3", 7],
        ],
        sheet="人员",
        title_rows=2,
    )
    stream = open_source(str(path), sheet="人员", header_row=3)
    got = rows(stream)
    assert stream.columns == ["身份证号", "日期", "金额"]
    # Excel stored the ID as a float: it stays in scientific notation, so typing can quarantine it
    assert got[0]["身份证号"].startswith("1.10105199") and got[0]["身份证号"].endswith("e+17")
    assert (got[0]["日期"], got[0]["金额"]) == ("2024-01-02", "12.5")
    assert got[1] == {"身份证号": "110105199001011235", "日期": "2024/1/3", "金额": "7"}
    assert list(open_source(str(path), sheet="人员", header_row=3).batches)[
        0
    ].lines.to_pylist() == [4, 5]


def test_unknown_sheet_is_named(tmp_path: Path) -> None:
    path = book(tmp_path / "a.xlsx", [["a"], [1]])
    with pytest.raises(RejectedFile) as info:
        open_source(str(path), sheet="不存在")
    assert "数据" in info.value.message


def test_truncated_xlsx_is_rejected(tmp_path: Path) -> None:
    path = book(tmp_path / "a.xlsx", [["a", "b"]] + [[i, i] for i in range(2000)])
    data = path.read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(RejectedFile) as info:
        rows(open_source(str(cut)))
    assert info.value.code == "ingest.truncated_xlsx" and "重新" in info.value.zh
    assert "EOCD" not in info.value.zh + info.value.en  # no parser jargon


def test_a_password_protected_workbook_says_so(tmp_path: Path) -> None:
    """Excel saves an encrypted workbook as an OLE2 compound file (not a ZIP)."""
    path = tmp_path / "locked.xlsx"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 4096)
    with pytest.raises(RejectedFile) as info:
        open_source(str(path))
    assert info.value.code == "ingest.encrypted_xlsx" and "密码" in info.value.zh
    assert "ZIP" not in info.value.zh


def test_a_million_declared_empty_rows_cost_nothing(tmp_path: Path) -> None:
    path = book(tmp_path / "a.xlsx", [["a", "b"], [1, 2], [3, 4]])
    hostile = tmp_path / "hostile.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(hostile, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                xml = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:B1048576"/>', xml)
                xml = xml.replace(
                    "</sheetData>",
                    '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t></t></is></c></row></sheetData>',
                )
                data = xml.encode()
            dst.writestr(info, data)
    started = time.perf_counter()
    got = rows(open_source(str(hostile)))
    assert got == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    assert time.perf_counter() - started < 10


def test_not_a_zip_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    path.write_text("身份证号,姓名\n1,2\n", encoding="utf-8")
    with pytest.raises(RejectedFile) as info:
        open_source(str(path))
    assert info.value.code == "ingest.bad_xlsx"


def test_formulas_without_computed_values_quarantine_their_rows(tmp_path: Path) -> None:
    """openpyxl (and other programs that do not calculate) save formulas without a value:
    reading them would store empty cells silently, so their rows go to quarantine, named."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "月收入"])
    ws.append(["张三", 100])
    ws.append(["李四", "=B2*2"])
    ws.append(["王五", 300])
    path = tmp_path / "formula.xlsx"
    wb.save(path)
    stream = open_source(str(path))
    got = rows(stream)
    assert [r["姓名"] for r in got] == ["张三", "王五"]
    assert [(r.line, r.reason_code) for r in stream.rejects] == [(3, "formula_uncomputed")]
    assert "B3" in stream.rejects[0].reason
    plain = book(tmp_path / "plain.xlsx", [["a", "b"], [1, 2]])
    assert not list(open_source(str(plain)).rejects)
