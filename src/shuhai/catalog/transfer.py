"""Catalog import and export (目录导入导出): the XLSX template departments fill in, and JSON.

The workbook has three sheets — 部门 (departments), 资源 (resources), 信息项 (info items) — with
Chinese headers. Import validates every row of every sheet first and reports all problems with
sheet and row; only a clean file is written, in one transaction (all or nothing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from shuhai.catalog.elements import DATA_TYPES, UPDATE_CYCLES
from shuhai.catalog.service import Catalog
from shuhai.catalog.spec import validate_department, validate_resource
from shuhai.db import Department
from shuhai.errors import InvalidInput, ShuhaiError

DEPARTMENT_COLUMNS = [("name", "部门名称"), ("code", "提供方代码"), ("uscc", "统一社会信用代码")]
RESOURCE_COLUMNS = [
    ("code", "资源代码"),
    ("name", "资源名称"),
    ("department", "提供方代码"),
    ("category", "类"),
    ("item", "项"),
    ("subitem", "目"),
    ("detail", "细目"),
    ("abstract", "摘要"),
    ("format", "资源格式"),
    ("share_type", "共享类型"),
    ("share_condition", "共享条件"),
    ("share_method", "共享方式"),
    ("open_type", "开放属性"),
    ("open_condition", "开放条件"),
    ("update_cycle", "更新周期"),
    ("publish_date", "发布日期"),
    ("related_codes", "关联资源代码"),
    ("key_columns", "主键信息项"),
]
ITEM_COLUMNS = [
    ("resource", "资源名称"),
    ("name", "信息项名称"),
    ("data_type", "数据类型"),
    ("length", "长度"),
    ("scale", "小数位"),
    ("required", "必填"),
    ("description", "描述"),
]


def export_json(catalog: Catalog) -> dict[str, Any]:
    """The whole catalog as one JSON document (``shuhai catalog export x.json``)."""
    return {
        "format": "shuhai-catalog/1",
        "departments": [{k: d[k] for k in ("name", "code", "uscc")} for d in catalog.departments()],
        "resources": [_flat_resource(r) for r in catalog.all()],
    }


def _flat_resource(r: dict[str, Any]) -> dict[str, Any]:
    cls = r["classification"]
    return {
        "code": r["code"],
        "name": r["name"],
        "department": r["department"]["code"],
        "category": cls["category"],
        "item": cls["item"],
        "subitem": cls["subitem"],
        "detail": cls["detail"],
        **{
            k: r[k]
            for k in (
                "abstract",
                "format",
                "share_type",
                "share_condition",
                "share_method",
                "open_type",
                "open_condition",
                "update_cycle",
                "publish_date",
                "related_codes",
                "key_columns",
                "items",
            )
        },
    }


def import_data(catalog: Catalog, data: dict[str, Any], *, update: bool = True) -> dict[str, int]:
    """Validate everything, then write all departments and resources in one transaction."""
    problems: list[dict[str, Any]] = []
    deps = []
    for i, d in enumerate(data.get("departments") or []):
        try:
            deps.append(validate_department(d))
        except ShuhaiError as exc:
            problems += [{"sheet": "部门", "row": d.get("_row", i + 1), **e} for e in exc.details]
    specs = []
    for i, r in enumerate(data.get("resources") or []):
        try:
            specs.append(validate_resource(r))
        except ShuhaiError as exc:
            problems += [
                {"sheet": "资源", "row": r.get("_row", i + 1), "resource": r.get("name"), **e}
                for e in exc.details
            ]
    if problems:
        raise InvalidInput(
            "catalog.import_invalid",
            f"目录文件有 {len(problems)} 处错误，未导入任何内容",
            f"The catalog file has {len(problems)} problems; nothing was imported",
            details=problems,
        )
    with catalog._session() as s:
        known = {d.code for d in s.scalars(select(Department))}
        for spec in deps:
            dep = s.scalar(select(Department).where(Department.code == spec.code))
            if dep is None:
                s.add(Department(name=spec.name, code=spec.code, uscc=spec.uscc))
            else:
                dep.name, dep.uscc = spec.name, spec.uscc
            known.add(spec.code)
        s.flush()
        missing = sorted({sp.department for sp in specs} - known)
        if missing:
            raise InvalidInput(
                "catalog.unknown_department",
                f"提供方代码未登记：{'、'.join(missing)}",
                f"Unregistered department codes: {', '.join(missing)}",
            )
        for spec in specs:
            catalog.register_spec(s, spec, update=update)
    return {"departments": len(deps), "resources": len(specs)}


def import_json(catalog: Catalog, path: Path) -> dict[str, int]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            "catalog.bad_json", f"目录 JSON 无法读取：{exc}", f"Cannot read catalog JSON: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise InvalidInput(
            "catalog.bad_json", "目录 JSON 顶层应为对象", "Catalog JSON must be an object"
        )
    return import_data(catalog, data)


def export_xlsx(catalog: Catalog, path: Path) -> Path:
    """Write the catalog (or, when it is empty, the blank template) as the departments' XLSX."""
    data = export_json(catalog)
    from openpyxl import Workbook  # (only the export needs it: a tenth of a second to import)
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    head_font = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="1F4E79")

    def sheet(
        title: str, columns: list[tuple[str, str]], rows: list[dict[str, Any]], first: bool = False
    ) -> Any:
        ws = wb.active if first else wb.create_sheet()
        ws.title = title
        ws.append([zh for _, zh in columns])
        for cell in ws[1]:
            cell.font, cell.fill = head_font, fill
        for row in rows:
            ws.append([_cell(row.get(key)) for key, _ in columns])
        for i, _ in enumerate(columns):
            ws.column_dimensions[ws.cell(1, i + 1).column_letter].width = 16
        ws.freeze_panes = "A2"
        return ws

    sheet("部门", DEPARTMENT_COLUMNS, data["departments"], first=True)
    ws = sheet("资源", RESOURCE_COLUMNS, data["resources"])
    for key, choices in (
        ("share_type", ["无条件共享", "有条件共享", "不予共享"]),
        ("open_type", ["无条件开放", "有条件开放", "不予开放"]),
        ("update_cycle", sorted(set(UPDATE_CYCLES.values()))),
    ):
        col = [k for k, _ in RESOURCE_COLUMNS].index(key) + 1
        letter = ws.cell(1, col).column_letter
        dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
        dv.add(f"{letter}2:{letter}5000")
        ws.add_data_validation(dv)
    item_rows = [
        {"resource": r["name"], **it} | {"required": "是" if it.get("required") else ""}
        for r in data["resources"]
        for it in r["items"]
    ]
    ws = sheet("信息项", ITEM_COLUMNS, item_rows)
    dv = DataValidation(type="list", formula1='"' + ",".join(DATA_TYPES) + '"', allow_blank=True)
    dv.add("C2:C20000")
    ws.add_data_validation(dv)
    path = Path(path)
    wb.save(path)
    return path


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value


def import_xlsx(catalog: Catalog, path: Path) -> dict[str, int]:
    """Read the filled-in template and import it (see ``import_data``)."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine raises several types for damaged files
        raise InvalidInput(
            "catalog.bad_xlsx",
            f"目录 XLSX 文件已损坏或不是 XLSX：{exc}",
            f"Catalog XLSX is damaged or not XLSX: {exc}",
        ) from exc
    names = wb.sheet_names
    missing = [n for n in ("资源", "信息项") if n not in names]
    if missing:
        raise InvalidInput(
            "catalog.bad_xlsx",
            f"目录 XLSX 缺少工作表：{'、'.join(missing)}",
            f"Catalog XLSX lacks sheets: {', '.join(missing)}",
        )

    def rows(title: str, columns: list[tuple[str, str]]) -> list[dict[str, Any]]:
        if title not in names:
            return []
        data = wb.get_sheet_by_name(title).to_python(skip_empty_area=False)
        if not data:
            return []
        header = [str(h).strip() for h in data[0]]
        index = {zh: header.index(zh) for _, zh in columns if zh in header}
        out = []
        for n, raw in enumerate(data[1:], start=2):
            if all(v in ("", None) for v in raw):
                continue
            row = {
                key: raw[index[zh]] if zh in index and index[zh] < len(raw) else ""
                for key, zh in columns
            }
            row["_row"] = n
            out.append(row)
        return out

    deps = rows("部门", DEPARTMENT_COLUMNS)
    resources = rows("资源", RESOURCE_COLUMNS)
    items: dict[str, list[dict[str, Any]]] = {}
    for it in rows("信息项", ITEM_COLUMNS):
        items.setdefault(str(it.pop("resource")).strip(), []).append(it)
    for r in resources:
        r["items"] = items.get(str(r["name"]).strip(), [])
        for key in ("item", "subitem"):
            if isinstance(r[key], float) and r[key].is_integer():
                r[key] = str(int(r[key]))
    return import_data(catalog, {"departments": deps, "resources": resources})


__all__ = ["export_json", "export_xlsx", "import_data", "import_json", "import_xlsx"]
