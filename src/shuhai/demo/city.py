"""The demo city's departments and their resources (演示城市的部门与资源目录).

Each ``Table`` is one catalog resource: its catalog elements, the source format the department
delivers it in, and a builder that derives its rows from the city's people and enterprises.
Builders return the rows plus hidden ``__pidx`` / ``__eidx`` columns (which person or enterprise a
row is about): those go into the ground truth, never into the source file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from shuhai.demo.population import City, make_uscc

DEPARTMENTS = [
    (code, name, make_uscc("11350100", org))
    for code, name, org in [
        ("GA", "福州市公安局", "00359102"),
        ("SCJG", "福州市市场监督管理局", "MB028245"),
        ("SW", "国家税务总局福州市税务局", "MB150928"),
        ("RS", "福州市人力资源和社会保障局", "00359105"),
        ("WJ", "福州市卫生健康委员会", "MB027862"),
        ("JY", "福州市教育局", "00359111"),
        ("MZ", "福州市民政局", "00359109"),
        ("HB", "福州市生态环境局", "MB153485"),
        ("JT", "福州市交通运输局", "00359113"),
        ("TJ", "福州市统计局", "00359150"),
        ("ZJ", "福州市城乡建设局", "00359120"),
        ("XY", "福州市信用办", "MB169876"),
    ]
]


def item(
    name: str,
    data_type: str = "C",
    length: int | None = None,
    *,
    required: bool = False,
    scale: int | None = None,
    description: str = "",
) -> dict[str, Any]:
    return {
        "name": name,
        "data_type": data_type,
        "length": length,
        "required": required,
        "scale": scale,
        "description": description,
    }


ID = item("身份证号", length=18, required=True, description="公民身份号码（GB 11643）")
# As departments declare a number their systems export with a wrapper (学籍号 G…, Excel's ').
WRAPPED_ID = item(
    "身份证号", length=20, required=True, description="公民身份号码；导出时可能带前缀或撇号"
)
NAME = item("姓名", length=50, required=True)
USCC = item("统一社会信用代码", length=18, required=True, description="GB 32100")
PHONE = item("联系电话", length=20)

Builder = Callable[[City, np.random.Generator], pl.DataFrame]


@dataclass
class Table:
    """One demo resource: catalog elements, source format, builder."""

    dept: str
    name: str
    classification: str
    items: list[dict[str, Any]]
    source: str  # csv | csv-bom | gbk | xlsx | sqlite | jsonl
    build: Builder
    key: list[str] = field(default_factory=list)
    abstract: str = ""
    share_type: str = "无条件共享"
    share_condition: str = ""
    open_type: str = "不予开放"
    open_condition: str = ""
    update_cycle: str = "每月"
    date_style: str = "iso"  # iso | slash | compact | chinese

    def catalog_entry(self) -> dict[str, Any]:
        fmt = {
            "csv": "电子表格/csv",
            "csv-bom": "电子表格/csv",
            "gbk": "电子表格/csv",
            "xlsx": "电子表格/xlsx",
            "sqlite": "数据库/sqlite",
            "jsonl": "自描述格式/jsonl",
        }[self.source]
        return {
            "name": self.name,
            "department": self.dept,
            "classification": self.classification,
            "abstract": self.abstract or f"{self.name}（演示数据）",
            "format": fmt,
            "items": self.items,
            "share_type": self.share_type,
            "share_condition": self.share_condition
            or (
                "依申请经审核后共享"
                if self.share_type == "有条件共享"
                else "依据《中华人民共和国个人信息保护法》不予共享"
                if self.share_type == "不予共享"
                else ""
            ),
            "share_method": "接口" if self.source == "sqlite" else "共享平台",
            "open_type": self.open_type,
            "open_condition": self.open_condition,
            "update_cycle": self.update_cycle,
            "publish_date": date(2024, 1, 1),
            "key_columns": self.key,
        }


def _sample(df: pl.DataFrame, frac: float, rng: np.random.Generator) -> pl.DataFrame:
    n = max(1, int(df.height * frac))
    return df.sample(n=n, seed=int(rng.integers(0, 2**31)))


def _dates(rng: np.random.Generator, n: int, start: str, days: int) -> pl.Series:
    return pl.Series(np.datetime64(start) + rng.integers(0, days, n).astype("timedelta64[D]")).cast(
        pl.Date
    )


def _after(dates: pl.Series, births: pl.Series, years: int) -> pl.Series:
    """Event dates no earlier than the person's ``years``-th birthday (nobody registers for
    work at 2), nor later than the demo's today."""
    from shuhai.demo.hard import TODAY

    earliest = births.dt.offset_by(f"{years}y")
    return (
        pl.select(pl.max_horizontal(dates, earliest).clip(upper_bound=pl.lit(TODAY)))
        .to_series()
        .alias(dates.name)
    )


def _persons(c: City, r: np.random.Generator) -> pl.DataFrame:
    p = c.persons
    return p.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        pl.col("sex").alias("性别"),
        pl.col("ethnic").alias("民族"),
        pl.col("birth").alias("出生日期"),
        pl.col("address").alias("户籍地址"),
        pl.col("phone").alias("联系电话"),
        pl.col("pidx").alias("__pidx"),
    )


def _births(c: City, r: np.random.Generator) -> pl.DataFrame:
    kids = c.persons.filter(pl.col("birth") >= pl.date(2015, 1, 1))
    return kids.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        pl.col("sex").alias("性别"),
        pl.col("birth").alias("出生日期"),
        pl.col("district").alias("出生地"),
        pl.col("pidx").alias("__pidx"),
    )


def _deaths(c: City, r: np.random.Generator) -> pl.DataFrame:
    old = _sample(c.persons.filter(pl.col("birth") < pl.date(1950, 1, 1)), 0.05, r)
    return old.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        _dates(r, old.height, "2020-01-01", 1400).alias("注销日期"),
        pl.lit("死亡").alias("注销原因"),
        pl.col("pidx").alias("__pidx"),
    )


def _licences(c: City, r: np.random.Generator) -> pl.DataFrame:
    adults = _sample(c.persons.filter(pl.col("birth") < pl.date(2005, 1, 1)), 0.4, r)
    n = adults.height
    issued = _dates(r, n, "2012-01-01", 4000)
    issued = _after(issued, adults["birth"], 18)
    return adults.select(
        ("350" + pl.col("id").str.slice(3, 9)).alias("驾驶证号"),
        pl.coalesce("old_id", "id").alias("身份证号"),  # an older department: the old number
        pl.col("name").alias("姓名"),
        pl.Series(r.choice(["C1", "C2", "B2", "A2"], n, p=[0.8, 0.12, 0.05, 0.03])).alias(
            "准驾车型"
        ),
        issued.alias("初次领证日期"),
        (issued + pl.duration(days=365 * 6)).alias("有效期至"),
        pl.col("pidx").alias("__pidx"),
    )


def _id_cards(c: City, r: np.random.Generator) -> pl.DataFrame:
    p = _sample(c.persons.filter(pl.col("birth") < pl.date(2008, 1, 1)), 0.3, r)
    issued = _dates(r, p.height, "2010-01-01", 5000)
    return p.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        issued.alias("签发日期"),
        (issued + pl.duration(days=3652 * 2)).alias("有效期限"),
        ("福州市公安局" + pl.col("district") + "分局").alias("签发机关"),
        pl.col("pidx").alias("__pidx"),
    )


def _enterprises(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = c.enterprises
    return e.select(
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("企业名称"),
        pl.col("kind").alias("企业类型"),
        pl.col("legal_name").alias("法定代表人"),
        pl.col("legal_id").alias("法定代表人身份证号"),
        pl.col("capital").alias("注册资本"),
        pl.col("founded").alias("成立日期"),
        pl.col("address").alias("住所"),
        pl.col("industry").alias("行业"),
        pl.lit("存续").alias("登记状态"),
        pl.col("eidx").alias("__eidx"),
    )


def _business_licences(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = c.enterprises
    return e.select(
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("企业名称"),
        pl.col("legal_name").alias("法定代表人"),
        pl.col("founded").alias("发照日期"),
        pl.lit("长期").alias("营业期限"),
        pl.col("eidx").alias("__eidx"),
    )


def _penalties(c: City, r: np.random.Generator, who: str) -> pl.DataFrame:
    e = _sample(c.enterprises, 0.06, r)
    n = e.height
    reasons = {
        "SCJG": ["虚假宣传", "未按规定公示年报", "销售不合格产品"],
        "HB": ["超标排放大气污染物", "未批先建", "危险废物处置不当"],
    }[who]
    return e.select(
        (
            pl.lit(f"榕{who}罚〔2023〕") + pl.Series(np.arange(1, n + 1)).cast(pl.String) + "号"
        ).alias("处罚决定书文号"),
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("当事人名称"),
        pl.Series(r.choice(reasons, n)).alias("违法行为"),
        pl.Series((r.integers(1, 200, n) * 500).astype(float)).alias("罚款金额"),
        _dates(r, n, "2022-01-01", 700).alias("处罚日期"),
        pl.col("eidx").alias("__eidx"),
    )


def _annual_reports(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = _sample(c.enterprises, 0.8, r)
    n = e.height
    return e.select(
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("企业名称"),
        pl.lit(2023).alias("年报年度"),
        pl.Series(r.integers(1, 300, n)).alias("从业人数"),
        (pl.col("capital") * r.uniform(0.5, 3, n)).round(2).alias("营业总收入"),
        pl.col("eidx").alias("__eidx"),
    )


def _taxpayers(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = c.enterprises
    return e.select(
        pl.col("uscc").alias("纳税人识别号"),
        pl.col("name").alias("纳税人名称"),
        pl.col("legal_name").alias("法定代表人"),
        pl.col("founded").alias("登记日期"),
        pl.col("address").alias("生产经营地址"),
        pl.Series(r.choice(["一般纳税人", "小规模纳税人"], e.height, p=[0.4, 0.6])).alias(
            "纳税人类型"
        ),
        pl.col("eidx").alias("__eidx"),
    )


def _tax_credit(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = c.enterprises
    return e.select(
        pl.col("uscc").alias("纳税人识别号"),
        pl.col("name").alias("纳税人名称"),
        pl.lit(2023).alias("评价年度"),
        pl.Series(
            r.choice(["A", "B", "M", "C", "D"], e.height, p=[0.3, 0.4, 0.2, 0.07, 0.03])
        ).alias("信用等级"),
        pl.col("eidx").alias("__eidx"),
    )


def _tax_arrears(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = _sample(c.enterprises, 0.03, r)
    return e.select(
        pl.col("uscc").alias("纳税人识别号"),
        pl.col("name").alias("纳税人名称"),
        pl.col("legal_name").alias("法定代表人"),
        pl.Series((r.integers(1, 500, e.height) * 100).astype(float)).alias("欠税余额"),
        pl.lit("增值税").alias("欠税税种"),
        pl.col("eidx").alias("__eidx"),
    )


def _invoices(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = _sample(c.enterprises, 0.5, r)
    return e.select(
        pl.col("uscc").alias("纳税人识别号"),
        pl.Series(r.choice(["增值税专用发票", "增值税普通发票", "电子发票"], e.height)).alias(
            "发票种类"
        ),
        pl.Series(r.integers(10, 500, e.height)).alias("领用份数"),
        _dates(r, e.height, "2023-01-01", 365).alias("领用日期"),
        pl.col("eidx").alias("__eidx"),
    )


def _insured(c: City, r: np.random.Generator) -> pl.DataFrame:
    p = c.persons.filter(pl.col("employer") >= 0).join(
        c.enterprises.select(pl.col("eidx").alias("employer"), pl.col("uscc")),
        on="employer",
        maintain_order="left",
    )
    return p.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        pl.col("id").alias("社会保障号码"),
        pl.col("uscc").alias("参保单位统一社会信用代码"),
        _after(_dates(r, p.height, "2005-01-01", 6500), p["birth"], 16).alias("参保日期"),
        pl.col("address").alias("联系地址"),
        pl.col("phone").alias("联系电话"),
        pl.col("pidx").alias("__pidx"),
    )


def _employment(c: City, r: np.random.Generator) -> pl.DataFrame:
    p = c.persons.filter(pl.col("employer") >= 0).join(
        c.enterprises.select(
            pl.col("eidx").alias("employer"), pl.col("uscc"), pl.col("name").alias("ename")
        ),
        on="employer",
        maintain_order="left",
    )
    p = _sample(p, 0.5, r)
    return p.select(
        pl.coalesce("old_id", "id").alias("身份证号"),  # an older department: the old number
        pl.col("name").alias("姓名"),
        pl.col("uscc").alias("用工单位统一社会信用代码"),
        pl.col("ename").alias("用工单位名称"),
        _after(_dates(r, p.height, "2010-01-01", 5000), p["birth"], 16).alias("就业登记日期"),
        pl.col("pidx").alias("__pidx"),
    )


def _unemployed(c: City, r: np.random.Generator) -> pl.DataFrame:
    p = _sample(
        c.persons.filter(
            (pl.col("employer") < 0)
            & (pl.col("birth") < pl.date(2003, 1, 1))
            & (pl.col("birth") > pl.date(1965, 1, 1))
        ),
        0.1,
        r,
    )
    return p.select(
        pl.coalesce("old_id", "id").alias("身份证号"),  # an older department: the old number
        pl.col("name").alias("姓名"),
        _dates(r, p.height, "2021-01-01", 1000).alias("失业登记日期"),
        pl.col("phone").alias("联系电话"),
        pl.col("pidx").alias("__pidx"),
    )


def _qualifications(c: City, r: np.random.Generator) -> pl.DataFrame:
    p = _sample(c.persons.filter(pl.col("birth") < pl.date(2000, 1, 1)), 0.08, r)
    n = p.height
    return p.select(
        (pl.lit("FZ") + pl.Series(np.arange(100000, 100000 + n)).cast(pl.String)).alias("证书编号"),
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        pl.Series(r.choice(["电工", "焊工", "育婴员", "中式烹调师", "养老护理员"], n)).alias(
            "职业名称"
        ),
        pl.Series(r.choice(["初级", "中级", "高级"], n)).alias("等级"),
        _dates(r, n, "2015-01-01", 3000).alias("发证日期"),
        pl.col("pidx").alias("__pidx"),
    )


def _birth_certs(c: City, r: np.random.Generator) -> pl.DataFrame:
    kids = c.persons.filter(pl.col("birth") >= pl.date(2015, 1, 1))
    return kids.select(
        (pl.lit("Q35") + pl.col("id").str.slice(8, 8)).alias("出生医学证明编号"),
        pl.col("name").alias("新生儿姓名"),
        pl.col("sex").alias("性别"),
        pl.col("birth").alias("出生日期"),
        pl.lit("福建省妇幼保健院").alias("接生机构"),
        pl.col("pidx").alias("__pidx"),
    )


def _institutions(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = c.enterprises.filter(pl.col("industry") == "医药")
    return e.select(
        pl.col("uscc").alias("统一社会信用代码"),
        (pl.col("name").str.replace("有限公司", "") + "诊所").alias("机构名称"),
        pl.lit("诊所").alias("机构类别"),
        pl.col("legal_name").alias("主要负责人"),
        pl.col("address").alias("地址"),
        (pl.col("founded") + pl.duration(days=3650)).alias("许可证有效期至"),
        pl.col("eidx").alias("__eidx"),
    )


def _doctors(c: City, r: np.random.Generator) -> pl.DataFrame:
    p = _sample(
        c.persons.filter(
            (pl.col("birth") < pl.date(1998, 1, 1)) & (pl.col("birth") > pl.date(1960, 1, 1))
        ),
        0.01,
        r,
    )
    return p.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        pl.Series(r.choice(["临床", "中医", "口腔", "公共卫生"], p.height)).alias("执业类别"),
        _dates(r, p.height, "2005-01-01", 6000).alias("注册日期"),
        pl.col("pidx").alias("__pidx"),
    )


def _vaccinations(c: City, r: np.random.Generator) -> pl.DataFrame:
    kids = c.persons.filter(pl.col("birth") >= pl.date(2015, 1, 1))
    return kids.select(
        pl.col("id").alias("受种者身份证号"),
        pl.col("name").alias("受种者姓名"),
        pl.lit("乙肝疫苗").alias("疫苗名称"),
        pl.col("birth").alias("接种日期"),
        pl.col("pidx").alias("__pidx"),
    )


def _child_health(c: City, r: np.random.Generator) -> pl.DataFrame:
    """卫健 儿童健康档案: children under 14. The youngest children's first records (made at
    birth) are named <母亲姓名>之子/之女 and carry the mother's number; a fifth of the others
    carry the guardian's, often without the child's birth date or sex (``demo.hard``)."""
    p = c.persons
    kids = p.filter((pl.col("birth") >= pl.date(2011, 1, 1)) & (pl.col("guardian") >= 0)).join(
        p.select(
            pl.col("pidx").alias("guardian"),
            pl.col("id").alias("g_id"),
            pl.col("name").alias("g_name"),
        ),
        on="guardian",
        maintain_order="left",
    )
    n = kids.height
    newborn = (kids["birth"] >= date(2021, 1, 1)).to_numpy() & (r.random(n) < 0.5)
    borrowed = ~newborn & (r.random(n) < 0.2)
    blank = borrowed & (r.random(n) < 0.5)
    suffix = np.where(kids["sex"].to_numpy() == "1", "之子", "之女")
    frame = kids.select(
        pl.when(pl.Series(newborn | borrowed))
        .then(pl.col("g_id"))
        .otherwise(pl.col("id"))
        .alias("身份证号"),
        pl.when(pl.Series(newborn))
        .then(pl.col("g_name") + pl.Series(suffix))
        .otherwise(pl.col("name"))
        .alias("姓名"),
        pl.when(pl.Series(blank)).then(None).otherwise(pl.col("sex")).alias("性别"),
        pl.when(pl.Series(blank)).then(None).otherwise(pl.col("birth")).alias("出生日期"),
        pl.col("g_name").alias("监护人姓名"),
        pl.col("phone").alias("联系电话"),
        (pl.col("birth") + pl.duration(days=pl.Series(r.integers(0, 30, n)))).alias("建档日期"),
        pl.col("pidx").alias("__pidx"),
    )
    c.record_cases.append(
        pl.concat(
            [
                pl.DataFrame({"case": "newborn", "pidx": kids.filter(pl.Series(newborn))["pidx"]}),
                pl.DataFrame(
                    {"case": "newborn", "pidx": kids.filter(pl.Series(newborn))["guardian"]}
                ),
                pl.DataFrame(
                    {"case": "guardian_id", "pidx": kids.filter(pl.Series(borrowed))["pidx"]}
                ),
                pl.DataFrame(
                    {"case": "guardian_id", "pidx": kids.filter(pl.Series(borrowed))["guardian"]}
                ),
            ]
        ).cast({"pidx": pl.Int64})
    )
    return frame


def _elderly_health(c: City, r: np.random.Generator) -> pl.DataFrame:
    """卫健 老年人健康管理: people 65 and over; a third give their birthday by the lunar calendar."""
    from shuhai.demo.hard import lunar

    old = _sample(c.persons.filter(pl.col("birth") < pl.date(1959, 12, 1)), 0.5, r)
    by_lunar = r.random(old.height) < 0.3
    births = old["birth"].to_list()
    moons = lunar(old.filter(pl.Series(by_lunar))["birth"]).to_list()
    it = iter(moons)
    given = [next(it) if flag else b for b, flag in zip(births, by_lunar.tolist(), strict=True)]
    c.record_cases.append(
        pl.DataFrame(
            {"case": "lunar_birthday", "pidx": old.filter(pl.Series(by_lunar))["pidx"]}
        ).cast({"pidx": pl.Int64})
    )
    return old.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        pl.col("sex").alias("性别"),
        pl.Series("出生日期", given, dtype=pl.Date),
        pl.col("phone").alias("联系电话"),
        _dates(r, old.height, "2024-01-01", 300).alias("随访日期"),
        pl.col("pidx").alias("__pidx"),
    )


def _students(c: City, r: np.random.Generator) -> pl.DataFrame:
    kids = c.persons.filter(
        (pl.col("birth") >= pl.date(2005, 9, 1)) & (pl.col("birth") < pl.date(2018, 9, 1))
    )
    return kids.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        pl.col("sex").alias("性别"),
        (pl.col("district") + "实验学校").alias("学校名称"),
        (pl.col("birth").dt.offset_by("6y")).alias("入学日期"),
        pl.col("pidx").alias("__pidx"),
    )


def _schools(c: City, r: np.random.Generator) -> pl.DataFrame:
    d = c.districts
    return d.select(
        (pl.col("name") + "实验学校").alias("学校名称"),
        pl.col("code").alias("所在区县代码"),
        pl.lit("公办").alias("办学性质"),
        pl.Series(r.integers(300, 3000, d.height)).alias("在校生数"),
    )


def _teachers(c: City, r: np.random.Generator) -> pl.DataFrame:
    p = _sample(
        c.persons.filter(
            (pl.col("birth") < pl.date(2000, 1, 1)) & (pl.col("birth") > pl.date(1965, 1, 1))
        ),
        0.02,
        r,
    )
    return p.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        pl.Series(r.choice(["小学", "初级中学", "高级中学"], p.height)).alias("资格种类"),
        _dates(r, p.height, "2008-01-01", 5000).alias("发证日期"),
        pl.col("pidx").alias("__pidx"),
    )


def _marriages(c: City, r: np.random.Generator) -> pl.DataFrame:
    adults = c.persons.filter(
        (pl.col("birth") < pl.date(1998, 1, 1)) & (pl.col("birth") > pl.date(1950, 1, 1))
    )
    men = _sample(adults.filter(pl.col("sex") == "1"), 0.3, r)
    women = adults.filter(pl.col("sex") == "2").sample(
        n=min(men.height, adults.filter(pl.col("sex") == "2").height),
        seed=int(r.integers(0, 2**31)),
    )
    n = min(men.height, women.height)
    men, women = men.head(n), women.head(n)
    return pl.DataFrame(
        {
            "男方身份证号": men["id"],
            "男方姓名": men["name"],
            "女方身份证号": women["id"],
            "女方姓名": women["name"],
            "登记日期": _after(
                _dates(r, n, "2000-01-01", 8000),
                pl.select(pl.max_horizontal(men["birth"], women["birth"])).to_series(),
                22,
            ),
            "登记类型": r.choice(["结婚", "离婚"], n, p=[0.85, 0.15]),
            "__pidx": men["pidx"],
            "__pidx2": women["pidx"],
        }
    )


def _social_orgs(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = _sample(c.enterprises, 0.02, r)
    return e.select(
        pl.col("uscc")
        .map_elements(lambda u: make_uscc("53" + u[2:8], u[8:16]), return_dtype=pl.String)
        .alias("统一社会信用代码"),
        (pl.col("name").str.slice(2, 2) + "慈善协会").alias("社会组织名称"),
        pl.lit("社会团体").alias("组织类型"),
        pl.col("legal_name").alias("法定代表人"),
        pl.col("founded").alias("成立登记日期"),
    )


def _subsidies(c: City, r: np.random.Generator) -> pl.DataFrame:
    p = _sample(c.persons.filter(pl.col("employer") < 0), 0.03, r)
    return p.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        pl.col("address").alias("家庭住址"),
        pl.Series(r.integers(1, 5, p.height)).alias("保障人数"),
        pl.Series((r.integers(6, 12, p.height) * 100).astype(float)).alias("月保障金额"),
        pl.col("pidx").alias("__pidx"),
    )


def _elderly_homes(c: City, r: np.random.Generator) -> pl.DataFrame:
    d = c.districts
    return d.select(
        (pl.col("name") + "社会福利中心").alias("机构名称"),
        pl.col("code").alias("所在区县代码"),
        pl.Series(r.integers(50, 600, d.height)).alias("床位数"),
        pl.lit("公办").alias("性质"),
    )


def _emission_permits(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = c.enterprises.filter(pl.col("industry").is_in(["机械制造", "食品", "医药"]))
    return e.select(
        (pl.col("uscc") + "001P").alias("许可证编号"),
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("单位名称"),
        pl.lit("重点管理").alias("管理类别"),
        (pl.col("founded") + pl.duration(days=1825)).alias("有效期至"),
        pl.col("eidx").alias("__eidx"),
    )


def _air_quality(c: City, r: np.random.Generator) -> pl.DataFrame:
    days = pl.date_range(date(2024, 1, 1), date(2024, 12, 31), eager=True)
    stations = ["鼓山", "五四北", "杨桥西路", "快安", "师大", "紫阳"]
    frame = pl.DataFrame({"监测日期": days}).join(
        pl.DataFrame({"监测站点": stations}), how="cross", maintain_order="left_right"
    )
    n = frame.height
    return frame.with_columns(
        pl.Series("AQI", r.integers(15, 120, n)),
        pl.Series("PM2_5浓度", r.uniform(5, 60, n).round(1)),
    )


def _transport_permits(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = c.enterprises.filter(pl.col("industry") == "物流")
    return e.select(
        ("闽交运管许可榕字" + pl.col("uscc").str.slice(8, 9)).alias("许可证号"),
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("业户名称"),
        pl.lit("道路普通货物运输").alias("经营范围"),
        (pl.col("founded") + pl.duration(days=1460)).alias("有效期至"),
        pl.col("eidx").alias("__eidx"),
    )


def _bus_lines(c: City, r: np.random.Generator) -> pl.DataFrame:
    n = 60
    return pl.DataFrame(
        {
            "线路编号": [f"{i}路" for i in range(1, n + 1)],
            "起点站": r.choice(["火车站", "五一广场", "福州大学", "三坊七巷", "马尾港"], n),
            "终点站": r.choice(["机场", "长乐", "大学城", "鼓山", "东湖"], n),
            "线路长度公里": r.uniform(8, 40, n).round(1),
            "日均客运量": r.integers(2000, 40000, n),
        }
    )


def _taxis(c: City, r: np.random.Generator) -> pl.DataFrame:
    drivers = _sample(
        c.persons.filter((pl.col("birth") < pl.date(1995, 1, 1)) & (pl.col("sex") == "1")), 0.02, r
    )
    n = drivers.height
    return drivers.select(
        (pl.lit("闽AT") + pl.Series(np.arange(1000, 1000 + n)).cast(pl.String)).alias("车牌号码"),
        pl.col("id").alias("驾驶员身份证号"),
        pl.col("name").alias("驾驶员姓名"),
        _dates(r, n, "2018-01-01", 2000).alias("注册日期"),
        pl.col("pidx").alias("__pidx"),
    )


def _gdp(c: City, r: np.random.Generator) -> pl.DataFrame:
    quarters = [f"{y}Q{q}" for y in range(2016, 2025) for q in range(1, 5)]
    base = np.cumsum(r.uniform(0.01, 0.03, len(quarters))) + 1
    return pl.DataFrame(
        {
            "统计期": quarters,
            "地区": "福州市",
            "地区生产总值亿元": (2500 * base * np.tile([0.9, 1.0, 1.05, 1.15], 9)).round(2),
            "同比增长率": r.uniform(3, 9, len(quarters)).round(1),
        }
    )


def _industry_monthly(c: City, r: np.random.Generator) -> pl.DataFrame:
    months = pl.date_range(date(2019, 1, 1), date(2024, 12, 1), "1mo", eager=True)
    return pl.DataFrame(
        {
            "统计月份": months,
            "规上工业增加值增速": r.uniform(-2, 12, months.len()).round(1),
            "规上工业企业数": r.integers(2800, 3400, months.len()),
        }
    )


def _cpi(c: City, r: np.random.Generator) -> pl.DataFrame:
    months = pl.date_range(date(2019, 1, 1), date(2024, 12, 1), "1mo", eager=True)
    return pl.DataFrame(
        {"统计月份": months, "居民消费价格指数": (100 + r.normal(1.5, 1.0, months.len())).round(1)}
    )


def _population_yearly(c: City, r: np.random.Generator) -> pl.DataFrame:
    years = list(range(2010, 2025))
    return pl.DataFrame(
        {
            "年份": years,
            "常住人口万人": (711 + np.cumsum(r.uniform(5, 15, len(years)))).round(1),
            "城镇化率": (60 + np.cumsum(r.uniform(0.3, 1.0, len(years)))).round(1),
        }
    )


def _builders(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = c.enterprises.filter(pl.col("industry") == "建设工程")
    return e.select(
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("企业名称"),
        pl.lit("建筑工程施工总承包").alias("资质类别"),
        pl.Series(r.choice(["特级", "一级", "二级", "三级"], e.height)).alias("资质等级"),
        pl.col("eidx").alias("__eidx"),
    )


def _house_sales(c: City, r: np.random.Generator) -> pl.DataFrame:
    buyers = _sample(c.persons.filter(pl.col("birth") < pl.date(2000, 1, 1)), 0.03, r)
    n = buyers.height
    return buyers.select(
        (pl.lit("FZ2023") + pl.Series(np.arange(10000, 10000 + n)).cast(pl.String)).alias(
            "合同备案号"
        ),
        pl.col("id").alias("买受人身份证号"),
        pl.col("name").alias("买受人姓名"),
        (pl.col("district") + "某小区").alias("房屋坐落"),
        pl.Series(r.uniform(50, 160, n).round(2)).alias("建筑面积"),
        pl.Series((r.uniform(1.2, 4.5, n) * 1e6).round(2)).alias("合同金额"),
        _dates(r, n, "2023-01-01", 365).alias("备案日期"),
        pl.col("pidx").alias("__pidx"),
    )


def _property_firms(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = c.enterprises.filter(pl.col("industry") == "房地产开发")
    return e.select(
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("企业名称"),
        pl.col("legal_name").alias("法定代表人"),
        pl.Series(r.integers(1, 30, e.height)).alias("在管项目数"),
        pl.col("eidx").alias("__eidx"),
    )


def _credit_list(kind: str) -> Builder:
    def build(c: City, r: np.random.Generator) -> pl.DataFrame:
        e = _sample(c.enterprises, 0.05 if kind == "red" else 0.02, r)
        return e.select(
            pl.col("uscc").alias("统一社会信用代码"),
            pl.col("name").alias("主体名称"),
            pl.lit("纳税信用A级" if kind == "red" else "严重违法失信").alias("列入事由"),
            _dates(r, e.height, "2023-01-01", 365).alias("列入日期"),
            pl.col("eidx").alias("__eidx"),
        )

    return build


def _commitments(c: City, r: np.random.Generator) -> pl.DataFrame:
    e = _sample(c.enterprises, 0.2, r)
    return e.select(
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("承诺主体"),
        pl.lit("告知承诺制审批").alias("承诺类型"),
        _dates(r, e.height, "2023-01-01", 365).alias("承诺日期"),
        pl.col("eidx").alias("__eidx"),
    )


def _d(name: str) -> dict[str, Any]:
    return item(name, "D")


def _n(name: str, scale: int | None = None) -> dict[str, Any]:
    return item(name, "N", scale=scale)


TABLES: list[Table] = [
    # 公安 — population base data, UTF-8 CSV
    Table(
        "GA",
        "常住人口基本信息",
        "101001",
        [
            ID,
            NAME,
            item("性别", length=1, description="GB/T 2261.1"),
            item("民族", length=10),
            _d("出生日期"),
            item("户籍地址", length=200),
            PHONE,
        ],
        "csv",
        _persons,
        key=["身份证号"],
        abstract="全市常住人口的身份、户籍和联系信息（人口基础库来源）",
        update_cycle="每日",
    ),
    Table(
        "GA",
        "出生登记信息",
        "101002",
        [ID, NAME, item("性别", length=1), _d("出生日期"), item("出生地", length=50)],
        "csv",
        _births,
        key=["身份证号"],
    ),
    Table(
        "GA",
        "死亡注销信息",
        "101003",
        [WRAPPED_ID, NAME, _d("注销日期"), item("注销原因", length=20)],
        "csv",
        _deaths,
        key=["身份证号"],
        share_type="有条件共享",
    ),
    Table(
        "GA",
        "机动车驾驶证信息",
        "105001",
        [
            item("驾驶证号", length=20, required=True),
            ID,
            NAME,
            item("准驾车型", length=10),
            _d("初次领证日期"),
            _d("有效期至"),
        ],
        "csv",
        _licences,
        key=["驾驶证号"],
        abstract="驾驶证电子证照（电子证照库来源）",
    ),
    Table(
        "GA",
        "居民身份证签发信息",
        "101004",
        [ID, NAME, _d("签发日期"), _d("有效期限"), item("签发机关", length=50)],
        "csv",
        _id_cards,
        key=["身份证号"],
        share_type="有条件共享",
    ),
    # 市场监管 — legal entities, XLSX
    Table(
        "SCJG",
        "企业登记基本信息",
        "102001",
        [
            USCC,
            item("企业名称", length=100, required=True),
            item("企业类型", length=20),
            item("法定代表人", length=50),
            item("法定代表人身份证号", length=18),
            _n("注册资本", 2),
            _d("成立日期"),
            item("住所", length=200),
            item("行业", length=20),
            item("登记状态", length=10),
        ],
        "xlsx",
        _enterprises,
        key=["统一社会信用代码"],
        abstract="市场主体登记信息（法人基础库来源）",
        update_cycle="每日",
        date_style="slash",
    ),
    Table(
        "SCJG",
        "企业营业执照信息",
        "105002",
        [
            USCC,
            item("企业名称", length=100),
            item("法定代表人", length=50),
            _d("发照日期"),
            item("营业期限", length=20),
        ],
        "xlsx",
        _business_licences,
        key=["统一社会信用代码"],
        abstract="营业执照电子证照",
        open_type="无条件开放",
    ),
    Table(
        "SCJG",
        "市场监管行政处罚信息",
        "302001",
        [
            item("处罚决定书文号", length=50, required=True),
            USCC,
            item("当事人名称", length=100),
            item("违法行为", length=100),
            item("罚款金额", "Y"),
            _d("处罚日期"),
        ],
        "xlsx",
        lambda c, r: _penalties(c, r, "SCJG"),
        key=["处罚决定书文号"],
        open_type="无条件开放",
    ),
    Table(
        "SCJG",
        "企业年度报告信息",
        "302002",
        [
            USCC,
            item("企业名称", length=100),
            _n("年报年度", 0),
            _n("从业人数", 0),
            _n("营业总收入", 2),
        ],
        "xlsx",
        _annual_reports,
        key=["统一社会信用代码"],
        update_cycle="每年",
    ),
    # 税务 — GBK CSV
    Table(
        "SW",
        "纳税人登记信息",
        "302003",
        [
            item("纳税人识别号", length=18, required=True),
            item("纳税人名称", length=100),
            item("法定代表人", length=50),
            _d("登记日期"),
            item("生产经营地址", length=200),
            item("纳税人类型", length=20),
        ],
        "gbk",
        _taxpayers,
        key=["纳税人识别号"],
        date_style="chinese",
    ),
    Table(
        "SW",
        "纳税信用等级评价信息",
        "302004",
        [
            item("纳税人识别号", length=18, required=True),
            item("纳税人名称", length=100),
            _n("评价年度", 0),
            item("信用等级", length=2),
        ],
        "gbk",
        _tax_credit,
        key=["纳税人识别号"],
        update_cycle="每年",
        open_type="有条件开放",  # 受限开放: by application with a signed pledge
        open_condition="用于信用研究、风控建模等，须说明用途场景并签署数据安全承诺",
    ),
    Table(
        "SW",
        "欠税公告信息",
        "302005",
        [
            item("纳税人识别号", length=18, required=True),
            item("纳税人名称", length=100),
            item("法定代表人", length=50),
            item("欠税余额", "Y"),
            item("欠税税种", length=20),
        ],
        "gbk",
        _tax_arrears,
        key=["纳税人识别号"],
        update_cycle="每季度",
        open_type="无条件开放",
    ),
    Table(
        "SW",
        "发票领用信息",
        "302006",
        [
            item("纳税人识别号", length=18, required=True),
            item("发票种类", length=20),
            _n("领用份数", 0),
            _d("领用日期"),
        ],
        "gbk",
        _invoices,
        share_type="有条件共享",
        date_style="compact",
    ),
    # 人社 — SQLite department system
    Table(
        "RS",
        "参保人员信息",
        "303001",
        [
            ID,
            NAME,
            item("社会保障号码", length=18),
            item("参保单位统一社会信用代码", length=18),
            _d("参保日期"),
            item("联系地址", length=200),
            PHONE,
        ],
        "sqlite",
        _insured,
        key=["身份证号"],
        abstract="社会保险参保人员（社会保障号码的权威来源）",
    ),
    Table(
        "RS",
        "就业登记信息",
        "303002",
        [
            ID,
            NAME,
            item("用工单位统一社会信用代码", length=18),
            item("用工单位名称", length=100),
            _d("就业登记日期"),
        ],
        "sqlite",
        _employment,
    ),
    Table(
        "RS",
        "失业登记信息",
        "303003",
        [ID, NAME, _d("失业登记日期"), PHONE],
        "sqlite",
        _unemployed,
        key=["身份证号"],
        share_type="有条件共享",
    ),
    Table(
        "RS",
        "职业资格证书信息",
        "105003",
        [
            item("证书编号", length=20, required=True),
            ID,
            NAME,
            item("职业名称", length=20),
            item("等级", length=10),
            _d("发证日期"),
        ],
        "sqlite",
        _qualifications,
        key=["证书编号"],
    ),
    # 卫健 — UTF-8 CSV with BOM
    Table(
        "WJ",
        "出生医学证明信息",
        "105004",
        [
            item("出生医学证明编号", length=20, required=True),
            item("新生儿姓名", length=50),
            item("性别", length=1),
            _d("出生日期"),
            item("接生机构", length=50),
        ],
        "csv-bom",
        _birth_certs,
        key=["出生医学证明编号"],
        share_type="有条件共享",
    ),
    Table(
        "WJ",
        "医疗机构执业许可信息",
        "105005",
        [
            USCC,
            item("机构名称", length=100),
            item("机构类别", length=20),
            item("主要负责人", length=50),
            item("地址", length=200),
            _d("许可证有效期至"),
        ],
        "csv-bom",
        _institutions,
        key=["统一社会信用代码"],
        open_type="无条件开放",
    ),
    Table(
        "WJ",
        "执业医师注册信息",
        "105006",
        [ID, NAME, item("执业类别", length=20), _d("注册日期")],
        "csv-bom",
        _doctors,
        key=["身份证号"],
    ),
    Table(
        "WJ",
        "预防接种信息",
        "303004",
        [
            item("受种者身份证号", length=18, required=True),
            item("受种者姓名", length=50),
            item("疫苗名称", length=50),
            _d("接种日期"),
        ],
        "csv-bom",
        _vaccinations,
        share_type="不予共享",
    ),
    Table(
        "WJ",
        "儿童健康档案信息",
        "303013",
        [
            item("身份证号", length=18, description="儿童本人或监护人的公民身份号码"),
            item("姓名", length=50, required=True),
            item("性别", length=1),
            _d("出生日期"),
            item("监护人姓名", length=50),
            PHONE,
            _d("建档日期"),
        ],
        "csv-bom",
        _child_health,
        share_type="有条件共享",
        abstract="0–13 岁儿童健康管理档案（基本公共卫生服务）",
    ),
    Table(
        "WJ",
        "老年人健康管理信息",
        "303014",
        [ID, NAME, item("性别", length=1), _d("出生日期"), PHONE, _d("随访日期")],
        "csv-bom",
        _elderly_health,
        share_type="有条件共享",
        abstract="65 岁及以上老年人健康管理随访记录（基本公共卫生服务）",
    ),
    # 教育 — XLSX
    Table(
        "JY",
        "在校学生学籍信息",
        "303005",
        [WRAPPED_ID, NAME, item("性别", length=1), item("学校名称", length=100), _d("入学日期")],
        "xlsx",
        _students,
        key=["身份证号"],
        update_cycle="每半年",
    ),
    Table(
        "JY",
        "学校基本信息",
        "303006",
        [
            item("学校名称", length=100, required=True),
            item("所在区县代码", length=6),
            item("办学性质", length=10),
            _n("在校生数", 0),
        ],
        "xlsx",
        _schools,
        key=["学校名称"],
        open_type="无条件开放",
        update_cycle="每年",
    ),
    Table(
        "JY",
        "教师资格证信息",
        "105007",
        [ID, NAME, item("资格种类", length=20), _d("发证日期")],
        "xlsx",
        _teachers,
        key=["身份证号"],
    ),
    # 民政 — GBK CSV
    Table(
        "MZ",
        "婚姻登记信息",
        "303007",
        [
            item("男方身份证号", length=20, required=True),
            item("男方姓名", length=50),
            item("女方身份证号", length=20, required=True),
            item("女方姓名", length=50),
            _d("登记日期"),
            item("登记类型", length=10),
        ],
        "gbk",
        _marriages,
        share_type="有条件共享",
        date_style="chinese",
    ),
    Table(
        "MZ",
        "社会组织登记信息",
        "102002",
        [
            USCC,
            item("社会组织名称", length=100),
            item("组织类型", length=20),
            item("法定代表人", length=50),
            _d("成立登记日期"),
        ],
        "gbk",
        _social_orgs,
        key=["统一社会信用代码"],
        open_type="无条件开放",
    ),
    Table(
        "MZ",
        "最低生活保障对象信息",
        "303008",
        [ID, NAME, item("家庭住址", length=200), _n("保障人数", 0), item("月保障金额", "Y")],
        "gbk",
        _subsidies,
        key=["身份证号"],
        share_type="有条件共享",
    ),
    Table(
        "MZ",
        "养老机构信息",
        "303009",
        [
            item("机构名称", length=100, required=True),
            item("所在区县代码", length=6),
            _n("床位数", 0),
            item("性质", length=10),
        ],
        "gbk",
        _elderly_homes,
        key=["机构名称"],
        open_type="无条件开放",
        update_cycle="每年",
    ),
    # 生态环境 — JSON lines
    Table(
        "HB",
        "排污许可证信息",
        "105008",
        [
            item("许可证编号", length=30, required=True),
            USCC,
            item("单位名称", length=100),
            item("管理类别", length=20),
            _d("有效期至"),
        ],
        "jsonl",
        _emission_permits,
        key=["许可证编号"],
        open_type="无条件开放",
    ),
    Table(
        "HB",
        "环境行政处罚信息",
        "302007",
        [
            item("处罚决定书文号", length=50, required=True),
            USCC,
            item("当事人名称", length=100),
            item("违法行为", length=100),
            item("罚款金额", "Y"),
            _d("处罚日期"),
        ],
        "jsonl",
        lambda c, r: _penalties(c, r, "HB"),
        key=["处罚决定书文号"],
        open_type="无条件开放",
    ),
    Table(
        "HB",
        "空气质量日报",
        "201001",
        [_d("监测日期"), item("监测站点", length=20), _n("AQI", 0), _n("PM2_5浓度", 1)],
        "jsonl",
        _air_quality,
        update_cycle="每日",
        open_type="无条件开放",
    ),
    # 交通 — UTF-8 CSV
    Table(
        "JT",
        "道路运输经营许可信息",
        "105009",
        [
            item("许可证号", length=30, required=True),
            USCC,
            item("业户名称", length=100),
            item("经营范围", length=50),
            _d("有效期至"),
        ],
        "csv",
        _transport_permits,
        key=["许可证号"],
        open_type="无条件开放",
    ),
    Table(
        "JT",
        "公交线路信息",
        "201002",
        [
            item("线路编号", length=10, required=True),
            item("起点站", length=20),
            item("终点站", length=20),
            _n("线路长度公里", 1),
            _n("日均客运量", 0),
        ],
        "csv",
        _bus_lines,
        key=["线路编号"],
        open_type="无条件开放",
        update_cycle="每季度",
    ),
    Table(
        "JT",
        "巡游出租车车辆信息",
        "303010",
        [
            item("车牌号码", length=10, required=True),
            item("驾驶员身份证号", length=18),
            item("驾驶员姓名", length=50),
            _d("注册日期"),
        ],
        "csv",
        _taxis,
        key=["车牌号码"],
    ),
    # 统计 — macro economy, XLSX
    Table(
        "TJ",
        "地区生产总值季度数据",
        "103001",
        [
            item("统计期", length=10, required=True),
            item("地区", length=20),
            _n("地区生产总值亿元", 2),
            _n("同比增长率", 1),
        ],
        "xlsx",
        _gdp,
        key=["统计期"],
        update_cycle="每季度",
        open_type="无条件开放",
    ),
    Table(
        "TJ",
        "规模以上工业增加值月度数据",
        "103002",
        [_d("统计月份"), _n("规上工业增加值增速", 1), _n("规上工业企业数", 0)],
        "xlsx",
        _industry_monthly,
        update_cycle="每月",
        open_type="无条件开放",
    ),
    Table(
        "TJ",
        "居民消费价格指数月度数据",
        "103003",
        [_d("统计月份"), _n("居民消费价格指数", 1)],
        "xlsx",
        _cpi,
        update_cycle="每月",
        open_type="无条件开放",
    ),
    Table(
        "TJ",
        "常住人口年度数据",
        "103004",
        [_n("年份", 0), _n("常住人口万人", 1), _n("城镇化率", 1)],
        "xlsx",
        _population_yearly,
        key=["年份"],
        update_cycle="每年",
        open_type="无条件开放",
    ),
    # 住建 — GBK CSV
    Table(
        "ZJ",
        "建筑业企业资质信息",
        "105010",
        [
            USCC,
            item("企业名称", length=100),
            item("资质类别", length=50),
            item("资质等级", length=10),
        ],
        "gbk",
        _builders,
        key=["统一社会信用代码"],
        open_type="无条件开放",
    ),
    Table(
        "ZJ",
        "商品房网签备案信息",
        "303011",
        [
            item("合同备案号", length=20, required=True),
            item("买受人身份证号", length=18),
            item("买受人姓名", length=50),
            item("房屋坐落", length=100),
            _n("建筑面积", 2),
            item("合同金额", "Y"),
            _d("备案日期"),
        ],
        "gbk",
        _house_sales,
        key=["合同备案号"],
        share_type="有条件共享",
    ),
    Table(
        "ZJ",
        "物业服务企业信息",
        "303012",
        [USCC, item("企业名称", length=100), item("法定代表人", length=50), _n("在管项目数", 0)],
        "gbk",
        _property_firms,
        key=["统一社会信用代码"],
    ),
    # 信用办 — SQLite
    Table(
        "XY",
        "守信激励对象名单",
        "104001",
        [USCC, item("主体名称", length=100), item("列入事由", length=50), _d("列入日期")],
        "sqlite",
        _credit_list("red"),
        open_type="无条件开放",
    ),
    Table(
        "XY",
        "失信惩戒对象名单",
        "104002",
        [USCC, item("主体名称", length=100), item("列入事由", length=50), _d("列入日期")],
        "sqlite",
        _credit_list("black"),
        open_type="无条件开放",
    ),
    Table(
        "XY",
        "信用承诺信息",
        "104003",
        [USCC, item("承诺主体", length=100), item("承诺类型", length=20), _d("承诺日期")],
        "sqlite",
        _commitments,
    ),
]


__all__ = ["DEPARTMENTS", "TABLES", "Table"]
