"""The 18-character code checks compiled: one pass over the byte matrix with Numba, without the
GIL. ID numbers (身份证号码校验, GB 11643): check character, date, region code in use in the
birth year, and the birth date as days since 1970 (``vectorized.ric_scan`` calls it; the rules are
the same as its NumPy spelling, which still checks 15-digit numbers). Unified social credit codes
(GB 32100, ``vectorized.uscc_valid``). python-stdnum is the oracle in the tests, and the NumPy
spellings are checked against these."""

from __future__ import annotations

import numpy as np
from numba import njit

_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8).copy()
_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


@njit(inline="always")
def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= 1 if m <= 2 else 0
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(nogil=True, cache=True)
def scan18(
    mat: np.ndarray, keys: np.ndarray, today: int, first_year: int, no_date: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``mat`` (n × 18 bytes): (valid, birth day or ``no_date``). ``keys``: sorted
    ``region code * 10000 + year`` of codes in use; ``today`` as yyyymmdd."""
    n = mat.shape[0]
    valid = np.zeros(n, dtype=np.bool_)
    days = np.full(n, no_date, dtype=np.int64)
    for i in range(n):
        total = 0
        digits = True
        for j in range(17):
            c = mat[i, j]
            if c < 48 or c > 57:
                digits = False
                break
            total += (c - 48) * _WEIGHTS[j]
        if not digits:
            continue
        year = (mat[i, 6] - 48) * 1000 + (mat[i, 7] - 48) * 100
        year += (mat[i, 8] - 48) * 10 + (mat[i, 9] - 48)
        month = (mat[i, 10] - 48) * 10 + (mat[i, 11] - 48)
        day = (mat[i, 12] - 48) * 10 + (mat[i, 13] - 48)
        if month < 1 or month > 12 or day < 1 or year < 1800:
            continue
        leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        dim = _DAYS[month - 1] + (1 if month == 2 and leap else 0)
        if day > dim or year * 10000 + month * 100 + day > today:
            continue
        days[i] = _days_from_civil(year, month, day)
        if _CHECK[total % 11] != mat[i, 17]:
            continue
        code = 0
        for j in range(6):
            code = code * 10 + (mat[i, j] - 48)
        wanted = code * 10000 + max(year, first_year)
        pos = np.searchsorted(keys, wanted)
        if pos >= keys.size:
            pos = keys.size - 1
        valid[i] = keys[pos] == wanted
    return valid, days


__all__ = ["scan18"]


@njit(nogil=True, cache=True)
def uscc18(mat: np.ndarray, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Rows of ``mat`` (n × 18 bytes) that are valid unified social credit codes (统一社会信用
    代码, GB 32100): every character in the code alphabet (``values``: byte → value or -1), the
    first eight digits, and the MOD 31 check character; the same rules as
    ``vectorized.uscc_valid``'s NumPy spelling, in one pass."""
    n = mat.shape[0]
    valid = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        total = 0
        good = True
        for j in range(17):
            v = values[mat[i, j]]
            if v < 0 or (j < 8 and v > 9):
                good = False
                break
            total += v * weights[j]
        if not good:
            continue
        last = values[mat[i, 17]]
        valid[i] = last >= 0 and last == (31 - total % 31) % 31
    return valid
