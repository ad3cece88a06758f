"""Reading the lake with Apache Spark (``shuhai[spark]``), encrypted columns decrypted.

At scale the lake is read by Spark, not by a home-made cluster. A version's Parquet parts are
read by Spark itself (the file list comes from the Delta log, through ``deltalake``, so the
delta-spark jars are not needed); columns the lake stores SM4-encrypted (核心 / L4) are decrypted
on the executors, batch by batch in Arrow (``mapInArrow``), with the lake's own cipher. The
driver takes the data keys from the home's keyring (``open_home``) and ships them with the job:
a process without the keyring gets ``lake.no_keyring``, never ciphertext passed off as text.

    from pyspark.sql import SparkSession
    from shuhai.lake.spark import read_version

    spark = SparkSession.builder.getOrCreate()
    people = read_version(spark, config.lake_dir, resource_id)   # latest version
    people.where("身份证号 = '350102199003070012'").show()
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from shuhai.lake import cipher
from shuhai.lake.tables import LakeTable


def read_version(spark: Any, lake_dir: Path, resource_id: int, version: int | None = None) -> Any:
    """A Spark DataFrame of one version (latest by default) of a resource's table, its encrypted
    columns decrypted to strings."""
    from pyspark.sql.types import StringType, StructField, StructType

    table = LakeTable(lake_dir, resource_id)
    dataset = table.dataset(version)
    stored = table.stored_schema(version)
    sealed = cipher.encrypted_fields(stored)
    if not dataset.files:  # a version replaced by nothing: no rows, the version's columns
        from pyspark.sql.pandas.types import from_arrow_schema

        plain = pa.schema(
            [pa.field(f.name, pa.string()) if f.name in sealed else f for f in stored]
        )
        return spark.createDataFrame([], from_arrow_schema(plain))
    frame = spark.read.option("mergeSchema", "true").parquet(*dataset.files)
    sealed = {c: k for c, k in sealed.items() if c in frame.columns}
    if not sealed:
        return frame
    keyring = table.keyring()
    if keyring is None:
        raise cipher.no_keyring()
    ciphers = {column: keyring.cipher(key_id) for column, key_id in sealed.items()}
    schema = StructType(
        [
            StructField(f.name, StringType(), True) if f.name in ciphers else f
            for f in frame.schema.fields
        ]
    )

    def opened(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            columns = [
                ciphers[name].open(column).cast(pa.string()) if name in ciphers else column
                for name, column in zip(batch.schema.names, batch.columns, strict=True)
            ]
            yield pa.RecordBatch.from_arrays(columns, names=batch.schema.names)

    return frame.mapInArrow(opened, schema)


__all__ = ["read_version"]
