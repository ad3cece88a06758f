"""Standardization: names, ID numbers, phones, sex codes and addresses, vectorized."""

from __future__ import annotations

import polars as pl
from stdnum.cn import ric

from shuhai.entities import addresses, id_numbers, names, phones, sex_codes


def test_names() -> None:
    got = names(
        pl.Series(
            "n",
            [
                "張偉",
                " 鄭 秀蘭 ",
                "艾力•买买提",
                "艾力 · 买买提",
                "艾力・买买提",
                "ＡＢＣ",
                None,
                "欧阳娜娜",
                "　",
            ],
        )
    ).to_list()
    assert got == [
        "张伟",
        "郑秀兰",
        "艾力·买买提",
        "艾力·买买提",
        "艾力·买买提",
        "ABC",
        None,
        "欧阳娜娜",
        None,
    ]


def test_id_numbers_upgrade_15_digit_form() -> None:
    got = id_numbers(
        pl.Series(
            "i",
            ["350102460422483", "11010519491231002x", "１１０１０５１９４９１２３１００２Ｘ", None],
        )
    ).to_list()
    assert got == ["350102194604224838", "11010519491231002X", "11010519491231002X", None]
    assert (
        ric.calc_check_digit(got[0][:17] + "0") == got[0][17]
    )  # python-stdnum agrees on the check


def test_phones_and_sex_codes() -> None:
    assert phones(
        pl.Series(
            "p", ["+86 138-0013-8000", "0591-8765 4321转123", "(0591)87654321", "８６13800138000"]
        )
    ).to_list() == [
        "13800138000",
        "059187654321-123",
        "059187654321",
        "13800138000",
    ]
    assert sex_codes(pl.Series("s", ["男", "F", "2", "x", None, " male "])).to_list() == [
        "1",
        "2",
        "2",
        None,
        None,
        "1",
    ]


def test_addresses_split_with_division_names() -> None:
    got = addresses(
        pl.Series(
            "a",
            [
                "福建省福州市鼓楼区五一中路１２號",
                "福州市仓山区盖山镇164号",
                "鼓楼区东街3号",
                "北京市东城区东华门街道1号",
                None,
            ],
        )
    ).to_dicts()
    assert got[0] == {
        "province": "福建省",
        "city": "福州市",
        "district": "鼓楼区",
        "street": "五一中路",
        "detail": "12号",
    }
    assert got[1] == {
        "province": None,
        "city": "福州市",
        "district": "仓山区",
        "street": "盖山镇",
        "detail": "164号",
    }
    assert got[2]["district"] == "鼓楼区" and got[2]["street"] == "东街"
    assert got[3]["province"] == "北京市" and got[3]["street"] == "东华门街道"
    assert got[4] == {
        "province": None,
        "city": None,
        "district": None,
        "street": None,
        "detail": None,
    }


def test_id_numbers_unwrapped_from_department_formats() -> None:
    """Excel's text apostrophe, quotes, × for X, spaces and dashes inside, and the student
    register's G prefix (学籍号) are removed; anything else is left for the checks to refuse."""
    raw = [
        "'350102198001010011",
        "G350102198001010011",
        "g35010219800101002x",
        "35010219800101002×",
        "350102 1980 0101 0011",
        "3501-0219-8001-0100-11",
        "“350102460422483”",
        "G12345",
        "ABC",
    ]
    got = id_numbers(pl.Series("i", raw)).to_list()
    assert got == [
        "350102198001010011",
        "350102198001010011",
        "35010219800101002X",
        "35010219800101002X",
        "350102198001010011",
        "350102198001010011",
        "350102194604224838",
        "G12345",
        "ABC",
    ]
    for value in got[:7]:  # python-stdnum, the oracle, agrees on each one's check character
        assert ric.calc_check_digit(value[:17] + "0") == value[17], value


def test_unknown_sex_codes_say_nothing_when_records_are_compared() -> None:
    from shuhai.entities.standardize import known_sex

    codes = sex_codes(pl.Series("s", ["男", "0", "9", "2", None]))
    assert codes.to_list() == ["1", "0", "9", "2", None]  # kept as declared for display
    assert known_sex(codes).to_list() == ["1", None, None, "2", None]
