"""Catalog elements are validated with bilingual messages naming each problem."""

from __future__ import annotations

import pytest

from shuhai.catalog import validate_department, validate_resource
from shuhai.catalog.spec import uscc_checksum_ok
from shuhai.errors import InvalidInput

GOOD = {
    "name": "企业营业执照信息",
    "department": "scjg",
    "classification": "1 02 001",
    "items": [{"name": "统一社会信用代码", "data_type": "字符型", "length": 18, "required": "是"}],
    "share_type": "unconditional",
    "update_cycle": "daily",
}


def test_valid_resource_is_normalized() -> None:
    spec = validate_resource(GOOD)
    assert spec.department == "SCJG"
    assert (spec.category, spec.item, spec.subitem) == ("1", "02", "001")
    assert spec.share_type == "无条件共享"
    assert spec.update_cycle == "每日"
    assert spec.items[0].data_type == "C" and spec.items[0].required


def test_all_problems_are_collected_in_one_error() -> None:
    bad = {
        "name": "",
        "department": "X",
        "classification": "901",
        "share_type": "有条件共享",
        "update_cycle": "sometimes",
        "items": [{"name": "a b", "data_type": "Q"}, {"name": "x"}, {"name": "x"}],
        "key_columns": ["nope"],
        "related_codes": "bad-code",
    }
    with pytest.raises(InvalidInput) as info:
        validate_resource(bad)
    fields = {d["field"] for d in info.value.details}
    assert {
        "name",
        "category",
        "subitem",
        "share_condition",
        "update_cycle",
        "items[0].name",
        "items[0].data_type",
        "items[2].name",
        "key_columns",
        "related_codes",
    } <= fields
    assert info.value.status == 422
    # every message is bilingual
    assert all(" / " in d["error"] for d in info.value.details)


def test_not_shared_needs_a_legal_basis() -> None:
    with pytest.raises(InvalidInput) as info:
        validate_resource({**GOOD, "share_type": "不予共享"})
    assert any(d["field"] == "share_condition" for d in info.value.details)
    assert (
        validate_resource(
            {**GOOD, "share_type": "不予共享", "share_condition": "依据某法第十条"}
        ).share_type
        == "不予共享"
    )


@pytest.mark.parametrize("name", ["_hidden", "a,b", "名\t称", "x" * 101])
def test_item_names_must_be_usable_as_columns(name: str) -> None:
    with pytest.raises(InvalidInput):
        validate_resource({**GOOD, "items": [{"name": name}]})


def test_department_uscc_check_character(shared_data) -> None:  # noqa: ANN001
    valid = (shared_data / "identifiers" / "uscc_valid.txt").read_text().split()
    invalid = (shared_data / "identifiers" / "uscc_invalid.txt").read_text().split()
    assert valid and all(uscc_checksum_ok(c) for c in valid)
    assert validate_department({"name": "某局", "code": "A1", "uscc": valid[0]}).uscc == valid[0]
    wrong_check = [
        c for c in invalid if len(c) == 18 and c[:17].isalnum() and not uscc_checksum_ok(c)
    ]
    assert wrong_check
    with pytest.raises(InvalidInput):
        validate_department({"name": "某局", "code": "A1", "uscc": wrong_check[0]})


def test_department_code_is_checked() -> None:
    with pytest.raises(InvalidInput) as info:
        validate_department({"name": "", "code": "公安"})
    assert {d["field"] for d in info.value.details} == {"name", "code"}
