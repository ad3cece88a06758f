"""The demo city's base databases (演示基础库): population, legal entities and e-licences, as
configs a department data officer would write (YAML in the portal, dicts here)."""

from __future__ import annotations

from typing import Any


def _person(
    resource: str, id_col: str = "身份证号", name: str = "姓名", **kw: Any
) -> dict[str, Any]:
    attributes = {"姓名": name, **kw.pop("attributes", {})}
    return {"resource": resource, "id": id_col, "attributes": attributes, **kw}


PERSONS: dict[str, Any] = {
    "name": "人口基础库",
    "kind": "person",
    "members": [
        _person(
            "常住人口基本信息",
            attributes={
                "性别": "性别",
                "民族": "民族",
                "出生日期": "出生日期",
                "户籍地址": "户籍地址",
                "联系电话": "联系电话",
            },
            event={"date": "出生日期", "label": "出生"},
        ),
        _person(
            "参保人员信息",
            attributes={
                "社会保障号码": "社会保障号码",
                "联系地址": "联系地址",
                "联系电话": "联系电话",
            },
            event={"date": "参保日期", "label": "参加社会保险"},
        ),
        _person("就业登记信息", event={"date": "就业登记日期", "label": "就业登记"}),
        _person(
            "失业登记信息",
            attributes={"联系电话": "联系电话"},
            event={"date": "失业登记日期", "label": "失业登记"},
        ),
        _person(
            "在校学生学籍信息",
            attributes={"性别": "性别"},
            event={"date": "入学日期", "label": "入学"},
        ),
        _person("机动车驾驶证信息", event={"date": "初次领证日期", "label": "取得驾驶证"}),
        _person("最低生活保障对象信息", attributes={"家庭住址": "家庭住址"}),
        _person(
            "婚姻登记信息",
            "男方身份证号",
            "男方姓名",
            event={"date": "登记日期", "label": "婚姻登记"},
        ),
        _person(
            "婚姻登记信息",
            "女方身份证号",
            "女方姓名",
            event={"date": "登记日期", "label": "婚姻登记"},
        ),
        _person("死亡注销信息", event={"date": "注销日期", "label": "死亡注销"}),
        _person(
            "儿童健康档案信息",
            attributes={"性别": "性别", "出生日期": "出生日期", "联系电话": "联系电话"},
            event={"date": "建档日期", "label": "建立儿童健康档案"},
        ),
        _person(
            "老年人健康管理信息",
            attributes={"性别": "性别", "出生日期": "出生日期", "联系电话": "联系电话"},
            event={"date": "随访日期", "label": "老年人健康随访"},
        ),
        {
            "resource": "出生医学证明信息",
            "id": None,
            "attributes": {"姓名": "新生儿姓名", "性别": "性别", "出生日期": "出生日期"},
            "event": {"date": "出生日期", "label": "出生医学证明"},
        },
    ],
    "authority": {
        "姓名": "常住人口基本信息",
        "性别": "常住人口基本信息",
        "出生日期": "常住人口基本信息",
        "民族": "常住人口基本信息",
        "户籍地址": "常住人口基本信息",
        "社会保障号码": "参保人员信息",
    },
    "survivorship": "most_recent",
}

ENTERPRISES: dict[str, Any] = {
    "name": "法人基础库",
    "kind": "enterprise",
    "persons": "人口基础库",
    "members": [
        {
            "resource": "企业登记基本信息",
            "id": "统一社会信用代码",
            "attributes": {
                "名称": "企业名称",
                "企业类型": "企业类型",
                "法定代表人": "法定代表人",
                "注册资本": "注册资本",
                "成立日期": "成立日期",
                "住所": "住所",
                "行业": "行业",
                "登记状态": "登记状态",
            },
            "event": {"date": "成立日期", "label": "企业设立登记"},
        },
        {
            "resource": "纳税人登记信息",
            "id": "纳税人识别号",
            "attributes": {
                "名称": "纳税人名称",
                "法定代表人": "法定代表人",
                "生产经营地址": "生产经营地址",
                "纳税人类型": "纳税人类型",
            },
            "event": {"date": "登记日期", "label": "税务登记"},
        },
        {
            "resource": "企业营业执照信息",
            "id": "统一社会信用代码",
            "attributes": {"名称": "企业名称", "法定代表人": "法定代表人"},
            "event": {"date": "发照日期", "label": "领取营业执照"},
        },
        {
            "resource": "市场监管行政处罚信息",
            "id": "统一社会信用代码",
            "attributes": {"名称": "当事人名称"},
            "event": {"date": "处罚日期", "label": "行政处罚（市场监管）"},
        },
        {
            "resource": "纳税信用等级评价信息",
            "id": "纳税人识别号",
            "attributes": {"名称": "纳税人名称", "纳税信用等级": "信用等级"},
        },
        {
            "resource": "欠税公告信息",
            "id": "纳税人识别号",
            "attributes": {"名称": "纳税人名称", "法定代表人": "法定代表人"},
        },
    ],
    "authority": {
        "名称": "企业登记基本信息",
        "法定代表人": "企业登记基本信息",
        "住所": "企业登记基本信息",
        "纳税信用等级": "纳税信用等级评价信息",
    },
    "relations": [
        {
            "resource": "企业登记基本信息",
            "enterprise": "统一社会信用代码",
            "person": "法定代表人身份证号",
            "role": "法定代表人",
        },
        {
            "resource": "参保人员信息",
            "enterprise": "参保单位统一社会信用代码",
            "person": "身份证号",
            "role": "参保职工",
        },
        {
            "resource": "就业登记信息",
            "enterprise": "用工单位统一社会信用代码",
            "person": "身份证号",
            "role": "就业人员",
        },
    ],
}

LICENCES: dict[str, Any] = {
    "name": "电子证照库",
    "kind": "licence",
    "persons": "人口基础库",
    "enterprises": "法人基础库",
    "licences": [
        {
            "resource": "机动车驾驶证信息",
            "type": "机动车驾驶证",
            "number": "驾驶证号",
            "holder": "身份证号",
            "holder_kind": "person",
            "name": "姓名",
            "issued": "初次领证日期",
            "valid_until": "有效期至",
        },
        {
            "resource": "职业资格证书信息",
            "type": "职业资格证书",
            "number": "证书编号",
            "holder": "身份证号",
            "holder_kind": "person",
            "name": "姓名",
            "issued": "发证日期",
        },
        {
            "resource": "企业营业执照信息",
            "type": "营业执照",
            "number": "统一社会信用代码",
            "holder": "统一社会信用代码",
            "holder_kind": "enterprise",
            "name": "企业名称",
            "issued": "发照日期",
            "valid_until": "营业期限",
        },
        {
            "resource": "排污许可证信息",
            "type": "排污许可证",
            "number": "许可证编号",
            "holder": "统一社会信用代码",
            "holder_kind": "enterprise",
            "name": "单位名称",
            "valid_until": "有效期至",
        },
        {
            "resource": "道路运输经营许可信息",
            "type": "道路运输经营许可证",
            "number": "许可证号",
            "holder": "统一社会信用代码",
            "holder_kind": "enterprise",
            "name": "业户名称",
            "valid_until": "有效期至",
        },
        {
            "resource": "医疗机构执业许可信息",
            "type": "医疗机构执业许可证",
            "number": "统一社会信用代码",
            "holder": "统一社会信用代码",
            "holder_kind": "enterprise",
            "name": "机构名称",
            "valid_until": "许可证有效期至",
        },
    ],
}

BASES = [PERSONS, ENTERPRISES, LICENCES]

__all__ = ["BASES", "ENTERPRISES", "LICENCES", "PERSONS"]
