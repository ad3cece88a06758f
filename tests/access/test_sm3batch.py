"""Batch SM3 (compiled) against OpenSSL as the oracle and the GM/T 0004-2012 examples: every
message length around the 64-byte block and the 56-byte padding boundary, nulls, sliced arrays."""

from __future__ import annotations

import hashlib
import os

import pyarrow as pa

from shuhai.access.sm3batch import sm3_many


def test_standard_examples() -> None:
    got = sm3_many(pa.array([b"abc", b"abcd" * 16]))
    assert bytes(got[0]).hex() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )
    assert bytes(got[1]).hex() == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_every_length_matches_openssl() -> None:
    messages = [os.urandom(n) for n in range(0, 300)] + [os.urandom(5000), b""]
    got = sm3_many(pa.array(messages, pa.binary()))
    for digest, message in zip(got, messages, strict=True):
        assert bytes(digest) == hashlib.new("sm3", message).digest(), len(message)


def test_nulls_chunks_and_slices() -> None:
    arr = pa.array([b"a", None, b"bc", b"d" * 70], pa.large_binary())
    got = sm3_many(arr)
    assert bytes(got[1]) == hashlib.new("sm3", b"").digest()
    sliced = sm3_many(arr.slice(2))
    assert [bytes(d) for d in sliced] == [
        hashlib.new("sm3", m).digest() for m in (b"bc", b"d" * 70)
    ]
    chunked = sm3_many(pa.chunked_array([arr.slice(0, 1), arr.slice(2)]))
    assert bytes(chunked[1]) == hashlib.new("sm3", b"bc").digest()
    assert sm3_many(pa.array([], pa.binary())).shape == (0, 32)
