"""Cross-department comparison: conflicts with both values, API, XLSX export, bad declarations."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.errors import InvalidInput, NotFound
from shuhai.ingest import ingest
from shuhai.quality.compare import add_comparison, conflicts, export_conflicts_xlsx, run_comparison
from shuhai.web.app import create_app
from tests.conftest import signed_client, write


@pytest.fixture
def two(config: Config, tmp_path: Path) -> tuple[dict, dict]:
    cat = Catalog(config)
    cat.add_department({"name": "公安", "code": "GA"})
    cat.add_department({"name": "人社", "code": "RS"})
    ga = cat.register(
        {
            "name": "户籍",
            "department": "GA",
            "classification": "101001",
            "items": [
                {"name": "身份证号"},
                {"name": "户籍地址"},
                {"name": "出生日期", "data_type": "D"},
            ],
        }
    )
    rs = cat.register(
        {
            "name": "参保",
            "department": "RS",
            "classification": "303001",
            "items": [{"name": "身份证号"}, {"name": "联系地址"}],
        }
    )
    ingest(
        config,
        ga["code"],
        str(
            write(
                tmp_path / "ga.csv",
                "身份证号,户籍地址,出生日期\n1,鼓楼区五一路１号,2000-01-01\n2,台江区,2000-01-01\n3,仓山区,2000-01-01\n",
            )
        ),
    )
    ingest(
        config,
        rs["code"],
        str(
            write(
                tmp_path / "rs.csv",
                "身份证号,联系地址\n1,鼓楼区 五一路1號\n2,晋安区\n4,马尾区\n3,\n",
            )
        ),
    )
    return ga, rs


def test_conflicts_ignore_formatting_and_keep_both_values(
    config: Config, two: tuple[dict, dict], tmp_path: Path
) -> None:
    ga, rs = two
    c = add_comparison(
        config,
        {
            "left": {"resource": rs["code"], "item": "联系地址", "key": "身份证号"},
            "right": {"resource": ga["code"], "item": "户籍地址", "key": "身份证号"},
        },
    )
    run = run_comparison(config, c["id"])
    assert (run["joined"], run["compared"], run["conflicts"]) == (
        3,
        2,
        1,
    )  # 1 agrees after normalization; 3 has no value
    page = conflicts(config, c["id"], run["id"])
    assert page["rows"] == [
        {
            "key": "2",
            "left_value": "晋安区",
            "right_value": "台江区",
            "left_line": 3,
            "right_line": 3,
        }
    ]
    out = export_conflicts_xlsx(config, c["id"], run["id"], tmp_path / "c.xlsx")
    rows = list(load_workbook(out).active.values)
    assert rows[1] == ("2", "晋安区", "台江区", 3, 3)


def test_bad_declarations(config: Config, two: tuple[dict, dict]) -> None:
    ga, rs = two
    with pytest.raises(InvalidInput) as info:
        add_comparison(
            config,
            {
                "left": {"resource": rs["code"], "item": "联系地址", "key": "身份证号"},
                "right": {"resource": ga["code"], "item": "出生日期", "key": "身份证号"},
            },
        )
    assert info.value.details[0]["field"] == "right.item"  # text vs date
    with pytest.raises(InvalidInput):
        add_comparison(
            config,
            {
                "left": {"resource": rs["code"], "item": "不存在", "key": "身份证号"},
                "right": {"resource": ga["code"], "item": "户籍地址", "key": "身份证号"},
            },
        )
    with pytest.raises(NotFound):
        add_comparison(
            config,
            {
                "left": {"resource": "999", "item": "x", "key": "y"},
                "right": {"resource": ga["code"], "item": "户籍地址", "key": "身份证号"},
            },
        )
    with pytest.raises(NotFound):
        run_comparison(config, 42)


def test_comparison_api(config: Config, two: tuple[dict, dict]) -> None:
    ga, rs = two
    app = create_app(config)
    anon = TestClient(app, raise_server_exceptions=False)
    client = signed_client(app, config, "rs_officer", ["officer"], "RS")
    body = {
        "left": {"resource": rs["code"], "item": "联系地址", "key": "身份证号"},
        "right": {"resource": ga["code"], "item": "户籍地址", "key": "身份证号"},
    }
    assert anon.post("/api/v1/comparisons", json=body).status_code == 401
    c = client.post("/api/v1/comparisons", json=body).json()
    run = client.post(f"/api/v1/comparisons/{c['id']}/runs").json()
    assert run["conflicts"] == 1
    assert client.get(f"/api/v1/comparisons/{c['id']}/runs/{run['id']}").json()["total"] == 1
    assert anon.get(f"/api/v1/comparisons/{c['id']}/runs/{run['id']}").status_code == 401
    x = client.get(f"/api/v1/comparisons/{c['id']}/runs/{run['id']}/conflicts.xlsx")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    assert client.get(f"/api/v1/comparisons/{c['id']}/runs/999").status_code == 404
    assert (
        client.post(
            "/api/v1/comparisons", json={**body, "right": {**body["right"], "item": "nope"}}
        ).status_code
        == 422
    )
    assert "晋安区" in client.get(f"/comparisons/{c['id']}/runs/{run['id']}").text
    assert "参保" in client.get("/comparisons").text
