"""The cases that cost record linkage most (疑难记录), built into the demo city with their truth.

Person-level cases change the people themselves, so every department's records carry them:

- ``household`` (同户): a child under 18 lives with a guardian (their mother where there is one)
  and shares the guardian's address and phone.
- ``twin`` (双胞胎): same birth date, household, surname, and given names a character apart.
- ``namesake`` (同名同生日): two people of one county with the same name, birth date and sex.
- ``duplicate_number`` (重号): two people issued the same ID number (same birth date and sex).
- ``two_numbers`` (一人多号): a birth date corrected later gave a person a new number; the older
  departments (就业、失业、驾驶证) keep the old number.

Record-level cases are written into particular departments' files (``wrap_ids``, the two 卫健
builders in ``shuhai.demo.city``):

- ``guardian_id`` (监护人证件号): a child's health record carries the guardian's number, often
  without the child's birth date or sex.
- ``newborn`` (新生儿): the first records of the youngest children, named ``<母亲姓名>之子/之女``,
  carry the mother's number.
- ``student_number`` (学籍号): ``G`` + the ID in the student register; ``apostrophe``: Excel's text
  apostrophe before the number; ``unknown_sex``: sex 0/9 (GB/T 2261.1); ``lunar_birthday``:
  elderly people's birth date as the lunar calendar gives it; ``scientific``: IDs Excel turned
  into 3.50102E+17 (the flaw injector's ``excel_precision_loss``).

``cases`` rows are (``case``, ``pidx``): every person a case involves (the child and the guardian
whose number it carries, both twins, …) — what the benchmark scores each case kind on.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from shuhai.demo.population import id_check_chars

CASES = {
    "household": "同户（共用地址和电话）",
    "twin": "双胞胎",
    "namesake": "同县同名同生日同性别",
    "duplicate_number": "重号",
    "two_numbers": "一人多号",
    "guardian_id": "儿童记录使用监护人证件号",
    "newborn": "新生儿记录（母亲姓名之子/之女，母亲证件号）",
    "student_number": "学籍号（G+身份证号）",
    "apostrophe": "Excel 文本撇号",
    "scientific": "Excel 科学计数法",
    "unknown_sex": "性别代码 0/9",
    "lunar_birthday": "老人农历生日",
}
TODAY = date(2024, 12, 1)  # the demo city's "now"
CASE_SCHEMA = {"case": pl.String, "pidx": pl.Int64}


def _case_rows(case: str, *pidx: np.ndarray | list[int]) -> pl.DataFrame:
    values = np.concatenate([np.asarray(p, dtype=np.int64) for p in pidx]) if pidx else []
    return pl.DataFrame({"case": case, "pidx": values}, schema=CASE_SCHEMA)


def _fresh_ids(
    regions: list[str],
    births: list[str],
    sexes: list[str],
    taken: set[str],
    rng: np.random.Generator,
) -> list[str]:
    """New valid numbers (region + birth + a sequence of the sex's parity) not in ``taken``."""
    bodies = []
    for region, birth, sex in zip(regions, births, sexes, strict=True):
        while True:
            seq = int(rng.integers(0, 500)) * 2 + (1 if sex == "1" else 0)
            body = f"{region}{birth}{seq:03d}"
            if body not in taken:
                taken.add(body)
                bodies.append(body)
                break
    if not bodies:
        return []
    checks = id_check_chars(pl.Series(bodies)).to_list()
    return [b + c for b, c in zip(bodies, checks, strict=True)]


def _pick(rng: np.random.Generator, pool: np.ndarray, k: int, used: set[int]) -> np.ndarray:
    free = np.array([p for p in pool.tolist() if p not in used], dtype=np.int64)
    if free.size == 0 or k <= 0:
        return np.array([], dtype=np.int64)
    out = rng.choice(free, size=min(k, free.size), replace=False)
    used.update(out.tolist())
    return out


def hard_people(
    people: pl.DataFrame, rng: np.random.Generator, *, rate: float = 0.002
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The person-level cases; ``people`` gains ``guardian`` (pidx or -1) and ``old_id``."""
    n = people.height
    k = max(2, int(round(n * rate)))
    data = {c: people[c].to_list() for c in ("id", "name", "sex", "birth", "phone", "address")}
    district = people["district_code"].to_list()
    taken = {i[:17] for i in data["id"]}
    used: set[int] = set()
    births = people["birth"].to_numpy()
    age_days = (np.datetime64(TODAY) - births.astype("datetime64[D]")).astype(int)
    kids = np.flatnonzero(age_days < 18 * 365)
    cases = []

    # Households: each child with a guardian 20–45 years older: a woman, their mother.
    guardian = np.full(n, -1, dtype=np.int64)
    women = np.flatnonzero(people["sex"].to_numpy() == "2")
    order = women[np.argsort(births[women])]  # women by birth date
    sorted_births = births[order].astype("datetime64[D]")
    kid_births = births[kids].astype("datetime64[D]")
    lo = np.searchsorted(sorted_births, kid_births - np.timedelta64(45 * 365, "D"))
    hi = np.searchsorted(sorted_births, kid_births - np.timedelta64(20 * 365, "D"))
    has = hi > lo
    # one woman 20–45 years older per child, drawn uniformly from that window (vectorized)
    pick = lo + np.floor(rng.random(kids.size) * np.maximum(hi - lo, 1)).astype(np.int64)
    chosen = np.where(has, order[np.minimum(pick, order.size - 1)], -1) if order.size else -1
    guardian[kids] = chosen
    for child in kids[has].tolist():
        g = int(guardian[child])
        data["address"][child], data["phone"][child] = data["address"][g], data["phone"][g]
    with_guardian = np.flatnonzero(guardian >= 0)
    cases.append(_case_rows("household", with_guardian, guardian[with_guardian]))

    # Twins: a second child of the same birth, household and surname.
    twins_a = _pick(rng, with_guardian, k, used)
    twins_b = _pick(rng, with_guardian, twins_a.size, used)
    twins_a = twins_a[: twins_b.size]  # a small city may not have children enough for all
    for a, b in zip(twins_a.tolist(), twins_b.tolist(), strict=True):
        for col in ("birth", "address", "phone"):
            data[col][b] = data[col][a]
        guardian[b] = guardian[a]
        # the surname, and often a character of the given name, in common (林玲 / 林琳)
        mine, theirs = data["name"][b][1:] or "明", data["name"][a][1:]
        given = theirs[0] + mine[-1] if len(theirs) == 2 and theirs[1] != mine[-1] else mine
        data["name"][b] = data["name"][a][0] + given
    regen = list(twins_b.tolist())
    cases.append(_case_rows("twin", twins_a, twins_b))

    # Namesakes: same county, name, birth date and sex; everything else their own.
    adults = np.flatnonzero(age_days >= 18 * 365)
    by_district: dict[str, list[int]] = {}
    for p in _pick(rng, adults, 4 * k, set(used)).tolist():
        by_district.setdefault(district[p], []).append(p)
    pairs_a, pairs_b = [], []
    for members in by_district.values():
        for a, b in zip(members[::2], members[1::2], strict=False):
            if a in used or b in used:
                continue
            used.update((a, b))
            data["name"][b], data["birth"][b], data["sex"][b] = (
                data["name"][a],
                data["birth"][a],
                data["sex"][a],
            )
            pairs_a.append(a)
            pairs_b.append(b)
            if len(pairs_a) >= k:
                break
        if len(pairs_a) >= k:
            break
    regen += pairs_b
    cases.append(_case_rows("namesake", pairs_a, pairs_b))

    # New numbers for the people whose birth date or sex changed above.
    if regen:
        fresh = _fresh_ids(
            [data["id"][p][:6] for p in regen],
            [data["birth"][p].strftime("%Y%m%d") for p in regen],
            [data["sex"][p] for p in regen],
            taken,
            rng,
        )
        for p, new in zip(regen, fresh, strict=True):
            data["id"][p] = new

    # 重号: the second person is issued the first one's number (same birth date and sex).
    dup_a = _pick(rng, adults, k, used)
    dup_b = _pick(rng, adults, dup_a.size, used)
    dup_a = dup_a[: dup_b.size]
    for a, b in zip(dup_a.tolist(), dup_b.tolist(), strict=True):
        data["birth"][b], data["sex"][b], data["id"][b] = (
            data["birth"][a],
            data["sex"][a],
            data["id"][a],
        )
        if data["name"][b] == data["name"][a]:
            data["name"][b] = data["name"][b][0] + "新" + data["name"][b][1:]
    cases.append(_case_rows("duplicate_number", dup_a, dup_b))

    # 一人多号: the old number encodes the birth date as first (wrongly) registered.
    movers = _pick(rng, adults, 2 * k, used)
    old_id: list[str | None] = [None] * n
    shifts = rng.integers(1, 400, movers.size) * np.where(rng.random(movers.size) < 0.5, -1, 1)
    old_births = [
        (np.datetime64(data["birth"][p]) + np.timedelta64(int(s), "D")).astype(date)
        for p, s in zip(movers.tolist(), shifts.tolist(), strict=True)
    ]
    fresh = _fresh_ids(
        [data["id"][p][:6] for p in movers.tolist()],
        [b.strftime("%Y%m%d") for b in old_births],
        [data["sex"][p] for p in movers.tolist()],
        taken,
        rng,
    )
    for p, old in zip(movers.tolist(), fresh, strict=True):
        old_id[p] = old
    cases.append(_case_rows("two_numbers", movers))

    out = people.with_columns(
        pl.Series("id", data["id"]),
        pl.Series("name", data["name"]),
        pl.Series("sex", data["sex"]),
        pl.Series("birth", data["birth"], dtype=pl.Date),
        pl.Series("phone", data["phone"]),
        pl.Series("address", data["address"]),
        pl.Series("guardian", guardian),
        pl.Series("old_id", old_id, dtype=pl.String),
    )
    return out, pl.concat(cases)


# --- record-level cases ----------------------------------------------------------------------

# (table, column) → (case, share of rows): wrappers departments put around the number.
WRAPPERS = {
    ("在校学生学籍信息", "身份证号"): ("student_number", 0.3),
    ("死亡注销信息", "身份证号"): ("apostrophe", 0.05),
    ("婚姻登记信息", "男方身份证号"): ("apostrophe", 0.05),
    ("婚姻登记信息", "女方身份证号"): ("apostrophe", 0.05),
}
UNKNOWN_SEX = {"在校学生学籍信息": 0.03, "儿童健康档案信息": 0.03}


def wrap_ids(
    table: str, frame: pl.DataFrame, rng: np.random.Generator, skip: set[tuple[int, str]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Department formats of the number and unknown sex codes, on a table's text frame (after
    the flaw injector; rows Excel stores as numbers, ``skip``, are left alone)."""
    cases = []
    for (name, column), (case, share) in WRAPPERS.items():
        if name != table or column not in frame.columns:
            continue
        values = frame[column].to_list()
        who = "__pidx2" if column.startswith("女方") else "__pidx"
        pidx = frame[who].to_list() if who in frame.columns else [None] * len(values)
        hit = []
        for r in np.flatnonzero(rng.random(len(values)) < share).tolist():
            v = values[r]
            if not v or len(v) != 18 or (r, column) in skip:
                continue
            values[r] = ("G" + v) if case == "student_number" else ("'" + v)
            hit.append(pidx[r])
        frame = frame.with_columns(pl.Series(column, values, dtype=pl.String))
        cases.append(_case_rows(case, [p for p in hit if p is not None]))
    share = UNKNOWN_SEX.get(table)
    if share and "性别" in frame.columns:
        values = frame["性别"].to_list()
        rows = np.flatnonzero(rng.random(len(values)) < share).tolist()
        for r in rows:
            values[r] = "0" if rng.random() < 0.5 else "9"
        frame = frame.with_columns(pl.Series("性别", values, dtype=pl.String))
        cases.append(_case_rows("unknown_sex", [frame["__pidx"][r] for r in rows]))
    if not cases:
        return frame, pl.DataFrame(schema=CASE_SCHEMA)
    return frame, pl.concat(cases)


def lunar(births: pl.Series) -> pl.Series:
    """Birth dates as the lunar calendar writes them (the month and day an elderly person
    gives), as dates: 1950-03-15 → 1950-01-27."""
    from lunardate import LunarDate

    out = []
    for d in births.to_list():
        try:
            convert = getattr(LunarDate, "from_solar_date", None) or LunarDate.fromSolarDate
            ld = convert(d.year, d.month, d.day)
            out.append(date(ld.year, ld.month, min(ld.day, 28 if ld.month == 2 else ld.day)))
        except (ValueError, TypeError):
            out.append(d)
    return pl.Series(births.name, out, dtype=pl.Date)


__all__ = ["CASES", "CASE_SCHEMA", "TODAY", "hard_people", "lunar", "wrap_ids"]
