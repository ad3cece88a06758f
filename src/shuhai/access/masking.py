"""Masking at the edge (脱敏, GB/T 35273 and common government practice), vectorized in Polars.

Rules by kind of value:

- ``name``: 张三 → 张*, 张三丰 → 张*丰, 欧阳娜娜 → 欧**娜, 艾力·买买提 → 艾*·***提 (first and last
  character kept, the middle dot kept)
- ``id_number``: first 6 + last 4 (350102********0014)
- ``mobile``: first 3 + last 4 (138****0001); landlines keep the area code and the last 2
- ``bank_card``: first 4 + last 4
- ``address``: kept down to the district (福建省福州市鼓楼区****)
- ``free_text``: ID numbers, mobile numbers and bank cards embedded anywhere are masked in place
- ``email``: first character of the local part and the domain (z***@example.cn)
- ``birth_year``: a birth date kept to its year (2009-**-**) — applied by ``linked`` beside a
  masked ID number, whose hidden middle eight digits the full date would give back

``linked`` makes masks hold across the columns a viewer receives together: every column of a
masked kind is masked alike (a second phone or address column), and a masked ID number
generalizes the birth date beside it, so no combination of visible columns rebuilds a value that
is masked (跨列还原).

``mask_frame`` applies the rule of each column (from its sensitivity) to a whole frame; the same
value always gives the same masked text, whoever the caller, so a record looks the same in a
preview, a profile, the API and a download.

A Polars pass costs a query plan (~0.4 ms for one ID), far more than masking the few rows of a
keyed lookup: frames of at most ``SMALL`` rows whose values hold only characters both regex
engines read alike (ASCII, CJK, full-width forms) are masked value by value with the same rules
in Python (``_PY``); the tests check both ways give the same text on generated values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import polars as pl

from shuhai.entities.standardize import addresses

# Digits bounded by non-digits (``\b`` does not separate digits from Chinese characters).
ID_RE = r"(^|[^\d])(\d{6})\d{8}(\d{3}[\dXx])($|[^\dXx])"
ID15_RE = r"(^|[^\d])(\d{6})\d{5}(\d{4})($|[^\d])"
MOBILE_RE = r"(^|[^\d])(1[3-9]\d)\d{4}(\d{4})($|[^\d])"
CARD_RE = r"(^|[^\d])(\d{4})\d{8,11}(\d{4})($|[^\d])"


def name(col: pl.Expr) -> pl.Expr:
    """First and last character kept (two-character names keep the first), the dot kept."""
    n = col.str.len_chars()
    middle = col.str.slice(1, n - 2).str.replace_all(r"[^·]", "*")
    return (
        pl.when(n <= 1)
        .then(col)
        .when(n == 2)
        .then(col.str.slice(0, 1) + "*")
        .otherwise(col.str.slice(0, 1) + middle + col.str.slice(-1, 1))
    )


_STAR_RUN = "*" * 4096  # longer values are starred to this length (masking, not measuring)


def _stars(n: pl.Expr) -> pl.Expr:
    """``n`` stars: a slice of one constant string (a list-building repeat cost ~10× more)."""
    stars = pl.lit(_STAR_RUN).str.slice(0, n.clip(0, len(_STAR_RUN)))
    return pl.when(n.is_null()).then(pl.lit(None, pl.String)).otherwise(stars)


def _keep_ends(col: pl.Expr, head: int, tail: int, at_least: int) -> pl.Expr:
    """The first ``head`` and last ``tail`` characters kept, the rest starred; values shorter
    than ``at_least`` are starred whole."""
    n = col.str.len_chars()
    return (
        pl.when(n >= at_least)
        .then(col.str.slice(0, head) + _stars(n - head - tail) + col.str.slice(-tail, tail))
        .otherwise(_stars(n))
    )


def id_number(col: pl.Expr) -> pl.Expr:
    return _keep_ends(col, 6, 4, 10)


def mobile(col: pl.Expr) -> pl.Expr:
    digits = col.str.replace_all(r"[^\d]", "")
    return (
        pl.when(digits.str.contains(r"^1[3-9]\d{9}$"))
        .then(digits.str.slice(0, 3) + "****" + digits.str.slice(7, 4))
        .otherwise(_keep_ends(digits, 4, 2, 7))  # landline: area code and last two digits
    )


def bank_card(col: pl.Expr) -> pl.Expr:
    return _keep_ends(col.str.replace_all(r"\s", ""), 4, 4, 8)


def email(col: pl.Expr) -> pl.Expr:
    return col.str.replace(r"^(.)[^@]*(@.*)$", "$1***$2")


def birth_year(col: pl.Expr) -> pl.Expr:
    """The year kept, every later digit starred: 2009-07-31 → 2009-**-**."""
    return col.str.slice(0, 4) + col.str.slice(4).str.replace_all(r"\d", "*")


def free_text(col: pl.Expr) -> pl.Expr:
    """IDs, mobiles and bank cards inside any text, masked where they stand."""
    return (
        col.str.replace_all(ID_RE, "${1}${2}********${3}${4}")
        .str.replace_all(ID15_RE, "${1}${2}*****${3}${4}")
        .str.replace_all(CARD_RE, "${1}${2}********${3}${4}")
        .str.replace_all(MOBILE_RE, "${1}${2}****${3}${4}")
    )


def address(series: pl.Series) -> pl.Series:
    """Down to the district: 福建省福州市鼓楼区东街街道12号 → 福建省福州市鼓楼区****."""
    parts = addresses(series)
    kept = parts.select(
        pl.concat_str([pl.col(c).fill_null("") for c in ("province", "city", "district")])
    ).to_series()
    frame = pl.DataFrame({"kept": kept, "raw": series})
    return (
        frame.select(
            pl.when(pl.col("raw").is_null())
            .then(None)
            .when(pl.col("kept") == "")
            .then(pl.lit("****"))
            .otherwise(pl.col("kept") + "****")
        )
        .to_series()
        .alias(series.name)
    )


# --- the same rules, one value at a time (for the few rows of a lookup) -------------------

SMALL = 64
# Characters whose class (digit, space) Rust's regex (Polars) and Python's ``re`` agree on.
_SAME_READING = re.compile(
    r"[\x00-\x7f\u00b7\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]*"
)
_WHITE = re.compile(r"[\t\n\x0b\x0c\r \u3000]")  # Unicode White_Space, within those characters
_NOT_DIGIT = re.compile(r"[^\d]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_MIDDLE = re.compile(r"[^·]")
_EMAIL = re.compile(r"^(.)[^@]*(@.*)\Z")
_DIGIT = re.compile(r"\d")
_TEXT = [
    (re.compile(ID_RE.replace("$|", "\\Z|")), r"\1\2********\3\4"),
    (re.compile(ID15_RE.replace("$|", "\\Z|")), r"\1\2*****\3\4"),
    (re.compile(CARD_RE.replace("$|", "\\Z|")), r"\1\2********\3\4"),
    (re.compile(MOBILE_RE.replace("$|", "\\Z|")), r"\1\2****\3\4"),
]


def _py_stars(n: int) -> str:
    return _STAR_RUN[: max(0, min(n, len(_STAR_RUN)))]


def _py_keep_ends(v: str, head: int, tail: int, at_least: int) -> str:
    n = len(v)
    if n >= at_least:
        return v[:head] + _py_stars(n - head - tail) + v[n - tail :]
    return _py_stars(n)


def _py_name(v: str) -> str:
    n = len(v)
    if n <= 1:
        return v
    if n == 2:
        return v[0] + "*"
    return v[0] + _MIDDLE.sub("*", v[1 : n - 1]) + v[-1]


def _py_mobile(v: str) -> str:
    digits = _NOT_DIGIT.sub("", v)
    if _MOBILE.fullmatch(digits):
        return digits[:3] + "****" + digits[7:11]
    return _py_keep_ends(digits, 4, 2, 7)


def _py_free_text(v: str) -> str:
    for pattern, replacement in _TEXT:
        v = pattern.sub(replacement, v)
    return v


_PY: dict[str, Callable[[str], str]] = {
    "name": _py_name,
    "id_number": lambda v: _py_keep_ends(v, 6, 4, 10),
    "mobile": _py_mobile,
    "bank_card": lambda v: _py_keep_ends(_WHITE.sub("", v), 4, 4, 8),
    "email": lambda v: _EMAIL.sub(r"\1***\2", v),
    "free_text": _py_free_text,
    "birth_year": lambda v: v[:4] + _DIGIT.sub("*", v[4:]),
}


def _small(frame: pl.DataFrame, rules: dict[str, str]) -> pl.DataFrame | None:
    """``frame`` masked value by value, or None when it is not small or holds characters the
    two regex engines might read differently."""
    if frame.height > SMALL:
        return None
    columns = {}
    for col, rule in rules.items():
        values = frame[col].cast(pl.String).to_list()
        if not all(v is None or _SAME_READING.fullmatch(v) for v in values):
            return None
        fn = _PY[rule]
        columns[col] = [None if v is None else fn(v) for v in values]
    out = frame.clone()
    for col, values in columns.items():
        out.replace_column(out.get_column_index(col), pl.Series(col, values, dtype=pl.String))
    return out


RULES = (
    "name",
    "id_number",
    "mobile",
    "bank_card",
    "address",
    "email",
    "free_text",
    "birth_year",
)
_EXPR = {
    "name": name,
    "id_number": id_number,
    "mobile": mobile,
    "bank_card": bank_card,
    "email": email,
    "free_text": free_text,
    "birth_year": birth_year,
}
BIRTH_DATES = ("出生日期", "出生年月", "出生年月日", "出生时间", "生日")


def is_birth_date(item_name: str) -> bool:
    """Whether an item holds a birth date (the middle eight digits of an ID number)."""
    return item_name.endswith(BIRTH_DATES)


def linked(masking: dict[str, str], columns: list[str]) -> dict[str, str]:
    """``masking`` widened so that it holds across ``columns`` shown together: a column of the
    same kind as a masked one is masked alike, and beside a masked ID number every birth date is
    kept to its year. Masked kinds are never unmasked."""
    out = dict(masking)
    kinds = {r for r in masking.values() if r not in ("free_text", "birth_year")}
    for c in columns:
        if c in out:
            continue
        rule = rule_for(c)
        if rule is not None and rule in kinds:
            out[c] = rule
        elif "id_number" in kinds and is_birth_date(c):
            out[c] = "birth_year"
    return out


def rule_for(item_name: str, data_type: str = "C") -> str | None:
    """The masking rule an info item's name implies (None: no rule)."""
    n = item_name
    if n.endswith("身份证号") or "证件号" in n or n in ("社会保障号码", "公民身份号码"):
        return "id_number"
    if "银行卡" in n or "银行账号" in n or "账号" in n:
        return "bank_card"
    if "电话" in n or "手机" in n:
        return "mobile"
    if "邮箱" in n or "电子邮件" in n:
        return "email"
    if n.endswith("姓名") or n in ("法定代表人", "联系人", "负责人", "主要负责人"):
        return "name"
    if "地址" in n or "住址" in n or "住所" in n or "坐落" in n:
        return "address"
    if data_type in ("C", "M") and ("备注" in n or "描述" in n or "说明" in n or data_type == "M"):
        return "free_text"
    return None


def mask_series(series: pl.Series, rule: str) -> pl.Series:
    if rule not in RULES:
        raise ValueError(f"unknown masking rule {rule!r}")
    if series.dtype != pl.String:
        series = series.cast(pl.String)
    if rule == "address":
        return address(series)
    return pl.DataFrame({"v": series}).select(_masked("v", rule)).to_series().alias(series.name)


@lru_cache(maxsize=1024)
def _masked(column: str, rule: str) -> pl.Expr:
    """The masking expression of one column (built once: building it costs more than running it
    on the one row a keyed lookup returns)."""
    return _EXPR[rule](pl.col(column).cast(pl.String)).alias(column)


def mask_frame(frame: pl.DataFrame, rules: dict[str, str]) -> pl.DataFrame:
    """Apply ``rules`` (column → rule) to the columns present; the others pass unchanged. Every
    expression rule runs in one Polars pass over the frame (a one-row answer pays one query
    plan, not one per masked column); addresses go through the address parser."""
    present = {c: r for c, r in rules.items() if c in frame.columns}
    unknown = sorted({r for r in present.values() if r not in RULES})
    if unknown:
        raise ValueError(f"unknown masking rule {unknown[0]!r}")
    by_value = {c: r for c, r in present.items() if r != "address"}
    out = _small(frame, by_value) if by_value else frame
    if out is None:
        out = frame.with_columns(_masked(col, rule) for col, rule in by_value.items())
    for col, rule in present.items():
        if rule == "address":
            out = out.with_columns(address(out[col].cast(pl.String)))
    return out


__all__ = ["RULES", "is_birth_date", "linked", "mask_frame", "mask_series", "rule_for"]
