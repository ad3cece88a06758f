"""Open data (数据开放): publish, withdraw, search, plan, download and export the open catalog.
Each command calls the same library function as the portal and the API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from shuhai.cli.common import _config, app, console, err_console, friendly

open_app = typer.Typer(help="数据开放 / Open data", no_args_is_help=True)
app.add_typer(open_app, name="open")


@open_app.command("publish")
@friendly
def open_publish(
    resource: str,
    title: str = typer.Option(None, help="标题 / title (default: the resource name)"),
    description: str = typer.Option(None, help="描述 / description"),
    keywords: str = typer.Option(None, help="关键词，逗号分隔 / keywords, comma-separated"),
    theme: str = typer.Option(None, help="主题 / theme"),
    licence: str = typer.Option(None, help="开放许可 / licence (CC-BY-4.0, CC0-1.0, …)"),
    columns: str = typer.Option(None, help="开放的信息项，逗号分隔 / items opened"),
    spatial: str = typer.Option(None, help="空间范围 / spatial coverage"),
    contact: str = typer.Option(None, help="联系方式 / contact"),
    temporal_start: str = typer.Option(None, help="时间范围起 / coverage from (YYYY-MM-DD)"),
    temporal_end: str = typer.Option(None, help="时间范围止 / coverage to (YYYY-MM-DD)"),
) -> None:
    """发布或更新开放数据集 / Publish (or update) an open dataset.

    Example: shuhai open publish 204001/HB-00001 --theme 资源环境 --keywords 空气,AQI
    """
    from shuhai.access.policy import operator
    from shuhai.open import publish

    meta = {
        "title": title,
        "description": description,
        "keywords": keywords,
        "theme": theme,
        "licence": licence,
        "columns": columns,
        "spatial": spatial,
        "contact": contact,
        "temporal_start": temporal_start,
        "temporal_end": temporal_end,
    }
    ds = publish(
        _config(), resource, {k: v for k, v in meta.items() if v is not None}, viewer=operator()
    )
    console.print(
        f"已发布 published {ds['name']}: {ds['title']} · 开放 {len(ds['columns'])} 个信息项 "
        f"({'、'.join(ds['columns'])})"
    )


@open_app.command("withdraw")
@friendly
def open_withdraw(name: str, reason: str = typer.Option(..., help="原因 / reason")) -> None:
    """撤回开放数据集 / Withdraw a dataset.  Example: shuhai open withdraw 204001-hb-00001 --reason 核查"""
    from shuhai.access.policy import operator
    from shuhai.open import withdraw

    ds = withdraw(_config(), name, viewer=operator(), reason=reason)
    console.print(f"已撤回 withdrawn {ds['name']}")


@open_app.command("search")
@friendly
def open_search(
    q: str = typer.Argument("", help="检索词 / query"),
    limit: int = typer.Option(20, min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output"),
) -> None:
    """检索开放数据 / Search open datasets.  Example: shuhai open search 社保"""
    from rich.table import Table

    from shuhai.open import search

    found = search(_config(), q, limit=limit)
    if as_json:
        sys.stdout.write(json.dumps(found, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"{found['count']} 个数据集 / datasets")
    for col in ("name", "标题 title", "部门 publisher", "匹配 matched"):
        table.add_column(col)
    for r in found["results"]:
        why = "，".join(f"{m['word']}→{m['matched']}" for m in r["matched"])
        table.add_row(r["name"], r["title"], r["publisher"]["name"], why)
    console.print(table)
    if found["verify"]:
        console.print(f"{found['verify']['message']}: {found['verify']['url']}")


@open_app.command("list")
@friendly
def open_list() -> None:
    """列出已发布的开放数据集 / List published datasets.  Example: shuhai open list"""
    from rich.table import Table

    from shuhai.open import list_datasets

    table = Table()
    for col in ("name", "标题 title", "开放 type", "条数 rows", "下载 downloads", "调用 calls"):
        table.add_column(col)
    for d in list_datasets(_config()):
        table.add_row(
            d["name"],
            d["title"],
            d["open_type"],
            f"{d['rows']:,}",
            str(d["downloads"]),
            str(d["api_calls"]),
        )
    console.print(table)


@open_app.command("plan")
@friendly
def open_plan(
    resource: str = typer.Argument(None, help="列入计划的资源 / resource to plan (omit to list)"),
    year: int = typer.Option(None, help="年度 / year (default: this year)"),
    date: str = typer.Option(None, "--date", help="计划开放日期 / planned date YYYY-MM-DD"),
    note: str = typer.Option("", help="说明 / note"),
) -> None:
    """年度开放计划：列出或列入 / The yearly opening plan: list it, or plan a resource.

    Example: shuhai open plan 204001/HB-00001 --year 2027 --date 2027-03-31
    """
    import datetime as dt

    from rich.table import Table

    from shuhai.access.policy import operator
    from shuhai.open import PLAN_STATUS, list_plan, plan

    config = _config()
    if resource:
        if not date:
            raise typer.BadParameter("需要 --date / --date is required")
        if year is None:
            year = int(date[:4]) if date[:4].isdigit() else dt.date.today().year
        entry = plan(
            config,
            resource,
            year=year,
            planned_date=date,
            note=note,
            viewer=operator(),
        )
        console.print(
            f"已列入 {entry['year']} 年开放计划 / planned: {entry['resource']['name']} · {entry['planned_date']}"
        )
        return
    shown = list_plan(config, year)
    table = Table(title=f"{shown['year']} 年度开放计划 / opening plan")
    for col in ("资源 resource", "部门 publisher", "计划 planned", "开放 opened", "状态 status"):
        table.add_column(col)
    for e in shown["entries"]:
        table.add_row(
            e["resource"]["name"],
            e["department"],
            e["planned_date"],
            (e["opened_at"] or "")[:10],
            PLAN_STATUS[e["status"]],
        )
    console.print(table)


@open_app.command("download")
@friendly
def open_download(
    name: str,
    output: Path = typer.Option(..., "-o", "--output", help="写入的文件 / file to write"),
    fmt: str = typer.Option(
        None, "--format", help="csv, xlsx, json, parquet (default: from the file name)"
    ),
    version: int = typer.Option(None, help="版本 / version (default: latest)"),
) -> None:
    """下载开放数据集（如公众所见）/ Download a dataset as the public gets it.

    Example: shuhai open download 204001-hb-00001 -o air.csv
    """
    from shuhai.access.policy import Viewer
    from shuhai.open.downloads import download

    kind = fmt or output.suffix.lstrip(".").lower()
    d = download(_config(), Viewer(), name, kind, version=version, address="cli")
    with output.open("wb") as f:
        for chunk in d.body:
            f.write(chunk)
    console.print(f"{output} · v{d.version} · 下载编号 download id {d.id}")


@open_app.command("dcat")
@friendly
def open_dcat(
    base: str = typer.Option("http://127.0.0.1:8000", help="门户地址 / the portal's address"),
    fmt: str = typer.Option("turtle", "--format", help="turtle 或 json-ld"),
) -> None:
    """导出 DCAT 开放目录 / Export the open catalog as DCAT.  Example: shuhai open dcat > catalog.ttl"""
    from shuhai.open.interchange import dcat

    text, errors = dcat(_config(), base.rstrip("/"), fmt)
    sys.stdout.write(text)
    for e in errors:
        err_console.print(f"[yellow]未导出 left out {e['dataset']}: {e['error']}[/]")


@open_app.command("harvest-add")
@friendly
def open_harvest_add(
    name: str,
    url: str,
    kind: str = typer.Option("ckan", help="ckan（门户地址）或 dcat（DCAT 文档地址）"),
) -> None:
    """登记采集源 / Add a portal to harvest.  Example: shuhai open harvest-add 省平台 https://data.example.gov.cn"""
    from shuhai.access.policy import operator
    from shuhai.open.harvest import add_source

    src = add_source(_config(), name, url, kind, viewer=operator())
    console.print(f"采集源 #{src['id']} {src['name']} ({src['kind']}) {src['url']}")


@open_app.command("harvest")
@friendly
def open_harvest(source: str) -> None:
    """采集一个源（可续采）/ Harvest a source (resumes where it stopped).  Example: shuhai open harvest 省平台"""
    from shuhai.access.policy import operator
    from shuhai.open.harvest import harvest

    out = harvest(_config(), source, viewer=operator())
    console.print(
        f"{out['source']['name']}: {out['status']} · 新增 {out['added']} · 更新 {out['updated']} · "
        f"失败 {out['failed']}" + (f" · {out['error']}" if out["error"] else "")
    )
    for e in out["errors"][:20]:
        console.print(f"  [yellow]{e['record']}[/]: {e['error']}")
    if out["status"] != "done":
        raise typer.Exit(1)
