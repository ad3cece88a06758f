"""The master key (主密钥) and data keys: data keys are SM4 keys wrapped (SM4-GCM) under the master
key, which comes from ``SHUHAI_MASTER_KEY`` (64 hex characters) or, when unset, from a file in the
home created on first use with owner-only permissions. Secrets at rest are sealed with it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from shuhai.access.crypto import sm4_gcm_decrypt, sm4_gcm_encrypt
from shuhai.config import Config
from shuhai.errors import InvalidInput


def master_key(config: Config) -> bytes:
    """The current master key (the environment variable wins over the file)."""
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


def _key_file(config: Config) -> Path:
    return Path(config.home) / "keys" / "master.key"


def _kept_dir(config: Config) -> Path:
    """Keys kept for opening secrets a rotation did not finish with: the new key of a rotation
    in progress (``pending-*``) and the keys rotations replaced (``retired-*``)."""
    return Path(config.home) / "keys" / "kept"


def _candidates(config: Config) -> list[bytes]:
    """The current key first, then the key file (when the environment variable is the current
    key), then kept keys, newest first."""
    found = [master_key(config)]
    path = _key_file(config)
    if path.exists():
        found.append(bytes.fromhex(path.read_text().strip())[:16])
    kept = _kept_dir(config)
    if kept.is_dir():
        for f in sorted(kept.glob("*.key"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
            found.append(bytes.fromhex(f.read_text().strip())[:16])
    return list(dict.fromkeys(found))


def _write_key(path: Path, key: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def rotate_master(config: Config, new_key: bytes | None = None) -> dict[str, int]:
    """Rotate the master key (主密钥轮换): every sealed secret (system credentials' secrets) is
    opened with the keys known and sealed with the new one in one transaction; then the key file
    is swapped. No key is lost on the way: the new key is kept (``keys/kept/pending-*``) before
    anything is resealed, and the replaced key is kept (``retired-*``) for secrets a crashed
    rotation left behind; an operator removes kept keys once ``shuhai keys rotate`` has run
    cleanly. With ``SHUHAI_MASTER_KEY`` set, the new key must be given and the variable updated
    by the operator afterwards (until then the kept key opens the secrets)."""
    from sqlalchemy import select

    from shuhai.db import ApiCredential, session_scope

    if new_key is None:
        if os.environ.get("SHUHAI_MASTER_KEY"):
            raise InvalidInput(
                "keys.new_key_required",
                "主密钥来自环境变量，轮换时须提供新密钥",
                "The master key comes from SHUHAI_MASTER_KEY: give the new key",
            )
        new_key = os.urandom(16)
    if len(new_key) not in (16, 32):
        raise InvalidInput(
            "keys.bad_master", "新主密钥应为 16 或 32 字节", "The new key must be 16 or 32 bytes"
        )
    new_key = new_key[:16]
    stamp = f"{time.time_ns()}"
    pending = _kept_dir(config) / f"pending-{stamp}.key"
    _write_key(pending, new_key)  # first: a crash from here on loses nothing
    resealed = 0
    with session_scope(config.database_url) as s:
        for cred in s.scalars(select(ApiCredential)):
            purpose = f"credential:{cred.app_key}"
            plain = unseal(config, cred.secret, purpose)
            cred.secret = sm4_gcm_encrypt(new_key, plain, aad=purpose.encode()).hex()
            resealed += 1
    if not os.environ.get("SHUHAI_MASTER_KEY"):
        current = _key_file(config)
        if current.exists():
            os.replace(current, _kept_dir(config) / f"retired-{stamp}.key")
        os.replace(pending, current)
    from shuhai.access import signing

    signing.forget_secrets()
    return {"resealed": resealed}


def seal(config: Config, plain: bytes, purpose: str) -> str:
    """Encrypt a secret under the master key (SM4-GCM, the purpose bound as associated data)."""
    return sm4_gcm_encrypt(master_key(config), plain, aad=purpose.encode()).hex()


def unseal(config: Config, sealed: str, purpose: str) -> bytes:
    """Open a sealed secret; GCM's tag tells which of the known keys sealed it."""
    data = bytes.fromhex(sealed)
    error: Exception | None = None
    for key in _candidates(config):
        try:
            return sm4_gcm_decrypt(key, data, aad=purpose.encode())
        except Exception as exc:  # noqa: BLE001 - the wrong key fails authentication
            error = exc
    raise InvalidInput(
        "keys.cannot_unseal",
        "无法用现有主密钥解开该机密（主密钥被更换或数据被篡改）",
        "No known master key opens this secret (key replaced or data tampered)",
    ) from error


__all__ = ["master_key", "rotate_master", "seal", "unseal"]
