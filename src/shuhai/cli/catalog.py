"""Settings, departments and the resource catalog (资源目录)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shuhai.cli.common import _audited, _config, _load_mapping, _table, app, console, friendly
from shuhai.config import Config


def _catalog():  # type: ignore[no-untyped-def]
    """``shuhai.catalog``, imported when a catalog command runs (``shuhai --help`` stays quick)."""
    from shuhai import catalog

    return catalog


department_app = typer.Typer(help="部门 / Departments", no_args_is_help=True)
catalog_app = typer.Typer(help="资源目录 / Resource catalog", no_args_is_help=True)
config_app = typer.Typer(help="配置 / Settings", no_args_is_help=True)
app.add_typer(department_app, name="department")
app.add_typer(catalog_app, name="catalog")
app.add_typer(config_app, name="config")


@config_app.command("show")
@friendly
def config_show() -> None:
    """显示所有配置项 / Show every setting.  Example: shuhai config show"""
    console.print(_table(Config.from_env().describe(), ["name", "value", "help"]))


@department_app.command("add")
@friendly
def department_add(
    name: str, code: str, uscc: str = typer.Option(None, help="统一社会信用代码")
) -> None:
    """登记部门 / Register a department.  Example: shuhai department add 市公安局 GA"""
    dep = _catalog().Catalog(_config()).add_department({"name": name, "code": code, "uscc": uscc})
    console.print(f"已登记 / Registered: {dep['name']} ({dep['code']})")


@department_app.command("list")
@friendly
def department_list() -> None:
    """列出部门 / List departments.  Example: shuhai department list"""
    console.print(
        _table(_catalog().Catalog(_config()).departments(), ["code", "name", "uscc", "resources"])
    )


@catalog_app.command("register")
@friendly
def catalog_register(
    path: Path, update: bool = typer.Option(False, help="已存在时更新 / update if it exists")
) -> None:
    """登记资源（JSON 或 YAML 文件）/ Register a resource from JSON or YAML.

    Example: shuhai catalog register persons.yaml
    """
    res = _catalog().Catalog(_config()).register(_load_mapping(path), update=update)
    _audited("resource.register", res["code"], {"update": update, "file": path.name})
    console.print(f"已登记 / Registered: {res['name']}  [bold]{res['code']}[/]")


@catalog_app.command("list")
@friendly
def catalog_list(
    q: str = typer.Argument("", help="检索词 / search words"),
    department: str = typer.Option(None),
    share_type: str = typer.Option(None),
    update_cycle: str = typer.Option(None),
    format: str = typer.Option(None),
    page: int = 1,
    size: int = 50,
) -> None:
    """检索资源目录 / Search the catalog.  Example: shuhai catalog list 营业执照"""
    result = (
        _catalog()
        .Catalog(_config())
        .search(
            q,
            department=department,
            share_type=share_type,
            update_cycle=update_cycle,
            format=format,
            page=page,
            size=size,
        )
    )
    rows = [dict(r, department=r["department"]["name"]) for r in result.items]
    console.print(
        _table(
            rows,
            ["id", "code", "name", "department", "share_type", "update_cycle"],
            title=f"共 {result.total} 条 / {result.total} found",
        )
    )


@catalog_app.command("show")
@friendly
def catalog_show(resource: str) -> None:
    """显示资源详情 / Show a resource.  Example: shuhai catalog show 101001/GA-00001"""
    console.print_json(json.dumps(_catalog().Catalog(_config()).get(resource), ensure_ascii=False))


@catalog_app.command("import")
@friendly
def catalog_import(path: Path) -> None:
    """导入目录（XLSX 模板或 JSON）/ Import the catalog from the XLSX template or JSON.

    Example: shuhai catalog import 目录.xlsx
    """
    catalog = _catalog().Catalog(_config())
    counts = (
        _catalog().import_xlsx(catalog, path)
        if path.suffix.lower() in (".xlsx", ".xlsm")
        else _catalog().import_json(catalog, path)
    )
    console.print(
        f"已导入 / Imported: {counts['departments']} 个部门 departments, {counts['resources']} 个资源 resources"
    )


@catalog_app.command("export")
@friendly
def catalog_export(path: Path) -> None:
    """导出目录（.xlsx 或 .json）；空目录导出为空白模板 / Export the catalog (empty: the blank template).

    Example: shuhai catalog export 目录.xlsx
    """
    catalog = _catalog().Catalog(_config())
    if path.suffix.lower() == ".json":
        path.write_text(
            json.dumps(_catalog().export_json(catalog), ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
    else:
        _catalog().export_xlsx(catalog, path)
    console.print(f"已导出 / Exported: {path}")
