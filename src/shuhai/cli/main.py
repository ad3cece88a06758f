"""``shuhai`` commands. Library errors become ``错误 / Error: …`` and exit code 1, never a traceback."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from shuhai import catalog as cat
from shuhai.config import Config
from shuhai.errors import ShuhaiError
from shuhai.platform import open_home

app = typer.Typer(
    help="数海 Shuhai — 政务数据平台 / government data platform",
    no_args_is_help=True,
    add_completion=False,
)
department_app = typer.Typer(help="部门 / Departments", no_args_is_help=True)
catalog_app = typer.Typer(help="资源目录 / Resource catalog", no_args_is_help=True)
config_app = typer.Typer(help="配置 / Settings", no_args_is_help=True)
app.add_typer(department_app, name="department")
app.add_typer(catalog_app, name="catalog")
app.add_typer(config_app, name="config")
quality_app = typer.Typer(help="数据质量 / Data quality", no_args_is_help=True)
app.add_typer(quality_app, name="quality")

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Print library errors as text (Chinese / English) with their details and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ShuhaiError as exc:
            err_console.print(
                f"[bold red]错误 / Error[/]: {exc.message}  [dim]({exc.code})[/]", highlight=False
            )
            for detail in exc.details[:50]:
                err_console.print(
                    "  - " + ", ".join(f"{k}: {v}" for k, v in detail.items()), highlight=False
                )
            if len(exc.details) > 50:
                err_console.print(
                    f"  … {len(exc.details) - 50} more / 另有 {len(exc.details) - 50} 处"
                )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _audited(action: str, resource: str = "", detail: Any = None) -> None:
    """Admin and security changes made at the command line go to the audit trail at once (the
    process is about to exit), under the operating-system user who ran them."""
    import getpass

    from shuhai.access import audit

    audit.append(
        _config(),
        [
            {
                "actor": f"cli:{getpass.getuser()}",
                "action": action,
                "resource": resource,
                "detail": detail,
            }
        ],
    )


def _config() -> Config:
    return open_home()


def _table(rows: list[dict[str, Any]], columns: list[str], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*["" if row.get(c) is None else str(row.get(c)) for c in columns])
    return table


def _load_mapping(path: Path) -> Any:
    import yaml

    text = path.read_text(encoding="utf-8-sig")
    return yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)


@app.command()
@friendly
def init() -> None:
    """初始化数据目录与元数据库 / Create the home and apply migrations.  Example: shuhai init"""
    cfg = _config()
    console.print(f"已初始化 / Initialized: {cfg.home}  ({cfg.describe()[1]['value']})")


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
    dep = cat.Catalog(_config()).add_department({"name": name, "code": code, "uscc": uscc})
    console.print(f"已登记 / Registered: {dep['name']} ({dep['code']})")


@department_app.command("list")
@friendly
def department_list() -> None:
    """列出部门 / List departments.  Example: shuhai department list"""
    console.print(
        _table(cat.Catalog(_config()).departments(), ["code", "name", "uscc", "resources"])
    )


@catalog_app.command("register")
@friendly
def catalog_register(
    path: Path, update: bool = typer.Option(False, help="已存在时更新 / update if it exists")
) -> None:
    """登记资源（JSON 或 YAML 文件）/ Register a resource from JSON or YAML.

    Example: shuhai catalog register persons.yaml
    """
    res = cat.Catalog(_config()).register(_load_mapping(path), update=update)
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
    result = cat.Catalog(_config()).search(
        q,
        department=department,
        share_type=share_type,
        update_cycle=update_cycle,
        format=format,
        page=page,
        size=size,
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
    console.print_json(json.dumps(cat.Catalog(_config()).get(resource), ensure_ascii=False))


@catalog_app.command("import")
@friendly
def catalog_import(path: Path) -> None:
    """导入目录（XLSX 模板或 JSON）/ Import the catalog from the XLSX template or JSON.

    Example: shuhai catalog import 目录.xlsx
    """
    catalog = cat.Catalog(_config())
    counts = (
        cat.import_xlsx(catalog, path)
        if path.suffix.lower() in (".xlsx", ".xlsm")
        else cat.import_json(catalog, path)
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
    catalog = cat.Catalog(_config())
    if path.suffix.lower() == ".json":
        path.write_text(
            json.dumps(cat.export_json(catalog), ensure_ascii=False, indent=2), encoding="utf-8"
        )
    else:
        cat.export_xlsx(catalog, path)
    console.print(f"已导出 / Exported: {path}")


@app.command()
@friendly
def ingest(
    resource: str = typer.Argument(..., help="资源代码、编号或名称 / resource code, id or name"),
    source: str = typer.Argument(..., help="文件路径或数据库 URL / file path or database URL"),
    mode: str = typer.Option("append", help="append | replace | upsert"),
    key: list[str] = typer.Option(None, help="upsert 主键 / key columns for upsert"),
    format: str = typer.Option(None, help="csv | tsv | xlsx | jsonl | sql"),
    encoding: str = typer.Option(None, help="utf-8 | gbk | gb18030 (默认自动识别 / detected)"),
    sheet: str = typer.Option(None, help="XLSX 工作表 / sheet name or number"),
    header_row: int = typer.Option(None, help="XLSX 表头行 / header row (1-based)"),
    table: str = typer.Option(None, help="数据库表 / database table"),
    query: str = typer.Option(None, help="数据库查询 / SELECT query"),
) -> None:
    """导入数据到资源（一次原子提交）/ Load a source into a resource as one atomic version.

    Example: shuhai ingest 101001/GA-00001 persons.csv --mode upsert --key 身份证号
    """
    from shuhai.ingest import ingest as run_ingest

    cfg = _config()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("导入中 / ingesting…", total=None)

        def progress(p: dict[str, int | None]) -> None:
            rows, bad = p["rows"] or 0, p["quarantined"] or 0
            bar.update(
                task,
                total=p["total_bytes"],
                completed=p["bytes"] or 0,
                description=f"已读 {rows:,} 行，隔离 {bad:,} 行 / {rows:,} rows, {bad:,} quarantined",
            )

        run = run_ingest(
            cfg,
            resource,
            source,
            mode=mode,
            key=key or None,
            format=format,
            encoding=encoding,
            sheet=sheet,
            header_row=header_row,
            table=table,
            query=query,
            progress=progress,
        )
    _print_run(run)
    if run["lake_version"] is not None:
        from shuhai.quality.plugin import wait_for_checks

        with err_console.status("质量检查中 / checking quality…"):
            wait_for_checks()
        from shuhai.quality import quality_history

        history = [
            q
            for q in quality_history(cfg, run["resource_id"])
            if q["lake_version"] == run["lake_version"]
        ]
        if history:
            console.print(
                f"质量 / quality v{run['lake_version']}: 综合 overall {history[-1]['scores']['overall']:.1%} (shuhai quality report {run['resource_id']})"
            )


def _print_run(run: dict[str, Any]) -> None:
    version = run["lake_version"] if run["lake_version"] is not None else "—"
    console.print(
        f"导入 #{run['id']} {run['status']}: 读入 {run['rows_in']:,} = 入湖 {run['rows_loaded']:,} + 隔离 {run['rows_quarantined']:,}"
        f" · 版本 version {version} · {run['duration_ms']} ms · sha256 {str(run['source_sha256'])[:16]}…"
    )
    for w in run["warnings"]:
        console.print(f"[yellow]提示 / Note[/]: {w}")
    if run["quarantine"]:
        console.print(
            _table(
                run["quarantine"],
                ["column", "reason", "count"],
                title="隔离原因 / Quarantine reasons",
            )
        )


@app.command()
@friendly
def runs(resource: str = typer.Argument(None), limit: int = 30) -> None:
    """导入记录 / Ingest runs.  Example: shuhai runs 101001/GA-00001"""
    from shuhai.ingest import list_runs

    rows = [
        dict(r, source=Path(r["source"]).name if "://" not in r["source"] else r["source"])
        for r in list_runs(_config(), resource, limit=limit)
    ]
    console.print(
        _table(
            rows,
            [
                "id",
                "resource_id",
                "status",
                "mode",
                "rows_in",
                "rows_loaded",
                "rows_quarantined",
                "lake_version",
                "duration_ms",
                "source",
            ],
        )
    )


@app.command()
@friendly
def quarantine(run_id: int, limit: int = 20, offset: int = 0) -> None:
    """查看某次导入的隔离行 / Quarantined rows of a run.  Example: shuhai quarantine 3"""
    from shuhai import serve
    from shuhai.access.policy import operator

    page = serve.quarantine_rows(_config(), operator(), run_id, limit=limit, offset=offset)
    console.print(f"共 {page['total']} 行 / {page['total']} rows")
    for row in page["rows"]:
        cells = {k: _cell(v) for k, v in row.items() if not k.startswith("_")}
        console.print(
            f"[bold]第 {row.get('_line')} 行[/] {row.get('_reasons')}  [dim]{cells or _cell(row.get('_raw'))}[/]",
            highlight=False,
        )


CELL = 200  # characters of a cell shown at the terminal (a 5 MB cell is not printed whole)


def _cell(value: Any) -> Any:
    text = "" if value is None else str(value)
    return text if len(text) <= CELL else f"{text[:CELL]}…（共 {len(text):,} 字符 / chars）"


@app.command()
@friendly
def versions(resource: str) -> None:
    """列出资源的所有版本及其导入 / Versions of a resource with their runs.  Example: shuhai versions 1"""
    from shuhai.lake.service import list_versions

    rows = [
        dict(
            v,
            timestamp=v["timestamp"][:19],
            source=Path(str(v["source"] or "")).name or v["source"],
            sha256=(v["sha256"] or "")[:12],
        )
        for v in list_versions(_config(), resource)
    ]
    console.print(
        _table(rows, ["version", "timestamp", "operation", "run_id", "rows", "source", "sha256"])
    )


@app.command()
@friendly
def read(
    resource: str,
    version: int = typer.Option(None, help="版本（时间旅行）/ version"),
    limit: int = 20,
) -> None:
    """读取某个版本的数据 / Read a version (time travel).  Example: shuhai read 1 --version 0"""
    from shuhai import serve
    from shuhai.access.policy import operator

    data = serve.preview(
        _config(), operator(), resource, version=version, limit=limit, action="read"
    )
    data["rows"] = [{k: _cell(v) for k, v in r.items()} for r in data["rows"]]
    console.print(
        _table(
            data["rows"],
            data["columns"],
            title=f"版本 version {data['version']} · 共 {data['total']:,} 行",
        )
    )


@app.command()
@friendly
def query(resource: str, sql: str, version: int = typer.Option(None), limit: int = 100) -> None:
    """用 DuckDB SQL 查询某个版本（表名 t）/ DuckDB SQL over a version, as table t.

    Example: shuhai query 1 "SELECT 性别, count(*) FROM t GROUP BY 1"
    """
    from shuhai import serve
    from shuhai.access.policy import operator

    data = serve.query(_config(), operator(), resource, sql, version=version, limit=limit)
    data["rows"] = [{k: _cell(v) for k, v in r.items()} for r in data["rows"]]
    console.print(_table(data["rows"], data["columns"]))


@app.command()
@friendly
def demo(
    persons: int = typer.Option(20000, help="人口数 / number of persons"),
    seed: int = typer.Option(2024, help="随机种子 / seed"),
    output: Path = typer.Option(None, help="源文件目录 / where to write the source files"),
) -> None:
    """生成并导入演示城市 / Generate and load the demo city.  Example: shuhai demo --persons 20000"""
    from shuhai.demo import build_demo

    cfg = _config()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("生成演示城市 / generating…", total=None)
        summary = build_demo(
            cfg,
            persons=persons,
            seed=seed,
            output=output,
            progress=lambda msg: bar.update(task, description=msg),
        )
    console.print(
        f"演示城市已就绪 / Demo city ready: {summary['departments']} 个部门, {summary['resources']} 个资源, "
        f"{summary['rows_loaded']:,} 行入湖, {summary['rows_quarantined']:,} 行隔离 · {summary['seconds']:.1f}s"
    )
    console.print(
        f"源文件 / sources: {summary['output']}  · 真值 / ground truth: {summary['ground_truth']}"
    )
    console.print(
        f"演示账号 / demo accounts: ga_officer, rs_user, citizen … 密码 / password "
        f"{summary['demo_password']} · 三员的动态口令密钥 / TOTP secrets: {summary['accounts_file']}"
    )


@app.command()
@friendly
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = typer.Option(0, help="进程数，0 为每核一个 / processes; 0: one per core"),
) -> None:
    """启动门户与 API / Serve the portal and API.  Example: shuhai serve --port 8000"""
    import os

    import uvicorn

    _config()
    workers = workers or max(1, min(os.cpu_count() or 1, 8))
    console.print(f"门户 / Portal: http://{host}:{port}/   API: http://{host}:{port}/api/v1/docs")
    uvicorn.run(
        "shuhai.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@quality_app.command("run")
@friendly
def quality_run(
    resource: str, version: int = typer.Option(None, help="版本 / version (default: latest)")
) -> None:
    """按规则检查一个版本 / Check a version against the rules.  Example: shuhai quality run 1"""
    from shuhai.quality import run_quality

    q = run_quality(_config(), resource, version=version)
    _print_quality(q)


def _print_quality(q: dict[str, Any]) -> None:
    scores = "  ".join(f"{k} {v:.1%}" for k, v in q["scores"].items() if k != "overall")
    console.print(
        f"质量检查 #{q['id']} · 版本 v{q['lake_version']} · {q['rows']:,} 行 · 综合 overall {q['scores']['overall']:.1%}"
    )
    console.print(scores)
    rows = [
        dict(
            r,
            pass_ratio=f"{r['pass_ratio']:.2%}",
            sample=(r["samples"][0]["value"] if r["samples"] else ""),
        )
        for r in q["results"]
    ]
    console.print(
        _table(rows, ["item", "kind", "dimension", "checked", "failed", "pass_ratio", "sample"])
    )


@quality_app.command("report")
@friendly
def quality_report(
    resource: str = typer.Argument(
        None, help="资源；省略时为部门排名 / resource; omit for the ranking"
    ),
) -> None:
    """质量报告：资源的各版本趋势，或部门排名 / Trend of a resource, or the department ranking.

    Example: shuhai quality report
    """
    from shuhai.quality import department_scores, quality_history

    cfg = _config()
    if resource is None:
        rows = [
            {k: (f"{v:.1%}" if isinstance(v, float) else v) for k, v in d.items()}
            for d in department_scores(cfg)
        ]
        console.print(
            _table(
                rows,
                list(rows[0]) if rows else ["department"],
                title="部门数据质量排名 / Department ranking",
            )
        )
        return
    history = quality_history(cfg, resource)
    rows = [
        {
            "run": q["id"],
            "version": q["lake_version"],
            "rows": q["rows"],
            **{k: f"{v:.1%}" for k, v in q["scores"].items()},
        }
        for q in history
    ]
    console.print(
        _table(rows, list(rows[0]) if rows else ["run"], title="质量趋势 / Quality over versions")
    )


@quality_app.command("rules")
@friendly
def quality_rules(
    resource: str,
    path: Path = typer.Option(None, "--import", help="YAML/JSON 规则文件 / rules file"),
) -> None:
    """查看或导入资源的质量规则 / Show or import a resource's rules.

    Example: shuhai quality rules 1 --import rules.yaml
    """
    from shuhai.quality import list_rules, set_rules

    cfg = _config()
    if path is not None:
        data = _load_mapping(path)
        rules = set_rules(
            cfg, resource, data.get("rules", data) if isinstance(data, dict) else data
        )
        console.print(f"已保存 {len(rules)} 条规则 / {len(rules)} rules saved")
    rows = [
        dict(r, params=json.dumps(r["params"], ensure_ascii=False) if r["params"] else "")
        for r in list_rules(cfg, resource)
    ]
    console.print(_table(rows, ["id", "item", "kind", "params", "dimension", "origin", "enabled"]))


compare_app = typer.Typer(help="跨部门比对 / Cross-department comparison", no_args_is_help=True)
app.add_typer(compare_app, name="compare")


@compare_app.command("add")
@friendly
def compare_add(
    left: str = typer.Argument(..., help="资源:信息项:键, e.g. 参保人员信息:联系地址:身份证号"),
    right: str = typer.Argument(..., help="资源:信息项:键"),
    name: str = typer.Option(None),
) -> None:
    """声明比对 / Declare a comparison.

    Example: shuhai compare add 参保人员信息:联系地址:身份证号 常住人口基本信息:户籍地址:身份证号
    """
    from shuhai.quality.compare import add_comparison

    def side(text: str) -> dict[str, str]:
        parts = text.rsplit(":", 2)
        if len(parts) != 3:
            raise typer.BadParameter("格式为 资源:信息项:键 / expected RESOURCE:ITEM:KEY")
        return {"resource": parts[0], "item": parts[1], "key": parts[2]}

    c = add_comparison(_config(), {"name": name, "left": side(left), "right": side(right)})
    console.print(f"已声明比对 #{c['id']} / Comparison declared: {c['name']}")


@compare_app.command("run")
@friendly
def compare_run(
    comparison: int, export: Path = typer.Option(None, help="导出差异 XLSX / export conflicts")
) -> None:
    """运行比对 / Compare the latest versions.  Example: shuhai compare run 1 --export 差异.xlsx"""
    from shuhai import serve
    from shuhai.access.policy import operator
    from shuhai.quality.compare import export_conflicts_xlsx, run_comparison

    cfg = _config()
    run = run_comparison(cfg, comparison)
    console.print(
        f"比对 #{comparison}: v{run['left_version']} ↔ v{run['right_version']} · 关联 {run['joined']:,} 行 · 差异 {run['conflicts']:,} 行"
    )
    if export:
        view = serve.conflict_view(cfg, operator(), comparison, "compare.download")
        export_conflicts_xlsx(cfg, comparison, run["id"], export, view=view)
        console.print(f"已导出 / Exported: {export}")


objection_app = typer.Typer(help="疑义数据处理 / Objections and corrections", no_args_is_help=True)
app.add_typer(objection_app, name="objection")


@objection_app.command("raise")
@friendly
def objection_raise(
    resource: str,
    key: list[str] = typer.Option(
        ..., help="主键 信息项=值 / key ITEM=VALUE (repeat for composite keys)"
    ),
    item: str = typer.Option(..., help="有疑义的信息项 / the item in question"),
    reason: str = typer.Option(..., help="理由 / reason"),
    value: str = typer.Option(None, help="建议值 / proposed value"),
    actor: str = typer.Option("cli", help="提出人 / raised by"),
) -> None:
    """提出疑义 / Raise an objection on a record.

    Example: shuhai objection raise 1 --key 身份证号=11010519491231002X --item 姓名 --value 张叁 --reason 户籍登记为张叁
    """
    from shuhai.quality.corrections import raise_objection

    pairs = dict(k.split("=", 1) for k in key if "=" in k)
    o = raise_objection(
        _config(),
        resource,
        {"key": pairs, "item": item, "proposed_value": value, "reason": reason},
        actor=actor,
    )
    console.print(
        f"疑义 #{o['id']} 已提出 / raised · 当前值 {o['current_value']} → {o['proposed_value']} · 办理时限 {o['deadline']}"
    )


@objection_app.command("move")
@friendly
def objection_move(
    objection: int,
    to: str = typer.Argument(..., help="accepted | verifying | corrected | closed | rejected"),
    note: str = typer.Option("", help="说明（驳回时必填）/ note (required to reject)"),
    value: str = typer.Option(None, help="修正值 / corrected value"),
    actor: str = typer.Option("cli"),
) -> None:
    """推进疑义处理 / Move an objection one step.  Example: shuhai objection move 3 accepted"""
    from shuhai.quality.corrections import transition

    o = transition(_config(), objection, to, actor=actor, note=note, value=value)
    version = f" · 新版本 v{o['lake_version']}" if to == "corrected" else ""
    console.print(f"疑义 #{o['id']}：{o['status_label']} / {o['status']}{version}")


@objection_app.command("list")
@friendly
def objection_list(
    status: str = typer.Option(None),
    overdue: bool = typer.Option(False, help="只看逾期 / overdue only"),
) -> None:
    """疑义列表 / List objections.  Example: shuhai objection list --overdue"""
    from shuhai.quality.corrections import list_objections

    rows = [
        dict(o, key=json.dumps(o["key"], ensure_ascii=False))
        for o in list_objections(_config(), status=status, overdue=overdue)
    ]
    console.print(
        _table(
            rows,
            [
                "id",
                "resource_id",
                "key",
                "item",
                "current_value",
                "proposed_value",
                "status_label",
                "deadline",
                "overdue",
            ],
        )
    )


def main() -> None:
    app()


__all__ = ["app", "main"]


base_app = typer.Typer(help="基础库（人口、法人、电子证照）/ Base databases", no_args_is_help=True)
app.add_typer(base_app, name="base")


@base_app.command("apply")
@friendly
def base_apply(path: Path) -> None:
    """保存基础库配置（YAML）/ Create or update a base database from its config.

    Example: shuhai base apply 人口基础库.yaml
    """
    from shuhai.entities.service import save_base

    base = save_base(_config(), path.read_text(encoding="utf-8-sig"))
    _audited("base.config", base["name"], {"config_version": base["config_version"]})
    console.print(
        f"已保存 / Saved: {base['name']} ({base['kind']}), 配置版本 / config v{base['config_version']}"
    )


@base_app.command("list")
@friendly
def base_list() -> None:
    """列出基础库 / List base databases.  Example: shuhai base list"""
    from shuhai.entities.service import list_bases

    rows = []
    for b in list_bases(_config()):
        last = b["last_build"] or {}
        rows.append(
            {
                "id": b["id"],
                "name": b["name"],
                "kind": b["kind"],
                "config": b["config_version"],
                "build": last.get("id"),
                "files": (last.get("counts") or {}).get(
                    "files", (last.get("counts") or {}).get("licences")
                ),
                "at": last.get("finished_at"),
            }
        )
    console.print(_table(rows, ["id", "name", "kind", "config", "build", "files", "at"]))


@base_app.command("build")
@friendly
def base_build(
    name: str,
    full: bool = typer.Option(False, help="全量重建 / rebuild everything instead of updating"),
) -> None:
    """构建或增量更新基础库 / Build or update a base database.  Example: shuhai base build 人口基础库"""
    from shuhai.entities.build import build_base

    b = build_base(
        _config(), name, full=full, progress=lambda m: err_console.print(m, highlight=False)
    )
    console.print_json(json.dumps(b, ensure_ascii=False))


@base_app.command("show")
@friendly
def base_show(name: str, file_id: str) -> None:
    """查看一份档案 / Show one file (golden record, sources, timeline).

    Example: shuhai base show 人口基础库 P00000001
    """
    from shuhai.access.policy import operator
    from shuhai.serve import files

    shown = files.profile(_config(), operator(), name, file_id)
    console.print_json(json.dumps(shown, ensure_ascii=False, default=str))


@base_app.command("review")
@friendly
def base_review(name: str, status: str = "pending", limit: int = 20) -> None:
    """待人工复核的记录对 / Pairs waiting for clerical review.  Example: shuhai base review 人口基础库"""
    from shuhai.entities.service import review_queue

    rows = review_queue(_config(), name, status=status, limit=limit)
    console.print(_table(rows, ["id", "record_key", "file_id", "probability", "status"]))


@base_app.command("decide")
@friendly
def base_decide(name: str, pair_id: int, decision: str, note: str = "", actor: str = "cli") -> None:
    """复核决定（accept/reject），下次构建生效 / Decide a pair; applied by the next build.

    Example: shuhai base decide 人口基础库 12 accept
    """
    from shuhai.entities.service import decide

    p = decide(_config(), name, pair_id, decision, actor=actor, note=note)
    console.print(f"复核对 / pair {p['id']}: {p['status']}")


@base_app.command("verify")
@friendly
def base_verify(number: str, holder: str = typer.Option(None, help="持证人证件号或名称")) -> None:
    """核验电子证照 / Verify a licence by number.  Example: shuhai base verify FZ100000"""
    from shuhai.access.policy import operator
    from shuhai.serve import licences

    found = licences.check(_config(), operator(), number, holder=holder)
    console.print_json(json.dumps(found, ensure_ascii=False, default=str))


audit_app = typer.Typer(help="审计日志 / Audit trail", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
@friendly
def audit_verify(
    merkle: bool = typer.Option(
        False, help="同时重算每个检查点的 Merkle 根 / recompute Merkle roots"
    ),
) -> None:
    """校验审计链与签名检查点 / Verify the hash chain and the signed checkpoints.

    Exits 1 and names the first bad entry when the trail was edited, cut or reordered.
    Example: shuhai audit verify
    """
    from shuhai.access import audit

    result = audit.verify(_config(), merkle=merkle)
    if result["ok"]:
        console.print(
            f"审计链完好 / The trail is intact: {result['entries']:,} 条记录, "
            f"{result['checkpoints']} 个签名检查点; 已锚定至第 {result['anchored_through']:,} 条 / "
            f"anchored through {result['anchored_through']:,}; "
            f"未锚定 / unanchored: {result['unanchored']:,}"
        )
        return
    bad = result["first_bad"]
    err_console.print(
        f"[bold red]审计链被篡改 / The trail was tampered with[/]: {bad['message']} "
        f"(seq {bad['seq']}, {bad['kind']})",
        highlight=False,
    )
    raise typer.Exit(1)


@audit_app.command("checkpoint")
@friendly
def audit_checkpoint() -> None:
    """为新记录签署检查点（SM2）/ Sign a checkpoint over the newest entries."""
    from shuhai.access import audit

    cp = audit.checkpoint(_config())
    console.print("没有新记录 / nothing new" if cp is None else json.dumps(cp, ensure_ascii=False))


@audit_app.command("list")
@friendly
def audit_list(
    actor: str = typer.Option(None),
    department: str = typer.Option(None),
    resource: str = typer.Option(None),
    action: str = typer.Option(None),
    since: str = typer.Option(None, help="ISO 时间 / ISO time"),
    until: str = typer.Option(None),
    limit: int = 50,
) -> None:
    """按用户、部门、资源、时间查看审计记录 / Filter the audit trail."""
    from shuhai.access import audit

    rows = audit.search(
        _config(),
        actor=actor,
        department=department,
        resource=resource,
        action=action,
        since=since,
        until=until,
        limit=limit,
    )
    console.print(
        _table(rows, ["seq", "at", "actor", "department", "action", "resource", "outcome"])
    )


user_app = typer.Typer(help="用户与角色 / Users and roles", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _password(password: str | None) -> str:
    return password or typer.prompt("密码 / Password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
@friendly
def user_add(
    username: str,
    role: list[str] = typer.Option(
        ..., "--role", help="admin/security/auditor/officer/user/public"
    ),
    department: str = typer.Option(None, help="部门代码或名称 / department code or name"),
    name: str = typer.Option("", help="显示名 / display name"),
    password: str = typer.Option(None, help="不给出则提示输入 / prompted when omitted"),
) -> None:
    """新增用户 / Add a user.  Example: shuhai user add ga_officer --role officer --department GA"""
    from shuhai.access.identity import add_user

    u = add_user(
        _config(),
        username,
        _password(password),
        roles=role,
        department=department,
        display_name=name,
    )
    _audited("user.add", username, {"roles": u["roles"], "department": department})
    console.print(f"已创建 / Created: {u['username']} ({', '.join(u['roles'])})")
    if u.get("totp_uri"):
        console.print("双因子密钥（仅显示一次）/ second-factor key, shown once:", highlight=False)
        console.print(u["totp_uri"], highlight=False, soft_wrap=True)


@user_app.command("role")
@friendly
def user_role(username: str, role: list[str] = typer.Option(..., "--role")) -> None:
    """设置角色 / Set a user's roles.  Example: shuhai user role zhang --role user"""
    from shuhai.access.identity import set_roles

    u = set_roles(_config(), username, role)
    _audited("user.role", username, {"roles": u["roles"]})
    console.print(f"{u['username']}: {', '.join(u['roles'])}")


@user_app.command("reset")
@friendly
def user_reset(username: str, password: str = typer.Option(None)) -> None:
    """重置密码并解锁 / Reset the password and unlock.  Example: shuhai user reset zhang"""
    from shuhai.access.identity import reset_password

    reset_password(_config(), username, _password(password))
    _audited("user.reset", username)
    console.print(f"已重置 / Reset: {username}")


@user_app.command("list")
@friendly
def user_list() -> None:
    """列出用户 / List users."""
    from shuhai.access.identity import list_users

    console.print(
        _table(
            list_users(_config()),
            ["username", "display_name", "department_id", "roles", "second_factor", "locked"],
        )
    )


@audit_app.command("purge")
@friendly
def audit_purge(
    days: int = typer.Option(180, help="保留天数（至少 180）/ days kept, at least 180"),
) -> None:
    """清理超过保留期的审计记录（按签名检查点整段）/ Purge entries past retention."""
    from shuhai.access import audit

    result = audit.purge(_config(), older_than_days=days)
    _audited("audit.purge", "audit", result)
    console.print(
        f"已清理至第 {result['purged_through']} 条，共 {result['entries']} 条 / purged {result['entries']} entries"
    )


keys_app = typer.Typer(help="密钥 / Keys", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
@friendly
def keys_rotate(
    new_key: str = typer.Option(
        None, help="新主密钥（32 或 64 个十六进制字符）；用环境变量时必填 / new key (hex)"
    ),
) -> None:
    """轮换主密钥并重新封装全部机密 / Rotate the master key.  Example: shuhai keys rotate"""
    from shuhai.access.keys import rotate_master
    from shuhai.errors import InvalidInput

    key = None
    if new_key:
        try:
            key = bytes.fromhex(new_key.strip())
        except ValueError as exc:
            raise InvalidInput(
                "keys.bad_master", "新主密钥应为十六进制", "The new key must be hex"
            ) from exc
    done = rotate_master(_config(), key)
    _audited("keys.rotate", "master", done)
    console.print(
        f"主密钥已轮换，重新封装 {done['resealed']} 个机密、{done['data_keys']} 个数据密钥 / "
        "master key rotated"
    )


def _resource_ids(config: Config, resources: list[str] | None) -> list[int] | None:
    """The ids of resources named by code or id on the command line (None: all of them)."""
    if not resources:
        return None
    from shuhai.catalog.service import find_resource
    from shuhai.db import session_scope

    with session_scope(config.database_url) as s:
        return [find_resource(s, r).id for r in resources]


@keys_app.command("encrypt")
@friendly
def keys_encrypt(
    resource: list[str] = typer.Option(None, help="资源代码或编号（默认全部）/ resource"),
    vacuum: bool = typer.Option(
        False, help="同时删除旧版本文件（其中仍有明文；之后不能回溯到那些版本）/ purge old files"
    ),
) -> None:
    """加密数据湖中仍为明文的核心/L4 列 / Encrypt 核心/L4 columns still stored in plain text.
    Example: shuhai keys encrypt --vacuum"""
    from shuhai.access.keys import protect_lake

    config = _config()
    done = protect_lake(config, _resource_ids(config, resource), vacuum=vacuum)
    _audited("keys.encrypt", "lake", {"resources": len(done), "vacuum": vacuum})
    table = Table(
        "资源 / resource", "新加密 / encrypted now", "已加密 / already", "删除文件 / removed"
    )
    for row in done:
        table.add_row(
            str(row["resource_id"]),
            "、".join(row["encrypted"]) or "—",  # type: ignore[arg-type]
            "、".join(row["already"]) or "—",  # type: ignore[arg-type]
            str(row["files_removed"]),
        )
    console.print(table)


@keys_app.command("rekey")
@friendly
def keys_rekey(
    resource: list[str] = typer.Option(None, help="资源代码或编号（默认全部，含基础库）/ resource"),
    vacuum: bool = typer.Option(
        False, help="同时删除旧版本文件（之后不能回溯到那些版本）/ purge old versions' files"
    ),
) -> None:
    """把旧数据密钥（全部 SM4-SIV）下的加密数据换到新密钥（证件号等单分组加密，更快更小）/
    Move data encrypted under older (SIV-only) data keys to new keys.
    Example: shuhai keys rekey"""
    from shuhai.access.keys import rekey

    config = _config()
    done = rekey(config, _resource_ids(config, resource), vacuum=vacuum)
    _audited("keys.rekey", "lake", {"changed": len(done), "vacuum": vacuum})
    table = Table("对象 / owner", "旧密钥 / from", "新密钥 / to", "新版本 / version")
    for row in done:
        owner = (
            f"资源 resource {row['resource_id']}"
            if "resource_id" in row
            else f"基础库 base {row['base_id']} *"
        )
        table.add_row(
            owner,
            "、".join(row["from"]),  # type: ignore[arg-type]
            str(row["to"]),
            "—" if row["version"] is None else str(row["version"]),
        )
    console.print(table if done else "没有旧密钥下的数据 / nothing is under an older key")
    if any("base_id" in row for row in done):
        console.print("* 基础库下次构建时全量重建 / the base is rebuilt in full at its next build")


share_app = typer.Typer(help="数据共享 / Data sharing", no_args_is_help=True)
app.add_typer(share_app, name="share")


@share_app.command("index")
@friendly
def share_index(
    resource: str, version: int = typer.Option(None, help="版本 / version (default: latest)")
) -> None:
    """为键值查询建立服务索引 / Build the serving index.  Example: shuhai share index 1"""
    from shuhai.share.serving import build_index

    built = build_index(_config(), resource, version)
    _audited("share.index", built["resource"], {"version": built["version"], "rows": built["rows"]})
    console.print(
        f"{built['resource']} v{built['version']}: {built['rows']:,} 行 · 索引 {', '.join(built['indexed'])}"
        f" · {built['seconds']:.1f}s"
    )


@share_app.command("escalate")
@friendly
def share_escalate() -> None:
    """逾期未答复的共享申请上报平台 / Escalate overdue applications.  Example: shuhai share escalate"""
    from shuhai.share.applications import escalate_overdue

    late = escalate_overdue(_config())
    console.print(f"上报 {len(late)} 个逾期申请 / {len(late)} escalated")


credential_app = typer.Typer(
    help="系统凭证 appKey/appSecret / System credentials", no_args_is_help=True
)
app.add_typer(credential_app, name="credential")


@credential_app.command("add")
@friendly
def credential_add(
    department: str,
    name: str = typer.Option("", help="系统名称 / system name"),
    scope: list[str] = typer.Option([], "--scope", help="限定的资源代码 / resource codes"),
    days: int = typer.Option(365, help="有效天数 / days valid"),
) -> None:
    """为部门系统签发凭证（密钥只显示一次）/ Issue a credential.  Example: shuhai credential add RS"""
    from shuhai.access.signing import create_credential

    made = create_credential(_config(), department, name=name, scopes=scope, days=days)
    _audited("credential.add", made["app_key"], {"department": department, "scopes": scope})
    console.print(f"appKey: {made['app_key']}")
    console.print(f"appSecret: {made['app_secret']}  （仅显示一次 / shown once）")


@credential_app.command("rotate")
@friendly
def credential_rotate(app_key: str) -> None:
    """换发新凭证并吊销旧凭证 / Replace a credential.  Example: shuhai credential rotate ak_…"""
    from shuhai.access.signing import rotate

    made = rotate(_config(), app_key)
    _audited("credential.rotate", app_key, {"replaced_by": made["app_key"]})
    console.print(f"appKey: {made['app_key']}")
    console.print(f"appSecret: {made['app_secret']}  （仅显示一次 / shown once）")


@credential_app.command("revoke")
@friendly
def credential_revoke(app_key: str) -> None:
    """吊销凭证 / Revoke a credential.  Example: shuhai credential revoke ak_…"""
    from shuhai.access.signing import revoke

    revoke(_config(), app_key)
    _audited("credential.revoke", app_key)
    console.print(f"已吊销 / revoked {app_key}")


@credential_app.command("list")
@friendly
def credential_list() -> None:
    """列出凭证（不含密钥）/ List credentials.  Example: shuhai credential list"""
    from shuhai.access.signing import list_credentials

    rows = list_credentials(_config())
    console.print(
        _table(rows, ["app_key", "department", "name", "scopes", "expires_at", "revoked"])
    )
