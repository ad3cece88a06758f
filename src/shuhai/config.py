"""Settings as a declared table (配置): every setting has a name, type, default and bilingual help.

Values come from ``SHUHAI_*`` environment variables, are cast and checked once here; a bad value
says which key and why.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shuhai.errors import InvalidInput


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    cast: Callable[[str], Any]
    help_zh: str
    help_en: str


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("not a valid bool")


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive integer")
    return number


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home",
        "./.shuhai",
        str,
        "数据目录（湖、元数据库、隔离区）",
        "Data directory (lake, metadata, quarantine)",
    ),
    Setting(
        "database_url",
        None,
        str,
        "元数据库 SQLAlchemy URL，默认为数据目录中的 SQLite 文件",
        "Metadata database URL; default a SQLite file in the home",
    ),
    Setting("batch_rows", 131072, _positive_int, "导入时每批行数", "Rows per ingest batch"),
    Setting(
        "block_bytes",
        16 * 1024 * 1024,
        _positive_int,
        "CSV 解析块大小（字节），单行不得超过",
        "CSV parse block size in bytes; one record must fit",
    ),
    Setting(
        "max_cell_bytes",
        1024 * 1024,
        _positive_int,
        "单元格最大字节数，超出则隔离该行",
        "Largest cell in bytes; longer cells quarantine their row",
    ),
    Setting(
        "demo_mode",
        False,
        _bool,
        "演示模式：页面标注“演示数据”",
        "Demo mode: pages say 演示数据 (demo data)",
    ),
    Setting(
        "redis_url",
        None,
        str,
        "存放签名请求随机数（防重放）的 Redis，未设置时用元数据库",
        "Redis for signed-request nonces (replay protection); the metadata DB when unset",
    ),
    Setting(
        "profiles",
        False,
        _bool,
        "开放一人一档/一企一档页面与接口（含个人信息；访问控制上线前默认关闭，演示实例开启）",
        "Serve person and enterprise profiles (personal data; off until access control, on in the demo)",
    ),
    Setting(
        "audit_checkpoint_seconds",
        120,
        _positive_int,
        "新审计记录最迟多少秒内签署检查点",
        "New audit entries are anchored by a signed checkpoint within this many seconds",
    ),
    Setting(
        "masked_lookups_per_minute",
        600,
        _positive_int,
        "每个凭证每分钟按脱敏信息项等值查询的次数上限",
        "Equality lookups on a column masked for the caller, per credential and minute",
    ),
)


@dataclass
class Config:
    """Resolved settings. ``Config.from_env()`` reads ``SHUHAI_<NAME>`` for each declared setting."""

    home: Path
    database_url: str
    batch_rows: int = 131072
    block_bytes: int = 16 * 1024 * 1024
    max_cell_bytes: int = 1024 * 1024
    demo_mode: bool = False
    profiles: bool = False
    redis_url: str | None = None
    audit_checkpoint_seconds: int = 120
    masked_lookups_per_minute: int = 600
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Config:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            key = f"SHUHAI_{setting.name.upper()}"
            if setting.name in overrides and overrides[setting.name] is not None:
                values[setting.name] = overrides[setting.name]
            elif key in env:
                try:
                    values[setting.name] = setting.cast(env[key])
                except ValueError as exc:
                    raise InvalidInput(
                        "config.invalid",
                        f"配置项 {key} 的值 {env[key]!r} 无效：{exc}",
                        f"Config {key} has value {env[key]!r}: {exc}",
                    ) from exc
            else:
                values[setting.name] = setting.default
        home = Path(values.pop("home")).expanduser().resolve()
        url = values.pop("database_url") or f"sqlite:///{home / 'shuhai.db'}"
        return cls(home=home, database_url=url, **values)

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    def ensure_dirs(self) -> None:
        for path in (self.home, self.lake_dir, self.quarantine_dir):
            path.mkdir(parents=True, exist_ok=True)

    def describe(self) -> list[dict[str, Any]]:
        """Rows for ``shuhai config show``: name, value, help."""
        rows = []
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            if setting.name == "database_url":
                value = _hide_password(str(value))
            rows.append(
                {
                    "name": f"SHUHAI_{setting.name.upper()}",
                    "value": str(value),
                    "help": f"{setting.help_zh} / {setting.help_en}",
                }
            )
        return rows


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is shown as is
        return url


__all__ = ["SETTINGS", "Config", "Setting"]
