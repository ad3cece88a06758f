"""The ``shuhai`` command (Typer + Rich): each command calls one library function.

One module per command group; importing them, in the order ``shuhai --help`` lists them,
registers their commands on the root app.
"""

import importlib

from shuhai.cli.common import app, main

GROUPS = ("data", "catalog", "quality", "bases", "security", "share", "open")
for _group in GROUPS:
    importlib.import_module(f"shuhai.cli.{_group}")

__all__ = ["GROUPS", "app", "main"]
