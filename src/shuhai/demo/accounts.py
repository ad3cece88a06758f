"""Demo accounts (演示账号): a data officer and a user for every demo department, a member of the
public, and the three platform roles (系统管理员、安全保密管理员、安全审计员) with their TOTP
secrets. Written to ``demo_accounts.json`` in the home (mode 0600) so the demo can be signed into;
a real instance creates its users with ``shuhai user add``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pyotp

from shuhai.access import identity as idn
from shuhai.config import Config
from shuhai.demo.city import DEPARTMENTS
from shuhai.errors import Conflict

DEMO_PASSWORD = "Shuhai2026demo"
ACCOUNTS_FILE = "demo_accounts.json"
PLATFORM = [
    ("sysadmin", idn.ADMIN, "系统管理员"),
    ("secofficer", idn.SECURITY, "安全保密管理员"),
    ("auditor", idn.AUDITOR, "安全审计员"),
]


def _wanted() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for code, name, _uscc in DEPARTMENTS:
        out.append(
            {
                "username": f"{code.lower()}_officer",
                "roles": [idn.OFFICER],
                "department": code,
                "display_name": f"{name}数据管理员",
            }
        )
        out.append(
            {
                "username": f"{code.lower()}_user",
                "roles": [idn.USER],
                "department": code,
                "display_name": f"{name}工作人员",
            }
        )
    out.append({"username": "citizen", "roles": [idn.PUBLIC], "display_name": "公众用户"})
    for username, role, label in PLATFORM:
        out.append({"username": username, "roles": [role], "display_name": label})
    return out


def create_accounts(config: Config) -> list[dict[str, Any]]:
    """Create the demo accounts that do not exist yet; returns every demo account (with the TOTP
    secret of the platform roles) as written to ``demo_accounts.json``."""
    path = config.home / ACCOUNTS_FILE
    known = {a["username"]: a for a in json.loads(path.read_text("utf-8"))} if path.exists() else {}
    accounts = []
    for spec in _wanted():
        entry = {**spec, "password": DEMO_PASSWORD}
        try:
            made = idn.add_user(
                config,
                spec["username"],
                DEMO_PASSWORD,
                roles=spec["roles"],
                department=spec.get("department"),
                display_name=spec["display_name"],
            )
            if made.get("totp_uri"):
                entry["totp_secret"] = pyotp.parse_uri(made["totp_uri"]).secret
        except Conflict:
            if "totp_secret" in known.get(spec["username"], {}):
                entry["totp_secret"] = known[spec["username"]]["totp_secret"]
        accounts.append(entry)
    path.write_text(json.dumps(accounts, ensure_ascii=False, indent=1), encoding="utf-8")
    os.chmod(path, 0o600)
    return accounts


def totp_now(account: dict[str, Any]) -> str:
    """The current one-time code of a demo platform account."""
    return str(pyotp.TOTP(account["totp_secret"]).now())


__all__ = ["ACCOUNTS_FILE", "DEMO_PASSWORD", "create_accounts", "totp_now"]
