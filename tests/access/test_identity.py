"""Users and roles: Argon2 passwords, 三员分立, TOTP for the platform roles, lockout, sessions."""

from __future__ import annotations

import pyotp
import pytest

from shuhai.access import identity as idn
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.db import User, session_scope
from shuhai.errors import Conflict, Forbidden, InvalidInput


@pytest.fixture
def people(any_config: Config) -> Config:
    Catalog(any_config).add_department({"name": "市公安局", "code": "GA"})
    return any_config


def test_passwords_are_argon2_and_never_stored(people: Config) -> None:
    idn.add_user(people, "ga_officer", "Correct1horse", roles=["officer"], department="GA")
    with session_scope(people.database_url) as s:
        stored = s.query(User).one().password_hash
    assert stored.startswith("$argon2id$") and "Correct1horse" not in stored


def test_department_user_signs_in_and_out(people: Config) -> None:
    idn.add_user(people, "ga_user", "Correct1horse", roles=["user"], department="GA")
    session = idn.login(people, "ga_user", "Correct1horse")
    me = idn.session_user(people, session["token"])
    assert me is not None and me["username"] == "ga_user" and me["csrf"] == session["csrf"]
    idn.logout(people, session["token"])
    assert idn.session_user(people, session["token"]) is None
    assert idn.session_user(people, "forged-token") is None


def test_platform_roles_need_the_second_factor(people: Config) -> None:
    created = idn.add_user(people, "sec", "Correct1horse", roles=["security"])
    assert created["second_factor"] and created["totp_uri"].startswith("otpauth://totp/")
    secret = pyotp.parse_uri(created["totp_uri"]).secret
    with pytest.raises(idn.Unauthorized):
        idn.login(people, "sec", "Correct1horse")  # no code
    with pytest.raises(idn.Unauthorized):
        idn.login(people, "sec", "Correct1horse", "000000")
    ok = idn.login(people, "sec", "Correct1horse", pyotp.TOTP(secret).now())
    assert ok["user"]["roles"] == ["security"]


def test_separation_of_duties(people: Config) -> None:
    with pytest.raises(InvalidInput) as exc:
        idn.add_user(people, "root", "Correct1horse", roles=["admin", "auditor"])
    assert exc.value.code == "user.separation_of_duties"
    idn.add_user(people, "adm", "Correct1horse", roles=["admin"])
    with pytest.raises(InvalidInput):
        idn.set_roles(people, "adm", ["admin", "security"])
    with pytest.raises(InvalidInput):
        idn.add_user(people, "x", "Correct1horse", roles=["officer"])  # no department
    with pytest.raises(InvalidInput):
        idn.add_user(people, "y", "short1", roles=["user"], department="GA")
    with pytest.raises(InvalidInput):
        idn.add_user(people, "z", "Correct1horse", roles=["superuser"])
    with pytest.raises(Conflict):
        idn.add_user(people, "adm", "Correct1horse", roles=["admin"])


def test_lockout_after_five_failures_and_reset(people: Config) -> None:
    idn.add_user(people, "ga_user", "Correct1horse", roles=["user"], department="GA")
    for _ in range(idn.MAX_FAILURES):
        with pytest.raises(idn.Unauthorized):
            idn.login(people, "ga_user", "wrong-password-1")
    with pytest.raises(Forbidden) as exc:
        idn.login(people, "ga_user", "Correct1horse")  # right password, but locked
    assert exc.value.code == "auth.locked"
    idn.reset_password(people, "ga_user", "Another2horse")
    assert idn.login(people, "ga_user", "Another2horse")["user"]["username"] == "ga_user"


def test_unknown_users_fail_like_wrong_passwords(people: Config) -> None:
    with pytest.raises(idn.Unauthorized) as exc:
        idn.login(people, "nobody", "Correct1horse")
    assert exc.value.status == 401 and exc.value.code == "auth.failed"
