"""The demo city's ground truth for linkage (演示真值): which person each base-database record is
about, read from ``truth_records.parquet`` and ``manifest.json`` next to the demo sources."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl


def record_truth(records: pl.DataFrame, out: Path, kind: str = "person") -> pl.DataFrame:
    """Attach the true person (``truth`` = pidx) to base-database records: lake line → source row.

    Only rows of each resource's first load are labelled (later updates are not in the truth).
    """
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    codes = {t["resource_id"]: (t["resource"], t["format"]) for t in manifest["tables"]}
    truth = pl.read_parquet(out / "truth_records.parquet")
    r = records.with_columns(
        pl.col("resource_id")
        .replace_strict({k: v[0] for k, v in codes.items()}, return_dtype=pl.String)
        .alias("resource"),
        (
            pl.col("line")
            - pl.col("resource_id").replace_strict(
                {k: 0 if v[1] == "sql" else 1 for k, v in codes.items()}, return_dtype=pl.Int64
            )
        ).alias("row"),
        pl.col("member").str.contains("女方").alias("second"),
    )
    if kind == "person":
        r = r.join(
            truth.select("resource", "row", "pidx", "pidx2"), on=["resource", "row"], how="left"
        )
        label = pl.when(pl.col("second")).then(pl.col("pidx2")).otherwise(pl.col("pidx"))
    else:
        r = r.join(truth.select("resource", "row", "eidx"), on=["resource", "row"], how="left")
        label = pl.col("eidx")
    r = r.with_columns(label.alias("truth"))
    first_load = pl.col("run") == pl.col("run").min().over("resource_id")  # not later updates
    return r.filter(pl.col("truth").is_not_null() & first_load)


__all__ = ["record_truth"]
