"""Parameters shared by the routes: ids and offsets validated before they reach a database.

An id in a path is a whole number of ASCII digits from 1 to 2⁶³−1 (what SQLite and PostgreSQL
store); anything else is 422 with the field named, never an ``OverflowError`` deeper down.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**63 - 1
MAX_OFFSET = 10_000_000

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="编号 / id")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="跳过的行数 / rows skipped")]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
OptionalVersion = Annotated[int | None, Query(ge=0, le=MAX_ID, description="版本 / version")]

__all__ = ["MAX_ID", "MAX_OFFSET", "Id", "Offset", "OptionalId", "OptionalVersion"]
