"""Short numeric codes as one cipher block (编码后加密): the encoding half of encode-then-encipher
(Bellare & Rogaway, "Encode-then-encipher encryption", ASIACRYPT 2000) for the values that fill
most 核心 / L4 columns — ID numbers (身份证号码), phone numbers, account and card numbers.

A value of 1–18 ASCII digits, or 17 digits and a final ``X`` (an ID number's check character),
fits in one 16-byte block::

    MAGIC (7 bytes, first 0xFF) ‖ descriptor (digits, 0x80 if the value ends in X) ‖ number (u64 BE)

The block is then enciphered with SM4 (a pseudorandom permutation) under a key of its own, so
equal values give equal ciphertexts and nothing else about the value shows, as with SIV, at one
block of SM4 instead of four for an ID number. On opening, the deciphered block must carry the
magic bytes, a valid descriptor and a number below 10^digits: a changed byte or the wrong key
passes that check with a probability below 2^-56 (the redundancy is the authenticator, Bellare &
Rogaway §4). This module is the format, value by value; ``shortjit`` does whole columns.
"""

from __future__ import annotations

import re

MAGIC = b"\xffshuhai"
MAX_DIGITS = 18
X_FLAG = 0x80
_PATTERN = re.compile(rb"[0-9]{1,18}|[0-9]{17}X")


def encode(value: bytes) -> bytes | None:
    """The block for one value, or None when it is not a short numeric code."""
    if not _PATTERN.fullmatch(value):
        return None
    x = value.endswith(b"X")
    number = int(value[:-1] if x else value)
    return MAGIC + bytes([len(value) | (X_FLAG if x else 0)]) + number.to_bytes(8, "big")


def decode(block: bytes) -> bytes | None:
    """The value a deciphered block holds, or None when the block is not a valid encoding."""
    if len(block) != 16 or block[:7] != MAGIC:
        return None
    digits, x = block[7] & 0x7F, block[7] & X_FLAG
    if not 1 <= digits <= MAX_DIGITS or (x and digits != MAX_DIGITS):
        return None
    shown = digits - 1 if x else digits
    number = int.from_bytes(block[8:], "big")
    if number >= 10**shown:
        return None
    return str(number).rjust(shown, "0").encode() + (b"X" if x else b"")


__all__ = ["MAGIC", "MAX_DIGITS", "X_FLAG", "decode", "encode"]
