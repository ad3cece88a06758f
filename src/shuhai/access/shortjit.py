"""Short numeric codes over whole columns (``shortcodes``' format), compiled with Numba and
run without the GIL, so that the column cipher's threads share the work. Imported on first use:
Numba loads when a column is sealed or opened, not when a server starts."""

from __future__ import annotations

import numpy as np
from numba import njit

from shuhai.access.shortcodes import MAGIC, MAX_DIGITS, X_FLAG

_MAGIC = np.frombuffer(MAGIC, dtype=np.uint8).copy()
_POW10 = np.array([10**i for i in range(MAX_DIGITS + 1)], dtype=np.uint64)


@njit(nogil=True, cache=True)
def pack(
    raw: np.ndarray, bounds: np.ndarray, rows: np.ndarray, blocks: np.ndarray, ok: np.ndarray
) -> None:
    """Into ``blocks`` and ``ok``: the block of each of ``rows`` (values
    ``raw[bounds[r]:bounds[r + 1]]``) and whether it is a short numeric code (if not, its block
    is left unset)."""
    for i in range(rows.shape[0]):
        ok[i] = False
        start = bounds[rows[i]]
        n = bounds[rows[i] + 1] - start
        if n < 1 or n > MAX_DIGITS:
            continue
        shown = n
        flag = 0
        if n == MAX_DIGITS and raw[start + MAX_DIGITS - 1] == 88:  # "X"
            shown = MAX_DIGITS - 1
            flag = X_FLAG
        number = np.uint64(0)
        good = True
        for j in range(shown):
            c = raw[start + j]
            if c < 48 or c > 57:
                good = False
                break
            number = number * np.uint64(10) + np.uint64(c - 48)
        if not good:
            continue
        for j in range(7):
            blocks[i, j] = _MAGIC[j]
        blocks[i, 7] = n | flag
        for j in range(8):
            blocks[i, 15 - j] = np.uint8((number >> np.uint64(8 * j)) & np.uint64(0xFF))
        ok[i] = True


@njit(nogil=True, cache=True)
def lengths(blocks: np.ndarray) -> np.ndarray:
    """The length of the value each deciphered block holds, -1 for a block that is not a valid
    encoding (tampered, the wrong key, or not this encoding at all)."""
    k = blocks.shape[0]
    out = np.full(k, -1, dtype=np.int64)
    for i in range(k):
        good = True
        for j in range(7):
            if blocks[i, j] != _MAGIC[j]:
                good = False
                break
        if not good:
            continue
        d = blocks[i, 7]
        n = d & 0x7F
        x = d & X_FLAG
        if n < 1 or n > MAX_DIGITS or (x != 0 and n != MAX_DIGITS):
            continue
        shown = n - 1 if x != 0 else n
        number = np.uint64(0)
        for j in range(8, 16):
            number = (number << np.uint64(8)) | np.uint64(blocks[i, j])
        if number >= _POW10[shown]:
            continue
        out[i] = n
    return out


@njit(nogil=True, cache=True)
def unpack(blocks: np.ndarray, sizes: np.ndarray, out: np.ndarray, dest: np.ndarray) -> None:
    """Write the value of each valid block (``sizes`` from ``lengths``, > 0) at ``out[dest]``."""
    for i in range(blocks.shape[0]):
        n = sizes[i]
        if n <= 0:
            continue
        number = np.uint64(0)
        for j in range(8, 16):
            number = (number << np.uint64(8)) | np.uint64(blocks[i, j])
        pos = dest[i]
        shown = n
        if blocks[i, 7] & X_FLAG:
            shown = n - 1
            out[pos + shown] = 88
        for j in range(shown - 1, -1, -1):
            out[pos + j] = np.uint8(48 + number % np.uint64(10))
            number = number // np.uint64(10)


@njit(nogil=True, cache=True)
def take16(raw: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The 16 bytes at each of ``starts``."""
    out = np.empty((starts.shape[0], 16), dtype=np.uint8)
    for i in range(starts.shape[0]):
        for j in range(16):
            out[i, j] = raw[starts[i] + j]
    return out


@njit(nogil=True, cache=True)
def put16(out: np.ndarray, dest: np.ndarray, blocks: np.ndarray) -> None:
    """Write each 16-byte block at its ``dest`` in ``out``."""
    for i in range(dest.shape[0]):
        for j in range(16):
            out[dest[i] + j] = blocks[i, j]


__all__ = ["lengths", "pack", "put16", "take16", "unpack"]
