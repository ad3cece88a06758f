"""Catalog search benchmark (issue 3): p95 latency with 10,000 resources, next to a DuckDB ILIKE
scan over the same search texts.

    python bench/search.py [--resources 10000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import time
from pathlib import Path

import duckdb

from shuhai.catalog import Catalog, import_data
from shuhai.config import Config
from shuhai.platform import open_home

OUT = Path(__file__).resolve().parent / "out"
WORDS = [
    "人口",
    "企业",
    "营业执照",
    "社会保险",
    "婚姻",
    "学籍",
    "医疗",
    "税务",
    "信用",
    "交通",
    "住房",
    "环境",
    "统计",
    "许可",
    "处罚",
    "登记",
    "证书",
    "补贴",
    "车辆",
    "公积金",
]
KINDS = ["基本信息", "登记信息", "变更信息", "年度数据", "监测数据", "名单", "许可信息", "统计数据"]
QUERIES = [
    "营业执照",
    "人口",
    "社会保险 登记",
    "许可",
    "信用 名单",
    "执照营业",
    "不存在的词",
    "婚姻登记",
    "统计",
    "车辆",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument(
        "--database-url", default=None, help="e.g. postgresql://root@127.0.0.1:5432/test"
    )
    args = parser.parse_args()
    home = OUT / "search_home"
    shutil.rmtree(home, ignore_errors=True)
    if args.database_url:  # start from an empty catalog in that database
        from sqlalchemy import text

        from shuhai.db import Base, get_engine

        engine = get_engine(args.database_url)
        Base.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    config = open_home(Config.from_env({}, home=str(home), database_url=args.database_url))
    rng = random.Random(1)
    deps = [{"name": f"部门{i:02d}", "code": f"D{i:02d}"} for i in range(40)]
    resources = []
    for i in range(args.resources):
        name = f"{rng.choice(WORDS)}{rng.choice(WORDS)}{rng.choice(KINDS)}{i}"
        resources.append(
            {
                "name": name,
                "department": deps[i % 40]["code"],
                "classification": f"{rng.choice('123')}{rng.randint(1, 9):02d}{rng.randint(1, 99):03d}",
                "abstract": f"{name}的摘要，包括{rng.choice(WORDS)}相关内容",
                "items": [{"name": f"字段{j}", "description": rng.choice(WORDS)} for j in range(8)],
                "share_type": rng.choice(["无条件共享", "有条件共享"]),
                "share_condition": "依申请",
                "update_cycle": rng.choice(["每日", "每月", "每年"]),
            }
        )
    t = time.perf_counter()
    import_data(Catalog(config), {"departments": deps, "resources": resources})
    print(f"registered {args.resources:,} resources in {time.perf_counter() - t:.1f}s")
    cat = Catalog(config)
    texts = [r["name"] + " " + r["abstract"] for r in resources]
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest($1) AS text", [texts])
    ours, ref = [], []
    for _ in range(30):
        for q in QUERIES:
            t = time.perf_counter()
            cat.search(q, size=20)
            ours.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            terms = q.split()
            where = " AND ".join("text ILIKE ?" for _ in terms)
            con.execute(
                f"SELECT count(*) FROM t WHERE {where}", [f"%{w}%" for w in terms]
            ).fetchall()
            ref.append((time.perf_counter() - t) * 1000)

    def p95(xs: list[float]) -> float:
        return statistics.quantiles(xs, n=20)[18]

    print(
        f"shuhai catalog search (page + total + 4 facets): p50 {statistics.median(ours):.1f} ms  p95 {p95(ours):.1f} ms  (target p95 < 50 ms)"
    )
    print(
        f"duckdb ILIKE count over the same texts:          p50 {statistics.median(ref):.1f} ms  p95 {p95(ref):.1f} ms"
    )


if __name__ == "__main__":
    main()
