"""The XLSX template departments fill in, and JSON: round trips and rejected files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from shuhai.catalog import Catalog, export_json, export_xlsx, import_json, import_xlsx
from shuhai.config import Config
from shuhai.errors import InvalidInput
from shuhai.platform import open_home
from tests.catalog.test_service import _seed


def test_xlsx_round_trip_into_a_new_home(config: Config, tmp_path: Path) -> None:
    cat = Catalog(config)
    _seed(cat)
    path = export_xlsx(cat, tmp_path / "目录.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["部门", "资源", "信息项"]
    assert [c.value for c in wb["资源"][1]][:3] == ["资源代码", "资源名称", "提供方代码"]
    other = Catalog(open_home(Config.from_env({}, home=str(tmp_path / "other"))))
    assert import_xlsx(other, path) == {"departments": 2, "resources": 3}
    assert export_json(other)["resources"] == export_json(cat)["resources"]


def test_json_round_trip(config: Config, tmp_path: Path) -> None:
    cat = Catalog(config)
    _seed(cat)
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(export_json(cat), ensure_ascii=False), encoding="utf-8")
    other = Catalog(open_home(Config.from_env({}, home=str(tmp_path / "other"))))
    import_json(other, path)
    assert export_json(other) == export_json(cat)


def test_template_with_errors_names_every_row_and_imports_nothing(
    config: Config, tmp_path: Path
) -> None:
    cat = Catalog(config)
    _seed(cat)
    path = export_xlsx(cat, tmp_path / "目录.xlsx")
    wb = load_workbook(path)
    ws = wb["资源"]
    ws.cell(2, 4).value = "7"  # 类 must be 1, 2 or 3
    ws.cell(3, 10).value = "随便共享"
    wb.save(path)
    fresh = Catalog(open_home(Config.from_env({}, home=str(tmp_path / "other"))))
    with pytest.raises(InvalidInput) as info:
        import_xlsx(fresh, path)
    rows = {(d["sheet"], d["row"]) for d in info.value.details}
    assert ("资源", 2) in rows and ("资源", 3) in rows
    assert fresh.search("").total == 0 and fresh.departments() == []


def test_damaged_files_are_rejected(config: Config, tmp_path: Path) -> None:
    cat = Catalog(config)
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InvalidInput):
        import_xlsx(cat, bad)
    broken = tmp_path / "bad.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInput):
        import_json(cat, broken)
