"""Ingest benchmark (issue 3): typed, quarantining ingest vs ``polars.scan_csv(...).sink_parquet``.

Same file, same run: a person-like CSV with Chinese text (0.3% flawed rows), 1M and 5M rows,
UTF-8 and GBK. Each measurement runs in a fresh subprocess so peak RSS is its own.

    python bench/ingest.py [--rows 5000000] [--small 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

from _data import write_csv  # noqa: E402

POLARS = """
import sys, time, resource, polars as pl
t = time.perf_counter()
pl.scan_csv(sys.argv[1], infer_schema=False).sink_parquet(sys.argv[2])
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""

SHUHAI = """
import sys, time, resource, shutil
sys.path.insert(0, sys.argv[3])
from _data import ITEMS
from shuhai.config import Config
from shuhai.platform import open_home
from shuhai.catalog import Catalog
from shuhai.ingest import ingest
shutil.rmtree(sys.argv[2], ignore_errors=True)
cfg = open_home(Config.from_env({}, home=sys.argv[2]))
cat = Catalog(cfg)
cat.add_department({"name": "公安", "code": "GA"})
res = cat.register({"name": "人口", "department": "GA", "classification": "101001", "items": ITEMS})
if sys.argv[4] == "plain":  # 身份证号 graded L3: stored without SM4 (the cost of encryption)
    from shuhai.access import grading
    grading.confirm(cfg, res["id"], {"身份证号": {"data_class": "重要", "level": "L3"}}, actor="bench")
t = time.perf_counter()
run = ingest(cfg, res["code"], sys.argv[1])
elapsed = time.perf_counter() - t
from shuhai.quality import wait_for_checks
wait_for_checks()  # the check after the run counts in the peak memory, not in the time
assert run["rows_in"] == run["rows_loaded"] + run["rows_quarantined"]
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, run["rows_in"], run["rows_loaded"], run["rows_quarantined"], run["encoding"])
"""


def measure(code: str, *args: str) -> tuple[list[str], int]:
    """Run a measurement in a fresh interpreter; sample its RSS every 20 ms for the peak.

    (``ru_maxrss`` of a child is not used: across fork and exec it keeps the parent's peak.)
    """
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"measurement failed: {code[:60]}")
    return out.strip().splitlines()[-1].split(), peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument(
        "--huge", type=int, default=0, help="also a UTF-8 file this large (e.g. 10000000)"
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    files = {}
    sizes = [(args.small, "utf-8"), (args.rows, "utf-8"), (args.rows, "gbk")]
    if args.huge:
        sizes.append((args.huge, "utf-8"))
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
    results = []
    runs = [(n, enc, "encrypted") for n, enc in sizes] + [(args.rows, "utf-8", "plain")]
    for n, enc, stored in runs:
        path, ref = files[(n, enc)], files[(n, "utf-8")]
        p_out, p_rss = measure(POLARS, str(ref), str(OUT / "polars.parquet"))
        p_time = float(p_out[0])
        s, s_rss = measure(SHUHAI, str(path), str(OUT / "home"), str(HERE), stored)
        s_time = float(s[0])
        row = {
            "rows": n,
            "encoding": enc,
            "身份证号": stored,
            "file_mb": round(path.stat().st_size / 1e6),
            "polars_utf8_s": round(p_time, 2),
            "polars_rows_per_s": round(n / p_time),
            "shuhai_s": round(s_time, 2),
            "shuhai_rows_per_s": round(n / s_time),
            "ratio_vs_polars_utf8": round(p_time / s_time, 3),
            "shuhai_peak_rss_mb": round(s_rss / 2**20),
            "polars_peak_rss_mb": round(p_rss / 2**20),
            "loaded": int(s[3]),
            "quarantined": int(s[4]),
            "detected_encoding": s[5],
        }
        results.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    (OUT / "ingest.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print("\nrows       enc    身份证号    shuhai rows/s  polars rows/s  ratio  shuhai RSS MB")
    for r in results:
        print(
            f"{r['rows']:>9,}  {r['encoding']:<5}  {r['身份证号']:<9}  {r['shuhai_rows_per_s']:>13,}  {r['polars_rows_per_s']:>13,}  {r['ratio_vs_polars_utf8']:>5}  {r['shuhai_peak_rss_mb']:>8}"
        )
    print(
        "targets: UTF-8 ratio >= 0.5, GBK ratio >= 0.3, peak RSS < 2048 MB and flat from 1M to 5M rows"
        " (身份证号 is L4, so SM4-encrypted in the lake; the last row grades it L3: no encryption)"
    )


if __name__ == "__main__":
    main()
