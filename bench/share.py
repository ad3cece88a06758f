"""Keyed lookup through the signed sharing API on a large resource, measured with wrk against
127.0.0.1, side by side in one run with the same lookup with signing, masking and audit off.

    python bench/share.py [--rows 10000000] [--seconds 20] [--connections 32]

1. a resource of ``--rows`` persons (身份证号, 姓名, 性别, 出生日期, 联系电话, 住址) is ingested
   through the normal ingest path and its serving index built;
2. the platform is served by uvicorn with 2 workers (``shuhai serve --workers 2``), nonces in
   Redis, audit to the metadata database; a department system calls
   ``GET /api/v1/share/{id}/rows?身份证号=eq.…`` — every request freshly signed with HMAC-SM3
   (pre-signed before the run, one nonce each, so no request is a replay);
3. the baseline is an app with the same serving index and the same query, unsigned, unmasked and
   unaudited, also on 2 workers; 身份证号 is L4, so it is stored SM4-encrypted in the lake and in
   the serving index for both, and looked up by its ciphertext;
   a third run asks the baseline app about a copy of the resource whose 身份证号 was graded L3
   (stored in plain text): the cost of encryption at rest on the lookup path;
4. wrk (Debian's package) drives both with the same connections and duration; each wrk thread
   replays its own share of the pre-signed requests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import polars as pl  # noqa: E402

from shuhai.access import grading, signing  # noqa: E402
from shuhai.catalog import Catalog  # noqa: E402
from shuhai.config import Config  # noqa: E402
from shuhai.ingest import ingest  # noqa: E402
from shuhai.platform import open_home  # noqa: E402
from shuhai.share import serving  # noqa: E402

WRK_SCRIPT = r"""
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end
function init(args)
  requests = {}
  local n = 0
  local i = 0
  local nthreads = tonumber(args[2])
  for line in io.lines(args[1]) do
    if i % nthreads == id then
      local path, headers = line:match("^(%S+)\t(.*)$")
      local h = {}
      for k, v in headers:gmatch("([^=;]+)=([^;]*)") do h[k] = v end
      n = n + 1
      requests[n] = wrk.format("GET", path, h)
    end
    i = i + 1
  end
  total = n
  next_request = 1
end
function request()
  local r = requests[next_request]
  next_request = next_request + 1
  if next_request > total then next_request = 1 end
  return r
end
function done(summary, latency, requests)
  local out = string.format(
    '{"requests": %d, "seconds": %.3f, "non2xx": %d, "errors": %d, "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000)
  io.stderr:write("WRK_JSON " .. out .. "\n")
end
"""

BASELINE_APP = '''
"""The same lookup with signing, masking and audit switched off (the bench's baseline)."""
import os
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from shuhai.config import Config
from shuhai.catalog.service import find_resource, resource_dict
from shuhai.db import session_scope
from shuhai.platform import open_home
from shuhai.share import serving

config = open_home(Config.from_env())  # the lake's keys: 身份证号 is stored encrypted
app = FastAPI()
RES = {}


@app.get("/plain/{rid}/rows")
async def rows(request: Request, rid: int):
    if rid not in RES:
        with session_scope(config.database_url) as s:
            RES[rid] = resource_dict(find_resource(s, rid))
    res = RES[rid]
    types = {it["name"]: it["data_type"] for it in res["items"]}
    filters = serving.parse_filters(list(request.query_params.multi_items()), types)
    columns = [it["name"] for it in res["items"]]
    page = serving.query(config, res, columns=columns, filters=filters, limit=1000)
    frame = page.frame.select(columns)
    return JSONResponse({"resource": res["code"], "version": page.version,
                         "rows": frame.to_dicts(), "next": page.next_cursor})
'''


def make_people(rows: int, path: Path) -> list[str]:
    """``rows`` persons as CSV (vectorized); returns a sample of their ID numbers to look up."""
    idx = pl.int_range(0, rows, eager=True)
    frame = pl.DataFrame(
        {
            "身份证号": "3501" + idx.cast(pl.String).str.zfill(13) + "X",
            "姓名": pl.Series(["张", "王", "李", "赵", "陈"]).gather(idx % 5)
            + pl.Series(["伟", "芳", "娜", "敏", "静", "强", "磊"]).gather(idx % 7),
            "性别": pl.Series(["1", "2"]).gather(idx % 2),
        }
    )
    births = pl.select(
        pl.date_range(pl.date(1950, 1, 1), pl.date(2009, 12, 31), "1d", eager=True)
    ).to_series()
    frame = frame.with_columns(
        births.gather(idx % len(births)).alias("出生日期"),
        ("138" + (idx % 100_000_000).cast(pl.String).str.zfill(8)).alias("联系电话"),
        ("福建省福州市鼓楼区" + (idx % 999 + 1).cast(pl.String) + "号").alias("住址"),
    )
    frame.write_csv(path)
    rng = random.Random(7)
    return [f"3501{i:013d}X" for i in (rng.randrange(rows) for _ in range(200_000))]


def _count(config: Config, action: str) -> int:
    from sqlalchemy import func, select

    from shuhai.db import AuditEntry, session_scope

    with session_scope(config.database_url) as s:
        return int(
            s.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
            )
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    app: str, port: int, env: dict[str, str], *, factory: bool, cwd: Path
) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    if factory:
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, start_new_session=True)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{app} did not start")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def run_wrk(url_base: str, requests_file: Path, script: Path, args: argparse.Namespace) -> dict:
    threads = 2
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{args.connections}",
            f"-d{args.seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url_base,
            "--",
            str(requests_file),
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(ln for ln in out.stderr.splitlines() if ln.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    result["rps"] = result["requests"] / result["seconds"]
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk (make bench installs it)")
    work = Path(tempfile.mkdtemp(prefix="shuhai-bench-share-"))
    home = work / "home"
    overrides = {"home": str(home)}
    if args.database_url:
        overrides["database_url"] = args.database_url
    config = open_home(Config.from_env({}, **overrides))
    cat = Catalog(config)
    cat.add_department({"name": "市公安局", "code": "GA"})
    cat.add_department({"name": "市人社局", "code": "RS"})
    res = cat.register(
        {
            "name": "常住人口基本信息",
            "department": "GA",
            "classification": "101001",
            "items": [
                {"name": "身份证号", "required": True},
                {"name": "姓名"},
                {"name": "性别"},
                {"name": "出生日期", "data_type": "D"},
                {"name": "联系电话"},
                {"name": "住址"},
            ],
            "key_columns": ["身份证号"],
        }
    )
    t = time.perf_counter()
    source = work / "people.csv"
    keys = make_people(args.rows, source)
    print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f}s", flush=True)
    plain_res = cat.register(
        {
            "name": "常住人口基本信息（明文对照）",
            "department": "GA",
            "classification": "101001",
            "items": res["items"],
            "key_columns": ["身份证号"],
        }
    )
    grading.confirm(
        config, plain_res["id"], {"身份证号": {"data_class": "重要", "level": "L3"}}, actor="bench"
    )
    for r, label in ((res, "身份证号 encrypted"), (plain_res, "plain text")):
        t = time.perf_counter()
        run = ingest(config, r["id"], str(source))
        took = time.perf_counter() - t
        print(f"ingested {run['rows_loaded']:,} rows ({label}) in {took:.1f}s", flush=True)
        built = serving.build_index(config, r["id"])
        print(f"serving index: {built['rows']:,} rows in {built['seconds']:.1f}s", flush=True)
    source.unlink()

    cred = signing.create_credential(config, "RS", name="社保系统")
    path = f"/api/v1/share/{res['id']}/rows"
    n = max(50_000, args.seconds * 4000)
    signed_file, plain_file = work / "signed.txt", work / "plain.txt"
    with signed_file.open("w") as f:
        for i in range(n):
            key = keys[i % len(keys)]
            h = {"X-Shuhai-AppKey": cred["app_key"]}
            h |= signing.sign(cred["app_secret"], "GET", path, [("身份证号", f"eq.{key}")])
            url = f"{path}?{quote('身份证号')}=eq.{key}"
            f.write(url + "\t" + ";".join(f"{k}={v}" for k, v in h.items()) + "\n")
    with plain_file.open("w") as f:
        for i in range(n):
            f.write(f"/plain/{res['id']}/rows?{quote('身份证号')}=eq.{keys[i % len(keys)]}\t\n")
    clear_file = work / "clear.txt"
    with clear_file.open("w") as f:
        for i in range(n):
            key = keys[i % len(keys)]
            f.write(f"/plain/{plain_res['id']}/rows?{quote('身份证号')}=eq.{key}\t\n")
    script = work / "replay.lua"
    script.write_text(WRK_SCRIPT)
    (work / "baseline_app.py").write_text(BASELINE_APP)

    env = {
        **os.environ,
        "SHUHAI_HOME": str(home),
        "SHUHAI_REDIS_URL": args.redis_url,
        "PYTHONPATH": str(ROOT / "src"),
        # the caller (人社) sees 公安's ID numbers masked: its lookups by ID are rate limited
        # (600 a minute by default); this measures throughput, so the limit is lifted
        "SHUHAI_MASKED_LOOKUPS_PER_MINUTE": "1000000000",
    }
    if args.database_url:
        env["SHUHAI_DATABASE_URL"] = args.database_url
    results = {}
    for name, app, factory, cwd, file in (
        ("signed, masked, audited", "shuhai.web.app:create_app", True, ROOT, signed_file),
        ("plain (no signing, masking, audit)", "baseline_app:app", False, work, plain_file),
        ("plain, 身份证号 stored unencrypted", "baseline_app:app", False, work, clear_file),
    ):
        port = free_port()
        proc = serve(
            app, port, {**env, "PYTHONPATH": f"{ROOT / 'src'}:{work}"}, factory=factory, cwd=cwd
        )
        try:
            # one call first: the answer must be right before it is fast
            import urllib.error
            import urllib.request

            line = file.read_text().splitlines()[-1]
            url, headers = line.split("\t")
            hdrs = dict(kv.split("=", 1) for kv in headers.split(";") if kv)
            if hdrs:  # a fresh signature: the pre-signed lines are for the run
                q = [("身份证号", "eq." + url.split("eq.")[1])]
                hdrs = {"X-Shuhai-AppKey": cred["app_key"]} | signing.sign(
                    cred["app_secret"], "GET", path, q
                )
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(f"http://127.0.0.1:{port}{url}", headers=hdrs)
                ) as r:
                    body = json.loads(r.read())
            except urllib.error.HTTPError as exc:
                sys.exit(f"{name}: {exc.code} {exc.read().decode()}")
            assert len(body["rows"]) == 1, body
            results[name] = run_wrk(f"http://127.0.0.1:{port}", file, script, args)
            results[name]["sample"] = body["rows"][0]
        finally:
            stop(proc)
        if factory:  # every signed call is in the trail, and the trail verifies
            from shuhai.access import audit

            results[name]["audited"] = _count(config, "share.rows")
            started = time.perf_counter()
            check = audit.verify(config)
            results[name]["verify"] = (check["ok"], check["entries"], time.perf_counter() - started)
    print()
    print(
        f"keyed lookup on {args.rows:,} rows, 2 workers, {args.connections} connections, "
        f"{args.seconds}s each (wrk):"
    )
    for name, r in results.items():
        print(
            f"  {name:38s} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms"
            f"  p99 {r['p99_ms']:6.2f} ms  non-2xx {r['non2xx']}  errors {r['errors']}"
        )
    signed, plain, clear = results.values()
    ok, entries, secs = signed["verify"]
    print(
        f"  audit trail: {signed['audited']:,} share.rows entries for "
        f"{signed['requests'] + 1:,} signed calls; verify ok={ok} over {entries:,} entries "
        f"in {secs:.1f}s"
    )
    print(
        f"  ratio signed/plain: throughput {signed['rps'] / plain['rps']:.2f}×, "
        f"p95 {signed['p95_ms'] / plain['p95_ms']:.2f}×"
    )
    print(
        f"  ratio encrypted/unencrypted storage (both plain calls): throughput "
        f"{plain['rps'] / clear['rps']:.2f}×, p95 {plain['p95_ms'] / clear['p95_ms']:.2f}×"
    )
    print(f"  signed answer: {signed['sample']}")
    print(f"  plain answer:  {plain['sample']}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
