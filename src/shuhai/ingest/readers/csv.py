"""CSV / TSV reader: any of UTF-8 (BOM or not), GBK, GB18030; streamed in blocks by pyarrow."""

from __future__ import annotations

import codecs
import csv as pycsv
import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from shuhai.errors import RejectedFile
from shuhai.ingest import encoding as enc
from shuhai.ingest.source import HashingReader, RejectedRow, SourceStream, TextBatch


def open_csv(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    block_bytes: int = 16 << 20,
) -> SourceStream:
    """Open a delimited text file; the header row names the columns."""
    path = Path(path)
    with open(path, "rb") as fh:
        sample = fh.read(enc.SAMPLE_BYTES)
    if not sample.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise RejectedFile("ingest.empty_file", "文件为空", "The file is empty")
    if enc.looks_binary(sample):
        raise RejectedFile(
            "ingest.binary_file",
            "文件不是文本表格（含有二进制数据），请检查文件类型",
            "The file is not delimited text (it holds binary data); check the file type",
        )
    codec = enc.detect(path, encoding)
    text = sample.decode(codec, errors="replace")
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() == ".tsv" or first_line.count("\t") > first_line.count(",") else ","
    header = next(pycsv.reader(io.StringIO(first_line.rstrip("\r")), delimiter=delimiter), [])
    header = [h.strip().lstrip("\ufeff") for h in header]
    _check_header(header)

    rejects: list[RejectedRow] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        rejects.append(
            RejectedRow(
                line=row.number,
                reason_code="ragged_row",
                reason=f"字段数为 {row.actual_columns}，应为 {row.expected_columns} / "
                f"{row.actual_columns} fields, expected {row.expected_columns}",
                text=row.text[:2000],
            )
        )
        return "skip"

    stream = SourceStream(kind="csv", columns=header, batches=iter(()), rejects=rejects, encoding=codec)
    raw = HashingReader(open(path, "rb"), stream.hasher)
    try:
        reader = pacsv.open_csv(
            raw,
            read_options=pacsv.ReadOptions(
                encoding=codec if codec not in ("utf-8", "utf-8-sig") else "utf8",
                block_size=block_bytes,
                skip_rows=1,
                column_names=header,
                use_threads=True,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError) as exc:
        raw.close()
        raise _parse_error(exc) from exc
    stream.batches = _batches(reader, raw)
    stream.description = str(path)
    return stream


def _batches(reader: pacsv.CSVStreamingReader, raw: HashingReader) -> Iterator[TextBatch]:
    seen = 0
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError) as exc:
                raise _parse_error(exc) from exc
            n = batch.num_rows
            if n == 0:
                continue
            # Line numbers: the header is line 1; records are counted in order.
            lines = pa.array(range(seen + 2, seen + 2 + n), pa.int64())
            seen += n
            yield TextBatch(batch, lines)
    finally:
        raw.close()


def _check_header(header: list[str]) -> None:
    if not header or all(not h for h in header):
        raise RejectedFile("ingest.no_header", "文件缺少表头行", "The file has no header row")
    empty = [i + 1 for i, h in enumerate(header) if not h]
    if empty:
        raise RejectedFile(
            "ingest.empty_header",
            f"表头第 {empty} 列为空",
            f"Header columns {empty} are empty",
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise RejectedFile(
            "ingest.duplicate_header",
            f"表头列名重复：{'、'.join(dupes)}",
            f"Duplicate header names: {', '.join(dupes)}",
            details=[{"column": d, "error": "duplicate / 重复"} for d in dupes],
        )


def _parse_error(exc: BaseException) -> RejectedFile:
    text = str(exc)
    if "straddling" in text or "block size" in text.lower():
        return RejectedFile(
            "ingest.record_too_large",
            "有一条记录大于解析块（可能是未闭合的引号或超大单元格），文件整体拒收",
            "A record is larger than the parse block (an unterminated quote or a huge cell); file rejected",
        )
    if "quote" in text.lower() or "end of file" in text.lower():
        return RejectedFile(
            "ingest.unterminated_quote",
            f"引号未闭合，文件无法解析：{text[:200]}",
            f"Unterminated quote; the file cannot be parsed: {text[:200]}",
        )
    if "utf8" in text.lower() or "utf-8" in text.lower() or isinstance(exc, UnicodeDecodeError):
        return RejectedFile(
            "ingest.bad_encoding",
            "文件中有无法按所选编码解码的字节，请用 --encoding 指定正确编码",
            "The file has bytes that do not decode in the chosen encoding; give the right one with --encoding",
        )
    return RejectedFile("ingest.parse_error", f"文件无法解析：{text[:300]}", f"The file cannot be parsed: {text[:300]}")


__all__ = ["open_csv"]
