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
from numba import njit, uint32

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
    dtype=np.uint32,
)
# T_j rotated left by j (mod 32), the round constants of the compression function
_T = np.array(
    [
        ((t << (j % 32)) | (t >> (32 - j % 32))) & 0xFFFFFFFF if j % 32 else t
        for j in range(64)
        for t in [0x79CC4519 if j < 16 else 0x7A879D8A]
    ],
    dtype=np.uint32,
)


# Words are uint32 throughout, so additions wrap by themselves; each expression is cast back to
# uint32 because Numba widens mixed-width integer arithmetic.
@njit(inline="always")
def _rotl(x: int, n: int) -> int:
    return uint32((x << uint32(n)) | (x >> uint32(32 - n)))


@njit(inline="always")
def _compress(v: np.ndarray, data: np.ndarray, pos: int, w: np.ndarray) -> None:
    """The compression function on the 64 bytes of ``data`` at ``pos``, into the state ``v``."""
    for j in range(16):
        p = pos + 4 * j
        w[j] = uint32(
            (uint32(data[p]) << uint32(24))
            | (uint32(data[p + 1]) << uint32(16))
            | (uint32(data[p + 2]) << uint32(8))
            | uint32(data[p + 3])
        )
    for j in range(16, 68):
        x = uint32(w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15))
        w[j] = uint32(x ^ _rotl(x, 15) ^ _rotl(x, 23) ^ _rotl(w[j - 13], 7) ^ w[j - 6])
    a, b, c, d, e, f, g, h = v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
    for j in range(64):
        a12 = _rotl(a, 12)
        ss1 = _rotl(uint32(a12 + e + _T[j]), 7)
        ss2 = uint32(ss1 ^ a12)
        if j < 16:
            ff = uint32(a ^ b ^ c)
            gg = uint32(e ^ f ^ g)
        else:
            ff = uint32((a & b) | (a & c) | (b & c))
            gg = uint32((e & f) | (~e & g))
        tt1 = uint32(ff + d + ss2 + (w[j] ^ w[j + 4]))
        tt2 = uint32(gg + h + ss1 + w[j])
        d = c
        c = _rotl(b, 9)
        b = a
        a = tt1
        h = g
        g = _rotl(f, 19)
        f = e
        e = uint32(tt2 ^ _rotl(tt2, 9) ^ _rotl(tt2, 17))
    v[0] ^= a
    v[1] ^= b
    v[2] ^= c
    v[3] ^= d
    v[4] ^= e
    v[5] ^= f
    v[6] ^= g
    v[7] ^= h


@njit(nogil=True, cache=True)
def _many_spans(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, out: np.ndarray) -> None:
    """``out[i]`` = SM3 of ``data[starts[i]:ends[i]]``: whole blocks straight from ``data``, the
    padded tail (one or two blocks) from a small buffer."""
    w = np.empty(68, dtype=np.uint32)
    v = np.empty(8, dtype=np.uint32)
    tail = np.empty(128, dtype=np.uint8)
    for i in range(len(starts)):
        start, end = starts[i], ends[i]
        v[:] = _IV
        pos = start
        while end - pos >= 64:
            _compress(v, data, pos, w)
            pos += 64
        rest = end - pos
        tail[:] = 0
        tail[:rest] = data[pos:end]
        tail[rest] = 0x80
        last = 64 if rest < 56 else 128
        bits = np.uint64(end - start) * np.uint64(8)
        for k in range(8):
            tail[last - 1 - k] = np.uint8((bits >> np.uint64(8 * k)) & np.uint64(0xFF))
        _compress(v, tail, 0, w)
        if last == 128:
            _compress(v, tail, 64, w)
        for k in range(8):
            out[i, 4 * k] = np.uint8(v[k] >> uint32(24))
            out[i, 4 * k + 1] = np.uint8((v[k] >> uint32(16)) & uint32(0xFF))
            out[i, 4 * k + 2] = np.uint8((v[k] >> uint32(8)) & uint32(0xFF))
            out[i, 4 * k + 3] = np.uint8(v[k] & uint32(0xFF))


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
    starts, ends = offsets[:-1], offsets[1:]
    if arr.null_count:  # a null value is an empty message
        valid = np.asarray(arr.is_valid())
        ends = ends.copy()
        ends[~valid] = starts[~valid]
    _many_spans(data, starts, ends, out)
    return out


__all__ = ["sm3_many"]
