"""Validators for Chinese government data (校验规则), vectorized over a whole version.

Each function takes a SQL expression for a text column and returns a DuckDB SQL boolean that is
true when the value is valid; NULL input counts as valid (completeness is the not-null rule's
job). The rule compiler composes them into one query per version. ID numbers and credit codes
are checked by NumPy UDFs (``shuhai.quality.vectorized``); call ``prepare(con)`` first.

- ``ric``: resident ID number, GB 11643: 18 digits (last may be X) with the MOD 11-2 check
  character, a real birth date not in the future, and a region code in use during the birth
  year (the year a code was replaced counts: numbers were issued under it that year; years
  before 1981 are checked against 1981, where the 民政部 list starts); or the old
  15-digit form (birth year 19xx) with the same date and region checks.
- ``uscc``: unified social credit code, GB 32100: 8 digits then 10 characters of its alphabet,
  with the MOD 31 check character (python-stdnum's definition); ``uscc_strict`` adds a known
  registration authority and type, a division code that exists, and the GB 11714 check of the
  embedded organization code.
- ``org_code``: organization code, GB 11714 (8 characters + check, X for 10).
- phones, e-mail, postal code, GB/T 2261.1 sex code.
"""

from __future__ import annotations

RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
DIVISIONS_TABLE = "shuhai_divisions"  # registered by the rule engine (code, start_year, end_year)
# GB 32100 登记管理部门代码 → 机构类别代码 allowed with it.
USCC_AUTHORITIES = {
    "1": "1239",  # 机构编制
    "2": "19",  # 外交
    "3": "129",  # 司法行政
    "4": "19",  # 文化
    "5": "1239",  # 民政
    "6": "129",  # 旅游
    "7": "129",  # 宗教
    "8": "19",  # 工会
    "9": "123",  # 工商
    "A": "19",  # 中央军委改革和编制办公室
    "N": "1239",  # 农业
    "Y": "1",  # 其他
}


def _ric_check_char(body17: str) -> str:
    total = " + ".join(
        f"TRY_CAST(substr({body17}, {i + 1}, 1) AS INTEGER) * {w}"
        for i, w in enumerate(RIC_WEIGHTS)
    )
    return f"substr('10X98765432', (({total}) % 11) + 1, 1)"


def ric(col: str) -> str:
    """Resident ID number (公民身份号码), 18-digit or old 15-digit form (a vectorized UDF, see
    ``shuhai.quality.vectorized``)."""
    return f"({col} IS NULL OR coalesce(shuhai_ric({col}), false))"


def ric_upgrade(col: str) -> str:
    """The 18-digit form of a 15-digit ID number (insert 19, append the check character)."""
    v = f"trim({col})"
    body = f"(substr({v}, 1, 6) || '19' || substr({v}, 7, 9))"
    return f"CASE WHEN length({v}) = 15 THEN {body} || {_ric_check_char(body)} ELSE upper({v}) END"


def ric_birth_date(col: str) -> str:
    """Birth date in an 18- or 15-digit ID number (NULL when unreadable)."""
    v = f"trim({col})"
    return (
        f"CAST(CASE length({v}) WHEN 18 THEN try_strptime(substr({v}, 7, 8), '%Y%m%d') "
        f"WHEN 15 THEN try_strptime('19' || substr({v}, 7, 6), '%Y%m%d') END AS DATE)"
    )


def ric_sex(col: str) -> str:
    """GB/T 2261.1 sex code from the ID: '1' (odd sequence digit, male) or '2'."""
    v = f"trim({col})"
    digit = f"TRY_CAST(substr({v}, CASE length({v}) WHEN 15 THEN 15 ELSE 17 END, 1) AS INTEGER)"
    return f"CASE WHEN {digit} % 2 = 1 THEN '1' WHEN {digit} IS NOT NULL THEN '2' END"


def uscc(col: str) -> str:
    """Unified social credit code (统一社会信用代码): format and MOD 31 check character."""
    return f"({col} IS NULL OR coalesce(shuhai_uscc({col}), false))"


def org_code(col: str, *, compact: bool = True) -> str:
    """Organization code (组织机构代码, GB 11714): 8 characters [0-9A-Z] and a check character."""
    v = f"replace(upper(trim({col})), '-', '')" if compact else f"upper(trim({col}))"
    value = "CASE WHEN substr({v}, {i}, 1) BETWEEN '0' AND '9' THEN TRY_CAST(substr({v}, {i}, 1) AS INTEGER) ELSE ascii(substr({v}, {i}, 1)) - 55 END"
    total = " + ".join(value.format(v=v, i=i + 1) + f" * {w}" for i, w in enumerate(ORG_WEIGHTS))
    c = f"(11 - (({total}) % 11))"
    check = f"CASE WHEN {c} = 10 THEN 'X' WHEN {c} = 11 THEN '0' ELSE CAST({c} AS VARCHAR) END"
    return f"({col} IS NULL OR coalesce(regexp_full_match({v}, '[0-9A-Z]{{8}}[0-9X]') AND substr({v}, 9, 1) = {check}, false))"


def uscc_strict(col: str) -> str:
    """``uscc`` plus registration authority and type, an existing division, the org-code check."""
    v = f"upper(trim({col}))"
    pairs = " OR ".join(
        f"(substr({v}, 1, 1) = '{a}' AND strpos('{types}', substr({v}, 2, 1)) > 0)"
        for a, types in USCC_AUTHORITIES.items()
    )
    division = f"(substr({v}, 3, 6) = '100000' OR EXISTS (SELECT 1 FROM {DIVISIONS_TABLE} d WHERE d.code = substr({v}, 3, 6)))"
    return (
        f"({col} IS NULL OR coalesce({uscc(col)} AND ({pairs}) AND {division} "
        f"AND {org_code(f'substr({v}, 9, 9)', compact=False)}, false))"
    )


# Patterns matched against the whole trimmed value (RE2: DuckDB's ``regexp_full_match`` and
# Arrow's ``match_substring_regex`` read them alike; ``vectorized`` checks loads with Arrow).
PATTERNS = {
    "mobile": r"(\+?86[- ]?)?1[3-9][0-9]{9}",
    "landline": r"(0[0-9]{2,3}[- ]?)?[2-9][0-9]{6,7}((-|转)[0-9]{1,6})?",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "postal_code": r"[0-8][0-9]{5}",
}
SEX_CODES = ("0", "1", "2", "9", "男", "女")


def _full_match(col: str, kind: str) -> str:
    pattern = PATTERNS[kind].replace("'", "''")
    return f"({col} IS NULL OR regexp_full_match(trim({col}), '{pattern}'))"


def mobile(col: str) -> str:
    """Mainland mobile number: 11 digits starting 13–19 (an optional +86 or 86 prefix)."""
    return _full_match(col, "mobile")


def landline(col: str) -> str:
    """Fixed-line number: optional area code 0xx(x), 7–8 digit number, optional extension."""
    return _full_match(col, "landline")


def phone(col: str) -> str:
    return f"({mobile(col)} OR {landline(col)})"


def email(col: str) -> str:
    return _full_match(col, "email")


def postal_code(col: str) -> str:
    """Mainland postal code: 6 digits, first 0–8."""
    return _full_match(col, "postal_code")


def sex_code(col: str) -> str:
    """GB/T 2261.1 性别代码: 0 未知, 1 男, 2 女, 9 未说明 (男/女 words accepted too)."""
    values = ", ".join(f"'{v}'" for v in SEX_CODES)
    return f"({col} IS NULL OR trim({col}) IN ({values}))"


def prepare(con: object) -> None:
    """Make a DuckDB connection ready for these validators (division codes, NumPy UDFs)."""
    from shuhai.quality import vectorized
    from shuhai.quality.divisions import division_periods

    con.register(DIVISIONS_TABLE, division_periods())  # type: ignore[attr-defined]
    vectorized.register(con)


__all__ = [
    "DIVISIONS_TABLE",
    "prepare",
    "email",
    "landline",
    "mobile",
    "org_code",
    "phone",
    "postal_code",
    "ric",
    "ric_birth_date",
    "ric_sex",
    "ric_upgrade",
    "sex_code",
    "uscc",
    "uscc_strict",
]
