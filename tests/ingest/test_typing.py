"""Typing by info items: the common Chinese forms of dates and numbers, and what is quarantined."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from shuhai.ingest.typing import Typer, make_plan

ITEMS = [
    {"name": "证件号", "data_type": "C", "length": 18, "required": True},
    {"name": "日期", "data_type": "D", "required": False},
    {"name": "金额", "data_type": "N", "scale": 2, "required": False},
    {"name": "人数", "data_type": "N", "scale": 0, "required": False},
    {"name": "余额", "data_type": "Y", "required": False},
    {"name": "时间", "data_type": "T", "required": False},
    {"name": "在册", "data_type": "L", "required": False},
]


def run(rows: list[dict[str, str | None]]) -> tuple[list[dict], list[dict]]:
    header = [it["name"] for it in ITEMS]
    batch = pa.table({h: pa.array([r.get(h) for r in rows], pa.string()) for h in header})
    typer = Typer(make_plan(ITEMS, header, max_cell_bytes=1000), header, run_id=7)
    out = typer.apply(batch, pa.array(range(2, 2 + len(rows)), pa.int64()))
    good = out.good.to_dicts() if out.good is not None else []
    bad = out.bad.to_pylist() if out.bad is not None else []
    return good, bad


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-02",
        "2024/1/2",
        "20240102",
        "2024年1月2日",
        "2024.01.02",
        "45293",
        "２０２４－０１－０２",
        " 2024-01-02 ",
        "2024-01-02 08:30:00",
    ],
)
def test_common_date_forms(text: str) -> None:
    # the first row sets the column's fast format; the second is the form under test
    good, bad = run([{"证件号": "a", "日期": "2020-05-05"}, {"证件号": "b", "日期": text}])
    assert not bad
    assert good[1]["日期"] == dt.date(2024, 1, 2)


@pytest.mark.parametrize("text", ["2023-02-30", "2022-13-01", "明天", "1.5", "0"])
def test_bad_dates_are_quarantined_with_reason(text: str) -> None:
    good, bad = run([{"证件号": "a", "日期": text}])
    assert not good
    assert (
        bad[0]["_line"] == 2
        and "日期" in bad[0]["_reasons"]
        and "不是有效日期" in bad[0]["_reasons"]
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234.50", 1234.5),
        ("１２３", 123.0),
        ("-3.25", -3.25),
        ("￥88", 88.0),
        ("1 000", 1000.0),
        ("1e3", 1000.0),
    ],
)
def test_numbers(text: str, value: float) -> None:
    good, bad = run([{"证件号": "a", "金额": text}])
    assert not bad and good[0]["金额"] == value


def test_integers_money_bool_datetime() -> None:
    good, bad = run(
        [
            {
                "证件号": "a",
                "人数": "１２",
                "余额": "1,000.456",
                "在册": "是",
                "时间": "2024/1/2 08:30:00",
            }
        ]
    )
    assert not bad
    row = good[0]
    assert row["人数"] == 12 and str(row["余额"]) == "1000.46"  # money is rounded to cents
    assert row["在册"] is True and row["时间"] == dt.datetime(2024, 1, 2, 8, 30)
    _, bad = run(
        [
            {"证件号": "a", "人数": "1.5"},
            {"证件号": "b", "在册": "maybe"},
            {"证件号": "c", "金额": "abc"},
        ]
    )
    assert [b["_line"] for b in bad] == [2, 3, 4]


def test_excel_mangled_ids_are_precision_loss_not_guesses() -> None:
    good, bad = run([{"证件号": "1.10105E+17"}, {"证件号": "110105199001011234"}])
    assert [g["证件号"] for g in good] == ["110105199001011234"]
    assert "精度已丢失" in bad[0]["_reasons"] and bad[0]["证件号"] == "1.10105E+17"


def test_required_length_and_nul() -> None:
    good, bad = run(
        [{"证件号": None}, {"证件号": "x" * 19}, {"证件号": "a\x00b"}, {"证件号": "  ok  "}]
    )
    assert [g["证件号"] for g in good] == ["ok"]
    reasons = [b["_reasons"] for b in sorted(bad, key=lambda b: b["_line"])]
    assert "必填项为空" in reasons[0] and "超过信息项长度" in reasons[1] and "NUL" in reasons[2]


def test_every_reason_of_a_row_is_listed() -> None:
    _, bad = run([{"证件号": None, "日期": "x", "金额": "y"}])
    assert bad[0]["_reasons"].count(";") == 2


@pytest.mark.parametrize("text", [" ok", "ok ", "\tok", "ok\u3000", "\u3000ok\u3000"])
def test_padding_is_trimmed_the_same_on_every_path(text: str) -> None:
    good, bad = run([{"证件号": text}])
    assert not bad and good[0]["证件号"] == "ok"


def test_csv_blocks_with_and_without_padding_trim_alike(tmp_path) -> None:  # noqa: ANN001
    from shuhai.ingest.readers import open_source

    header = [it["name"] for it in ITEMS]
    path = tmp_path / "p.csv"
    path.write_text(
        ",".join(header)
        + "\n"
        + "a1,2024-01-02,,,,,\n"
        + " a2 ,2024-01-03,,,,,\n"
        + "a3,2024-01-04,,,,,\n",
        encoding="utf-8",
    )
    stream = open_source(str(path))
    typer = Typer(make_plan(ITEMS, header, max_cell_bytes=1000), header, run_id=1)
    ids = []
    for tb in stream.batches:
        ids += typer.apply(tb.batch, tb.lines, tb.absent).good["证件号"].to_list()
    assert ids == ["a1", "a2", "a3"]
