"""Encrypted columns of base-database builds (基础库加密存储).

A base database copies values out of the lake: a person's ID number becomes the id of each of
their records and of their file (一人一档), the anchor that keeps the file id stable, the person
side of an enterprise–person link (企业与人员关联) and the holder of a licence (电子证照). Where
the lake stores the source column encrypted (graded 核心 or L4, ``shuhai.lake.cipher``), the build
stores its copies encrypted too — same scheme (SM4-SIV, short numeric codes as one enciphered
block), under the base database's own data key.

The scheme is deterministic, so the build links on ciphertext as well as on plain text (equal
IDs, equal anchors) and a search by ID number seals the value asked for and compares it with the
stored bytes. ``sealed.json`` in a build folder says what that build encrypted; the store
(``shuhai.entities.store``) decrypts for the platform's own readers, and the edge still masks
for whoever asked (``shuhai.access.policy``).

Attributes taken from an L4 column (a 社会保障号码 kept as a golden value, say) are encrypted in
the records' ``a:<attribute>`` column, and in the golden values and disagreements, whose one
``value`` column holds every attribute, as hex text for just those attributes' rows. A linking
role read from an L4 column (a phone number an officer raised to L4, say) is encrypted in the
records with what is derived from it (pinyin, address parts), and a name also in the files'
display names and the name frequencies the linking model keeps (``tf_name``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import polars as pl
import pyarrow as pa

from shuhai.errors import recover
from shuhai.lake.cipher import (
    Cipher,
    Keyring,
    define_opener,
    keyring_for,
    keyring_within,
    no_keyring,
    opener_name,
)

if TYPE_CHECKING:
    from shuhai.config import Config
    from shuhai.entities.config import BaseConfig

SPEC = "sealed.json"
# A linking role taken from an L4 column: the record columns that hold it or are made from it
ROLE_COLUMNS = {
    "name": ("name", "name_py"),
    "legal": ("legal", "legal_py"),
    "phone": ("phone",),
    "address": ("address", "district", "street", "detail"),
    "birth": ("birth",),
    "sex": ("sex",),
}
SCHEME = "sm4-siv"
SOURCE_FIELDS = ("value", "resource_id", "version", "run", "line")  # one disagreeing source

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


@dataclass(frozen=True)
class Sealing:
    """What one build stores encrypted: ``columns`` (file → binary columns) under data key
    ``key``; ``attributes``: attributes whose golden and disagreeing values are hex text."""

    key: str = ""
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    attributes: tuple[str, ...] = ()
    keyring: Keyring | None = field(default=None, compare=False, repr=False)

    def __bool__(self) -> bool:
        return bool(self.key)

    def sealed(self, table: str) -> tuple[str, ...]:
        return self.columns.get(table, ()) if self.key else ()

    def same_as(self, other: Sealing) -> bool:
        """Whether a build with ``other`` wrote its files the way this one would."""
        return (self.key, self.columns, self.attributes) == (
            other.key,
            other.columns,
            other.attributes,
        )

    def save(self, out: Path) -> None:
        if not self:
            return
        spec = {
            "scheme": SCHEME,
            "key": self.key,
            "columns": {t: list(c) for t, c in self.columns.items()},
            "attributes": list(self.attributes),
        }
        (out / SPEC).write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")

    def cipher(self) -> Cipher:
        if self.keyring is None:
            raise no_keyring()
        return self.keyring.cipher(self.key)

    # --- writing ------------------------------------------------------------------------

    def seal(self, table: str, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` as ``table`` stores it (plain text in, ciphertext out)."""
        columns = [c for c in self.sealed(table) if c in frame.columns]
        if columns:
            frame = frame.with_columns(self.seal_series(frame[c]) for c in columns)
        if self.key and self.attributes and table in ("golden", "disagreements"):
            frame = _values(frame, self.attributes, self._seal_hex)
        return frame

    def seal_series(self, values: pl.Series) -> pl.Series:
        """Values as an encrypted column stores them (binary)."""
        return _series(values.name, self.cipher().seal(_arrow(values, pa.large_string())))

    def seal_value(self, value: str) -> bytes:
        return self.cipher().seal_value(value)

    def _seal_hex(self, values: pl.Series) -> pl.Series:
        return self.seal_series(values).bin.encode("hex")

    # --- reading ------------------------------------------------------------------------

    def open(self, table: str, frame: Frame, *, stored: bool = False) -> Frame:
        """Stored rows of ``table`` with their encrypted columns decrypted. On a lazy frame the
        decryption runs only on the columns selected and the rows kept, after the filters.
        ``stored``: keep each encrypted column's bytes as ``<column>__stored`` too, for filters
        that compare them with sealed values (so that only the rows kept are decrypted)."""
        names = frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns
        columns = [c for c in self.sealed(table) if c in names]
        if stored and columns:
            frame = frame.with_columns(pl.col(c).alias(f"{c}__stored") for c in columns)
        exprs = [
            pl.col(c).map_batches(self._open, return_dtype=pl.String, is_elementwise=True)
            for c in columns
        ]
        if self.key and self.attributes and table in ("golden", "disagreements"):
            target = "value" if table == "golden" else "sources"
            if target in names and "attribute" in names:
                dtype = frame.collect_schema()[target]
                exprs.append(
                    pl.struct("attribute", target)
                    .map_batches(self._open_struct, return_dtype=dtype, is_elementwise=True)
                    .alias(target)
                )
        return frame.with_columns(exprs) if exprs else frame

    def _open(self, values: pl.Series) -> pl.Series:
        return _series(values.name, self.cipher().open(_arrow(values, pa.large_binary())))

    def _open_hex(self, values: pl.Series) -> pl.Series:
        return self._open(values.str.decode("hex"))

    def _open_struct(self, pairs: pl.Series) -> pl.Series:
        frame = pairs.struct.unnest()
        target = frame.columns[1]
        return _values(frame, self.attributes, self._open_hex)[target]

    def select_sql(self, table: str) -> str:
        """The DuckDB select list that decrypts ``table``'s stored rows (``*`` when nothing is
        encrypted). An encrypted column's stored bytes stay selectable as ``<column>__stored``,
        for a filter that compares them with a sealed value (no decryption of the rows it
        drops). Needs a connection from ``connect``."""
        opener = opener_name(self.key) if self.key else ""
        replace = [f"{opener}({_ident(c)}) AS {_ident(c)}" for c in self.sealed(table)]
        stored = [f"{_ident(c)} AS {_ident(c + '__stored')}" for c in self.sealed(table)]
        if self.key and self.attributes and table in ("golden", "disagreements"):
            names = ", ".join("'" + a.replace("'", "''") + "'" for a in self.attributes)
            test = f"attribute IN ({names})"
            if table == "golden":
                replace.append(
                    f"CASE WHEN {test} THEN {opener}(unhex(value)) ELSE value END AS value"
                )
            else:
                fields = ", ".join(
                    f"{f} := {opener}(unhex(s.value))" if f == "value" else f"{f} := s.{f}"
                    for f in SOURCE_FIELDS
                )
                replace.append(
                    f"CASE WHEN {test} THEN list_transform(sources, lambda s: "
                    f"struct_pack({fields})) ELSE sources END AS sources"
                )
        if not replace:
            return "*"
        return ", ".join([f"* REPLACE ({', '.join(replace)})", *stored])


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _arrow(series: pl.Series, kind: pa.DataType) -> pa.Array:
    arr = series.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(kind)


def _series(name: str, arr: pa.Array) -> pl.Series:
    out = pl.from_arrow(arr)
    assert isinstance(out, pl.Series)
    return out.alias(name)


def _values(frame: pl.DataFrame, attributes: tuple[str, ...], change: Any) -> pl.DataFrame:
    """``frame`` (golden values, or disagreements with their ``sources`` lists) with ``change``
    applied to the values of ``attributes`` only."""
    mask = frame["attribute"].is_in(list(attributes))
    if not mask.any():
        return frame
    rows = mask.arg_true()
    if "value" in frame.columns:
        changed = change(frame["value"].gather(rows))
        return frame.with_columns(frame["value"].clone().scatter(rows, changed))
    picked = frame.select("sources").with_row_index("_row").filter(mask)
    flat = picked.explode("sources").unnest("sources")
    flat = flat.with_columns(change(flat["value"]).alias("value"))
    packed = flat.group_by("_row", maintain_order=True).agg(
        pl.struct(*SOURCE_FIELDS).alias("_changed")
    )
    dtype = frame.schema["sources"]
    return (
        frame.with_row_index("_row")
        .join(packed, on="_row", how="left", maintain_order="left")
        .with_columns(pl.coalesce(pl.col("_changed").cast(dtype), "sources").alias("sources"))
        .drop("_row", "_changed")
    )


# --- what a build encrypts -----------------------------------------------------------------


def plan(config: Config, cfg: BaseConfig, base_id: int) -> Sealing:
    """What a build of this base must store encrypted: copies of the member columns the lake
    encrypts (the members' grading decides, as it does in the lake)."""
    keyring = keyring_for(config.lake_dir)
    if keyring is None:
        raise no_keyring()
    sensitive: dict[int, set[str]] = {}

    def hidden(resource_id: int, column: str | None) -> bool:
        if not column:
            return False
        if resource_id not in sensitive:
            sensitive[resource_id] = keyring.sensitive_columns(resource_id)
        return column in sensitive[resource_id]

    columns: dict[str, tuple[str, ...]] = {}

    def add(table: str, *names: str) -> None:
        columns[table] = tuple(dict.fromkeys((*columns.get(table, ()), *names)))

    if any(hidden(m.resource_id, m.id_column) for m in cfg.members):
        add("records", "id")
        add("entities", "id")
        add("ids", "anchor")
        add("conflicts", "id")
    for role, derived in ROLE_COLUMNS.items():
        if any(hidden(m.resource_id, m.roles.get(role)) for m in cfg.members):
            add("records", *derived)
            if role in ("name", "legal"):
                add(f"tf_{role}", role)  # the name frequencies the model keeps
            if role == "name":
                add("entities", "name")
                add("conflicts", "name")
    attributes = tuple(
        a
        for a in cfg.attributes
        if any(hidden(m.resource_id, m.attributes.get(a)) for m in cfg.members)
    )
    if attributes:
        add("records", *(f"a:{a}" for a in attributes))
    if any(hidden(r.resource_id, r.person) for r in cfg.relations):
        columns["links"] = ("person_id",)
    if any(hidden(src.resource_id, src.holder) for src in cfg.licences):
        columns["licences"] = ("holder_id",)
    if not columns:
        return Sealing(keyring=keyring)
    return Sealing(keyring.key_for_base(base_id), columns, attributes, keyring)


_SPECS: dict[tuple[str, int], Sealing] = {}
_lock = threading.Lock()


def of(path: Path) -> Sealing:
    """What the build at ``path`` stored encrypted (nothing, for a build without
    ``sealed.json``); remembered per build folder."""
    spec_path = Path(path) / SPEC
    try:
        stamp = spec_path.stat().st_mtime_ns
    except FileNotFoundError:
        return Sealing()
    hit = _SPECS.get((str(path), stamp))
    if hit is not None:
        return hit
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    made = Sealing(
        str(spec["key"]),
        {t: tuple(c) for t, c in spec.get("columns", {}).items()},
        tuple(spec.get("attributes", ())),
        keyring_within(path),
    )
    with _lock:
        _SPECS[(str(path), stamp)] = made
    return made


def connect(*paths: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that can run ``Sealing.select_sql`` for the builds at
    ``paths``: each encrypted build's decrypting function is defined on it (the lake's own,
    ``cipher.define_opener``)."""
    con = duckdb.connect(":memory:")
    for path in paths:
        spec = of(path)
        if spec:
            if spec.keyring is None:
                con.close()
                raise no_keyring()
            define_opener(con, spec.keyring, spec.key)
    return con


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """A query's rows as dicts, on a connection from ``connect``: encrypted columns' stored
    bytes (``*__stored``) left out, and the platform's own error (tampering, no keyring) given
    back when a decrypting function raised it inside DuckDB."""
    try:
        table = con.sql(sql, params=params).to_arrow_table()
    except duckdb.Error as exc:
        found = recover(exc)
        if found is None:
            raise
        raise found from exc
    stored = [n for n in table.column_names if n.endswith("__stored")]
    return (table.drop_columns(stored) if stored else table).to_pylist()


__all__ = ["SPEC", "Sealing", "connect", "of", "plan", "rows"]
