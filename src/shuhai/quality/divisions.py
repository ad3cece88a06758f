"""Division codes for validators (行政区划代码): which 6-digit codes were in use in which years.

From the shipped 民政部 county-level-and-above history (1981–2024, CC0): one row per code and
period, ``end_year`` exclusive (9999 while in use). Years before 1981 are checked against 1981,
the first year the list covers.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

FIRST_YEAR = 1981


@lru_cache(maxsize=1)
def division_periods() -> pa.Table:
    """``code`` (6 digits), ``start_year``, ``end_year`` (exclusive; 9999 = still in use)."""
    path = resources.files("shuhai").joinpath("data", "divisions", "areacodes_history.csv")
    table = pacsv.read_csv(
        str(path),
        convert_options=pacsv.ConvertOptions(
            column_types={"code": pa.string(), "start_year": pa.int32(), "end_year": pa.int32()},
            include_columns=["code", "start_year", "end_year"],
        ),
    )
    end = pc.fill_null(table["end_year"], 9999)
    return pa.table({"code": table["code"], "start_year": table["start_year"], "end_year": end})


def codes_in_use(year: int) -> list[str]:
    """County-level and above codes in use in ``year`` (years before 1981 use 1981)."""
    y = max(year, FIRST_YEAR)
    t = division_periods()
    mask = pc.and_(pc.less_equal(t["start_year"], y), pc.greater(t["end_year"], y))
    return sorted(set(t.filter(mask)["code"].to_pylist()))


__all__ = ["FIRST_YEAR", "codes_in_use", "division_periods"]
