"""Masks that hold across columns (跨列还原): for every viewer who receives a masked value, no
other column of the same row gives it back.

The attack tried is the one that worked before: fill the starred part of a masked value with a
run of digits (or the whole text) of any other column the viewer received in the same row, and
see whether the original comes out — the birth date beside an ID masked as 6 + 4 digits gave the
middle eight exactly. The same is tried on person files (``mask_attribute_rows``).
"""

from __future__ import annotations

import re

import polars as pl
import pytest

from shuhai.access.policy import Decision, Viewer, apply, decide, mask_attribute_rows
from shuhai.catalog import Catalog
from shuhai.config import Config
from tests.access.test_policy import viewers

ROW = {
    "身份证号": "35011120090731646X",
    "姓名": "洪丽华",
    "出生日期": "2009-07-31",
    "性别": "2",
    "联系电话": "13859012345",
    "手机号码": "13859012345",  # the same number in a second column, graded lower
    "户籍地址": "福建省福州市鼓楼区东街街道8号",
    "联系地址": "福建省福州市鼓楼区东街街道8号",
    "银行账号": "6222020200112233445",
    "社会保障号码": "35011120090731646X",
}
ITEMS = [
    {"name": n, "data_type": "D" if n == "出生日期" else "C"} for n in ROW
]  # names imply the levels: ID, phone, card L4; name, address, birth date L3


def rebuilt(masked: str, original: str, others: list[str]) -> bool:
    """Whether ``original`` can be read back from ``masked`` and the other visible values."""
    if any(original == o for o in others):
        return True
    stars = [m.span() for m in re.finditer(r"\*+", masked)]
    if not stars:
        return masked == original
    for other in others:
        for candidate_source in (re.sub(r"\D", "", other), other):
            for a, b in stars:
                width = b - a
                for i in range(len(candidate_source) - width + 1):
                    filled = masked[:a] + candidate_source[i : i + width] + masked[b:]
                    if "*" not in filled and filled == original:
                        return True
    return False


def leaks(row_out: dict[str, object]) -> list[str]:
    found = []
    visible = {k: str(v) for k, v in row_out.items() if v is not None}
    for col, shown in visible.items():
        original = ROW[col]
        if shown == original:
            continue  # not masked for this viewer
        others = [v for k, v in visible.items() if k != col]
        if rebuilt(shown, original, others):
            found.append(col)
    return found


@pytest.fixture
def resources(config: Config) -> dict[str, int]:
    cat = Catalog(config)
    ids = {}
    for code in ("GA", "RS"):
        ids[code] = cat.add_department({"name": f"部门{code}", "code": code})["id"]
    cat.register(
        {
            "name": "人员信息",
            "department": "RS",
            "classification": "303001",
            "items": ITEMS,
            "share_type": "无条件共享",
            "open_type": "无条件开放",
        }
    )
    from shuhai.access.policy import operator
    from shuhai.open import publish

    publish(config, "人员信息", viewer=operator())  # what the public reads of it (no L4 item)
    return ids


def test_the_rebuild_attack_works_on_a_plain_6_plus_4_mask() -> None:
    # the oracle of this file: the mask of before, beside the birth date, gives the ID back
    assert rebuilt("350111********646X", ROW["身份证号"], ["2009-07-31"])
    assert not rebuilt("350111********646X", ROW["身份证号"], ["2009-**-**"])


@pytest.mark.parametrize("who", ["anonymous", "own_user", "other_user", "other_system"])
def test_no_visible_column_rebuilds_a_masked_one(
    config: Config, resources: dict[str, int], who: str
) -> None:
    viewer: Viewer = viewers(resources)[who]
    d = decide(config, viewer, "人员信息")
    assert d.allowed and d.masking, who
    frame = pl.DataFrame([ROW], schema=dict.fromkeys(ROW, pl.String))
    out = apply(frame, d).to_dicts()[0]
    assert out.get("身份证号") != ROW["身份证号"]  # masked for every one of these viewers
    assert leaks(out) == []
    if "出生日期" in out:
        assert out["出生日期"] == "2009-**-**"
    # a second column of a masked kind is masked alike (the same number graded lower)
    assert out["手机号码"] == out["联系电话"]
    assert out.get("社会保障号码") == out.get("身份证号")  # (both left out for the public: L4)


def test_the_owners_officer_sees_everything(config: Config, resources: dict[str, int]) -> None:
    d = decide(config, viewers(resources)["own_officer"], "人员信息")
    frame = pl.DataFrame([ROW], schema=dict.fromkeys(ROW, pl.String))
    assert apply(frame, d).to_dicts()[0] == ROW


def test_person_files_hold_the_mask_across_attributes() -> None:
    for levels in ({"L4"}, {"L3", "L4"}):
        d = Decision(True, "access.own", "", mask_levels=frozenset(levels))
        out = mask_attribute_rows([dict(ROW)], d)[0]
        assert out["身份证号"] != ROW["身份证号"]
        # an L3 item without a rule is left out where L3 is masked; beside a masked ID it is
        # kept to its year where it is shown
        assert out.get("出生日期", "2009-**-**") == "2009-**-**"
        assert leaks(out) == []
    assert (
        "出生日期"
        in mask_attribute_rows([dict(ROW)], Decision(True, "", "", mask_levels=frozenset({"L4"})))[
            0
        ]
    )
