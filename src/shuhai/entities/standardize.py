"""Standardization before linkage (标准化), vectorized over whole columns (Polars + OpenCC).

- ``names``: padding, full-width letters and digits, internal white space, the middle dot of
  minority names in its variants (· • ・ ‧ ∙ ．) and traditional characters (OpenCC t2s, one call
  for all distinct values).
- ``id_numbers``: upper case, full-width digits, 15-digit numbers upgraded to 18 (GB 11643).
- ``phones``: separators and the +86 prefix removed.
- ``sex_codes``: 男/女/M/F/male/female to GB/T 2261.1 codes.
- ``addresses``: 號→号, full-width digits, split into province / city / district / street / detail
  with the shipped division names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import polars as pl

FULL = (
    [chr(0xFF10 + i) for i in range(10)]
    + [chr(0xFF21 + i) for i in range(26)]
    + [chr(0xFF41 + i) for i in range(26)]
)
HALF = (
    [str(i) for i in range(10)]
    + [chr(65 + i) for i in range(26)]
    + [chr(97 + i) for i in range(26)]
)
DOTS = ["•", "・", "‧", "∙", "⋅", "．", "﹒", "·"]
RIC_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def simplified(series: pl.Series) -> pl.Series:
    """Traditional to simplified characters: the distinct values in one OpenCC call."""
    distinct = series.drop_nulls().unique(maintain_order=True)
    if distinct.len() == 0:
        return series
    joined = "\n".join(distinct.str.replace_all("\n", " ").to_list())
    converted = _t2s().convert(joined).split("\n")
    mapping = dict(zip(distinct.to_list(), converted, strict=True))
    return series.replace_strict(mapping, default=None, return_dtype=pl.String)


def names(series: pl.Series) -> pl.Series:
    """Names as they should be compared: 張 偉 → 张伟, 艾力•买买提 → 艾力·买买提, ＡＢＣ → ABC."""
    s = (
        series.str.replace_many(FULL, HALF)
        .str.replace_many(DOTS[:-1], ["·"] * (len(DOTS) - 1))
        .str.replace_all(r"[\s\u3000]*·[\s\u3000]*", "·")
        .str.replace_all(r"[\s\u3000]+", "")
    )
    s = simplified(s)
    return pl.Series(series.name, s).replace("", None)


# What departments wrap around an ID number: Excel's text apostrophe ('350102…), quotes, the
# multiplication sign typed for X, spaces and dashes inside, and the student register's G prefix
# (学籍号 = G + 公民身份号码) — each removed only where an 18- or 15-character number remains.
ID_QUOTES = r"^['‘’`\"“”]+|['‘’`\"“”]+$"
ID_INNER = r"[\s\u3000\-－—_]+"


@dataclass(frozen=True)
class IdFormat:
    """How one member column writes ID numbers (证件号格式), declared in the base config as
    ``standardize: {<column>: {...}}``; the defaults read the common department formats.

    - ``prefixes``: letters a register puts before the number (学籍号 ``G``), removed where an
      18- or 15-character number remains;
    - ``wrappers``: characters around the number (Excel's apostrophe, quotes);
    - ``x``: characters typed for the check character X (×, ✕, ╳; lower-case x is upper-cased);
    - ``separators``: a pattern removed inside (spaces, dashes);
    - ``remove``: further patterns removed (a department's own decoration, ``^身份证:``);
    - ``upgrade_15``: 15-digit numbers get 19 and their check character (GB 11643).
    """

    prefixes: tuple[str, ...] = ("G",)
    wrappers: str = "'‘’`\"“”"
    x: tuple[str, ...] = ("×", "✕", "╳")
    separators: str = ID_INNER
    remove: tuple[str, ...] = ()
    upgrade_15: bool = True


DEFAULT_ID_FORMAT = IdFormat()


def id_numbers(series: pl.Series, fmt: IdFormat = DEFAULT_ID_FORMAT) -> pl.Series:
    """Upper case, half-width, unwrapped as ``fmt`` says (by default: apostrophes and quotes,
    inner spaces and dashes, ``×`` for X, the 学籍号 ``G`` prefix); 15-digit numbers get 19 and
    their check character (18 digits)."""
    s = series.str.replace_many(FULL, HALF)
    for pattern in fmt.remove:
        s = s.str.replace_all(pattern, "")
    if fmt.separators:
        s = s.str.replace_all(fmt.separators, "")
    if fmt.wrappers:
        quoted = re.escape(fmt.wrappers)
        s = s.str.replace_all(f"^[{quoted}]+|[{quoted}]+$", "")
    if fmt.x:
        s = s.str.replace_all("[" + re.escape("".join(fmt.x)) + "]", "X")
    s = s.str.to_uppercase()
    if fmt.prefixes:
        heads = "|".join(re.escape(p.upper()) for p in fmt.prefixes)
        s = s.str.replace(rf"^(?:{heads})(\d{{17}}[\dX]|\d{{15}})$", "$1")
    old = s.str.contains(r"^\d{15}$").fill_null(False)
    if not fmt.upgrade_15 or not old.any():
        return s.alias(series.name)
    bodies = (s.filter(old).str.slice(0, 6) + "19" + s.filter(old).str.slice(6, 9)).to_list()
    digits = np.frombuffer("".join(bodies).encode(), dtype=np.uint8).reshape(len(bodies), 17) - 48
    checks = np.array(list("10X98765432"))[(digits.astype(np.int64) * RIC_WEIGHTS).sum(axis=1) % 11]
    upgraded = pl.Series([b + c for b, c in zip(bodies, checks, strict=True)])
    out = s.to_list()
    for pos, value in zip(np.flatnonzero(old.to_numpy()), upgraded.to_list(), strict=True):
        out[pos] = value
    return pl.Series(series.name, out, dtype=pl.String)


def phones(series: pl.Series) -> pl.Series:
    """Digits only: 0591-8765 4321 → 059187654321, +86 138-0013-8000 → 13800138000; an extension
    (转 123, ext 123) is kept after one dash."""
    s = series.str.replace_many(FULL, HALF).str.replace_all(r"(?i)(转|ext\.?)", "#")
    s = s.str.replace_all(r"[\s\u3000()（）\-]+", "")
    s = s.str.replace(r"^\+?86(1[3-9]\d{9})", "$1")
    return s.str.replace("#", "-", literal=True).alias(series.name)


@dataclass(frozen=True)
class SexFormat:
    """How one member column writes sex (性别代码): further spellings (``map``, e.g. ``{M: 1}``)
    and the codes that say nothing (``unknown``: GB/T 2261.1 0 未知 and 9 未说明 by default),
    compared as missing."""

    map: tuple[tuple[str, str], ...] = ()
    unknown: tuple[str, ...] = ("0", "9")


DEFAULT_SEX_FORMAT = SexFormat()


def sex_codes(series: pl.Series, fmt: SexFormat = DEFAULT_SEX_FORMAT) -> pl.Series:
    """GB/T 2261.1: 1 男, 2 女, 0 未知, 9 未说明; common spellings mapped, anything else null."""
    lowered = series.str.strip_chars().str.to_lowercase()
    mapping = {
        "1": "1",
        "男": "1",
        "m": "1",
        "male": "1",
        "2": "2",
        "女": "2",
        "f": "2",
        "female": "2",
        "0": "0",
        "9": "9",
        "未知": "0",
        "未说明": "9",
    }
    mapping |= {k.strip().lower(): v for k, v in fmt.map}
    return lowered.replace_strict(mapping, default=None, return_dtype=pl.String).alias(series.name)


@lru_cache(maxsize=1)
def _division_names() -> tuple[list[str], list[str], list[str]]:
    path = resources.files("shuhai").joinpath("data", "divisions", "divisions.csv")
    div = pl.read_csv(str(path), schema_overrides={"code": pl.String, "parent_code": pl.String})
    names_by_level = [
        sorted(
            set(div.filter(pl.col("level") == lvl)["name"].to_list())
            - {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"},
            key=len,
            reverse=True,
        )
        for lvl in (1, 2, 3)
    ]
    return names_by_level[0], names_by_level[1], names_by_level[2]


def _alternation(words: list[str]) -> str:
    import re

    return "|".join(re.escape(w) for w in words)


def addresses(series: pl.Series) -> pl.DataFrame:
    """Split addresses: 福建省福州市鼓楼区五一中路１２號 → 福建省 | 福州市 | 鼓楼区 | 五一中路 | 12号.

    Province, city and district are matched against the division names (longest first); the
    street is the next part up to 街道/镇/乡/路/街/巷/道; the rest is the detail.
    """
    provinces, cities, districts = _division_names()
    s = (
        series.str.replace_many(FULL, HALF)
        .str.replace_all("號", "号")
        .str.replace_all(r"[\s\u3000]+", "")
    )
    frame = pl.DataFrame({"a": s})
    pattern = (
        f"^(?P<province>{_alternation(provinces)})?"
        f"(?P<city>{_alternation(cities)})?"
        f"(?P<district>{_alternation(districts)})?"
        r"(?P<street>[^0-9]*?(?:街道|镇|乡|路|街|巷|道|大道))?"
        r"(?P<detail>.*)$"
    )
    parts = frame.select(pl.col("a").str.extract_groups(pattern)).unnest("a")
    return parts.with_columns(pl.all().replace("", None))


def id_checksum_ok(series: pl.Series) -> pl.Series:
    """GB 11643 check character and a real birth date, per standardized 18-character number.

    Deliberately looser than the quality rule (which also wants the region code in use in the
    birth year): for linking, a number whose check character is right identifies one person.
    """
    s = series.fill_null("")
    shaped = s.str.contains(r"^\d{17}[\dX]$")
    idx = np.flatnonzero(shaped.to_numpy())
    out = np.zeros(series.len(), dtype=bool)
    if idx.size:
        raw = "".join(s.gather(idx).to_list()).encode()
        mat = np.frombuffer(raw, dtype=np.uint8).reshape(idx.size, 18)
        digits = mat[:, :17].astype(np.int64) - 48
        expected = np.frombuffer(b"10X98765432", dtype=np.uint8)[
            (digits * RIC_WEIGHTS).sum(axis=1) % 11
        ]
        ok = expected == mat[:, 17]
        births = s.gather(idx).str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
        ok &= births.is_not_null().to_numpy()
        out[idx] = ok
    return pl.Series(series.name, out)


def dates(series: pl.Series) -> pl.Series:
    """Dates as ISO text (YYYY-MM-DD) whatever the column type; unreadable values null."""
    if series.dtype == pl.Date:
        return series.dt.strftime("%Y-%m-%d")
    if series.dtype == pl.Datetime:
        return series.dt.date().dt.strftime("%Y-%m-%d")
    text = series.cast(pl.String).str.replace_many(FULL, HALF).str.strip_chars()
    text = text.str.replace_all(r"[年月/.]", "-").str.replace_all("日", "")
    parsed = text.str.to_date("%Y-%m-%d", strict=False).fill_null(
        text.str.to_date("%Y%m%d", strict=False)
    )
    return parsed.dt.strftime("%Y-%m-%d").alias(series.name)


def birth_from_id(ids: pl.Series) -> pl.Series:
    """Birth date written in an 18-digit ID number (digits 7–14), even when its check fails."""
    return ids.str.slice(6, 8).str.to_date("%Y%m%d", strict=False).dt.strftime("%Y-%m-%d")


def known_sex(codes: pl.Series, fmt: SexFormat = DEFAULT_SEX_FORMAT) -> pl.Series:
    """Sex codes for comparing records: 0 未知 and 9 未说明 (GB/T 2261.1) say nothing, so they
    are missing rather than a value two records could share or differ on."""
    return codes.replace(dict.fromkeys(fmt.unknown)).alias(codes.name)


def sex_from_id(ids: pl.Series) -> pl.Series:
    """GB 11643: the 17th digit is odd for men (1), even for women (2)."""
    digit = ids.str.slice(16, 1).cast(pl.Int32, strict=False)
    frame = pl.DataFrame({"d": digit})
    sex = pl.when(pl.col("d") % 2 == 1).then(pl.lit("1")).when(pl.col("d").is_not_null())
    return frame.select(sex.then(pl.lit("2")).otherwise(None).alias(ids.name)).to_series()


_PINYIN: dict[str, str] = {}  # character -> toneless pinyin, filled as characters are met


def pinyin(series: pl.Series) -> pl.Series:
    """Names in toneless pinyin, syllables joined (张伟 → zhangwei, 章玮 → zhangwei): homophones
    compare equal. Each distinct character is looked up once (pypinyin), then mapped in Polars."""
    from pypinyin import Style, lazy_pinyin

    table = _PINYIN
    chars = series.drop_nulls().str.split("").explode().unique().drop_nulls().to_list()
    missing = [c for c in chars if c not in table]
    for ch in missing:
        table[ch] = "".join(lazy_pinyin(ch, style=Style.NORMAL, errors="default")).lower()
    frame = pl.DataFrame({"v": series}).with_row_index("i")
    exploded = frame.with_columns(pl.col("v").str.split("")).explode("v")
    mapped = exploded.with_columns(
        pl.col("v").replace_strict(table, default=pl.col("v"), return_dtype=pl.String)
    )
    joined = mapped.group_by("i", maintain_order=True).agg(pl.col("v").str.join(""))
    return joined["v"].replace("", None).alias(series.name)


def enterprise_names(series: pl.Series) -> pl.Series:
    """Enterprise names: half-width, （）→(), no white space, simplified characters."""
    s = series.str.replace_many(FULL + ["（", "）"], HALF + ["(", ")"]).str.replace_all(
        r"[\s\u3000]+", ""
    )
    return simplified(s).replace("", None).alias(series.name)


__all__ = [
    "addresses",
    "birth_from_id",
    "dates",
    "enterprise_names",
    "id_checksum_ok",
    "id_numbers",
    "names",
    "phones",
    "pinyin",
    "sex_codes",
    "known_sex",
    "sex_from_id",
    "simplified",
]
