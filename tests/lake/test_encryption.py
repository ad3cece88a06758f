"""Encryption at rest of 核心 / L4 columns (列级加密存储): what reaches the disk holds no plain
ID number — lake files, the serving index — while every reader inside the platform sees the
values (previews, SQL, merges on an encrypted key, quality checks, sharing lookups); raising an
item to L4 encrypts the data already stored; the master-key rotation rewraps the data keys; a
process without the keys, or a data key that does not match, gets a clear error."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shuhai.access import grading, keys
from shuhai.access.columns import TamperedColumn, new_data_key
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.db import DataKey, Objection, QualityResult, session_scope
from shuhai.errors import InvalidInput
from shuhai.ingest import ingest, list_runs, quarantine_rows
from shuhai.lake import LakeTable
from shuhai.lake import cipher as lake_cipher
from shuhai.lake.service import preview, sql_query
from shuhai.plugins import wait_for_background
from shuhai.quality import failing_rows, run_quality, set_rules
from shuhai.quality.compare import add_comparison, conflicts, run_comparison
from shuhai.quality.corrections import raise_objection, transition
from shuhai.share import serving
from tests.conftest import register_persons, write

ID_A, ID_B, ID_BAD = "350102199103030034", "350102199002020021", "350102199103030041"
PHONE = "13800138000"


def stored_bytes(root: Path) -> bytes:
    """Every byte of every file under ``root``, Parquet pages decompressed (so a value stored
    in plain text shows whatever the codec)."""
    out = []
    for path in sorted(root.rglob("*")):
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for column in table.columns:
                out.append(repr(column.to_pylist()).encode())
        elif path.is_file():
            out.append(path.read_bytes())
    return b"".join(out)


@pytest.fixture
def people(config: Config, tmp_path: Path) -> dict:
    return load_people(config, tmp_path)


def load_people(config: Config, tmp_path: Path) -> dict:
    """A resource of three persons whose 身份证号 (L4) the lake stores encrypted."""
    cat = Catalog(config)
    cat.add_department({"name": "市公安局", "code": "GA"}, update=True)
    res = cat.register(
        {
            "name": "人口联系方式",
            "department": "GA",
            "classification": "101001",
            "items": [
                {"name": "身份证号", "data_type": "C", "length": 18},
                {"name": "姓名", "data_type": "C", "length": 50},
                {"name": "联系电话", "data_type": "C", "length": 20},
            ],
            "key_columns": ["身份证号"],
        }
    )
    ingest(
        config,
        res["code"],
        str(
            write(
                tmp_path / "a.csv",
                f"身份证号,姓名,联系电话\n{ID_A},张三,{PHONE}\n{ID_B},李四,\n{ID_BAD},王五,1\n",
            )
        ),
    )
    return res


def test_l4_columns_reach_the_disk_encrypted(config: Config, people: dict) -> None:
    table = LakeTable(config.lake_dir, people["id"])
    assert list(table.encrypted_columns()) == ["身份证号"]  # L4 by its name; 姓名 and phone L3
    on_disk = stored_bytes(table.path)
    assert ID_A.encode() not in on_disk and b"350102" not in on_disk
    assert "张三".encode() in on_disk  # L3 stays plain
    assert table.dataset().schema.field("身份证号").type == pa.binary()


def test_readers_see_the_values(config: Config, people: dict) -> None:
    page = preview(config, people["id"])
    assert sorted(r["身份证号"] for r in page["rows"]) == sorted([ID_A, ID_B, ID_BAD])
    found = sql_query(config, people["id"], f"SELECT 姓名 FROM t WHERE 身份证号 = '{ID_A}'")
    assert found["rows"] == [{"姓名": "张三"}]
    # the ID check reads the decrypted column: exactly the one bad checksum fails
    result = run_quality(config, people["id"])
    ric = [r for r in result["results"] if r["item"] == "身份证号" and r["kind"] == "ric"]
    assert ric and ric[0]["failed"] == 1
    assert ric[0]["samples"][0]["value"] == ID_BAD
    assert ric[0]["samples"][0]["key"] == {"身份证号": ID_BAD}
    with session_scope(config.database_url) as s:  # the metadata database keeps it encrypted
        found = s.query(QualityResult).filter_by(rule_id=ric[0]["rule_id"], run_id=result["id"])
        kept = found.one().samples
    assert ID_BAD not in repr(kept) and set(kept[0]["value"]) == {"sm4", "key"}
    # the failing rows kept for the officer hold the ID encrypted, and read back decrypted
    assert ID_BAD.encode() not in stored_bytes(config.home / "quality")
    failing = failing_rows(config, result["id"], rule_id=ric[0]["rule_id"])
    assert [r["身份证号"] for r in failing["rows"]] == [ID_BAD]


def test_merge_on_an_encrypted_key_updates_in_place(
    config: Config, people: dict, tmp_path: Path
) -> None:
    ingest(
        config,
        people["code"],
        str(write(tmp_path / "b.csv", f"身份证号,姓名,联系电话\n{ID_A},张三丰,{PHONE}\n")),
        mode="upsert",
    )
    rows = preview(config, people["id"])["rows"]
    assert len(rows) == 3
    assert {r["身份证号"]: r["姓名"] for r in rows}[ID_A] == "张三丰"


def test_sharing_lookups_on_the_index_stay_encrypted(config: Config, people: dict) -> None:
    built = serving.build_index(config, people["id"])
    index = Path(built["path"])
    assert ID_A.encode() not in index.read_bytes()
    res = {"id": people["id"], "key_columns": ["身份证号"]}
    for engine_index in (True, False):
        if not engine_index:
            index.unlink()
        page = serving.query(
            config,
            res,
            columns=["身份证号", "姓名"],
            filters=[serving.Filter("身份证号", "eq", (ID_A,))],
        )
        assert page.engine == ("index" if engine_index else "lake")
        assert page.frame.select("身份证号", "姓名").rows() == [(ID_A, "张三")]
    # a range on an encrypted column compares decrypted values (the lake answers)
    page = serving.query(
        config,
        res,
        columns=["身份证号"],
        filters=[serving.Filter("身份证号", "lt", ("3501021991",))],
    )
    assert page.frame["身份证号"].to_list() == [ID_B]


def test_raising_an_item_to_l4_encrypts_what_is_stored(config: Config, people: dict) -> None:
    table = LakeTable(config.lake_dir, people["id"])
    before = table.latest_version()
    serving.build_index(config, people["id"])
    grading.confirm(
        config, people["id"], {"联系电话": {"data_class": "重要", "level": "L4"}}, actor="sec"
    )
    wait_for_background()  # the confirmation starts the rewrite in the background …
    wait_for_background()  # … which, like a load, then rebuilds the serving index
    assert set(table.encrypted_columns()) == {"身份证号", "联系电话"}
    assert table.latest_version() == before + 1
    run = list_runs(config, people["id"], limit=1)[0]  # the new version cites its own run
    assert run["source"] == "encrypt:联系电话" and run["lake_version"] == before + 1
    assert table.history()[0]["run_id"] == run["id"] and run["rows_loaded"] == 3
    assert serving.has_index(config, people["id"])  # lookups stay on the index
    assert keys.protect_lake(config, [people["id"]])[0]["encrypted"] == []  # nothing left
    assert {r["联系电话"] for r in preview(config, people["id"])["rows"]} == {PHONE, None, "1"}
    # the older version still reads (time travel) until the plain text is vacuumed away
    assert preview(config, people["id"], version=before)["total"] == 3
    assert PHONE.encode() in stored_bytes(table.path)
    keys.protect_lake(config, [people["id"]], vacuum=True)
    assert PHONE.encode() not in stored_bytes(table.path)
    assert {r["联系电话"] for r in preview(config, people["id"])["rows"]} == {PHONE, None, "1"}


def test_master_key_rotation_rewraps_data_keys(any_config: Config, tmp_path: Path) -> None:
    res = register_persons(any_config)
    ingest(any_config, res["code"], str(write(tmp_path / "p.csv", f"身份证号,姓名\n{ID_A},张三\n")))
    with session_scope(any_config.database_url) as s:
        before = [k.wrapped for k in s.query(DataKey)]
    assert len(before) == 1
    assert keys.rotate_master(any_config, new_key=bytes(range(16)))["data_keys"] == 1
    with session_scope(any_config.database_url) as s:
        assert [k.wrapped for k in s.query(DataKey)] != before
    # a fresh process (a new keyring) opens the data with the new master key
    lake_cipher.register_keyring(any_config.lake_dir, keys.LakeKeyring(any_config))
    assert preview(any_config, res["id"])["rows"][0]["身份证号"] == ID_A


def test_without_keys_or_with_the_wrong_key_reads_fail_clearly(
    config: Config, people: dict
) -> None:
    table = LakeTable(config.lake_dir, people["id"])
    ring = table.keyring()
    lake_cipher._KEYRINGS.clear()  # a process that never opened the home
    try:
        with pytest.raises(lake_cipher.KeyringMissing) as missing:
            table.read()
        assert missing.value.code == "lake.no_keyring"
        before = table.latest_version()
        with pytest.raises(lake_cipher.KeyringMissing):  # nor write: it cannot tell what to seal
            table.write_frames(
                [pl.DataFrame({"身份证号": [ID_B], "姓名": ["李四"]})],
                schema=pa.schema([("身份证号", pa.string()), ("姓名", pa.string())]),
                mode="append",
                run_id=99,
            )
        assert table.latest_version() == before
    finally:
        lake_cipher.register_keyring(config.lake_dir, ring)
    with session_scope(config.database_url) as s:  # the data key swapped for another one
        row = s.query(DataKey).one()
        row.wrapped = new_data_key(keys.master_key(config), row.scheme)[1]
    lake_cipher.register_keyring(config.lake_dir, keys.LakeKeyring(config))
    with pytest.raises(TamperedColumn) as wrong:
        table.read()
    assert wrong.value.code == "lake.tampered"


def test_quarantined_rows_keep_l4_columns_encrypted(config: Config, tmp_path: Path) -> None:
    res = register_persons(config)
    run = ingest(
        config,
        res["code"],
        str(
            write(
                tmp_path / "q.csv",
                f"身份证号,姓名,出生日期,月收入\n{ID_A},张三,不是日期,1\n{ID_B},李四,2020-01-01,2\n"
                f"{ID_BAD},王五,2020-01-01,2,多出来的一列\n",
            )
        ),
    )
    assert run["rows_quarantined"] == 2
    on_disk = stored_bytes(config.quarantine_dir)
    assert ID_A.encode() not in on_disk and ID_BAD.encode() not in on_disk
    assert "张三".encode() in on_disk  # L3 stays plain
    rows = quarantine_rows(config, run["id"])["rows"]
    assert rows[0]["身份证号"] == ID_A and rows[0]["出生日期"] == "不是日期"
    assert ID_BAD in rows[1]["_raw"]  # the unsplittable line, decrypted for the officer


def test_checks_that_read_values_see_plain_text_and_the_others_need_not(
    config: Config, people: dict, tmp_path: Path
) -> None:
    ingest(
        config,
        people["code"],
        str(write(tmp_path / "c.csv", f"身份证号,姓名,联系电话\n{ID_B},李四重复,\n")),
        mode="append",
    )
    set_rules(
        config,
        people["id"],
        [
            {"item": "身份证号", "kind": "regex", "params": {"pattern": "35010219910303.*"}},
            {"item": "身份证号", "kind": "length", "params": {"min": 18, "max": 18}},
            {"item": "身份证号", "kind": "unique"},
            {"item": "身份证号", "kind": "not_null"},
            {"item": "身份证号", "kind": "ric"},
        ],
    )
    result = run_quality(config, people["id"])
    failed = {r["kind"]: r["failed"] for r in result["results"]}
    # regex on plain text: only the two 1991-03-03 IDs match; unique on ciphertext: ID_B twice
    assert failed == {"regex": 2, "length": 0, "unique": 2, "not_null": 0, "ric": 1}
    regex = next(r for r in result["results"] if r["kind"] == "regex")
    assert sorted(s["value"] for s in regex["samples"]) == [ID_B, ID_B]


def test_comparison_conflicts_keep_encrypted_keys_encrypted(
    config: Config, people: dict, tmp_path: Path
) -> None:
    other = Catalog(config).register(
        {
            "name": "社保人员联系方式",
            "department": "GA",
            "classification": "101002",
            "items": [
                {"name": "身份证号", "data_type": "C", "length": 18},
                {"name": "联系电话", "data_type": "C", "length": 20},
            ],
            "key_columns": ["身份证号"],
        }
    )
    ingest(
        config,
        other["code"],
        str(write(tmp_path / "o.csv", f"身份证号,联系电话\n{ID_A},13900139000\n{ID_B},\n")),
    )
    made = add_comparison(
        config,
        {
            "left": {"resource": people["code"], "item": "联系电话", "key": "身份证号"},
            "right": {"resource": other["code"], "item": "联系电话", "key": "身份证号"},
        },
    )
    run = run_comparison(config, made["id"])
    assert run["conflicts"] == 1
    assert ID_A.encode() not in stored_bytes(config.home / "compare")
    rows = conflicts(config, made["id"], run["id"])["rows"]
    assert [(r["key"], r["left_value"], r["right_value"]) for r in rows] == [
        (ID_A, PHONE, "13900139000")
    ]


def test_objections_keep_encrypted_keys_encrypted_and_still_correct_the_record(
    config: Config, people: dict
) -> None:
    raised = raise_objection(
        config,
        people["id"],
        {
            "key": {"身份证号": ID_A},
            "item": "联系电话",
            "proposed_value": "13900000000",
            "reason": "已换号",
        },
        actor="市民A",
    )
    assert raised["key"] == {"身份证号": ID_A} and raised["current_value"] == PHONE
    with session_scope(config.database_url) as s:
        kept = s.get(Objection, raised["id"])
        assert ID_A not in repr(kept.record_key) and kept.sealed["key"] == {"身份证号": "1"}
    for step in ("accepted", "verifying", "corrected"):
        done = transition(config, raised["id"], step, actor="公安数据员", note="已核实")
    assert done["key"] == {"身份证号": ID_A}
    rows = {r["身份证号"]: r["联系电话"] for r in preview(config, people["id"])["rows"]}
    assert rows[ID_A] == "13900000000" and len(rows) == 3


def test_equality_lookups_on_the_lake_over_many_rows(config: Config, tmp_path: Path) -> None:
    """Without a serving index, a sealed equality filter is pushed into the Arrow scan of files
    written by Polars (binary views) and by delta-rs merges (plain binary) alike."""
    res = register_persons(config)
    ids = [f"3501021990{i:08d}" for i in range(20_000)]
    body = "身份证号,姓名\n" + "".join(f"{i},人{n}\n" for n, i in enumerate(ids))
    ingest(config, res["code"], str(write(tmp_path / "many.csv", body)))
    ingest(  # a merge: delta-rs writes this part
        config,
        res["code"],
        str(write(tmp_path / "one.csv", f"身份证号,姓名\n{ids[7]},改名\n")),
        mode="upsert",
    )
    spec = {"id": res["id"], "key_columns": ["身份证号"]}
    wait_for_background()  # a shared resource gets its serving index after each commit:
    shutil.rmtree(config.home / "serving")  # this test asks the lake itself
    for op, values, expected in (
        ("eq", (ids[5],), [(ids[5], "人5")]),
        ("eq", (ids[7],), [(ids[7], "改名")]),
        ("in", (ids[1], ids[19_999]), [(ids[1], "人1"), (ids[19_999], "人19999")]),
    ):
        page = serving.query(
            config,
            spec,
            columns=["身份证号", "姓名"],
            filters=[serving.Filter("身份证号", op, values)],
        )
        assert page.engine == "lake"
        assert sorted(page.frame.select("身份证号", "姓名").rows()) == expected


def test_encrypting_stored_data_waits_for_a_load_in_progress(config: Config, people: dict) -> None:
    """A load that began while 联系电话 was L3 writes it in plain text; the officer raises it to
    L4 meanwhile. The rewrite waits for the load's commit, then encrypts its rows too: no
    version mixes both forms and no row is lost."""
    import threading
    import time

    from shuhai.lake import LINE_COLUMN, RUN_COLUMN

    table = LakeTable(config.lake_dir, people["id"])
    phones = [f"139{n:08d}" for n in range(2000)]
    frame = pl.DataFrame(
        {
            "身份证号": [f"1101011990{n:08d}" for n in range(2000)],
            "姓名": ["赵六"] * 2000,
            "联系电话": phones,
            RUN_COLUMN: [99] * 2000,
            LINE_COLUMN: list(range(2, 2002)),
        },
        schema_overrides={RUN_COLUMN: pl.Int64, LINE_COLUMN: pl.Int64},
    )
    first_part = threading.Event()

    def parts():  # the second half arrives after the officer's decision
        yield frame.head(1000)
        first_part.set()
        time.sleep(1.5)
        yield frame.tail(1000)

    load = threading.Thread(
        target=table.write_frames,
        args=(parts(),),
        kwargs={"schema": frame.to_arrow().schema, "mode": "append", "run_id": 99},
    )
    load.start()
    assert first_part.wait(30)
    grading.confirm(
        config, people["id"], {"联系电话": {"data_class": "重要", "level": "L4"}}, actor="sec"
    )
    load.join(60)
    wait_for_background()
    wait_for_background()
    assert set(table.encrypted_columns()) == {"身份证号", "联系电话"}
    rows = pl.from_arrow(table.read(columns=["联系电话"]))
    assert rows.height == 2003
    assert set(phones) <= set(rows["联系电话"].to_list())
    keys.protect_lake(config, [people["id"]], vacuum=True)
    on_disk = stored_bytes(table.path)
    assert not any(p.encode() in on_disk for p in phones[::97])


def test_a_data_key_from_before_short_codes_keeps_its_data_equal(
    config: Config, tmp_path: Path
) -> None:
    """A home upgraded with data sealed under an older key: that key keeps sealing with SIV, so
    merges on the key column and lookups by ID still find the rows already stored; new keys
    store an ID in one 16-byte block."""
    old = register_persons(config)
    with session_scope(config.database_url) as s:
        s.add(DataKey(resource_id=old["id"], wrapped=new_data_key(keys.master_key(config))[1]))
    ingest(config, old["code"], str(write(tmp_path / "a.csv", f"身份证号,姓名\n{ID_A},张三\n")))
    ingest(
        config,
        old["code"],
        str(write(tmp_path / "b.csv", f"身份证号,姓名\n{ID_A},张三丰\n")),
        mode="upsert",
    )
    stored = LakeTable(config.lake_dir, old["id"]).dataset().to_table(columns=["身份证号"])
    assert [len(v) for v in stored.column(0).to_pylist()] == [34]  # SIV, merged in place
    found = sql_query(config, old["id"], f"SELECT 姓名 FROM t WHERE 身份证号 = '{ID_A}'")
    assert found["rows"] == [{"姓名": "张三丰"}]

    cat = Catalog(config)
    new = cat.register(
        {
            "name": "新登记人口",
            "department": "GA",
            "classification": "101001",
            "items": [{"name": "身份证号", "data_type": "C", "length": 18}],
            "key_columns": ["身份证号"],
        }
    )
    ingest(config, new["code"], str(write(tmp_path / "c.csv", f"身份证号\n{ID_A}\n{ID_B}\n")))
    stored = LakeTable(config.lake_dir, new["id"]).dataset().to_table(columns=["身份证号"])
    assert [len(v) for v in stored.column(0).to_pylist()] == [16, 16]
    found = sql_query(config, new["id"], f"SELECT count(*) AS n FROM t WHERE 身份证号 = '{ID_B}'")
    assert found["rows"] == [{"n": 1}]


def test_a_data_key_whose_scheme_is_changed_no_longer_opens(config: Config, people: dict) -> None:
    """The wrapping authenticates the key's scheme: set back to SIV-only in the database, the key
    would seal IDs differently from what is stored (lookups and merges would silently miss);
    instead it fails to unwrap."""
    with session_scope(config.database_url) as s:
        s.query(DataKey).one().scheme = None
    lake_cipher.register_keyring(config.lake_dir, keys.LakeKeyring(config))
    with pytest.raises(InvalidInput) as refused:
        LakeTable(config.lake_dir, people["id"]).read()
    assert refused.value.code == "keys.cannot_unseal"


def test_rekey_moves_data_under_an_old_key_to_a_new_one(config: Config, tmp_path: Path) -> None:
    """``shuhai keys rekey``: an upgraded home's resource whose data key predates short codes is
    encrypted again under a new key — IDs become one block, lookups, merges and the serving
    index keep working, older versions still read under the old key, and quarantined rows
    stored under the old key stay readable."""
    res = register_persons(config)
    with session_scope(config.database_url) as s:
        s.add(DataKey(resource_id=res["id"], wrapped=new_data_key(keys.master_key(config))[1]))
    body = f"身份证号,姓名\n{ID_A},张三\n{ID_B},李四\n{ID_A},重复\n"
    ingest(config, res["code"], str(write(tmp_path / "a.csv", body)), mode="upsert")
    table = LakeTable(config.lake_dir, res["id"])
    before = table.latest_version()
    serving.build_index(config, res["id"])
    stored = table.dataset().to_table(columns=["身份证号"]).column(0).to_pylist()
    assert {len(v) for v in stored} == {34}
    quarantined = quarantine_rows(config, list_runs(config, res["id"])[0]["id"])["rows"]
    assert [(q["身份证号"], q["姓名"]) for q in quarantined] == [(ID_A, "张三")]

    done = keys.rekey(config)
    wait_for_background()  # like a load, the new version rebuilds the serving index
    assert [(d["resource_id"], d["version"]) for d in done] == [(res["id"], before + 1)]
    assert list(table.encrypted_columns().values()) == [done[0]["to"]]
    stored = table.dataset().to_table(columns=["身份证号"]).column(0).to_pylist()
    assert {len(v) for v in stored} == {16}
    assert sorted((r["身份证号"], r["姓名"]) for r in preview(config, res["id"])["rows"]) == sorted(
        [(ID_A, "重复"), (ID_B, "李四")]  # repeated keys: the last wins, the first is quarantined
    )
    assert list_runs(config, res["id"], limit=1)[0]["source_kind"] == "rekey"
    spec = {"id": res["id"], "key_columns": ["身份证号"]}
    page = serving.query(
        config, spec, columns=["姓名"], filters=[serving.Filter("身份证号", "eq", (ID_B,))]
    )
    assert page.engine == "index" and page.frame["姓名"].to_list() == ["李四"]
    ingest(  # a merge on the key column after the re-key updates in place
        config,
        res["code"],
        str(write(tmp_path / "b.csv", f"身份证号,姓名\n{ID_A},张三丰\n")),
        mode="upsert",
    )
    rows = {r["身份证号"]: r["姓名"] for r in preview(config, res["id"])["rows"]}
    assert rows == {ID_A: "张三丰", ID_B: "李四"}
    assert preview(config, res["id"], version=before)["total"] == 2  # time travel, old key
    run = list_runs(config, res["id"])[-1]["id"]
    assert quarantine_rows(config, run)["rows"] == quarantined
    assert keys.rekey(config) == []  # nothing left under an old key
