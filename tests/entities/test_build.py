"""Base databases built from the demo city: linkage quality against its ground truth, golden
records with lineage, stable file ids, incremental updates, enterprises, licences."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from shuhai.access.policy import Viewer
from shuhai.config import Config
from shuhai.demo import build_demo
from shuhai.demo.truth import record_truth
from shuhai.entities import store
from shuhai.entities.build import build_base
from shuhai.entities.evaluate import pairwise
from shuhai.entities.service import current, profile, search_files
from shuhai.ingest import ingest
from shuhai.serve.licences import check


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    home = tmp_path_factory.mktemp("city")
    config = Config.from_env({}, home=str(home / "home"))
    out = Path(build_demo(config, persons=3000, seed=11)["output"])
    return config, out


def _records(config: Config, base: str) -> pl.DataFrame:
    _info, path = current(config, base)
    return store.load(path, "records")


def test_demo_builds_three_base_databases(city: tuple[Config, Path]) -> None:
    config, _out = city
    people = search_files(config, "人口基础库", "")
    assert 2900 <= people["total"] <= 3100
    firms = search_files(config, "法人基础库", "")
    assert firms["total"] >= 100
    records = _records(config, "人口基础库")
    assert records["resource_id"].n_unique() >= 8  # members from at least five departments
    assert set(records["method"].unique()) >= {"id", "splink"}


def test_person_linkage_beats_exact_id_on_the_ground_truth(city: tuple[Config, Path]) -> None:
    config, out = city
    labelled = record_truth(_records(config, "人口基础库"), out)
    assert labelled.height > 5000
    ours = pairwise(labelled, "file_id")
    exact = pairwise(
        labelled.with_columns(
            pl.when(pl.col("id_valid")).then(pl.col("id")).otherwise(pl.col("key")).alias("x")
        ),
        "x",
    )
    assert ours["overall"]["f1"] >= 0.995
    assert ours["no_valid_id"]["recall"] > 0.95 > exact["no_valid_id"]["recall"]
    assert ours["overall"]["f1"] > exact["overall"]["f1"]


def test_enterprise_linkage_on_the_ground_truth(city: tuple[Config, Path]) -> None:
    config, out = city
    labelled = record_truth(_records(config, "法人基础库"), out, kind="enterprise")
    scores = pairwise(labelled, "file_id")
    assert scores["overall"]["f1"] >= 0.995
    assert scores["no_valid_id"]["true_pairs"] > 0 and scores["no_valid_id"]["recall"] > 0.9


def test_golden_record_cites_the_authority_with_version_and_line(
    city: tuple[Config, Path],
) -> None:
    config, out = city
    police = pl.read_csv(
        out / "GA" / "01_常住人口基本信息.csv", infer_schema=False, truncate_ragged_lines=True
    )
    person = police.row(10, named=True)
    found = search_files(config, "人口基础库", person["身份证号"])
    assert found["total"] == 1
    p = profile(config, "人口基础库", found["items"][0]["file_id"])
    golden = {g["attribute"]: g for g in p["golden"]}
    assert golden["出生日期"]["value"] == person["出生日期"]
    assert golden["出生日期"]["resource"] == "常住人口基本信息"
    assert golden["出生日期"]["authoritative"] is True
    assert golden["出生日期"]["line"] == 12  # row 11 of the CSV, after the header
    assert {"date": person["出生日期"], "label": "出生"}.items() <= p["timeline"][0].items()
    assert all(s["resource"] for s in p["sources"])


def test_disagreements_list_each_value_with_its_source(city: tuple[Config, Path]) -> None:
    config, out = city
    truth = pl.read_csv(out / "ground_truth.csv", infer_schema=False)
    members = ["参保人员信息", "就业登记信息", "机动车驾驶证信息", "在校学生学籍信息"]
    typos = truth.filter(
        (pl.col("flaw") == "name_lookalike") & pl.col("resource_name").is_in(members)
    )
    assert typos.height
    from shuhai.entities.service import disagreements

    d = disagreements(config, "人口基础库", attribute="姓名", limit=500)
    seen = [{s["value"] for s in item["sources"]} for item in d["items"]]
    hits = [t for t in typos.iter_rows(named=True) if {t["value"], t["original"]} in seen]
    assert len(hits) >= typos.height * 0.8  # each look-alike spelling is listed beside 公安's
    some = d["items"][0]
    assert all({"resource_id", "version", "line"} <= s.keys() for s in some["sources"])


def test_enterprise_profile_links_legal_representative_and_licences(
    city: tuple[Config, Path],
) -> None:
    config, _out = city
    firm = search_files(config, "法人基础库", "")["items"][0]
    p = profile(config, "法人基础库", firm["file_id"])
    roles = {x["role"] for x in p["links"]["persons"]}
    assert "法定代表人" in roles
    rep = next(x for x in p["links"]["persons"] if x["role"] == "法定代表人")
    assert rep["person_file_id"].startswith("P")
    person = profile(config, "人口基础库", rep["person_file_id"])
    assert any(e["enterprise_file_id"] == firm["file_id"] for e in person["links"]["enterprises"])
    assert any(x["type"] == "营业执照" for x in p["links"]["licences"])


def test_licence_verification(city: tuple[Config, Path]) -> None:
    config, _out = city
    _info, path = current(config, "电子证照库")
    lic = store.load_file(path, "licences")
    cert = lic.filter(pl.col("type") == "职业资格证书").row(0, named=True)

    def verify(number: str, holder: str | None = None) -> dict:
        return check(config, Viewer(), number, holder=holder)

    v = verify(cert["number"], holder=cert["holder_id"])
    assert v["exists"] and v["valid"] and v["holder_matches"]
    assert v["holder"]["file_id"].startswith("P")
    assert v["holder"]["name"].endswith("*") or "*" in v["holder"]["name"]
    assert cert["holder_name"] not in str(v)  # the name is confirmed, not disclosed
    assert verify(cert["number"], holder="110101190001010000")["holder_matches"] is False
    expired = lic.filter(pl.col("status") == "已过期")
    if expired.height:
        assert verify(expired["number"][0])["valid"] is False
    assert verify("NO-SUCH-LICENCE") == {
        "number": "NO-SUCH-LICENCE",
        "exists": False,
        "valid": False,
    }
    # a source row sent twice is one licence: the credit code is the business licence's number
    business = lic.filter(pl.col("type") == "营业执照")
    assert business.height and business["number"].n_unique() == business.height
    # a number several licences share answers for none of them (never the first match), and
    # names how many there are; the holder narrows it down
    driving = lic.filter(pl.col("type") == "机动车驾驶证")
    counts = driving.group_by("number").len()
    one = verify(counts.filter(pl.col("len") == 1)["number"][0])
    assert not one.get("ambiguous") and one["type"] == "机动车驾驶证"
    shared = counts.filter(pl.col("len") > 1).sort("len", descending=True)
    assert shared.height  # the demo's short driving-licence numbers collide (issue 18)
    number = shared["number"][0]
    both = verify(number)
    assert both["ambiguous"] and both["matches"] == shared["len"][0]
    assert "status" not in both and "holder" not in both
    holder = driving.filter(pl.col("number") == number).row(0, named=True)
    narrowed = verify(number, holder=holder["holder_id"])
    assert narrowed["holder_matches"]


def test_full_rebuild_keeps_every_file_id(city: tuple[Config, Path]) -> None:
    config, _out = city
    before = _records(config, "人口基础库").select("key", "file_id")
    build_base(config, "人口基础库", full=True)
    after = _records(config, "人口基础库").select("key", "file_id")
    joined = before.join(after, on="key", suffix="_after")
    assert joined.height == before.height
    assert (joined["file_id"] == joined["file_id_after"]).all()


def test_incremental_update_links_only_changed_records(
    city: tuple[Config, Path], tmp_path: Path
) -> None:
    config, out = city
    before = _records(config, "人口基础库")
    people = pl.read_csv(
        out / "GA" / "01_常住人口基本信息.csv", infer_schema=False, truncate_ragged_lines=True
    ).filter(pl.col("身份证号").str.len_chars() == 18)
    # people whose number the register holds once (an upsert on a 重号 rewrites both rows)
    people = people.filter(~pl.col("身份证号").is_duplicated())
    moved = people.head(20).with_columns(pl.lit("福建省福州市鼓楼区东街街道1号").alias("户籍地址"))
    path = tmp_path / "moved.csv"
    moved.write_csv(path)
    ingest(config, "常住人口基本信息", str(path), mode="upsert", key=["身份证号"])
    b = build_base(config, "人口基础库")
    assert b["mode"] == "incremental"
    assert b["counts"]["new_records"] == 20
    after = _records(config, "人口基础库")
    assert after.height == before.height
    same = before.select("key", "file_id").join(after.select("key", "file_id"), on="key")
    assert (same["file_id"] == same["file_id_right"]).all()
    who = search_files(config, "人口基础库", moved["身份证号"][0])["items"][0]["file_id"]
    golden = {g["attribute"]: g for g in profile(config, "人口基础库", who)["golden"]}
    assert golden["户籍地址"]["value"] == "福建省福州市鼓楼区东街街道1号"
    assert golden["户籍地址"]["version"] >= 2  # the new version is cited
    full = build_base(config, "人口基础库", full=True)  # the same counts from scratch
    for k in ("records", "files", "linked_by_id", "linked_by_splink", "unlinked"):
        assert b["counts"][k] == full["counts"][k], k
    assert full["counts"]["merges"] == full["counts"]["splits"] == 0


def test_disagreements_feed_the_quality_comparisons(city: tuple[Config, Path]) -> None:
    config, _out = city
    from shuhai.quality.compare import list_comparisons, run_comparison

    fed = [c for c in list_comparisons(config) if c["name"].startswith("人口基础库·姓名")]
    assert fed, "a disputed attribute is compared with its authority"
    run = run_comparison(config, fed[0]["id"])
    assert run["conflicts"] > 0  # the look-alike names show up as comparison conflicts


def test_no_build_folder_holds_a_plain_id_number(city: tuple[Config, Path]) -> None:
    """Person IDs reach the person base, the enterprise base's links to persons and the
    licence base's holders: all stored encrypted; credit codes (public) stay plain."""
    import re

    from tests.lake.test_encryption import stored_bytes

    config, _out = city
    _info, persons = current(config, "人口基础库")
    ids = set(store.load(persons, "records").filter(pl.col("id_valid"))["id"].to_list())
    assert len(ids) > 2500
    for base in ("人口基础库", "法人基础库", "电子证照库"):
        _info, path = current(config, base)
        on_disk = {m.decode() for m in re.findall(rb"\d{17}[\dX]", stored_bytes(path))}
        assert not on_disk & ids, base
    _info, firms = current(config, "法人基础库")
    assert store.load(firms, "records", raw=True)["id"].dtype == pl.String
    links = store.load_file(firms, "links")  # read back: the persons' IDs in plain text
    assert set(links["person_id"].drop_nulls().to_list()) & ids
