"""Harvesting other portals (数据采集): the catalog of a CKAN portal (its Action API) or a DCAT
document (Turtle, JSON-LD or RDF/XML) imported as read-only external datasets, found by the
portal's search beside ours and shown with a link back to their source.

A CKAN harvest pages through ``package_search``; each page is committed with the cursor, so an
interrupted harvest resumes where it stopped. One bad record never stops a harvest: it is left
out and named, with the reason, in the run's errors. A source that answers something that is
not a catalog (HTML, an error page, garbage) fails the run with a clear message and changes
nothing already stored.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import httpx
from sqlalchemy import select

from shuhai.access.identity import ADMIN
from shuhai.access.policy import OPERATOR, Viewer, record
from shuhai.config import Config
from shuhai.db import OpenExternal, OpenHarvestRun, OpenHarvestSource, session_scope
from shuhai.errors import Conflict, Forbidden, InvalidInput, NotFound, ShuhaiError

PAGE = 100  # CKAN packages per request
MAX_BYTES = 20 * 1024 * 1024  # an answer larger than this is refused
TIMEOUT = 30.0
MAX_ERRORS = 200  # errors kept per run (the count is exact)
KINDS = ("ckan", "dcat")


class HarvestFailed(ShuhaiError):
    """The source did not answer with a catalog (502)."""

    status = 502


def _admin(viewer: Viewer) -> None:
    if viewer.kind != OPERATOR and ADMIN not in viewer.roles:
        raise Forbidden(
            "open.harvest_admin",
            "采集源由系统管理员配置",
            "Harvest sources are the admin's to configure",
        )


def source_dict(src: OpenHarvestSource) -> dict[str, Any]:
    return {
        "id": src.id,
        "name": src.name,
        "url": src.url,
        "kind": src.kind,
        "cursor": src.cursor,
        "status": src.status,
        "last_error": src.last_error,
        "last_run_at": src.last_run_at.isoformat() if src.last_run_at else None,
    }


def add_source(config: Config, name: str, url: str, kind: str, *, viewer: Viewer) -> dict[str, Any]:
    """Register another portal to harvest (CKAN: its address; DCAT: the document's address)."""
    _admin(viewer)
    name, url = (name or "").strip(), (url or "").strip()
    if kind not in KINDS:
        raise InvalidInput("open.bad_kind", "类型应为 ckan 或 dcat", "kind is ckan or dcat")
    if not name or len(name) > 100:
        raise InvalidInput("open.bad_name", "名称应为 1–100 字", "A name of 1–100 characters")
    if not url.startswith(("http://", "https://")) or len(url) > 500:
        raise InvalidInput(
            "open.bad_url", "地址应为 http(s):// 开头", "The address must be http(s)"
        )
    with session_scope(config.database_url) as s:
        if s.scalars(select(OpenHarvestSource).where(OpenHarvestSource.name == name)).first():
            raise Conflict("open.source_exists", f"采集源“{name}”已存在", f"Source {name!r} exists")
        src = OpenHarvestSource(name=name, url=url.rstrip("/"), kind=kind, created_by=viewer.name)
        s.add(src)
        s.flush()
        out = source_dict(src)
    record(config, viewer, "open.harvest_source", name, detail={"url": url, "kind": kind})
    return out


def _get(client: httpx.Client, url: str, params: dict[str, Any] | None = None) -> httpx.Response:
    try:
        with client.stream("GET", url, params=params) as r:
            body = bytearray()
            for chunk in r.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise HarvestFailed(
                        "open.harvest_too_large",
                        f"采集源返回超过 {MAX_BYTES // 1024 // 1024} MB",
                        f"The source answered more than {MAX_BYTES // 1024 // 1024} MB",
                    )
            # iter_bytes gave the decoded body: its encoding headers no longer apply
            kept = {
                k: v
                for k, v in r.headers.items()
                if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
            }
            return httpx.Response(
                r.status_code, headers=kept, content=bytes(body), request=r.request
            )
    except httpx.HTTPError as exc:
        raise HarvestFailed(
            "open.harvest_unreachable",
            f"无法访问采集源：{type(exc).__name__}",
            f"The source cannot be reached: {exc}",
        ) from None


def _ckan_pages(
    client: httpx.Client, base: str, start: int
) -> Iterator[tuple[int, list[Any], int]]:
    """(start, packages, total) page by page from ``start``."""
    while True:
        r = _get(client, f"{base}/api/3/action/package_search", {"rows": PAGE, "start": start})
        try:
            body = r.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            kind = r.headers.get("content-type", "?")
            raise HarvestFailed(
                "open.harvest_not_ckan",
                f"采集源没有返回 CKAN 接口的 JSON（HTTP {r.status_code}，{kind}）",
                f"The source did not answer CKAN JSON (HTTP {r.status_code}, {kind})",
            ) from None
        result = body.get("result") if isinstance(body, dict) else None
        if not (
            isinstance(body, dict) and body.get("success") is True and isinstance(result, dict)
        ):
            raise HarvestFailed(
                "open.harvest_not_ckan",
                f"采集源的答复不是 CKAN 检索结果（HTTP {r.status_code}）",
                f"The answer is not a CKAN search result (HTTP {r.status_code})",
            )
        packages = result.get("results")
        total = result.get("count")
        if not isinstance(packages, list) or not isinstance(total, int):
            raise HarvestFailed(
                "open.harvest_not_ckan", "CKAN 检索结果缺少 results/count", "results/count missing"
            )
        yield start, packages, total
        start += len(packages)
        if not packages or start >= total:
            return


def _text(value: Any, most: int) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):  # multilingual fields: {"zh": …, "en": …}
        value = (
            value.get("zh")
            or value.get("zh_CN")
            or value.get("en")
            or next(iter(value.values()), "")
        )
    return str(value)[:most]


def from_ckan(pkg: Any, base: str) -> dict[str, Any]:
    """One CKAN package as an external dataset (raises on a record that cannot be read)."""
    if not isinstance(pkg, dict):
        raise ValueError("记录不是对象 / the record is not an object")
    remote = pkg.get("id") or pkg.get("name")
    title = _text(pkg.get("title") or pkg.get("name"), 300)
    if not remote or not title:
        raise ValueError("缺少 id 或标题 / no id or title")
    org = pkg.get("organization") or {}
    dists = []
    for r in pkg.get("resources") or []:
        if isinstance(r, dict) and isinstance(r.get("url"), str):
            dists.append(
                {
                    "title": _text(r.get("name"), 200),
                    "format": _text(r.get("format"), 40),
                    "url": r["url"][:500],
                }
            )
    tags = [_text(t.get("name") if isinstance(t, dict) else t, 40) for t in pkg.get("tags") or []]
    return {
        "remote_id": str(remote)[:300],
        "title": title,
        "description": _text(pkg.get("notes"), 5000),
        "keywords": [t for t in tags if t][:50],
        "publisher": _text(org.get("title") if isinstance(org, dict) else "", 200),
        "licence": _text(pkg.get("license_title") or pkg.get("license_id"), 200),
        "landing_url": f"{base}/dataset/{pkg.get('name') or remote}"[:500],
        "distributions": dists[:50],
        "remote_modified": _text(pkg.get("metadata_modified"), 40),
    }


def _dcat_records(body: bytes, content_type: str) -> Iterator[tuple[str, Any]]:
    from rdflib import Graph
    from rdflib.namespace import DCAT, RDF

    fmt = "json-ld" if "json" in content_type else "xml" if "xml" in content_type else "turtle"
    try:
        g = Graph().parse(data=body, format=fmt)
    except Exception as exc:  # noqa: BLE001 - any parser error means: not a catalog
        raise HarvestFailed(
            "open.harvest_not_dcat",
            f"采集源的答复不是可解析的 DCAT（{fmt}）",
            f"The answer is not DCAT that parses as {fmt}: {str(exc)[:200]}",
        ) from None
    subjects = list(g.subjects(RDF.type, DCAT.Dataset))
    if not subjects:
        raise HarvestFailed(
            "open.harvest_not_dcat",
            "DCAT 文档中没有 dcat:Dataset",
            "No dcat:Dataset in the document",
        )
    for node in subjects:
        yield str(node), (g, node)


def from_dcat(graph_node: Any) -> dict[str, Any]:
    from rdflib.namespace import DCAT, DCTERMS, FOAF

    g, node = graph_node

    def best(pred: Any) -> str:
        values = list(g.objects(node, pred))
        zh = [v for v in values if getattr(v, "language", None) in ("zh", "zh-CN", "zh-Hans")]
        return str((zh or values or [""])[0])

    title = best(DCTERMS.title)[:300]
    if not title:
        raise ValueError("缺少 dct:title / no title")
    publisher = ""
    pub = g.value(node, DCTERMS.publisher)
    if pub is not None:
        publisher = str(g.value(pub, FOAF.name) or pub)[:200]
    dists = []
    for d in g.objects(node, DCAT.distribution):
        url = g.value(d, DCAT.downloadURL) or g.value(d, DCAT.accessURL)
        if url is not None:
            dists.append(
                {
                    "title": str(g.value(d, DCTERMS.title) or "")[:200],
                    "format": str(g.value(d, DCTERMS.format) or "")[:40],
                    "url": str(url)[:500],
                }
            )
    return {
        "remote_id": str(node)[:300],
        "title": title,
        "description": best(DCTERMS.description)[:5000],
        "keywords": [str(k)[:40] for k in g.objects(node, DCAT.keyword)][:50],
        "publisher": publisher,
        "licence": str(g.value(node, DCTERMS.license) or "")[:200],
        "landing_url": str(g.value(node, DCAT.landingPage) or node)[:500],
        "distributions": dists[:50],
        "remote_modified": str(g.value(node, DCTERMS.modified) or "")[:40],
    }


def _store(config: Config, source_id: int, records: list[dict[str, Any]]) -> tuple[int, int]:
    from shuhai.open.search import reindex_external

    added = updated = 0
    with session_scope(config.database_url) as s:
        for rec in records:
            row = s.scalars(
                select(OpenExternal).where(
                    OpenExternal.source_id == source_id, OpenExternal.remote_id == rec["remote_id"]
                )
            ).first()
            if row is None:
                row = OpenExternal(source_id=source_id, **rec)
                s.add(row)
                added += 1
            else:
                for k, v in rec.items():
                    setattr(row, k, v)
                row.harvested_at = dt.datetime.now(dt.UTC)
                updated += 1
            s.flush()
            reindex_external(s, row)
    return added, updated


def harvest(
    config: Config, source: int | str, *, viewer: Viewer, client: httpx.Client | None = None
) -> dict[str, Any]:
    """Run one harvest of a source (resuming a CKAN harvest where the last one stopped)."""
    _admin(viewer)
    with session_scope(config.database_url) as s:
        q = select(OpenHarvestSource)
        text = str(source)
        q = (
            q.where(OpenHarvestSource.id == int(text))
            if text.isascii() and text.isdigit() and len(text) <= 18
            else q.where(OpenHarvestSource.name == text)
        )
        src = s.scalars(q).first()
        if src is None:
            raise NotFound(
                "open.source_not_found", f"采集源 {source} 不存在", f"No source {source}"
            )
        src_id, url, kind, cursor = src.id, src.url, src.kind, src.cursor
        src.status, src.last_run_at = "running", dt.datetime.now(dt.UTC)
        run = OpenHarvestRun(source_id=src_id, status="running", errors=[])
        s.add(run)
        s.flush()
        run_id = run.id
    totals = {"added": 0, "updated": 0, "failed": 0}
    errors: list[dict[str, str]] = []
    own = client is None
    client = client or httpx.Client(
        timeout=TIMEOUT, follow_redirects=True, headers={"User-Agent": "shuhai-harvester"}
    )

    def take(items: list[tuple[str, Any]], convert: Any) -> list[dict[str, Any]]:
        good = []
        for remote, raw in items:
            try:
                good.append(convert(raw))
            except Exception as exc:  # noqa: BLE001 - one bad record never stops the harvest
                totals["failed"] += 1
                if len(errors) < MAX_ERRORS:
                    errors.append({"record": str(remote)[:200], "error": str(exc)[:300]})
        return good

    try:
        if kind == "ckan":
            for start, packages, _total in _ckan_pages(client, url, cursor):
                items = [
                    (
                        str(
                            (p.get("name") or p.get("id") or f"#{start + i}")
                            if isinstance(p, dict)
                            else f"#{start + i}"
                        ),
                        p,
                    )
                    for i, p in enumerate(packages)
                ]
                added, updated = _store(config, src_id, take(items, lambda p: from_ckan(p, url)))
                totals["added"] += added
                totals["updated"] += updated
                with session_scope(config.database_url) as s:  # resumable: the page is in
                    s.get(OpenHarvestSource, src_id).cursor = start + len(packages)  # type: ignore[union-attr]
        else:
            r = _get(client, url)
            if r.status_code >= 400:
                raise HarvestFailed(
                    "open.harvest_http",
                    f"采集源返回 HTTP {r.status_code}",
                    f"The source answered HTTP {r.status_code}",
                )
            items = list(_dcat_records(r.content, r.headers.get("content-type", "")))
            added, updated = _store(config, src_id, take(items, from_dcat))
            totals["added"] += added
            totals["updated"] += updated
        status, message = "done", ""
    except ShuhaiError as exc:
        status, message = "failed", exc.message
    finally:
        if own:
            client.close()
    with session_scope(config.database_url) as s:
        src = s.get(OpenHarvestSource, src_id)
        run = s.get(OpenHarvestRun, run_id)
        assert src is not None and run is not None
        src.status, src.last_error = status, message
        if status == "done":
            src.cursor = 0  # the next harvest starts from the beginning again
        run.status, run.finished_at, run.errors = status, dt.datetime.now(dt.UTC), errors
        run.added, run.updated, run.failed = totals["added"], totals["updated"], totals["failed"]
        out = {
            "run": run_id,
            "source": source_dict(src),
            "status": status,
            "error": message,
            **totals,
            "errors": errors,
        }
    from shuhai.open.search import changed

    changed()
    record(
        config,
        viewer,
        "open.harvest",
        out["source"]["name"],
        detail={k: out[k] for k in ("status", "added", "updated", "failed")},
    )
    return out


def list_sources(config: Config) -> list[dict[str, Any]]:
    with session_scope(config.database_url) as s:
        return [
            source_dict(x)
            for x in s.scalars(select(OpenHarvestSource).order_by(OpenHarvestSource.id))
        ]


def get_external(config: Config, external_id: int) -> dict[str, Any]:
    with session_scope(config.database_url) as s:
        row = s.get(OpenExternal, external_id)
        if row is None:
            raise NotFound(
                "open.external_not_found",
                f"外部数据集 {external_id} 不存在",
                f"No external dataset {external_id}",
            )
        src = s.get(OpenHarvestSource, row.source_id)
        return {
            "id": row.id,
            "title": row.title,
            "description": row.description,
            "keywords": row.keywords,
            "publisher": row.publisher,
            "licence": row.licence,
            "landing_url": row.landing_url,
            "distributions": row.distributions,
            "remote_modified": row.remote_modified,
            "harvested_at": row.harvested_at.isoformat() if row.harvested_at else None,
            "source": {"name": src.name, "url": src.url} if src else None,
        }
