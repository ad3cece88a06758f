"""Column encryption at rest (列级加密, SM4): a text column's bytes are encrypted in one SM4-CTR
pass over the Arrow data buffer, so a million values cost one call into OpenSSL, not a million.
Offsets stay as they are (value lengths are not secret for IDs and phones); the result is a binary
column. Each column chunk has its own 16-byte initial counter, kept beside it.

Data keys are random SM4 keys wrapped (SM4-GCM) under the master key; rotating the master key
rewraps the data keys without touching the data.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

from shuhai.access.crypto import sm4_ctr, sm4_gcm_decrypt, sm4_gcm_encrypt


def new_data_key(master: bytes) -> tuple[bytes, str]:
    """A fresh data key and its wrapped form (hex) to store."""
    key = os.urandom(16)
    return key, sm4_gcm_encrypt(master, key, aad=b"data-key").hex()


def unwrap(master: bytes, wrapped: str) -> bytes:
    return sm4_gcm_decrypt(master, bytes.fromhex(wrapped), aad=b"data-key")


def rewrap(old_master: bytes, new_master: bytes, wrapped: str) -> str:
    """Master-key rotation: the same data key, wrapped under the new master key."""
    return sm4_gcm_encrypt(new_master, unwrap(old_master, wrapped), aad=b"data-key").hex()


def encrypt_column(values: pa.Array | pa.ChunkedArray, key: bytes) -> tuple[pa.Array, bytes]:
    """(binary column, initial counter). Nulls stay null."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    if arr.offset:  # a slice: copy it to a fresh array (vectorized) so its buffers start at 0
        arr = arr.take(pa.array(np.arange(len(arr))))
    validity, offsets, data = arr.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[: len(arr) + 1]
    start, end = (int(bounds[0]), int(bounds[-1])) if len(arr) else (0, 0)
    plain = memoryview(data)[start:end] if data is not None else b""
    nonce = os.urandom(16)
    cipher = pa.py_buffer(sm4_ctr(key, nonce, bytes(plain)))
    rebased = pa.py_buffer((bounds - start).tobytes())
    out = pa.Array.from_buffers(
        pa.large_binary(), len(arr), [validity, rebased, cipher], arr.null_count
    )
    return out, nonce


def decrypt_column(values: pa.Array, key: bytes, nonce: bytes) -> pa.Array:
    """The text column back (large_string)."""
    validity, offsets, data = values.buffers()
    plain = pa.py_buffer(sm4_ctr(key, nonce, data.to_pybytes() if data is not None else b""))
    return pa.Array.from_buffers(
        pa.large_string(), len(values), [validity, offsets, plain], values.null_count
    )


__all__ = ["decrypt_column", "encrypt_column", "new_data_key", "rewrap", "unwrap"]
