"""Encrypted columns in the lake (列级加密存储): 核心 / L4 text columns are stored SM4-encrypted.

The lake holds no keys and no grading. A keyring, registered for a lake folder when the home is
opened (``shuhai.platform.open_home`` registers the one of ``shuhai.access.keys``), says which
columns of a resource must be encrypted and gives the cipher for a data key. What is encrypted is
written in the table itself: an encrypted column is ``binary`` in the Delta schema and its field
metadata names the scheme and the data key (``shuhai.cipher``, ``shuhai.key``), so any reader —
ours at any version, or Spark — can tell, and a version's schema says how to read that version.
The scheme is ``sm4-siv``; the data key's record says whether short numeric codes are enciphered
as one block (``shuhai.access.columns``: ``COMPACT`` keys), which the key's cipher handles.

Reads inside the platform are transparent: ``open_table`` decrypts Arrow data and
``register`` gives DuckDB a view whose encrypted columns are decrypted by a vectorized function
(one call per vector of rows). The lake is the system of record; the access decision and masking
for whoever asked still happen at the edge (``shuhai.access.policy``).
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from shuhai.errors import ShuhaiError
from shuhai.lake.schema import quote_identifier

CIPHER_META = b"shuhai.cipher"
KEY_META = b"shuhai.key"
SCHEME = b"sm4-siv"


class Cipher(Protocol):
    """Deterministic authenticated encryption of a text column under one data key."""

    def seal(self, values: pa.Array | pa.ChunkedArray) -> pa.Array: ...

    def open(self, values: pa.Array | pa.ChunkedArray) -> pa.Array: ...

    def seal_value(self, value: str) -> bytes: ...

    def open_values(self, values: list[bytes | None]) -> list[str | None]: ...


class Keyring(Protocol):
    """Keys and grading for one home's lake (implemented in ``shuhai.access.keys``)."""

    def sensitive_columns(self, resource_id: int) -> set[str]:
        """The columns that must be stored encrypted (核心 class or level L4)."""
        ...

    def key_for(self, resource_id: int) -> str:
        """The id of the resource's data key, created on first use."""
        ...

    def key_for_base(self, base_id: int) -> str:
        """The id of a base database's data key (for its builds' encrypted columns)."""
        ...

    def cipher(self, key_id: str) -> Cipher: ...


_KEYRINGS: dict[str, Keyring] = {}
_lock = threading.Lock()


def register_keyring(lake_dir: Path, keyring: Keyring) -> None:
    with _lock:
        _KEYRINGS[str(Path(lake_dir).resolve())] = keyring
        _KEYRINGS[str(lake_dir)] = keyring


def keyring_for(lake_dir: Path | str) -> Keyring | None:
    hit = _KEYRINGS.get(str(lake_dir))  # the usual case, without touching the file system
    return hit if hit is not None else _KEYRINGS.get(str(Path(lake_dir).resolve()))


def keyring_within(path: Path | str) -> Keyring | None:
    """The keyring registered for ``path`` or the nearest folder above it (a base build's
    folder lies under the home, which ``open_home`` registers)."""
    here = Path(path)
    for start in (here, here.resolve()):  # as given first, without touching the file system
        for folder in (start, *start.parents):
            hit = _KEYRINGS.get(str(folder))
            if hit is not None:
                return hit
    return None


class KeyringMissing(ShuhaiError):
    """An encrypted column was read or written in a process that has no keyring for the lake."""

    status = 500


def no_keyring() -> KeyringMissing:
    return KeyringMissing(
        "lake.no_keyring",
        "本进程没有打开数海实例，无法取得主密钥与分级，不能读写加密列",
        "This process has not opened the Shuhai home: without the master key and the grading "
        "it can neither read nor write encrypted columns",
    )


def encrypted_fields(schema: pa.Schema) -> dict[str, str]:
    """Encrypted column → data key id, from a table's schema."""
    out = {}
    for field in schema:
        meta = field.metadata or {}
        if meta.get(CIPHER_META) == SCHEME:
            out[field.name] = meta[KEY_META].decode()
    return out


def sealed_field(field: pa.Field, key_id: str) -> pa.Field:
    """The stored form of a text column encrypted under ``key_id``."""
    return pa.field(
        field.name,
        pa.binary(),
        nullable=True,
        metadata={CIPHER_META: SCHEME, KEY_META: key_id.encode()},
    )


def seal_table(
    data: pa.Table | pa.RecordBatch,
    target: pa.Schema,
    keyring: Keyring | None,
    only: set[str] | None = None,
) -> pa.Table | pa.RecordBatch:
    """Encrypt the columns ``target`` stores encrypted (the rest untouched); ``only``: just
    these (the others are already ciphertext)."""
    sealed = {
        k: v
        for k, v in encrypted_fields(target).items()
        if k in data.schema.names and (only is None or k in only)
    }
    if not sealed:
        return data
    if keyring is None:
        raise no_keyring()
    return _replaced(
        data,
        {
            name: (
                keyring.cipher(key_id).seal(data.column(name)).cast(pa.binary()),
                target.field(name),
            )
            for name, key_id in sealed.items()
        },
    )


def open_table(
    data: pa.Table | pa.RecordBatch, keyring: Keyring | None, stored: pa.Schema | None = None
) -> pa.Table | pa.RecordBatch:
    """Decrypt the encrypted columns of data read from the lake (``stored``: the table's schema,
    when the data lost its field metadata on the way)."""
    sealed = encrypted_fields(stored if stored is not None else data.schema)
    sealed = {k: v for k, v in sealed.items() if k in data.schema.names}
    if not sealed:
        return data
    if keyring is None:
        raise no_keyring()
    return _replaced(
        data,
        {
            name: (_opened(keyring.cipher(key_id), data.column(name)), pa.field(name, pa.string()))
            for name, key_id in sealed.items()
        },
    )


def _opened(cipher: Cipher, column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if isinstance(column, pa.ChunkedArray):
        chunks = [cipher.open(c).cast(pa.string()) for c in column.chunks]
        return pa.chunked_array(chunks, type=pa.string())
    return cipher.open(column).cast(pa.string())


def _replaced(
    data: pa.Table | pa.RecordBatch,
    columns: dict[str, tuple[pa.Array | pa.ChunkedArray, pa.Field]],
) -> pa.Table | pa.RecordBatch:
    """``data`` with some columns (and their fields) replaced, in place."""
    arrays, fields = [], []
    for field, column in zip(data.schema, data.columns, strict=True):
        column, field = columns.get(field.name, (column, field))
        arrays.append(column)
        fields.append(field)
    schema = pa.schema(fields)
    if isinstance(data, pa.RecordBatch):
        return pa.RecordBatch.from_arrays(arrays, schema=schema)
    return pa.Table.from_arrays(arrays, schema=schema)


def seal_text(keyring: Keyring | None, key_id: str, value: str) -> str:
    """One value sealed under ``key_id``, as hex: for a metadata record (a quality sample, an
    objection) that keeps a value whose column the lake encrypts."""
    if keyring is None:
        raise no_keyring()
    return keyring.cipher(key_id).seal_value(value).hex()


def open_text(keyring: Keyring | None, key_id: str, sealed: str) -> str | None:
    """``seal_text`` reversed (and checked)."""
    if keyring is None:
        raise no_keyring()
    return keyring.cipher(key_id).open_values([bytes.fromhex(sealed)])[0]


def register(
    con: duckdb.DuckDBPyConnection,
    name: str,
    data: object,
    stored: pa.Schema,
    keyring: Keyring | None,
) -> dict[str, str]:
    """Make ``data`` (a dataset or table read from the lake) queryable as ``name`` in DuckDB,
    with its encrypted columns decrypted on the fly; filters on other columns are still pushed
    down into the scan. The data as stored stays queryable as ``name__stored``; the answer maps
    each encrypted column to the SQL expression that decrypts it there (for a query that
    filters on the stored ciphertext and decrypts only the rows it returns)."""
    sealed = encrypted_fields(stored)
    if not sealed:
        con.register(name, data)
        return {}
    import pyarrow.dataset as pds  # (it imports pandas: only where a dataset is opened)

    if isinstance(data, pds.FileSystemDataset):
        # Parts written by Polars store binary columns as views, those written by delta-rs as
        # plain binary; a filter DuckDB pushes into the scan (``col = <sealed value>``) has a
        # kernel for every file only when the dataset reads such columns as views.
        viewed = pa.schema(
            [
                pa.field(f.name, pa.binary_view(), metadata=f.metadata) if f.name in sealed else f
                for f in data.schema
            ]
        )
        data = pds.dataset(data.files, schema=viewed, format="parquet")
    raw = f"{name}__stored"
    con.register(raw, data)
    return create_view(con, name, f'"{raw}"', stored, keyring)


def create_view(
    con: duckdb.DuckDBPyConnection,
    name: str,
    source_sql: str,
    stored: pa.Schema,
    keyring: Keyring | None,
    *,
    beside: bool = False,
) -> dict[str, str]:
    """``CREATE VIEW name`` over ``source_sql`` (a registered name or a ``read_parquet(...)``
    scan) with the encrypted columns of ``stored`` decrypted; returns column → decrypting SQL.
    With ``beside``, encrypted columns keep their stored (ciphertext) values and the plain text
    comes as an extra column ``plain_alias(column)``: a query that only counts, compares or
    copies the column never decrypts it (DuckDB drops unused projections), one that inspects
    the value asks for the alias."""
    sealed = encrypted_fields(stored)
    if not sealed:
        con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * FROM {source_sql}')
        return {}
    if keyring is None:
        raise no_keyring()
    replaced, expressions = [], {}
    for column, key_id in sealed.items():
        function = define_opener(con, keyring, key_id)
        quoted = quote_identifier(column)
        expressions[column] = f"{function}({quoted})"
        replaced.append(f"{function}({quoted}) AS {quoted}")
    if beside:
        extra = ", ".join(
            f"{e} AS {quote_identifier(plain_alias(c))}" for c, e in expressions.items()
        )
        con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT *, {extra} FROM {source_sql}')
        return expressions
    con.execute(
        f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * REPLACE ({", ".join(replaced)}) '
        f"FROM {source_sql}"
    )
    return expressions


def plain_alias(column: str) -> str:
    """The name of an encrypted column's plain text in a ``beside`` view."""
    return f"{column}#明文"


def opener_name(key_id: str) -> str:
    """The name of the DuckDB function that decrypts values sealed under ``key_id``."""
    return f"shuhai_open_{_checked(key_id)}"


def define_opener(con: duckdb.DuckDBPyConnection, keyring: Keyring, key_id: str) -> str:
    """Define on ``con`` (once) the vectorized (Arrow) function that decrypts a column sealed
    under ``key_id``, ``BLOB → VARCHAR``; returns its name."""
    from duckdb import sqltypes

    name = opener_name(key_id)
    # already defined on this connection: by another view, or another build, of the same key
    with contextlib.suppress(duckdb.NotImplementedException):
        con.create_function(
            name,
            _opener(keyring.cipher(key_id)),  # type: ignore[arg-type]
            [sqltypes.BLOB],
            sqltypes.VARCHAR,
            type="arrow",
            null_handling="special",
        )
    return name


def _checked(key_id: str) -> str:
    """Key ids become part of SQL function names: digits only."""
    if not (key_id.isascii() and key_id.isdigit()):
        raise ShuhaiError(
            "lake.bad_key_id",
            f"数据密钥编号无效：{key_id!r}",
            f"Invalid data key id: {key_id!r}",
            status=500,
        )
    return key_id


def _opener(cipher: Cipher):  # noqa: ANN202 - a DuckDB Arrow function
    def open_column(values: pa.Array | pa.ChunkedArray) -> pa.Array:
        return cipher.open(values)

    return open_column


__all__ = [
    "CIPHER_META",
    "KEY_META",
    "Cipher",
    "Keyring",
    "KeyringMissing",
    "create_view",
    "define_opener",
    "encrypted_fields",
    "keyring_for",
    "keyring_within",
    "no_keyring",
    "open_table",
    "open_text",
    "opener_name",
    "plain_alias",
    "register",
    "register_keyring",
    "seal_table",
    "seal_text",
    "sealed_field",
]
