"""What every ``shuhai`` command shares: the root app, the consoles, the error printer, the audit
of command-line changes and the table printer.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from shuhai.config import Config
from shuhai.errors import ShuhaiError

app = typer.Typer(
    help="数海 Shuhai — 政务数据平台 / government data platform",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Print library errors as text (Chinese / English) with their details and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ShuhaiError as exc:
            err_console.print(
                f"[bold red]错误 / Error[/]: {exc.message}  [dim]({exc.code})[/]", highlight=False
            )
            for detail in exc.details[:50]:
                err_console.print(
                    "  - " + ", ".join(f"{k}: {v}" for k, v in detail.items()), highlight=False
                )
            if len(exc.details) > 50:
                err_console.print(
                    f"  … {len(exc.details) - 50} more / 另有 {len(exc.details) - 50} 处"
                )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _audited(action: str, resource: str = "", detail: Any = None) -> None:
    """Admin and security changes made at the command line go to the audit trail at once (the
    process is about to exit), under the operating-system user who ran them."""
    import getpass

    from shuhai.access import audit

    audit.append(
        _config(),
        [
            {
                "actor": f"cli:{getpass.getuser()}",
                "action": action,
                "resource": resource,
                "detail": detail,
            }
        ],
    )


def _config() -> Config:
    from shuhai.platform import open_home  # the library loads only for commands that use it

    return open_home()


def _table(rows: list[dict[str, Any]], columns: list[str], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*["" if row.get(c) is None else str(row.get(c)) for c in columns])
    return table


def _load_mapping(path: Path) -> Any:
    import yaml

    text = path.read_text(encoding="utf-8-sig")
    return yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)


CELL = 200  # characters of a cell shown at the terminal (a 5 MB cell is not printed whole)


def _cell(value: Any) -> Any:
    text = "" if value is None else str(value)
    return text if len(text) <= CELL else f"{text[:CELL]}…（共 {len(text):,} 字符 / chars）"


def main() -> None:
    app()
