"""``shuhai demo``: generate the demo city, register its catalog and load every source.

Deterministic for a seed. Sources land in ``<home>/demo_sources`` (or ``output``) with
``ground_truth.csv`` (every injected flaw: resource, row, column, flaw, value, original),
``truth_records.parquet`` (which person or enterprise each row is about), ``truth_cases.parquet``
(the people each hard linkage case involves, ``shuhai.demo.hard``) and ``manifest.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from shuhai.catalog import Catalog, export_xlsx
from shuhai.config import Config
from shuhai.demo.accounts import ACCOUNTS_FILE, DEMO_PASSWORD, create_accounts
from shuhai.demo.city import DEPARTMENTS, TABLES, Table
from shuhai.demo.flaws import conflict_addresses, conflict_names, inject
from shuhai.demo.hard import CASE_SCHEMA, wrap_ids
from shuhai.demo.population import make_city
from shuhai.demo.writers import as_text, write_csv, write_jsonl, write_sqlite, write_xlsx
from shuhai.ingest import ingest
from shuhai.platform import DEMO_MARKER, open_home
from shuhai.quality.compare import add_comparison, list_comparisons, run_comparison

READY_FILE = "DEMO_READY"  # a demo city fully generated and loaded (``shuhai demo --keep``)
EXT = {
    "csv": ".csv",
    "csv-bom": ".csv",
    "gbk": ".csv",
    "xlsx": ".xlsx",
    "sqlite": ".db",
    "jsonl": ".jsonl",
}


def _write(table: Table, index: int, text: pl.DataFrame, flaws: Any, out: Path) -> dict[str, Any]:
    dept_dir = out / table.dept
    dept_dir.mkdir(parents=True, exist_ok=True)
    visible = text.select([c for c in text.columns if not c.startswith("__")])
    if table.source == "sqlite":
        path = dept_dir / f"{table.dept.lower()}_system.db"
        name = f"t{index:02d}"
        write_sqlite(visible, path, name)
        return {"source": f"sqlite:///{path}", "table": name, "format": "sql", "encoding": None}
    path = dept_dir / f"{index:02d}_{table.name}{EXT[table.source]}"
    if table.source in ("csv", "csv-bom", "gbk"):
        encoding = write_csv(
            visible,
            path,
            encoding="gbk" if table.source == "gbk" else "utf-8",
            bom=table.source == "csv-bom",
            ragged=flaws.ragged_lines,
        )
        return {"source": str(path), "format": "csv", "encoding": encoding}
    if table.source == "xlsx":
        write_xlsx(visible, path, table.items, flaws.excel_numbers)
        return {"source": str(path), "format": "xlsx", "encoding": None}
    write_jsonl(visible, path)
    return {"source": str(path), "format": "jsonl", "encoding": "utf-8"}


def build_demo(
    config: Config | None = None,
    *,
    persons: int = 20000,
    seed: int = 2024,
    output: Path | None = None,
    load: bool = True,
    bases: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Generate, register and load the demo city; return counts and where the files are."""
    started = time.perf_counter()
    config = open_home(config)
    (config.home / DEMO_MARKER).write_text("演示数据 / demo data\n", encoding="utf-8")
    config.demo_mode = True
    config.profiles = True
    out = Path(output or config.home / "demo_sources")
    out.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _msg: None)
    rng = np.random.default_rng(seed)
    say("生成人口与企业 / generating persons and enterprises…")
    city = make_city(persons, seed)
    catalog = Catalog(config)
    for code, name, uscc in DEPARTMENTS:
        catalog.add_department({"name": name, "code": code, "uscc": uscc}, update=True)
    say("创建演示账号 / creating demo accounts…")
    accounts = create_accounts(config)
    truth: list[dict[str, Any]] = []
    records: list[pl.DataFrame] = []
    cases: list[pl.DataFrame] = [city.cases] if city.cases is not None else []
    manifest: list[dict[str, Any]] = []
    police_people: pl.DataFrame | None = None
    for index, table in enumerate(TABLES, start=1):
        say(f"生成 {table.name} / generating…")
        frame = table.build(city, rng)
        text = as_text(frame, table.date_style)
        flaws = inject(text, table, rng)
        flaws.frame, wrapped = wrap_ids(table.name, flaws.frame, rng, flaws.excel_numbers)
        cases.append(wrapped)
        if "__pidx" in flaws.frame.columns:
            excel = [t["row"] - 1 for t in flaws.truth if t["flaw"] == "excel_precision_loss"]
            if excel:
                cases.append(
                    pl.DataFrame(
                        {"case": "scientific", "pidx": flaws.frame["__pidx"].gather(excel)},
                        schema=CASE_SCHEMA,
                    )
                )
        extra = []
        if table.name == "参保人员信息":
            districts = dict(zip(city.districts["code"], city.districts["name"], strict=True))
            extra = conflict_addresses(flaws.frame, "联系地址", rng, city.streets, districts)
        if table.name == "纳税人登记信息":
            extra = conflict_names(
                flaws.frame, "法定代表人", rng, city.persons["name"].head(5000).to_list()
            )
        if table.name == "常住人口基本信息":
            police_people = flaws.frame
            flaws.ragged_lines = [
                "350102199901010000,多余字段,1,汉族,1999-01-01,福建省福州市鼓楼区,13800000000,额外",
                "不完整的行,2",
            ]
            n = flaws.frame.height
            extra = [
                {
                    "row": n + 1,
                    "column": "*",
                    "flaw": "ragged_row",
                    "value": flaws.ragged_lines[0],
                    "original": None,
                },
                {
                    "row": n + 2,
                    "column": "*",
                    "flaw": "ragged_row",
                    "value": flaws.ragged_lines[1],
                    "original": None,
                },
            ]
        res = catalog.register(table.catalog_entry(), update=True)
        where = _write(table, index, flaws.frame, flaws, out)
        hidden = [c for c in flaws.frame.columns if c.startswith("__")]
        if hidden:
            records.append(
                flaws.frame.select(hidden)
                .with_row_index("row", offset=1)
                .with_columns(pl.lit(res["code"]).alias("resource"))
                .select("resource", "row", *[pl.col(h).alias(h.strip("_")) for h in hidden])
            )
        for t in flaws.truth + extra:
            relative = where["source"].replace(f"sqlite:///{out}/", "").replace(f"{out}/", "")
            truth.append(
                {"resource": res["code"], "resource_name": table.name, "file": relative, **t}
            )
        manifest.append(
            {
                "resource": res["code"],
                "resource_id": res["id"],
                "name": table.name,
                "department": table.dept,
                **where,
            }
        )
    say("发布开放数据 / publishing open data…")
    publish_open(config, [m["resource"] for m in manifest])
    say("写入真值 / writing ground truth…")
    pl.DataFrame(
        truth,
        schema={
            "resource": pl.String,
            "resource_name": pl.String,
            "file": pl.String,
            "row": pl.Int64,
            "column": pl.String,
            "flaw": pl.String,
            "value": pl.String,
            "original": pl.String,
        },
        strict=False,
    ).write_csv(out / "ground_truth.csv")
    if records:
        pl.concat(records, how="diagonal_relaxed").write_parquet(out / "truth_records.parquet")
    # the hard linkage cases: which people each kind involves (demo.hard)
    pl.concat([*cases, *city.record_cases], how="vertical_relaxed").cast(CASE_SCHEMA).unique(
        maintain_order=True
    ).write_parquet(out / "truth_cases.parquet")
    updates = (
        _monthly_update(police_people, city, rng, out, manifest)
        if police_people is not None
        else []
    )
    (out / "manifest.json").write_text(
        json.dumps(
            {"seed": seed, "persons": persons, "tables": manifest, "updates": updates},
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    export_xlsx(catalog, out / "资源目录.xlsx")
    comparisons = [
        (
            {"resource": "参保人员信息", "item": "联系地址", "key": "身份证号"},
            {"resource": "常住人口基本信息", "item": "户籍地址", "key": "身份证号"},
        ),
        (
            {"resource": "纳税人登记信息", "item": "法定代表人", "key": "纳税人识别号"},
            {"resource": "企业登记基本信息", "item": "法定代表人", "key": "统一社会信用代码"},
        ),
    ]
    declared = {(c["left"]["item"], c["right"]["item"]) for c in list_comparisons(config)}
    totals = {"rows_loaded": 0, "rows_quarantined": 0, "runs": 0}
    if load:
        for entry in manifest + updates:
            say(f"导入 {entry['name']} / loading…")
            run = ingest(
                config,
                entry["resource"],
                entry["source"],
                mode=entry.get("mode", "replace"),
                key=entry.get("key"),
                format=entry["format"],
                table=entry.get("table"),
            )
            totals["rows_loaded"] += run["rows_loaded"]
            totals["rows_quarantined"] += run["rows_quarantined"]
            totals["runs"] += 1
    for left, right in comparisons:
        if (left["item"], right["item"]) not in declared:
            add_comparison(config, {"left": left, "right": right})
    if load:
        from shuhai.quality.plugin import wait_for_checks

        say("质量检查 / checking quality…")
        wait_for_checks()
        say("跨部门比对 / comparing departments…")
        for c in list_comparisons(config):
            run_comparison(config, c["id"])
        from shuhai.demo.bases import BASES
        from shuhai.entities.build import build_base
        from shuhai.entities.service import save_base

        for data in BASES if bases else []:
            say(f"构建{data['name']} / building the base database…")
            save_base(config, data)
            totals[data["name"]] = build_base(config, data["name"])["counts"]
    result = {
        "departments": len(DEPARTMENTS),
        "resources": len(TABLES),
        **totals,
        "flaws": len(truth),
        "output": str(out),
        "ground_truth": str(out / "ground_truth.csv"),
        "accounts": len(accounts),
        "demo_password": DEMO_PASSWORD,
        "accounts_file": str(config.home / ACCOUNTS_FILE),
        "seconds": time.perf_counter() - started,
    }
    if load:  # written last: a demo interrupted half-way is generated again, not kept
        (config.home / READY_FILE).write_text(json.dumps(result, ensure_ascii=False), "utf-8")
    return result


# 开放主题 of each demo department's datasets
THEMES_BY_DEPARTMENT = {
    "GA": "公共安全",
    "SCJG": "市场监管",
    "SW": "财税金融",
    "RS": "社保就业",
    "WJ": "健康卫生",
    "JY": "教育科技",
    "MZ": "民生服务",
    "HB": "资源环境",
    "JT": "道路交通",
    "TJ": "统计数据",
    "ZJ": "城建住房",
    "XY": "信用服务",
}


def publish_open(config: Config, resources: list[str]) -> int:
    """Publish every demo resource whose 开放属性 allows it, with a theme, keywords from its
    name, the city as its spatial coverage, and an entry in this year's opening plan."""
    import datetime as dt

    from shuhai.access.policy import operator
    from shuhai.open import OPENABLE, plan, publish
    from shuhai.open.search import query_words

    today = dt.date.today()
    n = 0
    for code in resources:
        res = Catalog(config).get(code)
        if res["open_type"] not in OPENABLE:
            continue
        plan(
            config,
            code,
            year=today.year,
            planned_date=dt.date(today.year, 1 + n % max(1, today.month), 15),
            note="演示开放计划 / demo plan",
            viewer=operator(),
        )
        words = [w for w in query_words(res["name"]) if len(w) > 1][:5]
        publish(
            config,
            code,
            {
                "theme": THEMES_BY_DEPARTMENT.get(res["department"]["code"], ""),
                "keywords": words,
                "spatial": "福建省福州市",
                "description": res["abstract"] or f"{res['department']['name']}开放的{res['name']}",
            },
            viewer=operator(),
        )
        n += 1
    return n


def _monthly_update(
    people: pl.DataFrame,
    city: Any,
    rng: np.random.Generator,
    out: Path,
    manifest: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """公安's next delivery: 1% of people moved (new address), loaded as an upsert (a second version)."""
    entry = next(m for m in manifest if m["name"] == "常住人口基本信息")
    valid = people.filter(pl.col("身份证号").is_not_null()).unique(
        "身份证号", keep="first", maintain_order=True
    )
    moved = valid.sample(fraction=0.01, seed=int(rng.integers(0, 2**31)))
    streets = city.streets.sample(
        n=max(1, moved.height), with_replacement=True, seed=int(rng.integers(0, 2**31))
    )
    names = dict(zip(city.districts["code"], city.districts["name"], strict=True))
    district = streets["district"].replace_strict(names, default="")
    house = pl.Series(rng.integers(1, 300, moved.height)).cast(pl.String)
    moved = moved.with_columns(
        ("福建省福州市" + district + streets["name"] + house + "号").alias("户籍地址")
    )
    path = out / "GA" / "01_常住人口基本信息_月度更新.csv"
    write_csv(moved.select([c for c in moved.columns if not c.startswith("__")]), path)
    return [
        {
            "resource": entry["resource"],
            "resource_id": entry["resource_id"],
            "name": "常住人口基本信息（月度更新）",
            "department": "GA",
            "source": str(path),
            "format": "csv",
            "encoding": "utf-8",
            "mode": "upsert",
            "key": ["身份证号"],
        }
    ]


__all__ = ["build_demo"]
