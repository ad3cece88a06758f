"""Free text at the edge: an objection's reason, its steps' notes and its attachment's name are
masked like free-text columns (ID, mobile and card numbers in them), and an objection is seen
only by the person who raised it and the department that provides the resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuhai.access.policy import Viewer
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.errors import ShuhaiError
from shuhai.ingest import ingest
from shuhai.quality.corrections import (
    attach,
    get_objection,
    list_objections,
    raise_objection,
    transition,
)
from shuhai.serve import objections
from tests.conftest import register_persons, write

ID = "350102198001010014"
MOBILE = "13912345678"
REASON = f"此人身份证 {ID}，电话{MOBILE}，银行卡 6222020200112233445 与登记不符"


@pytest.fixture
def raised(config: Config, tmp_path: Path) -> dict:
    res = register_persons(config)
    Catalog(config).register(
        {
            "name": "人口（开放）",
            "department": "GA",
            "classification": "101002",
            "items": [{"name": "身份证号"}, {"name": "姓名"}],
            "key_columns": ["身份证号"],
            "open_type": "无条件开放",
        }
    )
    ingest(config, res["code"], str(write(tmp_path / "p.csv", f"身份证号,姓名\n{ID},张三\n")))
    ingest(config, "人口（开放）", str(write(tmp_path / "o.csv", f"身份证号,姓名\n{ID},张三\n")))
    out = {}
    for name in (res["code"], "人口（开放）"):
        o = raise_objection(
            config,
            name,
            {"key": {"身份证号": ID}, "item": "姓名", "reason": REASON, "proposed_value": "张叁"},
            actor="rs_clerk",
        )
        transition(config, o["id"], "accepted", actor="ga_officer", note=f"已联系 {MOBILE}")
        attach(config, o["id"], f"身份证{ID}.pdf", b"%PDF-1.4")
        out[name] = get_objection(config, o["id"])
    ga = Catalog(config).department("GA")["id"]
    rs = Catalog(config).add_department({"name": "市人社局", "code": "RS"})["id"]
    out["viewers"] = {
        "anonymous": Viewer(),
        "public": Viewer("user", "citizen", None, ("public",)),
        "raiser": Viewer("user", "rs_clerk", rs, ("user",)),
        "other_officer": Viewer("user", "rs_officer", rs, ("officer",)),
        "own_user": Viewer("user", "ga_user", ga, ("user",)),
        "own_officer": Viewer("user", "ga_officer", ga, ("officer",)),
    }
    return out


def test_the_public_never_sees_objections_even_on_open_data(config: Config, raised: dict) -> None:
    o = raised["人口（开放）"]
    for who in ("anonymous", "public", "other_officer"):
        v = raised["viewers"][who]
        assert objections.visible(config, v, list_objections(config)) == []
        with pytest.raises(ShuhaiError) as exc:
            objections.one(config, v, o, "objection.read")
        assert exc.value.status in (401, 403)


def test_free_text_is_masked_for_everyone_but_the_owners_officer(
    config: Config, raised: dict
) -> None:
    o = next(v for k, v in raised.items() if k not in ("viewers", "人口（开放）"))
    for who in ("raiser", "own_user"):
        shown = objections.one(config, raised["viewers"][who], o, "objection.read")
        text = str(shown)
        assert ID not in text and MOBILE not in text and "6222020200112233445" not in text, who
        assert "350102********0014" in shown["reason"] and "139****5678" in shown["reason"]
        assert "139****5678" in shown["history"][-1]["note"]
        assert ID not in shown["attachment"]
    full = objections.one(config, raised["viewers"]["own_officer"], o, "objection.read")
    assert full["reason"] == REASON and ID in full["attachment"]
    # the list shows the same as the single view
    listed = objections.visible(config, raised["viewers"]["raiser"], list_objections(config))
    assert listed and all(ID not in str(x) for x in listed)
