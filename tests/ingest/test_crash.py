"""Nothing lost when the process dies: ``shuhai ingest`` killed with SIGKILL at random points
(a real child process, ``kill -9``) leaves the last committed version readable and whole, the run
marked interrupted, and a re-run that succeeds without a row lost or repeated."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from shuhai.config import Config
from shuhai.ingest import ingest, list_runs
from shuhai.ingest.service import recover_interrupted
from shuhai.lake import LakeTable
from shuhai.platform import open_home
from tests.conftest import register_persons

ROWS = 200_000
KILLS = 20


def _source(path: Path) -> Path:
    ids = [f"1101051949{i:07d}" for i in range(ROWS)]
    pl.DataFrame(
        {
            "身份证号": ids,
            "姓名": [f"人{i}" for i in range(ROWS)],
            "出生日期": ["1949-12-31"] * ROWS,
            "月收入": [str(i % 1000) for i in range(ROWS)],
        }
    ).write_csv(path)
    return path


def _count(config: Config, rid: int) -> tuple[int, int]:
    table = LakeTable(config.lake_dir, rid)
    frame = pl.from_arrow(table.dataset(table.latest_version()).to_table(columns=["_line"]))
    assert isinstance(frame, pl.DataFrame)
    return frame.height, frame["_line"].n_unique()


def test_kill_9_at_twenty_points_loses_and_repeats_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = open_home(Config.from_env({}, home=str(home)))
    res = register_persons(config)
    src = _source(tmp_path / "people.csv")
    ingest(config, res["code"], str(src), mode="replace")
    assert _count(config, res["id"]) == (ROWS, ROWS)
    env = {**os.environ, "SHUHAI_HOME": str(home)}
    env.pop("SHUHAI_DATABASE_URL", None)
    cli = [sys.executable, "-c", "from shuhai.cli import main; main()"]
    started = time.perf_counter()  # one whole run as a process: the kills fall inside it
    whole = subprocess.run(
        [*cli, "ingest", res["code"], str(src), "--mode", "replace"], env=env, capture_output=True
    )
    assert whole.returncode == 0
    span = time.perf_counter() - started
    rng = random.Random(20261204)
    killed = 0
    for _ in range(KILLS):
        child = subprocess.Popen(
            [*cli, "ingest", res["code"], str(src), "--mode", "replace"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.25, 0.98) * span)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            killed += 1
        child.wait()
        # what the next process to open the home does: runs of dead processes are marked
        recover_interrupted(config)
        assert _count(config, res["id"]) == (ROWS, ROWS)
        assert all(r["status"] != "running" for r in list_runs(config, limit=100))
    assert killed >= KILLS // 2, "most kills must land while the ingest runs"
    runs = list_runs(config, limit=100)
    # a kill during start-up leaves no run, one during the quality check a finished run; every
    # run begun is finished or marked interrupted, and some kills fell inside a load
    assert {r["status"] for r in runs} <= {"succeeded", "interrupted"}
    assert any(r["status"] == "interrupted" for r in runs)
    done = subprocess.run(
        [*cli, "ingest", res["code"], str(src), "--mode", "replace"], env=env, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()
    assert _count(config, res["id"]) == (ROWS, ROWS)


def test_two_ingests_into_one_resource_at_once_are_serialized(tmp_path: Path) -> None:
    """Two departments' clerks append at the same moment (two processes): the lake's writer
    lock puts one after the other; both succeed and every row is there once."""
    home = tmp_path / "home"
    config = open_home(Config.from_env({}, home=str(home)))
    res = register_persons(config)
    half = ROWS // 4
    parts = []
    for n, start in enumerate((0, half)):
        path = tmp_path / f"part{n}.csv"
        pl.DataFrame(
            {
                "身份证号": [f"1101051949{i:07d}" for i in range(start, start + half)],
                "姓名": [f"人{i}" for i in range(start, start + half)],
                "出生日期": ["1949-12-31"] * half,
                "月收入": ["1"] * half,
            }
        ).write_csv(path)
        parts.append(path)
    env = {**os.environ, "SHUHAI_HOME": str(home)}
    env.pop("SHUHAI_DATABASE_URL", None)
    cli = [sys.executable, "-c", "from shuhai.cli import main; main()"]
    children = [
        subprocess.Popen(
            [*cli, "ingest", res["code"], str(p), "--mode", "append"],
            env=env,
            stderr=subprocess.PIPE,
        )
        for p in parts
    ]
    for child in children:
        _out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err.decode()
    table = LakeTable(config.lake_dir, res["id"])
    ids = pl.from_arrow(
        table.dataset(table.latest_version()).to_table(columns=["_run_id", "_line"])
    )
    assert isinstance(ids, pl.DataFrame)
    assert ids.height == 2 * half and ids.unique().height == 2 * half
    assert {r["status"] for r in list_runs(config, limit=10)} == {"succeeded"}
