"""The portal and API as users meet them, through the running server in its default
configuration (``shuhai serve``: one process per core), measured with wrk on 127.0.0.1, side by
side in one run with Datasette serving the same rows.

    python bench/web.py [--persons 5000] [--seconds 10] [--connections 16]

1. ``shuhai demo --persons N`` builds and loads the demo city into a temporary home;
2. ``shuhai serve`` answers (a) the anonymous home page ``/open`` (where ``/`` sends the public) and (b) a department officer's
   ``GET /api/v1/resources/1/data?limit=20`` (bearer token; decided, masked, audited);
3. Datasette (``datasette serve``, its defaults) answers (c) a row page, (d) its table page and
   (e) its JSON for the same 20 rows, the same resource's first 1,000 rows copied into SQLite;
4. wrk drives each for ``--seconds`` with ``--connections``; requests/s and p99 are printed with
   the ratios to Datasette.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from share import free_port, stop  # noqa: E402 - the same server helpers as bench/share.py

BIN = Path(sys.executable).parent


def start(cmd: list[str], port: int, env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(1.0)  # every worker up
                return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{cmd[0]} did not start")


def wrk(url: str, args: argparse.Namespace, headers: dict[str, str] | None = None) -> dict:
    """requests/s and p99 of ``url`` (after a 2-second warm-up that is not counted)."""
    extra = [a for k, v in (headers or {}).items() for a in ("-H", f"{k}: {v}")]
    warm = ["wrk", "-t2", f"-c{args.connections}", "-d2s", *extra, url]
    subprocess.run(warm, capture_output=True, check=True)
    cmd = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", *extra, url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * scale,
        "non_2xx": int(bad.group(1)) if bad else 0,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=5000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk (make bench installs it)")
    work = Path(tempfile.mkdtemp(prefix="shuhai-web-bench-"))
    home = work / "home"
    env = {**os.environ, "SHUHAI_HOME": str(home)}
    env.pop("SHUHAI_DATABASE_URL", None)
    shuhai = str(BIN / "shuhai")
    started = time.perf_counter()
    subprocess.run(
        [shuhai, "demo", "--persons", str(args.persons)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"demo city of {args.persons:,} persons loaded in {time.perf_counter() - started:.0f} s")

    # the same rows for Datasette: resource 1 as the officer sees it, in a SQLite file
    sys.path.insert(0, str(ROOT / "src"))
    from shuhai.config import Config
    from shuhai.lake import service as lake
    from shuhai.platform import open_home

    config = open_home(Config.from_env({"SHUHAI_HOME": str(home)}))
    page = lake.preview(config, 1, limit=1000)
    db = work / "same.db"
    con = sqlite3.connect(db)
    cols = page["columns"]
    con.execute(f"CREATE TABLE t ({', '.join(json.dumps(c) for c in cols)})")
    con.executemany(
        f"INSERT INTO t VALUES ({', '.join('?' * len(cols))})",
        [tuple(r.get(c) for c in cols) for r in page["rows"]],
    )
    con.commit()
    con.close()

    port = free_port()
    server = start([shuhai, "serve", "--port", str(port)], port, env)
    results: dict[str, dict] = {}
    try:
        import urllib.request

        from shuhai.demo.accounts import DEMO_PASSWORD as password

        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/sessions",
            data=json.dumps({"username": "ga_officer", "password": password}).encode(),
            headers={"content-type": "application/json"},
        )
        token = json.loads(urllib.request.urlopen(req).read())["token"]
        base = f"http://127.0.0.1:{port}"
        results["shuhai /open  (anonymous home page)"] = wrk(f"{base}/open", args)
        results["shuhai /api/v1/resources/1/data?limit=20 (officer)"] = wrk(
            f"{base}/api/v1/resources/1/data?limit=20", args, {"Authorization": f"Bearer {token}"}
        )
    finally:
        stop(server)
    dport = free_port()
    datasette = start([str(BIN / "datasette"), "serve", str(db), "--port", str(dport)], dport, env)
    try:
        base = f"http://127.0.0.1:{dport}"
        results["datasette /same/t/1 (row page)"] = wrk(f"{base}/same/t/1", args)
        results["datasette /same/t?_size=20 (table page)"] = wrk(f"{base}/same/t?_size=20", args)
        results["datasette /same/t.json?_size=20"] = wrk(f"{base}/same/t.json?_size=20", args)
    finally:
        stop(datasette)
    ref = results["datasette /same/t/1 (row page)"]["rps"]
    print(f"\nwrk, {args.connections} connections, {args.seconds} s each, 127.0.0.1:")
    for name, r in results.items():
        print(
            f"  {name:55s} {r['rps']:8.0f} req/s  p99 {r['p99_ms']:7.1f} ms"
            f"  ({r['rps'] / ref:.2f}x Datasette's row page){'  non-2xx ' + str(r['non_2xx']) if r['non_2xx'] else ''}"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
