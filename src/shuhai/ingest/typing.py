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
    "precision_loss": (
        "数值被 Excel 转成科学计数法，精度已丢失",
        "Excel turned the value into scientific notation; digits were lost",
    ),
    "bad_number": ("不是有效数字", "not a valid number"),
    "not_integer": ("应为整数", "must be an integer"),
    "bad_money": ("不是有效金额", "not a valid amount"),
    "bad_date": ("不是有效日期", "not a valid date"),
    "bad_datetime": ("不是有效日期时间", "not a valid date and time"),
    "bad_bool": ("不是有效逻辑值（是/否）", "not a valid boolean (是/否)"),
    "ragged_row": ("字段数不对", "wrong number of fields"),
    "bad_encoding": ("该行不是文件所用的编码", "the line is not in the file's encoding"),
    "formula_uncomputed": ("公式没有计算结果", "a formula without a computed value"),
    "bad_json": ("不是有效的 JSON 对象", "not a valid JSON object"),
    "duplicate_key": (
        "同一文件中主键重复，已被后出现的行取代",
        "duplicate key in the source; a later row supersedes it",
    ),
}

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


def make_plan(
    items: list[dict[str, Any]],
    header: list[str],
    *,
    max_cell_bytes: int,
    required_extra: tuple[str, ...] = (),
) -> Plan:
    """Match the source header to info items; a missing required column rejects the file."""
    norm = {h.strip().lower(): h for h in header}
    source_of: dict[str, str | None] = {}
    missing_required, missing_optional = [], []
    for it in items:
        col = norm.get(it["name"].strip().lower())
        source_of[it["name"]] = col
        if col is None:
            (
                missing_required
                if it["required"] or it["name"] in required_extra
                else missing_optional
            ).append(it["name"])
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
        warnings.append(
            f"缺少可选列，按空值导入 / optional columns missing, loaded as null: {', '.join(missing_optional)}"
        )
    extra = [h for h in header if h not in set(source_of.values())]
    if extra:
        warnings.append(
            f"忽略目录外的列 / ignored columns not in the catalog: {', '.join(extra[:20])}"
        )
    items = [dict(it, required=it["required"] or it["name"] in required_extra) for it in items]
    return Plan(items, source_of, table_schema(items), max_cell_bytes, warnings)


PADDING = " \t\r\n\x0b\x0c\u3000"  # ASCII white space and the full-width space (全角空格)


def _clean(col: str | None) -> pl.Expr:
    """Trim padding (ASCII white space and 全角空格) and read empty text as missing."""
    if col is None:
        return pl.lit(None, pl.String)
    text = pl.col(col).str.strip_chars(PADDING)
    return pl.when(text == "").then(None).otherwise(text)


def _half(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_many(FULL_WIDTH, HALF_WIDTH).str.strip_chars()


def _number_text(expr: pl.Expr) -> pl.Expr:
    t = _half(expr).str.replace_all(r"^[¥￥$]", "").str.replace_all(" ", "", literal=True)
    grouped = t.str.contains(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
    return pl.when(grouped).then(t.str.replace_all(",", "", literal=True)).otherwise(t)


def _date_parse(t: pl.Expr) -> pl.Expr:
    """One parse for every common form: separators 年月/. become '-', 20240102 gets its dashes."""
    canonical = (
        t.str.replace_all(r"[年月/.]", "-")
        .str.replace(r"日$", "")
        .str.replace(r"^(\d{4})(\d{2})(\d{2})$", "$1-$2-$3")
        .str.replace(r"^(\d{4}-\d{1,2}-\d{1,2})[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "$1")
    )
    parsed = canonical.str.strptime(pl.Date, "%Y-%m-%d", strict=False, exact=True)
    days = t.cast(pl.Int64, strict=False)  # Excel serial day numbers (up to 5 digits)
    from_serial = pl.when((days >= 1) & (days <= 99999)).then(
        pl.lit(EXCEL_EPOCH) + pl.duration(days=days)
    )
    return pl.coalesce(pl.when(t.str.len_bytes() > 5).then(parsed), from_serial)


def _date_range(v: pl.Expr) -> pl.Expr:
    return pl.when((v >= pl.lit(date(1800, 1, 1))) & (v <= pl.lit(date(2200, 12, 31)))).then(v)


def _datetime_parse(t: pl.Expr) -> pl.Expr:
    parsed = [
        t.str.strptime(pl.Datetime("us"), f, strict=False, exact=True) for f in DATETIME_FORMATS
    ]
    serial = t.str.contains(r"^\d{1,5}\.\d+$")
    frac = t.cast(pl.Float64, strict=False)
    from_serial = pl.when(serial).then(
        pl.lit(EXCEL_EPOCH).cast(pl.Datetime("us"))
        + pl.duration(microseconds=(frac * 86_400_000_000).round(0).cast(pl.Int64))
    )
    return pl.coalesce(*parsed, from_serial, _date_range(_date_parse(t)).cast(pl.Datetime("us")))


DATE_HINTS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S")
DATETIME_HINTS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S")


@dataclass
class ItemTyping:
    """Typing of one item: clean text ``t``, a fast strict parse on every row, a lenient slow parse.

    The slow parse (full-width digits, thousands separators, every date form, Excel serials) runs
    only on the rows whose fast parse failed, so a column in one common format costs one parse.
    """

    source: str | None
    fast: pl.Expr
    slow: pl.Expr | None
    fails: list[tuple[str, pl.Expr]]
    dtype: pl.DataType


def _typed(
    item: dict[str, Any], source: str | None, max_cell: int, i: int, hint: str | None
) -> ItemTyping:
    """Expressions for one item: text, fast value, slow value and failure conditions."""
    kind = item["data_type"]
    tn, vn = f"__t{i}", f"__v{i}"
    t, v = pl.col(tn), pl.col(vn)
    text = source
    present = t.is_not_null()
    fails: list[tuple[str, pl.Expr]] = []
    if item["required"]:
        fails.append(("required", t.is_null()))
    if kind in ("C", "M"):
        fails.append(("cell_too_large", t.str.len_bytes() > max_cell))
        if item.get("length"):
            fails.append(("too_long", t.str.len_chars() > int(item["length"])))
        fails.append(("nul_byte", t.str.contains("\x00", literal=True)))
        fails.append(("precision_loss", t.str.contains(SCI_NOTATION)))
        return ItemTyping(text, t.alias(vn), None, fails, pl.String())
    if kind == "N" and item.get("scale") == 0:
        as_float = _number_text(t).cast(pl.Float64, strict=False)
        whole = (as_float == as_float.round(0)) & (as_float.abs() < 2.0**53)
        slow = pl.when(whole).then(as_float).cast(pl.Int64, strict=False)
        fails.append(("precision_loss", t.str.contains(SCI_NOTATION)))
        fails.append(("not_integer", present & v.is_null()))
        return ItemTyping(text, t.cast(pl.Int64, strict=False).alias(vn), slow, fails, pl.Int64())
    if kind == "N":
        fast = t.cast(pl.Float64, strict=False)
        slow = _number_text(t).cast(pl.Float64, strict=False)
        fails.append(("bad_number", present & (v.is_null() | ~v.is_finite())))
        return ItemTyping(text, fast.alias(vn), slow, fails, pl.Float64())
    if kind == "Y":
        dtype = pl.Decimal(18, 2)
        fails.append(("bad_money", present & v.is_null()))
        return ItemTyping(
            text,
            t.cast(dtype, strict=False).alias(vn),
            _number_text(t).cast(dtype, strict=False),
            fails,
            dtype,
        )
    if kind == "D":
        fast = _date_range(_strptime_date(t, hint or DATE_HINTS[0]))
        fails.append(("bad_date", present & v.is_null()))
        return ItemTyping(
            text, fast.alias(vn), _date_range(_date_parse(_half(t))), fails, pl.Date()
        )
    if kind == "T":
        dtype = pl.Datetime("us")
        fast = t.str.strptime(dtype, hint or DATETIME_HINTS[0], strict=False, exact=True)
        fails.append(("bad_datetime", present & v.is_null()))
        return ItemTyping(text, fast.alias(vn), _datetime_parse(_half(t)), fails, dtype)
    if kind == "L":

        def boolean(expr: pl.Expr) -> pl.Expr:
            lowered = expr.str.to_lowercase()
            return (
                pl.when(lowered.is_in(TRUE_WORDS))
                .then(True)
                .when(lowered.is_in(FALSE_WORDS))
                .then(False)
            )

        fails.append(("bad_bool", present & v.is_null()))
        return ItemTyping(text, boolean(t).alias(vn), boolean(_half(t)), fails, pl.Boolean())
    raise ValueError(f"unknown data type {kind!r}")


def _strptime_date(t: pl.Expr, fmt: str) -> pl.Expr:
    if "%H" in fmt:
        return t.str.strptime(pl.Datetime("us"), fmt, strict=False, exact=True).dt.date()
    return t.str.strptime(pl.Date, fmt, strict=False, exact=True)


def learn_hint(values: pl.Series, kind: str) -> str | None:
    """The format that parses most of a sample of a date or datetime column (its fast path)."""
    sample = values.drop_nulls().str.strip_chars().head(2000)
    if kind not in ("D", "T") or sample.len() == 0:
        return None
    candidates = DATE_HINTS if kind == "D" else DATETIME_HINTS
    frame = sample.to_frame("t")
    scores = {}
    for fmt in candidates:
        parsed = frame.select(
            _strptime_date(pl.col("t"), fmt)
            if kind == "D"
            else pl.col("t").str.strptime(pl.Datetime("us"), fmt, strict=False, exact=True)
        ).to_series()
        scores[fmt] = parsed.is_not_null().sum()
    best = max(candidates, key=lambda f: scores[f])
    return best if scores[best] else None


@dataclass
class TypedBatch:
    good: pl.DataFrame | None
    bad: pa.Table | None
    counts: dict[tuple[str, str], int]


class Typer:
    """Compiled typing for one plan; ``apply`` types one text batch.

    Date and datetime columns learn their dominant format from the first batch; it becomes their
    fast path, and every other accepted form is still parsed by the slow path.
    """

    def __init__(self, plan: Plan, header: list[str], run_id: int) -> None:
        self.plan = plan
        self.header = header
        self.run_id = run_id
        self.polars_schema = pl.Schema(pl.from_arrow(plan.schema.empty_table()).schema)  # type: ignore[union-attr]
        self.items: list[ItemTyping] | None = None

    def _compile(self, frame: pl.DataFrame) -> None:
        self.items = []
        self.flag_names: list[tuple[str, str, str]] = []  # (flag column, item, reason code)
        self.flags: list[pl.Expr] = []
        self.conditions: list[tuple[str, pl.Expr]] = []
        self.any_bad: dict[frozenset[str], pl.Expr] = {}
        for i, item in enumerate(self.plan.items):
            source = self.plan.source_of[item["name"]]
            hint = learn_hint(frame[source], item["data_type"]) if source else None
            typing = _typed(item, source, self.plan.max_cell_bytes, i, hint)
            self.items.append(typing)
            for j, (code, cond) in enumerate(typing.fails):
                name = f"__f{i}_{j}"
                self.flags.append(cond.fill_null(False).alias(name))
                self.flag_names.append((name, item["name"], code))
                self.conditions.append((code, cond.fill_null(False)))
        slow_needed = [
            pl.col(f"__t{i}").is_not_null() & pl.col(f"__v{i}").is_null()
            for i, it in enumerate(self.items)
            if it.slow is not None
        ]
        self.needs_slow = pl.any_horizontal(slow_needed) if slow_needed else None
        self.slow = [
            pl.coalesce(pl.col(f"__v{i}"), it.slow.cast(it.dtype)).alias(f"__v{i}")
            for i, it in enumerate(self.items)
            if it.slow is not None
        ]
        reason_parts = [
            pl.when(pl.col(name)).then(pl.lit(reason_text(code, item)))
            for name, item, code in self.flag_names
        ]
        self.reasons = pl.concat_str(reason_parts, separator="; ", ignore_nulls=True).alias(
            "_reasons"
        )

    def _texts(self, frame: pl.DataFrame, absent: frozenset[str] = frozenset()) -> list[pl.Expr]:
        """Clean text per item; columns with no padding and no empty strings are used as they are."""
        assert self.items is not None
        sources = (
            sorted({it.source for it in self.items if it.source}) if "padding" not in absent else []
        )
        dirty = (
            frame.select(
                (
                    (
                        pl.col(c).str.strip_chars(PADDING).str.len_bytes()
                        != pl.col(c).str.len_bytes()
                    )
                    | (pl.col(c) == "")
                )
                .any()
                .alias(c)
                for c in sources
            ).row(0, named=True)
            if sources
            else {}
        )
        out = []
        for i, it in enumerate(self.items):
            if it.source is None:
                out.append(pl.lit(None, pl.String).alias(f"__t{i}"))
            elif dirty.get(it.source):
                out.append(_clean(it.source).alias(f"__t{i}"))
            else:
                out.append(pl.col(it.source).alias(f"__t{i}"))
        return out

    def _any_bad(self, absent: frozenset[str]) -> pl.Expr:
        """One expression that is true for a bad row, without the checks ``absent`` rules out."""
        if absent not in self.any_bad:
            skip = {"nul_byte"} if "nul" in absent else set()
            skip |= {"precision_loss"} if "sci" in absent else set()
            conds = [cond for code, cond in self.conditions if code not in skip]
            self.any_bad[absent] = pl.any_horizontal(conds) if conds else pl.lit(False)
        return self.any_bad[absent]

    def apply(
        self,
        batch: pa.RecordBatch | pa.Table | pl.DataFrame,
        lines: pa.Array,
        absent: frozenset[str] = frozenset(),
    ) -> TypedBatch:
        frame = batch if isinstance(batch, pl.DataFrame) else pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        if self.items is None:
            self._compile(frame)
        assert self.items is not None
        any_bad = self._any_bad(absent)
        slow = [self.needs_slow.alias("__slow")] if self.needs_slow is not None else []
        typed = (
            frame.lazy()
            .with_columns(pl.Series(LINE_COLUMN, lines))
            .with_columns(self._texts(frame, absent))
            .with_columns(it.fast for it in self.items)
            .with_columns(any_bad.alias("__bad"), *slow)
            .collect()
        )
        if slow:
            # The lenient parse runs only on the rows the fast one could not read; their values
            # and their verdict are scattered back in place (no copy, order kept).
            rows = typed["__slow"].arg_true()
            if rows.len():
                fixed = typed[rows].with_columns(self.slow).with_columns(any_bad.alias("__bad"))
                names = [e.meta.output_name() for e in self.slow] + ["__bad"]
                typed = typed.with_columns(typed[name].scatter(rows, fixed[name]) for name in names)
        bad_mask = typed["__bad"]
        n_bad = int(bad_mask.sum())
        counts: dict[tuple[str, str], int] = {}
        bad_table = None
        if n_bad:
            # Reasons are worked out only for the bad rows.
            bad = typed.filter(bad_mask).with_columns(self.flags)
            flag_cols = [n for n, _, _ in self.flag_names]
            sums = bad.select(pl.col(flag_cols).sum()).row(0)
            for (_, item, code), total in zip(self.flag_names, sums, strict=True):
                if total:
                    counts[(item, code)] = counts.get((item, code), 0) + int(total)
            bad_table = bad.select(
                *[pl.col(c) for c in self.header], pl.col(LINE_COLUMN), self.reasons
            ).to_arrow()
        out = typed.select(
            *[pl.col(f"__v{i}").alias(it["name"]) for i, it in enumerate(self.plan.items)],
            pl.lit(self.run_id, pl.Int64).alias(RUN_COLUMN),
            pl.col(LINE_COLUMN),
        )
        if n_bad:
            out = out.filter(~bad_mask)
        if out.height == 0:
            return TypedBatch(None, bad_table, counts)
        return TypedBatch(out.cast(self.polars_schema), bad_table, counts)


__all__ = ["REASONS", "Plan", "TypedBatch", "Typer", "make_plan", "reason_text"]
