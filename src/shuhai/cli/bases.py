"""Base databases (基础库: 人口、法人、电子证照)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shuhai.cli.common import _audited, _config, _table, app, console, err_console, friendly

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


@base_app.command("export")
@friendly
def base_export(
    name: str,
    output: Path = typer.Option(..., "--output", "-o", help="输出文件 / file to write"),
    format: str = typer.Option("csv", "--format", help="csv | parquet"),
) -> None:
    """导出每条来源记录归入的档案 / Export which file each source record went to.

    Example: shuhai base export 人口基础库 -o 记录归档.csv --format csv
    """
    from shuhai.access.policy import operator
    from shuhai.serve import files

    rows = files.export_records(_config(), operator(), name, output, format)
    console.print(f"已导出 / Exported {rows:,} 条记录 / records: {output}")


@base_app.command("conflicts")
@friendly
def base_conflicts(
    name: str,
    kind: str = typer.Option(None, help="duplicate 重号 | borrowed 他人号码 | ambiguous"),
    limit: int = 20,
    offset: int = 0,
) -> None:
    """证件号冲突：重号、他人号码 / ID numbers several people claim.

    Example: shuhai base conflicts 人口基础库 --kind duplicate
    """
    from shuhai.access.policy import operator
    from shuhai.serve import files

    page = files.conflicts(_config(), operator(), name, kind=kind, limit=limit, offset=offset)
    rows = [
        {
            "id": item["id"],
            "kind": item["label"],
            "files": item["files"],
            "records": "；".join(
                f"{r['resource']}#{r['line']} {r['name'] or '—'} → {r['file_id']}"
                for r in item["records"]
            ),
        }
        for item in page["items"]
    ]
    console.print(_table(rows, ["id", "kind", "files", "records"]))
    counts = "，".join(f"{k} {v:,}" for k, v in page["counts"].items()) or "0"
    console.print(f"共 {page['total']:,} 个号码 / numbers ({counts})")


@base_app.command("review")
@friendly
def base_review(name: str, status: str = "pending", limit: int = 20, offset: int = 0) -> None:
    """待人工复核的记录对 / Pairs waiting for clerical review.  Example: shuhai base review 人口基础库"""
    from shuhai.access.policy import operator
    from shuhai.serve import files

    page = files.queue(_config(), operator(), name, status=status, limit=limit, offset=offset)
    console.print(_table(page["items"], ["id", "record_key", "file_id", "probability", "status"]))
    shown = f"{offset + 1}–{offset + len(page['items'])}" if page["items"] else "0"
    console.print(f"第 {shown} 对，共 {page['total']:,} 对 / pairs {shown} of {page['total']:,}")


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
