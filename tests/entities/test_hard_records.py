"""Hard Chinese records, written by hand on top of a background city: traditional characters,
homophones, 15-digit IDs, one wrong digit, middle-dot variants, compound surnames, full-width
digits, twins, people who moved. Each must land in the right file (or, for twins, at worst in the
review queue) — never in a wrong one. Also the clerical review cycle and its errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.demo.population import make_city
from shuhai.entities import store
from shuhai.entities.build import build_base
from shuhai.entities.service import (
    current,
    decide,
    profile,
    review_pair,
    review_queue,
    save_base,
    search_files,
)
from shuhai.errors import Conflict, InvalidInput, NotFound, ShuhaiError
from shuhai.ingest import ingest

ITEMS_GA = ["身份证号", "姓名", "性别", "出生日期", "户籍地址", "联系电话"]
ITEMS_RS = ["身份证号", "姓名", "性别", "出生日期", "联系地址", "联系电话"]

# The people the hard records are about (added to the 公安 register).
PEOPLE = [
    # id, name, sex, birth, address, phone
    (
        "350102198001010014",
        "张伟",
        "1",
        "1980-01-01",
        "福建省福州市鼓楼区东街街道12号",
        "13800000001",
    ),
    (
        "350102199203040025",
        "欧阳娜娜",
        "2",
        "1992-03-04",
        "福建省福州市台江区上海街道8号",
        "13800000002",
    ),
    (
        "650102198505050033",
        "艾力·买买提",
        "1",
        "1985-05-05",
        "福建省福州市仓山区城门镇3号",
        "13800000003",
    ),
    ("350103201001010026", "林玲", "2", "2010-01-01", "福建省福州市晋安区鼓山镇5号", "13800000004"),
    ("350103201001010042", "林琳", "2", "2010-01-01", "福建省福州市晋安区鼓山镇5号", "13800000004"),
    (
        "350104197007070015",
        "司马光明",
        "1",
        "1970-07-07",
        "福建省福州市马尾区罗星街道9号",
        "13800000005",
    ),
]


def _fix_check(body17: str) -> str:
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body17 + "10X98765432"[sum(int(c) * k for c, k in zip(body17, w, strict=True)) % 11]


PEOPLE = [(_fix_check(p[0][:17]), *p[1:]) for p in PEOPLE]
ZHANG, OUYANG, AILI, LIN_LING, LIN_LIN, SIMA = (p[0] for p in PEOPLE)

# Records a second department holds, each with one of the difficulties.
HARD = [
    # (expected person id or None, id as written, name as written, sex, birth, address, phone)
    (ZHANG, ZHANG[:6] + ZHANG[8:17], "張偉", "1", "1980-01-01", "", ""),  # 15 digits, traditional
    (
        ZHANG,
        ZHANG[:10] + str((int(ZHANG[10]) + 1) % 10) + ZHANG[11:],
        "章伟",
        "1",
        "1980-01-01",
        "",
        "13800000001",
    ),  # one wrong digit, homophone
    (
        OUYANG,
        "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in OUYANG),
        "欧阳娜娜",
        "2",
        "1992-03-04",
        "",
        "",
    ),  # full-width digits
    (AILI, "", "艾力•买买提", "1", "1985-05-05", "", "13800000003"),  # no ID, bullet for the dot
    (
        AILI,
        "",
        "艾力 · 买买提",
        "1",
        "1985-05-05",
        "福建省福州市仓山区城门镇3号",
        "",
    ),  # spaces around the dot
    (
        SIMA,
        "",
        "司马光明",
        "1",
        "1970-07-07",
        "福建省福州市鼓楼区五一中路1号",
        "13800000005",
    ),  # compound surname, moved
    (
        LIN_LIN,
        "",
        "林琳",
        "2",
        "2010-01-01",
        "福建省福州市晋安区鼓山镇5号",
        "13800000004",
    ),  # twin, no ID
]


def _base_config(*more: dict) -> dict:
    """The test's population base: 户籍人口 (the authority) and 参保人员, and ``more`` members."""
    return {
        "name": "人口库",
        "members": [
            {"resource": "户籍人口", "id": "身份证号", "attributes": {a: a for a in ITEMS_GA[1:]}},
            {"resource": "参保人员", "id": "身份证号", "attributes": {a: a for a in ITEMS_RS[1:]}},
            *more,
        ],
        "authority": {"姓名": "户籍人口", "出生日期": "户籍人口"},
    }


@pytest.fixture
def hard(config: Config, tmp_path: Path) -> Config:
    cat = Catalog(config)
    cat.add_department({"name": "公安", "code": "GA"})
    cat.add_department({"name": "人社", "code": "RS"})
    for name, dept, items in (("户籍人口", "GA", ITEMS_GA), ("参保人员", "RS", ITEMS_RS)):
        cat.register(
            {
                "name": name,
                "department": dept,
                "classification": "101001" if dept == "GA" else "303001",
                "key_columns": ["身份证号"] if dept == "GA" else [],
                "items": [{"name": i, "data_type": "D" if i == "出生日期" else "C"} for i in items],
            }
        )
    city = make_city(1500, 3).persons
    background = city.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        pl.col("sex").alias("性别"),
        pl.col("birth").cast(pl.String).alias("出生日期"),
        pl.col("address").alias("户籍地址"),
        pl.col("phone").alias("联系电话"),
    )
    people = pl.DataFrame(PEOPLE, schema=ITEMS_GA, orient="row")
    pl.concat([background, people]).write_csv(tmp_path / "ga.csv")
    ingest(config, "户籍人口", str(tmp_path / "ga.csv"))
    others = background.head(600).rename({"户籍地址": "联系地址"})
    rows = pl.DataFrame([h[1:] for h in HARD], schema=ITEMS_RS, orient="row")
    pl.concat([others, rows]).write_csv(tmp_path / "rs.csv")
    ingest(config, "参保人员", str(tmp_path / "rs.csv"))
    save_base(config, _base_config())
    build_base(config, "人口库")
    return config


def _file_of(config: Config, person_id: str) -> str:
    found = search_files(config, "人口库", person_id)
    assert found["total"] == 1, person_id
    return str(found["items"][0]["file_id"])


def _records(config: Config) -> pl.DataFrame:
    return store.load(current(config, "人口库")[1], "records")


def test_each_hard_record_lands_in_its_persons_file(hard: Config) -> None:
    records = _records(hard).filter(pl.col("resource_id") == 2).sort("run", "line").tail(len(HARD))
    pending = {(p["record_key"], p["file_id"]) for p in review_queue(hard, "人口库")}
    for (expected, *_rest), rec in zip(HARD, records.iter_rows(named=True), strict=True):
        want = _file_of(hard, expected)
        if expected == LIN_LIN:  # a twin: linked to her, or asked about — never to her sister
            assert rec["file_id"] != _file_of(hard, LIN_LING)
            assert rec["file_id"] == want or (rec["key"], want) in pending
        else:
            assert rec["file_id"] == want, (rec["name"], rec["id"], rec["method"])


def test_twins_keep_separate_files(hard: Config) -> None:
    assert _file_of(hard, LIN_LING) != _file_of(hard, LIN_LIN)


def test_golden_name_comes_from_the_authority_not_the_variant(hard: Config) -> None:
    p = profile(hard, "人口库", _file_of(hard, ZHANG))
    golden = {g["attribute"]: g["value"] for g in p["golden"]}
    assert golden["姓名"] == "张伟"
    names = {s["values"].get("姓名") for s in p["sources"]}
    assert {"张伟", "章伟"} <= names  # 張偉 is standardized to 张伟; 章伟 is a real variant
    assert any(d["attribute"] == "姓名" for d in p["disagreements"])


def test_review_accept_is_applied_and_reused(hard: Config, tmp_path: Path) -> None:
    # A third record: the twins' look-alike name with their shared facts: uncertain.
    _add_look_alike(hard, tmp_path)
    build_base(hard, "人口库")
    queue = review_queue(hard, "人口库")
    assert queue, "an uncertain pair must be queued"
    pairs = [review_pair(hard, "人口库", q["id"]) for q in queue]
    pair = next(p for p in pairs if p["record"]["fields"]["name"] == "林淋")
    assert (
        pair["evidence"]["levels"]["name"]["level"]
        and pair["evidence"]["levels"]["birth"]["weight"] > 0
    )
    target = pair["file_id"]
    decide(hard, "人口库", pair["id"], "accept", actor="审核员甲")
    b = build_base(hard, "人口库")
    assert b["counts"]["linked_by_review"] == 1
    rec = _records(hard).filter(pl.col("name") == "林淋").row(0, named=True)
    assert rec["file_id"] == target and rec["method"] == "review"
    events = profile(hard, "人口库", target)["events"]
    assert any(e["kind"] == "merge" and "复核" in e["reason"] for e in events)
    again = build_base(hard, "人口库", full=True)  # the decision is reused from scratch
    assert again["counts"]["linked_by_review"] == 1
    assert _records(hard).filter(pl.col("name") == "林淋")["file_id"][0] == target
    decide(hard, "人口库", pair["id"], "reject", actor="审核员甲", note="复查后否定")
    changed = build_base(hard, "人口库")  # a changed decision is applied by an update too
    assert changed["mode"] == "incremental" and changed["counts"]["linked_by_review"] == 0
    assert _records(hard).filter(pl.col("name") == "林淋")["file_id"][0] != target


def test_review_reject_keeps_records_apart(hard: Config, tmp_path: Path) -> None:
    _add_look_alike(hard, tmp_path)
    build_base(hard, "人口库")
    for p in review_queue(hard, "人口库"):
        if review_pair(hard, "人口库", p["id"])["record"]["fields"]["name"] == "林淋":
            decide(hard, "人口库", p["id"], "reject", actor="审核员乙")
    build_base(hard, "人口库", full=True)
    rec = _records(hard).filter(pl.col("name") == "林淋").row(0, named=True)
    assert rec["file_id"] not in (_file_of(hard, LIN_LIN), _file_of(hard, LIN_LING))
    asked = [review_pair(hard, "人口库", p["id"]) for p in review_queue(hard, "人口库")]
    assert all(p["record"]["fields"]["name"] != "林淋" for p in asked)  # not asked again


def test_decisions_on_vanished_or_unknown_pairs_are_refused(hard: Config, tmp_path: Path) -> None:
    _add_look_alike(hard, tmp_path)
    build_base(hard, "人口库")
    pair = next(
        p
        for p in review_queue(hard, "人口库")
        if review_pair(hard, "人口库", p["id"])["record"]["fields"]["name"] == "林淋"
    )
    # The department withdraws its delivery: the record is gone, so is the pair.
    rs = pl.read_csv(tmp_path / "rs.csv", infer_schema=False)
    rs.write_csv(tmp_path / "rs_again.csv")
    ingest(hard, "参保人员", str(tmp_path / "rs_again.csv"), mode="replace")
    build_base(hard, "人口库")
    with pytest.raises(Conflict):
        decide(hard, "人口库", pair["id"], "accept", actor="x")
    with pytest.raises(NotFound):
        decide(hard, "人口库", 99999, "accept", actor="x")
    with pytest.raises(InvalidInput):
        decide(hard, "人口库", pair["id"], "maybe", actor="x")


def _rows(tmp_path: Path, rows: list[tuple]) -> Path:
    path = tmp_path / f"extra{len(list(tmp_path.glob('extra*')))}.csv"
    pl.DataFrame(rows, schema=ITEMS_RS, orient="row").write_csv(path)
    return path


def _add_look_alike(config: Config, tmp_path: Path) -> None:
    """The twins' look-alike name (林淋) with their shared facts and no ID: an uncertain record."""
    row = ("", "林淋", "2", "2010-01-01", "福建省福州市晋安区鼓山镇5号", "13800000004")
    ingest(config, "参保人员", str(_rows(tmp_path, [row])), mode="append")


def test_the_review_queue_pages_with_a_total_and_never_cuts_silently(
    hard: Config, tmp_path: Path
) -> None:
    from shuhai.entities.service import review_page
    from shuhai.errors import InvalidInput

    _add_look_alike(hard, tmp_path)
    build_base(hard, "人口库")

    whole = review_page(hard, "人口库", status="all", limit=1000)  # more than 500: honoured
    total = whole["total"]
    assert total > 0 and len(whole["items"]) == min(total, 1000)
    first, rest = (
        review_page(hard, "人口库", status="all", limit=1),
        review_page(hard, "人口库", status="all", limit=1000, offset=1),
    )
    assert [p["id"] for p in first["items"] + rest["items"]] == [p["id"] for p in whole["items"]]
    assert review_page(hard, "人口库", status="all", offset=total)["items"] == []
    with pytest.raises(InvalidInput):
        review_page(hard, "人口库", limit=0)


def test_an_id_that_contradicts_its_record_is_evidence_not_identity(
    hard: Config, tmp_path: Path
) -> None:
    """A child's health record carrying a parent's ID (卫健 data for under-14s): the number is
    valid, but the record's own birth date and sex contradict what it encodes, so it does not
    anchor the child into the parent's file. Department formats of the same ID do link."""
    child = (ZHANG, "张小宝", "2", "2018-06-01", "福建省福州市鼓楼区东街街道12号", "")
    student = ("G" + OUYANG, "欧阳娜娜", "2", "1992-03-04", "", "")  # 学籍号 = G + ID
    excel = ("'" + SIMA, "司马光明", "1", "1970-07-07", "", "")  # Excel's text apostrophe
    ingest(hard, "参保人员", str(_rows(tmp_path, [child, student, excel])), mode="append")
    build_base(hard, "人口库")
    records = _records(hard).filter(pl.col("resource_id") == 2).sort("run", "line").tail(3)
    by_name = {r["name"]: r for r in records.iter_rows(named=True)}
    assert by_name["张小宝"]["file_id"] != _file_of(hard, ZHANG)
    assert by_name["张小宝"]["method"] != "id"
    assert by_name["欧阳娜娜"]["file_id"] == _file_of(hard, OUYANG)
    assert by_name["司马光明"]["file_id"] == _file_of(hard, SIMA)
    # the parent's golden record keeps the parent's own facts
    golden = {
        g["attribute"]: g["value"] for g in profile(hard, "人口库", _file_of(hard, ZHANG))["golden"]
    }
    assert golden["出生日期"] == "1980-01-01"


def test_every_source_record_can_be_traced_to_its_file(hard: Config, tmp_path: Path) -> None:
    """The record-to-file export (CLI, library) and its paged API twin say, for each source
    record, which file it went to and how; two builds of the same input give the same ids."""
    from shuhai.access.policy import Viewer, operator
    from shuhai.serve import files

    out = tmp_path / "records.csv"
    n = files.export_records(hard, operator(), "人口库", out, "csv")
    exported = pl.read_csv(out, infer_schema_length=0)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") and exported.height == n
    assert set(exported.columns) >= {"resource_id", "version", "line", "key", "file_id", "method"}
    assert n == _records(hard).height
    methods = {"id", "former_id", "partial_id", "splink", "review", "new"}
    assert set(exported["method"].to_list()) <= methods
    page = files.records(hard, operator(), "人口库", limit=5, offset=0)
    assert page["total"] == n and len(page["items"]) == 5
    before = dict(zip(exported["key"], exported["file_id"], strict=True))
    build_base(hard, "人口库", full=True)
    files.export_records(hard, operator(), "人口库", out, "parquet")
    after = pl.read_parquet(out)
    assert dict(zip(after["key"], after["file_id"], strict=True)) == before
    with pytest.raises(ShuhaiError):  # the public does not read base databases
        files.records(hard, Viewer(), "人口库")
    with pytest.raises(ShuhaiError):
        files.export_records(hard, operator(), "人口库", out, "xlsx")
    with pytest.raises(ShuhaiError):
        files.records(hard, operator(), "没有这个库")


def _files_claiming(config: Config, number: str, name: str) -> set[str]:
    """The files of the records that give ``name`` and claim ``number``."""
    records = _records(config).filter((pl.col("id") == number) & (pl.col("a:姓名") == name))
    return set(records["file_id"].to_list())


def test_a_guardians_or_mothers_number_does_not_join_the_child_to_them(
    hard: Config, tmp_path: Path
) -> None:
    """卫健 records of children often carry a guardian's number, newborn records the mother's
    with a placeholder name (<母亲姓名>之女) — with no birth date to give them away. The name
    does: the number stays with its holder, the child's record links by its own facts."""
    guardian = (ZHANG, "张小宝", "", "", "福建省福州市鼓楼区东街街道12号", "")
    newborn = (OUYANG, "欧阳娜娜之女", "2", "2024-05-01", "", "")
    ingest(hard, "参保人员", str(_rows(tmp_path, [guardian, newborn])), mode="append")
    build_base(hard, "人口库")
    records = _records(hard)
    zhang = _files_claiming(hard, ZHANG, "张伟")
    child = records.filter(pl.col("a:姓名") == "张小宝").row(0, named=True)
    assert child["file_id"] not in zhang and child["method"] != "id"
    assert child["id"] == ZHANG and child["id_flag"] == "borrowed"  # kept, flagged
    baby = records.filter(pl.col("a:姓名") == "欧阳娜娜之女").row(0, named=True)
    assert baby["file_id"] != _file_of(hard, OUYANG) and baby["id_flag"] == "newborn"
    # the mother's file keeps her own birth date (not the newborn's)
    golden = {
        g["attribute"]: g["value"]
        for g in profile(hard, "人口库", _file_of(hard, OUYANG))["golden"]
    }
    assert golden["出生日期"] == "1992-03-04"
    from shuhai.entities.service import id_conflicts

    listed = id_conflicts(hard, "人口库")
    assert [i["kind"] for i in listed["items"] if i["id"] == ZHANG] == ["borrowed"]


def test_two_people_issued_one_number_stay_apart_and_the_authority_is_asked(
    hard: Config, tmp_path: Path
) -> None:
    """重号: 人社 holds 李强 under 张伟's number (same birth date and sex, as a clash of issued
    numbers would be). The number and the name tell them apart: each keeps one file of their
    own; the conflict is listed and raised once as an objection with 公安, which holds the
    number; a search by the number finds both files."""
    from shuhai.entities.service import id_conflicts
    from shuhai.quality.corrections import list_objections

    other = [
        (ZHANG, "李强", "1", "1980-01-01", "福建省福州市仓山区城门镇77号", "13900000077"),
        (ZHANG, "李强", "1", "1980-01-01", "福建省福州市仓山区城门镇77号", "13900000077"),
    ]
    ingest(hard, "参保人员", str(_rows(tmp_path, other)), mode="append")
    first = build_base(hard, "人口库")
    li, zhang = _files_claiming(hard, ZHANG, "李强"), _files_claiming(hard, ZHANG, "张伟")
    assert len(li) == 1 and len(zhang) == 1 and li != zhang
    page = id_conflicts(hard, "人口库", kind="duplicate", limit=500)
    assert page["total"] == page["counts"]["duplicate"] >= 1
    assert {i["kind"] for i in page["items"]} == {"duplicate"}
    item = next(i for i in page["items"] if i["id"] == ZHANG)
    assert item["files"] == 2
    assert {r["name"] for r in item["records"]} >= {"张伟", "李强"}
    assert item["objection_id"] and first["counts"]["objections_raised"] == 1
    assert search_files(hard, "人口库", ZHANG)["total"] == 2
    raised = [o for o in list_objections(hard) if o["id"] == item["objection_id"]]
    assert raised and "重号" in raised[0]["reason"] and raised[0]["resource_id"] == 1
    again = build_base(hard, "人口库", full=True)  # asked once, not on every build
    assert "objections_raised" not in again["counts"]
    # a full build judges every claim afresh, with the same outcome
    li, zhang = _files_claiming(hard, ZHANG, "李强"), _files_claiming(hard, ZHANG, "张伟")
    assert len(li) == 1 and len(zhang) == 1 and li != zhang
    assert id_conflicts(hard, "人口库")["items"][0]["objection_id"] == item["objection_id"]
    with pytest.raises(InvalidInput):
        id_conflicts(hard, "人口库", kind="twins")


def test_a_record_whose_id_excel_destroyed_still_finds_its_file(
    hard: Config, tmp_path: Path
) -> None:
    """Ingest quarantines the row (the number cannot be stored), but the record still belongs
    to somebody: it takes part in linkage by name, birth date and phone, and keeps the damaged
    value, flagged — never a guessed number."""
    damaged = ("3.50104E+17", "司马光明", "1", "1970-07-07", "", "13800000005")
    # only a name and what survived of the number: the one 欧阳娜娜 whose number starts 35010
    bare = ("3.50102E+17", "欧阳娜娜", "", "", "", "")
    fine = (LIN_LING, "林玲", "2", "2010-01-01", "", "")
    run = ingest(hard, "参保人员", str(_rows(tmp_path, [damaged, bare, fine])), mode="append")
    assert run["rows_quarantined"] == 2 and run["rows_loaded"] == 1
    build_base(hard, "人口库")
    rec = _records(hard).filter(pl.col("id") == "3.50104E+17").row(0, named=True)
    assert rec["id_flag"] == "damaged" and not rec["id_valid"]
    assert rec["file_id"] == _file_of(hard, SIMA) and rec["method"] == "splink"
    rec = _records(hard).filter(pl.col("id") == "3.50102E+17").row(0, named=True)
    assert rec["file_id"] == _file_of(hard, OUYANG) and rec["method"] == "partial_id"
    again = build_base(hard, "人口库", full=True)  # a full build reads it the same way
    assert again["counts"]["records"] == _records(hard).height
    assert _records(hard).filter(pl.col("id") == "3.50104E+17")["file_id"][0] == _file_of(
        hard, SIMA
    )


def test_a_former_number_joins_the_persons_file_and_finds_it(hard: Config, tmp_path: Path) -> None:
    """一人多号: 司马光明's birth date was corrected (1970-09-07 → 1970-07-07) and he was given
    a new number; 就业 still holds the old one. The old number's records join his file, which
    keeps both numbers (曾用号, with the source using it), and a search by either finds it."""
    old = _fix_check(SIMA[:6] + "19700907" + "035")
    cat = Catalog(hard)
    cat.add_department({"name": "就业", "code": "JY"})
    cat.register(
        {
            "name": "就业登记",
            "department": "JY",
            "classification": "303002",
            "items": [{"name": "身份证号", "data_type": "C"}, {"name": "姓名", "data_type": "C"}],
        }
    )
    path = tmp_path / "jy.csv"
    pl.DataFrame({"身份证号": [old], "姓名": ["司马光明"]}).write_csv(path)
    ingest(hard, "就业登记", str(path))
    save_base(
        hard,
        _base_config({"resource": "就业登记", "id": "身份证号", "attributes": {"姓名": "姓名"}}),
    )
    built = build_base(hard, "人口库")
    assert built["counts"]["linked_by_former_id"] == 1
    sima = _file_of(hard, SIMA)
    rec = _records(hard).filter(pl.col("id") == old).row(0, named=True)
    assert rec["file_id"] == sima and rec["method"] == "former_id"
    found = search_files(hard, "人口库", old)
    assert [i["file_id"] for i in found["items"]] == [sima]
    numbers = {n["id"]: n for n in profile(hard, "人口库", sima)["numbers"]}
    assert numbers[SIMA]["status"] == "current" and numbers[old]["status"] == "former"
    assert [s["resource"] for s in numbers[old]["sources"]] == ["就业登记"]
    again = build_base(hard, "人口库", full=True)  # the alias is kept, the file id too
    assert again["counts"]["linked_by_former_id"] == 1 and _file_of(hard, SIMA) == sima
    # an update finds a former number too (欧阳娜娜's, from a later 就业 delivery)
    hers = _fix_check(OUYANG[:6] + "19920504" + "002")
    path = tmp_path / "jy2.csv"
    pl.DataFrame({"身份证号": [hers], "姓名": ["欧阳娜娜"]}).write_csv(path)
    ingest(hard, "就业登记", str(path), mode="append")
    update = build_base(hard, "人口库")
    assert update["mode"] == "incremental"
    rec = _records(hard).filter(pl.col("id") == hers).row(0, named=True)
    assert rec["file_id"] == _file_of(hard, OUYANG) and rec["method"] == "former_id"
    assert search_files(hard, "人口库", hers)["items"][0]["file_id"] == _file_of(hard, OUYANG)


def test_one_record_one_question(hard: Config, tmp_path: Path) -> None:
    """The look-alike 林淋 could be either twin: the queue shows her pairs together (each names
    the other candidate), in order of expected gain; accepting one answers the other."""
    from shuhai.entities.service import review_page

    _add_look_alike(hard, tmp_path)
    build_base(hard, "人口库")
    page = review_page(hard, "人口库", limit=100)
    hers = [
        p
        for p in page["items"]
        if review_pair(hard, "人口库", p["id"])["record"]["fields"]["name"] == "林淋"
    ]
    assert len(hers) == 2, "both twins are candidates"
    first, second = hers
    assert [a["id"] for a in first["alternatives"]] == [second["id"]]
    gains = [p["gain"] for p in page["items"]]
    assert all(g is not None and g > 0 for g in gains) and gains == sorted(gains, reverse=True)
    decided = decide(hard, "人口库", first["id"], "accept", actor="审核员丙")
    assert decided["settled"] == [second["id"]]
    assert review_pair(hard, "人口库", second["id"])["status"] == "rejected"
    assert review_page(hard, "人口库", limit=100)["total"] == page["total"] - 2
    build_base(hard, "人口库")
    rec = _records(hard).filter(pl.col("name") == "林淋").row(0, named=True)
    assert rec["file_id"] == first["file_id"] and rec["method"] == "review"
