"""Masking rules on real-looking values, and properties: same length, no digit of the hidden part
survives, the same value always masks the same way, embedded numbers in free text are found."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from shuhai.access.masking import mask_frame, mask_series, rule_for


def m(values: list[str | None], rule: str) -> list[str | None]:
    return mask_series(pl.Series("x", values, dtype=pl.String), rule).to_list()


def test_names() -> None:
    assert m(["张三", "张三丰", "欧阳娜娜", "艾力·买买提", "王", None], "name") == [
        "张*",
        "张*丰",
        "欧**娜",
        "艾*·**提",
        "王",
        None,
    ]


def test_id_numbers_mobiles_cards_emails() -> None:
    assert m(["350102198001010014", "35010280010101X"], "id_number") == [
        "350102********0014",
        "350102*****101X",
    ]
    assert m(["13800138000", "138-0013-8000", "0591-87654321"], "mobile") == [
        "138****8000",
        "138****8000",
        "0591******21",
    ]
    assert m(["6222021234567890123"], "bank_card") == ["6222***********0123"]
    assert m(["zhangsan@example.cn"], "email") == ["z***@example.cn"]


def test_addresses_are_kept_down_to_the_district() -> None:
    assert m(["福建省福州市鼓楼区东街街道12号", "某地某号", None], "address") == [
        "福建省福州市鼓楼区****",
        "****",
        None,
    ]


def test_free_text_masks_embedded_numbers() -> None:
    text = "申请人张三，身份证350102198001010014，电话13800138000，卡号6222021234567890123。"
    (out,) = m([text], "free_text")
    assert "350102********0014" in out and "138****8000" in out and "6222********0123" in out
    assert "19800101" not in out and "0013" not in out


def test_rules_follow_item_names() -> None:
    assert rule_for("法定代表人身份证号") == "id_number"
    assert rule_for("联系电话") == "mobile"
    assert rule_for("户籍地址") == "address"
    assert rule_for("姓名") == "name" and rule_for("男方姓名") == "name"
    assert rule_for("银行卡号") == "bank_card"
    assert rule_for("注册资本", "Y") is None


def test_frames_mask_only_named_columns() -> None:
    frame = pl.DataFrame({"姓名": ["张三丰"], "性别": ["1"], "身份证号": ["350102198001010014"]})
    out = mask_frame(frame, {"姓名": "name", "身份证号": "id_number", "不存在": "name"})
    assert out.row(0) == ("张*丰", "1", "350102********0014")


@given(st.from_regex(r"[1-9]\d{16}[\dX]", fullmatch=True))
def test_id_masking_keeps_length_and_hides_birth(value: str) -> None:
    (out,) = m([value, value], "id_number")[:1]
    assert len(out) == 18 and out[:6] == value[:6] and out[-4:] == value[-4:]
    assert set(out[6:14]) == {"*"}
    assert m([value], "id_number") == m([value], "id_number")  # same value, same mask


@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True), st.text(max_size=20))
def test_mobiles_inside_text_are_masked(mobile: str, noise: str) -> None:
    noise = "".join(ch for ch in noise if not ch.isdigit())
    (out,) = m([noise + mobile + noise], "free_text")
    assert mobile not in out and mobile[:3] + "****" + mobile[-4:] in out


_MIXED = (
    st.sampled_from(list("0123456789Xx１２９ ·-@.()\n\t\r\x1c\u3000张三丰欧阳娜号ab"))
    | st.characters(exclude_categories=("Cs",))  # (surrogates cannot be UTF-8 text)
)


@given(
    st.lists(st.none() | st.text(alphabet=_MIXED, max_size=40), min_size=1, max_size=4),
    st.sampled_from(
        ["name", "id_number", "mobile", "bank_card", "email", "free_text", "birth_year"]
    ),
)
def test_a_lookups_few_rows_mask_exactly_like_the_vectorized_rules(
    values: list[str | None], rule: str
) -> None:
    """A few rows are masked value by value in Python (no query plan); the Polars expressions
    are the oracle, on digits, full-width digits, spaces of every kind, dots and any other
    character (those outside the characters both engines read alike take the Polars way)."""
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    assert mask_frame(frame, {"v": rule})["v"].to_list() == m(values, rule)


def test_a_lookups_row_takes_the_per_value_way() -> None:
    from shuhai.access.masking import SMALL, _small

    row = pl.DataFrame({"身份证号": ["350102198001010014"], "姓名": ["艾力·买买提"]})
    rules = {"身份证号": "id_number", "姓名": "name"}
    assert _small(row, rules) is not None
    assert _small(pl.concat([row] * (SMALL + 1)), rules) is None
    assert _small(row.with_columns(pl.lit("Ⅸ\U0001e4f1").alias("姓名")), rules) is None
    free = "身份证３５０１０２１９８００１０１００１４，电话13800138000"
    assert (
        mask_frame(pl.DataFrame({"t": [free]}), {"t": "free_text"})["t"][0]
        == m([free], "free_text")[0]
    )
