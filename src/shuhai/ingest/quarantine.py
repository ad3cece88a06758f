"""Quarantine (隔离区): rows that failed typing or could not be parsed, kept with line and reason.

Each run writes one Parquet file ``quarantine/r<resource>/run<id>.parquet`` with the source's text
columns, ``_line``, ``_reasons`` and, for records that could not be split into fields, ``_raw``.
The metadata database keeps the counts per column and reason. Columns the lake stores encrypted
(核心 / L4) are encrypted here too, under the resource's data key, and so is ``_raw`` (a whole
source line) when the resource has any; the file's schema records it, as the lake's does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq

from shuhai.errors import NotFound
from shuhai.ingest.source import RejectedRow
from shuhai.lake import cipher
from shuhai.lake.schema import LINE_COLUMN


def quarantine_path(quarantine_dir: Path, resource_id: int, run_id: int) -> Path:
    return Path(quarantine_dir) / f"r{resource_id}" / f"run{run_id}.parquet"


class QuarantineWriter:
    """Streams quarantined rows of one run to Parquet (created on the first bad row)."""

    def __init__(
        self,
        path: Path,
        header: list[str],
        keyring: cipher.Keyring | None = None,
        resource_id: int | None = None,
    ) -> None:
        self.path = path
        self.header = header
        self.keyring = keyring
        self.schema = pa.schema(
            [pa.field(h, pa.string()) for h in header]
            + [
                pa.field(LINE_COLUMN, pa.int64()),
                pa.field("_reasons", pa.string()),
                pa.field("_raw", pa.string()),
            ]
        )
        self.stored = self.schema
        if keyring is not None and resource_id is not None:
            sensitive = keyring.sensitive_columns(resource_id) & set(header)
            if sensitive:
                sensitive.add("_raw")
                key_id = keyring.key_for(resource_id)
                self.stored = pa.schema(
                    [
                        cipher.sealed_field(f, key_id) if f.name in sensitive else f
                        for f in self.schema
                    ]
                )
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if "_raw" not in table.column_names:
            table = table.append_column("_raw", pa.nulls(table.num_rows, pa.string()))
        table = table.select(self.schema.names).cast(self.schema)
        table = cipher.seal_table(table, self.stored, self.keyring)
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(str(self.path), self.stored, compression="zstd")
        self.writer.write_table(table)
        self.rows += table.num_rows

    def write_rejects(self, rejects: list[RejectedRow]) -> None:
        if not rejects:
            return
        n = len(rejects)
        columns: dict[str, Any] = {h: pa.nulls(n, pa.string()) for h in self.header}
        columns[LINE_COLUMN] = pa.array([r.line for r in rejects], pa.int64())
        columns["_reasons"] = pa.array([r.reason for r in rejects], pa.string())
        columns["_raw"] = pa.array([r.text for r in rejects], pa.string())
        self.write(pa.table(columns))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def read_quarantine(
    path: Path, *, limit: int = 100, offset: int = 0, keyring: cipher.Keyring | None = None
) -> dict[str, Any]:
    """One page of a run's quarantined rows, ordered by line (encrypted columns decrypted)."""
    if not path.exists():
        raise NotFound(
            "ingest.no_quarantine", "该导入没有隔离数据", "This run has no quarantined rows"
        )
    con = duckdb.connect(":memory:")
    try:
        total = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall()[0][0]
        page = con.sql(
            "SELECT * FROM read_parquet($p) ORDER BY _line NULLS LAST LIMIT $l OFFSET $o",
            params={"p": str(path), "l": limit, "o": offset},
        ).to_arrow_table()
    finally:
        con.close()
    page = cipher.open_table(page, keyring, pq.read_schema(path))
    rows = page.to_pylist()
    return {
        "total": int(total),
        "rows": [{k: v for k, v in r.items() if v is not None or k in ("_line",)} for r in rows],
    }


def read_rows(
    path: Path, columns: list[str], *, keyring: cipher.Keyring | None = None
) -> pa.Table | None:
    """All of a run's quarantined rows that were split into fields (``_raw`` empty), with the
    given text columns (those the file has), ``_line`` and ``_reasons``, decrypted; None when
    the run quarantined nothing."""
    if not path.exists():
        return None
    stored = pq.read_schema(path)
    wanted = [c for c in dict.fromkeys(columns) if c in stored.names]
    table = pq.read_table(path, columns=[*wanted, LINE_COLUMN, "_reasons", "_raw"])
    table = table.filter(pa.compute.is_null(table["_raw"])).drop_columns(["_raw"])
    return cipher.open_table(table, keyring, stored)


__all__ = ["QuarantineWriter", "quarantine_path", "read_quarantine", "read_rows"]
