"""Encoding detection (编码识别): UTF-8 with or without BOM, GBK / GB18030, detected and overridable."""

from __future__ import annotations

import codecs
from pathlib import Path

from charset_normalizer import from_bytes

from shuhai.errors import RejectedFile

SAMPLE_BYTES = 1 << 20
ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "gbk": "gb18030",  # GB18030 is a superset of GBK and GB2312: decode with it
    "gb2312": "gb18030",
    "gb18030": "gb18030",
    "cp936": "gb18030",
}


def normalize(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    if key in ALIASES:
        return ALIASES[key]
    try:
        return codecs.lookup(key).name
    except LookupError as exc:
        raise RejectedFile(
            "ingest.unknown_encoding", f"不支持的编码：{name}", f"Unsupported encoding: {name}"
        ) from exc


UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def looks_binary(sample: bytes) -> bool:
    """Binary data: NUL-heavy or full of control bytes that no text file has (UTF-16 text, as
    Excel's "Unicode 文本" export writes it, starts with its byte-order mark and is text)."""
    if not sample or sample.startswith(UTF16_BOMS):
        return False
    head = sample[:65536]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return head.count(0) > len(head) // 100 or controls > len(head) // 20


def detect(path: Path, declared: str | None = None) -> str:
    """Return the codec to read ``path`` with; check a declared one against the data."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
        more = bool(fh.read(1))
    if declared:
        codec = normalize(declared)
        _check(sample, codec, more, declared)
        if codec == "utf-8" and sample.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        return codec
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(UTF16_BOMS):  # Excel's "Unicode 文本": UTF-16 with a BOM, tab-separated
        return "utf-16"
    if _decodes(sample, "utf-8", more):
        return "utf-8"
    if mostly_utf8(sample, more):  # a line or two of Latin-1 in a UTF-8 file: those are rejected
        return "utf-8"
    if _decodes(sample, "gb18030", more):
        return "gb18030"
    best = from_bytes(sample).best()
    if best is None or best.encoding is None:
        raise RejectedFile(
            "ingest.bad_encoding",
            "文件编码无法识别，请用 --encoding 指定",
            "Unknown file encoding; give it with --encoding",
        )
    return normalize(best.encoding)


def mostly_utf8(sample: bytes, truncated: bool) -> bool:
    """A UTF-8 file with a few lines in another encoding (one pasted Latin-1 line): at most one
    line in a hundred fails to decode. GBK text decoded as UTF-8 fails on almost every line
    with Chinese in it, so it never passes."""
    lines = sample.split(b"\n" if b"\n" in sample else b"\r")
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut inside a character
    bad = 0
    for line in lines:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad += 1
    return 0 < bad <= len(lines) // 100  # a hundred lines at least to judge by


def _decodes(sample: bytes, codec: str, truncated: bool) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        decoder.decode(sample, final=not truncated)
    except UnicodeDecodeError:
        return False
    return True


def _check(sample: bytes, codec: str, truncated: bool, declared: str) -> None:
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        decoder.decode(sample, final=not truncated)
    except UnicodeDecodeError as exc:
        hint = (
            "gb18030"
            if codec.startswith("utf") and _decodes(sample, "gb18030", truncated)
            else None
        )
        zh_hint = f"；看起来是 {hint.upper()}（GBK）编码" if hint else ""
        en_hint = f"; it looks like {hint.upper()} (GBK)" if hint else ""
        raise RejectedFile(
            "ingest.bad_encoding",
            f"文件不是声明的 {declared} 编码（第 {exc.start} 字节起无法解码）{zh_hint}",
            f"The file is not in the declared encoding {declared} (undecodable from byte {exc.start}){en_hint}",
        ) from exc


__all__ = ["detect", "looks_binary", "mostly_utf8", "normalize"]
