"""Column encryption at rest (列级加密, SM4) for 核心 / L4 columns in the lake.

The scheme is SM4-SIV (deterministic authenticated encryption, the construction of RFC 5297 with
SM4 in place of AES): each value's 16-byte synthetic IV is an SM4 CBC-MAC of its length and bytes
under one half of the data key (the length prefix makes the messages prefix-free, so the MAC is
a PRF); the value is then encrypted in SM4-CTR from that IV under the other half. The stored
value is ``IV ‖ ciphertext``. Equal plaintexts give equal ciphertexts under the same key, which is
what upsert merges on a key column, equality filters and B-tree lookups need; nothing else about
the value shows. Opening recomputes the IV from the plaintext, so a changed byte is detected.

Vectorized: a column's values are laid out in numpy, and each pass (one per MAC block position,
one for the keystream) is a single SM4-ECB call into OpenSSL over all values, so a million values
cost a handful of calls, not a million.

Short numeric codes — ID numbers, phone, account and card numbers, the bulk of what is L4 —
are sealed more cheaply under keys made for it (``COMPACT``): a value of up to 18 digits, or 17
digits and ``X``, is encoded into one block and enciphered with SM4 (``shuhai.access.shortcodes``,
encode-then-encipher): one block of SM4 instead of four for an 18-character ID, stored as 16
bytes instead of 34, just as deterministic, with the encoding's redundancy as its integrity
check. Every other value of such a column is sealed with SIV as above. A 16-byte stored value is
either such a block or SIV's sealing of the empty string, which opening tells apart. Keys made
before this (``LEGACY``) seal everything with SIV, so data sealed then still compares equal to
values sealed now.

Data keys are random 32-byte keys (MAC half ‖ encryption half) wrapped (SM4-GCM) under the master
key; rotating the master key rewraps them without touching the data.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shuhai.access import shortcodes
from shuhai.access.crypto import sm4_gcm_decrypt, sm4_gcm_encrypt
from shuhai.errors import ShuhaiError

DATA_KEY_BYTES = 32
LEGACY = "sm4-siv"  # every value SIV-sealed (data keys made before short codes)
COMPACT = "sm4-siv+ete"  # short numeric codes as one enciphered block, the rest SIV
_ETE_LABEL = b"\xffshuhai-encipher"  # the encipher key is SM4(MAC key, this block)
_SLICE = 1 << 18  # rows per thread task for short codes
_CHUNK_BYTES = 8 << 20  # values are processed in slices of about this many bytes (bounded memory)


class TamperedColumn(ShuhaiError):
    """A stored encrypted value fails its integrity check (changed bytes or the wrong key)."""

    status = 500


def wrap_purpose(scheme: str | None) -> str:
    """What a data key's wrapping authenticates besides the key: its scheme, so that a scheme
    changed in the metadata database makes the key fail to unwrap instead of sealing equal
    values differently from what is stored (keys from before schemes: plain ``data-key``)."""
    return "data-key" if scheme in (None, LEGACY) else f"data-key/{scheme}"


def new_data_key(master: bytes, scheme: str | None = None) -> tuple[bytes, str]:
    """A fresh data key and its wrapped form (hex) to store."""
    key = os.urandom(DATA_KEY_BYTES)
    return key, sm4_gcm_encrypt(master, key, aad=wrap_purpose(scheme).encode()).hex()


def unwrap(master: bytes, wrapped: str, scheme: str | None = None) -> bytes:
    return sm4_gcm_decrypt(master, bytes.fromhex(wrapped), aad=wrap_purpose(scheme).encode())


def rewrap(old_master: bytes, new_master: bytes, wrapped: str, scheme: str | None = None) -> str:
    """Master-key rotation: the same data key, wrapped under the new master key."""
    aad = wrap_purpose(scheme).encode()
    return sm4_gcm_encrypt(new_master, unwrap(old_master, wrapped, scheme), aad=aad).hex()


def _ecb(key: bytes, blocks: np.ndarray) -> np.ndarray:
    """SM4 over many independent 16-byte blocks in one OpenSSL call (the building block of the
    CBC-MAC and CTR passes; never used on data directly)."""
    enc = _block(key).encryptor()
    out = enc.update(np.ascontiguousarray(blocks).reshape(-1)) + enc.finalize()
    return np.frombuffer(out, dtype=np.uint8).reshape(-1, 16)


def _ecb_decrypt(key: bytes, blocks: np.ndarray) -> np.ndarray:
    """SM4 decryption of many independent blocks in one OpenSSL call (short codes' opening)."""
    dec = _block(key).decryptor()
    out = dec.update(np.ascontiguousarray(blocks).reshape(-1)) + dec.finalize()
    return np.frombuffer(out, dtype=np.uint8).reshape(-1, 16)


def _jit() -> Any:
    """The compiled column kernels for short codes (Numba loads on first use)."""
    from shuhai.access import shortjit

    return shortjit


_preloading = threading.Event()


def _preload() -> None:
    """Load the short-code kernels on a background thread, once per process: importing Numba
    and its cached machine code takes a few hundred milliseconds, which a load then spends
    while its first block is being parsed instead of after."""
    if _preloading.is_set():
        return
    _preloading.set()

    def load() -> None:
        kernels = _jit()
        blocks, ok = np.empty((1, 16), np.uint8), np.empty(1, bool)
        kernels.pack(np.frombuffer(b"1", np.uint8), np.array([0, 1]), np.array([0]), blocks, ok)
        kernels.unpack(blocks, kernels.lengths(blocks), np.empty(1, np.uint8), np.array([0]))
        kernels.put16(
            np.empty(16, np.uint8), np.array([0]), kernels.take16(blocks[0], np.array([0]))
        )

    threading.Thread(target=load, name="sm4-preload", daemon=True).start()


def _block(key: bytes) -> Cipher:
    """SM4 on single blocks under ``key`` (contexts for the one-value paths)."""
    return Cipher(algorithms.SM4(key), modes.ECB())


def _decoded_length(block: np.ndarray) -> int:
    """The length of the value a deciphered block holds, -1 if it is not a valid encoding."""
    value = shortcodes.decode(block.tobytes())
    return -1 if value is None else len(value)


def _put_values(out: np.ndarray, dest: np.ndarray, blocks: np.ndarray, sizes: np.ndarray) -> None:
    """Write the value of each deciphered block (``sizes`` > 0) at its ``dest``, value by value."""
    for pos, block, size in zip(dest.tolist(), blocks, sizes.tolist(), strict=True):
        if size > 0:
            value = shortcodes.decode(block.tobytes())
            assert value is not None
            out[pos : pos + size] = np.frombuffer(value, np.uint8)


def _slices(count: int) -> list[tuple[int, int]]:
    return [(a, min(a + _SLICE, count)) for a in range(0, count, _SLICE)]


def _groups(lengths: np.ndarray, valid: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """The valid rows grouped by value length, in slices of about ``_CHUNK_BYTES`` each: within
    a group every value has the same shape, so each step is a 2-D numpy operation."""
    rows = np.nonzero(valid)[0]
    if not len(rows):
        return []
    ls = lengths[rows]
    if ls.min() == ls.max():
        parts = [(int(ls[0]), rows)]
    else:
        order = np.argsort(ls, kind="stable")
        ordered = ls[order]
        cuts = [0, *(np.flatnonzero(np.diff(ordered)) + 1).tolist(), len(ordered)]
        parts = [(int(ordered[a]), rows[order[a:b]]) for a, b in zip(cuts, cuts[1:], strict=False)]
    out = []
    for width, idx in parts:
        step = max(1, _CHUNK_BYTES // (width + 48))
        out.extend((width, idx[i : i + step]) for i in range(0, len(idx), step))
    return out


def _gather(raw: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """(k, width) bytes from ``raw`` at ``starts`` (a plain reshape when they are contiguous)."""
    k = len(starts)
    if k == 1 or bool((np.diff(starts) == width).all()):
        first = int(starts[0])
        return raw[first : first + k * width].reshape(k, width)
    return raw[starts[:, None] + np.arange(width)]


def _put(out: np.ndarray, dest: np.ndarray, block: np.ndarray) -> None:
    """Write the rows of ``block`` into ``out`` at ``dest`` (a slice when contiguous)."""
    k, width = block.shape
    if k == 1 or bool((np.diff(dest) == width).all()):
        first = int(dest[0])
        out[first : first + k * width] = block.reshape(-1)
    else:
        out[dest[:, None] + np.arange(width)] = block


def _synthetic_iv(key: bytes, values: np.ndarray) -> np.ndarray:
    """SM4 CBC-MAC of ``len (8 bytes, big-endian) ‖ value``, zero-padded, for each row of a
    (k, L) block of equal-length values: (k, 16)."""
    k, width = values.shape
    nblocks = (width + 8 + 15) // 16
    msg = np.zeros((k, nblocks * 16), dtype=np.uint8)
    msg[:, :8] = np.array([width], dtype=">u8").view(np.uint8)
    msg[:, 8 : 8 + width] = values
    msg = msg.reshape(k, nblocks, 16)
    state = _ecb(key, msg[:, 0])
    for j in range(1, nblocks):
        state = _ecb(key, state ^ msg[:, j])
    return state


def _keystream(key: bytes, ivs: np.ndarray, width: int) -> np.ndarray:
    """SM4-CTR keystream from each row's IV (the low 32 bits count, as GCM's inc32): (k, width)."""
    k = len(ivs)
    nks = (width + 15) // 16
    if not nks:
        return np.zeros((k, 0), dtype=np.uint8)
    counters = np.repeat(ivs[:, None, :], nks, axis=1)
    low = ivs[:, 12:16].copy().view(">u4").reshape(k).astype(np.uint64)
    step = (low[:, None] + np.arange(nks, dtype=np.uint64)) & 0xFFFFFFFF
    counters[:, :, 12:16] = step.astype(">u4").view(np.uint8).reshape(k, nks, 4)
    return _ecb(key, counters).reshape(k, nks * 16)[:, :width]


_POOL: ThreadPoolExecutor | None = None


def _each(work: Callable[[tuple[int, np.ndarray]], None], parts: list[Any]) -> None:
    """Run ``work`` on every part; parts write disjoint slices of the output, and OpenSSL and
    numpy release the GIL, so a large column uses every core."""
    global _POOL
    if len(parts) <= 1:
        for part in parts:
            work(part)
        return
    if _POOL is None:
        _POOL = ThreadPoolExecutor(
            max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="sm4"
        )
    for done in _POOL.map(work, parts):
        assert done is None


def _text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not pa.types.is_large_string(arr.type) and not pa.types.is_large_binary(arr.type):
        binary = (
            pa.types.is_binary(arr.type)
            or pa.types.is_binary_view(arr.type)
            or pa.types.is_fixed_size_binary(arr.type)
        )
        arr = arr.cast(pa.large_binary() if binary else pa.large_string())
    return arr


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int64 offsets of the array's own values, its data bytes)."""
    _, offsets, data = arr.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    raw = (
        np.frombuffer(data, dtype=np.uint8)
        if data is not None and data.size
        else np.zeros(0, np.uint8)
    )
    return bounds, raw


def _validity(arr: pa.Array) -> pa.Buffer | None:
    if arr.null_count == 0:
        return None
    return pa.array(arr.is_valid()).buffers()[1]


class ColumnCipher:
    """SM4-SIV under one data key (数据密钥): ``seal`` text → ``IV ‖ ciphertext``, ``open`` back;
    with ``compact`` (keys of scheme ``COMPACT``), short numeric codes as one enciphered block."""

    # Up to this many short codes in a column are encoded and decoded value by value in Python
    # (a few ms): a handful — quarantined rows, a lookup's answer — then never waits for Numba's
    # first load. More go through the compiled kernels (``shortjit``); both give the same bytes.
    small: int = 2048

    def __init__(self, key: bytes, compact: bool = False) -> None:
        if len(key) != DATA_KEY_BYTES:
            raise ValueError("a column data key is 32 bytes")
        self._mac, self._enc = key[:16], key[16:]
        self.compact = compact
        self._ete = _ecb(self._mac, np.frombuffer(_ETE_LABEL, np.uint8)).tobytes()
        self._local = threading.local()
        if compact:
            _preload()

    def __reduce__(self) -> tuple[type, tuple[bytes, bool]]:
        """Pickled with its key, for a Spark executor that decrypts (``shuhai.lake.spark``)."""
        return (ColumnCipher, (self._mac + self._enc, self.compact))

    def seal(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Encrypt a text column (large_binary out; nulls stay null)."""
        arr = _text(values)
        bounds, raw = _buffers(arr)
        valid = np.asarray(arr.is_valid()) if arr.null_count else np.ones(len(arr), dtype=bool)
        lengths = np.where(valid, np.diff(bounds), 0)
        stored = np.where(valid, lengths + 16, 0)
        short, blocks = self._short_codes(raw, bounds, valid, lengths)
        siv = valid
        if len(short):
            stored[short] = 16
            siv = valid.copy()
            siv[short] = False
        out_off = np.zeros(len(arr) + 1, dtype=np.int64)
        np.cumsum(stored, out=out_off[1:])
        out = np.empty(int(out_off[-1]), dtype=np.uint8)

        def seal_part(part: tuple[int, np.ndarray] | tuple[int, int, None]) -> None:
            if len(part) == 3:  # a slice of the short codes
                lo, hi, _ = part
                sealed = _ecb(self._ete, blocks[lo:hi])
                if len(short) <= self.small:
                    _put(out, out_off[short[lo:hi]], sealed)
                else:
                    _jit().put16(out, out_off[short[lo:hi]], sealed)
                return
            width, rows = part
            plain = _gather(raw, bounds[rows], width)
            ivs = _synthetic_iv(self._mac, plain)
            sealed = np.concatenate([ivs, plain ^ _keystream(self._enc, ivs, width)], axis=1)
            _put(out, out_off[rows], sealed)

        parts = [(lo, hi, None) for lo, hi in _slices(len(short))]
        _each(seal_part, [*parts, *_groups(lengths, siv)])
        return pa.Array.from_buffers(
            pa.large_binary(),
            len(arr),
            [_validity(arr), pa.py_buffer(out_off), pa.py_buffer(out)],
            arr.null_count,
        )

    def open(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Decrypt and check a sealed column (large_string out); ``TamperedColumn`` on any
        value whose bytes were changed or that another key sealed."""
        arr = _text(values)
        bounds, raw = _buffers(arr)
        stored = np.diff(bounds)
        valid = np.asarray(arr.is_valid()) if arr.null_count else np.ones(len(arr), dtype=bool)
        if bool(((stored < 16) & valid).any()):
            raise _tampered()
        plain_len = np.where(valid, stored - 16, 0)
        short, blocks, sizes = self._deciphered(raw, bounds, valid, stored)
        siv = valid
        if len(short):
            plain_len[short] = sizes
            siv = valid.copy()
            siv[short] = False
        out_off = np.zeros(len(arr) + 1, dtype=np.int64)
        np.cumsum(plain_len, out=out_off[1:])
        out = np.empty(int(out_off[-1]), dtype=np.uint8)

        def open_part(part: tuple[int, np.ndarray] | tuple[int, int, None]) -> None:
            if len(part) == 3:  # a slice of the short codes
                lo, hi, _ = part
                if len(short) <= self.small:
                    _put_values(out, out_off[short[lo:hi]], blocks[lo:hi], sizes[lo:hi])
                else:
                    _jit().unpack(blocks[lo:hi], sizes[lo:hi], out, out_off[short[lo:hi]])
                return
            width, rows = part
            sealed = _gather(raw, bounds[rows], width)
            ivs = sealed[:, :16]
            plain = sealed[:, 16:] ^ _keystream(self._enc, ivs, width - 16)
            if not np.array_equal(_synthetic_iv(self._mac, plain), ivs):
                raise _tampered()
            _put(out, out_off[rows], plain)

        parts = [(lo, hi, None) for lo, hi in _slices(len(short))]
        _each(open_part, [*parts, *_groups(stored, siv)])
        return pa.Array.from_buffers(
            pa.large_string(),
            len(arr),
            [_validity(arr), pa.py_buffer(out_off), pa.py_buffer(out)],
            arr.null_count,
        )

    def _short_codes(
        self, raw: np.ndarray, bounds: np.ndarray, valid: np.ndarray, lengths: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows that are short numeric codes, their encoded blocks), found in parallel slices;
        none unless the key is ``COMPACT``."""
        none = (np.zeros(0, np.int64), np.zeros((0, 16), np.uint8))
        if not self.compact:
            return none
        rows = np.flatnonzero(valid & (lengths >= 1) & (lengths <= shortcodes.MAX_DIGITS))
        if not len(rows):
            return none
        if len(rows) <= self.small:
            encoded = [shortcodes.encode(raw[bounds[r] : bounds[r + 1]].tobytes()) for r in rows]
            kept = [i for i, b in enumerate(encoded) if b is not None]
            joined = b"".join(encoded[i] for i in kept)  # type: ignore[misc]
            return rows[kept], np.frombuffer(joined, np.uint8).reshape(-1, 16)
        blocks = np.empty((len(rows), 16), dtype=np.uint8)
        ok = np.empty(len(rows), dtype=bool)

        def pack(part: tuple[int, int]) -> None:
            lo, hi = part
            _jit().pack(raw, bounds, rows[lo:hi], blocks[lo:hi], ok[lo:hi])

        _each(pack, _slices(len(rows)))
        if bool(ok.all()):  # a column of ID numbers
            return rows, blocks
        return rows[ok], blocks[ok]

    def _deciphered(
        self, raw: np.ndarray, bounds: np.ndarray, valid: np.ndarray, stored: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(16-byte stored rows, their deciphered blocks, the lengths of their values): each is
        a short code, or SIV's empty string (length 0), or tampered. Only for ``COMPACT`` keys."""
        none = (np.zeros(0, np.int64), np.zeros((0, 16), np.uint8), np.zeros(0, np.int64))
        if not self.compact:
            return none
        rows = np.flatnonzero(valid & (stored == 16))
        if not len(rows):
            return none
        blocks = np.empty((len(rows), 16), dtype=np.uint8)
        sizes = np.empty(len(rows), dtype=np.int64)
        empty = np.frombuffer(self.seal_value_bytes(b""), np.uint8)

        def decipher(part: tuple[int, int]) -> None:
            lo, hi = part
            if len(rows) <= self.small:
                sealed = _gather(raw, bounds[rows[lo:hi]], 16)
                blocks[lo:hi] = _ecb_decrypt(self._ete, sealed)
                found = np.array([_decoded_length(b) for b in blocks[lo:hi]], dtype=np.int64)
            else:
                sealed = _jit().take16(raw, bounds[rows[lo:hi]])
                blocks[lo:hi] = _ecb_decrypt(self._ete, sealed)
                found = _jit().lengths(blocks[lo:hi])
            bad = found < 0
            if bad.any():
                if not bool((sealed[bad] == empty).all()):
                    raise _tampered()
                found[bad] = 0
            sizes[lo:hi] = found

        _each(decipher, _slices(len(rows)))
        return rows, blocks, sizes

    def seal_value(self, value: str) -> bytes:
        """One value sealed, for an equality filter or lookup on the encrypted column: the same
        bytes as ``seal`` gives, computed with two OpenSSL calls (a keyed lookup pays
        microseconds, not the column path's fixed cost)."""
        return self.seal_value_bytes(value.encode())

    def open_values(self, values: list[bytes | None]) -> list[str | None]:
        """Decrypt a few stored values (rows a lookup returned); many go the column way."""
        if len(values) > 16:
            opened = self.open(pa.array(values, pa.large_binary()))
            return opened.to_pylist()  # type: ignore[return-value]
        out: list[str | None] = []
        for blob in values:
            if blob is None:
                out.append(None)
                continue
            if len(blob) < 16:
                raise _tampered()
            if self.compact and len(blob) == 16:
                short = shortcodes.decode(self._ete_contexts()[1].update(blob))
                if short is not None:
                    out.append(short.decode())
                    continue
            iv, body = blob[:16], blob[16:]
            plain = self._ctr(iv, body, self._contexts()[1])
            if self.seal_value_bytes(plain) != blob:
                raise _tampered()
            out.append(plain.decode())
        return out

    def seal_value_bytes(self, plain: bytes) -> bytes:
        """``seal`` of one value, with the block cipher called directly: the CBC-MAC one block
        at a time, the CTR keystream in one call (per thread, two long-lived SM4 contexts); a
        short code under a ``COMPACT`` key, one block."""
        if self.compact:
            block = shortcodes.encode(plain)
            if block is not None:
                return self._ete_contexts()[0].update(block)
        mac, enc = self._contexts()
        message = len(plain).to_bytes(8, "big") + plain
        message += b"\0" * (-len(message) % 16)
        state = 0
        for i in range(0, len(message), 16):
            block = (state ^ int.from_bytes(message[i : i + 16], "big")).to_bytes(16, "big")
            state = int.from_bytes(mac.update(block), "big")
        iv = state.to_bytes(16, "big")
        return iv + self._ctr(iv, plain, enc)

    def _contexts(self) -> tuple[Any, Any]:
        """This thread's SM4 block contexts (MAC key, encryption key); an ECB context keeps no
        state between calls, so one serves every value."""
        return self._held(
            "siv", lambda: (_block(self._mac).encryptor(), _block(self._enc).encryptor())
        )

    def _ete_contexts(self) -> tuple[Any, Any]:
        """This thread's SM4 contexts that encipher and decipher short codes."""
        return self._held(
            "ete", lambda: (_block(self._ete).encryptor(), _block(self._ete).decryptor())
        )

    def _held(self, name: str, make: Callable[[], tuple[Any, Any]]) -> tuple[Any, Any]:
        held = getattr(self._local, name, None)
        if held is None:
            held = make()
            setattr(self._local, name, held)
        return held

    @staticmethod
    def _ctr(iv: bytes, data: bytes, enc: Any) -> bytes:
        """SM4-CTR from ``iv``, the low 32 bits counting and wrapping as in the column path."""
        if not data:
            return b""
        head, low = iv[:12], int.from_bytes(iv[12:], "big")
        count = (len(data) + 15) // 16
        counters = b"".join(
            head + ((low + j) & 0xFFFFFFFF).to_bytes(4, "big") for j in range(count)
        )
        stream = enc.update(counters)
        return (int.from_bytes(data, "big") ^ int.from_bytes(stream[: len(data)], "big")).to_bytes(
            len(data), "big"
        )


def _tampered() -> TamperedColumn:
    return TamperedColumn(
        "lake.tampered",
        "加密列的数据未通过完整性校验（被改动或密钥不符）",
        "An encrypted column failed its integrity check (bytes changed or the wrong key)",
    )


__all__ = [
    "COMPACT",
    "DATA_KEY_BYTES",
    "LEGACY",
    "ColumnCipher",
    "TamperedColumn",
    "new_data_key",
    "rewrap",
    "unwrap",
    "wrap_purpose",
]
