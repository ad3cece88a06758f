"""Data sharing (数据共享): serving indexes and overdue applications."""

from __future__ import annotations

import typer

from shuhai.cli.common import _audited, _config, app, console, friendly

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
