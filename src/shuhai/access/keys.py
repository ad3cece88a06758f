"""The master key (主密钥) and data keys: data keys are SM4 keys wrapped (SM4-GCM) under the master
key, which comes from ``SHUHAI_MASTER_KEY`` (64 hex characters) or, when unset, from a file in the
home created on first use with owner-only permissions. Secrets at rest are sealed with it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from shuhai.access.columns import COMPACT, ColumnCipher, new_data_key, wrap_purpose
from shuhai.access.crypto import sm4_gcm_decrypt, sm4_gcm_encrypt
from shuhai.config import Config
from shuhai.errors import InvalidInput
from shuhai.lake import LakeTable


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
    """Rotate the master key (主密钥轮换): every sealed secret (system credentials' secrets) and
    every data key of the lake's encrypted columns is opened with the keys known and sealed with
    the new one in one transaction (the data itself is not touched); then the key file
    is swapped. No key is lost on the way: the new key is kept (``keys/kept/pending-*``) before
    anything is resealed, and the replaced key is kept (``retired-*``) for secrets a crashed
    rotation left behind; an operator removes kept keys once ``shuhai keys rotate`` has run
    cleanly. With ``SHUHAI_MASTER_KEY`` set, the new key must be given and the variable updated
    by the operator afterwards (until then the kept key opens the secrets)."""
    from sqlalchemy import select

    from shuhai.db import ApiCredential, DataKey, session_scope

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
    resealed = rewrapped = 0
    with session_scope(config.database_url) as s:
        for cred in s.scalars(select(ApiCredential)):
            purpose = f"credential:{cred.app_key}"
            plain = unseal(config, cred.secret, purpose)
            cred.secret = sm4_gcm_encrypt(new_key, plain, aad=purpose.encode()).hex()
            resealed += 1
        for data_key in s.scalars(select(DataKey)):
            purpose = wrap_purpose(data_key.scheme)
            plain = unseal(config, data_key.wrapped, purpose)
            data_key.wrapped = sm4_gcm_encrypt(new_key, plain, aad=purpose.encode()).hex()
            rewrapped += 1
    if not os.environ.get("SHUHAI_MASTER_KEY"):
        current = _key_file(config)
        if current.exists():
            os.replace(current, _kept_dir(config) / f"retired-{stamp}.key")
        os.replace(pending, current)
    from shuhai.access import signing

    signing.forget_secrets()
    return {"resealed": resealed, "data_keys": rewrapped}


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


class LakeKeyring:
    """The lake's keyring for one home (registered by ``open_home``): which columns are
    encrypted (items graded 核心 or L4 — the confirmed grading, else the proposal from the name),
    one data key per resource kept wrapped in the metadata database, and the ciphers."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._ciphers: dict[str, ColumnCipher] = {}
        self._lock = threading.Lock()

    def sensitive_columns(self, resource_id: int) -> set[str]:
        from sqlalchemy import select

        from shuhai.access.grading import propose
        from shuhai.db import InfoItem, session_scope

        with session_scope(self.config.database_url) as s:
            items = s.scalars(select(InfoItem).where(InfoItem.resource_id == resource_id)).all()
            out = set()
            for it in items:
                if it.grading_confirmed_by:
                    level, data_class = it.level, it.data_class
                else:
                    guess = propose(it.name)
                    level, data_class = guess["level"], guess["data_class"]
                if level == "L4" or data_class == "核心":
                    out.add(it.name)
            return out

    def key_for(self, resource_id: int) -> str:
        return self._key(resource_id=resource_id)

    def key_for_base(self, base_id: int) -> str:
        """The data key of a base database's encrypted columns (its own, not its members')."""
        return self._key(base_id=base_id)

    def _key(self, **owner: int) -> str:
        from sqlalchemy import select

        from shuhai.db import DataKey, session_scope

        ((column, value),) = owner.items()
        with self._lock, session_scope(self.config.database_url) as s:
            found = s.scalars(  # the newest: re-keying (``rekey``) adds one
                select(DataKey).where(getattr(DataKey, column) == value).order_by(DataKey.id.desc())
            ).first()
            if found is None:
                _, wrapped = new_data_key(master_key(self.config), COMPACT)
                found = DataKey(wrapped=wrapped, scheme=COMPACT, **owner)
                s.add(found)
                s.flush()
            return str(found.id)

    def new_key(self, **owner: int) -> str:
        """A fresh data key of the current scheme for ``resource_id=`` or ``base_id=``, which
        from now on is the owner's key (``rekey``)."""
        from shuhai.db import DataKey, session_scope

        with self._lock, session_scope(self.config.database_url) as s:
            _, wrapped = new_data_key(master_key(self.config), COMPACT)
            made = DataKey(wrapped=wrapped, scheme=COMPACT, **owner)
            s.add(made)
            s.flush()
            return str(made.id)

    def scheme(self, key_id: str) -> str | None:
        """The data key's scheme (None: a key from before schemes, SIV only)."""
        from shuhai.db import DataKey, session_scope

        with session_scope(self.config.database_url) as s:
            row = s.get(DataKey, int(key_id)) if key_id.isascii() and key_id.isdigit() else None
            return row.scheme if row is not None else None

    def cipher(self, key_id: str) -> ColumnCipher:
        hit = self._ciphers.get(key_id)
        if hit is not None:
            return hit
        from shuhai.db import DataKey, session_scope

        with session_scope(self.config.database_url) as s:
            row = s.get(DataKey, int(key_id)) if key_id.isascii() and key_id.isdigit() else None
            if row is None:
                raise InvalidInput(
                    "keys.no_data_key",
                    f"找不到数据密钥 {key_id}（元数据库与数据湖不一致）",
                    f"Data key {key_id} not found (metadata and lake do not match)",
                )
            wrapped, scheme = row.wrapped, row.scheme
        key = unseal(self.config, wrapped, wrap_purpose(scheme))
        made = ColumnCipher(key, compact=scheme == COMPACT)
        self._ciphers[key_id] = made
        return made


def protect_lake(
    config: Config, resource_ids: list[int] | None = None, *, vacuum: bool = False
) -> list[dict[str, object]]:
    """Encrypt, in the lake, every 核心 / L4 text column still stored in plain text (after a
    grading raised a column to L4, or data loaded before encryption existed); with ``vacuum``
    also delete the older versions' files, which still hold the plain text."""
    from sqlalchemy import select

    from shuhai.db import Resource, session_scope

    with session_scope(config.database_url) as s:
        ids = resource_ids or list(s.scalars(select(Resource.id).order_by(Resource.id)))
    out: list[dict[str, object]] = []
    for rid in ids:
        table = LakeTable(config.lake_dir, rid)
        if not table.exists():
            continue
        done = table.encrypted_columns()
        wanted = table.unprotected()
        version = _protect_run(config, table, wanted) if wanted else None
        removed = len(table.vacuum()) if vacuum else 0
        out.append(
            {
                "resource_id": rid,
                "encrypted": wanted,
                "already": sorted(done),
                "version": version,
                "files_removed": removed,
            }
        )
    return out


def _protect_run(config: Config, table: LakeTable, columns: list[str]) -> int | None:
    """``protect`` as a run of its own (来源 ``encrypt:…``)."""
    return _as_run(
        config,
        table,
        "encrypt",
        "encrypt:" + ",".join(columns),
        {"columns": columns},
        lambda run_id: table.protect(columns, run_id=run_id),
    )


def _as_run(
    config: Config,
    table: LakeTable,
    kind: str,
    source: str,
    options: dict[str, object],
    work: Callable[[int], int | None],
) -> int | None:
    """A rewrite of the table as a run of its own, so the new version cites a run like every
    other version, and the follow-up work of a load (quality check, serving index) runs."""
    import datetime as dt

    from shuhai.db import IngestRun, Resource, session_scope
    from shuhai.ingest import get_run
    from shuhai.plugins import get_plugin_manager

    with session_scope(config.database_url) as s:
        run = IngestRun(
            resource_id=table.resource_id,
            source=source,
            source_kind=kind,
            mode="replace",
            status="running",
            options=options,
        )
        s.add(run)
        s.flush()
        run_id = run.id
    try:
        version = work(run_id)
    except BaseException as exc:
        with session_scope(config.database_url) as s:
            failed = s.get(IngestRun, run_id)
            assert failed is not None
            failed.status, failed.finished_at = "failed", dt.datetime.now(dt.UTC)
            failed.error_code = getattr(exc, "code", type(exc).__name__)[:60]
            failed.error_message = str(exc)[:2000]
        raise
    rows = table.count(version)
    with session_scope(config.database_url) as s:
        done = s.get(IngestRun, run_id)
        assert done is not None
        done.status, done.lake_version = "succeeded", version
        done.rows_in = done.rows_loaded = rows
        done.finished_at = dt.datetime.now(dt.UTC)
        resource = s.get(Resource, table.resource_id)
        if resource is not None:
            resource.lake_version, resource.row_count = version, rows
    get_plugin_manager().hook.after_ingest(config=config, run=get_run(config, run_id))
    return version


def rekey(
    config: Config, resource_ids: list[int] | None = None, *, vacuum: bool = False
) -> list[dict[str, object]]:
    """Move what is encrypted under data keys from before short codes (SIV only) to new keys
    (重新加密): each such resource's current version is decrypted and encrypted again under a
    new key, as a run of its own; each such base database gets a new key, and its next build is
    a full, encrypted one. Older versions stay readable under their old keys (kept); ``vacuum``
    deletes their files. Resources and bases already on new keys are left alone."""
    from sqlalchemy import select

    from shuhai.db import BaseDatabase, DataKey, Resource, session_scope
    from shuhai.lake import cipher

    ring = cipher.keyring_for(config.lake_dir)
    if not isinstance(ring, LakeKeyring):
        raise cipher.no_keyring()
    with session_scope(config.database_url) as s:
        ids = resource_ids or list(s.scalars(select(Resource.id).order_by(Resource.id)))
        bases = [] if resource_ids else list(s.scalars(select(BaseDatabase.id)))
    out: list[dict[str, object]] = []
    for rid in ids:
        table = LakeTable(config.lake_dir, rid)
        current = table.encrypted_columns() if table.exists() else {}
        old = sorted({k for k in current.values() if ring.scheme(k) != COMPACT})
        if not old:
            continue
        key_id = ring.new_key(resource_id=rid)
        version = _as_run(
            config,
            table,
            "rekey",
            f"rekey:{','.join(old)}→{key_id}",
            {"columns": sorted(current), "from": old, "to": key_id},
            lambda run_id, table=table, key_id=key_id: table.rekey(key_id, run_id=run_id),
        )
        removed = len(table.vacuum()) if vacuum else 0
        out.append(
            {
                "resource_id": rid,
                "columns": sorted(current),
                "from": old,
                "to": key_id,
                "version": version,
                "files_removed": removed,
            }
        )
    for base_id in bases:
        with session_scope(config.database_url) as s:
            kept = s.scalars(
                select(DataKey).where(DataKey.base_id == base_id).order_by(DataKey.id.desc())
            ).first()
            old_key = None if kept is None or kept.scheme == COMPACT else str(kept.id)
        if old_key is not None:
            key_id = ring.new_key(base_id=base_id)
            out.append({"base_id": base_id, "from": [old_key], "to": key_id, "version": None})
    return out


__all__ = [
    "LakeKeyring",
    "master_key",
    "protect_lake",
    "rekey",
    "rotate_master",
    "seal",
    "unseal",
]
