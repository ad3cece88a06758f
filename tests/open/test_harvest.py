"""Harvesting another portal's catalog: from a CKAN API (our own, served) and from a DCAT
document, with per-record errors, a resumable cursor and clear failures on garbage."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shuhai.access.policy import Viewer, operator
from shuhai.errors import Forbidden, InvalidInput
from shuhai.open import search
from shuhai.open.harvest import add_source, get_external, harvest, list_sources

ADMIN = operator()


class Fake:
    """A real HTTP server whose answers a test sets: what a remote portal sends."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.seen: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                fake.seen.append(self.path)
                answer = fake.answer(self.path)
                status, kind, body = answer
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        for prefix, value in self.answers.items():
            if path.startswith(prefix):
                return value(path) if callable(value) else value
        return 404, "text/html", b"<html>not found</html>"


@pytest.fixture
def fake() -> Iterator[Fake]:
    f = Fake()
    yield f
    f.server.shutdown()


def ckan_page(packages: list[dict], count: int) -> tuple[int, str, bytes]:
    body = {"success": True, "result": {"count": count, "results": packages}}
    return 200, "application/json", json.dumps(body, ensure_ascii=False).encode()


def pkg(i: int, **extra: Any) -> dict:
    return {
        "id": f"remote-{i}",
        "name": f"dataset-{i}",
        "title": f"省级公交线路数据{i}",
        "notes": "全省公共交通线路",
        "tags": [{"name": "公交"}],
        "organization": {"title": "省交通运输厅"},
        "resources": [{"name": "CSV", "format": "CSV", "url": f"https://remote.example/{i}.csv"}],
        "license_title": "CC-BY-4.0",
        **extra,
    }


def test_harvest_from_our_own_running_ckan_api(config, site) -> None:
    add_source(config, "样例门户", site, "ckan", viewer=ADMIN)
    out = harvest(config, "样例门户", viewer=ADMIN)
    assert out["status"] == "done" and out["added"] == 1 and out["failed"] == 0
    found = search(config, "空气")
    external = [r for r in found["results"] if r.get("external")]
    assert external and external[0]["external"]["source"] == "样例门户"
    ext = get_external(config, external[0]["external"]["id"])
    assert ext["title"] == "环境空气质量日报" and len(ext["distributions"]) == 4
    again = harvest(config, "样例门户", viewer=ADMIN)
    assert again["added"] == 0 and again["updated"] == 1  # the same record, refreshed


def test_one_bad_record_is_named_and_the_rest_taken(config, fake) -> None:
    fake.answers["/api/3/action/package_search"] = ckan_page(
        [pkg(1), {"id": "broken", "title": None}, "not an object", pkg(2)], 4
    )
    add_source(config, "省平台", fake.url, "ckan", viewer=ADMIN)
    out = harvest(config, "省平台", viewer=ADMIN)
    assert out["status"] == "done" and out["added"] == 2 and out["failed"] == 2
    assert {e["record"] for e in out["errors"]} == {"broken", "#2"}
    assert search(config, "公交")["count"] == 2


def test_an_interrupted_harvest_resumes_where_it_stopped(config, fake) -> None:
    def pages(path: str) -> tuple[int, str, bytes]:
        start = int(path.split("start=")[1].split("&")[0])
        if start == 0:
            return ckan_page([pkg(i) for i in range(100)], 150)
        if fake.answers.get("fail"):
            return 500, "text/html", b"<html>Server Error</html>"
        return ckan_page([pkg(i) for i in range(100, 150)], 150)

    fake.answers["/api/3/action/package_search"] = pages
    fake.answers["fail"] = True
    add_source(config, "断点", fake.url, "ckan", viewer=ADMIN)
    first = harvest(config, "断点", viewer=ADMIN)
    assert first["status"] == "failed" and "CKAN" in first["error"] and first["added"] == 100
    assert list_sources(config)[0]["cursor"] == 100
    fake.answers["fail"] = False
    fake.seen.clear()
    second = harvest(config, "断点", viewer=ADMIN)
    assert second["status"] == "done" and second["added"] == 50
    assert "start=100" in fake.seen[0]  # resumed, not restarted
    assert list_sources(config)[0]["cursor"] == 0


@pytest.mark.parametrize(
    "answer",
    [
        (200, "text/html", b"<html><body>Welcome to our portal</body></html>"),
        (200, "application/json", b'{"success": false, "error": {"message": "down"}}'),
        (200, "application/json", b"[1, 2, 3]"),
        (503, "text/plain", b"maintenance"),
        (200, "application/json", b'{"success": true, "result": {"results": "x"}}'),
    ],
)
def test_garbage_fails_the_run_with_a_reason_and_keeps_what_is_stored(config, fake, answer) -> None:
    fake.answers["/api/3/action/package_search"] = ckan_page([pkg(1)], 1)
    add_source(config, "省平台", fake.url, "ckan", viewer=ADMIN)
    assert harvest(config, "省平台", viewer=ADMIN)["added"] == 1
    fake.answers["/api/3/action/package_search"] = answer
    out = harvest(config, "省平台", viewer=ADMIN)
    assert out["status"] == "failed" and out["error"]
    assert "Traceback" not in out["error"]
    assert search(config, "公交")["count"] == 1  # nothing already stored is lost


def test_harvest_a_dcat_document(config, fake) -> None:
    turtle = """
@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
<https://remote.example/ds/1> a dcat:Dataset ; dct:title "全省医疗机构名录"@zh ;
  dct:description "医疗机构基本信息"@zh ; dcat:keyword "医院"@zh ;
  dct:publisher [ foaf:name "省卫健委" ] ;
  dcat:distribution [ a dcat:Distribution ; dcat:downloadURL <https://remote.example/1.csv> ] .
<https://remote.example/ds/2> a dcat:Dataset .
"""
    fake.answers["/catalog.ttl"] = (200, "text/turtle", turtle.encode())
    fake.answers["/bad.ttl"] = (200, "text/turtle", b"@prefix : <oops")
    add_source(config, "卫健", fake.url + "/catalog.ttl", "dcat", viewer=ADMIN)
    out = harvest(config, "卫健", viewer=ADMIN)
    assert out["status"] == "done" and out["added"] == 1 and out["failed"] == 1  # no title
    assert [r["title"] for r in search(config, "医院")["results"]] == ["全省医疗机构名录"]
    add_source(config, "坏文档", fake.url + "/bad.ttl", "dcat", viewer=ADMIN)
    bad = harvest(config, "坏文档", viewer=ADMIN)
    assert bad["status"] == "failed" and "DCAT" in bad["error"]


def test_only_the_admin_configures_sources(config) -> None:
    with pytest.raises(Forbidden):
        add_source(
            config, "x", "https://a.example", "ckan", viewer=Viewer("user", "o", 1, ("officer",))
        )
    with pytest.raises(InvalidInput):
        add_source(config, "x", "file:///etc/passwd", "ckan", viewer=ADMIN)
    with pytest.raises(InvalidInput):
        add_source(config, "x", "https://a.example", "ftp", viewer=ADMIN)


def test_a_gzip_answer_is_read(config) -> None:
    """Portals compress their answers; the harvester reads the decoded body once."""
    import gzip

    body = gzip.compress(ckan_page([pkg(1)], 1)[2])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        add_source(
            config, "压缩", f"http://127.0.0.1:{server.server_address[1]}", "ckan", viewer=ADMIN
        )
        out = harvest(config, "压缩", viewer=ADMIN)
        assert out["status"] == "done" and out["added"] == 1, out
    finally:
        server.shutdown()
