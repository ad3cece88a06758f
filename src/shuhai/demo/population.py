"""The demo city's people and enterprises (演示城市主数据), generated vectorized and seeded.

The city's districts are the real counties of 福州市 (GB/T 2260 codes 3501xx) and their real
streets; everyone and every enterprise in it is fictional. ID numbers and credit codes carry valid
check characters (GB 11643, GB 32100, GB 11714) unless a flaw is injected later on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import polars as pl

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2])
ETHNIC = ["汉族", "畲族", "回族", "满族", "壮族", "苗族", "土家族", "蒙古族"]
ETHNIC_P = [0.955, 0.02, 0.008, 0.005, 0.004, 0.003, 0.003, 0.002]
BRAND = list("福闽榕鑫华兴源恒泰盛达永丰宏远瑞祥嘉和海峡万通安康新创智汇锦绣晨光")
INDUSTRY = [
    "科技",
    "贸易",
    "建设工程",
    "餐饮管理",
    "物流",
    "电子商务",
    "医药",
    "食品",
    "文化传媒",
    "机械制造",
    "房地产开发",
    "信息技术",
]
INDUSTRY_CODE = ["I65", "F51", "E48", "H62", "G58", "F52", "C27", "C14", "R86", "C34", "K70", "I64"]


def _data_file(*parts: str) -> str:
    return str(resources.files("shuhai").joinpath("data", *parts))


def fuzhou_divisions() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(districts, streets) of 福州市 from the shipped NBS list."""
    div = pl.read_csv(
        _data_file("divisions", "divisions.csv"),
        schema_overrides={"code": pl.String, "parent_code": pl.String, "code12": pl.String},
    )
    districts = div.filter((pl.col("level") == 3) & pl.col("code").str.starts_with("3501")).select(
        "code", "name"
    )
    streets = div.filter((pl.col("level") == 4) & pl.col("code").str.starts_with("3501")).select(
        pl.col("code"), pl.col("name"), pl.col("parent_code").alias("district")
    )
    return districts, streets


def id_check_chars(bodies: pl.Series) -> pl.Series:
    """GB 11643 check characters for a Series of 17-digit strings."""
    n = bodies.len()
    digits = np.frombuffer("".join(bodies.to_list()).encode(), dtype=np.uint8).reshape(n, 17) - 48
    return pl.Series(ID_CHECK[(digits * ID_WEIGHTS).sum(axis=1) % 11])


def org_code_check(bodies: np.ndarray) -> np.ndarray:
    """GB 11714 check character for (n, 8) arrays of alphabet indexes (digits and letters)."""
    total = (bodies * ORG_WEIGHTS).sum(axis=1) % 11
    c = 11 - total
    return np.where(c == 10, "X", np.where(c == 11, "0", c.astype(str)))


def make_uscc(prefix8: str, org8: str) -> str:
    """A credit code from registration authority + division (8 chars) and an organization code body."""
    values = np.array([[int(ch, 36) for ch in org8]])
    org = org8 + str(org_code_check(values)[0])
    body = prefix8 + org
    return body + uscc_check_chars([body])[0]


def uscc_check_chars(bodies: list[str]) -> list[str]:
    values = np.array([[USCC_ALPHABET.index(ch) for ch in b] for b in bodies])
    total = (values * USCC_WEIGHTS).sum(axis=1) % 31
    return [USCC_ALPHABET[(31 - t) % 31] for t in total]


def _id_regions(current: np.ndarray, years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The region part of each ID: the person's district if its code was in use in the birth year
    (GB 11643 numbers carry the code of their time), else a 福州 code that was (1981 for earlier
    births, as the shipped 民政部 list starts then)."""
    from shuhai.quality.divisions import division_periods

    periods = division_periods().to_pylist()
    fuzhou = [p for p in periods if p["code"].startswith("3501") and p["code"] != "350100"]
    out = current.astype(object).copy()
    for year in np.unique(years):
        y = max(int(year), 1981)
        valid = sorted({p["code"] for p in fuzhou if p["start_year"] <= y <= p["end_year"]})
        rows = np.flatnonzero(years == year)
        ok = np.isin(current[rows], valid)
        bad = rows[~ok]
        if bad.size:
            out[bad] = np.array(valid, dtype=object)[rng.integers(0, len(valid), bad.size)]
    return out.astype(str)


@dataclass
class City:
    persons: pl.DataFrame
    enterprises: pl.DataFrame
    districts: pl.DataFrame
    streets: pl.DataFrame
    cases: pl.DataFrame | None = None  # (case, pidx): the hard linkage cases (demo.hard)
    record_cases: list[pl.DataFrame] = field(default_factory=list)  # found by table builders


def _names(rng: np.random.Generator, sex: np.ndarray) -> pl.Series:
    sur = pl.read_csv(
        _data_file("names", "surnames.csv"), schema_overrides={"percent": pl.Float64}
    ).unique("surname", keep="first", maintain_order=True)
    given = pl.read_csv(_data_file("names", "given_names.csv"))
    p = sur["percent"].to_numpy()
    surnames = sur["surname"].to_numpy()[rng.choice(sur.height, size=sex.size, p=p / p.sum())]
    male = given.filter(pl.col("gender") == "male")["given_name"].to_numpy()
    female = given.filter(pl.col("gender") == "female")["given_name"].to_numpy()
    first = np.where(
        sex == "1",
        male[rng.integers(0, male.size, sex.size)],
        female[rng.integers(0, female.size, sex.size)],
    )
    return pl.Series(surnames) + pl.Series(first)


def _addresses(
    rng: np.random.Generator, n: int, districts: pl.DataFrame, streets: pl.DataFrame
) -> pl.DataFrame:
    pick = streets.sample(n=n, with_replacement=True, seed=int(rng.integers(0, 2**31)))
    names = dict(zip(districts["code"], districts["name"], strict=True))
    return pl.DataFrame(
        {
            "district_code": pick["district"],
            "district": pick["district"].replace_strict(names, default="福州市"),
            "street": pick["name"],
            "house": pl.Series(rng.integers(1, 300, n)).cast(pl.String) + "号",
        }
    ).with_columns(
        ("福建省福州市" + pl.col("district") + pl.col("street") + pl.col("house")).alias("address")
    )


def make_city(persons: int, seed: int) -> City:
    """Persons and enterprises of the demo city (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    districts, streets = fuzhou_divisions()
    districts = districts.filter(pl.col("code").is_in(streets["district"].unique().to_list()))
    n = persons
    sex = np.where(rng.random(n) < 0.51, "1", "2")
    birth = np.datetime64("1935-01-01") + rng.integers(0, 88 * 365, n).astype("timedelta64[D]")
    home = _addresses(rng, n, districts, streets)
    births = pl.Series(birth).dt.strftime("%Y%m%d")
    regions = _id_regions(
        home["district_code"].to_numpy(), pl.Series(birth).dt.year().to_numpy(), rng
    )
    seq = rng.integers(0, 500, n) * 2 + (sex == "1")
    for _ in range(
        50
    ):  # unique ID bodies: region + birth + sequence (odd for men); re-draw clashes
        bodies = pl.Series(regions) + births + pl.Series(seq).cast(pl.String).str.zfill(3)
        dup = bodies.is_duplicated().to_numpy()
        if not dup.any():
            break
        seq = np.where(dup, rng.integers(0, 500, n) * 2 + (sex == "1"), seq)
    ids = bodies + id_check_chars(bodies)
    phones = pl.Series(rng.choice(["13", "15", "18", "17", "19"], n)) + pl.Series(
        rng.integers(0, 10**9, n)
    ).cast(pl.String).str.zfill(9)
    people = pl.DataFrame(
        {
            "pidx": np.arange(n),
            "id": ids,
            "name": _names(rng, sex),
            "sex": sex,
            "birth": pl.Series(birth).cast(pl.Date),
            "ethnic": rng.choice(ETHNIC, n, p=ETHNIC_P),
            "phone": phones,
        }
    ).hstack(home.select("district_code", "district", "street", "address"))
    from shuhai.demo.hard import hard_people

    people, cases = hard_people(people, np.random.default_rng(seed + 1))
    m = max(60, n // 20)
    reg_auth = np.where(rng.random(m) < 0.9, "91", "92")  # 工商 企业 / 个体工商户
    district_of = districts["code"].to_numpy()[rng.integers(0, districts.height, m)]
    # Organization codes (GB 11714) drawn from digits and the letters GB 32100 allows.
    letters = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
    org_body = letters[rng.integers(0, letters.size, (m, 8))]
    org_body[:, 0] = letters[rng.integers(0, 10, m)]
    org_values = np.vectorize(lambda ch: int(ch, 36))(org_body)
    org_codes = [
        "".join(row) + c for row, c in zip(org_body, org_code_check(org_values), strict=True)
    ]
    bodies17 = [a + d + o for a, d, o in zip(reg_auth, district_of, org_codes, strict=True)]
    uscc = [b + c for b, c in zip(bodies17, uscc_check_chars(bodies17), strict=True)]
    industry = rng.integers(0, len(INDUSTRY), m)
    brand = pl.Series(np.array(BRAND)[rng.integers(0, len(BRAND), m)]) + pl.Series(
        np.array(BRAND)[rng.integers(0, len(BRAND), m)]
    )
    adults = people.filter(pl.col("birth") < pl.date(2000, 1, 1))["pidx"].to_numpy()
    addr = _addresses(rng, m, districts, streets)
    ents = pl.DataFrame(
        {
            "eidx": np.arange(m),
            "uscc": uscc,
            "name": "福州"
            + brand
            + pl.Series(np.array(INDUSTRY)[industry])
            + pl.Series(np.where(reg_auth == "91", "有限公司", "经营部")),
            "industry": np.array(INDUSTRY)[industry],
            "industry_code": np.array(INDUSTRY_CODE)[industry],
            "legal_pidx": adults[rng.integers(0, adults.size, m)],
            "capital": (rng.lognormal(5, 1.2, m) * 10).round(2),
            "founded": pl.Series(
                np.datetime64("1995-01-01") + rng.integers(0, 28 * 365, m).astype("timedelta64[D]")
            ).cast(pl.Date),
            "kind": np.where(reg_auth == "91", "有限责任公司", "个体工商户"),
        }
    ).hstack(addr.select("district_code", "address"))
    ents = ents.join(
        people.select(
            pl.col("pidx").alias("legal_pidx"),
            pl.col("name").alias("legal_name"),
            pl.col("id").alias("legal_id"),
        ),
        on="legal_pidx",
        maintain_order="left",
    )
    ents = ents.sort("eidx")
    employer = np.where(rng.random(n) < 0.55, rng.integers(0, m, n), -1)
    # only people of working age (16–65 in the demo's year) have an employer
    working = people["birth"].is_between(pl.date(1959, 1, 1), pl.date(2008, 12, 1)).to_numpy()
    employer = np.where(working, employer, -1)
    people = people.with_columns(pl.Series("employer", employer))
    return City(people, ents, districts, streets, cases)


__all__ = ["City", "id_check_chars", "make_city", "make_uscc", "uscc_check_chars"]
