"""核验 over the signed sharing API: a department system asks whether an ID number and a name
belong together — yes or no, nothing else; unsigned, replayed and unentitled calls are refused
with 4xx and each call is audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shuhai.access import audit, signing
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.ingest import ingest
from shuhai.web.app import create_app
from tests.conftest import write

ITEMS = [{"name": "身份证号"}, {"name": "姓名"}, {"name": "户籍地址"}]


@pytest.fixture
def setup(config: Config, tmp_path: Path) -> tuple[TestClient, dict, Config]:
    cat = Catalog(config)
    for code in ("GA", "RS"):
        cat.add_department({"name": f"部门{code}", "code": code})
    for share_type, cls in (("无条件共享", "101001"), ("不予共享", "101002")):
        cat.register(
            {
                "name": f"人口{share_type}",
                "department": "GA",
                "classification": cls,
                "items": ITEMS,
                "share_type": share_type,
                "share_condition": "依法不予共享" if share_type == "不予共享" else "",
            }
        )
        ingest(
            config,
            f"人口{share_type}",
            str(
                write(
                    tmp_path / f"{cls}.csv",
                    "身份证号,姓名,户籍地址\n11010519491231002X,張三,北京市东城区\n",
                )
            ),
        )
    cred = signing.create_credential(config, "RS", name="社保系统")
    return TestClient(create_app(config), raise_server_exceptions=False), cred, config


def _post(client: TestClient, cred: dict, resource: str, payload: dict, **sign_kw: object):  # noqa: ANN202
    path = f"/api/v1/share/{resource}/verify"
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"X-Shuhai-AppKey": cred["app_key"], "Content-Type": "application/json"}
    headers |= signing.sign(cred["app_secret"], "POST", path, [], body, **sign_kw)  # type: ignore[arg-type]
    return client.post(path, content=body, headers=headers), headers, body


def test_verification_answers_yes_or_no_only(setup: tuple) -> None:
    client, cred, config = setup
    r, _, _ = _post(
        client, cred, "人口无条件共享", {"id_number": "11010519491231002x", "name": "张三"}
    )
    assert r.status_code == 200 and r.json() == {"resource": "101001/GA-00001", "match": True}
    r, _, _ = _post(
        client, cred, "人口无条件共享", {"id_number": "11010519491231002X", "name": "李四"}
    )
    assert r.json()["match"] is False and "张" not in r.text and "北京" not in r.text
    audit.flush(config)
    assert len(audit.search(config, action="share.verify")) == 2


def test_refusals(setup: tuple) -> None:
    client, cred, config = setup
    path = "/api/v1/share/人口无条件共享/verify"
    assert client.post(path, json={"id_number": "1", "name": "x"}).status_code == 401  # unsigned
    r, headers, body = _post(
        client, cred, "人口无条件共享", {"id_number": "11010519491231002X", "name": "张三"}
    )
    assert r.status_code == 200
    replay = client.post(path, content=body, headers=headers)
    assert replay.status_code == 401 and replay.json()["code"] == "signature.replay"
    r, _, _ = _post(
        client, cred, "人口不予共享", {"id_number": "11010519491231002X", "name": "张三"}
    )
    assert r.status_code == 403
    r, _, _ = _post(client, cred, "人口无条件共享", {"id_number": "1' OR '1'='1", "name": "张三"})
    assert r.status_code == 422
    r, _, _ = _post(client, cred, "人口无条件共享", {"name": "张三"})
    assert r.status_code == 422
    r, _, _ = _post(client, cred, "不存在", {"id_number": "11010519491231002X", "name": "张三"})
    assert r.status_code == 404
    big = {"id_number": "11010519491231002X", "name": "x" * 70_000}
    assert _post(client, cred, "人口无条件共享", big)[0].status_code == 413
    audit.flush(config)
    refused_at_the_door = audit.search(config, action="share.refused")
    assert len(refused_at_the_door) == 3  # unsigned, replayed, oversized
    denied = [e for e in audit.search(config, action="share.verify") if e["outcome"] == "refused"]
    assert len(denied) == 4  # 不予共享, a malformed ID, a missing field, an unknown resource


def test_verification_through_the_serving_index(setup: tuple) -> None:
    from shuhai.share import serving

    client, cred, config = setup
    serving.build_index(config, "人口无条件共享")
    for id_number, name, match in (
        ("11010519491231002x", "张三", True),  # stored with a capital X, asked with a small one
        ("11010519491231002X", "張三", True),  # traditional characters standardized
        ("11010519491231002X", "李四", False),
        ("110105194912310038", "张三", False),
    ):
        r, _, _ = _post(client, cred, "人口无条件共享", {"id_number": id_number, "name": name})
        assert r.status_code == 200 and r.json()["match"] is match, (id_number, name)
