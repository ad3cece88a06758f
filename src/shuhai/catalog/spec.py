"""Validation of catalog elements (目录要素校验): every problem is collected, then one error raised.

``validate_resource(data)`` accepts a loose mapping (from JSON, the XLSX template, the API or the
CLI) and returns a normalized ``ResourceSpec``; ``validate_department`` does the same for a
department. Messages are bilingual and name the element.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from shuhai.catalog.elements import (
    CATEGORIES,
    CONDITIONAL,
    DATA_TYPE_ALIASES,
    DATA_TYPES,
    FORBIDDEN_IN_COLUMN_NAMES,
    FORMATS,
    NOT_SHARED,
    OPEN_TYPES,
    SHARE_TYPES,
    UPDATE_CYCLES,
)
from shuhai.errors import InvalidInput

RESOURCE_CODE_RE = re.compile(r"^[123]\d{2}\d{3}\d*/[0-9A-Z]{1,64}-\d{5}$")
USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
PROVIDER_CODE_RE = re.compile(r"^[0-9A-Z]{1,64}$")


@dataclass
class ItemSpec:
    """信息项 (info item)."""

    name: str
    data_type: str = "C"
    length: int | None = None
    scale: int | None = None
    required: bool = False
    description: str = ""


@dataclass
class ResourceSpec:
    """政务信息资源 (catalog resource) with normalized elements."""

    name: str
    department: str  # 提供方代码
    category: str  # 类
    item: str  # 项
    subitem: str  # 目
    detail: str = ""  # 细目
    abstract: str = ""
    format: str = "数据库"
    items: list[ItemSpec] = field(default_factory=list)
    share_type: str = "无条件共享"
    share_condition: str = ""
    share_method: str = "共享平台"
    open_type: str = "不予开放"
    open_condition: str = ""
    update_cycle: str = "不定期"
    publish_date: date | None = None
    related_codes: list[str] = field(default_factory=list)
    key_columns: list[str] = field(default_factory=list)
    code: str | None = None  # kept when importing an existing catalog

    @property
    def classification(self) -> str:
        return f"{self.category}{self.item}{self.subitem}{self.detail}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["publish_date"] = self.publish_date.isoformat() if self.publish_date else None
        return data


@dataclass
class DepartmentSpec:
    """政务部门 (department): name, provider code, unified social credit code."""

    name: str
    code: str
    uscc: str | None = None


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, element: str, zh: str, en: str) -> None:
        self.items.append({"field": element, "error": f"{zh} / {en}"})

    def raise_if_any(self, code: str, zh: str, en: str) -> None:
        if self.items:
            raise InvalidInput(code, zh, en, details=self.items)


def _text(data: dict[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _choice(
    problems: _Problems, element: str, zh_name: str, value: str, vocab: dict[str, str]
) -> str:
    canonical = vocab.get(value) or vocab.get(value.lower())
    if canonical is None:
        allowed = "、".join(sorted({v for v in vocab.values() if v}))
        problems.add(
            element,
            f"{zh_name}“{value}”无效，可选：{allowed}",
            f"{element} {value!r} is not one of: {allowed}",
        )
        return value
    return canonical


def _parse_date(problems: _Problems, element: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    problems.add(element, f"日期“{text}”无法识别", f"date {text!r} is not recognised")
    return None


def _int_or_none(problems: _Problems, element: str, value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(float(str(value).strip()))
    except ValueError:
        problems.add(element, f"应为整数：{value!r}", f"must be an integer: {value!r}")
        return None
    if number < 0:
        problems.add(element, "不能为负数", "must not be negative")
    return number


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"1", "true", "yes", "y", "是", "必填", "√"}


def validate_item(problems: _Problems, index: int, data: dict[str, Any]) -> ItemSpec:
    prefix = f"items[{index}]"
    name = _text(data, "name")
    if not name:
        problems.add(f"{prefix}.name", "信息项名称必填", "info item name is required")
    elif (
        len(name) > 100
        or any(ch in FORBIDDEN_IN_COLUMN_NAMES for ch in name)
        or not name.isprintable()
    ):
        problems.add(
            f"{prefix}.name",
            f"信息项名称“{name}”含有不允许的字符（空格、标点或控制字符）或过长",
            f"info item name {name!r} has spaces, punctuation or control characters, or is too long",
        )
    elif name.startswith("_"):
        problems.add(
            f"{prefix}.name", "信息项名称不能以下划线开头", "info item names cannot start with _"
        )
    raw_type = _text(data, "data_type", "C")
    data_type = DATA_TYPE_ALIASES.get(raw_type) or DATA_TYPE_ALIASES.get(raw_type.lower())
    if data_type is None:
        allowed = "、".join(f"{k}（{v}）" for k, v in DATA_TYPES.items())
        problems.add(
            f"{prefix}.data_type",
            f"数据类型“{raw_type}”无效，可选：{allowed}",
            f"data type {raw_type!r} is not one of C N Y D T L M",
        )
        data_type = "C"
    length = _int_or_none(problems, f"{prefix}.length", data.get("length"))
    scale = _int_or_none(problems, f"{prefix}.scale", data.get("scale"))
    if scale is None and data_type == "N" and raw_type.lower() == "integer":
        scale = 0
    return ItemSpec(
        name=name,
        data_type=data_type,
        length=length,
        scale=scale,
        required=_bool(data.get("required")),
        description=_text(data, "description"),
    )


def _split_classification(data: dict[str, Any]) -> tuple[str, str, str, str]:
    if data.get("classification") and not data.get("category"):
        digits = re.sub(r"[\s\-_.]", "", str(data["classification"]))
        return digits[:1], digits[1:3], digits[3:6], digits[6:]
    return (
        _text(data, "category"),
        _text(data, "item").zfill(2) if _text(data, "item") else "",
        _text(data, "subitem").zfill(3) if _text(data, "subitem") else "",
        _text(data, "detail"),
    )


def validate_resource(data: dict[str, Any]) -> ResourceSpec:
    """Check every element of one resource; raise ``InvalidInput`` listing all problems."""
    problems = _Problems()
    name = _text(data, "name")
    if not name:
        problems.add("name", "资源名称必填", "resource name is required")
    elif len(name) > 200:
        problems.add(
            "name", "资源名称过长（最多 200 字）", "resource name is longer than 200 characters"
        )
    department = _text(data, "department").upper()
    if not department:
        problems.add("department", "提供方代码必填", "provider (department) code is required")
    category, item, subitem, detail = _split_classification(data)
    if category not in CATEGORIES:
        problems.add(
            "category",
            f"分类“类”应为 1（基础）、2（主题）或 3（部门），而不是“{category}”",
            f"classification category must be 1, 2 or 3, not {category!r}",
        )
    if not re.fullmatch(r"\d{2}", item):
        problems.add(
            "item",
            f"分类“项”应为 2 位数字：{item!r}",
            f"classification item must be 2 digits: {item!r}",
        )
    if not re.fullmatch(r"\d{3}", subitem):
        problems.add(
            "subitem",
            f"分类“目”应为 3 位数字：{subitem!r}",
            f"classification subitem must be 3 digits: {subitem!r}",
        )
    if detail and not re.fullmatch(r"\d{1,12}", detail):
        problems.add(
            "detail",
            f"分类“细目”应为数字：{detail!r}",
            f"classification detail must be digits: {detail!r}",
        )

    raw_format = _text(data, "format", "数据库")
    head, _, sub = raw_format.partition("/")
    fmt = _choice(problems, "format", "资源格式", head.strip(), FORMATS)
    fmt = f"{fmt}/{sub.strip()}" if sub.strip() else fmt

    share_type = _choice(
        problems, "share_type", "共享类型", _text(data, "share_type", "无条件共享"), SHARE_TYPES
    )
    share_condition = _text(data, "share_condition")
    if share_type == CONDITIONAL and not share_condition:
        problems.add(
            "share_condition",
            "有条件共享必须写明共享条件",
            "conditional sharing needs its conditions",
        )
    if share_type == NOT_SHARED and not share_condition:
        problems.add(
            "share_condition",
            "不予共享必须写明法律、行政法规或政策依据",
            "not-shared resources need their legal basis in share_condition",
        )
    open_type = _choice(
        problems, "open_type", "开放属性", _text(data, "open_type", "不予开放"), OPEN_TYPES
    )
    update_cycle = _choice(
        problems, "update_cycle", "更新周期", _text(data, "update_cycle", "不定期"), UPDATE_CYCLES
    )
    publish_date = _parse_date(problems, "publish_date", data.get("publish_date"))

    raw_items = data.get("items") or []
    if not isinstance(raw_items, list):
        problems.add("items", "信息项应为列表", "items must be a list")
        raw_items = []
    items = [
        validate_item(problems, i, dict(it))
        for i, it in enumerate(raw_items)
        if isinstance(it, dict)
    ]
    if not items:
        problems.add("items", "至少需要一个信息项", "at least one info item is required")
    seen: set[str] = set()
    for i, it in enumerate(items):
        if it.name and it.name in seen:
            problems.add(
                f"items[{i}].name",
                f"信息项名称重复：{it.name}",
                f"duplicate info item name: {it.name}",
            )
        seen.add(it.name)

    related = data.get("related_codes") or []
    if isinstance(related, str):
        related = [c for c in re.split(r"[,，;；\s]+", related) if c]
    for code in related:
        if not RESOURCE_CODE_RE.match(str(code)):
            problems.add(
                "related_codes",
                f"关联资源代码格式错误：{code}",
                f"malformed related resource code: {code}",
            )
    keys = data.get("key_columns") or []
    if isinstance(keys, str):
        keys = [k for k in re.split(r"[,，;；\s]+", keys) if k]
    for key in keys:
        if key not in seen:
            problems.add(
                "key_columns", f"主键“{key}”不是信息项", f"key column {key!r} is not an info item"
            )
    code = _text(data, "code") or None
    if code and not RESOURCE_CODE_RE.match(code):
        problems.add("code", f"资源代码格式错误：{code}", f"malformed resource code: {code}")

    problems.raise_if_any(
        "catalog.invalid_resource",
        f"资源“{name}”的目录要素有误",
        f"Resource {name!r} has invalid catalog elements",
    )
    return ResourceSpec(
        name=name,
        department=department,
        category=category,
        item=item,
        subitem=subitem,
        detail=detail,
        abstract=_text(data, "abstract"),
        format=fmt,
        items=items,
        share_type=share_type,
        share_condition=share_condition,
        share_method=_text(data, "share_method", "共享平台") or "共享平台",
        open_type=open_type,
        open_condition=_text(data, "open_condition"),
        update_cycle=update_cycle,
        publish_date=publish_date,
        related_codes=[str(c) for c in related],
        key_columns=[str(k) for k in keys],
        code=code,
    )


def validate_department(data: dict[str, Any]) -> DepartmentSpec:
    """Check a department: name, provider code (letters and digits), optional USCC."""
    problems = _Problems()
    name = _text(data, "name")
    code = _text(data, "code").upper()
    uscc = _text(data, "uscc").upper() or None
    if not name:
        problems.add("name", "部门名称必填", "department name is required")
    if not PROVIDER_CODE_RE.match(code):
        problems.add(
            "code",
            f"提供方代码应为字母或数字：{code!r}",
            f"provider code must be letters and digits: {code!r}",
        )
    if uscc and not USCC_RE.match(uscc):
        problems.add(
            "uscc",
            f"统一社会信用代码格式错误：{uscc}",
            f"malformed unified social credit code: {uscc}",
        )
    elif uscc and not uscc_checksum_ok(uscc):
        problems.add(
            "uscc",
            f"统一社会信用代码校验位错误：{uscc}",
            f"wrong check character in credit code: {uscc}",
        )
    problems.raise_if_any("catalog.invalid_department", "部门信息有误", "Invalid department")
    return DepartmentSpec(name=name, code=code, uscc=uscc)


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_checksum_ok(code: str) -> bool:
    """GB 32100 check character (统一社会信用代码校验码)."""
    if len(code) != 18 or any(c not in _USCC_ALPHABET for c in code):
        return False
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(code[:17], _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


__all__ = [
    "DepartmentSpec",
    "ItemSpec",
    "RESOURCE_CODE_RE",
    "ResourceSpec",
    "uscc_checksum_ok",
    "validate_department",
    "validate_resource",
]
