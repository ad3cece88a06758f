"""Probabilistic record linkage (概率匹配) with Splink on DuckDB.

Records whose ID number is valid are linked exactly (same number, same person). The others —
ID missing, one digit wrong, check character wrong — are scored by a Fellegi–Sunter model
against every record already placed in a file:

- ``id``: same first 17 characters / one character different / two adjacent swapped. Their
  m-probabilities are fixed priors (a valid pair never disagrees on a valid ID, so the labelled
  pairs cannot teach them); u-probabilities are measured on the data.
- ``name``: exact with term-frequency adjustment (王伟 is many people, 欧阳娜娜 is few), same
  pinyin (张/章, 林/琳 homophones), one character different, similar pinyin.
- ``birth``, ``sex``, ``phone``, ``address`` (full / street / district); for enterprises the
  legal representative in place of birth and sex.

m-probabilities are learned from pairs of records that share a valid ID (ground truth the data
gives for free: how often does 人社 spell a name differently from 公安?); u-probabilities from
random pairs. The prior is one match among the files a record could belong to.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

import duckdb
import polars as pl

logging.getLogger("splink").setLevel(logging.WARNING)

COMPARE = {
    "person": ["id", "name", "name_py", "birth", "sex", "phone", "district", "street", "address"],
    "enterprise": ["id", "name", "legal", "legal_py", "phone", "district", "street", "address"],
}
ID_M = {"exact": 0.9, "body": 0.04, "one": 0.04, "swap": 0.01, "else": 0.01}


def _id_comparison():  # type: ignore[no-untyped-def]
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def fixed(level: Any, m: float) -> Any:
        # A random pair of different people agrees this closely on an ID about once per file.
        u = 1e-5
        return level.configure(
            m_probability=m, fix_m_probability=True, u_probability=u, fix_u_probability=True
        )

    return cl.CustomComparison(
        output_column_name="id",
        comparison_levels=[
            cll.NullLevel("id"),
            fixed(cll.ExactMatchLevel("id"), ID_M["exact"]),
            fixed(
                cll.CustomLevel(
                    "substr(id_l, 1, 17) = substr(id_r, 1, 17)", label_for_charts="前17位相同"
                ),
                ID_M["body"],
            ),
            fixed(
                cll.CustomLevel(
                    "length(id_l) = length(id_r) AND levenshtein(id_l, id_r) = 1",
                    label_for_charts="一位不同",
                ),
                ID_M["one"],
            ),
            fixed(
                cll.CustomLevel(
                    "length(id_l) = length(id_r) AND damerau_levenshtein(id_l, id_r) = 1",
                    label_for_charts="相邻两位颠倒",
                ),
                ID_M["swap"],
            ),
            cll.ElseLevel().configure(m_probability=ID_M["else"], fix_m_probability=True),
        ],
    )


def _name_comparison(col: str, py: str | None):  # type: ignore[no-untyped-def]
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels = [cll.NullLevel(col), cll.ExactMatchLevel(col, term_frequency_adjustments=True)]
    if py:
        levels.append(
            cll.CustomLevel(f"{py}_l = {py}_r", label_for_charts="拼音相同（同音字）"),
        )
    levels.append(
        cll.CustomLevel(
            f"length({col}_l) = length({col}_r) AND levenshtein({col}_l, {col}_r) = 1",
            label_for_charts="一字不同",
        )
    )
    if py:
        levels.append(
            cll.CustomLevel(
                f"jaro_winkler_similarity({py}_l, {py}_r) >= 0.9", label_for_charts="拼音相近"
            )
        )
    else:
        levels.append(
            cll.CustomLevel(
                f"jaro_winkler_similarity({col}_l, {col}_r) >= 0.9", label_for_charts="相近"
            )
        )
    levels.append(cll.ElseLevel())
    return cl.CustomComparison(output_column_name=col, comparison_levels=levels)


def comparisons(kind: str) -> list[Any]:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    address = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("address"),
            cll.ExactMatchLevel("address"),
            cll.CustomLevel(
                "district_l = district_r AND street_l = street_r", label_for_charts="同街道"
            ),
            cll.CustomLevel("district_l = district_r", label_for_charts="同区县"),
            cll.ElseLevel(),
        ],
    )
    phone = cl.ExactMatch("phone")
    if kind == "person":
        birth = cl.CustomComparison(
            output_column_name="birth",
            comparison_levels=[
                cll.NullLevel("birth"),
                cll.ExactMatchLevel("birth"),
                cll.CustomLevel("levenshtein(birth_l, birth_r) = 1", label_for_charts="一位不同"),
                cll.ElseLevel(),
            ],
        )
        return [
            _id_comparison(),
            _name_comparison("name", "name_py"),
            birth,
            cl.ExactMatch("sex"),
            phone,
            address,
        ]
    return [
        _id_comparison(),
        _name_comparison("name", None),
        _name_comparison("legal", "legal_py"),
        phone,
        address,
    ]


# Four ID blocks: whichever single character of an ID is wrong, one of them is intact, and each
# is nearly unique (region + birth date, birth date + sequence, …).
ID_BLOCKS = {
    "_k1": [(0, 14)],  # region + birth date: a wrong sequence or check character
    "_k2": [(6, 11)],  # birth date + sequence: a wrong region digit
    "_k3": [(0, 6), (12, 5)],  # region + day + sequence: a wrong year or month digit
    "_k4": [(0, 12), (14, 3)],  # region + year-month + sequence: a wrong day digit
}


def _id_block_sql(side: str, parts: list[tuple[int, int]]) -> str:
    return " || ".join(f"substr({side}.id, {a + 1}, {n})" for a, n in parts)


def blocking_rules(kind: str) -> list[Any]:
    """Candidate pairs: the same name in the same district, any ID block, the same phone, and
    (persons) the same birth date and sex or the same pinyin and birth date."""
    from splink import block_on

    rules: list[Any] = [block_on("name", "district"), block_on("phone")]
    rules += [f"{_id_block_sql('l', p)} = {_id_block_sql('r', p)}" for p in ID_BLOCKS.values()]
    if kind == "person":
        rules += [block_on("birth", "sex"), block_on("name_py", "birth")]
    else:
        rules += [block_on("name"), block_on("legal", "district")]
    return rules


def _settings(kind: str, prior: float, link_type: str = "dedupe_only") -> Any:
    from splink import SettingsCreator

    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="uid",
        comparisons=comparisons(kind),
        blocking_rules_to_generate_predictions=blocking_rules(kind),
        probability_two_random_records_match=prior,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def _frame(records: pl.DataFrame, kind: str) -> pl.DataFrame:
    cols = [c for c in ["uid", *COMPARE[kind]] if c in records.columns]
    out = records.select(cols)
    for c in COMPARE[kind]:
        if c not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    return out


def train(
    resolved: pl.DataFrame, kind: str, *, files: int, sample: int = 200_000
) -> dict[str, Any]:
    """Learn the model from records with a valid ID: u from random pairs, m from same-ID pairs.

    ``resolved`` holds ``id`` (valid) and the comparison columns; ``files`` is how many files a
    record could belong to (the prior). Returns the Splink model as a dict (kept per build).
    """
    from splink import DuckDBAPI, Linker

    prior = 1.0 / max(files, 2)
    frame = resolved
    if frame.height > sample:
        frame = frame.sample(n=sample, seed=7)
    frame = _frame(frame.with_row_index("uid"), kind)
    con = duckdb.connect(":memory:")
    try:
        db_api = DuckDBAPI(connection=con)
        linker = Linker(db_api.register(frame.to_arrow()), _settings(kind, prior), log_level=None)
        linker.training.estimate_u_using_random_sampling(
            max_pairs=min(2e6, frame.height * 20.0), seed=11
        )
        if frame["id"].n_unique() < frame.height:
            linker.training.estimate_m_from_label_column("id")
        model = linker.misc.save_model_to_json()
        # Levels no labelled pair reached keep Splink's defaults: write them out, so the saved
        # model states every parameter it scores with (and reviewers see every level's weight).
        for comp, live in zip(model["comparisons"], linker._settings_obj.comparisons, strict=True):
            for level, lv in zip(comp["comparison_levels"], live.comparison_levels, strict=True):
                if level.get("is_null_level"):
                    continue
                for part in ("m_probability", "u_probability"):
                    if not isinstance(level.get(part), int | float):  # absent, None, "not observed"
                        level[part] = getattr(lv, part)
    finally:
        con.close()
    model["probability_two_random_records_match"] = prior
    return model


TF_COLUMNS = {"person": ("name",), "enterprise": ("name", "legal")}


def term_frequencies(records: pl.DataFrame | pl.LazyFrame, col: str) -> pl.DataFrame:
    """How common each value is (王伟 many, 欧阳娜娜 few): Splink's ``tf_<col>`` lookup."""
    if isinstance(records, pl.LazyFrame):
        records = records.select(col).collect()
    counts = records.filter(pl.col(col).is_not_null()).group_by(col).len()
    total = max(int(counts["len"].sum()), 1)
    return counts.select(pl.col(col), (pl.col("len") / total).alias(f"tf_{col}"))


def score(
    model: dict[str, Any],
    kind: str,
    left: pl.DataFrame,
    right: pl.DataFrame,
    *,
    threshold: float,
    within: bool = False,
    tf: dict[str, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Score ``left`` records (``uid``) against ``right`` ones (``uid``), or within ``left``.

    Returns ``uid_l``, ``uid_r``, ``match_probability``, ``match_weight`` and each comparison's
    weight of evidence in bits (``mw_*``, ``mw_tf_adj_*``) for pairs at or above ``threshold``.
    """
    from splink import DuckDBAPI, Linker

    if left.height == 0 or (not within and right.height == 0):
        return pl.DataFrame(
            schema={"uid_l": pl.Int64, "uid_r": pl.Int64, "match_probability": pl.Float64}
        )
    con = duckdb.connect(":memory:")
    try:
        db_api = DuckDBAPI(connection=con)
        settings = json.loads(json.dumps(model))
        settings["retain_intermediate_calculation_columns"] = True
        settings["link_type"] = "dedupe_only"
        lf = db_api.register(_frame(left, kind).to_arrow())
        linker = Linker(lf, settings, log_level=None)
        tf_source = left if within else pl.concat([_frame(left, kind), _frame(right, kind)])
        for col in TF_COLUMNS[kind]:
            table = (tf or {}).get(col)
            if table is None:
                table = term_frequencies(tf_source, col)
            else:  # only the values these records hold: a small lookup for Splink to join
                table = table.join(tf_source.select(col).unique(), on=col, how="semi")
            linker.table_management.register_term_frequency_lookup(
                db_api.register(table.to_arrow()), col
            )
        if within:
            out = linker.inference.predict_within(
                lf, threshold_match_probability=threshold, warning_mode="never"
            )
        else:
            rf = db_api.register(_frame(right, kind).to_arrow())
            out = linker.inference.predict_between(
                lf,
                rf,
                link_type="dedupe_only",
                threshold_match_probability=threshold,
                warning_mode="never",
            )
        table = out.as_duckdbpyrelation().to_arrow_table()
    finally:
        con.close()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    keep = ["uid_l", "uid_r", "match_probability", "match_weight"]
    keep += [c for c in frame.columns if c.startswith("mw_")]
    return frame.select(keep)


def level_labels(model: dict[str, Any]) -> dict[str, list[str]]:
    """Per comparison, the label of each level by gamma value (for the review page)."""
    out: dict[str, list[str]] = {}
    for comp in model.get("comparisons", []):
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        labels = [lv.get("label_for_charts") or lv.get("sql_condition", "") for lv in levels]
        out[comp["output_column_name"]] = list(reversed(labels))
    return out


def weights(model: dict[str, Any]) -> dict[str, list[float]]:
    """log2 Bayes factor of each non-null level, by gamma value, per comparison."""
    out: dict[str, list[float]] = {}
    for comp in model.get("comparisons", []):
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        vals = []
        for lv in reversed(levels):
            m, u = lv.get("m_probability"), lv.get("u_probability")
            ok = isinstance(m, int | float) and isinstance(u, int | float) and m > 0 and u > 0
            vals.append(math.log2(m / u) if ok else 0.0)
        out[comp["output_column_name"]] = vals
    return out


def candidates(
    placed: pl.DataFrame | pl.LazyFrame,
    left: pl.DataFrame,
    kind: str,
    *,
    where: pl.Expr | None = None,
    seal: Callable[[pl.Series], pl.Series] | None = None,
) -> pl.DataFrame:
    """Rows of ``placed`` (those ``where`` holds) that share at least one blocking key with a
    ``left`` row: the only rows Splink's blocking could pair, found by hash filters before Splink
    sees any data, without copying ``placed``. ``seal``: how ``placed`` stores the IDs it keeps
    encrypted as ``id__stored`` (the scan then probes the stored bytes, and decrypts only the
    rows it keeps)."""
    if isinstance(placed, pl.LazyFrame):
        # A lazy scan: one pass with a cheap filter (any key column holding a value the left
        # rows hold) materializes a few rows; the exact keys are checked on those below.
        names = placed.collect_schema().names()
        if left.height == 0:
            return pl.DataFrame(schema=placed.collect_schema()).drop("_live", strict=False)
        probe = pl.lit(False)
        for col in ("name", "phone", "birth", "name_py", "legal"):
            if col in names and col in left.columns:
                values = left[col].drop_nulls().unique()
                if values.len():
                    probe = probe | pl.col(col).is_in(values.implode())
        variants = id_variants(left["id"])
        if variants.len() and seal is not None and "id__stored" in names:
            probe = probe | pl.col("id__stored").is_in(seal(variants).implode())
        elif variants.len():
            probe = probe | pl.col("id").is_in(variants.implode())
        small = placed.filter(probe if where is None else probe & where).collect()
        return candidates(small.drop("_live", strict=False), left, kind)
    if left.height == 0:
        return placed.clear()

    def keyed(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.concat_str([pl.col("id").str.slice(a, n) for a, n in parts]).alias(k)
            for k, parts in ID_BLOCKS.items()
        )

    keys = [["name", "district"], ["phone"], *[[k] for k in ID_BLOCKS]]
    keys += (
        [["birth", "sex"], ["name_py", "birth"]]
        if kind == "person"
        else [["name"], ["legal", "district"]]
    )
    indexed = placed.with_row_index("_row")
    rows = []
    if left.height * 220 < placed.height:
        # Few records: their one-character-different IDs, looked up directly (no key columns
        # built over every placed row).
        variants = id_variants(left["id"])
        if variants.len():
            hit = pl.col("id").is_in(variants.implode())
            rows.append(indexed.filter(hit if where is None else hit & where)["_row"])
        keys = [k for k in keys if not k[0].startswith("_k")]
    else:
        indexed = keyed(indexed)
        left = keyed(left)
    for cols in keys:
        probe = left.select(cols).drop_nulls().unique()
        if not probe.height:
            continue
        first = probe[cols[0]].unique()
        hit = pl.col(cols[0]).is_in(first.implode())
        near = indexed.filter(hit if where is None else hit & where).select("_row", *cols)
        rows.append(near.join(probe, on=cols, how="semi")["_row"])
    if not rows:
        return placed.clear()
    found = pl.concat(rows).unique().sort()
    return placed.select(pl.all().gather(found))


def id_variants(ids: pl.Series) -> pl.Series:
    """Every ID one character away from the given ones (a substitution with 0–9/X at each
    position, or two neighbours swapped): the IDs a single typo could have come from."""
    out: set[str] = set()
    alphabet = "0123456789X"
    for value in ids.drop_nulls().unique().to_list():
        if len(value) not in (15, 18):
            continue
        chars = list(value)
        for i in range(len(chars)):
            keep = chars[i]
            for c in alphabet:
                if c != keep:
                    chars[i] = c
                    out.add("".join(chars))
            chars[i] = keep
        for i in range(len(chars) - 1):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
            out.add("".join(chars))
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return pl.Series("id", sorted(out), dtype=pl.String)


__all__ = [
    "blocking_rules",
    "candidates",
    "comparisons",
    "id_variants",
    "level_labels",
    "score",
    "term_frequencies",
    "train",
    "weights",
]
