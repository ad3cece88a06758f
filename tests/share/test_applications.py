"""Share applications: who may apply for what, the 10-working-day deadline on the holiday
calendar, refusals with reasons, escalation of overdue ones, grants of exactly what was approved."""

from __future__ import annotations

import datetime as dt

import pytest

from shuhai.access.policy import Viewer
from shuhai.access.policy import decide as access
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuhai.share import applications as share

ITEMS = [{"name": "身份证号"}, {"name": "姓名"}, {"name": "参保日期", "data_type": "D"}]


@pytest.fixture
def city(any_config: Config) -> tuple[Config, dict[str, int]]:
    cat = Catalog(any_config)
    ids = {c: cat.add_department({"name": f"部门{c}", "code": c})["id"] for c in ("GA", "RS")}
    for share_type, cls in (
        ("有条件共享", "303002"),
        ("无条件共享", "303001"),
        ("不予共享", "303003"),
    ):
        cat.register(
            {
                "name": f"参保{share_type}",
                "department": "RS",
                "classification": cls,
                "items": ITEMS,
                "share_type": share_type,
                "share_condition": "依据《个人信息保护法》第十三条"
                if share_type == "不予共享"
                else "依申请",
            }
        )
    return any_config, ids


GOOD = {
    "purpose": "核验就业补贴申请人参保状态",
    "legal_basis": "《就业促进法》第十五条",
    "scenario": "补贴审核",
    "items": ["身份证号", "参保日期"],
    "period_end": "2027-06-30",
}


def test_deadline_is_ten_working_days_on_the_holiday_calendar(city: tuple[Config, dict]) -> None:
    config, ids = city
    # Submitted on 2026-09-28 (Monday): the National Day holiday (Oct 1–7) does not count.
    app = share.apply(
        config,
        ids["GA"],
        "参保有条件共享",
        GOOD,
        applicant="ga_officer",
        today=dt.date(2026, 9, 28),
    )
    assert app["status"] == "submitted"
    assert dt.date.fromisoformat(app["deadline"]) > dt.date(2026, 10, 12)


def test_approval_grants_exactly_the_approved_items(city: tuple[Config, dict]) -> None:
    config, ids = city
    app = share.apply(
        config,
        ids["GA"],
        "参保有条件共享",
        {**GOOD, "period_start": dt.date.today().isoformat()},
        applicant="ga",
    )
    viewer = Viewer("user", "ga_user", ids["GA"], ("user",))
    assert not access(config, viewer, "参保有条件共享", grants=share.grants(config)).allowed
    with pytest.raises(Forbidden):  # only the provider decides
        share.decide(config, app["id"], approve=True, department_id=ids["GA"], actor="ga")
    with pytest.raises(InvalidInput):  # more than was applied for
        share.decide(
            config, app["id"], approve=True, department_id=ids["RS"], actor="rs", items=["姓名"]
        )
    done = share.decide(
        config, app["id"], approve=True, department_id=ids["RS"], actor="rs", items=["参保日期"]
    )
    assert done["active"] and done["approved_items"] == ["参保日期"]
    d = access(config, viewer, "参保有条件共享", grants=share.grants(config))
    assert d.allowed and d.columns == ["参保日期"]
    later = share.grants(config, today=dt.date(2027, 7, 1))  # the period is over
    assert not access(config, viewer, "参保有条件共享", grants=later).allowed
    with pytest.raises(Conflict):
        share.decide(
            config, app["id"], approve=False, department_id=ids["RS"], actor="rs", reason="x"
        )


def test_refusals_need_a_reason(city: tuple[Config, dict]) -> None:
    config, ids = city
    app = share.apply(config, ids["GA"], "参保有条件共享", GOOD, applicant="ga")
    with pytest.raises(InvalidInput) as exc:
        share.decide(config, app["id"], approve=False, department_id=ids["RS"], actor="rs")
    assert exc.value.code == "share.reason_required"
    done = share.decide(
        config,
        app["id"],
        approve=False,
        department_id=ids["RS"],
        actor="rs",
        reason="用途与职责无关",
    )
    assert done["status"] == "refused" and done["reason"] == "用途与职责无关"


def test_overdue_applications_are_escalated(city: tuple[Config, dict]) -> None:
    config, ids = city
    app = share.apply(
        config, ids["GA"], "参保有条件共享", GOOD, applicant="ga", today=dt.date(2026, 3, 2)
    )
    assert share.escalate_overdue(config, today=dt.date(2026, 3, 10)) == []
    late = share.escalate_overdue(config, today=dt.date(2026, 3, 20))
    assert [a["id"] for a in late] == [app["id"]] and late[0]["status"] == "escalated"
    # the provider can still answer an escalated application
    assert (
        share.decide(config, app["id"], approve=True, department_id=ids["RS"], actor="rs")["status"]
        == "approved"
    )


def test_bad_applications(city: tuple[Config, dict]) -> None:
    config, ids = city
    with pytest.raises(InvalidInput) as exc:
        share.apply(
            config,
            ids["GA"],
            "参保有条件共享",
            {"items": ["身份证号", "银行卡号"], "period_end": "明年", "purpose": ""},
            applicant="ga",
        )
    fields = {e["field"] for e in exc.value.details}
    assert {"purpose", "legal_basis", "items", "period_end"} <= fields
    with pytest.raises(Conflict):
        share.apply(config, ids["GA"], "参保无条件共享", GOOD, applicant="ga")
    with pytest.raises(Forbidden) as refused:
        share.apply(config, ids["GA"], "参保不予共享", GOOD, applicant="ga")
    assert "个人信息保护法" in refused.value.message
    with pytest.raises(Conflict):
        share.apply(config, ids["RS"], "参保有条件共享", GOOD, applicant="rs")  # own data
    with pytest.raises(NotFound):
        share.apply(config, ids["GA"], "不存在的资源", GOOD, applicant="ga")
    with pytest.raises(NotFound):
        share.decide(config, 9999, approve=True, department_id=ids["RS"], actor="rs")
