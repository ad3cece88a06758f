"""Master-key rotation: every sealed secret is resealed under the new key, signed calls keep
working, the old key no longer opens anything new, and a rotation cut off halfway loses
nothing (the resealed secrets open with the new key kept beside the old one)."""

from __future__ import annotations

import os

import pytest

from shuhai.access import keys, signing
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.db import ApiCredential, session_scope
from shuhai.errors import InvalidInput


def _check(config: Config, cred: dict) -> dict:
    path = "/api/v1/share/x/rows"
    headers = {"X-Shuhai-AppKey": cred["app_key"]} | signing.sign(cred["app_secret"], "GET", path)
    return signing.verify_request(config, "GET", path, [], b"", headers)


@pytest.fixture
def creds(config: Config) -> list[dict]:
    Catalog(config).add_department({"name": "市人社局", "code": "RS"})
    return [signing.create_credential(config, "RS", name=f"系统{i}") for i in range(3)]


def test_rotation_on_sqlite_and_postgresql(any_config: Config) -> None:
    Catalog(any_config).add_department({"name": "市人社局", "code": "RS"})
    made = [signing.create_credential(any_config, "RS", name=f"系统{i}") for i in range(2)]
    assert keys.rotate_master(any_config) == {"resealed": 2, "data_keys": 0}
    signing.forget_secrets()
    assert all(_check(any_config, c)["app_key"] == c["app_key"] for c in made)


def test_rotation_reseals_every_secret(config: Config, creds: list[dict]) -> None:
    old = keys.master_key(config)
    with session_scope(config.database_url) as s:
        before = {c.app_key: c.secret for c in s.query(ApiCredential)}
    assert keys.rotate_master(config) == {"resealed": 3, "data_keys": 0}
    new = keys.master_key(config)
    assert new != old
    with session_scope(config.database_url) as s:
        after = {c.app_key: c.secret for c in s.query(ApiCredential)}
    assert all(after[k] != before[k] for k in before)
    for c in creds:
        assert _check(config, c)["app_key"] == c["app_key"]
    key_dir = config.home / "keys"
    retired = list((key_dir / "kept").glob("retired-*.key"))
    assert [r.read_text() for r in retired] == [old.hex()]
    assert oct((key_dir / "master.key").stat().st_mode & 0o777) == "0o600"
    # the previous key alone cannot open the resealed secrets
    (key_dir / "master.key").write_text(old.hex())
    for f in (key_dir / "kept").iterdir():
        f.unlink()
    signing.forget_secrets()
    with pytest.raises(InvalidInput):
        keys.unseal(config, after[creds[0]["app_key"]], f"credential:{creds[0]['app_key']}")


def test_a_rotation_cut_off_before_the_key_swap_loses_nothing(
    config: Config, creds: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.replace

    def crash(src: object, dst: object) -> None:  # fault: the process dies at the swap
        if "retired-" in str(dst):
            raise OSError("killed")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        keys.rotate_master(config)
    monkeypatch.setattr(os, "replace", real)
    signing.forget_secrets()
    for c in creds:  # resealed under the new key, which waits in master.key.next
        assert _check(config, c)["app_key"] == c["app_key"]
    assert keys.rotate_master(config)["resealed"] == 3  # and a second rotation completes
    signing.forget_secrets()
    assert _check(config, creds[0])


def test_with_the_key_in_the_environment_a_new_key_is_required(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    Catalog(config).add_department({"name": "市人社局", "code": "RS"})
    monkeypatch.setenv("SHUHAI_MASTER_KEY", "11" * 16)
    fresh = signing.create_credential(config, "RS", name="新系统")
    with pytest.raises(InvalidInput):
        keys.rotate_master(config)
    keys.rotate_master(config, bytes.fromhex("22" * 16))
    signing.forget_secrets()
    assert _check(config, fresh)
    monkeypatch.setenv("SHUHAI_MASTER_KEY", "22" * 16)  # the operator updates the variable
    signing.forget_secrets()
    assert _check(config, fresh)
    with pytest.raises(InvalidInput):
        keys.rotate_master(config, b"short")
