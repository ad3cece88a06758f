"""The master key (主密钥) and data keys: data keys are SM4 keys wrapped (SM4-GCM) under the master
key, which comes from ``SHUHAI_MASTER_KEY`` (64 hex characters) or, when unset, from a file in the
home created on first use with owner-only permissions. Secrets at rest are sealed with it."""

from __future__ import annotations

import os
from pathlib import Path

from shuhai.access.crypto import sm4_gcm_decrypt, sm4_gcm_encrypt
from shuhai.config import Config
from shuhai.errors import InvalidInput


def master_key(config: Config) -> bytes:
    value = os.environ.get("SHUHAI_MASTER_KEY")
    if value:
        try:
            key = bytes.fromhex(value.strip())
        except ValueError:
            key = b""
        if len(key) != 16 and len(key) != 32:
            raise InvalidInput(
                "keys.bad_master",
                "SHUHAI_MASTER_KEY 应为 32 或 64 个十六进制字符",
                "SHUHAI_MASTER_KEY must be 32 or 64 hex characters",
            )
        return key[:16]
    path = Path(config.home) / "keys" / "master.key"
    if path.exists():
        return bytes.fromhex(path.read_text().strip())[:16]
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex())
    return key


def seal(config: Config, plain: bytes, purpose: str) -> str:
    """Encrypt a secret under the master key (SM4-GCM, the purpose bound as associated data)."""
    return sm4_gcm_encrypt(master_key(config), plain, aad=purpose.encode()).hex()


def unseal(config: Config, sealed: str, purpose: str) -> bytes:
    return sm4_gcm_decrypt(master_key(config), bytes.fromhex(sealed), aad=purpose.encode())


__all__ = ["master_key", "seal", "unseal"]
