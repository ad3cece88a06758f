"""SM3 over many short messages at once (批量 SM3), for verifying the audit trail.

OpenSSL (``hashlib``) hashes one message per call; a trail of millions of short entries then
spends its time in Python calling it. This is GM/T 0004-2012 compiled by Numba over a whole Arrow
binary array (data buffer + offsets): one call for a chunk of entries, no Python per entry, and
the GIL released, so the verifier's threads hash chunks on every core at once. Only the verifier uses it; entries are
hashed when written by OpenSSL, and the tests check this against OpenSSL on messages of every
length around the block boundaries, and against the standard's examples.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

_IV = np.array(
    [
        0x7380166F,
        0x4914B2B9,
        0x172442D7,
        0xDA8A0600,
        0xA96F30BC,
        0x163138AA,
        0xE38DEE4D,
        0xB0FB0E4E,
    ],
    dtype=np.int64,
)
_M = 0xFFFFFFFF
# T_j rotated left by j (mod 32), the round constants of the compression function
_T = np.array(
    [
        ((t << (j % 32)) | (t >> (32 - j % 32))) & _M if j % 32 else t
        for j in range(64)
        for t in [0x79CC4519 if j < 16 else 0x7A879D8A]
    ],
    dtype=np.int64,
)


@njit(inline="always")
def _rotl(x: int, n: int) -> int:
    n = n % 32
    return ((x << n) | (x >> (32 - n))) & _M if n else x


@njit
def _compress(v: np.ndarray, block: np.ndarray, w: np.ndarray, w1: np.ndarray) -> None:
    for j in range(16):
        w[j] = (
            (np.int64(block[4 * j]) << 24)
            | (np.int64(block[4 * j + 1]) << 16)
            | (np.int64(block[4 * j + 2]) << 8)
            | np.int64(block[4 * j + 3])
        )
    for j in range(16, 68):
        x = w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15)
        p1 = x ^ _rotl(x, 15) ^ _rotl(x, 23)
        w[j] = p1 ^ _rotl(w[j - 13], 7) ^ w[j - 6]
    for j in range(64):
        w1[j] = w[j] ^ w[j + 4]
    a, b, c, d, e, f, g, h = v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
    for j in range(64):
        a12 = _rotl(a, 12)
        ss1 = _rotl((a12 + e + _T[j]) & _M, 7)
        ss2 = ss1 ^ a12
        if j < 16:
            ff = a ^ b ^ c
            gg = e ^ f ^ g
        else:
            ff = (a & b) | (a & c) | (b & c)
            gg = (e & f) | ((~e & _M) & g)
        tt1 = (ff + d + ss2 + w1[j]) & _M
        tt2 = (gg + h + ss1 + w[j]) & _M
        d = c
        c = _rotl(b, 9)
        b = a
        a = tt1
        h = g
        g = _rotl(f, 19)
        f = e
        e = tt2 ^ _rotl(tt2, 9) ^ _rotl(tt2, 17)
    v[0] ^= a
    v[1] ^= b
    v[2] ^= c
    v[3] ^= d
    v[4] ^= e
    v[5] ^= f
    v[6] ^= g
    v[7] ^= h


@njit
def _one(data: np.ndarray, start: int, end: int, out: np.ndarray) -> None:
    v = _IV.copy()
    w = np.empty(68, dtype=np.int64)
    w1 = np.empty(64, dtype=np.int64)
    block = np.empty(64, dtype=np.uint8)
    n = end - start
    pos = start
    while end - pos >= 64:
        block[:] = data[pos : pos + 64]
        _compress(v, block, w, w1)
        pos += 64
    rest = end - pos
    block[:] = 0
    block[:rest] = data[pos:end]
    block[rest] = 0x80
    if rest >= 56:
        _compress(v, block, w, w1)
        block[:] = 0
    bits = np.int64(n) * 8
    for k in range(8):
        block[63 - k] = (bits >> (8 * k)) & 0xFF
    _compress(v, block, w, w1)
    for i in range(8):
        out[4 * i] = (v[i] >> 24) & 0xFF
        out[4 * i + 1] = (v[i] >> 16) & 0xFF
        out[4 * i + 2] = (v[i] >> 8) & 0xFF
        out[4 * i + 3] = v[i] & 0xFF


@njit(nogil=True, cache=True)
def _many(data: np.ndarray, offsets: np.ndarray, out: np.ndarray) -> None:
    for i in range(len(offsets) - 1):
        _one(data, offsets[i], offsets[i + 1], out[i])


def sm3_many(messages: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The SM3 digest of every value of a binary Arrow array, as an ``n × 32`` uint8 array
    (nulls hash as empty messages)."""
    if isinstance(messages, pa.ChunkedArray):
        messages = messages.combine_chunks()
    arr = messages.cast(pa.large_binary())
    if arr.offset:
        arr = arr.take(pa.array(np.arange(len(arr))))
    n = len(arr)
    out = np.zeros((n, 32), dtype=np.uint8)
    if n == 0:
        return out
    _validity, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[: n + 1]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8)
        if data_buf is not None and data_buf.size
        else np.zeros(1, dtype=np.uint8)
    )
    if arr.null_count:  # a null value is an empty message
        valid = np.asarray(arr.is_valid())
        starts, ends = offsets[:-1].copy(), offsets[1:].copy()
        ends[~valid] = starts[~valid]
        _many_spans(data, starts, ends, out)
        return out
    _many(data, offsets, out)
    return out


@njit(nogil=True, cache=True)
def _many_spans(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, out: np.ndarray) -> None:
    for i in range(len(starts)):
        _one(data, starts[i], ends[i], out[i])


__all__ = ["sm3_many"]
