"""国密 primitives (GM/T 0002 SM4, GM/T 0003 SM2, GM/T 0004 SM3), each from a maintained library:
SM3 and HMAC-SM3 through OpenSSL (``hashlib``), SM4 through ``cryptography`` (OpenSSL), SM2 through
``gmalglib`` (native C). Nothing here implements an algorithm; tests check each against the
standards' published vectors.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SM2_UID = b"1234567812345678"  # GM/T 0009 default user id


def sm3(data: bytes) -> bytes:
    """SM3 digest (32 bytes)."""
    return hashlib.new("sm3", data).digest()


def sm3_hex(data: bytes) -> str:
    return hashlib.new("sm3", data).hexdigest()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 (RFC 2104 over SM3)."""
    return hmac.new(key, data, "sm3").digest()


def sm4_ecb_block(key: bytes, block: bytes) -> bytes:
    """One raw SM4 block (for the standard's test vector; never use ECB for data)."""
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def sm4_gcm_encrypt(key: bytes, plain: bytes, aad: bytes = b"") -> bytes:
    """SM4-GCM: 12-byte random nonce ‖ ciphertext ‖ 16-byte tag."""
    nonce = os.urandom(12)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if aad:
        enc.authenticate_additional_data(aad)
    body = enc.update(plain) + enc.finalize()
    return nonce + body + enc.tag


def sm4_gcm_decrypt(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    """Reverse of ``sm4_gcm_encrypt``; raises ``cryptography.exceptions.InvalidTag`` on tampering."""
    nonce, body, tag = blob[:12], blob[12:-16], blob[-16:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    if aad:
        dec.authenticate_additional_data(aad)
    return dec.update(body) + dec.finalize()


def sm4_ctr(key: bytes, nonce: bytes, data: bytes) -> bytes:
    """SM4-CTR keystream XOR (encrypts and decrypts); ``nonce`` is the 16-byte initial counter."""
    c = Cipher(algorithms.SM4(key), modes.CTR(nonce)).encryptor()
    return c.update(data) + c.finalize()


@dataclass(frozen=True)
class SM2Key:
    """An SM2 key pair (private key optional): sign and verify with SM3 and the GM/T 0009 user id."""

    public: bytes  # 65 bytes: 04 ‖ x ‖ y
    private: bytes | None = None

    @classmethod
    def generate(cls) -> SM2Key:
        from gmalglib.sm2 import SM2

        sk, pk = SM2().generate_keypair()
        return cls(public=pk, private=sk)

    @classmethod
    def from_private(cls, private: bytes) -> SM2Key:
        from gmalglib.sm2 import SM2

        return cls(public=SM2.get_pk(private), private=private)

    def sign(self, message: bytes, uid: bytes = SM2_UID) -> bytes:
        """64-byte r ‖ s signature."""
        from gmalglib.sm2 import SM2

        if self.private is None:
            raise ValueError("no private key")
        return SM2(sk=self.private, uid=uid).sign(message)

    def verify(self, message: bytes, signature: bytes, uid: bytes = SM2_UID) -> bool:
        from gmalglib.sm2 import SM2

        try:
            return bool(SM2(pk=self.public, uid=uid).verify(message, signature))
        except (ValueError, TypeError):
            return False


__all__ = [
    "SM2Key",
    "SM2_UID",
    "hmac_sm3",
    "sm3",
    "sm3_hex",
    "sm4_ctr",
    "sm4_ecb_block",
    "sm4_gcm_decrypt",
    "sm4_gcm_encrypt",
]
