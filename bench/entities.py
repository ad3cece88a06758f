"""Population base database: full build, incremental update, linkage quality against the demo
city's ground truth, next to an exact-ID-only baseline in the same run.

    python bench/entities.py --persons 1000000

Pairwise precision/recall/F1: every pair of records in the same file is a predicted match;
every pair of records about the same person (``truth_records.parquet``) is a true match. Pairs
are split into those where both records carry a valid ID and those where at least one does not.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from shuhai.config import Config  # noqa: E402
from shuhai.demo import build_demo  # noqa: E402
from shuhai.demo.bases import PERSONS  # noqa: E402
from shuhai.demo.hard import CASES  # noqa: E402
from shuhai.demo.truth import record_truth  # noqa: E402
from shuhai.entities import standardize as std  # noqa: E402
from shuhai.entities import store  # noqa: E402
from shuhai.entities.build import build_base  # noqa: E402
from shuhai.entities.evaluate import pairwise, pairwise_involving  # noqa: E402
from shuhai.entities.service import current, review_page, save_base  # noqa: E402
from shuhai.ingest import ingest  # noqa: E402
from shuhai.platform import open_home  # noqa: E402
from shuhai.quality import wait_for_checks  # noqa: E402


def change_one_percent(config: Config, out: Path, records: int) -> tuple[str, int]:
    """公安 delivers an update: people who moved, 1% of all member records, as an upsert."""
    people = pl.read_csv(
        out / "GA" / "01_常住人口基本信息.csv", infer_schema=False, truncate_ragged_lines=True
    ).filter(pl.col("身份证号").str.len_chars() == 18)
    people = people.unique("身份证号", keep="first", maintain_order=True)
    moved = people.sample(n=min(people.height, max(1, records // 100)), seed=5)
    moved = moved.with_columns(
        (pl.col("户籍地址").str.replace(r"\d+号$", "") + "88号").alias("户籍地址")
    )
    path = out / "GA" / "01_常住人口基本信息_bench_update.csv"
    moved.write_csv(path)
    return str(path), moved.height


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--home", type=Path, default=None)
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="shuhai-bench-entities-"))
    config = open_home(Config.from_env({}, home=str(home)))
    t = time.perf_counter()
    demo = build_demo(config, persons=args.persons, seed=2024, bases=False)
    print(
        f"demo city: {args.persons:,} persons, {demo['rows_loaded']:,} rows in {time.perf_counter() - t:.0f}s"
    )
    out = Path(demo["output"])
    save_base(config, PERSONS)
    wait_for_checks()  # the quality checks each load starts must not run inside the timed build

    t = time.perf_counter()
    full = build_base(config, PERSONS["name"], full=True)
    full_s = time.perf_counter() - t
    _info, path = current(config, PERSONS["name"])
    records = store.load(path, "records")
    print(
        f"full build: {records.height:,} records from {len(full['sources'])} resources "
        f"→ {full['counts']['files']:,} files in {full_s:.1f}s ({full['counts']})"
    )

    labelled = record_truth(records, out)
    # the baseline: records with the same standardized number whose check character is right
    # are one person, everybody else alone (what an exact-ID join does)
    sound = std.id_checksum_ok(labelled["id"].fill_null(""))
    labelled = labelled.with_columns(
        pl.when(pl.Series(sound)).then(pl.col("id")).otherwise(pl.col("key")).alias("exact_id")
    )
    ours = pairwise(labelled, "file_id")
    base = pairwise(labelled, "exact_id")
    print(f"\nlinkage on {labelled.height:,} labelled records (ground truth):")
    print(f"{'':14}{'Shuhai P':>10}{'R':>9}{'F1':>9}   {'exact-ID P':>10}{'R':>9}{'F1':>9}")
    for k in ("overall", "valid_id", "no_valid_id"):
        a, b = ours[k], base[k]
        print(
            f"{k:14}{a['precision']:10.5f}{a['recall']:9.5f}{a['f1']:9.5f}   "
            f"{b['precision']:10.5f}{b['recall']:9.5f}{b['f1']:9.5f}   ({a['true_pairs']:,.0f} true pairs)"
        )

    cases_path = out / "truth_cases.parquet"
    if cases_path.exists():
        cases = pl.read_parquet(cases_path)
        print(f"\nper hard case (pairs involving the case's people; {len(CASES)} kinds):")
        print(f"{'':18}{'Shuhai P':>10}{'R':>9}{'F1':>9}   {'exact-ID P':>10}{'R':>9}{'F1':>9}")
        for case in CASES:
            persons = cases.filter(pl.col("case") == case)["pidx"].unique()
            if persons.len() == 0:
                continue
            a = pairwise_involving(labelled, "file_id", persons)
            b = pairwise_involving(labelled, "exact_id", persons)
            print(
                f"{case:18}{a['precision']:10.5f}{a['recall']:9.5f}{a['f1']:9.5f}   "
                f"{b['precision']:10.5f}{b['recall']:9.5f}{b['f1']:9.5f}   "
                f"({a['records']:,} records, {a['true_pairs']:,.0f} true pairs)"
            )
        different = labelled.group_by("file_id").agg(pl.col("truth").n_unique().alias("people"))
        merged = different.filter(pl.col("people") > 1).height
        print(f"files holding more than one person: {merged:,} of {different.height:,}")
    pending = review_page(config, PERSONS["name"], limit=1)["total"]
    print(f"review queue: {pending:,} pending pairs = {pending / records.height:.2%} of records")

    src, n = change_one_percent(config, out, records.height)
    run = ingest(config, "常住人口基本信息", src, mode="upsert", key=["身份证号"])
    wait_for_checks()
    t = time.perf_counter()
    inc = build_base(config, PERSONS["name"])
    inc_s = time.perf_counter() - t
    print(
        f"\nincremental after {n:,} changed records ({n / records.height:.1%} of records, "
        f"run {run['id']}): {inc_s:.2f}s = {inc_s / full_s:.1%} of the full build "
        f"({inc['mode']}, {inc['counts']['new_records']:,} records linked)"
    )
    if args.home is None:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
