"""CSV / TSV reader: any of UTF-8 (BOM or not), GBK, GB18030; streamed in blocks by pyarrow."""

from __future__ import annotations

import codecs
import contextlib
import csv as pycsv
import fcntl
import io
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from shuhai.errors import RejectedFile
from shuhai.ingest import encoding as enc
from shuhai.ingest.source import (
    HashingReader,
    RejectedRow,
    SourceStream,
    TextBatch,
)


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
    # old Mac and some Excel exports end lines with CR alone: read them as newlines
    cr_only = "\n" not in text and "\r" in text
    first_line = text.lstrip("\ufeff").split("\r" if cr_only else "\n", 1)[0]
    if delimiter is None:
        delimiter = (
            "\t"
            if path.suffix.lower() == ".tsv" or first_line.count("\t") > first_line.count(",")
            else ","
        )
    header = next(pycsv.reader(io.StringIO(first_line.rstrip("\r")), delimiter=delimiter), [])
    header = [h.strip().lstrip("\ufeff") for h in header]
    _check_header(header)

    stream = SourceStream(kind="csv", columns=header, batches=iter(()), encoding=codec)
    stream.batches = _chunks(path, stream, header, codec, delimiter, block_bytes, cr_only)
    stream.description = str(path)
    stream.total_bytes = path.stat().st_size
    return stream


ICONV_NAMES = {"gb18030": "GB18030"}


def _utf8_blocks(path: Path, stream: SourceStream, codec: str, block_bytes: int) -> Iterator[bytes]:
    """The file as UTF-8 blocks, hashed as read. GB18030/GBK goes through the system's iconv in
    a separate process when there is one (about 5x faster than Python's codec here, and it runs
    beside parsing); other encodings use Python's incremental decoder."""
    if codec in ("utf-8", "utf-8-sig"):
        # One reusable buffer (the parser copies what it keeps), and the SHA-256 taken by a
        # thread that reads the file on its own: no 16 MB allocation per block for either.
        hasher = _hash_file(path, stream)
        try:
            with open(path, "rb", buffering=0) as fh:
                buffer = bytearray(block_bytes)
                first = True
                while n := fh.readinto(buffer):
                    stream.bytes_read += n
                    data = buffer if n == block_bytes else bytes(buffer[:n])
                    if first and data.startswith(codecs.BOM_UTF8):
                        data = bytes(data[3:])
                    first = False
                    yield data
        finally:
            hasher.join()
        return
    if codec in ICONV_NAMES and shutil.which("iconv"):
        yield from _iconv_blocks(path, stream, codec, block_bytes)
        return
    decoder = codecs.getincrementaldecoder(codec)()
    with open(path, "rb") as fh:
        raw = HashingReader(fh, stream.hasher, stream)
        while True:
            data = raw.read(block_bytes)
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise _parse_error(exc) from exc
            if text:
                yield text.encode("utf-8")
            if not data:
                return


def _hash_file(path: Path, stream: SourceStream, *, progress: bool = False) -> threading.Thread:
    """SHA-256 of the file, computed by a thread reading it on its own (hashlib releases the GIL,
    so this runs beside transcoding and parsing). Join the thread before reading the digest."""

    def digest() -> None:
        buffer = bytearray(1 << 20)
        view = memoryview(buffer)
        with open(path, "rb", buffering=0) as fh:
            while n := fh.readinto(buffer):
                stream.hasher.update(view[:n])
                if progress:
                    stream.bytes_read += n

    thread = threading.Thread(target=digest, name="shuhai-sha256", daemon=True)
    thread.start()
    stream.hash_thread = thread
    return thread


def _iconv_blocks(
    path: Path, stream: SourceStream, codec: str, block_bytes: int
) -> Iterator[bytes]:
    """iconv reads the file itself; a thread hashes the same file meanwhile (hashlib releases
    the GIL), so transcoding, hashing and parsing run side by side."""
    proc = subprocess.Popen(
        ["iconv", "-f", ICONV_NAMES[codec], "-t", "UTF-8", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    with contextlib.suppress(OSError, AttributeError):  # a larger pipe: fewer context switches
        fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)

    hasher = _hash_file(path, stream, progress=True)
    try:
        while data := proc.stdout.read(block_bytes):
            yield data
        hasher.join()
        if proc.wait() != 0:
            message = proc.stderr.read().decode("utf-8", "replace").strip()
            raise RejectedFile(
                "ingest.bad_encoding",
                f"文件中有无法按 {codec.upper()} 解码的字节（{message}），请用 --encoding 指定正确编码",
                f"The file has bytes that do not decode as {codec.upper()} ({message}); give the right one with --encoding",
            )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        hasher.join(timeout=30)
        proc.stdout.close()
        proc.stderr.close()


def _chunks(
    path: Path,
    stream: SourceStream,
    header: list[str],
    codec: str,
    delimiter: str,
    block_bytes: int,
    cr_only: bool = False,
) -> Iterator[TextBatch]:
    """Read the file in blocks cut at record boundaries and parse each block in parallel.

    A block is cut at the last newline outside quotes (quote parity), so a quoted value with a
    newline is never split. Unquoted blocks whose field counts check out are parsed by Polars;
    others by pyarrow, which reports ragged rows. Non-UTF-8 files are transcoded first.
    """
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    line = 1  # the header line
    carry = b""
    header_done = False
    blocks = _utf8_blocks(path, stream, codec, block_bytes)
    if cr_only:  # CR line ends (old Mac, some Excel exports) become newlines
        blocks = (bytes(b).replace(b"\r", b"\n") for b in blocks)
    while True:
        data = next(blocks, b"")
        at_end = not data
        if header_done and not at_end and b'"' not in data and b'"' not in carry:
            # The common case: no quoting. Cut after the block's last newline and copy the
            # carried tail and this block's records into the body once.
            cut = data.rfind(b"\n") + 1
            if cut > 0:
                body = b"".join((carry, memoryview(data)[:cut]))
                carry = data[cut:]
                newlines = _count(body, b"\n")
                yield from _parse_block(
                    body, header, delimiter, convert, line, stream.rejects, newlines
                )
                line += newlines
                continue
        chunk = b"".join((carry, data))  # a copy: ``data`` may be the reader's reusable buffer
        if not header_done:
            cut = _header_end(chunk, at_end)
            if cut is None:
                carry = chunk
                if at_end:
                    break
                continue
            line += chunk[:cut].count(b"\n") - 1
            chunk = chunk[cut:]
            header_done = True
        if at_end:
            body, carry = chunk, b""
            if _open_quote(body):
                opened = line + _open_quote_line(body) + 1
                raise RejectedFile(
                    "ingest.unterminated_quote",
                    f"第 {opened} 行有未闭合的引号（此后直到文件末尾都在引号内），"
                    f"请检查该行的双引号后重新提交",
                    f"Line {opened} opens a quote that is never closed (the rest of the file is "
                    f"inside it); check that line's double quotes and submit again",
                    details=[{"line": opened, "error": "unterminated quote / 引号未闭合"}],
                )
        else:
            cut = _record_boundary(chunk)
            if cut <= 0:
                if len(chunk) > 4 * block_bytes:
                    raise _record_too_large()
                carry = chunk
                continue
            body, carry = chunk[:cut], chunk[cut:]
        if body and not body.isspace():
            newlines = _count(body, b"\n")
            yield from _parse_block(
                body, header, delimiter, convert, line, stream.rejects, newlines
            )
            line += newlines
        if at_end:
            break


def _open_quote_line(body: bytes) -> int:
    """The line (0-based, in ``body``) whose quote is still open at the end: where the quote
    parity last turned odd."""
    parity, opened = 0, 0
    for i, raw in enumerate(body.split(b"\n")):
        before = parity
        parity = (parity + raw.count(b'"')) % 2
        if parity and not before:
            opened = i
    return opened


def _header_end(chunk: bytes, at_end: bool) -> int | None:
    cut = _first_record_end(chunk)
    if cut is None and at_end:
        return len(chunk)
    return cut


def _first_record_end(chunk: bytes) -> int | None:
    pos = 0
    while True:
        nl = chunk.find(b"\n", pos)
        if nl < 0:
            return None
        if chunk.count(b'"', 0, nl) % 2 == 0:
            return nl + 1
        pos = nl + 1


def _record_boundary(chunk: bytes) -> int:
    """End of the last complete record: the last newline with an even number of quotes before it."""
    if b'"' not in chunk:
        return chunk.rfind(b"\n") + 1
    total_quotes = chunk.count(b'"')
    end = len(chunk)
    while True:
        nl = chunk.rfind(b"\n", 0, end)
        if nl < 0:
            return 0
        if (total_quotes - chunk.count(b'"', nl)) % 2 == 0:
            return nl + 1
        end = nl


def _open_quote(rest: bytes) -> bool:
    return rest.count(b'"') % 2 == 1


def _parse_block(
    body: bytes,
    header: list[str],
    delimiter: str,
    convert: pacsv.ConvertOptions,
    first_line: int,
    rejects: list[RejectedRow],
    newlines: int,
) -> Iterator[TextBatch]:
    records = newlines + (0 if body.endswith(b"\n") else 1)
    if b'"' not in body and _count(body, delimiter.encode()) == (len(header) - 1) * records:
        # No quoting and every record has exactly the right number of fields: Polars' parallel
        # parser reads the block straight into the frame that typing works on.
        try:
            frame = pl.read_csv(
                body, has_header=False, new_columns=header, infer_schema=False, separator=delimiter
            )
        except pl.exceptions.PolarsError:
            frame = None
        if frame is not None and frame.height == records:
            lines = pa.array(np.arange(first_line + 1, first_line + 1 + records, dtype=np.int64))
            yield TextBatch(frame, lines, _absent(body, delimiter, parsed_by_polars=True))
            return
    multiline = b'"' in body and _QUOTED_NEWLINE.search(body) is not None
    found: list[pacsv.InvalidRow] = []

    def collect(row: pacsv.InvalidRow) -> str:
        found.append(row)
        return "skip"

    def parse(threads: bool, handler: object) -> pa.Table:
        return pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(
                column_names=header, use_threads=threads, block_size=4 << 20
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=multiline, invalid_row_handler=handler
            ),
            convert_options=convert,
        )

    try:
        table = parse(not multiline, collect)
        if found:  # rare: parse again serially to learn the line numbers of the bad rows
            found.clear()
            table = parse(False, collect)
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        if not _invalid_utf8(body):
            raise _parse_error(exc) from exc
        yield from _without_undecodable(body, header, delimiter, convert, first_line, rejects)
        return
    for row in found:
        rejects.append(
            RejectedRow(
                line=first_line + row.number if row.number is not None else None,
                reason_code="ragged_row",
                reason=f"字段数为 {row.actual_columns}，应为 {row.expected_columns} / "
                f"{row.actual_columns} fields, expected {row.expected_columns}",
                text=row.text[:2000],
            )
        )
    if table.num_rows:
        numbers = np.arange(first_line + 1, first_line + 1 + table.num_rows, dtype=np.int64)
        if found and not multiline:  # the rows kept are the records not skipped
            skipped = {first_line + r.number for r in found if r.number is not None}
            every = np.arange(first_line + 1, first_line + 1 + records, dtype=np.int64)
            kept = every[~np.isin(every, np.fromiter(skipped, dtype=np.int64))]
            if kept.size == table.num_rows:
                numbers = kept
        yield TextBatch(table, pa.array(numbers), _absent(body, delimiter))


def _invalid_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _without_undecodable(
    body: bytes,
    header: list[str],
    delimiter: str,
    convert: pacsv.ConvertOptions,
    first_line: int,
    rejects: list[RejectedRow],
) -> Iterator[TextBatch]:
    """A block of a UTF-8 file with lines in another encoding: each such line is rejected with
    its number (the rest of the file is not decoded as something it is not); the runs of good
    lines between them are parsed as blocks of their own."""
    lines = body.split(b"\n")
    start, run = 0, []
    for i, raw in enumerate(lines):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if run:
                segment = b"\n".join(run) + b"\n"
                yield from _parse_block(
                    segment, header, delimiter, convert, first_line + start, rejects, len(run)
                )
            rejects.append(
                RejectedRow(
                    line=first_line + i + 1,
                    reason_code="bad_encoding",
                    reason=f"该行不是 UTF-8 编码（第 {exc.start + 1} 个字节起），请按 UTF-8 另存后重新提交此行 / "
                    f"this line is not UTF-8 (from byte {exc.start + 1}); save it as UTF-8 and resend it",
                    text=raw[:2000].decode("utf-8", "replace"),
                )
            )
            start, run = i + 1, []
            continue
        run.append(raw)
    while run and not run[-1]:
        run.pop()  # the block's final newline
    if run:
        segment = b"\n".join(run) + b"\n"
        yield from _parse_block(
            segment, header, delimiter, convert, first_line + start, rejects, len(run)
        )


WINDOW = 1 << 20  # compare in 1 MB windows: the temporary masks stay small and are reused


def _count(body: bytes, byte: bytes) -> int:
    """Occurrences of one byte, with NumPy's vectorized compare (about 4x ``bytes.count``)."""
    arr = np.frombuffer(body, dtype=np.uint8)
    value = byte[0]
    return sum(
        int(np.count_nonzero(arr[i : i + WINDOW] == value)) for i in range(0, arr.size, WINDOW)
    )


FULL_WIDTH_SPACE = "\u3000".encode()


def _absent(body: bytes, delimiter: str = ",", parsed_by_polars: bool = False) -> frozenset[str]:
    """What a scan of the raw block rules out for every value in it (single bytes at memchr
    speed; multi-byte patterns through NumPy, anchored on one of their bytes)."""
    absent = set()
    if b"\x00" not in body:
        absent.add("nul")
    if b"+" not in body or not (_has(body, b"E+") or _has(body, b"e+")):
        absent.add("sci")
    if parsed_by_polars and _no_padding(body, delimiter.encode()):
        absent.add("padding")  # no value starts or ends with white space; empty fields are null
    return frozenset(absent)


def _has(body: bytes, needle: bytes, anchor: int = -1) -> bool:
    """``needle in body``, vectorized: find the anchor byte, then compare the bytes around it.
    (CPython's substring search takes ~10 ms per 16 MB when a short needle is absent.)"""
    arr = np.frombuffer(body, dtype=np.uint8)
    k = anchor % len(needle)
    for start in range(0, arr.size, WINDOW):
        pos = np.flatnonzero(arr[start : start + WINDOW] == needle[k]) + start
        pos = pos[(pos >= k) & (pos < arr.size - (len(needle) - 1 - k))]
        if pos.size == 0:
            continue
        hit = np.ones(pos.size, dtype=bool)
        for i, byte in enumerate(needle):
            if i != k:
                hit &= arr[pos - k + i] == byte
        if hit.any():
            return True
    return False


def _no_padding(body: bytes, delim: bytes) -> bool:
    """True when no field can start or end with the padding typing trims (see typing.PADDING)."""
    if b"\t" in body or b"\x0b" in body or b"\x0c" in body:
        return False
    if b"\xe3" in body and _has(body, FULL_WIDTH_SPACE, anchor=0):
        return False
    if b" " not in body:
        return True
    if body.startswith(b" "):
        return False
    return not any(
        _has(body, p, anchor=p.index(b" "))
        for p in (b" " + delim, delim + b" ", b" \n", b" \r", b"\n ")
    )


_QUOTED_NEWLINE = re.compile(rb'"[^"]*\n[^"]*"')


def _record_too_large() -> RejectedFile:
    return RejectedFile(
        "ingest.record_too_large",
        "有一条记录大于解析块（可能是未闭合的引号或超大单元格），文件整体拒收",
        "A record is larger than the parse block (an unterminated quote or a huge cell); file rejected",
    )


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
    seen: set[str] = set()
    dupes = sorted({h for h in header if h in seen or seen.add(h)})  # one pass, any width
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
    return RejectedFile(
        "ingest.parse_error",
        f"文件无法解析：{text[:300]}",
        f"The file cannot be parsed: {text[:300]}",
    )


__all__ = ["open_csv"]
