"""Classification and grading (数据分类分级, GB/T 43697-2024): every info item gets a class
(核心 / 重要 / 一般) and a sensitivity level (L1–L4), proposed from its name and, where the name
says nothing, from its values (a column full of valid ID numbers is personal data whatever it is
called); the security officer confirms or changes the proposal.

Levels: L4 sensitive personal information (ID numbers, bank cards, health, biometrics …);
L3 personal information (names with identifiers, phones, addresses); L2 internal business data;
L1 public information. Class: 核心 for data whose leak endangers national or public security
(not proposed automatically), 重要 for bulk personal or economic data at L3–L4, 一般 otherwise.
The rules are data (``RULES``), tested item by item.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl
from sqlalchemy import select

from shuhai.access.masking import rule_for
from shuhai.catalog.service import find_resource
from shuhai.config import Config
from shuhai.db import InfoItem, session_scope
from shuhai.errors import InvalidInput, NotFound
from shuhai.events import ACCESS_CHANGED, emit

CLASSES = ("核心", "重要", "一般")
LEVELS = ("L1", "L2", "L3", "L4")

# (pattern on the item name, level, reason) — the first match wins
RULES: list[tuple[str, str, str]] = [
    (r"身份证号|证件号码|公民身份号码|社会保障号码|护照号", "L4", "身份证件号码属于敏感个人信息"),
    (r"银行卡|银行账号|账号|卡号", "L4", "金融账户属于敏感个人信息"),
    (
        r"病|诊断|健康|医疗记录|疫苗|接种|基因|指纹|人脸|虹膜",
        "L4",
        "健康与生物识别信息属于敏感个人信息",
    ),
    (r"宗教|犯罪|违法记录|行踪|轨迹", "L4", "敏感个人信息"),
    (r"手机|电话|邮箱|电子邮件", "L3", "联系方式属于个人信息"),
    (r"地址|住址|住所|居住地|坐落", "L3", "住址属于个人信息"),
    (r"姓名|出生日期|性别|民族|婚姻", "L3", "可识别自然人的个人信息"),
    (r"收入|工资|罚款金额|欠税|纳税|营业总收入|合同金额", "L2", "经营与财务数据"),
    (
        r"统一社会信用代码|企业名称|名称|法定代表人|登记|许可|资质|行业|类型",
        "L1",
        "依法公示的主体信息",
    ),
]


def _values_look_like_ids(values: pl.Series) -> bool:
    """True when most non-empty values are 18-character ID numbers with a valid check."""
    from shuhai.entities.standardize import id_checksum_ok, id_numbers

    text = values.cast(pl.String).drop_nulls().head(1000)
    if text.len() < 5:
        return False
    ok = id_checksum_ok(id_numbers(text))
    return bool(ok.mean() >= 0.8)


def propose(item_name: str, values: pl.Series | None = None) -> dict[str, Any]:
    """A proposal for one info item: class, level, masking rule and the reason."""
    level, reason = "L2", "未命中规则，默认为内部数据"
    for pattern, lv, why in RULES:
        if re.search(pattern, item_name):
            level, reason = lv, why
            break
    masking = rule_for(item_name)
    if level != "L4" and values is not None and _values_look_like_ids(values):
        level, reason, masking = "L4", "取值为身份证号码", "id_number"
    data_class = "重要" if level in ("L3", "L4") else "一般"
    return {"data_class": data_class, "level": level, "masking": masking, "reason": reason}


def propose_for_resource(config: Config, resource: str | int) -> list[dict[str, Any]]:
    """Proposals for every info item of a resource, using its latest data where it has any."""
    from shuhai.lake import LakeTable

    with session_scope(config.database_url) as s:
        res = find_resource(s, resource)
        items = [(it.name, it.data_class, it.level, it.grading_confirmed_by) for it in res.items]
        rid = res.id
    table = LakeTable(config.lake_dir, rid)
    sample: pl.DataFrame | None = None
    if table.exists():
        data = pl.from_arrow(table.read(limit=1000))
        sample = data if isinstance(data, pl.DataFrame) else None
    out = []
    for name, data_class, level, by in items:
        values = sample[name] if sample is not None and name in sample.columns else None
        out.append(
            {
                "item": name,
                **propose(name, values),
                "confirmed": {"data_class": data_class, "level": level, "by": by} if by else None,
            }
        )
    return out


def confirm(
    config: Config, resource: str | int, grading: dict[str, dict[str, str]], *, actor: str
) -> list[dict[str, Any]]:
    """The security officer's decision: ``{item: {data_class, level}}``; all-or-nothing."""
    problems = []
    with session_scope(config.database_url) as s:
        res = find_resource(s, resource)
        by_name = {it.name: it for it in res.items}
        for name, g in grading.items():
            if name not in by_name:
                problems.append({"field": name, "error": "没有此信息项 / no such item"})
                continue
            if g.get("data_class") not in CLASSES:
                problems.append(
                    {"field": f"{name}.data_class", "error": f"应为 {'/'.join(CLASSES)}"}
                )
            if g.get("level") not in LEVELS:
                problems.append({"field": f"{name}.level", "error": f"应为 {'/'.join(LEVELS)}"})
        if problems:
            raise InvalidInput(
                "grading.invalid",
                f"分类分级有 {len(problems)} 处错误",
                f"{len(problems)} problems in the grading",
                details=problems,
            )
        raised = False
        for name, g in grading.items():
            it = by_name[name]
            raised |= g["level"] == "L4" or g["data_class"] == "核心"
            it.data_class, it.level, it.grading_confirmed_by = g["data_class"], g["level"], actor
        emit(ACCESS_CHANGED)
        if raised:  # encrypt what the lake already holds of these items, once this commits
            from shuhai.access.keys import protect_lake
            from shuhai.plugins import in_background

            rid = res.id
            s.commit()
            in_background(f"protect-r{rid}", protect_lake, config, [rid])
        return [
            {
                "item": it.name,
                "data_class": it.data_class,
                "level": it.level,
                "by": it.grading_confirmed_by,
            }
            for it in res.items
        ]


def levels_of(config: Config, resource_id: int) -> dict[str, str]:
    """Each item's level in force: the confirmed one, else the proposal from its name."""
    with session_scope(config.database_url) as s:
        items = s.scalars(select(InfoItem).where(InfoItem.resource_id == resource_id)).all()
        if not items:
            raise NotFound("grading.no_items", "资源没有信息项", "The resource has no items")
        return {it.name: it.level or propose(it.name)["level"] for it in items}


__all__ = ["CLASSES", "LEVELS", "RULES", "confirm", "levels_of", "propose", "propose_for_resource"]
