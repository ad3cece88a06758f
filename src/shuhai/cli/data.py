"""Loading and reading data: ``init``, ``ingest``, ``runs``, ``quarantine``, ``versions``,
``read``, ``query``, ``demo``, ``serve``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from shuhai.cli.common import _cell, _config, _table, app, console, err_console, friendly


@app.command()
@friendly
def init() -> None:
    """初始化数据目录与元数据库 / Create the home and apply migrations.  Example: shuhai init"""
    cfg = _config()
    console.print(f"已初始化 / Initialized: {cfg.home}  ({cfg.describe()[1]['value']})")


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
    from shuhai.plugins import detached_follow_ups

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

        with detached_follow_ups():  # the serving index is built by a process of its own
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

        history = quality_history(cfg, run["resource_id"], version=run["lake_version"])
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
    steps = run.get("corrections") or {}
    if steps.get("rows_corrected"):
        ids = "、".join(f"#{i}" for i in steps.get("still_old", []))
        console.print(
            f"[yellow]修正重放 / corrections put back[/]: {steps['rows_corrected']:,} 行，源头仍报送旧值"
            f"（疑义 {ids}）/ rows where the source still sends the corrected value's old one"
        )
    for what, label in (
        ("adopted", "源头已更正 / source adopted"),
        ("changed", "源头改报其他值 / source sent another value"),
    ):
        if steps.get(what):
            console.print(f"{label}: " + "、".join(f"#{i}" for i in steps[what]))
    if run["quarantine"]:
        console.print(
            _table(
                [
                    {**q, "column": "（整行 whole row）" if q["column"] == "*" else q["column"]}
                    for q in run["quarantine"]
                ],
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
    keep: bool = typer.Option(
        False, "--keep", help="已有完整的演示城市时保留它 / keep a demo city already loaded here"
    ),
) -> None:
    """生成并导入演示城市 / Generate and load the demo city.  Example: shuhai demo --persons 20000"""
    from shuhai.demo import build_demo
    from shuhai.demo.build import READY_FILE

    cfg = _config()
    if keep and (cfg.home / READY_FILE).exists():
        console.print(
            "演示城市已存在，保留不动（重新生成：make demo-reset）/ "
            "The demo city is already loaded and kept (start over: make demo-reset)"
        )
        return
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
