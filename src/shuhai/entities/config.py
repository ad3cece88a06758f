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

Optional keys: ``standardize`` per member (how its ID and sex columns are written, see
``shuhai.entities.standardize.IdFormat``/``SexFormat``: ``{身份证号: {prefixes: [G, L],
remove: ["^身份证:"]}, 性别: {map: {M: 1, F: 2}, unknown: ["0", "9", "3"]}}``), ``event`` per member (``{date: 入学日期, label: 入学}``, a timeline entry per
record), ``match`` per member (which column plays which linking role when the attribute names
do not say it), ``thresholds`` (``{link: 0.95, review: 0.6}``), and for legal entities
``relations`` (``{resource, enterprise, person, role}``: legal representatives, shareholders,
employees) resolved through the person base named by ``persons``. An e-licence base database
(``kind: licence``) lists ``licences`` instead of members::

    licences:
      - {resource: 机动车驾驶证信息, type: 机动车驾驶证, number: 驾驶证号, holder: 身份证号,
         holder_kind: person, name: 姓名, issued: 初次领证日期, valid_until: 有效期至}

Validation collects every problem: unknown resources or columns, an attribute with two
authorities, an authority that does not provide the attribute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from shuhai.catalog.service import find_resource, resource_dict
from shuhai.entities.standardize import DEFAULT_ID_FORMAT, DEFAULT_SEX_FORMAT, IdFormat, SexFormat
from shuhai.errors import InvalidInput, NotFound

KINDS = ("person", "enterprise", "licence")
ROLES = ("name", "birth", "sex", "phone", "address", "legal")
ROLE_PATTERNS = {
    "name": r"姓名$|名称$|^名字$",
    "birth": r"出生日期|出生年月",
    "sex": r"性别",
    "phone": r"电话|手机",
    "address": r"地址|住址|住所|居住地",
    "legal": r"^法定代表人(姓名)?$|^负责人$",
}
HOLDER_KINDS = ("person", "enterprise")
SURVIVORSHIP = ("most_recent", "most_frequent", "longest")


@dataclass
class Member:
    resource_id: int
    resource: str
    id_column: str
    attributes: dict[str, str]  # golden attribute -> column in this resource
    roles: dict[str, str] = field(default_factory=dict)  # linking role -> column
    event: dict[str, str] | None = None  # {date: column, label: text}
    id_format: IdFormat = DEFAULT_ID_FORMAT  # how the ID column writes numbers (standardize)
    sex_format: SexFormat = DEFAULT_SEX_FORMAT  # how the sex column writes sex

    @property
    def key(self) -> str:
        """Stable name of the member: resource id and ID column (a resource can hold two roles)."""
        return f"{self.resource_id}/{self.id_column}"


@dataclass
class Relation:
    """企业与人员关联: a resource row links an enterprise code to a person's ID number."""

    resource_id: int
    resource: str
    enterprise: str
    person: str
    role: str


@dataclass
class LicenceSource:
    """电子证照来源: where a kind of licence is held and which columns say what."""

    resource_id: int
    resource: str
    department: str
    type: str
    number: str
    holder: str
    holder_kind: str
    name: str | None = None
    issued: str | None = None
    valid_until: str | None = None
    status: str | None = None


@dataclass
class BaseConfig:
    name: str
    kind: str
    members: list[Member]
    authority: dict[str, int] = field(default_factory=dict)  # attribute -> resource id
    survivorship: str = "most_recent"
    thresholds: dict[str, float] = field(default_factory=lambda: {"link": 0.95, "review": 0.6})
    relations: list[Relation] = field(default_factory=list)
    persons: str | None = None  # the person base that resolves relations and licence holders
    enterprises: str | None = None  # the legal-entity base that resolves licence holders
    licences: list[LicenceSource] = field(default_factory=list)

    @property
    def authority_key(self) -> str | None:
        """The member that holds every resident's current number (公安's register): the
        authority for names, else the first member."""
        for m in self.members:
            if m.resource_id == self.authority.get("姓名"):
                return m.key
        return self.members[0].key if self.members else None

    @property
    def attributes(self) -> list[str]:
        seen: list[str] = []
        for m in self.members:
            seen += [a for a in m.attributes if a not in seen]
        return seen


ID_RULES = {"prefixes", "wrappers", "x", "separators", "remove", "upgrade_15"}
SEX_RULES = {"map", "unknown"}


def _pattern(value: object, where: str, problems: list[dict[str, Any]]) -> str | None:
    """A pattern as the standardizer runs it (Rust regex in Polars): refused when it does not
    compile, with the compiler's reason."""
    import polars as pl

    if not isinstance(value, str) or not value:
        problems.append(
            {"field": where, "error": "应为非空正则表达式 / must be a regular expression"}
        )
        return None
    try:
        pl.Series([""], dtype=pl.String).str.replace_all(value, "")
    except Exception as exc:  # noqa: BLE001 — Polars reports regex errors as several types
        reason = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
        problems.append(
            {
                "field": where,
                "error": f"正则表达式无法编译 / the pattern does not compile: {reason}",
            }
        )
        return None
    return value


def _strings(value: object, where: str, problems: list[dict[str, Any]]) -> tuple[str, ...] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        problems.append({"field": where, "error": "应为字符串列表 / must be a list of strings"})
        return None
    return tuple(str(v) for v in value)


def _formats(
    raw: object,
    id_column: str,
    sex_column: str | None,
    where: str,
    problems: list[dict[str, Any]],
) -> tuple[IdFormat, SexFormat]:
    """``standardize: {<column>: rules}`` of one member: ID rules for its ID column, sex rules
    for its sex column; every problem collected."""
    id_format, sex_format = DEFAULT_ID_FORMAT, DEFAULT_SEX_FORMAT
    if raw is None:
        return id_format, sex_format
    if not isinstance(raw, dict):
        problems.append(
            {"field": f"{where}.standardize", "error": "应为 信息项: 规则 / must map item to rules"}
        )
        return id_format, sex_format
    for column, rules in raw.items():
        at = f"{where}.standardize.{column}"
        allowed = ID_RULES if column == id_column else SEX_RULES if column == sex_column else None
        if allowed is None:
            problems.append(
                {
                    "field": at,
                    "error": "只能为证件号列或性别列声明规则 / rules apply to the ID or the sex column",
                }
            )
            continue
        if not isinstance(rules, dict):
            problems.append({"field": at, "error": "应为规则对象 / must be an object of rules"})
            continue
        unknown = sorted(set(rules) - allowed)
        if unknown:
            problems.append(
                {
                    "field": at,
                    "error": f"未知规则 {unknown}（可用 {sorted(allowed)}） / unknown rules",
                }
            )
        if column == id_column:
            kw: dict[str, Any] = {}
            for key in ("prefixes", "x"):
                if (
                    key in rules
                    and (got := _strings(rules[key], f"{at}.{key}", problems)) is not None
                ):
                    kw[key] = got
            if "wrappers" in rules:
                if isinstance(rules["wrappers"], str):
                    kw["wrappers"] = rules["wrappers"]
                else:
                    problems.append(
                        {"field": f"{at}.wrappers", "error": "应为字符串 / must be a string"}
                    )
            if "separators" in rules:
                if rules["separators"] in ("", None):
                    kw["separators"] = ""
                elif (
                    got_p := _pattern(rules["separators"], f"{at}.separators", problems)
                ) is not None:
                    kw["separators"] = got_p
            if "remove" in rules and (got := _strings(rules["remove"], f"{at}.remove", problems)):
                patterns = [_pattern(v, f"{at}.remove", problems) for v in got]
                kw["remove"] = tuple(p for p in patterns if p is not None)
            if "upgrade_15" in rules:
                if isinstance(rules["upgrade_15"], bool):
                    kw["upgrade_15"] = rules["upgrade_15"]
                else:
                    problems.append(
                        {
                            "field": f"{at}.upgrade_15",
                            "error": "应为 true/false / must be a boolean",
                        }
                    )
            id_format = IdFormat(**{**DEFAULT_ID_FORMAT.__dict__, **kw})
        else:
            mapping: tuple[tuple[str, str], ...] = ()
            if "map" in rules:
                ok = isinstance(rules["map"], dict) and all(
                    str(v) in ("0", "1", "2", "9") for v in rules["map"].values()
                )
                if ok:
                    mapping = tuple((str(k), str(v)) for k, v in rules["map"].items())
                else:
                    problems.append(
                        {
                            "field": f"{at}.map",
                            "error": "应映射到 GB/T 2261.1 代码 0/1/2/9 / must map to codes 0, 1, 2, 9",
                        }
                    )
            unknown_codes = DEFAULT_SEX_FORMAT.unknown
            if (
                "unknown" in rules
                and (got := _strings(rules["unknown"], f"{at}.unknown", problems)) is not None
            ):
                unknown_codes = got
            sex_format = SexFormat(mapping, unknown_codes)
    return id_format, sex_format


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
    if kind != "licence" and (not isinstance(raw_members, list) or not raw_members):
        problems.append(
            {"field": "members", "error": "至少需要一个成员资源 / at least one member resource"}
        )
    if not isinstance(raw_members, list):
        raw_members = []
    by_name: dict[str, Member] = {}
    for i, m in enumerate(raw_members):
        where = f"members[{i}]"
        res = _resource(s, m, where, problems)
        if res is None:
            continue
        columns = {it["name"] for it in res["items"]}
        id_column = str(m.get("id") or "")
        if id_column:  # a member without an ID column is linked by its other fields only
            _column(res, columns, id_column, f"{where}.id", problems)
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
            _column(res, columns, str(col), f"{where}.attributes.{attr}", problems)
        attributes = {str(a): str(c) for a, c in attributes.items()}
        roles = _roles(attributes)
        for role, col in (m.get("match") or {}).items():
            if role not in ROLES:
                problems.append(
                    {
                        "field": f"{where}.match.{role}",
                        "error": f"未知的匹配角色 / unknown role (one of {', '.join(ROLES)})",
                    }
                )
            elif _column(res, columns, str(col), f"{where}.match.{role}", problems):
                roles[role] = str(col)
        event = m.get("event")
        if event is not None:
            if not isinstance(event, dict) or not event.get("date"):
                problems.append(
                    {
                        "field": f"{where}.event",
                        "error": "应为 {date, label} / needs date and label",
                    }
                )
                event = None
            else:
                _column(res, columns, str(event["date"]), f"{where}.event.date", problems)
                event = {
                    "date": str(event["date"]),
                    "label": str(event.get("label") or res["name"]),
                }
        id_format, sex_format = _formats(
            m.get("standardize"), id_column, roles.get("sex"), where, problems
        )
        member = Member(
            res["id"], res["name"], id_column, attributes, roles, event, id_format, sex_format
        )
        members.append(member)
        by_name[res["name"]] = member
        by_name[res["code"]] = member
    authority = _authority(data.get("authority") or {}, by_name, problems)
    thresholds = {"link": 0.95, "review": 0.6}
    for k, v in (data.get("thresholds") or {}).items():
        if k not in thresholds or not isinstance(v, int | float) or not 0 < v < 1:
            problems.append(
                {
                    "field": f"thresholds.{k}",
                    "error": "link/review 应在 0 与 1 之间 / link and review lie between 0 and 1",
                }
            )
        else:
            thresholds[k] = float(v)
    if thresholds["review"] > thresholds["link"]:
        problems.append(
            {"field": "thresholds", "error": "review 不能高于 link / review must not exceed link"}
        )
    relations = []
    for i, r in enumerate(data.get("relations") or []):
        where = f"relations[{i}]"
        res = _resource(s, r, where, problems)
        if res is None:
            continue
        columns = {it["name"] for it in res["items"]}
        ok = _column(res, columns, str(r.get("enterprise", "")), f"{where}.enterprise", problems)
        ok &= _column(res, columns, str(r.get("person", "")), f"{where}.person", problems)
        if ok:
            relations.append(
                Relation(
                    res["id"],
                    res["name"],
                    str(r["enterprise"]),
                    str(r["person"]),
                    str(r.get("role") or "关联"),
                )
            )
    licences = []
    for i, lic in enumerate(data.get("licences") or []):
        where = f"licences[{i}]"
        res = _resource(s, lic, where, problems)
        if res is None:
            continue
        columns = {it["name"] for it in res["items"]}
        ok = True
        for part in ("number", "holder"):
            ok &= _column(res, columns, str(lic.get(part, "")), f"{where}.{part}", problems)
        for part in ("name", "issued", "valid_until", "status"):
            if lic.get(part):
                ok &= _column(res, columns, str(lic[part]), f"{where}.{part}", problems)
        holder_kind = lic.get("holder_kind", "person")
        if holder_kind not in HOLDER_KINDS:
            problems.append(
                {
                    "field": f"{where}.holder_kind",
                    "error": "应为 person/enterprise / must be person or enterprise",
                }
            )
            ok = False
        if ok:
            licences.append(
                LicenceSource(
                    res["id"],
                    res["name"],
                    res["department"]["name"],
                    str(lic.get("type") or res["name"]),
                    str(lic["number"]),
                    str(lic["holder"]),
                    holder_kind,
                    *(
                        str(lic[p]) if lic.get(p) else None
                        for p in ("name", "issued", "valid_until", "status")
                    ),
                )
            )
    if (
        kind == "licence"
        and not licences
        and not any(p["field"].startswith("licences") for p in problems)
    ):
        problems.append(
            {"field": "licences", "error": "至少需要一个证照来源 / at least one licence source"}
        )
    if problems:
        raise InvalidInput(
            "entities.invalid_config",
            f"基础库配置有 {len(problems)} 处错误",
            f"{len(problems)} problems in the base-database config",
            details=problems,
        )
    return BaseConfig(
        str(data.get("name") or "基础库"),
        kind,
        members,
        authority,
        survivorship,
        thresholds,
        relations,
        str(data["persons"]) if data.get("persons") else None,
        str(data["enterprises"]) if data.get("enterprises") else None,
        licences,
    )


def _resource(
    s: Session, entry: Any, where: str, problems: list[dict[str, Any]]
) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        problems.append({"field": where, "error": "应为对象 / must be an object"})
        return None
    try:
        return resource_dict(find_resource(s, str(entry.get("resource", ""))))
    except NotFound:
        problems.append(
            {
                "field": f"{where}.resource",
                "error": f"资源“{entry.get('resource')}”不存在 / unknown resource",
            }
        )
        return None


def _column(
    res: dict[str, Any], columns: set[str], column: str, where: str, problems: list[dict[str, Any]]
) -> bool:
    if column in columns:
        return True
    problems.append(
        {"field": where, "error": f"{res['name']} 没有信息项“{column}” / no item {column!r}"}
    )
    return False


def _roles(attributes: dict[str, str]) -> dict[str, str]:
    """Linking roles inferred from attribute names (姓名 → name, 户籍地址 → address …)."""
    roles: dict[str, str] = {}
    for attr, col in attributes.items():
        for role, pattern in ROLE_PATTERNS.items():
            if role not in roles and re.search(pattern, attr) and not attr.endswith("身份证号"):
                roles[role] = col
                break
    return roles


def _authority(
    raw: Any, by_name: dict[str, Member], problems: list[dict[str, Any]]
) -> dict[str, int]:
    authority: dict[str, int] = {}
    if isinstance(raw, list):  # [{attribute, resource}] lets a config name two authorities
        pairs = [(str(a.get("attribute")), str(a.get("resource"))) for a in raw]
    else:
        pairs = [(str(a), str(r)) for a, r in raw.items()]
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
    return authority


__all__ = ["BaseConfig", "LicenceSource", "Member", "Relation", "validate_config"]
