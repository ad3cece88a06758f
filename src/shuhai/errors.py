"""One bilingual error family (统一错误) raised by the library, rendered by the CLI and the web layer.

Every error carries a stable machine code, a Chinese and an English message, the HTTP status it maps
to, and an optional list of detailed problems (row, column, reason), collected before raising.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

# the last errors made, by message: (class, code, zh, en, status, details), to rebuild one from
# its text when another library passed it on as text (Polars and DuckDB do, from a UDF)
_RECENT: OrderedDict[str, tuple[type, str, str, str, int, list[dict[str, Any]]]] = OrderedDict()
_recent_lock = threading.Lock()


class ShuhaiError(Exception):
    """Base error: ``ShuhaiError("ingest.bad_encoding", "文件编码无法识别", "Unknown file encoding")``."""

    status: int = 400

    def __init__(
        self,
        code: str,
        zh: str | None = None,
        en: str | None = None,
        *,
        status: int | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        if zh is None or en is None:
            # Rebuilt from its message alone: Polars re-raises an error raised inside a UDF
            # (a column decrypted in a lazy scan) as ``type(error)(message + where it was)``.
            seen = _remembered(code)
            if seen is None:
                text = code.split("\n\n", 1)[0]
                code, zh, en = "error", text, text
            else:
                _cls, code, zh, en, status, details = seen
        self.code = code
        self.zh = zh
        self.en = en
        if status is not None:
            self.status = status
        self.details = details or []
        super().__init__(self.message)
        with _recent_lock:
            _RECENT[self.message] = (type(self), code, zh, en, self.status, self.details)
            while len(_RECENT) > 256:
                _RECENT.popitem(last=False)

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": False,
            "code": self.code,
            "error": self.message,
            "errors": self.details,
            "status": self.status,
        }


def recover(exc: BaseException) -> ShuhaiError | None:
    """The platform's own error inside another library's: DuckDB passes on an error raised in
    a Python function (a column decrypted in a query: tampering, no keyring) as text only."""
    seen = _remembered(str(exc))
    if seen is None:
        return None
    cls, code, zh, en, status, details = seen
    made: ShuhaiError = cls(code, zh, en, status=status, details=details)
    return made


def _remembered(text: str) -> tuple[type, str, str, str, int, list[dict[str, Any]]] | None:
    """The last error made whose message ``text`` holds."""
    with _recent_lock:
        found = [v for message, v in _RECENT.items() if message in text]
    return found[-1] if found else None


class StorageFull(ShuhaiError):
    """The disk (or quota) under the platform's files is full (507 Insufficient Storage)."""

    status = 507


NO_SPACE = (28, 122)  # ENOSPC, EDQUOT
NO_SPACE_TEXT = (
    "No space left on device",
    "os error 28",
    "Disk quota exceeded",
    "os error 122",
    "database or disk is full",  # SQLite
)


def out_of_space(exc: BaseException) -> bool:
    """Whether ``exc`` (or one it came from) is a full disk: an ``OSError`` with ENOSPC/EDQUOT,
    or the text Rust and C writers (Polars, Delta, Arrow) pass it on as."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            return True
        if any(text in str(exc) for text in NO_SPACE_TEXT):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


class InvalidInput(ShuhaiError):
    """Input that cannot be accepted (422 for parameters, also used for rejected files)."""

    status = 422


class NotFound(ShuhaiError):
    """An unknown id (404)."""

    status = 404


class Forbidden(ShuhaiError):
    """Not entitled (403)."""

    status = 403


class Conflict(ShuhaiError):
    """The request conflicts with what is stored (409)."""

    status = 409


class RejectedFile(InvalidInput):
    """A source that cannot be parsed at all: rejected whole, nothing committed (整体拒收)."""

    status = 422


def check_paging(code: str, limit: int, offset: int, most: int) -> None:
    """Refuse a page of ``limit`` rows from ``offset`` outside 1..``most`` and offset >= 0 (422,
    under ``code``): one check for every limit/offset reader."""
    if not 1 <= limit <= most or offset < 0:
        raise InvalidInput(
            code,
            f"limit 应在 1–{most:,}，offset ≥ 0",
            f"limit must be 1–{most:,}, offset >= 0",
        )


__all__ = [
    "StorageFull",
    "out_of_space",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "RejectedFile",
    "ShuhaiError",
    "check_paging",
]
