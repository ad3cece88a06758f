"""JSON lines reader: chunks of lines parsed by Polars as text columns; a bad line is rejected alone.

Columns are the keys of the first object (later keys outside them are ignored and counted).
A chunk that Polars cannot parse is re-read line by line, only to find and reject the bad lines.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from shuhai.errors import RejectedFile
from shuhai.ingest.source import HashingReader, RejectedRow, SourceStream, TextBatch

CHUNK_BYTES = 8 << 20
MAX_DEPTH = 64  # nesting a table row can use; deeper is rejected (and never recursed into)
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)


# A number written as a float of 16 or more digits, or with an exponent, outside quotes: what a
# double-based serializer makes of an ID (4.40305200002294e+17). Polars would render it as 18
# plausible digits; the line-by-line path keeps it as written, so typing sees the precision loss.
FLOATY = re.compile(rb"[:\[,]\s*-?(?:\d+(?:\.\d*)?[eE][+-]?\d+|\d{16,}\.\d*)")


def _loads(raw: bytes) -> object:
    """A JSON line; a number longer than Python converts (4,300 digits) is kept as its text,
    for typing to judge, instead of failing with Python's own message."""
    try:
        return json.loads(raw)
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise
        return json.loads(raw, parse_int=str)


def _deep(chunk: bytes) -> bool:
    """Whether brackets in ``chunk`` nest deeper than MAX_DEPTH (counted without regard to
    strings: a cheap test that sends such chunks to the line-by-line path)."""
    b = np.frombuffer(chunk, dtype=np.uint8)
    step = np.isin(b, _OPEN).astype(np.int32) - np.isin(b, _CLOSE).astype(np.int32)
    return bool(step.size) and int(np.cumsum(step).max(initial=0)) > MAX_DEPTH


def _depth(value: object) -> int:
    """Nesting depth of a parsed value, without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        v, d = todo.pop()
        if isinstance(v, dict | list):
            deepest = max(deepest, d)
            todo.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def open_jsonl(path: Path) -> SourceStream:
    path = Path(path)
    with open(path, "rb") as fh:
        first = b""
        for raw in fh:
            if raw.strip():
                first = raw
                break
    if not first:
        raise RejectedFile("ingest.empty_file", "文件为空", "The file is empty")
    try:
        obj = json.loads(first.decode("utf-8-sig"))
        if _depth(obj) > MAX_DEPTH:
            raise ValueError(f"嵌套超过 {MAX_DEPTH} 层 / nested deeper than {MAX_DEPTH} levels")
    except RecursionError as exc:
        raise RejectedFile(
            "ingest.bad_json",
            f"第一行 JSON 嵌套过深（超过 {MAX_DEPTH} 层）",
            f"The first line is nested deeper than {MAX_DEPTH} levels",
        ) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise RejectedFile(
            "ingest.bad_json",
            f"第一行不是 JSON 对象：{exc}",
            f"The first line is not a JSON object: {exc}",
        ) from exc
    if not isinstance(obj, dict) or not obj:
        raise RejectedFile(
            "ingest.bad_json", "每行应为一个 JSON 对象", "Each line must be a JSON object"
        )
    columns = [str(k).strip() for k in obj]
    stream = SourceStream(kind="jsonl", columns=columns, batches=iter(()), encoding="utf-8")
    stream.batches = _batches(
        HashingReader(open(path, "rb"), stream.hasher, stream),  # noqa: SIM115 - the generator closes it
        columns,
        stream.rejects,
    )
    stream.description = str(path)
    stream.total_bytes = path.stat().st_size
    return stream


def _batches(
    raw: HashingReader, columns: list[str], rejects: list[RejectedRow]
) -> Iterator[TextBatch]:
    schema = {c: pl.String for c in columns}
    line = 0
    tail = b""
    try:
        while True:
            data = raw.read(CHUNK_BYTES)
            if not data and not tail:
                break
            chunk = tail + data
            if data:
                cut = chunk.rfind(b"\n") + 1
                chunk, tail = chunk[:cut], chunk[cut:]
                if not chunk:
                    tail = chunk + tail
                    continue
            else:
                tail = b""
            if chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
            n_lines = chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)
            batch = (
                _fast(chunk, schema)
                if b"\n\n" not in chunk
                and not chunk.startswith(b"\n")
                and not _deep(chunk)
                and not FLOATY.search(chunk)
                else None
            )
            if batch is not None and batch.num_rows == n_lines:
                lines = pa.array(range(line + 1, line + 1 + n_lines), pa.int64())
                yield TextBatch(batch, lines)
            else:
                yield _slow(chunk, columns, line, rejects)
            line += n_lines
    finally:
        raw.close()


def _fast(chunk: bytes, schema: dict[str, type[pl.String]]) -> pa.RecordBatch | None:
    try:
        frame = pl.read_ndjson(io.BytesIO(chunk), schema=schema, ignore_errors=False)
    except Exception:  # noqa: BLE001 - any parse problem sends the chunk to the careful path
        return None
    table = frame.to_arrow()
    table = table.cast(pa.schema([(c, pa.string()) for c in table.column_names]))
    return table.combine_chunks().to_batches()[0] if table.num_rows else None


def _slow(chunk: bytes, columns: list[str], line: int, rejects: list[RejectedRow]) -> TextBatch:
    values: dict[str, list[str | None]] = {c: [] for c in columns}
    lines: list[int] = []
    for n, raw in enumerate(chunk.split(b"\n"), start=line + 1):
        if not raw.strip():
            continue
        deep = f"JSON 嵌套过深（超过 {MAX_DEPTH} 层）/ JSON nested deeper than {MAX_DEPTH} levels"
        try:
            obj = _loads(raw)
            problem = (
                "不是 JSON 对象 / not a JSON object"
                if not isinstance(obj, dict)
                else deep
                if _depth(obj) > MAX_DEPTH
                else None
            )
        except RecursionError:
            problem = deep
        except (ValueError, UnicodeDecodeError) as exc:
            problem = f"不是有效的 JSON 对象 / not a JSON object: {exc}"
        if problem is not None:
            rejects.append(
                RejectedRow(n, "bad_json", problem, raw[:2000].decode("utf-8", "replace"))
            )
            continue
        assert isinstance(obj, dict)
        for c in columns:
            v = obj.get(c)
            values[c].append(
                None
                if v is None
                else v
                if isinstance(v, str)
                else json.dumps(v, ensure_ascii=False)
            )
        lines.append(n)
    arrays = [pa.array(values[c], pa.string()) for c in columns]
    return TextBatch(pa.RecordBatch.from_arrays(arrays, names=columns), pa.array(lines, pa.int64()))


__all__ = ["open_jsonl"]
