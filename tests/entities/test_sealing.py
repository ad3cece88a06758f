"""Base-database builds keep encrypted what the lake encrypts (基础库加密存储): the files of a
person base (records, anchors, entities, golden values, disagreements) hold no plain ID number
or other L4 value, while profiles, searches by ID number and incremental builds work as before;
an ID column raised to L4 after a build makes the next build rewrite the base encrypted."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from tests.lake.test_encryption import stored_bytes

from shuhai.access import grading
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.demo.population import make_city
from shuhai.entities import sealing, store
from shuhai.entities.build import build_base
from shuhai.entities.service import current, profile, search_files
from shuhai.ingest import ingest
from shuhai.plugins import wait_for_background

ITEMS = ["身份证号", "姓名", "性别", "出生日期", "联系电话", "社会保障号码"]
ID_LIKE = re.compile(rb"\d{17}[\dX]")


def _register(config: Config) -> None:
    cat = Catalog(config)
    cat.add_department({"name": "公安", "code": "GA"})
    cat.add_department({"name": "人社", "code": "RS"})
    for name, dept in (("户籍人口", "GA"), ("参保人员", "RS")):
        cat.register(
            {
                "name": name,
                "department": dept,
                "classification": "101001" if dept == "GA" else "303001",
                "items": [{"name": i, "data_type": "D" if i == "出生日期" else "C"} for i in ITEMS],
            }
        )


def _people(n: int, seed: int = 5) -> pl.DataFrame:
    city = make_city(n, seed).persons
    return city.select(
        pl.col("id").alias("身份证号"),
        pl.col("name").alias("姓名"),
        pl.col("sex").alias("性别"),
        pl.col("birth").cast(pl.String).alias("出生日期"),
        pl.col("phone").alias("联系电话"),
        ("S" + pl.col("id").str.slice(2)).alias("社会保障号码"),
    )


def _load(config: Config, tmp_path: Path, people: pl.DataFrame) -> None:
    people.write_csv(tmp_path / "ga.csv")
    ingest(config, "户籍人口", str(tmp_path / "ga.csv"))
    # the insurance office holds a different 社会保障号码 for its first person: a disagreement
    rs = people.head(300).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("S000000000000000"))
        .otherwise(pl.col("社会保障号码"))
        .alias("社会保障号码")
    )
    rs.write_csv(tmp_path / "rs.csv")
    ingest(config, "参保人员", str(tmp_path / "rs.csv"))


def _save(config: Config) -> None:
    from shuhai.entities.service import save_base

    save_base(
        config,
        {
            "name": "人口库",
            "members": [
                {"resource": r, "id": "身份证号", "attributes": {a: a for a in ITEMS[1:]}}
                for r in ("户籍人口", "参保人员")
            ],
            "authority": {"姓名": "户籍人口"},
        },
    )


def _built(
    config: Config, tmp_path: Path, graded: dict[str, dict[str, str]] | None = None
) -> tuple[pl.DataFrame, Path]:
    """The two resources registered (items graded as ``graded`` says), loaded, and the person
    base built: its people and its build folder."""
    _register(config)
    for name in ("户籍人口", "参保人员"):
        if graded:
            grading.confirm(config, name, graded, actor="sec")
    people = _people(800)
    _load(config, tmp_path, people)
    _save(config)
    build_base(config, "人口库")
    return people, current(config, "人口库")[1]


@pytest.fixture
def base(config: Config, tmp_path: Path) -> tuple[Config, pl.DataFrame]:
    people, _path = _built(config, tmp_path)
    return config, people


def _plain_ids_on_disk(folder: Path, people: pl.DataFrame) -> set[str]:
    on_disk = {m.decode() for m in ID_LIKE.findall(stored_bytes(folder))}
    return on_disk & set(people["身份证号"].to_list())


def test_build_files_hold_no_plain_id_number_and_read_back(
    base: tuple[Config, pl.DataFrame],
) -> None:
    config, people = base
    _info, path = current(config, "人口库")
    spec = sealing.of(path)
    assert spec.sealed("records") == ("id", "a:社会保障号码")
    assert spec.sealed("ids") == ("anchor",) and spec.attributes == ("社会保障号码",)
    assert _plain_ids_on_disk(path, people) == set()
    raw = stored_bytes(path)
    assert b"S" + people["社会保障号码"][5][1:].encode() not in raw
    assert people["姓名"][5].encode() in raw  # names are L3 here: stored as they are
    # the platform's readers see plain values
    records = store.load(path, "records")
    assert set(records["id"].drop_nulls().to_list()) == set(people["身份证号"].to_list())
    first = people.row(0, named=True)
    found = search_files(config, "人口库", first["身份证号"])
    assert found["total"] == 1 and found["items"][0]["id"] == first["身份证号"]
    p = profile(config, "人口库", found["items"][0]["file_id"])
    assert p["entity"]["id"] == first["身份证号"]
    assert "id__stored" not in p["entity"]
    golden = {g["attribute"]: g["value"] for g in p["golden"]}
    assert golden["社会保障号码"] in (first["社会保障号码"], "S000000000000000")
    disputed = next(d for d in p["disagreements"] if d["attribute"] == "社会保障号码")
    assert {s["value"] for s in disputed["sources"]} == {
        first["社会保障号码"],
        "S000000000000000",
    }
    assert {s["id"] for s in p["sources"]} == {first["身份证号"]}
    # the Polars readers decrypt the golden values and the disagreements too
    golden_all = store.load(path, "golden").filter(pl.col("attribute") == "社会保障号码")
    assert set(golden_all["value"].to_list()) <= set(people["社会保障号码"].to_list()) | {
        "S000000000000000"
    }
    sources = (
        store.load(path, "disagreements")
        .filter(pl.col("attribute") == "社会保障号码")
        .explode("sources")
        .unnest("sources")
    )
    assert "S000000000000000" in sources["value"].to_list()
    # a search by a number that is not there finds nothing (and says so without an error)
    assert search_files(config, "人口库", "110101190001010000")["total"] == 0


def test_incremental_build_stays_encrypted(
    base: tuple[Config, pl.DataFrame], tmp_path: Path
) -> None:
    config, people = base
    newcomers = _people(60, seed=9)  # another city's people, appended
    assert not set(newcomers["身份证号"].to_list()) & set(people["身份证号"].to_list())
    more = pl.concat([people, newcomers])
    newcomers.write_csv(tmp_path / "ga2.csv")
    ingest(config, "户籍人口", str(tmp_path / "ga2.csv"))
    built = build_base(config, "人口库")
    assert built["mode"] == "incremental"
    _info, path = current(config, "人口库")
    assert (path / "delta" / "records.parquet").exists()
    assert _plain_ids_on_disk(path, more) == set()
    newcomer = newcomers.row(0, named=True)
    found = search_files(config, "人口库", newcomer["身份证号"])
    assert found["total"] == 1
    # an old person keeps the file and is still found through the sealed anchor
    old = people.row(3, named=True)
    assert search_files(config, "人口库", old["身份证号"])["total"] == 1
    records = store.load(path, "records")
    assert newcomer["身份证号"] in set(records["id"].to_list())


def test_raising_an_id_column_to_l4_rewrites_the_base_encrypted(
    config: Config, tmp_path: Path
) -> None:
    internal = {"data_class": "一般", "level": "L3"}
    people, path = _built(config, tmp_path, {"身份证号": internal, "社会保障号码": internal})
    assert not sealing.of(path)
    assert _plain_ids_on_disk(path, people)  # graded L3: stored as they are
    for name in ("户籍人口", "参保人员"):
        grading.confirm(
            config, name, {"身份证号": {"data_class": "核心", "level": "L4"}}, actor="sec"
        )
    wait_for_background()  # the lake encrypts its stored column
    built = build_base(config, "人口库")
    assert built["mode"] == "full"  # not an update over plain-text files
    _info, path = current(config, "人口库")
    assert sealing.of(path).sealed("records") == ("id",)
    assert _plain_ids_on_disk(path, people) == set()
    # the earlier build, in plain text, is gone with it (not kept for three builds as usual)
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert _plain_ids_on_disk(path.parent, people) == set()
    first = people.row(0, named=True)
    assert search_files(config, "人口库", first["身份证号"])["total"] == 1


def test_without_keys_or_with_the_wrong_key_reads_fail_clearly(
    base: tuple[Config, pl.DataFrame],
) -> None:
    from shuhai.access import keys
    from shuhai.access.columns import TamperedColumn, new_data_key
    from shuhai.db import DataKey, session_scope
    from shuhai.lake import cipher as lake_cipher

    config, people = base
    _info, path = current(config, "人口库")
    saved = dict(lake_cipher._KEYRINGS)
    lake_cipher._KEYRINGS.clear()  # a process that never opened the home
    sealing._SPECS.clear()
    try:
        with pytest.raises(lake_cipher.KeyringMissing) as missing:
            store.load(path, "records")
        assert missing.value.code == "lake.no_keyring"
    finally:
        lake_cipher._KEYRINGS.update(saved)
        sealing._SPECS.clear()
    with session_scope(config.database_url) as s:  # the base's data key swapped for another
        row = s.query(DataKey).filter(DataKey.base_id.is_not(None)).one()
        row.wrapped = new_data_key(keys.master_key(config), row.scheme)[1]
    ring = keys.LakeKeyring(config)
    lake_cipher.register_keyring(config.lake_dir, ring)
    lake_cipher.register_keyring(config.home, ring)
    sealing._SPECS.clear()
    with pytest.raises(TamperedColumn) as wrong:
        profile(config, "人口库", search_files(config, "人口库", "")["items"][0]["file_id"])
    assert wrong.value.code == "lake.tampered"
    assert people.height  # the fixture's data is untouched: only the key was wrong


def test_linking_roles_from_l4_columns_are_encrypted_with_what_is_made_from_them(
    config: Config, tmp_path: Path
) -> None:
    """An officer grades 姓名 and 联系电话 L4: the records' name, its pinyin and the phone, the
    files' display names and the name frequencies are stored encrypted; searches by an exact
    name and profiles still work."""
    core = {"data_class": "核心", "level": "L4"}
    people, path = _built(config, tmp_path, {"姓名": core, "联系电话": core})
    spec = sealing.of(path)
    assert {"name", "name_py", "phone"} <= set(spec.sealed("records"))
    assert spec.sealed("entities") == ("id", "name") and spec.sealed("tf_name") == ("name",)
    raw = stored_bytes(path)
    rare = people.group_by("姓名").len().filter(pl.col("len") == 1)["姓名"].head(20)
    assert not any(n.encode() in raw for n in rare)
    assert not any(p.encode() in raw for p in people["联系电话"].drop_nulls().head(50))
    person = people.filter(pl.col("姓名") == rare[0]).row(0, named=True)
    found = search_files(config, "人口库", person["姓名"])
    assert found["total"] == 1 and found["items"][0]["name"] == person["姓名"]
    p = profile(config, "人口库", found["items"][0]["file_id"])
    assert {s["values"].get("联系电话") for s in p["sources"]} >= {person["联系电话"]}
    # an update reads the encrypted name frequencies back for the model
    _people(30, seed=9).write_csv(tmp_path / "more.csv")
    ingest(config, "户籍人口", str(tmp_path / "more.csv"))
    assert build_base(config, "人口库")["mode"] == "incremental"
    _info, path = current(config, "人口库")
    assert not any(n.encode() in stored_bytes(path) for n in rare)


def test_rekey_gives_a_base_under_an_old_key_a_new_key_and_a_full_encrypted_build(
    config: Config, tmp_path: Path
) -> None:
    """A base first built under a data key from before short codes (SIV only): ``rekey`` gives
    it a new key, and the next build is a full one whose IDs are one 16-byte block each."""
    import pyarrow.parquet as pq
    from sqlalchemy import select

    from shuhai.access import keys
    from shuhai.access.columns import new_data_key
    from shuhai.db import BaseDatabase, DataKey, session_scope

    def stored_id_lengths(folder: Path) -> set[int]:
        table = pq.read_table(folder / "base" / "records.parquet", columns=["id"])
        return {len(v) for v in table.column(0).to_pylist() if v is not None}

    _register(config)
    people = _people(300)
    _load(config, tmp_path, people)
    _save(config)
    with session_scope(config.database_url) as s:
        base_id = s.scalars(select(BaseDatabase.id).where(BaseDatabase.name == "人口库")).one()
        s.add(DataKey(base_id=base_id, wrapped=new_data_key(keys.master_key(config))[1]))
    build_base(config, "人口库")
    _info, path = current(config, "人口库")
    assert stored_id_lengths(path) == {34}

    done = keys.rekey(config)
    assert [(d.get("base_id"), d["version"]) for d in done] == [(base_id, None)]
    built = build_base(config, "人口库")
    assert built["mode"] == "full"
    _info, path = current(config, "人口库")
    assert sealing.of(path).key == done[0]["to"]
    assert stored_id_lengths(path) == {16}
    assert _plain_ids_on_disk(path.parent, people) == set()
    first = people.row(0, named=True)
    assert search_files(config, "人口库", first["身份证号"])["total"] == 1
    assert keys.rekey(config) == []
