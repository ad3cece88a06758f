"""Corrections in force over later loads (修正持续生效): a department that re-sends its full
snapshot does not undo what an objection corrected.

A correction (an objection 修正 or 办结, not 撤回修正) is in force until its source sends the
corrected value itself. Each load of the resource compares the rows it brings for the record with
the correction, on the plain text, before the row rules and the encryption see them:

- the source still sends the value that was corrected (``still_old``): the corrected value is
  put on top, and the objection says so (源头仍报送旧值) with the run, for the source department;
- the source sends the corrected value (``adopted``, 源头已更正): the correction is settled;
- the source sends yet another value (``changed``): the source's value stands — it changed its
  record since — and the objection says so; the correction is settled.

A record corrected twice follows its latest correction; the values any correction of the chain
replaced all count as old ones. Outcomes are written only when the load's version is committed; the run keeps its own account
(``options["corrections"]``) as a step of its own. Records absent from a load leave the
correction as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import polars as pl
import pyarrow as pa
from sqlalchemy import select

from shuhai.config import Config
from shuhai.db import Objection, ObjectionEvent, session_scope
from shuhai.lake.cipher import keyring_for
from shuhai.lake.schema import table_schema
from shuhai.quality.corrections import (
    ADOPTED,
    CHANGED,
    CORRECTED_STATES,
    SETTLED,
    SOURCE_LABELS,
    STILL_OLD,
    _opened,
    _opened_value,
)

RANK = {STILL_OLD: 0, ADOPTED: 1, CHANGED: 2}  # several rows of one record: the old value wins


def in_force(config: Config, resource_id: int) -> list[dict[str, Any]]:
    """The corrections of a resource still to be put back on its loads, in plain text: for each
    record and item the latest correction (a later objection may correct it again), unless the
    source has settled it, with every value the chain corrected away (``olds``)."""
    keyring = keyring_for(config.lake_dir)
    with session_scope(config.database_url) as s:
        rows = s.scalars(
            select(Objection)
            .where(Objection.resource_id == resource_id, Objection.status.in_(CORRECTED_STATES))
            .order_by(Objection.id)
        ).all()
        chains: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for o in rows:
            key, current, proposed = _opened(o, keyring)
            written = _opened_value(o, o.corrected_value, keyring)
            chains.setdefault((o.item, json.dumps(key, sort_keys=True, default=str)), []).append(
                {
                    "id": o.id,
                    "key": key,
                    "item": o.item,
                    "old": current,
                    "new": proposed if o.corrected_value is None else written,
                    "settled": o.source_status in SETTLED,
                }
            )
    out = []
    for chain in chains.values():
        last = chain[-1]
        if last["settled"]:
            continue
        olds = {c["old"] for c in chain} | {c["new"] for c in chain[:-1]}
        olds.discard(last["new"])
        out.append({**last, "olds": sorted(olds, key=lambda v: (v is None, str(v)))})
    return out


def _fits(value: str | None, kind: pa.DataType) -> bool:
    try:
        pa.array([value], pa.string()).cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


class LoadCorrections:
    """Puts the corrections in force back on each typed batch of one load (one thread)."""

    def __init__(
        self,
        config: Config,
        resource: dict[str, Any],
        run_id: int,
        corrections: list[dict[str, Any]],
    ) -> None:
        self.config, self.run_id = config, run_id
        self.keys = list(resource["key_columns"])
        schema = table_schema(resource["items"])
        names = [f"__k{i}" for i in range(len(self.keys))]
        self.latest: dict[str, pl.DataFrame] = {}  # item -> one row per record: new value, id
        self.olds: dict[str, pl.DataFrame] = {}  # item -> one row per record and value it replaced
        for item in sorted({c["item"] for c in corrections if c["item"] in schema.names}):
            field = schema.field(item)
            # a value that no longer fits its item (the item's type changed since) is not put
            # back: the load must not fail on it
            mine = [c for c in corrections if c["item"] == item and _fits(c["new"], field.type)]
            if not mine:
                continue
            keys = {
                n: [str(c["key"].get(k)) for c in mine]
                for n, k in zip(names, self.keys, strict=True)
            }
            new = pa.array([c["new"] for c in mine], pa.string())
            self.latest[item] = pl.DataFrame(
                {**keys, "__new": [c["new"] for c in mine], "__oid": [c["id"] for c in mine]},
                schema_overrides={"__new": pl.String, "__oid": pl.Int64},
            ).with_columns(pl.Series("__typed", pl.from_arrow(new.cast(field.type))))
            self.olds[item] = pl.DataFrame(
                [
                    {**{n: keys[n][j] for n in names}, "__old": old, "__isold": True}
                    for j, c in enumerate(mine)
                    for old in c["olds"]
                ],
                schema={**{n: pl.String for n in names}, "__old": pl.String, "__isold": pl.Boolean},
                orient="row",
            )
        self.outcomes: dict[int, str] = {}
        self.rows = 0

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        if not self.latest or any(k not in frame.columns for k in self.keys):
            return frame
        names = [f"__k{i}" for i in range(len(self.keys))]
        keyed = frame.with_columns(
            pl.col(k).cast(pl.String).alias(n) for n, k in zip(names, self.keys, strict=True)
        )
        for item, latest in self.latest.items():
            if item not in frame.columns:
                continue
            # one match per row at most: ``latest`` is unique per record, ``olds`` per record
            # and value (a missing value matches a correction of a missing value)
            joined = (
                keyed.join(latest, on=names, how="left", maintain_order="left")
                .with_columns(pl.col(item).cast(pl.String).alias("__sent"))
                .join(
                    self.olds[item],
                    left_on=[*names, "__sent"],
                    right_on=[*names, "__old"],
                    how="left",
                    nulls_equal=True,
                    maintain_order="left",
                )
            )
            matched = pl.col("__oid").is_not_null()
            old = matched & pl.col("__isold").fill_null(False)
            agreed = matched & pl.col("__sent").eq_missing(pl.col("__new"))
            seen = joined.filter(matched).select(
                "__oid",
                pl.when(old)
                .then(pl.lit(STILL_OLD))
                .when(agreed)
                .then(pl.lit(ADOPTED))
                .otherwise(pl.lit(CHANGED))
                .alias("__what"),
            )
            for oid, what in seen.iter_rows():
                if oid not in self.outcomes or RANK[what] < RANK[self.outcomes[oid]]:
                    self.outcomes[oid] = what
            self.rows += int(joined.select(old).to_series().sum())
            keyed = joined.with_columns(
                pl.when(old)
                .then(pl.col("__typed").cast(frame.schema[item]))
                .otherwise(pl.col(item))
                .alias(item)
            ).drop("__new", "__oid", "__typed", "__sent", "__isold")
        return keyed.drop(names)

    def summary(self) -> dict[str, Any]:
        """The run's own account of this step: rows put back and each objection's outcome."""
        per: dict[str, list[int]] = {STILL_OLD: [], ADOPTED: [], CHANGED: []}
        for oid, what in sorted(self.outcomes.items()):
            per[what].append(oid)
        return {"rows_corrected": self.rows, **per}

    def commit(self) -> dict[str, Any]:
        """Record the outcomes on the objections (the version holding the rows exists now)."""
        record_outcomes(self.config, self.run_id, self.outcomes.items())
        return self.summary()

    def discard(self) -> None:
        self.outcomes.clear()


def record_outcomes(config: Config, run_id: int, outcomes: Iterable[tuple[int, str]]) -> None:
    now = dt.datetime.now(dt.UTC)
    with session_scope(config.database_url) as s:
        for oid, what in outcomes:
            o = s.get(Objection, oid)
            if o is None:
                continue
            if o.source_status != what:
                note = f"导入 #{run_id}：{SOURCE_LABELS[what]}"
                o.events.append(
                    ObjectionEvent(
                        from_status=o.status, to_status=o.status, actor="数海导入", note=note
                    )
                )
            o.source_status, o.source_run_id, o.source_seen_at = what, run_id, now


__all__ = ["LoadCorrections", "in_force", "record_outcomes"]
