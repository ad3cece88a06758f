"""Identities and roles (身份与角色): users of departments, 三员分立, Argon2 passwords, TOTP for the
platform roles, lockout after repeated failures, sessions with CSRF tokens.

Roles::

    ADMIN     系统管理员: users, departments, settings — never the audit trail or masking
    SECURITY  安全保密管理员: classification, grading, masking, credentials
    AUDITOR   安全审计员: reads the audit trail, nothing else
    OFFICER   部门数据管理员: a department's catalog, data, share approvals
    USER      部门用户: reads what the department is entitled to
    PUBLIC    公众用户: open data only

One person holds at most one of ADMIN, SECURITY and AUDITOR (等保 2.0 三员分立), and those three
sign in with a second factor.
"""

from __future__ import annotations

import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shuhai.access import throttle
from shuhai.access.crypto import sm3_hex
from shuhai.config import Config
from shuhai.db import Department, UsedNonce, User, UserSession, session_scope
from shuhai.errors import Conflict, InvalidInput, NotFound, ShuhaiError

ADMIN, SECURITY, AUDITOR = "admin", "security", "auditor"
OFFICER, USER, PUBLIC = "officer", "user", "public"
ROLES = {
    ADMIN: "系统管理员",
    SECURITY: "安全保密管理员",
    AUDITOR: "安全审计员",
    OFFICER: "部门数据管理员",
    USER: "部门用户",
    PUBLIC: "公众用户",
}
THREE = {ADMIN, SECURITY, AUDITOR}  # 三员: separate people, second factor required
DEPARTMENT_ROLES = {OFFICER, USER}
SESSION_TTL = timedelta(hours=8)

_hasher = PasswordHasher()  # Argon2id, the library's default parameters (RFC 9106)


class Unauthorized(ShuhaiError):
    """未认证: no valid session or credential."""

    status = 401


def _check_roles(roles: list[str], department_id: int | None) -> list[str]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidInput(
            "user.unknown_role",
            f"未知角色：{'、'.join(unknown)}（可选 {'、'.join(ROLES)}）",
            f"Unknown roles: {', '.join(unknown)} (choose from {', '.join(ROLES)})",
        )
    if len(THREE & set(roles)) > 1:
        raise InvalidInput(
            "user.separation_of_duties",
            "三员分立：系统管理员、安全保密管理员、安全审计员不能由同一人担任",
            "Separation of duties: admin, security officer and auditor are three different people",
        )
    if DEPARTMENT_ROLES & set(roles) and department_id is None:
        raise InvalidInput(
            "user.needs_department",
            "部门角色需要指定所属部门",
            "Department roles need the user's department",
        )
    return sorted(set(roles))


def _check_password(password: str) -> None:
    if (
        len(password) < 10
        or not any(c.isdigit() for c in password)
        or not any(c.isalpha() for c in password)
    ):
        raise InvalidInput(
            "user.weak_password",
            "密码至少 10 位，且包含字母和数字",
            "Passwords have at least 10 characters, with letters and digits",
        )


def _department_id(s: Any, department: str | None) -> int | None:
    if not department:
        return None
    dep = s.scalars(
        select(Department).where((Department.code == department) | (Department.name == department))
    ).first()
    if dep is None:
        raise NotFound(
            "user.unknown_department", f"部门“{department}”不存在", f"No department {department!r}"
        )
    return int(dep.id)


def user_dict(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        "department_id": u.department_id,
        "roles": list(u.roles or []),
        "second_factor": u.totp_secret is not None,
        "locked": bool(u.locked_until and u.locked_until > datetime.now(UTC)),
        "active": u.active,
    }


def add_user(
    config: Config,
    username: str,
    password: str,
    *,
    roles: list[str],
    department: str | None = None,
    display_name: str = "",
) -> dict[str, Any]:
    """Create a user. For admin, security officer and auditor a TOTP secret is made and returned
    once (``totp_uri`` for an authenticator app)."""
    if (
        not username
        or len(username) > 64
        or not username.replace("_", "").replace(".", "").isalnum()
    ):
        raise InvalidInput(
            "user.bad_username", "用户名只能包含字母、数字、点和下划线", "Invalid username"
        )
    _check_password(password)
    with session_scope(config.database_url) as s:
        dep = _department_id(s, department)
        roles = _check_roles(roles, dep)
        if s.scalars(select(User).where(User.username == username)).first():
            raise Conflict("user.exists", f"用户“{username}”已存在", f"User {username!r} exists")
        secret = pyotp.random_base32() if THREE & set(roles) else None
        u = User(
            username=username,
            display_name=display_name or username,
            department_id=dep,
            roles=roles,
            password_hash=_hasher.hash(password),
            totp_secret=secret,
        )
        s.add(u)
        s.flush()
        out = user_dict(u)
    if secret:
        out["totp_uri"] = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="数海")
    return out


SIGNUPS_PER_HOUR = 10  # public accounts made from one address in an hour


def register_public(
    config: Config,
    username: str,
    password: str,
    *,
    display_name: str = "",
    address: str | None = None,
) -> dict[str, Any]:
    """公众注册: a person or an enterprise makes its own public account (role ``public`` only:
    no department, no other role can be asked for), at most ``SIGNUPS_PER_HOUR`` from one
    address."""
    from shuhai.access import limits

    try:
        limits.hit(config, f"signup:{address or '-'}", SIGNUPS_PER_HOUR, window=3600)
    except limits.TooManyRequests:
        raise limits.TooManyRequests(
            "user.signup_limited",
            "同一地址注册过于频繁，请一小时后再试",
            "Too many sign-ups from this address; try again in an hour",
        ) from None
    name = (display_name or "").strip()[:100]
    return add_user(config, username, password, roles=[PUBLIC], display_name=name)


def set_roles(config: Config, username: str, roles: list[str]) -> dict[str, Any]:
    with session_scope(config.database_url) as s:
        u = _get(s, username)
        u.roles = _check_roles(roles, u.department_id)
        if THREE & set(u.roles) and u.totp_secret is None:
            u.totp_secret = pyotp.random_base32()
        return user_dict(u)


def reset_password(config: Config, username: str, password: str) -> dict[str, Any]:
    """New password; unlocks the account and ends its sessions."""
    _check_password(password)
    with session_scope(config.database_url) as s:
        u = _get(s, username)
        u.password_hash = _hasher.hash(password)
        u.failed_logins, u.locked_until = 0, None
        for sess in s.scalars(select(UserSession).where(UserSession.user_id == u.id)):
            s.delete(sess)
        return user_dict(u)


def _get(s: Any, username: str) -> User:
    u = s.scalars(select(User).where(User.username == username)).first()
    if u is None:
        raise NotFound("user.not_found", f"用户“{username}”不存在", f"No user {username!r}")
    return u


def login(
    config: Config,
    username: str,
    password: str,
    totp: str | None = None,
    *,
    address: str | None = None,
) -> dict[str, Any]:
    """Check password (and TOTP where required); returns a session token and CSRF token.

    Failures slow further attempts from the same address (``throttle``: progressive delays,
    no lock another address could trigger). Every refusal says the same whether or not the user
    exists. A one-time code signs in once: the time step it matched is used up.
    """
    refused = Unauthorized(
        "auth.failed", "用户名、密码或动态口令错误", "Wrong username, password or one-time code"
    )
    throttle.check(config, username, address)
    now = datetime.now(UTC)
    with session_scope(config.database_url) as s:
        u = s.scalars(select(User).where(User.username == username)).first()
        if u is None or not u.active:
            _hasher.hash(password)  # the same work either way: no timing oracle for usernames
            ok, u = False, None
        else:
            try:
                _hasher.verify(u.password_hash, password)
                ok = True
            except (VerificationError, InvalidHashError):
                ok = False
        if ok and u is not None and u.totp_secret is not None:
            ok = _fresh_totp(s, u, totp)
        if not ok:
            if u is not None:
                u.failed_logins += 1
        else:
            assert u is not None
            u.failed_logins, u.locked_until, u.last_login_at = 0, None, now
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
            s.add(
                UserSession(
                    token_hash=sm3_hex(token.encode()),
                    user_id=u.id,
                    csrf=csrf,
                    expires_at=now + SESSION_TTL,
                )
            )
            result = {"token": token, "csrf": csrf, "user": user_dict(u)}
    if not ok:
        throttle.failed(config, username, address)
        raise refused
    throttle.succeeded(config, username, address)
    return result


def _fresh_totp(s: Any, u: User, code: str | None) -> bool:
    """Whether ``code`` is the user's one-time code for now (±1 step) and not used before; the
    step it matched is recorded, so the same code never signs in twice."""
    if not code:
        return False
    otp = pyotp.TOTP(u.totp_secret or "")
    now = time.time()
    for drift in (0, -1, 1):
        at = now + drift * otp.interval
        if hmac.compare_digest(otp.at(at), str(code)):
            step = int(at // otp.interval)
            try:
                with s.begin_nested():
                    s.add(UsedNonce(app_key=f"totp:{u.id}", nonce=str(step)))
            except IntegrityError:
                return False  # already used
            return True
    return False


def session_user(config: Config, token: str | None) -> dict[str, Any] | None:
    """The signed-in user of a session token (None when absent, unknown or expired)."""
    if not token:
        return None
    with session_scope(config.database_url) as s:
        found = s.execute(  # one query per request: the session and its user together
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == sm3_hex(token.encode()))
        ).first()
        if found is None:
            return None
        sess, u = found
        expires = sess.expires_at if sess.expires_at.tzinfo else sess.expires_at.replace(tzinfo=UTC)
        if expires < datetime.now(UTC):
            s.delete(sess)
            return None
        if not u.active:
            return None
        return {**user_dict(u), "csrf": sess.csrf}


def logout(config: Config, token: str | None) -> None:
    if not token:
        return
    with session_scope(config.database_url) as s:
        for sess in s.scalars(
            select(UserSession).where(UserSession.token_hash == sm3_hex(token.encode()))
        ):
            s.delete(sess)


def list_users(config: Config) -> list[dict[str, Any]]:
    with session_scope(config.database_url) as s:
        return [user_dict(u) for u in s.scalars(select(User).order_by(User.username))]


__all__ = [
    "ADMIN",
    "AUDITOR",
    "OFFICER",
    "PUBLIC",
    "ROLES",
    "SECURITY",
    "USER",
    "Unauthorized",
    "add_user",
    "list_users",
    "login",
    "logout",
    "reset_password",
    "session_user",
    "set_roles",
]
