"""One error shape across the API: {ok, code, error (中文 / English), errors, status}."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shuhai.config import Config
from shuhai.errors import Conflict, Forbidden, InvalidInput, NotFound, RejectedFile, ShuhaiError
from shuhai.web.app import create_app


def test_error_classes_carry_their_status() -> None:
    assert [
        c("x.y", "中", "en").status
        for c in (NotFound, Forbidden, InvalidInput, Conflict, RejectedFile)
    ] == [404, 403, 422, 409, 422]
    err = ShuhaiError(
        "ingest.bad_encoding", "文件编码无法识别", "Unknown file encoding", details=[{"row": 1}]
    )
    assert err.to_dict() == {
        "ok": False,
        "code": "ingest.bad_encoding",
        "error": "文件编码无法识别 / Unknown file encoding",
        "errors": [{"row": 1}],
        "status": 400,
    }


def test_shape_is_pinned_across_endpoints(config: Config) -> None:
    client = TestClient(create_app(config), raise_server_exceptions=False)
    for method, url, status in [
        ("get", "/api/v1/resources/1", 404),
        ("get", "/api/v1/resources/x", 422),
        ("get", "/api/v1/runs/5", 404),
        ("post", "/api/v1/departments", 422),
        ("get", "/api/v1/zzz", 404),
        ("delete", "/api/v1/resources", 405),
    ]:
        r = getattr(client, method)(url)
        body = r.json()
        assert r.status_code == status == body["status"], url
        assert set(body) == {"ok", "code", "error", "errors", "status"} and body["ok"] is False
        assert " / " in body["error"]
