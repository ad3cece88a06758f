"""The audit trail (审计), users and roles, keys (密钥) and system credentials (凭证)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from shuhai.cli.common import _audited, _config, _table, app, console, err_console, friendly
from shuhai.config import Config

audit_app = typer.Typer(help="审计日志 / Audit trail", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
@friendly
def audit_verify(
    merkle: bool = typer.Option(
        False, help="同时重算每个检查点的 Merkle 根 / recompute Merkle roots"
    ),
) -> None:
    """校验审计链与签名检查点 / Verify the hash chain and the signed checkpoints.

    Exits 1 and names the first bad entry when the trail was edited, cut or reordered.
    Example: shuhai audit verify
    """
    from shuhai.access import audit

    result = audit.verify(_config(), merkle=merkle)
    if result["ok"]:
        console.print(
            f"审计链完好 / The trail is intact: {result['entries']:,} 条记录, "
            f"{result['checkpoints']} 个签名检查点; 已锚定至第 {result['anchored_through']:,} 条 / "
            f"anchored through {result['anchored_through']:,}; "
            f"未锚定 / unanchored: {result['unanchored']:,}"
        )
        return
    bad = result["first_bad"]
    err_console.print(
        f"[bold red]审计链被篡改 / The trail was tampered with[/]: {bad['message']} "
        f"(seq {bad['seq']}, {bad['kind']})",
        highlight=False,
    )
    raise typer.Exit(1)


@audit_app.command("checkpoint")
@friendly
def audit_checkpoint() -> None:
    """为新记录签署检查点（SM2）/ Sign a checkpoint over the newest entries."""
    from shuhai.access import audit

    cp = audit.checkpoint(_config())
    console.print("没有新记录 / nothing new" if cp is None else json.dumps(cp, ensure_ascii=False))


@audit_app.command("list")
@friendly
def audit_list(
    actor: str = typer.Option(None),
    department: str = typer.Option(None),
    resource: str = typer.Option(None),
    action: str = typer.Option(None),
    since: str = typer.Option(None, help="ISO 时间 / ISO time"),
    until: str = typer.Option(None),
    limit: int = 50,
) -> None:
    """按用户、部门、资源、时间查看审计记录 / Filter the audit trail."""
    from shuhai.access import audit

    rows = audit.search(
        _config(),
        actor=actor,
        department=department,
        resource=resource,
        action=action,
        since=since,
        until=until,
        limit=limit,
    )
    console.print(
        _table(rows, ["seq", "at", "actor", "department", "action", "resource", "outcome"])
    )


user_app = typer.Typer(help="用户与角色 / Users and roles", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _password(password: str | None) -> str:
    return password or typer.prompt("密码 / Password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
@friendly
def user_add(
    username: str,
    role: list[str] = typer.Option(
        ..., "--role", help="admin/security/auditor/officer/user/public"
    ),
    department: str = typer.Option(None, help="部门代码或名称 / department code or name"),
    name: str = typer.Option("", help="显示名 / display name"),
    password: str = typer.Option(None, help="不给出则提示输入 / prompted when omitted"),
) -> None:
    """新增用户 / Add a user.  Example: shuhai user add ga_officer --role officer --department GA"""
    from shuhai.access.identity import add_user

    u = add_user(
        _config(),
        username,
        _password(password),
        roles=role,
        department=department,
        display_name=name,
    )
    _audited("user.add", username, {"roles": u["roles"], "department": department})
    console.print(f"已创建 / Created: {u['username']} ({', '.join(u['roles'])})")
    if u.get("totp_uri"):
        console.print("双因子密钥（仅显示一次）/ second-factor key, shown once:", highlight=False)
        console.print(u["totp_uri"], highlight=False, soft_wrap=True)


@user_app.command("role")
@friendly
def user_role(username: str, role: list[str] = typer.Option(..., "--role")) -> None:
    """设置角色 / Set a user's roles.  Example: shuhai user role zhang --role user"""
    from shuhai.access.identity import set_roles

    u = set_roles(_config(), username, role)
    _audited("user.role", username, {"roles": u["roles"]})
    console.print(f"{u['username']}: {', '.join(u['roles'])}")


@user_app.command("reset")
@friendly
def user_reset(username: str, password: str = typer.Option(None)) -> None:
    """重置密码并解锁 / Reset the password and unlock.  Example: shuhai user reset zhang"""
    from shuhai.access.identity import reset_password

    reset_password(_config(), username, _password(password))
    _audited("user.reset", username)
    console.print(f"已重置 / Reset: {username}")


@user_app.command("list")
@friendly
def user_list() -> None:
    """列出用户 / List users."""
    from shuhai.access.identity import list_users

    console.print(
        _table(
            list_users(_config()),
            ["username", "display_name", "department_id", "roles", "second_factor", "locked"],
        )
    )


@audit_app.command("purge")
@friendly
def audit_purge(
    days: int = typer.Option(180, help="保留天数（至少 180）/ days kept, at least 180"),
) -> None:
    """清理超过保留期的审计记录（按签名检查点整段）/ Purge entries past retention."""
    from shuhai.access import audit

    result = audit.purge(_config(), older_than_days=days)
    _audited("audit.purge", "audit", result)
    console.print(
        f"已清理至第 {result['purged_through']} 条，共 {result['entries']} 条 / purged {result['entries']} entries"
    )


keys_app = typer.Typer(help="密钥 / Keys", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
@friendly
def keys_rotate(
    new_key: str = typer.Option(
        None, help="新主密钥（32 或 64 个十六进制字符）；用环境变量时必填 / new key (hex)"
    ),
) -> None:
    """轮换主密钥并重新封装全部机密 / Rotate the master key.  Example: shuhai keys rotate"""
    from shuhai.access.keys import rotate_master
    from shuhai.errors import InvalidInput

    key = None
    if new_key:
        try:
            key = bytes.fromhex(new_key.strip())
        except ValueError as exc:
            raise InvalidInput(
                "keys.bad_master", "新主密钥应为十六进制", "The new key must be hex"
            ) from exc
    done = rotate_master(_config(), key)
    _audited("keys.rotate", "master", done)
    console.print(
        f"主密钥已轮换，重新封装 {done['resealed']} 个机密、{done['data_keys']} 个数据密钥 / "
        "master key rotated"
    )


def _resource_ids(config: Config, resources: list[str] | None) -> list[int] | None:
    """The ids of resources named by code or id on the command line (None: all of them)."""
    if not resources:
        return None
    from shuhai.catalog.service import find_resource
    from shuhai.db import session_scope

    with session_scope(config.database_url) as s:
        return [find_resource(s, r).id for r in resources]


@keys_app.command("encrypt")
@friendly
def keys_encrypt(
    resource: list[str] = typer.Option(None, help="资源代码或编号（默认全部）/ resource"),
    vacuum: bool = typer.Option(
        False, help="同时删除旧版本文件（其中仍有明文；之后不能回溯到那些版本）/ purge old files"
    ),
) -> None:
    """加密数据湖中仍为明文的核心/L4 列 / Encrypt 核心/L4 columns still stored in plain text.
    Example: shuhai keys encrypt --vacuum"""
    from shuhai.access.keys import protect_lake

    config = _config()
    done = protect_lake(config, _resource_ids(config, resource), vacuum=vacuum)
    _audited("keys.encrypt", "lake", {"resources": len(done), "vacuum": vacuum})
    table = Table(
        "资源 / resource", "新加密 / encrypted now", "已加密 / already", "删除文件 / removed"
    )
    for row in done:
        table.add_row(
            str(row["resource_id"]),
            "、".join(row["encrypted"]) or "—",  # type: ignore[arg-type]
            "、".join(row["already"]) or "—",  # type: ignore[arg-type]
            str(row["files_removed"]),
        )
    console.print(table)


@keys_app.command("rekey")
@friendly
def keys_rekey(
    resource: list[str] = typer.Option(None, help="资源代码或编号（默认全部，含基础库）/ resource"),
    vacuum: bool = typer.Option(
        False, help="同时删除旧版本文件（之后不能回溯到那些版本）/ purge old versions' files"
    ),
) -> None:
    """把旧数据密钥（全部 SM4-SIV）下的加密数据换到新密钥（证件号等单分组加密，更快更小）/
    Move data encrypted under older (SIV-only) data keys to new keys.
    Example: shuhai keys rekey"""
    from shuhai.access.keys import rekey

    config = _config()
    done = rekey(config, _resource_ids(config, resource), vacuum=vacuum)
    _audited("keys.rekey", "lake", {"changed": len(done), "vacuum": vacuum})
    table = Table("对象 / owner", "旧密钥 / from", "新密钥 / to", "新版本 / version")
    for row in done:
        owner = (
            f"资源 resource {row['resource_id']}"
            if "resource_id" in row
            else f"基础库 base {row['base_id']} *"
        )
        table.add_row(
            owner,
            "、".join(row["from"]),  # type: ignore[arg-type]
            str(row["to"]),
            "—" if row["version"] is None else str(row["version"]),
        )
    console.print(table if done else "没有旧密钥下的数据 / nothing is under an older key")
    if any("base_id" in row for row in done):
        console.print("* 基础库下次构建时全量重建 / the base is rebuilt in full at its next build")


credential_app = typer.Typer(
    help="系统凭证 appKey/appSecret / System credentials", no_args_is_help=True
)
app.add_typer(credential_app, name="credential")


@credential_app.command("add")
@friendly
def credential_add(
    department: str,
    name: str = typer.Option("", help="系统名称 / system name"),
    scope: list[str] = typer.Option([], "--scope", help="限定的资源代码 / resource codes"),
    days: int = typer.Option(365, help="有效天数 / days valid"),
) -> None:
    """为部门系统签发凭证（密钥只显示一次）/ Issue a credential.  Example: shuhai credential add RS"""
    from shuhai.access.signing import create_credential

    made = create_credential(_config(), department, name=name, scopes=scope, days=days)
    _audited("credential.add", made["app_key"], {"department": department, "scopes": scope})
    console.print(f"appKey: {made['app_key']}")
    console.print(f"appSecret: {made['app_secret']}  （仅显示一次 / shown once）")


@credential_app.command("rotate")
@friendly
def credential_rotate(app_key: str) -> None:
    """换发新凭证并吊销旧凭证 / Replace a credential.  Example: shuhai credential rotate ak_…"""
    from shuhai.access.signing import rotate

    made = rotate(_config(), app_key)
    _audited("credential.rotate", app_key, {"replaced_by": made["app_key"]})
    console.print(f"appKey: {made['app_key']}")
    console.print(f"appSecret: {made['app_secret']}  （仅显示一次 / shown once）")


@credential_app.command("revoke")
@friendly
def credential_revoke(app_key: str) -> None:
    """吊销凭证 / Revoke a credential.  Example: shuhai credential revoke ak_…"""
    from shuhai.access.signing import revoke

    revoke(_config(), app_key)
    _audited("credential.revoke", app_key)
    console.print(f"已吊销 / revoked {app_key}")


@credential_app.command("list")
@friendly
def credential_list() -> None:
    """列出凭证（不含密钥）/ List credentials.  Example: shuhai credential list"""
    from shuhai.access.signing import list_credentials

    rows = list_credentials(_config())
    console.print(
        _table(rows, ["app_key", "department", "name", "scopes", "expires_at", "revoked"])
    )
