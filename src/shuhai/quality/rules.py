"""Quality rules as data (质量规则): declared per info item, with defaults inferred from names.

A rule is ``{"item": "身份证号", "kind": "ric"}`` (plus ``params`` where the kind needs them).
Rules are validated against the resource's info items, all problems collected. YAML or JSON
files carry a list of rules (``shuhai quality rules import rules.yaml RESOURCE``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shuhai.errors import InvalidInput

CONFORMITY = "规范性"
COMPLETENESS = "完整性"
ACCURACY = "准确性"
CONSISTENCY = "一致性"

# kind -> (dimension, needs params, applies to data types, help)
KINDS: dict[str, tuple[str, tuple[str, ...], str, str]] = {
    "not_null": (COMPLETENESS, (), "CNYDTLM", "非空 / not null"),
    "unique": (CONSISTENCY, (), "CNYDTLM", "唯一 / unique"),
    "ric": (ACCURACY, (), "C", "公民身份号码 GB 11643 / resident ID"),
    "uscc": (ACCURACY, (), "C", "统一社会信用代码 GB 32100 / credit code"),
    "uscc_strict": (
        ACCURACY,
        (),
        "C",
        "统一社会信用代码（含登记机关、区划、组织机构代码）/ credit code, strict",
    ),
    "org_code": (ACCURACY, (), "C", "组织机构代码 GB 11714 / organization code"),
    "mobile": (CONFORMITY, (), "C", "手机号码 / mobile number"),
    "landline": (CONFORMITY, (), "C", "固定电话 / landline"),
    "phone": (CONFORMITY, (), "C", "电话号码 / phone number"),
    "email": (CONFORMITY, (), "C", "电子邮箱 / e-mail"),
    "postal_code": (CONFORMITY, (), "C", "邮政编码 / postal code"),
    "sex_code": (CONFORMITY, (), "C", "性别代码 GB/T 2261.1 / sex code"),
    "regex": (CONFORMITY, ("pattern",), "C", "正则表达式 / regular expression"),
    "code_table": (CONFORMITY, ("values",), "CN", "代码表 / code table"),
    "range": (CONFORMITY, (), "NYDT", "取值范围（min/max，日期可用 today）/ range"),
    "length": (CONFORMITY, (), "CM", "长度范围 / length range (min/max)"),
    "reference": (
        CONSISTENCY,
        ("resource", "item"),
        "CN",
        "引用其他资源的值 / value exists in another resource",
    ),
    "ric_birth_date": (
        CONSISTENCY,
        ("ric",),
        "D",
        "出生日期与身份证号一致 / birth date agrees with the ID",
    ),
    "ric_sex": (CONSISTENCY, ("ric",), "C", "性别与身份证号一致 / sex agrees with the ID"),
}


@dataclass
class RuleSpec:
    item: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    origin: str = "declared"

    @property
    def dimension(self) -> str:
        return KINDS[self.kind][0]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_rules(raw: list[dict[str, Any]], items: list[dict[str, Any]]) -> list[RuleSpec]:
    """Check rules against the resource's info items; every problem is reported."""
    types = {it["name"]: it["data_type"] for it in items}
    problems: list[dict[str, Any]] = []
    out: list[RuleSpec] = []
    if not isinstance(raw, list):
        raise InvalidInput("quality.bad_rules", "规则应为列表", "Rules must be a list")
    for i, r in enumerate(raw):
        where = f"rules[{i}]"
        if not isinstance(r, dict):
            problems.append({"field": where, "error": "规则应为对象 / a rule must be an object"})
            continue
        item, kind, params = (
            str(r.get("item", "")).strip(),
            str(r.get("kind", "")).strip(),
            r.get("params") or {},
        )
        if kind not in KINDS:
            problems.append(
                {
                    "field": f"{where}.kind",
                    "error": f"未知规则类型“{kind}”，可选：{', '.join(KINDS)} / unknown rule kind {kind!r}",
                }
            )
            continue
        if item not in types:
            problems.append(
                {
                    "field": f"{where}.item",
                    "error": f"信息项“{item}”不存在 / unknown info item {item!r}",
                }
            )
            continue
        if not isinstance(params, dict):
            problems.append(
                {"field": f"{where}.params", "error": "params 应为对象 / params must be an object"}
            )
            continue
        dimension, needed, allowed, _ = KINDS[kind]
        missing = [p for p in needed if p not in params]
        if missing:
            problems.append(
                {
                    "field": f"{where}.params",
                    "error": f"缺少参数：{', '.join(missing)} / missing params: {', '.join(missing)}",
                }
            )
        if types[item] not in allowed:
            problems.append(
                {
                    "field": where,
                    "error": f"规则 {kind} 不适用于 {types[item]} 型信息项 / rule {kind} does not apply to type {types[item]}",
                }
            )
        if kind in ("ric_birth_date", "ric_sex") and params.get("ric") not in types:
            problems.append(
                {
                    "field": f"{where}.params.ric",
                    "error": f"身份证号信息项“{params.get('ric')}”不存在 / unknown ID item",
                }
            )
        if kind == "regex":
            import re

            try:
                re.compile(str(params.get("pattern", "")))
            except re.error as exc:
                problems.append(
                    {
                        "field": f"{where}.params.pattern",
                        "error": f"正则表达式错误：{exc} / bad pattern: {exc}",
                    }
                )
        if kind == "code_table" and not (
            isinstance(params.get("values"), list) and params["values"]
        ):
            problems.append(
                {
                    "field": f"{where}.params.values",
                    "error": "代码表应为非空列表 / values must be a non-empty list",
                }
            )
        if kind in ("range", "length") and not ({"min", "max"} & set(params)):
            problems.append(
                {"field": f"{where}.params", "error": "需要 min 或 max / needs min or max"}
            )
        out.append(
            RuleSpec(
                item=item,
                kind=kind,
                params=dict(params),
                enabled=bool(r.get("enabled", True)),
                origin=str(r.get("origin", "declared")),
            )
        )
    if problems:
        raise InvalidInput(
            "quality.invalid_rules",
            f"规则有 {len(problems)} 处错误，未保存",
            f"{len(problems)} problems in the rules; nothing saved",
            details=problems,
        )
    return out


NAME_RULES: list[tuple[tuple[str, ...], str]] = [
    (("身份证号", "身份证号码", "公民身份号码", "证件号码"), "ric"),
    (("统一社会信用代码", "纳税人识别号"), "uscc"),
    (("组织机构代码",), "org_code"),
    (("手机", "手机号", "手机号码"), "mobile"),
    (("电话", "联系电话", "固定电话"), "phone"),
    (("邮箱", "电子邮箱", "电子邮件"), "email"),
    (("邮编", "邮政编码"), "postal_code"),
    (("性别",), "sex_code"),
]


def default_rules(items: list[dict[str, Any]], key_columns: list[str]) -> list[RuleSpec]:
    """Rules inferred from item names (身份证号 → ric, 统一社会信用代码 → uscc, …), required
    items (not null), key items (unique) and cross-field checks against an ID item."""
    rules: list[RuleSpec] = []
    ric_items: list[str] = []
    for it in items:
        name, kind = it["name"], None
        for suffixes, rule in NAME_RULES:
            if any(name.endswith(s) for s in suffixes) and it["data_type"] == "C":
                kind = rule
                break
        if kind:
            rules.append(RuleSpec(name, kind, origin="default"))
            if kind == "ric":
                ric_items.append(name)
        if it.get("required"):
            rules.append(RuleSpec(name, "not_null", origin="default"))
    if len(key_columns) == 1:
        rules.append(RuleSpec(key_columns[0], "unique", origin="default"))
    if len(ric_items) == 1:
        names = {it["name"]: it["data_type"] for it in items}
        if names.get("出生日期") == "D":
            rules.append(
                RuleSpec("出生日期", "ric_birth_date", {"ric": ric_items[0]}, origin="default")
            )
        if names.get("性别") == "C":
            rules.append(RuleSpec("性别", "ric_sex", {"ric": ric_items[0]}, origin="default"))
    return rules


__all__ = [
    "ACCURACY",
    "COMPLETENESS",
    "CONFORMITY",
    "CONSISTENCY",
    "KINDS",
    "RuleSpec",
    "default_rules",
    "validate_rules",
]
