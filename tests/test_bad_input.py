"""Bad input (each a test): a clear error or quarantine, never a traceback, and a rejected file
leaves the previous version untouched."""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from shuhai.config import Config
from shuhai.errors import RejectedFile
from shuhai.ingest import get_run, ingest, list_runs
from shuhai.lake.service import list_versions, preview
from tests.conftest import write

GOOD = "身份证号,姓名,出生日期,月收入\n110101199001011234,张三,2024-01-02,100\n110101199001011235,李四,2024-01-03,200\n"


@pytest.fixture
def loaded(config: Config, persons: dict, tmp_path: Path) -> dict:
    ingest(config, persons["code"], str(write(tmp_path / "good.csv", GOOD)))
    return persons


def assert_rejected(
    config: Config, res: dict, source: Path, code: str, **options: object
) -> RejectedFile:
    before = list_versions(config, res["id"])
    with pytest.raises(RejectedFile) as info:
        ingest(config, res["code"], str(source), mode="replace", **options)
    err = info.value
    assert err.code == code, err.message
    assert " / " in err.message  # Chinese / English
    assert list_versions(config, res["id"]) == before  # no new version
    data = preview(config, res["id"])
    assert data["total"] == 2 and {r["姓名"] for r in data["rows"]} == {"张三", "李四"}
    last = list_runs(config, res["id"], limit=1)[0]
    assert (
        last["status"] == "rejected" and last["error_code"] == code and last["lake_version"] is None
    )
    return err


def test_empty_file(config: Config, loaded: dict, tmp_path: Path) -> None:
    assert_rejected(config, loaded, write(tmp_path / "e.csv", ""), "ingest.empty_file")


def test_header_only(config: Config, loaded: dict, tmp_path: Path) -> None:
    assert_rejected(
        config,
        loaded,
        write(tmp_path / "h.csv", "身份证号,姓名,出生日期,月收入\n"),
        "ingest.no_rows",
    )


def test_unterminated_quote(config: Config, loaded: dict, tmp_path: Path) -> None:
    src = write(
        tmp_path / "q.csv",
        '身份证号,姓名,出生日期,月收入\n110101199001011236,"王五,2024-01-01,1\n110101199001011237,赵六,2024-01-01,1\n',
    )
    assert_rejected(config, loaded, src, "ingest.unterminated_quote")
    run = list_runs(config, loaded["id"], limit=1)[0]
    assert run["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()  # the whole file


def test_ragged_rows_are_quarantined_with_line(
    config: Config, loaded: dict, tmp_path: Path
) -> None:
    src = write(
        tmp_path / "r.csv",
        GOOD + "110101199001011236,王五\n110101199001011237,赵六,2024-01-01,1,多余\n",
    )
    run = ingest(config, loaded["code"], str(src), mode="replace")
    assert (run["rows_in"], run["rows_loaded"], run["rows_quarantined"]) == (4, 2, 2)
    from shuhai.ingest import quarantine_rows

    lines = sorted(r["_line"] for r in quarantine_rows(config, run["id"])["rows"])
    assert lines == [4, 5]


def test_duplicate_header_names(config: Config, loaded: dict, tmp_path: Path) -> None:
    err = assert_rejected(
        config,
        loaded,
        write(tmp_path / "d.csv", "身份证号,姓名,姓名\n1,2,3\n"),
        "ingest.duplicate_header",
    )
    assert "姓名" in err.message


def test_nul_bytes_quarantine_their_row(config: Config, loaded: dict, tmp_path: Path) -> None:
    body = "".join(f"1101011990010{i:05d},人{i},2024-01-01,1\n" for i in range(300))
    src = write(
        tmp_path / "n.csv",
        "身份证号,姓名,出生日期,月收入\n" + body + "110101199001019999,坏\x00名,2024-01-01,1\n",
    )
    run = ingest(config, loaded["code"], str(src), mode="replace")
    assert run["rows_loaded"] == 300 and run["rows_quarantined"] == 1
    assert run["quarantine"][0]["reason_code"] == "nul_byte"


def test_binary_data_named_csv(config: Config, loaded: dict, tmp_path: Path) -> None:
    src = tmp_path / "b.csv"
    src.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
    assert_rejected(config, loaded, src, "ingest.binary_file")


def test_gbk_declared_as_utf8(config: Config, loaded: dict, tmp_path: Path) -> None:
    err = assert_rejected(
        config,
        loaded,
        write(tmp_path / "g.csv", GOOD, "gbk"),
        "ingest.bad_encoding",
        encoding="utf-8",
    )
    assert "GBK" in err.message


def test_mixed_line_endings(config: Config, loaded: dict, tmp_path: Path) -> None:
    src = write(
        tmp_path / "m.csv",
        GOOD.replace("\n", "\r\n", 2) + "110101199001011236,王五,2024-01-04,300\r\n",
    )
    run = ingest(config, loaded["code"], str(src), mode="replace")
    assert (run["rows_in"], run["rows_loaded"], run["rows_quarantined"]) == (3, 3, 0)
    assert {r["姓名"] for r in preview(config, loaded["id"])["rows"]} == {"张三", "李四", "王五"}


def test_truncated_xlsx(config: Config, loaded: dict, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "出生日期", "月收入"])
    for i in range(3000):
        ws.append([f"1101011990010{i:05d}", f"人{i}", "2024-01-01", i])
    full = tmp_path / "full.xlsx"
    wb.save(full)
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
    assert_rejected(config, loaded, cut, "ingest.truncated_xlsx")


def test_xlsx_declaring_a_million_empty_rows(config: Config, loaded: dict, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "出生日期", "月收入"])
    ws.append(["110101199001011240", "孙七", "2024-01-05", 5])
    plain = tmp_path / "plain.xlsx"
    wb.save(plain)
    hostile = tmp_path / "hostile.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(hostile, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                xml = re.sub(
                    r'<dimension ref="[^"]*"/>', '<dimension ref="A1:D1048576"/>', data.decode()
                )
                data = xml.replace(
                    "</sheetData>",
                    '<row r="1048576"><c r="D1048576" t="inlineStr"><is><t></t></is></c></row></sheetData>',
                ).encode()
            dst.writestr(info, data)
    run = ingest(config, loaded["code"], str(hostile), mode="replace")
    assert (run["rows_in"], run["rows_loaded"]) == (1, 1)


def test_csv_with_a_5mb_cell(config: Config, loaded: dict, tmp_path: Path) -> None:
    src = write(
        tmp_path / "big.csv",
        GOOD + "110101199001011236," + "长" * (5 * 1024 * 1024 // 3) + ",2024-01-01,1\n",
    )
    run = ingest(config, loaded["code"], str(src), mode="replace")
    assert (run["rows_in"], run["rows_loaded"], run["rows_quarantined"]) == (3, 2, 1)
    reasons = {q["reason_code"] for q in run["quarantine"]}
    assert reasons == {"cell_too_large", "too_long"}


def test_a_fault_mid_write_leaves_no_version_and_no_parts(
    config: Config, loaded: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection (the one place a mock is right): the typer dies on the second block."""
    from shuhai.ingest import typing as typing_mod

    body = "".join(f"1101011990{i:08d},人{i},2024-01-01,1\n" for i in range(40000))
    src = write(tmp_path / "many.csv", "身份证号,姓名,出生日期,月收入\n" + body)
    config.block_bytes = 256 * 1024
    real = typing_mod.Typer.apply
    calls = {"n": 0}

    def dying(self, batch, lines, absent=frozenset()):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk unplugged")
        return real(self, batch, lines, absent)

    monkeypatch.setattr(typing_mod.Typer, "apply", dying)
    lake_dir = config.lake_dir / f"r{loaded['id']}"
    parts_before = sorted(p.name for p in lake_dir.glob("*.parquet"))
    with pytest.raises(Exception, match="disk unplugged"):
        ingest(config, loaded["code"], str(src), mode="replace")
    assert sorted(p.name for p in lake_dir.glob("*.parquet")) == parts_before
    assert preview(config, loaded["id"])["total"] == 2
    run = list_runs(config, loaded["id"], limit=1)[0]
    assert run["status"] == "failed" and "disk unplugged" in run["error"]
    assert get_run(config, run["id"])["lake_version"] is None
