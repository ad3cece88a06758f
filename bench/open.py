"""Open data benchmark (issue 17), every figure through the running server (``shuhai serve``,
its default configuration) beside a reference in the same run:

- search: p50/p95 of Chinese queries over N published datasets, on SQLite and on PostgreSQL;
  beside it the bare full-text index (the same FTS5 MATCH in sqlite3, no ranking or facets);
- ``datastore_search`` with a filter and the total on a 10M-row dataset; beside it Datasette
  (from PyPI) answering the same filter with its count on the same rows, in a SQLite file,
  without and with an index on the filtered column;
- a streamed 1M-row CSV download; beside it DuckDB ``COPY … TO`` of the same version's files;
- the home and dataset pages: bytes transferred on a first visit and time to first render in
  headless Chromium.

    python bench/open.py [--datasets 10000] [--rows 10000000] [--download-rows 1000000] [--no-pg]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "open"
BIN = Path(sys.executable).parent
SHUHAI = [str(BIN / "shuhai")] if (BIN / "shuhai").exists() else [sys.executable, "-m", "shuhai"]
PG_ADMIN = os.environ.get("SHUHAI_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")

SUBJECTS = [
    "社会保险参保",
    "最低生活保障",
    "机动车驾驶证",
    "企业营业执照",
    "环境空气质量",
    "公交线路站点",
    "统一社会信用代码",
    "住房公积金缴存",
    "医疗机构执业",
    "中小学学校名录",
    "养老机构床位",
    "行政处罚决定",
    "地区生产总值",
    "城镇登记失业",
    "商品房网签",
    "食品经营许可",
    "道路运输许可",
    "水质自动监测",
    "气象观测站点",
    "文化场馆开放",
    "旅游景区客流",
    "农产品价格",
    "交通违法处理",
    "建筑施工许可",
    "排污许可证",
    "药品零售企业",
    "社会组织登记",
    "婚姻登记办理",
    "残疾人证发放",
]
QUALIFIERS = ["月度统计", "年度汇总", "明细", "名录", "分区县统计", "季度报告", "日报", "信息"]
QUERIES = [
    "社保",
    "低保",
    "驾照",
    "医保",
    "营业执照",
    "空气",
    "公交",
    "信用代码",
    "公积金",
    "学校",
    "养老",
    "罚款",
    "GDP",
    "失业",
    "房价",
    "许可",
    "监测",
    "统计 年度",
    "企业 名录",
    "交通 违法",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(p(values, 0.5) * 1000, 1),
        "p95_ms": round(p(values, 0.95) * 1000, 1),
        "n": len(values),
    }


class Server:
    """``shuhai serve`` as a process (default workers), on a free port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [*SHUHAI, "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/v1/open/figures", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise SystemExit("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def seed(env: dict[str, str], n: int) -> float:
    """N resources registered and published through the library (one process)."""
    code = f"""
import random, sys
from shuhai.platform import open_home
from shuhai.catalog import Catalog
from shuhai.access.policy import operator
from shuhai.open import publish, THEMES
subjects, qualifiers = {SUBJECTS!r}, {QUALIFIERS!r}
cfg = open_home()
cat = Catalog(cfg)
rng = random.Random(7)
depts = [("D%02d" % i, "市第%d局" % i) for i in range(40)]
for code, name in depts:
    cat.add_department({{"name": name, "code": code}}, update=True)
themes = list(THEMES)
for i in range({n}):
    subject, q = rng.choice(subjects), rng.choice(qualifiers)
    code, dept = rng.choice(depts)
    res = cat.register({{"name": f"{{subject}}{{q}}{{i}}", "department": code,
        "classification": "3%02d%03d" % (i % 99 + 1, i % 999 + 1),
        "abstract": f"{{dept}}发布的{{subject}}{{q}}，按月更新，覆盖全市各区县。",
        "items": [{{"name": "统计期", "data_type": "C"}}, {{"name": subject[:4] + "数量", "data_type": "N"}}],
        "open_type": "无条件开放"}})
    publish(cfg, res["code"], {{"theme": rng.choice(themes), "keywords": [subject[:2], q[:2]]}}, viewer=operator())
"""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - started


def search_bench(env: dict[str, str], rounds: int) -> dict[str, object]:
    server = Server(env)
    try:
        client = httpx.Client(base_url=server.url, timeout=30)
        for q in QUERIES:  # warm: the segmenter's dictionary and the datasets' view load once
            client.get("/api/v1/open/datasets", params={"q": q})
        times, counts = [], {}
        rng = random.Random(1)
        for _ in range(rounds):
            q = rng.choice(QUERIES)
            t = time.perf_counter()
            r = client.get("/api/v1/open/datasets", params={"q": q, "limit": 20})
            times.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text[:300]
            counts[q] = r.json()["count"]
        return {**ms(times), "matches": counts}
    finally:
        server.stop()


def fts_reference(db: Path, rounds: int) -> dict[str, float]:
    """The bare FTS5 index answering the same boolean queries (what any FTS5 search costs)."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from shuhai.open.search import _fts5, compile_query

    con = sqlite3.connect(db)
    rng = random.Random(1)
    times = []
    for _ in range(rounds):
        expr = _fts5(compile_query(rng.choice(QUERIES)))
        t = time.perf_counter()
        con.execute("SELECT dataset_id FROM open_fts WHERE open_fts MATCH ?", (expr,)).fetchall()
        times.append(time.perf_counter() - t)
    return ms(times)


def air_csv(path: Path, n: int) -> None:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(1)
    stations = [f"站点{i:03d}" for i in range(500)]
    pl.DataFrame(
        {
            "监测日期": (pl.Series(rng.integers(0, 3650, n)).cast(pl.Int32) + 16000).cast(pl.Date),
            "监测站点": pl.Series(stations).gather(rng.integers(0, 500, n)),
            "空气质量指数": rng.integers(10, 300, n),
            "首要污染物": pl.Series(["PM2.5", "PM10", "O3", "NO2", "SO2", "CO"]).gather(
                rng.integers(0, 6, n)
            ),
        }
    ).write_csv(path)


REGISTER_AIR = """
from shuhai.platform import open_home
from shuhai.catalog import Catalog
cfg = open_home()
cat = Catalog(cfg)
cat.add_department({"name": "市生态环境局", "code": "HB"}, update=True)
for n, name in ((1, "空气质量日报"), (2, "空气质量日报（一百万行）")):
    cat.register({"name": name, "department": "HB", "classification": "20400%d" % n,
        "open_type": "无条件开放", "items": [{"name": "监测日期", "data_type": "D"},
        {"name": "监测站点", "data_type": "C"}, {"name": "空气质量指数", "data_type": "N"},
        {"name": "首要污染物", "data_type": "C"}]}, update=True)
"""


def datasette_bench(csv: Path, rounds: int, stations: list[str]) -> dict[str, object]:
    """Datasette on the same rows in SQLite: a filter and its count (Datasette's table JSON)."""
    import polars as pl

    db = OUT / f"{csv.stem}.db"
    if not db.exists():
        con = sqlite3.connect(db)
        con.execute(
            "CREATE TABLE air (监测日期 TEXT, 监测站点 TEXT, 空气质量指数 INTEGER, 首要污染物 TEXT)"
        )
        for batch in pl.read_csv(csv, infer_schema=False).iter_slices(500_000):
            con.executemany("INSERT INTO air VALUES (?, ?, ?, ?)", batch.rows())
        con.commit()
        con.close()
    out: dict[str, object] = {}
    for label in ("no_index", "indexed"):
        con = sqlite3.connect(db)
        if label == "indexed":
            con.execute("CREATE INDEX IF NOT EXISTS air_station ON air (监测站点)")
        else:
            con.execute("DROP INDEX IF EXISTS air_station")
        rows = con.execute("SELECT count(*) FROM air").fetchone()[0]
        con.close()
        out["rows"] = rows
        port = free_port()
        proc = subprocess.Popen(
            [
                str(BIN / "datasette"),
                "serve",
                str(db),
                "--port",
                str(port),
                "--setting",
                "sql_time_limit_ms",
                "20000",
                "--setting",
                "facet_time_limit_ms",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/{db.stem}/air.json"
            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/-/versions.json", timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.3)
            times, totals = [], []
            rng = random.Random(2)
            for _ in range(rounds):
                station = rng.choice(stations)
                t = time.perf_counter()
                r = httpx.get(url, params={"监测站点": station, "_size": 100}, timeout=60)
                times.append(time.perf_counter() - t)
                totals.append(r.json().get("filtered_table_rows_count"))
            if not any(x is not None for x in totals):
                raise SystemExit(f"Datasette gave no counts: {r.status_code} {r.text[:300]}")
            out[label] = {**ms(times), "totals_seen": sum(1 for x in totals if x is not None)}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return out


def datastore_bench(
    server: Server, name: str, rounds: int, stations: list[str]
) -> dict[str, object]:
    client = httpx.Client(base_url=server.url, timeout=60)
    client.get("/api/3/action/datastore_search", params={"resource_id": name, "limit": 1})
    times, totals = [], []
    rng = random.Random(2)
    for _ in range(rounds):
        station = rng.choice(stations)
        t = time.perf_counter()
        r = client.get(
            "/api/3/action/datastore_search",
            params={
                "resource_id": name,
                "filters": json.dumps({"监测站点": station}),
                "limit": 100,
            },
        )
        times.append(time.perf_counter() - t)
        totals.append(r.json()["result"]["total"])
    return {**ms(times), "mean_total": round(statistics.mean(totals))}


def download_bench(server: Server, home: Path, name: str, rid: int) -> dict[str, object]:
    import psutil

    target = OUT / "download.csv"
    takes = []
    for _ in range(3):  # the median of three (each server worker starts cold once)
        t = time.perf_counter()
        rows = 0
        with (
            httpx.stream(
                "GET", f"{server.url}/api/v1/open/datasets/{name}/download.csv", timeout=600
            ) as r,
            target.open("wb") as f,
        ):
            for chunk in r.iter_bytes():
                f.write(chunk)
                rows += chunk.count(b"\n")
        takes.append(time.perf_counter() - t)
    ours = statistics.median(takes)
    rss = max(
        (c.memory_info().rss for c in psutil.Process(server.proc.pid).children(recursive=True)),
        default=0,
    )
    listing = (
        "import json\nfrom shuhai.platform import open_home\nfrom shuhai.lake import LakeTable\n"
        f"print(json.dumps(LakeTable(open_home().lake_dir, {rid}).dataset().files))"
    )
    env = {**os.environ, "SHUHAI_HOME": str(home)}
    env.pop("SHUHAI_DATABASE_URL", None)
    found = subprocess.run(
        [sys.executable, "-c", listing], env=env, capture_output=True, text=True, check=True
    )
    files = json.loads(found.stdout.strip().splitlines()[-1])
    code = (
        "import sys, duckdb, json\n"
        "files = json.loads(sys.argv[1])\n"
        'duckdb.sql(f"COPY (SELECT 监测日期, 监测站点, 空气质量指数, 首要污染物 FROM read_parquet({files!r})) '
        "TO '{sys.argv[2]}' (HEADER)\")\n"
    )
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, json.dumps(files), str(OUT / "duck.csv")], check=True
    )
    duck = time.perf_counter() - t
    return {
        "shuhai_s": round(ours, 2),
        "duckdb_copy_s": round(duck, 2),
        "ratio_to_duckdb": round(duck / ours, 2),
        "rows": rows - 1,
        "server_worker_rss_mb": round(rss / 1e6),
        "files": len(files),
    }


def pages_bench(url: str, dataset: str) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    out: dict[str, object] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-background-networking"],
        )
        for label, path in (("home", "/open"), ("dataset", f"/open/datasets/{dataset}")):
            firsts = []
            sizes: list[int] = []
            for attempt in range(4):
                ctx = browser.new_context()
                page = ctx.new_page()
                got: list[int] = []
                page.on(
                    "requestfinished",
                    lambda req, got=got: got.append(
                        req.sizes()["responseBodySize"] + req.sizes()["responseHeadersSize"]
                    ),
                )
                page.goto(url + path, wait_until="load")
                paint = page.evaluate(
                    "performance.getEntriesByType('paint').filter(e => e.name === 'first-contentful-paint')"
                    ".map(e => e.startTime)[0] || performance.timing.domContentLoadedEventEnd - performance.timing.navigationStart"
                )
                if attempt:
                    firsts.append(float(paint))
                    sizes.append(sum(got))
                ctx.close()
            out[label] = {
                "transferred_kb": round(statistics.median(sizes) / 1024, 1),
                "first_render_ms": round(statistics.median(firsts)),
            }
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--download-rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-search", action="store_true", help="skip the search part")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"datasets": args.datasets, "rows": args.rows}

    # 1. search, SQLite and PostgreSQL
    backends = [] if args.no_search else ["sqlite"] + ([] if args.no_pg else ["postgresql"])
    for backend in backends:
        home = OUT / f"search_{backend}"
        shutil.rmtree(home, ignore_errors=True)
        env = {**os.environ, "SHUHAI_HOME": str(home)}
        admin = None
        if backend == "postgresql":
            from sqlalchemy import create_engine, text

            name = f"shuhai_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            env["SHUHAI_DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
        took = seed(env, args.datasets)
        print(f"{backend}: {args.datasets:,} datasets published in {took:.0f}s", flush=True)
        found = search_bench(env, args.rounds)
        entry: dict[str, object] = {"shuhai": found, "seed_s": round(took)}
        if backend == "sqlite":
            entry["fts5_alone"] = fts_reference(home / "shuhai.db", args.rounds)
        results[f"search_{backend}"] = entry
        print(
            f"search on {backend}: {found['p50_ms']} / {found['p95_ms']} ms (p50/p95)", flush=True
        )
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    # 2 and 3. datastore_search on the big dataset; the download of the 1M-row one
    home = OUT / "data_home"
    big, small = OUT / f"air_{args.rows}.csv", OUT / f"air_{args.download_rows}.csv"
    for path, n in ((big, args.rows), (small, args.download_rows)):
        if not path.exists():
            air_csv(path, n)
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "SHUHAI_HOME": str(home)}
    env.pop("SHUHAI_DATABASE_URL", None)
    subprocess.run([sys.executable, "-c", REGISTER_AIR], env=env, check=True)
    for code, path in (("204001/HB-00001", big), ("204002/HB-00002", small)):
        subprocess.run(
            [*SHUHAI, "ingest", code, str(path)], env=env, check=True, stdout=subprocess.DEVNULL
        )
        subprocess.run(
            [*SHUHAI, "open", "publish", code], env=env, check=True, stdout=subprocess.DEVNULL
        )
    stations = [f"站点{i:03d}" for i in range(500)]
    server = Server(env)
    try:
        results["datastore_search"] = {
            "shuhai": datastore_bench(server, "204001-hb-00001", args.rounds, stations),
            "datasette": datasette_bench(big, max(20, args.rounds // 10), stations),
        }
        print(
            "datastore_search:",
            json.dumps(results["datastore_search"], ensure_ascii=False),
            flush=True,
        )
        results["download_csv"] = download_bench(server, home, "204002-hb-00002", 2)
        print("download:", results["download_csv"], flush=True)
        results["pages"] = pages_bench(server.url, "204002-hb-00002")
        print("pages:", results["pages"], flush=True)
    finally:
        server.stop()
    if args.no_search and (OUT / "results.json").exists():  # keep the search figures of a full run
        kept = json.loads((OUT / "results.json").read_text("utf-8"))
        results = {**{k: v for k, v in kept.items() if k.startswith("search_")}, **results}
    (OUT / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), "utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
