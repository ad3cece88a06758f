"""Open data leaving the platform (开放数据下载与调用): previews, files and API pages of a
published dataset, each through the policy point (decided, read, masked, audited) and each
recorded with an id that the file itself carries (可追溯开放).

Files are generated from a lake version as it is read, batch by batch, so memory stays bounded
whatever the size: CSV (UTF-8 with a BOM, so Excel opens it in Chinese), XLSX, JSON and
Parquet. Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) are made
inert with a leading apostrophe in CSV and XLSX. The id is in the file name and the response
header of every format, in the workbook's properties (XLSX), the file's key-value metadata
(Parquet) and the document (JSON); a CSV's record is its sidecar, ``/api/v1/open/downloads/{id}``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from shuhai.access.policy import Decision, Viewer, apply, authorize, record
from shuhai.config import Config
from shuhai.db import OpenDownload, session_scope
from shuhai.errors import InvalidInput, NotFound
from shuhai.lake import LakeTable
from shuhai.open.datasets import count_use, get_dataset

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "json": ("application/json", "json"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
}
BATCH_ROWS = 65_536
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet holds 1,048,576 rows, one of them the header
PREVIEW_ROWS = 50
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass
class Download:
    """A file being served: its id, name, media type, the version and the body's chunks."""

    id: str
    filename: str
    media_type: str
    version: int
    body: Iterator[bytes]


def _decide(config: Config, viewer: Viewer, dataset: dict[str, Any], action: str) -> Decision:
    return authorize(
        config,
        viewer,
        dataset["resource"]["id"],
        action=action,
        detail={"dataset": dataset["name"]},
        record_ok=False,
    )


def _version(table: LakeTable, version: int | None) -> int:
    if not table.exists() or table.latest_version() is None:
        raise NotFound("open.no_data", "该数据集还没有数据", "The dataset has no data yet")
    latest = int(table.latest_version() or 0)
    use = latest if version is None else version
    if not 0 <= use <= latest:
        raise NotFound("lake.version_not_found", f"版本 {use} 不存在", f"No version {use}")
    return use


def opened_columns(
    dataset: dict[str, Any], decision: Decision, stored: list[str] | None
) -> list[str]:
    """What the open-data routes serve this caller: the items the dataset opens that the caller
    may read (its own officer too sees only those here), in the catalog's order."""
    opened = set(dataset["columns"])
    return [c for c in decision.columns if c in opened and (stored is None or c in stored)]


def inert(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells a spreadsheet would evaluate (``=1+1``, ``@SUM(…)``, ``-2+3+cmd|…``, a leading
    tab or carriage return) get a leading apostrophe; plain numbers such as ``-3.5`` are kept."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            c = pl.col(name)
            risky = c.str.contains(r"^[=@\t\r]") | (
                c.str.contains(r"^[+-]") & ~c.str.contains(_PLAIN_NUMBER.pattern)
            )
            exprs.append(pl.when(risky).then(pl.lit("'") + c).otherwise(c).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def _batches(
    config: Config, dataset: dict[str, Any], decision: Decision, version: int
) -> tuple[list[str], Iterator[pl.DataFrame]]:
    """The opened, masked columns of a version, batch by batch (system columns left out)."""
    table = LakeTable(config.lake_dir, dataset["resource"]["id"])
    data = table.dataset(version)
    columns = opened_columns(dataset, decision, data.schema.names)
    stored = pa.schema([data.schema.field(c) for c in columns])

    def frames() -> Iterator[pl.DataFrame]:
        for batch in data.to_batches(columns=columns, batch_size=BATCH_ROWS):
            if batch.num_rows == 0:
                continue
            opened = table.open(batch, stored)
            frame = pl.from_arrow(opened)
            assert isinstance(frame, pl.DataFrame)
            yield apply(frame, decision).select(columns)

    return columns, frames()


def _record(
    config: Config, viewer: Viewer, dataset: dict[str, Any], kind: str, version: int, address: str
) -> str:
    download_id = secrets.token_hex(8)
    with session_scope(config.database_url) as s:
        s.add(
            OpenDownload(
                id=download_id,
                dataset_id=dataset["id"],
                actor=viewer.name,
                kind=kind,
                lake_version=version,
                address=address[:64],
            )
        )
    record(
        config,
        viewer,
        "open.download" if kind != "api" else "open.api",
        dataset["resource"]["code"],
        detail={
            "download": download_id,
            "dataset": dataset["name"],
            "version": version,
            "format": kind,
        },
    )
    count_use(config, dataset["id"], "downloads" if kind != "api" else "api_calls")
    return download_id


def _finish(config: Config, download_id: str, rows: int) -> None:
    with session_scope(config.database_url) as s:
        row = s.get(OpenDownload, download_id)
        if row is not None:
            row.rows = rows


def download(
    config: Config,
    viewer: Viewer,
    name: str,
    fmt: str,
    *,
    version: int | None = None,
    address: str = "",
) -> Download:
    """A published dataset's version as a file, decided and recorded before the first byte."""
    if fmt not in FORMATS:
        raise InvalidInput(
            "open.bad_format",
            f"不支持的格式“{fmt}”，可选：{'、'.join(FORMATS)}",
            f"Unknown format {fmt!r}; one of {', '.join(FORMATS)}",
        )
    dataset = get_dataset(config, name)
    decision = _decide(config, viewer, dataset, "open.download")
    table = LakeTable(config.lake_dir, dataset["resource"]["id"])
    use = _version(table, version)
    if fmt == "xlsx" and table.count(use) > XLSX_MAX_ROWS:
        raise InvalidInput(
            "open.too_many_rows_for_xlsx",
            "数据超过 Excel 工作表的行数上限（1,048,576 行），请下载 CSV 或 Parquet",
            "More rows than an Excel sheet holds (1,048,576): download CSV or Parquet",
        )
    columns, frames = _batches(config, dataset, decision, use)
    download_id = _record(config, viewer, dataset, fmt, use, address)
    meta = {
        "download": download_id,
        "dataset": dataset["name"],
        "title": dataset["title"],
        "publisher": dataset["publisher"]["name"],
        "version": use,
        "licence": dataset["licence"],
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    writer = {"csv": _csv, "xlsx": _xlsx, "json": _json, "parquet": _parquet}[fmt]
    media, ext = FORMATS[fmt]
    return Download(
        download_id,
        f"{dataset['name']}-v{use}-{download_id}.{ext}",
        media,
        use,
        _counted(config, download_id, writer(columns, frames, meta)),
    )


def _counted(
    config: Config, download_id: str, chunks: Iterator[tuple[bytes, int]]
) -> Iterator[bytes]:
    rows = 0
    for chunk, n in chunks:
        rows += n
        if chunk:
            yield chunk
    _finish(config, download_id, rows)


def _csv(
    columns: list[str], frames: Iterator[pl.DataFrame], meta: dict[str, Any]
) -> Iterator[tuple[bytes, int]]:
    header = io.BytesIO()
    pl.DataFrame(schema={c: pl.String for c in columns}).write_csv(header)
    yield b"\xef\xbb\xbf" + header.getvalue(), 0
    for frame in frames:
        buf = io.BytesIO()
        inert(frame).write_csv(buf, include_header=False)
        yield buf.getvalue(), frame.height


def _json(
    columns: list[str], frames: Iterator[pl.DataFrame], meta: dict[str, Any]
) -> Iterator[tuple[bytes, int]]:
    head = json.dumps({**meta, "fields": columns}, ensure_ascii=False)[:-1]
    yield (head + ', "records": [').encode(), 0
    first = True
    for frame in frames:
        buf = io.BytesIO()
        frame.write_ndjson(buf)
        lines = buf.getvalue().rstrip(b"\n").replace(b"\n", b",\n")
        yield (b"" if first else b",\n") + lines, frame.height
        first = False
    yield b"]}\n", 0


class _Sink:
    """A write-only file for the Parquet writer whose bytes are handed out as they come."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _parquet(
    columns: list[str], frames: Iterator[pl.DataFrame], meta: dict[str, Any]
) -> Iterator[tuple[bytes, int]]:
    import pyarrow.parquet as pq

    sink = _Sink()
    writer = None
    metadata = {b"shuhai.download": json.dumps(meta, ensure_ascii=False).encode()}
    for frame in frames:
        table = frame.to_arrow()
        if writer is None:
            schema = table.schema.with_metadata(metadata)
            writer = pq.ParquetWriter(sink, schema, compression="zstd")
        writer.write_table(table.cast(writer.schema))
        yield sink.take(), frame.height
    if writer is None:
        empty = pa.schema([pa.field(c, pa.string()) for c in columns]).with_metadata(metadata)
        writer = pq.ParquetWriter(sink, empty)
    writer.close()
    yield sink.take(), 0


def _xlsx(
    columns: list[str], frames: Iterator[pl.DataFrame], meta: dict[str, Any]
) -> Iterator[tuple[bytes, int]]:
    """A write-only workbook (rows go to a temporary file as they come; the zip is sent whole
    at the end, as the format needs its directory last)."""
    import tempfile

    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.identifier = meta["download"]
    wb.properties.title = meta["title"]
    wb.properties.creator = meta["publisher"]
    wb.properties.description = json.dumps(meta, ensure_ascii=False)
    ws = wb.create_sheet("data")
    ws.append(columns)
    rows = 0
    for frame in frames:
        for row in inert(frame).iter_rows():
            ws.append(list(row))
        rows += frame.height
        yield b"", frame.height
    with tempfile.TemporaryFile() as tmp:
        wb.save(tmp)
        tmp.seek(0)
        while chunk := tmp.read(1 << 20):
            yield chunk, 0


def preview(
    config: Config, viewer: Viewer, name: str, *, limit: int = PREVIEW_ROWS
) -> dict[str, Any]:
    """The first rows of the latest version, opened columns only, masked: one call."""
    if not 1 <= limit <= PREVIEW_ROWS:
        raise InvalidInput(
            "open.bad_limit", f"预览行数应在 1–{PREVIEW_ROWS}", f"limit must be 1–{PREVIEW_ROWS}"
        )
    dataset = get_dataset(config, name)
    decision = _decide(config, viewer, dataset, "open.preview")
    table = LakeTable(config.lake_dir, dataset["resource"]["id"])
    if not table.exists() or table.latest_version() is None:
        rows: list[dict[str, Any]] = []
        version = None
        total = 0
    else:
        version = _version(table, None)
        data = table.dataset(version)
        columns = opened_columns(dataset, decision, data.schema.names)
        head = data.head(limit, columns=columns)
        frame = pl.from_arrow(table.open(head, pa.schema([data.schema.field(c) for c in columns])))
        assert isinstance(frame, pl.DataFrame)
        masked = apply(frame, decision).select(columns)
        from shuhai.lake.service import table_rows

        rows = table_rows(masked.to_arrow())
        total = dataset["rows"]
    record(
        config,
        viewer,
        "open.preview",
        dataset["resource"]["code"],
        detail={"dataset": dataset["name"], "version": version, "rows": len(rows)},
    )
    count_use(config, dataset["id"], "views")
    return {
        "dataset": dataset["name"],
        "version": version,
        "total": total,
        "columns": opened_columns(dataset, decision, None),
        "masking": decision.masking,
        "rows": rows,
    }


def download_record(config: Config, download_id: str) -> dict[str, Any]:
    """What a download id leads back to: the dataset, version, format, rows and time (the
    person behind it is in the audit trail, for the auditor)."""
    if not re.fullmatch(r"[0-9a-f]{16}", download_id or ""):
        raise NotFound("open.download_not_found", "下载记录不存在", "No such download")
    with session_scope(config.database_url) as s:
        row = s.get(OpenDownload, download_id)
        if row is None:
            raise NotFound("open.download_not_found", "下载记录不存在", "No such download")
        from shuhai.db import OpenDataset

        ds = s.get(OpenDataset, row.dataset_id)
        return {
            "id": row.id,
            "dataset": ds.name if ds else None,
            "title": ds.title if ds else None,
            "format": row.kind,
            "version": row.lake_version,
            "rows": row.rows,
            "at": row.at.isoformat() if row.at else None,
        }
