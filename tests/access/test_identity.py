"""Users and roles: Argon2 passwords, 三员分立, TOTP for the platform roles, lockout, sessions."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from shuhai.access import identity as idn
from shuhai.access import throttle
from shuhai.access.limits import TooManyRequests
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.db import User, session_scope
from shuhai.errors import Conflict, InvalidInput


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


def test_failures_slow_that_address_only_and_never_tell_who_exists(people: Config) -> None:
    idn.add_user(people, "ga_user", "Correct1horse", roles=["user"], department="GA")
    answers = {}
    for name in ("ga_user", "nobody"):
        for _ in range(throttle.FREE):
            with pytest.raises(idn.Unauthorized) as exc:
                idn.login(people, name, "wrong-password-1", address="10.0.0.9")
            assert exc.value.code == "auth.failed"
        with pytest.raises(TooManyRequests) as exc:  # right password, but too soon
            idn.login(people, name, "Correct1horse", address="10.0.0.9")
        answers[name] = (exc.value.status, exc.value.code)
    # a real account and an unknown one read the same
    assert answers["ga_user"] == answers["nobody"] == (429, "auth.throttled")
    # the same account from another address is not slowed (no lock-out from outside)
    assert idn.login(people, "ga_user", "Correct1horse", address="10.0.0.10")["user"]
    assert throttle.delay(throttle.FREE, throttle.FREE) == 1
    assert throttle.delay(throttle.FREE + 3, throttle.FREE) == 8
    assert throttle.delay(10_000, throttle.FREE) == throttle.MAX_DELAY


def test_a_one_time_code_signs_in_once(people: Config) -> None:
    idn.add_user(people, "sec", "Correct1horse", roles=["security"])
    with session_scope(people.database_url) as s:
        secret = s.scalars(select(User).where(User.username == "sec")).one().totp_secret
    code = pyotp.TOTP(secret).now()
    assert idn.login(people, "sec", "Correct1horse", code, address="10.0.0.1")["token"]
    with pytest.raises(idn.Unauthorized):  # the same code again, within its 30 seconds
        idn.login(people, "sec", "Correct1horse", code, address="10.0.0.1")


def test_unknown_users_fail_like_wrong_passwords(people: Config) -> None:
    with pytest.raises(idn.Unauthorized) as exc:
        idn.login(people, "nobody", "Correct1horse")
    assert exc.value.status == 401 and exc.value.code == "auth.failed"


def test_failures_in_another_server_process_count_too(people: Config) -> None:
    """Without Redis the counts live in the metadata database: a second worker process does
    not give an attacker a second set of attempts."""
    import os
    import subprocess
    import sys

    idn.add_user(people, "ga_clerk", "Correct1horse", roles=["user"], department="GA")
    script = (
        "from shuhai.access import identity as idn; from shuhai.config import Config\n"
        f"for _ in range({throttle.FREE}):\n"
        "    try: idn.login(Config.from_env(), 'ga_clerk', 'wrong-1', address='10.9.9.9')\n"
        "    except idn.Unauthorized: pass\n"
    )
    env = {
        **os.environ,
        "SHUHAI_HOME": str(people.home),
        "SHUHAI_DATABASE_URL": people.database_url,
    }
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    with pytest.raises(TooManyRequests):
        idn.login(people, "ga_clerk", "Correct1horse", address="10.9.9.9")
