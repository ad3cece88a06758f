"""Typing (类型转换) of text batches by the resource's info items, vectorized with Polars.

Every value is checked by expressions over whole columns: dates in the common Chinese forms
(2024-01-02, 2024/1/2, 20240102, 2024年1月2日, Excel serials), numbers with full-width digits or
thousands separators, booleans (是/否), text lengths. Text that Excel turned into scientific
notation (1.10105E+17) is quarantined as precision loss, never guessed. A row with any failure goes
to quarantine with every reason; the others come out typed for the lake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
import pyarrow as pa

from shuhai.errors import RejectedFile
from shuhai.lake.schema import LINE_COLUMN, RUN_COLUMN, table_schema

FULL_WIDTH = [chr(0xFF10 + i) for i in range(10)] + ["．", "，", "－", "＋", "　", "：", "／"]
HALF_WIDTH = [str(i) for i in range(10)] + [".", ",", "-", "+", " ", ":", "/"]

REASONS: dict[str, tuple[str, str]] = {
    "required": ("必填项为空", "required value is missing"),
    "too_long": ("超过信息项长度", "longer than the item's length"),
    "cell_too_large": ("单元格过大", "cell is too large"),
    "nul_byte": ("含有 NUL 控制字符", "contains a NUL byte"),
    "precision_loss": ("数值被 Excel 转成科学计数法，精度已丢失", "Excel turned the value into scientific notation; digits were lost"),
    "bad_number": ("不是有效数字", "not a valid number"),
    "not_integer": ("应为整数", "must be an integer"),
    "bad_money": ("不是有效金额", "not a valid amount"),
    "bad_date": ("不是有效日期", "not a valid date"),
    "bad_datetime": ("不是有效日期时间", "not a valid date and time"),
    "bad_bool": ("不是有效逻辑值（是/否）", "not a valid boolean (是/否)"),
    "ragged_row": ("字段数不对", "wrong number of fields"),
    "bad_json": ("不是有效的 JSON 对象", "not a valid JSON object"),
    "duplicate_key": ("同一文件中主键重复，已被后出现的行取代", "duplicate key in the source; a later row supersedes it"),
}

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d")
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y%m%d%H%M%S",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
)
EXCEL_EPOCH = date(1899, 12, 30)
SCI_NOTATION = r"^[+-]?\d(\.\d+)?[eE]\+?(1[1-9]|[2-9]\d)$"
TRUE_WORDS = ["是", "true", "t", "yes", "y", "1", "√", "对"]
FALSE_WORDS = ["否", "false", "f", "no", "n", "0", "×", "错"]


def reason_text(code: str, column: str | None = None, extra: str = "") -> str:
    zh, en = REASONS.get(code, (code, code))
    where = f"{column}：" if column else ""
    where_en = f"{column}: " if column else ""
    return f"{where}{zh}{extra} / {where_en}{en}{extra}"


@dataclass
class Plan:
    """How source columns map to info items, and the lake schema they produce."""

    items: list[dict[str, Any]]
    source_of: dict[str, str | None]  # item name -> source column (None: absent, filled with null)
    schema: pa.Schema
    max_cell_bytes: int
    warnings: list[str] = field(default_factory=list)


def make_plan(items: list[dict[str, Any]], header: list[str], *, max_cell_bytes: int, required_extra: tuple[str, ...] = ()) -> Plan:
    """Match the source header to info items; a missing required column rejects the file."""
    norm = {h.strip().lower(): h for h in header}
    source_of: dict[str, str | None] = {}
    missing_required, missing_optional = [], []
    for it in items:
        col = norm.get(it["name"].strip().lower())
        source_of[it["name"]] = col
        if col is None:
            (missing_required if it["required"] or it["name"] in required_extra else missing_optional).append(it["name"])
    if missing_required or all(v is None for v in source_of.values()):
        names = missing_required or [it["name"] for it in items]
        raise RejectedFile(
            "ingest.missing_columns",
            f"文件缺少信息项列：{'、'.join(names)}（文件表头：{'、'.join(header[:20])}）",
            f"The file lacks item columns: {', '.join(names)} (header: {', '.join(header[:20])})",
            details=[{"column": n, "error": "missing / 缺失"} for n in names],
        )
    warnings = []
    if missing_optional:
        warnings.append(f"缺少可选列，按空值导入 / optional columns missing, loaded as null: {', '.join(missing_optional)}")
    extra = [h for h in header if h not in set(source_of.values())]
    if extra:
        warnings.append(f"忽略目录外的列 / ignored columns not in the catalog: {', '.join(extra[:20])}")
    items = [dict(it, required=it["required"] or it["name"] in required_extra) for it in items]
    return Plan(items, source_of, table_schema(items), max_cell_bytes, warnings)


def _clean(col: str | None) -> pl.Expr:
    if col is None:
        return pl.lit(None, pl.String)
    text = pl.col(col).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _half(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(FULL_WIDTH, HALF_WIDTH).str.strip_chars()


def _number_text(expr: pl.Expr) -> pl.Expr:
    t = _half(expr).str.replace_all(r"^[¥￥$]", "").str.replace_all(" ", "", literal=True)
    grouped = t.str.contains(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
    return pl.when(grouped).then(t.str.replace_all(",", "", literal=True)).otherwise(t)


def _date(expr: pl.Expr) -> pl.Expr:
    t = _half(expr)
    parsed = [t.str.strptime(pl.Date, f, strict=False, exact=True) for f in DATE_FORMATS]
    serial = t.str.contains(r"^\d{1,5}(\.0+)?$")
    days = t.str.replace(r"\.0+$", "").cast(pl.Int64, strict=False)
    from_serial = pl.when(serial & (days >= 1)).then(pl.lit(EXCEL_EPOCH) + pl.duration(days=days))
    from_datetime = t.str.strptime(pl.Datetime("us"), DATETIME_FORMATS[0], strict=False).dt.date()
    value = pl.coalesce(*parsed, from_serial, from_datetime)
    in_range = (value >= pl.lit(date(1800, 1, 1))) & (value <= pl.lit(date(2200, 12, 31)))
    return pl.when(in_range).then(value)


def _datetime(expr: pl.Expr) -> pl.Expr:
    t = _half(expr)
    parsed = [t.str.strptime(pl.Datetime("us"), f, strict=False, exact=True) for f in DATETIME_FORMATS]
    as_date = _date(t).cast(pl.Datetime("us"))
    serial = t.str.contains(r"^\d{1,5}\.\d+$")
    frac = t.cast(pl.Float64, strict=False)
    from_serial = pl.when(serial).then(
        pl.lit(EXCEL_EPOCH).cast(pl.Datetime("us")) + pl.duration(microseconds=(frac * 86_400_000_000).round(0).cast(pl.Int64))
    )
    return pl.coalesce(*parsed, from_serial, as_date)


def _typed(item: dict[str, Any], text: pl.Expr, max_cell: int) -> tuple[pl.Expr, list[tuple[str, pl.Expr]]]:
    """The typed value of one item and its failure conditions (code, bool expression)."""
    kind = item["data_type"]
    present = text.is_not_null()
    fails: list[tuple[str, pl.Expr]] = []
    if item["required"]:
        fails.append(("required", text.is_null()))
    if kind in ("C", "M"):
        fails.append(("cell_too_large", text.str.len_bytes() > max_cell))
        if item.get("length"):
            fails.append(("too_long", text.str.len_chars() > int(item["length"])))
        fails.append(("nul_byte", text.str.contains("\x00", literal=True)))
        fails.append(("precision_loss", text.str.contains(SCI_NOTATION)))
        return text, fails
    if kind == "N":
        t = _number_text(text)
        as_float = t.cast(pl.Float64, strict=False)
        if item.get("scale") == 0:
            as_int = t.cast(pl.Int64, strict=False)
            whole = as_float.is_not_null() & (as_float == as_float.round(0)) & (as_float.abs() < 2.0**53)
            value = pl.coalesce(as_int, pl.when(whole).then(as_float.cast(pl.Int64, strict=False)))
            fails.append(("not_integer", present & value.is_null() & as_float.is_not_null()))
            fails.append(("bad_number", present & as_float.is_null() & as_int.is_null()))
        else:
            value = pl.when(as_float.is_finite()).then(as_float)
            fails.append(("bad_number", present & value.is_null()))
        fails.append(("precision_loss", text.str.contains(SCI_NOTATION) & (item.get("scale") == 0)))
        return value, fails
    if kind == "Y":
        value = _number_text(text).cast(pl.Decimal(18, 2), strict=False)
        fails.append(("bad_money", present & value.is_null()))
        return value, fails
    if kind == "D":
        value = _date(text)
        fails.append(("bad_date", present & value.is_null()))
        return value, fails
    if kind == "T":
        value = _datetime(text)
        fails.append(("bad_datetime", present & value.is_null()))
        return value, fails
    if kind == "L":
        lowered = _half(text).str.to_lowercase()
        value = pl.when(lowered.is_in(TRUE_WORDS)).then(True).when(lowered.is_in(FALSE_WORDS)).then(False)
        fails.append(("bad_bool", present & value.is_null()))
        return value, fails
    raise ValueError(f"unknown data type {kind!r}")


@dataclass
class TypedBatch:
    good: pa.RecordBatch | None
    bad: pa.Table | None
    counts: dict[tuple[str, str], int]


class Typer:
    """Compiled typing for one plan; ``apply`` types one text batch."""

    def __init__(self, plan: Plan, header: list[str], run_id: int) -> None:
        self.plan = plan
        self.header = header
        self.run_id = run_id
        values: list[pl.Expr] = []
        flags: list[pl.Expr] = []
        self.flag_names: list[tuple[str, str, str]] = []  # (flag column, item, reason code)
        for i, item in enumerate(plan.items):
            text = _clean(plan.source_of[item["name"]])
            value, fails = _typed(item, text, plan.max_cell_bytes)
            values.append(value.alias(f"__v{i}"))
            for j, (code, cond) in enumerate(fails):
                name = f"__f{i}_{j}"
                flags.append(cond.fill_null(False).alias(name))
                self.flag_names.append((name, item["name"], code))
        self.values = values
        self.flags = flags
        self.out_schema = plan.schema
        reason_parts = [
            pl.when(pl.col(name)).then(pl.lit(reason_text(code, item))) for name, item, code in self.flag_names
        ]
        self.reasons = pl.concat_str(reason_parts, separator="; ", ignore_nulls=True).alias("_reasons")

    def apply(self, batch: pa.RecordBatch, lines: pa.Array) -> TypedBatch:
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        flag_cols = [n for n, _, _ in self.flag_names]
        bad_flag = pl.any_horizontal(flag_cols) if flag_cols else pl.lit(False)
        # One lazy pass: values and flags share their sub-expressions (parsing happens once).
        typed = (
            frame.lazy()
            .with_columns(pl.Series(LINE_COLUMN, lines))
            .with_columns(*self.values, *self.flags)
            .with_columns(bad_flag.alias("__bad"))
            .collect()
        )
        n_bad = int(typed["__bad"].sum())
        counts: dict[tuple[str, str], int] = {}
        bad_table = None
        if n_bad:
            sums = typed.select(pl.col(flag_cols).sum()).row(0)
            for (_, item, code), total in zip(self.flag_names, sums, strict=True):
                if total:
                    counts[(item, code)] = counts.get((item, code), 0) + int(total)
            bad = typed.filter(pl.col("__bad"))
            bad_table = bad.select(*[pl.col(c) for c in self.header], pl.col(LINE_COLUMN), self.reasons).to_arrow()
        good_frame = typed.filter(~pl.col("__bad")) if n_bad else typed
        if good_frame.height == 0:
            return TypedBatch(None, bad_table, counts)
        out = good_frame.select(
            *[pl.col(f"__v{i}").alias(it["name"]) for i, it in enumerate(self.plan.items)],
            pl.lit(self.run_id, pl.Int64).alias(RUN_COLUMN),
            pl.col(LINE_COLUMN),
        )
        table = out.to_arrow().cast(self.out_schema)
        good = table.combine_chunks().to_batches()[0]
        return TypedBatch(good, bad_table, counts)


__all__ = ["REASONS", "Plan", "TypedBatch", "Typer", "make_plan", "reason_text"]
