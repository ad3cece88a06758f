"""Spark reads the lake (``shuhai[spark]``): a version read through Spark shows the encrypted
(L4) columns decrypted, filters on them work, and a process without the home's keyring gets a
clear error instead of ciphertext."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shuhai.config import Config
from shuhai.lake import LakeTable
from shuhai.lake import cipher as lake_cipher
from tests.lake.test_encryption import ID_A, ID_B, ID_BAD, load_people, stored_bytes


@pytest.fixture
def people(config: Config, tmp_path: Path) -> dict:
    return load_people(config, tmp_path)


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    if shutil.which("java") is None:
        pytest.fail("Spark needs Java: the Makefile installs a JRE")
    from pyspark.sql import SparkSession

    before = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers import shuhai too

    session = (
        SparkSession.builder.master("local[2]")
        .appName("shuhai-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    yield session
    session.stop()
    if before is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = before


def test_spark_reads_encrypted_columns_decrypted(
    config: Config,
    people: dict,
    spark: object,
    tmp_path: Path,
) -> None:
    from shuhai.lake.spark import read_version

    table = LakeTable(config.lake_dir, people["id"])
    assert ID_A.encode() not in stored_bytes(table.path)  # what Spark reads is ciphertext
    frame = read_version(spark, config.lake_dir, people["id"])
    assert dict(frame.dtypes)["身份证号"] == "string"
    rows = {r["身份证号"]: r["姓名"] for r in frame.collect()}
    assert rows == {ID_A: "张三", ID_B: "李四", ID_BAD: "王五"}
    assert [r["姓名"] for r in frame.where(frame["身份证号"] == ID_B).collect()] == ["李四"]
    # an earlier version reads too (time travel), decrypted the same way
    assert frame.count() == read_version(spark, config.lake_dir, people["id"], 0).count()


def test_spark_without_the_keyring_refuses(
    config: Config,
    people: dict,
    spark: object,
) -> None:
    from shuhai.lake.spark import read_version

    saved = dict(lake_cipher._KEYRINGS)
    lake_cipher._KEYRINGS.clear()  # a driver that never opened the home
    try:
        with pytest.raises(lake_cipher.KeyringMissing):
            read_version(spark, config.lake_dir, people["id"])
    finally:
        lake_cipher._KEYRINGS.update(saved)


def test_spark_reads_a_version_replaced_by_nothing(
    config: Config, people: dict, spark: object
) -> None:
    import pyarrow as pa

    from shuhai.lake.spark import read_version

    table = LakeTable(config.lake_dir, people["id"])
    schema = pa.schema([("身份证号", pa.string()), ("姓名", pa.string())])
    emptied = table.write_frames([], schema=schema, mode="replace", run_id=99)
    frame = read_version(spark, config.lake_dir, people["id"], emptied)
    assert frame.count() == 0 and dict(frame.dtypes)["身份证号"] == "string"
    assert read_version(spark, config.lake_dir, people["id"], emptied - 1).count() == 3
