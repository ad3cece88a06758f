"""Linkage quality against labelled records (匹配质量评估): pairwise precision, recall and F1.

Every pair of records in the same file is a predicted match; every pair with the same true label
is a true match. Counts come from group sizes (no pair is materialized), so millions of records
are scored in a second. Pairs are also split by whether both records carry a valid ID.
"""

from __future__ import annotations

import polars as pl


def _pairs(n: pl.Expr) -> pl.Expr:
    return (n.cast(pl.Float64) * (n.cast(pl.Float64) - 1) / 2).sum()


def pairwise(
    frame: pl.DataFrame, cluster: str, truth: str = "truth"
) -> dict[str, dict[str, float]]:
    """``frame`` has the predicted ``cluster`` column, the ``truth`` label and ``id_valid``."""

    def counts(group: list[str]) -> tuple[float, float]:
        g = frame.group_by(group).agg(pl.len().alias("n"), pl.col("id_valid").sum().alias("v"))
        return g.select(_pairs(pl.col("n"))).item(), g.select(_pairs(pl.col("v"))).item()

    pred_all, pred_v = counts([cluster])
    true_all, true_v = counts([truth])
    tp_all, tp_v = counts([cluster, truth])
    out = {}
    for label, tp, pred, true in (
        ("overall", tp_all, pred_all, true_all),
        ("valid_id", tp_v, pred_v, true_v),
        ("no_valid_id", tp_all - tp_v, pred_all - pred_v, true_all - true_v),
    ):
        p = tp / pred if pred else 1.0
        r = tp / true if true else 1.0
        out[label] = {
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "true_pairs": true,
            "predicted_pairs": pred,
        }
    return out


def pairwise_involving(
    frame: pl.DataFrame, cluster: str, persons: pl.Series, truth: str = "truth"
) -> dict[str, float]:
    """Pairwise precision, recall and F1 on the pairs that involve one of ``persons`` (a hard
    case's people): true pairs are those of the same person among them; predicted pairs are
    those of a cluster where at least one record is theirs — so a false merge with anybody
    else counts against the case."""
    marked = frame.with_columns(pl.col(truth).is_in(persons.implode()).alias("_in"))
    files = marked.group_by(cluster).agg(pl.len().alias("n"), pl.col("_in").sum().alias("k"))
    pred = files.select(_pairs(pl.col("n")) - _pairs(pl.col("n") - pl.col("k"))).item()
    inside = marked.filter(pl.col("_in"))
    true = inside.group_by(truth).len().select(_pairs(pl.col("len"))).item()
    tp = inside.group_by([cluster, truth]).len().select(_pairs(pl.col("len"))).item()
    p = tp / pred if pred else 1.0
    r = tp / true if true else 1.0
    return {
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "true_pairs": true,
        "predicted_pairs": pred,
        "records": inside.height,
    }


__all__ = ["pairwise", "pairwise_involving"]
