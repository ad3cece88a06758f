"""CSV in every encoding departments use: detected, overridable, and refused when declared wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuhai.errors import RejectedFile
from shuhai.ingest.readers import open_source
from tests.conftest import write

TEXT = "身份证号,姓名\n110101199001011234,张三\n110101199001011235,李四\n"


def rows(stream) -> list[dict]:  # noqa: ANN001
    out = []
    for tb in stream.batches:
        out += tb.to_pylist()
    return out


@pytest.mark.parametrize(
    ("encoding", "bom", "detected"),
    [
        ("utf-8", False, "utf-8"),
        ("utf-8", True, "utf-8-sig"),
        ("gbk", False, "gb18030"),
        ("gb18030", False, "gb18030"),
    ],
)
def test_encodings_are_detected(tmp_path: Path, encoding: str, bom: bool, detected: str) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + TEXT.encode(encoding))
    stream = open_source(str(path))
    assert stream.encoding == detected
    assert stream.columns == ["身份证号", "姓名"]
    assert [r["姓名"] for r in rows(stream)] == ["张三", "李四"]


def test_encoding_can_be_given(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", TEXT, "gbk")
    assert [r["姓名"] for r in rows(open_source(str(path), encoding="GBK"))] == ["张三", "李四"]


def test_gbk_file_declared_as_utf8_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", TEXT, "gbk")
    with pytest.raises(RejectedFile) as info:
        open_source(str(path), encoding="utf-8")
    assert info.value.code == "ingest.bad_encoding" and "GB18030" in info.value.message


def test_tsv_and_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "a.tsv", "a\tb\n1\t2\n3\t4\n")
    stream = open_source(str(path))
    batches = list(stream.batches)
    assert batches[0].lines.to_pylist() == [2, 3]
    assert batches[0].to_pylist() == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_quoted_newlines_and_mixed_line_endings(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", 'a,b\r\n"x\ny",1\n2,3\r\n')
    assert rows(open_source(str(path))) == [{"a": "x\ny", "b": "1"}, {"a": "2", "b": "3"}]


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_cr_only_line_endings_are_read(tmp_path: Path, encoding: str) -> None:
    """Old Mac and some Excel exports end lines with CR alone: read as lines, numbered."""
    path = tmp_path / "cr.csv"
    path.write_bytes(TEXT.replace("\n", "\r").encode(encoding))
    stream = open_source(str(path))
    batches = list(stream.batches)
    assert stream.columns == ["身份证号", "姓名"]
    assert batches[0].lines.to_pylist() == [2, 3]
    assert [r["姓名"] for r in batches[0].to_pylist()] == ["张三", "李四"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_excel_unicode_text_utf16_with_bom_is_read(tmp_path: Path, codec: str) -> None:
    """Excel's "Unicode 文本" export: UTF-16 with a byte-order mark, tab-separated, CRLF."""
    bom = "\ufeff".encode(codec)
    path = tmp_path / "unicode.txt"
    path.write_bytes(bom + TEXT.replace(",", "\t").replace("\n", "\r\n").encode(codec))
    stream = open_source(str(path), format="csv")
    got = [r for b in stream.batches for r in b.to_pylist()]
    assert stream.columns == ["身份证号", "姓名"] and stream.encoding == "utf-16"
    assert got == [
        {"身份证号": "110101199001011234", "姓名": "张三"},
        {"身份证号": "110101199001011235", "姓名": "李四"},
    ]


@pytest.mark.parametrize("at", [2, 48_000])
def test_a_latin1_line_in_a_utf8_file_is_rejected_alone(tmp_path: Path, at: int) -> None:
    """One pasted Latin-1 line (here on line ``at``, inside or beyond the detection sample)
    does not make the whole file Cyrillic: the file is read as UTF-8, that line rejected with
    its number, every other line loaded."""
    good = [f"11010119900101{i:04d},张{i}" for i in range(50_000)]
    good[at - 2] = "110101199001019999,José Müller"
    body = ("身份证号,姓名\n" + "\n".join(good) + "\n").encode("utf-8")
    body = body.replace("José Müller".encode(), "José Müller".encode("latin-1"))
    path = tmp_path / "mixed.csv"
    path.write_bytes(body)
    stream = open_source(str(path))
    got = [r for b in stream.batches for r in b.to_pylist()]
    assert stream.encoding == "utf-8" and stream.columns == ["身份证号", "姓名"]
    assert len(got) == 49_999 and got[-1]["姓名"] == "张49999"
    assert [(r.line, r.reason_code) for r in stream.rejects] == [(at, "bad_encoding")]
    lines = [n for b in open_source(str(path)).batches for n in b.lines.to_pylist()]
    assert at not in lines and lines[-1] == 50_001


def test_a_wide_header_with_repeats_is_refused_at_once(tmp_path: Path) -> None:
    import time

    header = [f"c{i}" for i in range(100_000)] + ["c7", "c99"]
    path = write(
        tmp_path / "wide.csv", ",".join(header) + "\n" + ",".join("1" * len(header)) + "\n"
    )
    started = time.perf_counter()
    with pytest.raises(RejectedFile) as err:
        open_source(str(path))
    assert time.perf_counter() - started < 5  # was minutes: one count per column
    assert err.value.code == "ingest.duplicate_header" and "c7" in err.value.zh


def test_an_unterminated_quote_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", 'a,b\n1,2\n3,"oops\n5,6\n7,8\n')
    with pytest.raises(RejectedFile) as err:
        list(open_source(str(path)).batches)
    assert err.value.code == "ingest.unterminated_quote"
    assert "第 3 行" in err.value.zh and "Line 3" in err.value.en


def test_blocks_never_split_a_record(tmp_path: Path) -> None:
    body = "".join(f'{i},"多行\n值{i}"\n' for i in range(3000))
    path = write(tmp_path / "a.csv", "n,v\n" + body)
    got = rows(open_source(str(path), block_bytes=4096))
    assert len(got) == 3000 and got[2999] == {"n": "2999", "v": "多行\n值2999"}


def test_ragged_rows_are_rejected_with_their_line(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "a,b\n1,2\n3\n4,5,6\n7,8\n")
    stream = open_source(str(path))
    assert [r["a"] for r in rows(stream)] == ["1", "7"]
    assert [(r.line, r.reason_code) for r in stream.rejects] == [
        (3, "ragged_row"),
        (4, "ragged_row"),
    ]


def _gbk_with_bad_tail(tmp_path: Path) -> Path:
    body = "".join(
        f"11010119900101{i:04d},张{i}\n" for i in range(60000)
    )  # > 1 MB: past the detection sample
    path = tmp_path / "gbk.csv"
    path.write_bytes(("身份证号,姓名\n" + body).encode("gbk") + b"110101199001019999,\xff\xfe\n")
    return path


@pytest.mark.parametrize("iconv", [True, False])
def test_gbk_transcoding_with_and_without_iconv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, iconv: bool
) -> None:
    """GBK goes through the system iconv when present, Python's codec otherwise: same rows."""
    import shuhai.ingest.readers.csv as csv_reader

    if not iconv:
        monkeypatch.setattr(csv_reader.shutil, "which", lambda _name: None)
    path = write(
        tmp_path / "a.csv",
        "身份证号,姓名\n" + "".join(f"11010119900101{i:04d},張三{i}\n" for i in range(5000)),
        "gb18030",
    )
    got = rows(open_source(str(path), block_bytes=16 * 1024))
    assert len(got) == 5000 and got[4999] == {"身份证号": "110101199001014999", "姓名": "張三4999"}
    with pytest.raises(RejectedFile) as info:
        rows(open_source(str(_gbk_with_bad_tail(tmp_path)), block_bytes=64 * 1024))
    assert info.value.code == "ingest.bad_encoding"


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=40).map(lambda b: b.replace(b"\x01", b" ").replace(b"\x02", b"E+")),
    anchor=st.integers(0, 2),
)
def test_vectorized_substring_search_agrees_with_python(body: bytes, anchor: int) -> None:
    from shuhai.ingest.readers.csv import _has

    for needle in (b"E+", b"e+", b" ,", b"\n ", "\u3000".encode()):
        assert _has(body, needle, anchor % len(needle)) == (needle in body)
