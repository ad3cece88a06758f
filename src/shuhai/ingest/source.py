"""What every reader yields: batches of text columns, with record numbers, and the rows it rejected.

Readers keep every value as text; typing happens once, in ``shuhai.ingest.typing``, the same way for
every format. ``rows_in`` counts every record a reader saw, including those it could not split into
the right number of fields (those arrive in ``rejects`` and go to quarantine).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa


@dataclass
class RejectedRow:
    """A record a reader could not split into fields (ragged row, bad JSON line)."""

    line: int | None
    reason_code: str
    reason: str
    text: str


@dataclass
class TextBatch:
    """Text columns for ``batch.num_rows`` records; ``lines`` gives each record's source line."""

    batch: pa.RecordBatch | pa.Table | pl.DataFrame
    lines: pa.Array
    # What a scan of the raw bytes ruled out, so typing can skip checks that cannot fire:
    # "nul" (a NUL byte somewhere), "sci" (text like 1.1E+17). Absent keys mean "maybe".
    absent: frozenset[str] = frozenset()

    def to_pylist(self) -> list[dict[str, Any]]:
        """The records as dicts (for tests and small previews)."""
        if isinstance(self.batch, pl.DataFrame):
            return self.batch.to_dicts()
        return self.batch.to_pylist()

    @property
    def num_rows(self) -> int:
        return self.batch.height if isinstance(self.batch, pl.DataFrame) else self.batch.num_rows


@dataclass
class SourceStream:
    """An opened source: header, text batches, and facts for the run record."""

    kind: str
    columns: list[str]
    batches: Iterator[TextBatch]
    rejects: list[RejectedRow] = field(default_factory=list)
    encoding: str | None = None
    hasher: Any = field(default_factory=hashlib.sha256)
    description: str = ""
    total_bytes: int | None = None  # size of a file source, for progress
    bytes_read: int = 0

    hash_thread: threading.Thread | None = None  # a reader hashing the file beside parsing

    @property
    def sha256(self) -> str:
        """SHA-256 of the whole source (waits for a hashing thread to finish the file)."""
        if self.hash_thread is not None:
            self.hash_thread.join()
        return str(self.hasher.hexdigest())


class HashingReader:
    """A binary file wrapper that hashes what is read (the source's SHA-256 in one pass)."""

    def __init__(self, raw: Any, hasher: Any, stream: SourceStream | None = None) -> None:
        self.raw = raw
        self.hasher = hasher
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.hasher.update(data)
        if self.stream is not None:
            self.stream.bytes_read += len(data)
        return bytes(data)

    def close(self) -> None:
        self.raw.close()


__all__ = ["HashingReader", "RejectedRow", "SourceStream", "TextBatch"]
