"""Person-like CSV with Chinese text, generated vectorized (NumPy + Polars) for the benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
)
GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玲萍红建国志宏文斌鹏飞玉梅海燕晨浩宇欣怡子涵梓"
)
STREETS = [
    "五一中路",
    "八一七北路",
    "东街",
    "湖东路",
    "福飞路",
    "工业路",
    "杨桥中路",
    "华林路",
    "六一北路",
    "鼓屏路",
]
DISTRICTS = {
    "350102": "鼓楼区",
    "350103": "台江区",
    "350104": "仓山区",
    "350105": "马尾区",
    "350111": "晋安区",
    "350112": "长乐区",
}
WEIGHTS = [7, 9, 10, 5, 8, 4, 3, 2, 6, 1, 9, 8, 7, 10, 5, 3, 4, 2, 6, 1]

ITEMS = [
    {"name": "身份证号", "data_type": "C", "length": 18, "required": True},
    {"name": "姓名", "data_type": "C", "length": 50, "required": True},
    {"name": "性别", "data_type": "C", "length": 1},
    {"name": "出生日期", "data_type": "D"},
    {"name": "手机号码", "data_type": "C", "length": 11},
    {"name": "户籍地址", "data_type": "C", "length": 200},
    {"name": "登记日期", "data_type": "D"},
    {"name": "月收入", "data_type": "N", "scale": 2},
]


def id_check(body: np.ndarray) -> np.ndarray:
    """GB 11643 check characters for an (n, 17) digit array."""
    w = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    s = (body * w).sum(axis=1) % 11
    return np.array(list("10X98765432"))[s]


def persons(n: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    codes = np.array(list(DISTRICTS))
    region = codes[rng.integers(0, len(codes), n)]
    birth = np.datetime64("1940-01-01") + rng.integers(0, 80 * 365, n).astype("timedelta64[D]")
    seq = rng.integers(0, 1000, n)
    births = pl.Series(birth).dt.strftime("%Y%m%d")
    body_str = pl.Series(region) + births + pl.Series(seq).cast(pl.String).str.zfill(3)
    digits = np.frombuffer("".join(body_str.to_list()).encode(), dtype=np.uint8).reshape(n, 17) - 48
    ids = body_str + pl.Series(id_check(digits))
    sur = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    g2 = np.where(rng.random(n) < 0.6, np.array(GIVEN)[rng.integers(0, len(GIVEN), n)], "")
    names = pl.Series(sur) + pl.Series(g1) + pl.Series(g2)
    sex = np.where(seq % 2 == 1, "1", "2")
    phones = pl.Series(rng.integers(13000000000, 19999999999, n)).cast(pl.String)
    dist = np.array([DISTRICTS[c] for c in codes])[np.searchsorted(codes, region)]
    addr = (
        "福建省福州市"
        + pl.Series(dist)
        + pl.Series(np.array(STREETS)[rng.integers(0, len(STREETS), n)])
        + pl.Series(rng.integers(1, 500, n)).cast(pl.String)
        + "号"
    )
    reg = pl.Series(
        np.datetime64("2015-01-01") + rng.integers(0, 3000, n).astype("timedelta64[D]")
    ).dt.strftime("%Y/%-m/%-d")
    income = pl.Series(rng.integers(100000, 5000000, n) / 100).round(2).cast(pl.String)
    df = pl.DataFrame(
        {
            "身份证号": ids,
            "姓名": names,
            "性别": sex,
            "出生日期": births,
            "手机号码": phones,
            "户籍地址": addr,
            "登记日期": reg,
            "月收入": income,
        }
    )
    # flaws: 0.1% bad dates, 0.1% missing IDs, 0.1% scientific-notation IDs
    flaw = rng.random(n)
    df = df.with_columns(
        pl.when(pl.Series(flaw < 0.001))
        .then(pl.lit("2023-02-30"))
        .otherwise(pl.col("出生日期"))
        .alias("出生日期"),
        pl.when(pl.Series((flaw >= 0.001) & (flaw < 0.002)))
        .then(pl.lit(None))
        .when(pl.Series((flaw >= 0.002) & (flaw < 0.003)))
        .then(pl.lit("3.50102E+17"))
        .otherwise(pl.col("身份证号"))
        .alias("身份证号"),
    )
    return df


def write_csv(path: Path, n: int, *, encoding: str = "utf-8", chunk: int = 1_000_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        for start in range(0, n, chunk):
            part = persons(min(chunk, n - start), seed=start + 1)
            text = part.write_csv(include_header=start == 0)
            fh.write(text.encode(encoding))
    return path
