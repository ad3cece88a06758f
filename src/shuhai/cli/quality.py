"""Data quality (数据质量), cross-department comparison (比对) and objections (疑义)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from shuhai.cli.common import _config, _load_mapping, _table, app, console, friendly

quality_app = typer.Typer(help="数据质量 / Data quality", no_args_is_help=True)
app.add_typer(quality_app, name="quality")


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
    to: str = typer.Argument(
        ..., help="accepted | verifying | corrected | closed | rejected | withdrawn"
    ),
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
    source_status: str = typer.Option(
        None, help="still_old 源头仍报送旧值 | adopted 源头已更正 | changed 源头改报其他值"
    ),
) -> None:
    """疑义列表 / List objections.  Example: shuhai objection list --source-status still_old"""
    from shuhai.quality.corrections import list_objections

    rows = [
        dict(o, key=json.dumps(o["key"], ensure_ascii=False))
        for o in list_objections(
            _config(), status=status, overdue=overdue, source_status=source_status
        )
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
                "source_status_label",
            ],
        )
    )
