"""The ``shuhai`` command (Typer + Rich): each command calls one library function."""

from shuhai.cli.main import app, main

__all__ = ["app", "main"]
