"""The access matrix at the policy point: every kind of viewer × own or another department's
resource × each share type (and open data). No read without entitlement (OWASP API1)."""

from __future__ import annotations

import polars as pl
import pytest

from shuhai.access.policy import Viewer, apply, decide, operator
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.open import publish, withdraw

ITEMS = [
    {"name": "身份证号"},
    {"name": "姓名"},
    {"name": "联系电话"},
    {"name": "银行账号"},
    {"name": "备注", "data_type": "M"},
    {"name": "参保日期", "data_type": "D"},
]


@pytest.fixture
def city(any_config: Config) -> dict[str, int]:
    config = any_config
    cat = Catalog(config)
    ids = {}
    for code in ("GA", "RS"):
        ids[code] = cat.add_department({"name": f"部门{code}", "code": code})["id"]
    for share, open_type, cls in (
        ("无条件共享", "无条件开放", "303001"),
        ("有条件共享", "不予开放", "303002"),
        ("不予共享", "不予开放", "303003"),
    ):
        cat.register(
            {
                "name": f"参保{share}",
                "department": "RS",
                "classification": cls,
                "items": ITEMS,
                "share_type": share,
                "share_condition": "依据《个人信息保护法》"
                if share == "不予共享"
                else ("依申请" if share == "有条件共享" else ""),
                "open_type": open_type,
            }
        )
    publish(config, "参保无条件共享", viewer=operator())  # what the public may read of it
    return ids


def viewers(ids: dict[str, int]) -> dict[str, Viewer]:
    return {
        "anonymous": Viewer(),
        "public": Viewer("user", "p", None, ("public",)),
        "admin": Viewer("user", "a", None, ("admin",)),
        "security": Viewer("user", "s", None, ("security",)),
        "auditor": Viewer("user", "au", None, ("auditor",)),
        "own_officer": Viewer("user", "o", ids["RS"], ("officer",)),
        "own_user": Viewer("user", "u", ids["RS"], ("user",)),
        "other_officer": Viewer("user", "o2", ids["GA"], ("officer",)),
        "other_user": Viewer("user", "u2", ids["GA"], ("user",)),
        "other_system": Viewer("system", "ak_x", ids["GA"]),
    }


# resource share type -> viewer -> (allowed, masked ID?)
EXPECTED = {
    "无条件共享": {
        # also 无条件开放 and published: open data, personal items masked, the ID (L4) left out
        "anonymous": (True, None),
        "public": (True, None),
        "admin": (False, None),
        "security": (False, None),
        "auditor": (False, None),
        "own_officer": (True, False),
        "own_user": (True, True),
        "other_officer": (True, True),
        "other_user": (True, True),
        "other_system": (True, True),
    },
    "有条件共享": {
        "anonymous": (False, None),
        "public": (False, None),
        "admin": (False, None),
        "security": (False, None),
        "auditor": (False, None),
        "own_officer": (True, False),
        "own_user": (True, True),
        "other_officer": (False, None),
        "other_user": (False, None),
        "other_system": (False, None),
    },
}
# Without a grant a conditionally shared resource is as closed to others as one never shared.
EXPECTED["不予共享"] = dict(EXPECTED["有条件共享"])


@pytest.mark.parametrize("share", list(EXPECTED))
def test_access_matrix(any_config: Config, city: dict[str, int], share: str) -> None:
    config = any_config
    for who, viewer in viewers(city).items():
        d = decide(config, viewer, f"参保{share}")
        allowed, masked = EXPECTED[share][who]
        assert d.allowed is allowed, (share, who, d.reason)
        if allowed and masked is None:
            assert "身份证号" not in d.columns and "姓名" in d.masking, (share, who)
        elif allowed:
            assert ("身份证号" in d.masking) is masked, (share, who)
        else:
            assert not d.columns and " / " in d.reason


def test_open_data_is_read_by_the_public_only_while_published(
    any_config: Config, city: dict[str, int]
) -> None:
    config = any_config
    public = viewers(city)["public"]
    assert decide(config, public, "参保无条件共享").allowed
    withdraw(config, "303001-rs-00001", viewer=operator(), reason="核查")
    d = decide(config, public, "参保无条件共享")
    assert not d.allowed and d.code == "access.not_published"
    publish(config, "参保无条件共享", {"columns": ["参保日期"]}, viewer=operator())
    assert decide(config, public, "参保无条件共享").columns == ["参保日期"]


def test_a_grant_opens_exactly_the_approved_columns(
    any_config: Config, city: dict[str, int]
) -> None:
    config = any_config
    other = viewers(city)["other_user"]

    def grants(dept: int, resource: int) -> set[str] | None:
        return {"姓名", "参保日期"} if dept == city["GA"] else None

    d = decide(config, other, "参保有条件共享", grants=grants)
    assert d.allowed and sorted(d.columns) == ["参保日期", "姓名"]
    assert (
        decide(config, viewers(city)["other_user"], "参保不予共享", grants=grants).allowed is False
    )


def test_scoped_credentials(any_config: Config, city: dict[str, int]) -> None:
    config = any_config
    system = Viewer("system", "ak", city["GA"], scopes=("999999/XX-00001",))
    assert decide(config, system, "参保无条件共享").code == "access.out_of_scope"


def test_apply_masks_and_drops(any_config: Config, city: dict[str, int]) -> None:
    config = any_config
    frame = pl.DataFrame(
        {
            "身份证号": ["350102198001010014"],
            "姓名": ["张三丰"],
            "联系电话": ["13800138000"],
            "银行账号": ["6222021234567890123"],
            "备注": ["电话13800138000"],
            "参保日期": ["2020-01-01"],
            "_line": [2],
        }
    )
    own_user = decide(config, viewers(city)["own_user"], "参保无条件共享")
    row = apply(frame, own_user).row(0, named=True)
    assert row["身份证号"] == "350102********0014" and row["银行账号"] == "6222***********0123"
    assert row["姓名"] == "张三丰" and row["_line"] == 2  # L3 visible inside the department
    public = decide(config, viewers(city)["public"], "参保无条件共享")
    row = apply(frame, public).row(0, named=True)
    assert row["姓名"] == "张*丰" and row["联系电话"] == "138****8000"
    assert row["备注"] == "电话138****8000"
    assert "身份证号" not in row and "银行账号" not in row  # L4: never open
    officer = decide(config, viewers(city)["own_officer"], "参保无条件共享")
    assert apply(frame, officer).row(0, named=True)["身份证号"] == "350102198001010014"
    denied = decide(config, viewers(city)["admin"], "参保无条件共享")
    assert apply(frame, denied).width == 0
