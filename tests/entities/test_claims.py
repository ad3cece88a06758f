"""Whose number is it: the claim rules on small hand-made groups of records."""

from __future__ import annotations

import polars as pl
import pytest
from stdnum.cn import ric

from shuhai.entities import claims
from shuhai.entities import standardize as std


def _id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "?")  # python-stdnum computes the check


MAN_1980 = _id("35010219800101001")  # a man born 1980-01-01
WOMAN_1992 = _id("35010219920304002")


def _judge(rows: list[tuple[str, str, str | None, str | None, str | None]], authority: str = "ga"):
    """rows: (member, id, name, birth, sex) → {key: (id_valid, id_flag, conflict[, holder])}."""
    frame = pl.DataFrame(
        [(f"k{i}", *r) for i, r in enumerate(rows)],
        schema=["key", "member", "id", "name", "birth", "sex"],
        orient="row",
    )
    frame = frame.with_columns(std.pinyin(frame["name"]).alias("name_py"))
    out = claims.judge(frame, authority=authority)
    return {k: (v, f, c, h) if h else (v, f, c) for k, v, f, c, h in out.iter_rows()}


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("张伟", "张伟", True),
        ("张伟", "章伟", True),  # homophone
        ("李娜", "里娜", True),  # look-alike of the same sound
        ("张伟", "张强", False),  # father and son
        ("林玲", "林琳", False),  # twins: another sound
        ("欧阳娜娜", "欧阳娜", True),  # one character lost in a long name
        ("司马光明", "司马光亮", True),
        ("张伟", "张小宝", False),
    ],
)
def test_name_compatibility(a: str, b: str, same: bool) -> None:
    py = std.pinyin(pl.Series([a, b])).to_list()
    assert claims.compatible((a, py[0]), (b, py[1])) is same


def test_the_holder_keeps_the_number_a_child_carrying_it_does_not() -> None:
    got = _judge(
        [
            ("ga", MAN_1980, "张伟", "1980-01-01", "1"),
            ("rs", MAN_1980, "张伟", None, None),
            ("wj", MAN_1980, "张小宝", "2018-06-01", "2"),
            ("wj", MAN_1980, "张小宝", None, None),  # no birth date: the name tells
        ]
    )
    assert got["k0"][:2] == (True, None) and got["k1"][:2] == (True, None)
    assert got["k2"] == (False, claims.BORROWED, claims.BORROWED)
    assert got["k3"] == (False, claims.BORROWED, claims.BORROWED)


def test_a_lunar_birthday_confirmed_by_the_holders_records_still_anchors() -> None:
    got = _judge(
        [
            ("ga", MAN_1980, "张伟", "1980-01-01", "1"),
            ("mz", MAN_1980, "张伟", "1979-11-15", "1"),  # the lunar date an elder gives
        ]
    )
    assert got["k1"] == (True, None, None)


def test_a_number_nobody_confirms_does_not_anchor_a_record_that_contradicts_it() -> None:
    got = _judge([("wj", MAN_1980, "张小宝", "2018-06-01", "2")])
    assert got["k0"] == (False, claims.CONTRADICTS, None)
    nameless = _judge(
        [
            ("ga", WOMAN_1992, "欧阳娜娜", "1992-03-04", "2"),
            ("fy", WOMAN_1992, None, "2024-05-01", "2"),
        ]
    )
    assert nameless["k0"][0] and nameless["k1"] == (False, claims.CONTRADICTS, None)


def test_two_people_with_one_number_are_a_duplicate_told_apart_by_name() -> None:
    got = _judge(
        [
            ("ga", MAN_1980, "张伟", "1980-01-01", "1"),
            ("rs", MAN_1980, "李强", "1980-01-01", "1"),
        ]
    )
    # each holder is anchored by the number and their name; the authority's by the number alone
    assert got["k0"] == (True, claims.DUPLICATE, claims.DUPLICATE)
    assert got["k1"] == (True, claims.DUPLICATE, claims.DUPLICATE, "李强")
    nameless = _judge(
        [
            ("ga", MAN_1980, "张伟", "1980-01-01", "1"),
            ("rs", MAN_1980, "李强", "1980-01-01", "1"),
            ("jy", MAN_1980, None, None, None),  # which of the two? it cannot say
        ]
    )
    assert nameless["k2"] == (False, claims.DUPLICATE, claims.DUPLICATE)


def test_a_look_alike_name_that_contradicts_the_number_does_not_keep_it() -> None:
    """单秀云 on a child's record with her mother 徐秀云's number: one character apart, but the
    birth date says another person; a newborn's placeholder never holds the number."""
    got = _judge(
        [
            ("ga", WOMAN_1992, "徐秀云", "1992-03-04", "2"),
            ("wj", WOMAN_1992, "单秀云", "2017-07-25", "2"),
            ("wj", WOMAN_1992, "徐秀云之女", None, None),
        ]
    )
    assert got["k0"][0] and got["k1"][:2] == (False, claims.CONTRADICTS)
    assert got["k2"][:2] == (False, claims.NEWBORN)


def test_a_typo_of_another_sound_with_the_same_facts_is_not_a_second_holder() -> None:
    got = _judge(
        [
            ("ga", MAN_1980, "陈伟", "1980-01-01", "1"),
            ("lr", MAN_1980, "程伟", "1980-01-01", "1"),  # 陈 → 程: a look-alike typed
        ]
    )
    assert got["k0"] == (True, None, None) and got["k1"] == (True, None, None)
    both = _judge(  # the register holds both names: two people after all
        [
            ("ga", MAN_1980, "邱旭", "1980-01-01", "1"),
            ("ga", MAN_1980, "汪旭", "1980-01-01", "1"),
        ]
    )
    assert {f for _v, f, *_ in both.values()} == {claims.DUPLICATE}


def test_without_any_birth_date_the_authority_tells_the_holder_or_nobody_does() -> None:
    got = _judge([("ga", MAN_1980, "张伟", None, None), ("rs", MAN_1980, "王芳", None, None)])
    # both clusters cannot be told from the number: the authority's holds it
    assert got["k0"] == (True, None, claims.BORROWED)
    assert got["k1"] == (False, claims.BORROWED, claims.BORROWED)
    nobody = _judge(
        [("rs", MAN_1980, "张伟", None, None), ("wj", MAN_1980, "王芳", None, None)], authority="ga"
    )
    assert {v for v, *_ in nobody.values()} == {False}
    assert {f for _, f, _ in nobody.values()} == {claims.AMBIGUOUS}


def test_damaged_and_mistyped_numbers_are_flagged_never_anchored() -> None:
    wrong = MAN_1980[:17] + ("0" if MAN_1980[17] != "0" else "1")
    got = _judge(
        [
            ("xl", "3.50102E+17", "张伟", "1980-01-01", "1"),
            ("rs", wrong, "张伟", "1980-01-01", "1"),
        ]
    )
    assert got["k0"] == (False, claims.DAMAGED, None)
    assert got["k1"] == (False, claims.CHECKSUM, None)


def test_newborn_placeholder_names() -> None:
    names = pl.Series(["王芳之女", "王芳之子", "李娜婴儿", "王芳", "之子涵", "李婴", "张无名"])
    assert claims.placeholders(names).to_list() == [True, True, True, False, False, False, False]
