"""Row rules checked during the load (入湖即检): one pass over the plain text the load already holds.

A rule that one row answers alone (a validator, not-null, range, length, code table, regex, a
cross-field check) is evaluated on each typed batch while the load has it in memory, before its
L4 columns are encrypted. The keys of the rows that fail (``run * 2**32 + line``) are written per
run to ``SHUHAI_HOME/quality/r<resource>/rows/run<run>.parquet``, with the fingerprints of every
rule checked (a rule no row failed has no rows but is listed). The quality check of a version then
looks these keys up instead of decrypting and re-reading the values; only the rules over the set
of rows (unique, reference) scan the version, and those on the stored (ciphertext) values.

A rule is found checked for a version only when every run with rows in that version checked that
exact rule (item, kind, parameters and ``VERSION`` of this module); otherwise the check falls
back to reading the version for that rule. Verdicts are as of the load: a rule about "today" is
answered on the day the rows arrived.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shuhai.config import Config
from shuhai.lake import LINE_COLUMN, RUN_COLUMN
from shuhai.lake.schema import quote_identifier as _q
from shuhai.quality.rules import RuleSpec

log = logging.getLogger(__name__)

VERSION = 1  # bump when a validator's meaning changes: stored verdicts of older loads are redone
SET_KINDS = ("unique", "reference")  # 集合规则: answered only by the whole version
NUMPY_KINDS = (  # checked with NumPy or Arrow compute over whole columns, not through DuckDB
    "ric",
    "uscc",
    "ric_birth_date",
    "ric_sex",
    "mobile",
    "landline",
    "phone",
    "email",
    "postal_code",
    "sex_code",
)
STORED_KINDS = ("not_null",)  # as cheap on the stored form as a lookup: never pre-checked
ROW_KEY_FACTOR = 4294967296
RULES_META = b"shuhai.rules"


def row_level(rule: dict[str, Any]) -> bool:
    """Whether one row alone answers ``rule`` (so the load can check it)."""
    return rule["kind"] not in SET_KINDS and rule["kind"] not in STORED_KINDS


def fingerprint(rule: dict[str, Any]) -> str:
    """What a stored verdict is valid for: the rule's meaning, not its database id."""
    text = json.dumps(
        [VERSION, rule["item"], rule["kind"], rule.get("params") or {}],
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def rows_path(config: Config, resource_id: int, run_id: int) -> Path:
    return config.home / "quality" / f"r{resource_id}" / "rows" / f"run{run_id}.parquet"


def failing_keys(
    table: pa.Table, rules: list[tuple[int, dict[str, Any]]], keys: np.ndarray
) -> dict[int, np.ndarray]:
    """For each ID and credit-code rule (``NUMPY_KINDS``), the row keys of ``table`` that
    fail it, checked with NumPy over whole columns (plain text in ``table``)."""
    from shuhai.quality import vectorized

    names = set(table.column_names)
    out: dict[int, np.ndarray] = {}
    scans: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # ID column -> (valid, birth days)

    def scan(col: str) -> tuple[np.ndarray, np.ndarray]:
        if col not in scans:
            scans[col] = vectorized.ric_scan_slices(table[col])
        return scans[col]

    for i, r in rules:
        col = r["item"]
        if col not in names:
            continue
        values = table[col]
        present = pc.is_valid(values).to_numpy(zero_copy_only=False)
        if r["kind"] == "ric":
            bad = present & ~scan(col)[0]
        elif r["kind"] == "uscc":
            bad = present & ~vectorized.in_slices(vectorized.uscc_valid, values)
        elif r["kind"] in vectorized.TEXT_KINDS:
            bad = present & ~vectorized.text_ok(r["kind"], values)
        elif r["kind"] == "ric_sex":
            ric = r["params"]["ric"]
            if ric not in names:
                continue
            bad = ~vectorized.ric_sex_agrees(table[ric], values)
        else:  # ric_birth_date: the stored date must be the one in the ID, when the ID has one
            ric = r["params"]["ric"]
            if ric not in names:
                continue
            born = scan(ric)[1]
            stored = (
                pc.fill_null(values.cast(pa.int32()), 0)
                .to_numpy(zero_copy_only=False)
                .astype(np.int64)
            )
            bad = present & (born != vectorized.NO_DATE) & (born != stored)
        out[i] = keys[bad]
    return out


def row_keys(table: pa.Table) -> np.ndarray:
    line = pc.fill_null(table[LINE_COLUMN], 0).to_numpy(zero_copy_only=False).astype(np.int64)
    return table[RUN_COLUMN].to_numpy(zero_copy_only=False).astype(np.int64) * ROW_KEY_FACTOR + line


class LoadCheck:
    """The row rules of one resource, applied to each typed batch of one run (one thread).

    ``check(frame)`` per batch, then ``commit()`` once the lake version is made, or ``discard()``."""

    def __init__(
        self,
        config: Config,
        resource_id: int,
        run_id: int,
        rules: list[dict[str, Any]],
        types: dict[str, str],
    ) -> None:
        self.path = rows_path(config, resource_id, run_id)
        self.rules = [r for r in rules if r["enabled"] and row_level(r)]
        self.prints = [fingerprint(r) for r in self.rules]
        self.types = types  # info item -> data type (C, N, D, ...), for typed range literals
        self.writer: pq.ParquetWriter | None = None
        self.con: Any = None
        self.checked: list[str] | None = None  # fingerprints, fixed by the first batch
        self.schema = pa.schema([("rule", pa.string()), ("k", pa.int64())])

    def check(self, frame: pl.DataFrame) -> None:
        from shuhai.quality import validators as V
        from shuhai.quality.engine import rule_sql

        names = set(frame.columns)
        usable = [
            (i, r)
            for i, r in enumerate(self.rules)
            if r["item"] in names and r["params"].get("ric", r["item"]) in names
        ]
        if self.checked is None:
            self.checked = [self.prints[i] for i, _ in usable]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            meta = {RULES_META: json.dumps(self.checked).encode()}
            self.writer = pq.ParquetWriter(
                self._part, self.schema.with_metadata(meta), compression="zstd"
            )
        if not usable:
            return
        need = sorted(
            {r["item"] for _, r in usable}
            | {r["params"]["ric"] for _, r in usable if "ric" in r["params"]}
        )
        table = frame.select(*need, RUN_COLUMN, LINE_COLUMN).to_arrow(
            compat_level=pl.CompatLevel.oldest()
        )
        keys = row_keys(table)
        numpy_rules = [(i, r) for i, r in usable if r["kind"] in NUMPY_KINDS]
        failed = failing_keys(table, numpy_rules, keys) if numpy_rules else {}
        sql_rules = [(i, r) for i, r in usable if r["kind"] not in NUMPY_KINDS]
        if sql_rules:
            if self.con is None:
                import duckdb

                self.con = duckdb.connect(":memory:")
                self.con.execute("SET enable_progress_bar = false")
                V.prepare(self.con)
            self.con.register("t", table)
            flags = [
                f"NOT coalesce({rule_sql(RuleSpec(r['item'], r['kind'], r['params']), self.types)}, false) AS f_{i}"
                for i, r in sql_rules
            ]
            where = " OR ".join(f"f_{i}" for i, _ in sql_rules)
            key = f"({_q(RUN_COLUMN)} * {ROW_KEY_FACTOR} + coalesce({_q(LINE_COLUMN)}, 0))"
            hits = self.con.sql(
                f"SELECT * FROM (SELECT {key} AS k, {', '.join(flags)} FROM t) WHERE {where}"
            ).to_arrow_table()
            self.con.unregister("t")
            k = hits["k"].to_numpy(zero_copy_only=False)
            for i, _ in sql_rules:
                failed[i] = k[hits[f"f_{i}"].to_numpy(zero_copy_only=False)]
        parts = [
            pa.table(
                {
                    "rule": pa.repeat(pa.scalar(self.prints[i], pa.string()), len(k)),
                    "k": pa.array(k, pa.int64()),
                }
            )
            for i, k in failed.items()
            if len(k)
        ]
        if parts and self.writer is not None:
            self.writer.write_table(pa.concat_tables(parts))

    @property
    def _part(self) -> Path:
        return self.path.with_suffix(".part")

    def commit(self) -> None:
        """Keep the verdicts: the lake version holding these rows exists now."""
        self._close()
        if self.checked is not None:
            self._part.replace(self.path)

    def discard(self) -> None:
        try:
            self._close()
        except (OSError, pa.ArrowException):  # a full disk fails the close as well
            log.warning("row verdicts of a failed load could not be closed", exc_info=True)
        self._part.unlink(missing_ok=True)

    def _close(self) -> None:
        con, self.con = self.con, None
        writer, self.writer = self.writer, None
        if con is not None:
            con.close()
        if writer is not None:
            writer.close()


def stored_failures(
    config: Config, resource_id: int, runs: list[int], rules: list[dict[str, Any]]
) -> dict[int, pa.Table]:
    """For each rule (by index) that every run of ``runs`` checked at its load, the keys of the
    rows that failed it (one column ``k``). Rules some run did not check are left out."""
    wanted = {i: fingerprint(r) for i, r in enumerate(rules) if row_level(r)}
    if not wanted or not runs:
        return {}
    covered = set(wanted.values())
    files = []
    for run in runs:
        path = rows_path(config, resource_id, run)
        try:
            meta = pq.read_schema(path).metadata or {}
            checked = set(json.loads(meta.get(RULES_META, b"[]")))
        except (OSError, ValueError, pa.ArrowInvalid):
            return {}
        covered &= checked
        if not covered:
            return {}
        files.append(path)
    rows = pa.concat_tables(pq.read_table(f, columns=["rule", "k"]) for f in files)
    out = {}
    for i, fp in wanted.items():
        if fp in covered:
            out[i] = pa.table({"k": rows.filter(pc.equal(rows["rule"], fp))["k"]})
    return out


__all__ = [
    "LoadCheck",
    "SET_KINDS",
    "failing_keys",
    "fingerprint",
    "row_level",
    "rows_path",
    "stored_failures",
]
