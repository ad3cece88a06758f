"""Column encryption (SM4-SIV): the vectorized cipher gives, value for value, what OpenSSL's own
SM4-CBC (for the MAC) and SM4-CTR (for the body) give; round trips with nulls, Chinese text,
empty strings, slices and chunked input; equal values seal equally; any changed byte or wrong
key is detected; master-key rotation rewraps data keys without re-encrypting."""

from __future__ import annotations

import os
import struct

import numpy as np
import pyarrow as pa
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from shuhai.access import shortcodes
from shuhai.access.columns import (
    COMPACT,
    ColumnCipher,
    TamperedColumn,
    _keystream,
    new_data_key,
    rewrap,
    unwrap,
)


def reference_seal(key: bytes, value: bytes) -> bytes:
    """SM4-SIV of one value with OpenSSL's CBC and CTR modes (the oracle)."""
    message = struct.pack(">Q", len(value)) + value
    message += b"\0" * (-len(message) % 16)
    cbc = Cipher(algorithms.SM4(key[:16]), modes.CBC(bytes(16))).encryptor()
    iv = (cbc.update(message) + cbc.finalize())[-16:]
    ctr = Cipher(algorithms.SM4(key[16:]), modes.CTR(iv)).encryptor()
    return iv + ctr.update(value) + ctr.finalize()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=80)), max_size=40))
def test_matches_openssl_value_by_value(values: list[str | None]) -> None:
    key = os.urandom(32)
    sealed = ColumnCipher(key).seal(pa.array(values, pa.string()))
    expected = [None if v is None else reference_seal(key, v.encode()) for v in values]
    assert sealed.to_pylist() == expected
    assert ColumnCipher(key).open(sealed).to_pylist() == values


def test_round_trip_with_nulls_chinese_and_empty() -> None:
    master = os.urandom(16)
    key, wrapped = new_data_key(master)
    values = pa.array(["350102198001010014", None, "张三丰", "", "13800138000", "张三丰"])
    cipher = ColumnCipher(key)
    sealed = cipher.seal(values)
    assert sealed.type == pa.large_binary() and sealed.null_count == 1
    raw = b"".join(v.as_py() or b"" for v in sealed)
    assert b"350102" not in raw and "张三".encode() not in raw
    assert sealed[2] == sealed[5]  # deterministic: equal values, equal ciphertexts
    assert sealed[2].as_py() == cipher.seal_value("张三丰")
    assert ColumnCipher(unwrap(master, wrapped)).open(sealed).to_pylist() == values.to_pylist()


def test_sliced_and_chunked_columns() -> None:
    cipher = ColumnCipher(os.urandom(32))
    chunked = pa.chunked_array([["a", "bb"], ["ccc", None, "dddd"]])
    assert cipher.open(cipher.seal(chunked)).to_pylist() == ["a", "bb", "ccc", None, "dddd"]
    sliced = pa.array(["x", "yy", None, "zzz"]).slice(1, 3)
    assert cipher.open(cipher.seal(sliced)).to_pylist() == ["yy", None, "zzz"]
    sealed = cipher.seal(pa.array(["1", "22", "333", "4444"]))
    assert cipher.open(sealed.slice(1, 2)).to_pylist() == ["22", "333"]


def test_many_lengths_in_one_column() -> None:
    cipher = ColumnCipher(os.urandom(32))
    values = [("路" * (i % 37)) + str(i) if i % 11 else None for i in range(5000)]
    assert cipher.open(cipher.seal(pa.array(values))).to_pylist() == values


def test_changed_byte_and_wrong_key_are_detected() -> None:
    key = os.urandom(32)
    sealed = ColumnCipher(key).seal(pa.array(["350102198001010014", "13800138000"]))
    validity, offsets, data = sealed.buffers()
    for position in (0, 17, len(data.to_pybytes()) - 1):  # in the IV, in the body, at the end
        changed = bytearray(data.to_pybytes())
        changed[position] ^= 0x01
        bad = pa.Array.from_buffers(
            pa.large_binary(), len(sealed), [validity, offsets, pa.py_buffer(bytes(changed))]
        )
        with pytest.raises(TamperedColumn):
            ColumnCipher(key).open(bad)
    with pytest.raises(TamperedColumn):
        ColumnCipher(os.urandom(32)).open(sealed)
    with pytest.raises(TamperedColumn):  # shorter than an IV
        ColumnCipher(key).open(pa.array([b"short"], pa.large_binary()))


def test_master_key_rotation() -> None:
    old, new = os.urandom(16), os.urandom(16)
    key, wrapped = new_data_key(old)
    again = rewrap(old, new, wrapped)
    assert unwrap(new, again) == key
    with pytest.raises(InvalidTag):
        unwrap(new, wrapped)
    key, wrapped = new_data_key(old, COMPACT)  # the scheme is bound to the wrapping
    assert unwrap(new, rewrap(old, new, wrapped, COMPACT), COMPACT) == key
    with pytest.raises(InvalidTag):
        unwrap(old, wrapped)


def test_one_value_path_matches_the_column_path_across_the_counter_wrap() -> None:
    cipher = ColumnCipher(os.urandom(32))
    values = ["350102199103030034", "", "路" * 40]
    column = cipher.seal(pa.array(values))
    assert [cipher.seal_value(v) for v in values] == column.to_pylist()
    assert cipher.open_values(column.to_pylist() + [None]) == [*values, None]
    assert cipher.open(pa.array([cipher.seal_value(v) for v in values])).to_pylist() == values
    # a counter whose low 32 bits wrap inside a value: both paths count the same way
    iv = bytes(12) + (2**32 - 1).to_bytes(4, "big")
    data = os.urandom(40)
    one = ColumnCipher._ctr(iv, data, cipher._contexts()[1])
    stream = _keystream(cipher._enc, np.frombuffer(iv, np.uint8).reshape(1, 16), len(data))
    assert one == (np.frombuffer(data, np.uint8) ^ stream.reshape(-1)).tobytes()


def reference_compact(key: bytes, value: bytes) -> bytes:
    """A ``COMPACT`` key's sealing of one value, spelled independently: a short numeric code is
    one SM4 block (magic ‖ digits, X flag ‖ the number), enciphered under SM4(MAC key, label);
    anything else SIV."""
    import re

    if not re.fullmatch(rb"[0-9]{1,18}|[0-9]{17}X", value):
        return reference_seal(key, value)
    x = value.endswith(b"X")
    number = int(value.rstrip(b"X"))
    block = b"\xffshuhai" + bytes([len(value) + (128 if x else 0)]) + struct.pack(">Q", number)
    label = Cipher(algorithms.SM4(key[:16]), modes.ECB()).encryptor()
    encipher_key = label.update(b"\xffshuhai-encipher") + label.finalize()
    enc = Cipher(algorithms.SM4(encipher_key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


codes = st.one_of(
    st.from_regex(r"\A[0-9]{0,20}[Xx]?\Z"),  # short codes, and near misses (19+ digits, x)
    st.text(max_size=30),
    st.none(),
)


@pytest.mark.parametrize("small", [0, 2048], ids=["compiled", "value-by-value"])
@settings(max_examples=80, deadline=None)
@given(st.lists(codes, max_size=60))
def test_compact_keys_seal_short_codes_as_one_block(small: int, values: list[str | None]) -> None:
    key = os.urandom(32)
    cipher = ColumnCipher(key, compact=True)
    cipher.small = small  # both column paths, same bytes
    sealed = cipher.seal(pa.array(values, pa.string()))
    assert cipher.open(sealed).to_pylist() == values
    expected = [None if v is None else reference_compact(key, v.encode()) for v in values]
    assert sealed.to_pylist() == expected
    assert [cipher.seal_value(v) for v in values if v is not None] == [
        e for e in expected if e is not None
    ]
    assert cipher.open(sealed).to_pylist() == values
    assert cipher.open_values(sealed.to_pylist()[:16]) == values[:16]  # the one-value path


def test_compact_ids_are_16_bytes_and_every_changed_byte_is_caught() -> None:
    key = os.urandom(32)
    cipher = ColumnCipher(key, compact=True)
    values = [
        "350102199103030034",
        "35010219910303003X",
        "0",
        "000",
        "",
        "张三",
        "35010219910303003x",
    ]
    sealed = cipher.seal(pa.array(values))
    assert [len(v) for v in sealed.to_pylist()] == [16, 16, 16, 16, 16, 22, 34]
    assert sealed[2] != sealed[3]  # leading zeros count
    assert cipher.open(sealed).to_pylist() == values  # "" (SIV, 16 bytes) told apart
    assert cipher.seal(pa.array(values[:1]))[0] == sealed[0]  # deterministic
    compiled = ColumnCipher(key, compact=True)
    compiled.small = 0
    for position in range(16):  # each byte of a short code's block
        changed = bytearray(sealed[0].as_py())
        changed[position] ^= 0x40
        for reader in (compiled, cipher):  # the compiled column path and the value-by-value one
            with pytest.raises(TamperedColumn):
                reader.open(pa.array([bytes(changed)], pa.large_binary()))
        with pytest.raises(TamperedColumn):
            cipher.open_values([bytes(changed)])
    with pytest.raises(TamperedColumn):  # another key, even another compact one
        ColumnCipher(os.urandom(32), compact=True).open(sealed)
    # a block that deciphers to a well-formed head but a number too large for its digits
    enc = Cipher(algorithms.SM4(cipher._ete), modes.ECB()).encryptor()
    forged = enc.update(shortcodes.MAGIC + bytes([3]) + struct.pack(">Q", 1000))
    with pytest.raises(TamperedColumn):
        cipher.open(pa.array([forged], pa.large_binary()))


def test_a_legacy_key_still_seals_everything_with_siv() -> None:
    """Data sealed before short codes existed compares equal to values sealed now."""
    key = os.urandom(32)
    legacy = ColumnCipher(key)
    sealed = legacy.seal(pa.array(["350102199103030034", ""]))
    assert sealed.to_pylist() == [
        reference_seal(key, b"350102199103030034"),
        reference_seal(key, b""),
    ]
    assert legacy.seal_value("350102199103030034") == sealed[0].as_py()
    with pytest.raises(TamperedColumn):  # a legacy key does not read short-code blocks
        legacy.open(ColumnCipher(key, compact=True).seal(pa.array(["350102199103030034"])))


def test_short_codes_over_many_slices_and_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    from shuhai.access import columns

    monkeypatch.setattr(columns, "_SLICE", 1000)
    ids = [f"3501021990{i:08d}" if i % 7 else f"地址{i}" for i in range(25_000)]
    ids[3] = None  # type: ignore[call-overload]
    cipher = ColumnCipher(os.urandom(32), compact=True)
    sealed = cipher.seal(pa.array(ids))
    assert cipher.open(sealed).to_pylist() == ids
    assert cipher.open(sealed.slice(101, 5000)).to_pylist() == ids[101:5101]
