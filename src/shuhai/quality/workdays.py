"""Working-day calendar (工作日历): weekends, public holidays and 调休 working weekends."""

from __future__ import annotations

import csv
import datetime as dt
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def calendar() -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """(holidays, worked weekend days) from the shipped State Council notices."""
    path = resources.files("shuhai").joinpath("data", "calendar", "cn_2025_2026.csv")
    holidays, workdays = set(), set()
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            day = dt.date.fromisoformat(row["date"])
            (holidays if row["kind"] == "holiday" else workdays).add(day)
    return frozenset(holidays), frozenset(workdays)


def is_working_day(day: dt.date) -> bool:
    holidays, workdays = calendar()
    if day in workdays:
        return True
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (the start day itself does not count)."""
    day = start
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


__all__ = ["add_working_days", "calendar", "is_working_day"]
