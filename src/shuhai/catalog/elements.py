"""Controlled vocabularies of 政务信息资源目录编制指南（试行） (2017) and their aliases.

Each vocabulary maps every accepted spelling (Chinese, English, short forms) to the canonical
Chinese term stored in the catalog.
"""

from __future__ import annotations

UNCONDITIONAL = "无条件共享"  # unconditional sharing
CONDITIONAL = "有条件共享"  # conditional sharing
NOT_SHARED = "不予共享"  # not shared (needs a legal basis)

SHARE_TYPES: dict[str, str] = {
    UNCONDITIONAL: UNCONDITIONAL,
    "无条件": UNCONDITIONAL,
    "unconditional": UNCONDITIONAL,
    CONDITIONAL: CONDITIONAL,
    "有条件": CONDITIONAL,
    "conditional": CONDITIONAL,
    NOT_SHARED: NOT_SHARED,
    "不予": NOT_SHARED,
    "none": NOT_SHARED,
    "not_shared": NOT_SHARED,
}

OPEN_TYPES: dict[str, str] = {
    "无条件开放": "无条件开放",
    "unconditional": "无条件开放",
    "有条件开放": "有条件开放",
    "conditional": "有条件开放",
    "不予开放": "不予开放",
    "none": "不予开放",
    "": "不予开放",
}

UPDATE_CYCLES: dict[str, str] = {
    "实时": "实时",
    "realtime": "实时",
    "每日": "每日",
    "daily": "每日",
    "每周": "每周",
    "weekly": "每周",
    "每月": "每月",
    "monthly": "每月",
    "每季度": "每季度",
    "quarterly": "每季度",
    "每半年": "每半年",
    "semiannual": "每半年",
    "每年": "每年",
    "yearly": "每年",
    "annual": "每年",
    "不定期": "不定期",
    "irregular": "不定期",
}

# 资源格式 (the guide's format classes); a subtype may follow after "/", e.g. 电子表格/xlsx.
FORMATS: dict[str, str] = {
    "电子文件": "电子文件",
    "电子表格": "电子表格",
    "数据库": "数据库",
    "图形图像": "图形图像",
    "流媒体": "流媒体",
    "自描述格式": "自描述格式",
    "接口": "接口",
    "document": "电子文件",
    "spreadsheet": "电子表格",
    "database": "数据库",
    "image": "图形图像",
    "media": "流媒体",
    "self-describing": "自描述格式",
    "api": "接口",
}

SHARE_METHODS = ("共享平台", "接口", "文件下载", "数据库", "其他")

# 资源分类 类: 1 基础信息资源, 2 主题信息资源, 3 部门信息资源.
CATEGORIES: dict[str, str] = {"1": "基础信息资源类", "2": "主题信息资源类", "3": "部门信息资源类"}

# 信息项数据类型 (the guide's type letters) -> Chinese name.
DATA_TYPES: dict[str, str] = {
    "C": "字符型",
    "N": "数值型",
    "Y": "货币型",
    "D": "日期型",
    "T": "日期时间型",
    "L": "逻辑型",
    "M": "备注型",
}
DATA_TYPE_ALIASES: dict[str, str] = {
    **{k: k for k in DATA_TYPES},
    **{v: k for k, v in DATA_TYPES.items()},
    "string": "C",
    "text": "M",
    "number": "N",
    "numeric": "N",
    "integer": "N",
    "money": "Y",
    "currency": "Y",
    "date": "D",
    "datetime": "T",
    "timestamp": "T",
    "boolean": "L",
    "bool": "L",
}

FORBIDDEN_IN_COLUMN_NAMES = set(" ,;{}()\n\t=\"'`\\")

__all__ = [
    "CATEGORIES",
    "CONDITIONAL",
    "DATA_TYPES",
    "DATA_TYPE_ALIASES",
    "FORMATS",
    "NOT_SHARED",
    "OPEN_TYPES",
    "SHARE_METHODS",
    "SHARE_TYPES",
    "UNCONDITIONAL",
    "UPDATE_CYCLES",
]
