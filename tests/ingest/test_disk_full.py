"""A full disk under the lake: the load fails with a clear message (507), no partial version is
made, the versions already stored stay whole and readable, the run is recorded as failed, and
the same load succeeds once there is room.

The disk is a real 2 MB tmpfs where this machine lets the test mount one (root); elsewhere the
lake's Parquet writer is made to fail with the error Polars gives for ENOSPC (the one fault a
real part cannot be made to produce without a mount)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from shuhai.config import Config
from shuhai.errors import StorageFull
from shuhai.ingest import ingest, list_runs
from shuhai.lake import LakeTable
from shuhai.platform import open_home
from tests.conftest import register_persons


def _source(path: Path, rows: int, start: int = 0) -> Path:
    pl.DataFrame(
        {
            "身份证号": [f"1101051949{i:07d}" for i in range(start, start + rows)],
            "姓名": [f"人{i}" for i in range(start, start + rows)],
            "出生日期": ["1949-12-31"] * rows,
            "月收入": [str(i % 1000) for i in range(rows)],
        }
    ).write_csv(path)
    return path


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Config, str]]:
    """A home whose lake lives on a 2 MB disk: (config, how the disk is full)."""
    config = open_home(Config.from_env({}, home=str(tmp_path / "home")))
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True
        ).returncode
        == 0
    )
    if mounted:
        shutil.rmtree(config.lake_dir)
        config.lake_dir.symlink_to(disk, target_is_directory=True)
    try:
        yield config, "tmpfs" if mounted else "injected"
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill_on_write(monkeypatch: pytest.MonkeyPatch) -> None:
    real = pl.DataFrame.write_parquet

    def full(self: pl.DataFrame, file: object, *args: object, **kwargs: object) -> object:
        if str(file).startswith(os.environ["SHUHAI_TEST_LAKE"]):
            raise pl.exceptions.ComputeError(
                "parquet: File out of specification: underlying IO error: "
                "No space left on device (os error 28)"
            )
        return real(self, file, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.DataFrame, "write_parquet", full)


def test_a_full_disk_makes_no_version_and_loses_nothing(
    small_disk: tuple[Config, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, how = small_disk
    res = register_persons(config)
    first = ingest(config, res["id"], str(_source(tmp_path / "small.csv", 1000)))
    assert first["status"] == "succeeded"
    if how == "injected":
        monkeypatch.setenv("SHUHAI_TEST_LAKE", str(config.lake_dir))
        _fill_on_write(monkeypatch)
    big = _source(tmp_path / "big.csv", 300_000, start=1000)  # about 9 MB of Parquet
    with pytest.raises(StorageFull) as caught:
        ingest(config, res["id"], str(big))
    assert caught.value.status == 507 and caught.value.code == "ingest.disk_full"
    assert "磁盘空间已满" in caught.value.message and "no version" in caught.value.message
    table = LakeTable(config.lake_dir, res["id"])
    assert table.latest_version() == first["lake_version"]
    kept = table.open(table.dataset().to_table(), table.stored_schema())
    assert kept.num_rows == 1000 and len(set(kept["身份证号"].to_pylist())) == 1000
    failed = list_runs(config, res["id"])[0]
    assert (failed["status"], failed["error_code"], failed["lake_version"]) == (
        "failed",
        "ingest.disk_full",
        None,
    )
    # the partial files of the failed write are gone: a small load fits again
    monkeypatch.undo()  # (the injected fault, when there was no disk to fill)
    again = ingest(config, res["id"], str(_source(tmp_path / "more.csv", 500, start=5000)))
    assert again["status"] == "succeeded" and table.count() == 1500


def test_the_command_says_the_disk_is_full(
    small_disk: tuple[Config, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, how = small_disk
    res = register_persons(config)
    big = _source(tmp_path / "big.csv", 300_000)
    if how == "tmpfs":  # the command as a user runs it, in a process of its own
        env = {**os.environ, "SHUHAI_HOME": str(config.home)}
        cli = [sys.executable, "-c", "from shuhai.cli import main; main()"]
        out = subprocess.run(
            [*cli, "ingest", str(res["id"]), str(big)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        code, text = out.returncode, out.stdout + out.stderr
    else:  # the injected fault lives in this process: the command runs here
        from typer.testing import CliRunner

        from shuhai.cli import app

        monkeypatch.setenv("SHUHAI_HOME", str(config.home))
        monkeypatch.setenv("SHUHAI_TEST_LAKE", str(config.lake_dir))
        _fill_on_write(monkeypatch)
        out = CliRunner().invoke(app, ["ingest", str(res["id"]), str(big)])
        code, text = out.exit_code, out.output
    assert code != 0
    assert "磁盘空间已满" in text and "Traceback" not in text
    assert LakeTable(config.lake_dir, res["id"]).latest_version() is None
