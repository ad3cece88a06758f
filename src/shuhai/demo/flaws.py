"""Realistic flaws for the demo city (数据缺陷注入), each recorded in the ground truth.

Bad check characters in ID numbers and credit codes, Excel-mangled IDs, invalid dates, bad phone
numbers, name typos (homophones and look-alikes), duplicated rows, missing required values, ragged
CSV rows, and addresses or legal representatives that disagree between departments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

LOOKALIKE = {
    "张": "章",
    "玲": "琳",
    "王": "汪",
    "李": "里",
    "陈": "程",
    "林": "琳",
    "刘": "柳",
    "杨": "扬",
    "黄": "王",
    "伟": "玮",
    "芳": "方",
    "静": "靜",
}
ID_CHECKS = list("0123456789X")


@dataclass
class Flaws:
    """Flaws injected into one table's text frame, with the cells that Excel stores as numbers."""

    frame: pl.DataFrame
    truth: list[dict[str, Any]] = field(default_factory=list)
    excel_numbers: set[tuple[int, str]] = field(default_factory=set)
    ragged_lines: list[str] = field(default_factory=list)


def _pick(rng: np.random.Generator, n: int, rate: float, taken: set[int]) -> list[int]:
    k = int(round(n * rate))
    if k == 0 and n >= 50 and rate > 0:
        k = 1
    free = np.array([i for i in range(n) if i not in taken]) if taken else np.arange(n)
    if k == 0 or free.size == 0:
        return []
    rows = rng.choice(free, size=min(k, free.size), replace=False).tolist()
    taken.update(rows)
    return sorted(int(r) for r in rows)


def inject(
    frame: pl.DataFrame, table: Any, rng: np.random.Generator, *, rate: float = 0.005
) -> Flaws:
    """Inject flaws into ``frame`` (all text columns); rows keep their positions."""
    data = {c: frame[c].to_list() for c in frame.columns}
    n = frame.height
    out = Flaws(frame)
    taken: set[int] = set()
    types = {it["name"]: it["data_type"] for it in table.items}
    required = {it["name"] for it in table.items if it["required"]}

    def record(row: int, column: str, flaw: str, value: Any, original: Any) -> None:
        out.truth.append(
            {"row": row + 1, "column": column, "flaw": flaw, "value": value, "original": original}
        )

    for col in frame.columns:
        if col.startswith("__"):
            continue
        values = data[col]
        if col.endswith("身份证号"):
            for r in _pick(rng, n, rate, taken):
                old = values[r]
                if not old:
                    continue
                new = old[:17] + rng.choice([c for c in ID_CHECKS if c != old[17]])
                values[r] = new
                record(r, col, "bad_id_checksum", new, old)
            if table.source == "xlsx":
                for r in _pick(rng, n, rate / 2, taken):
                    old = values[r]
                    if old and old[:17].isdigit():
                        values[r] = old[:17] + "0"
                        out.excel_numbers.add((r, col))
                        record(r, col, "excel_precision_loss", f"{float(old[:17] + '0'):.5E}", old)
            if col in required:
                for r in _pick(rng, n, rate / 2, taken):
                    record(r, col, "missing_required", None, values[r])
                    values[r] = None
        elif col.endswith("统一社会信用代码") or col == "纳税人识别号":
            for r in _pick(rng, n, rate, taken):
                old = values[r]
                alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
                new = old[:17] + rng.choice([c for c in alphabet if c != old[17]])
                values[r] = new
                record(r, col, "bad_uscc_checksum", new, old)
        elif col == "联系电话":
            for r in _pick(rng, n, rate, taken):
                old = values[r]
                new = old[:-1] if rng.random() < 0.5 else "12" + old[2:]
                values[r] = new
                record(r, col, "bad_phone", new, old)
        elif types.get(col) == "D":
            for r in _pick(rng, n, rate / 2, taken):
                old = values[r]
                new = rng.choice(["2023-02-30", "2022-13-01", "2021/02/29", "无"])
                values[r] = new
                record(r, col, "bad_date", new, old)
        elif col.endswith("姓名"):
            for r in _pick(rng, n, rate, taken):
                old = values[r]
                if not old:
                    continue
                chars = [i for i, ch in enumerate(old) if ch in LOOKALIKE]
                if chars:
                    i = chars[0]
                    new = old[:i] + LOOKALIKE[old[i]] + old[i + 1 :]
                    flaw = "name_lookalike"
                else:
                    new = old[0] + "\u3000" + old[1:]
                    flaw = "name_fullwidth_space"
                values[r] = new
                record(r, col, flaw, new, old)
    frame = pl.DataFrame(data, schema=frame.schema)
    # Duplicated rows, appended at the end (the copy is the flaw).
    dup_rows = _pick(rng, n, rate / 2, set())
    if dup_rows:
        for i, r in enumerate(dup_rows):
            out.truth.append(
                {
                    "row": n + i + 1,
                    "column": "*",
                    "flaw": "duplicate_row",
                    "value": None,
                    "original": r + 1,
                }
            )
        frame = pl.concat([frame, frame[dup_rows]])
    out.frame = frame
    return out


def conflict_addresses(
    frame: pl.DataFrame,
    column: str,
    rng: np.random.Generator,
    streets: pl.DataFrame,
    districts: dict[str, str],
    rate: float = 0.03,
) -> list[dict[str, Any]]:
    """Give some people a different (older) address than 公安 holds: cross-department conflicts."""
    truth = []
    values = frame[column].to_list()
    rows = _pick(rng, frame.height, rate, set())
    pick = streets.sample(
        n=max(1, len(rows)), with_replacement=True, seed=int(rng.integers(0, 2**31))
    )
    for k, r in enumerate(rows):
        old = values[r]
        new = f"福建省福州市{districts.get(pick['district'][k], '')}{pick['name'][k]}{int(rng.integers(1, 300))}号"
        values[r] = new
        truth.append(
            {
                "row": r + 1,
                "column": column,
                "flaw": "address_conflict",
                "value": new,
                "original": old,
            }
        )
    frame.replace_column(frame.columns.index(column), pl.Series(column, values))
    return truth


__all__ = ["Flaws", "conflict_addresses", "conflict_names", "inject"]


def conflict_names(
    frame: pl.DataFrame, column: str, rng: np.random.Generator, names: list[str], rate: float = 0.01
) -> list[dict[str, Any]]:
    """Give some enterprises another legal representative than 市场监管 registered (stale 税务 data)."""
    truth = []
    values = frame[column].to_list()
    for r in _pick(rng, frame.height, rate, set()):
        old = values[r]
        new = names[int(rng.integers(0, len(names)))]
        if new == old:
            continue
        values[r] = new
        truth.append(
            {
                "row": r + 1,
                "column": column,
                "flaw": "legal_rep_conflict",
                "value": new,
                "original": old,
            }
        )
    frame.replace_column(frame.columns.index(column), pl.Series(column, values))
    return truth
