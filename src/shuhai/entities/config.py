"""Base-database configuration as data (基础库配置): member resources, the column that holds each
person's ID in each, and which source is authoritative for which attribute (一数一源).

Example (YAML)::

    name: 人口基础库
    kind: person
    members:
      - {resource: 常住人口基本信息, id: 身份证号, attributes: {姓名: 姓名, 性别: 性别, 出生日期: 出生日期, 户籍地址: 户籍地址}}
      - {resource: 参保人员信息, id: 身份证号, attributes: {姓名: 姓名, 社会保障号码: 社会保障号码, 联系电话: 联系电话}}
    authority: {姓名: 常住人口基本信息, 性别: 常住人口基本信息, 出生日期: 常住人口基本信息, 社会保障号码: 参保人员信息}
    survivorship: most_recent   # for attributes without an authority

Validation collects every problem: unknown resources or columns, an attribute with two
authorities, an authority that does not provide the attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from shuhai.catalog.service import find_resource, resource_dict
from shuhai.errors import InvalidInput, NotFound

KINDS = ("person", "enterprise")
SURVIVORSHIP = ("most_recent", "most_frequent", "longest")


@dataclass
class Member:
    resource_id: int
    resource: str
    id_column: str
    attributes: dict[str, str]  # golden attribute -> column in this resource


@dataclass
class BaseConfig:
    name: str
    kind: str
    members: list[Member]
    authority: dict[str, int] = field(default_factory=dict)  # attribute -> resource id
    survivorship: str = "most_recent"

    @property
    def attributes(self) -> list[str]:
        seen: list[str] = []
        for m in self.members:
            seen += [a for a in m.attributes if a not in seen]
        return seen


def validate_config(s: Session, data: dict[str, Any]) -> BaseConfig:
    """Check a base-database config against the catalog; raise one error listing every problem."""
    problems: list[dict[str, Any]] = []
    if not isinstance(data, dict):
        raise InvalidInput("entities.bad_config", "配置应为对象", "The config must be an object")
    kind = data.get("kind", "person")
    if kind not in KINDS:
        problems.append(
            {
                "field": "kind",
                "error": f"kind 应为 {'/'.join(KINDS)} / kind must be one of {', '.join(KINDS)}",
            }
        )
    survivorship = data.get("survivorship", "most_recent")
    if survivorship not in SURVIVORSHIP:
        problems.append(
            {
                "field": "survivorship",
                "error": f"应为 {'/'.join(SURVIVORSHIP)} / must be one of {', '.join(SURVIVORSHIP)}",
            }
        )
    members: list[Member] = []
    raw_members = data.get("members") or []
    if not isinstance(raw_members, list) or not raw_members:
        problems.append(
            {"field": "members", "error": "至少需要一个成员资源 / at least one member resource"}
        )
        raw_members = []
    by_name: dict[str, Member] = {}
    for i, m in enumerate(raw_members):
        where = f"members[{i}]"
        try:
            res = resource_dict(find_resource(s, str(m.get("resource", ""))))
        except NotFound:
            problems.append(
                {
                    "field": f"{where}.resource",
                    "error": f"资源“{m.get('resource')}”不存在 / unknown resource",
                }
            )
            continue
        columns = {it["name"] for it in res["items"]}
        id_column = str(m.get("id", ""))
        if id_column not in columns:
            problems.append(
                {
                    "field": f"{where}.id",
                    "error": f"{res['name']} 没有信息项“{id_column}” / no item {id_column!r}",
                }
            )
        attributes = m.get("attributes") or {}
        if not isinstance(attributes, dict):
            problems.append(
                {
                    "field": f"{where}.attributes",
                    "error": "应为 属性: 信息项 / must map attribute to item",
                }
            )
            attributes = {}
        for attr, col in attributes.items():
            if col not in columns:
                problems.append(
                    {
                        "field": f"{where}.attributes.{attr}",
                        "error": f"{res['name']} 没有信息项“{col}” / no item {col!r}",
                    }
                )
        member = Member(
            res["id"], res["name"], id_column, {str(a): str(c) for a, c in attributes.items()}
        )
        members.append(member)
        by_name[res["name"]] = member
        by_name[res["code"]] = member
    authority: dict[str, int] = {}
    raw_authority = data.get("authority") or {}
    if isinstance(
        raw_authority, list
    ):  # [{attribute, resource}] lets a config name two authorities: refused below
        pairs = [(str(a.get("attribute")), str(a.get("resource"))) for a in raw_authority]
    else:
        pairs = [(str(a), str(r)) for a, r in raw_authority.items()]
    for attr, resource in pairs:
        if attr in authority:
            problems.append(
                {
                    "field": f"authority.{attr}",
                    "error": f"属性“{attr}”只能有一个权威来源（一数一源）/ one authoritative source per attribute",
                }
            )
            continue
        member = by_name.get(resource)
        if member is None:
            problems.append(
                {
                    "field": f"authority.{attr}",
                    "error": f"权威来源“{resource}”不是成员资源 / the authority is not a member",
                }
            )
            continue
        if attr not in member.attributes:
            problems.append(
                {
                    "field": f"authority.{attr}",
                    "error": f"{member.resource} 不提供属性“{attr}” / the authority does not provide it",
                }
            )
            continue
        authority[attr] = member.resource_id
    if problems:
        raise InvalidInput(
            "entities.invalid_config",
            f"基础库配置有 {len(problems)} 处错误",
            f"{len(problems)} problems in the base-database config",
            details=problems,
        )
    return BaseConfig(str(data.get("name") or "基础库"), kind, members, authority, survivorship)


__all__ = ["BaseConfig", "Member", "validate_config"]
