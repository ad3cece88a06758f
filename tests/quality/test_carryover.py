"""A correction survives the next load (修正持续生效): the department re-sends its full snapshot
with the old value, the lake keeps the corrected one, the objection and the run say so; when the
source sends the corrected value (or another one) the correction is settled; a withdrawn
correction is not put back."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuhai.config import Config
from shuhai.errors import InvalidInput
from shuhai.ingest import ingest
from shuhai.lake import LakeTable
from shuhai.quality import quality_history, wait_for_checks
from shuhai.quality.corrections import get_objection, list_objections, raise_objection, transition
from tests.conftest import register_persons, write

HEADER = "身份证号,姓名,出生日期,月收入\n"
ZHANG, LI = "11010519491231002X", "110105194912310038"


def _snapshot(tmp_path: Path, name: str, zhang: str, li: str = "李四") -> str:
    text = HEADER + f"{ZHANG},{zhang},1949-12-31,100\n{LI},{li},1949-12-31,200\n"
    return str(write(tmp_path / f"{name}.csv", text))


def _names(config: Config, rid: int) -> dict[str, str]:
    table = LakeTable(config.lake_dir, rid)
    rows = table.open(table.dataset().to_table(), table.stored_schema()).to_pylist()
    return {r["身份证号"]: r["姓名"] for r in rows}


def _corrected(config: Config, rid: int, value: str) -> dict:
    o = raise_objection(
        config,
        rid,
        {"key": {"身份证号": ZHANG}, "item": "姓名", "proposed_value": value, "reason": "户籍为准"},
        actor="市民A",
    )
    for step in ("accepted", "verifying", "corrected", "closed"):
        o = transition(config, o["id"], step, actor="officer")
    return o


@pytest.fixture
def res(config: Config, tmp_path: Path) -> dict:
    res = register_persons(config)
    ingest(config, res["id"], _snapshot(tmp_path, "day1", "张三"), mode="replace")
    return res


def test_the_next_snapshot_with_the_old_value_keeps_the_correction(
    config: Config, res: dict, tmp_path: Path
) -> None:
    o = _corrected(config, res["id"], "张叁")
    assert o["corrected_value"] == "张叁" and o["in_force"]
    assert _names(config, res["id"])[ZHANG] == "张叁"
    run = ingest(config, res["id"], _snapshot(tmp_path, "day2", "张三"), mode="replace")
    # the step is the run's own: one row put back, because of this objection
    assert run["corrections"] == {
        "rows_corrected": 1,
        "still_old": [o["id"]],
        "adopted": [],
        "changed": [],
    }
    assert run["rows_in"] == run["rows_loaded"] == 2
    assert _names(config, res["id"]) == {ZHANG: "张叁", LI: "李四"}
    after = get_objection(config, o["id"])
    assert (after["status"], after["source_status"], after["source_run_id"]) == (
        "closed",
        "still_old",
        run["id"],
    )
    assert after["in_force"] and "源头仍报送旧值" in after["history"][-1]["note"]
    # the source department's list of what it still has to fix at the source
    assert [x["id"] for x in list_objections(config, source_status="still_old")] == [o["id"]]
    # a third load with the old value again: still put back, no second history entry
    again = ingest(config, res["id"], _snapshot(tmp_path, "day3", "张三"), mode="replace")
    assert again["corrections"]["rows_corrected"] == 1
    assert len(get_objection(config, o["id"])["history"]) == len(after["history"])
    wait_for_checks()
    assert quality_history(config, res["id"])[-1]["lake_version"] == again["lake_version"]


def test_the_source_adopting_the_value_settles_the_correction(
    config: Config, res: dict, tmp_path: Path
) -> None:
    o = _corrected(config, res["id"], "张叁")
    run = ingest(config, res["id"], _snapshot(tmp_path, "day2", "张叁"), mode="replace")
    assert run["corrections"]["adopted"] == [o["id"]] and run["corrections"]["rows_corrected"] == 0
    settled = get_objection(config, o["id"])
    assert settled["source_status"] == "adopted" and not settled["in_force"]
    # settled: a later snapshot with the old value is the source's own new statement
    later = ingest(config, res["id"], _snapshot(tmp_path, "day3", "张三"), mode="replace")
    assert later.get("corrections") is None
    assert _names(config, res["id"])[ZHANG] == "张三"


def test_another_value_from_the_source_stands(config: Config, res: dict, tmp_path: Path) -> None:
    o = _corrected(config, res["id"], "张叁")
    run = ingest(config, res["id"], _snapshot(tmp_path, "day2", "张珊"), mode="upsert")
    assert run["corrections"]["changed"] == [o["id"]]
    assert _names(config, res["id"])[ZHANG] == "张珊"
    assert get_objection(config, o["id"])["source_status"] == "changed"


def test_a_withdrawn_correction_is_not_put_back(config: Config, res: dict, tmp_path: Path) -> None:
    o = _corrected(config, res["id"], "张叁")
    with pytest.raises(InvalidInput):
        transition(config, o["id"], "withdrawn", actor="officer")  # a reason is required
    transition(config, o["id"], "withdrawn", actor="officer", note="核实有误，以户籍为准")
    run = ingest(config, res["id"], _snapshot(tmp_path, "day2", "张三"), mode="replace")
    assert run.get("corrections") is None
    assert _names(config, res["id"])[ZHANG] == "张三"
    assert not get_objection(config, o["id"])["in_force"]


def test_a_load_that_fails_leaves_the_objection_as_it_was(
    config: Config, res: dict, tmp_path: Path
) -> None:
    o = _corrected(config, res["id"], "张叁")
    broken = write(tmp_path / "broken.csv", "姓名\n张三\n")  # the required ID column is missing
    with pytest.raises(InvalidInput):
        ingest(config, res["id"], str(broken), mode="replace")
    assert get_objection(config, o["id"])["source_status"] is None
    assert _names(config, res["id"])[ZHANG] == "张叁"


def test_a_base_built_after_the_reload_uses_the_correction_and_says_so(
    config: Config, tmp_path: Path
) -> None:
    from shuhai.catalog import Catalog
    from shuhai.entities.build import build_base
    from shuhai.entities.service import profile, save_base, search_files

    cat = Catalog(config)
    cat.add_department({"name": "公安", "code": "GA"})
    items = ["身份证号", "姓名", "出生日期"]
    res = cat.register(
        {
            "name": "户籍人口",
            "department": "GA",
            "classification": "101001",
            "key_columns": ["身份证号"],
            "items": [{"name": i, "data_type": "D" if i == "出生日期" else "C"} for i in items],
        }
    )
    text = "身份证号,姓名,出生日期\n" + f"{ZHANG},张三,1949-12-31\n{LI},李四,1949-12-31\n"
    ingest(config, res["id"], str(write(tmp_path / "ga1.csv", text)), mode="replace")
    o = _corrected(config, res["id"], "张叁")
    ingest(config, res["id"], str(write(tmp_path / "ga2.csv", text)), mode="replace")
    save_base(
        config,
        {
            "name": "人口库",
            "members": [
                {
                    "resource": "户籍人口",
                    "id": "身份证号",
                    "attributes": {"姓名": "姓名", "出生日期": "出生日期"},
                }
            ],
            "authority": {"姓名": "户籍人口"},
        },
    )
    build_base(config, "人口库")
    file_id = search_files(config, "人口库", ZHANG)["items"][0]["file_id"]
    p = profile(config, "人口库", file_id)
    golden = {g["attribute"]: g["value"] for g in p["golden"]}
    assert golden["姓名"] == "张叁"
    assert [(c["id"], c["item"], c["source_status"]) for c in p["corrections"]] == [
        (o["id"], "姓名", "still_old")
    ]


def test_the_source_department_sees_what_it_still_sends(
    config: Config, res: dict, tmp_path: Path
) -> None:
    from shuhai.web.app import create_app
    from tests.conftest import signed_client

    o = _corrected(config, res["id"], "张叁")
    run = ingest(config, res["id"], _snapshot(tmp_path, "day2", "张三"), mode="replace")
    app = create_app(config)
    officer = signed_client(app, config, "ga_officer", ["officer"], "GA")
    listed = officer.get("/api/v1/objections?source_status=still_old").json()["items"]
    assert [(x["id"], x["source_run_id"], x["corrected_value"]) for x in listed] == [
        (o["id"], run["id"], "张叁")
    ]
    assert officer.get("/api/v1/objections?source_status=bogus").status_code == 422
    page = officer.get("/objections?source_status=still_old").text
    assert "源头仍报送旧值" in page and f"/objections/{o['id']}" in page
    detail = officer.get(f"/objections/{o['id']}").text
    assert "源头仍报送旧值，已按修正值入湖" in detail and f"/runs/{run['id']}" in detail
    assert "张叁" in detail
    # another department's officer sees none of it
    from shuhai.catalog import Catalog

    Catalog(config).add_department({"name": "人社", "code": "RS"})
    other = signed_client(app, config, "rs_officer", ["officer"], "RS")
    assert other.get("/api/v1/objections?source_status=still_old").json()["items"] == []


def test_a_record_corrected_twice_gets_the_latest_value_once(
    config: Config, res: dict, tmp_path: Path
) -> None:
    first = _corrected(config, res["id"], "张叁")
    second = _corrected(config, res["id"], "张叄")
    run = ingest(config, res["id"], _snapshot(tmp_path, "day2", "张三"), mode="replace")
    assert run["rows_loaded"] == 2 and LakeTable(config.lake_dir, res["id"]).count() == 2
    assert _names(config, res["id"])[ZHANG] == "张叄"
    assert run["corrections"]["still_old"] == [second["id"]]
    assert get_objection(config, first["id"])["source_status"] is None
    # the source adopts the latest value: the whole chain is settled, the first is not revived
    ingest(config, res["id"], _snapshot(tmp_path, "day3", "张叄"), mode="replace")
    assert get_objection(config, second["id"])["source_status"] == "adopted"
    later = ingest(config, res["id"], _snapshot(tmp_path, "day4", "张三"), mode="replace")
    assert later.get("corrections") is None and _names(config, res["id"])[ZHANG] == "张三"
