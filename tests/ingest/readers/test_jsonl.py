"""JSON lines: text columns from the first object's keys; a bad line is rejected alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuhai.errors import RejectedFile
from shuhai.ingest.readers import open_source
from tests.conftest import write


def test_values_become_text_and_bad_lines_are_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.jsonl",
        '{"编号": 1, "名称": "甲"}\n{"编号": "2", "名称": null}\nnot json\n{"编号": 3.5, "名称": "丙", "多余": 1}\n',
    )
    stream = open_source(str(path))
    got = [r for tb in stream.batches for r in tb.to_pylist()]
    assert got == [
        {"编号": "1", "名称": "甲"},
        {"编号": "2", "名称": None},
        {"编号": "3.5", "名称": "丙"},
    ]
    assert [(r.line, r.reason_code) for r in stream.rejects] == [(3, "bad_json")]


def test_first_line_must_be_an_object(tmp_path: Path) -> None:
    with pytest.raises(RejectedFile):
        open_source(str(write(tmp_path / "a.jsonl", "[1, 2]\n")))
    with pytest.raises(RejectedFile):
        open_source(str(write(tmp_path / "b.jsonl", "\n\n")))


def test_a_deeply_nested_line_is_rejected_alone(tmp_path: Path) -> None:
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    also = '{"a": ' + "[" * 80 + "1" + "]" * 80 + "}"  # parses, but no table row nests so deep
    path = tmp_path / "deep.jsonl"
    path.write_text('{"a": "x"}\n' + deep + "\n" + also + '\n{"a": "y"}\n', encoding="utf-8")
    stream = open_source(str(path))
    got = [r for b in stream.batches for r in b.to_pylist()]
    assert [r["a"] for r in got] == ["x", "y"]
    assert [r.line for r in stream.rejects] == [2, 3]
    assert all("嵌套" in r.reason for r in stream.rejects)
    first = tmp_path / "first.jsonl"
    first.write_text(deep + "\n", encoding="utf-8")
    with pytest.raises(RejectedFile) as err:
        open_source(str(first))
    assert "嵌套" in err.value.zh


def test_an_id_sent_as_a_json_float_keeps_its_lost_digits_visible(tmp_path: Path) -> None:
    """A double-based serializer writes 440305200002294012 as 4.40305200002294e+17: the value
    stays as written (typing quarantines it as precision loss), never as 18 made-up digits."""
    path = tmp_path / "ids.jsonl"
    path.write_text(
        '{"id": "440305200002294012", "age": 3}\n'
        '{"id": 4.40305200002294e+17, "age": 4}\n'
        '{"id": 440305200002294012, "age": 5.5}\n',
        encoding="utf-8",
    )
    got = [r for b in open_source(str(path)).batches for r in b.to_pylist()]
    assert [r["id"] for r in got] == [
        "440305200002294012",
        "4.40305200002294e+17",
        "440305200002294012",  # a JSON integer is exact
    ]
    assert [r["age"] for r in got] == ["3", "4", "5.5"]


def test_a_number_too_long_for_python_is_kept_as_text(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    path.write_text('{"a": "x"}\n{"a": ' + "9" * 5000 + "}\n", encoding="utf-8")
    stream = open_source(str(path))
    got = [r["a"] for b in stream.batches for r in b.to_pylist()]
    assert got == ["x", "9" * 5000] and not stream.rejects
