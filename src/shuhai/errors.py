"""One bilingual error family (统一错误) raised by the library, rendered by the CLI and the web layer.

Every error carries a stable machine code, a Chinese and an English message, the HTTP status it maps
to, and an optional list of detailed problems (row, column, reason), collected before raising.
"""

from __future__ import annotations

from typing import Any


class ShuhaiError(Exception):
    """Base error: ``ShuhaiError("ingest.bad_encoding", "文件编码无法识别", "Unknown file encoding")``."""

    status: int = 400

    def __init__(
        self,
        code: str,
        zh: str,
        en: str,
        *,
        status: int | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        self.code = code
        self.zh = zh
        self.en = en
        if status is not None:
            self.status = status
        self.details = details or []
        super().__init__(self.message)

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


__all__ = ["Conflict", "Forbidden", "InvalidInput", "NotFound", "RejectedFile", "ShuhaiError"]
