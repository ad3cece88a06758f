"""Ingest benchmark (issues 3 and 16): ``shuhai ingest`` timed as the department officer meets it
— the whole command as a process, start-up and quality verdict included — side by side with
Polars (``scan_csv(...).sink_parquet``) and DuckDB (``COPY ... TO parquet``), each also a fresh
process, on the same person CSV (Chinese text, 0.3% flawed rows; 身份证号 graded L4 by default,
so stored SM4-encrypted).

For each file: wall time of each process, rows/s, the ratio to Polars, peak RSS (sampled every
20 ms), and the parts of the shuhai command: the load (the run's duration), the check (the
quality run's duration) and the rest (start-up, verdict printing, exit). Also ``shuhai --help``
and ``shuhai versions`` next to ``python -c pass``. A last run grades 身份证号 L3 (no encryption),
to show what encryption costs.

    python bench/ingest.py [--rows 5000000] [--small 2000000] [--huge 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from _data import write_csv  # noqa: E402

BIN = Path(sys.executable).parent
SHUHAI = [str(BIN / "shuhai")] if (BIN / "shuhai").exists() else [sys.executable, "-m", "shuhai"]

POLARS = """
import sys, polars as pl
pl.scan_csv(sys.argv[1], infer_schema=False).sink_parquet(sys.argv[2])
"""

DUCKDB = """
import sys, duckdb
duckdb.sql(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}', all_varchar = true)) TO '{sys.argv[2]}' (FORMAT PARQUET)")
"""

SETUP = """
import sys, shutil
sys.path.insert(0, sys.argv[2])
from _data import ITEMS
from shuhai.config import Config
from shuhai.platform import open_home
from shuhai.catalog import Catalog
shutil.rmtree(sys.argv[1], ignore_errors=True)
cfg = open_home(Config.from_env({}, home=sys.argv[1]))
cat = Catalog(cfg)
cat.add_department({"name": "公安", "code": "GA"})
res = cat.register({"name": "人口", "department": "GA", "classification": "101001", "items": ITEMS})
if sys.argv[3] == "plain":  # 身份证号 graded L3: stored without SM4 (the cost of encryption)
    from shuhai.access import grading
    grading.confirm(cfg, res["id"], {"身份证号": {"data_class": "重要", "level": "L3"}}, actor="bench")
print(res["code"])
"""

PARTS = """
import sys, json
from shuhai.platform import open_home
from shuhai.ingest import list_runs
from shuhai.quality import quality_history
cfg = open_home()
run = list_runs(cfg, 1, limit=1)[0]
checks = [q for q in quality_history(cfg, 1) if q["lake_version"] == run["lake_version"]]
print(json.dumps({"load_ms": run["duration_ms"], "check_ms": checks[-1]["duration_ms"] if checks else None,
                  "rows_in": run["rows_in"], "loaded": run["rows_loaded"], "quarantined": run["rows_quarantined"],
                  "encoding": run["encoding"], "failed_rows": checks[-1]["rows_failed"] if checks else None}))
"""


PEAK_WITH_CHILDREN: dict[str, int] = {}


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Wall time of a process from start to exit, its own peak RSS, its stdout (the peak with
    its children — the detached serving-index build — is kept in ``PEAK_WITH_CHILDREN``)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ps = psutil.Process(proc.pid)
    peak = together = 0
    while proc.poll() is None:
        try:
            own = ps.memory_info().rss
            peak = max(peak, own)
            together = max(together, own + sum(c.memory_info().rss for c in ps.children(True)))
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.02)
    PEAK_WITH_CHILDREN[cmd[0]] = together
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)[:120]}\n{err[-2000:]}")
    return elapsed, peak, out


def settle(timeout: float = 600) -> None:
    """Wait for the serving-index builds the commands left running (detached processes), so
    they do not slow the next measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [
            p
            for p in psutil.process_iter(["cmdline"])
            if "shuhai.plugins" in " ".join(p.info["cmdline"] or [])
        ]
        if not busy:
            return
        time.sleep(0.5)


def startup(env: dict[str, str]) -> dict[str, float]:
    """Median of five runs each: python -c pass, shuhai --help, shuhai versions 1."""
    out = {}
    for name, cmd in (
        ("python_pass_s", [sys.executable, "-c", "pass"]),
        ("shuhai_help_s", [*SHUHAI, "--help"]),
        ("shuhai_versions_s", [*SHUHAI, "versions", "1"]),
    ):
        out[name] = round(statistics.median(timed(cmd, env)[0] for _ in range(5)), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--small", type=int, default=2_000_000)
    parser.add_argument("--huge", type=int, default=0, help="also a UTF-8 file this large")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    sizes = [(args.small, "utf-8"), (args.rows, "utf-8"), (args.rows, "gbk")]
    if args.huge:
        sizes.append((args.huge, "utf-8"))
    files = {}
    for n, enc in sizes:
        path = OUT / f"persons_{n}_{enc}.csv"
        if not path.exists():
            t = time.perf_counter()
            write_csv(path, n, encoding=enc)
            print(
                f"generated {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f}s",
                flush=True,
            )
        files[(n, enc)] = path
    home = OUT / "home"
    env = {**os.environ, "SHUHAI_HOME": str(home)}
    results = []
    runs = [(n, enc, "encrypted") for n, enc in sizes] + [(args.small, "utf-8", "plain")]
    for n, enc, stored in runs:
        path, ref = files[(n, enc)], files[(n, "utf-8")]
        p_time, p_rss, _ = timed(
            [sys.executable, "-c", POLARS, str(ref), str(OUT / "polars.parquet")]
        )
        d_time, d_rss, _ = timed(
            [sys.executable, "-c", DUCKDB, str(ref), str(OUT / "duckdb.parquet")]
        )
        code = timed([sys.executable, "-c", SETUP, str(home), str(HERE), stored])[2].strip()
        s_time, s_rss, _ = timed([*SHUHAI, "ingest", code, str(path), "--mode", "replace"], env)
        settle()
        parts = json.loads(timed([sys.executable, "-c", PARTS], env)[2].strip().splitlines()[-1])
        assert parts["rows_in"] == parts["loaded"] + parts["quarantined"] == n
        load, check = parts["load_ms"] / 1000, (parts["check_ms"] or 0) / 1000
        row = {
            "rows": n,
            "encoding": enc,
            "身份证号": stored,
            "file_mb": round(path.stat().st_size / 1e6),
            "polars_s": round(p_time, 2),
            "duckdb_s": round(d_time, 2),
            "shuhai_s": round(s_time, 2),
            "shuhai_load_s": round(load, 2),
            "shuhai_check_s": round(check, 2),
            "shuhai_rest_s": round(s_time - load - check, 2),
            "shuhai_rows_per_s": round(n / s_time),
            "polars_rows_per_s": round(n / p_time),
            "ratio_vs_polars": round(p_time / s_time, 3),
            "ratio_vs_duckdb": round(d_time / s_time, 3),
            "shuhai_peak_rss_mb": round(s_rss / 2**20),
            "shuhai_with_index_child_rss_mb": round(PEAK_WITH_CHILDREN[SHUHAI[0]] / 2**20),
            "polars_peak_rss_mb": round(p_rss / 2**20),
            "duckdb_peak_rss_mb": round(d_rss / 2**20),
            "quarantined": parts["quarantined"],
            "failed_check_rows": parts["failed_rows"],
            "detected_encoding": parts["encoding"],
        }
        results.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    start = startup(env)
    print(json.dumps(start), flush=True)
    (OUT / "ingest.json").write_text(
        json.dumps({"runs": results, "startup": start}, ensure_ascii=False, indent=2)
    )
    print(
        "\nrows       enc    身份证号    shuhai s (load+check+rest)    polars s  duckdb s"
        "  ratio vs polars  shuhai RSS MB"
    )
    for r in results:
        print(
            f"{r['rows']:>9,}  {r['encoding']:<5}  {r['身份证号']:<9}  {r['shuhai_s']:>6} ({r['shuhai_load_s']}+{r['shuhai_check_s']}+{r['shuhai_rest_s']})"
            f"  {r['polars_s']:>8}  {r['duckdb_s']:>8}  {r['ratio_vs_polars']:>15}  {r['shuhai_peak_rss_mb']:>13}"
        )
    print(
        f"start-up: python -c pass {start['python_pass_s']} s · shuhai --help {start['shuhai_help_s']} s"
        f" · shuhai versions {start['shuhai_versions_s']} s"
    )
    print(
        "targets: whole command >= 0.5x Polars (UTF-8), >= 0.3x (GBK); peak RSS < 2048 MB and flat"
        " with size; shuhai --help and versions < 0.3 s"
    )
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
