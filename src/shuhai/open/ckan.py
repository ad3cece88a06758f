"""A CKAN-compatible Action API (CKAN 接口兼容) over the open catalog, so CKAN's clients
(``ckanapi``), harvesters and the scripts people already have work unchanged.

Each action is a function ``(ctx, params) -> result``; the web layer wraps the result in CKAN's
envelope ``{"help", "success", "result"}`` and maps our errors to CKAN's ``error.__type`` and
status codes (``error_body``). Datasets are CKAN packages, departments organizations, themes
groups, keywords tags; each dataset has one CKAN resource per file format, all datastore-active.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shuhai.access.identity import Unauthorized
from shuhai.access.limits import TooManyRequests
from shuhai.access.policy import Viewer
from shuhai.config import Config
from shuhai.errors import Forbidden, InvalidInput, NotFound, ShuhaiError
from shuhai.open import datastore
from shuhai.open.datasets import THEMES, get_dataset, list_datasets
from shuhai.open.search import search

CKAN_VERSION = "2.11.0"  # the API generation this answers like
FORMATS = ("CSV", "XLSX", "JSON", "Parquet")
MIMETYPES = {
    "CSV": "text/csv",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "JSON": "application/json",
    "Parquet": "application/vnd.apache.parquet",
}
MAX_ROWS = 1000


@dataclass
class Context:
    config: Config
    viewer: Viewer
    base_url: str  # the portal's address as the caller reached it, no trailing slash


class ValidationError(InvalidInput):
    """CKAN's Validation Error (409)."""

    status = 409


def _need(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value in (None, ""):
        raise ValidationError(
            "ckan.missing",
            f"缺少参数 {name}",
            f"Missing value: {name}",
            details=[{"field": name, "error": "Missing value"}],
        )
    return value


def _int(params: dict[str, Any], name: str, default: int, most: int | None = None) -> int:
    value = params.get(name, default)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(
            "ckan.bad_integer",
            f"{name} 应为整数",
            f"{name}: Invalid integer",
            details=[{"field": name, "error": "Invalid integer"}],
        ) from None
    if number < 0 or (most is not None and number > most):
        bound = f"0–{most}" if most is not None else "≥ 0"
        raise ValidationError(
            "ckan.out_of_range",
            f"{name} 应在 {bound}",
            f"{name} must be {bound}",
            details=[{"field": name, "error": f"Must be {bound}"}],
        )
    return number


def _bool(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    if value in (None, ""):
        return default
    raise ValidationError(
        "ckan.bad_bool", f"{name} 应为 true/false", f"{name}: must be true or false"
    )


def _json(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValidationError(
                "ckan.bad_json", f"{name} 不是有效的 JSON", f"{name}: not valid JSON"
            ) from None
    return value


def org_name(code: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", code.lower()).strip("-") or "org"


def group_name(theme: str) -> str:
    english = THEMES.get(theme, theme)
    return re.sub(r"[^a-z0-9]+", "-", english.lower()).strip("-") or "group"


def _org(publisher: dict[str, Any], count: int | None = None) -> dict[str, Any]:
    out = {
        "id": org_name(publisher["code"]),
        "name": org_name(publisher["code"]),
        "title": publisher["name"],
        "display_name": publisher["name"],
        "description": "",
        "image_url": "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
    }
    if count is not None:
        out["package_count"] = count
    return out


def _group(theme: str, count: int | None = None) -> dict[str, Any]:
    out = {
        "id": group_name(theme),
        "name": group_name(theme),
        "title": theme,
        "display_name": theme,
        "description": THEMES.get(theme, ""),
        "image_url": "",
        "type": "group",
        "is_organization": False,
        "state": "active",
        "approval_status": "approved",
    }
    if count is not None:
        out["package_count"] = count
    return out


def _resources(ctx: Context, ds: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for position, fmt in enumerate(FORMATS):
        ext = fmt.lower()
        out.append(
            {
                "id": f"{ds['name']}.{ext}",
                "package_id": ds["name"],
                "name": f"{ds['title']}（{fmt}）",
                "description": f"{ds['title']}，最新版本，{fmt} 格式 / latest version as {fmt}",
                "format": fmt,
                "mimetype": MIMETYPES[fmt],
                "url": f"{ctx.base_url}/api/v1/open/datasets/{ds['name']}/download.{ext}",
                "url_type": None,
                "datastore_active": ds["lake_version"] is not None,
                "state": "active",
                "position": position,
                "created": ds["published_at"],
                "last_modified": ds["data_updated_at"],
                "metadata_modified": ds["updated_at"],
                "size": None,
                "hash": "",
            }
        )
    return out


def package(ctx: Context, ds: dict[str, Any]) -> dict[str, Any]:
    """A dataset as a CKAN package."""
    extras = {
        "open_type": ds["open_type"],
        "frequency": ds["frequency"],
        "temporal_start": ds["temporal_start"],
        "temporal_end": ds["temporal_end"],
        "spatial": ds["spatial"],
        "resource_code": ds["resource"]["code"],
        "lake_version": ds["lake_version"],
        "rows": ds["rows"],
    }
    return {
        "id": ds["name"],
        "name": ds["name"],
        "title": ds["title"],
        "notes": ds["description"],
        "url": f"{ctx.base_url}/open/datasets/{ds['name']}",
        "author": ds["publisher"]["name"],
        "author_email": None,
        "maintainer": ds["contact"],
        "maintainer_email": None,
        "license_id": ds["licence"],
        "license_title": ds["licence_title"],
        "license_url": ds["licence_url"],
        "isopen": True,
        "metadata_created": ds["published_at"],
        "metadata_modified": ds["updated_at"],
        "state": "active",
        "type": "dataset",
        "private": False,
        "version": str(ds["lake_version"]) if ds["lake_version"] is not None else None,
        "num_tags": len(ds["keywords"]),
        "tags": [
            {"id": k, "name": k, "display_name": k, "state": "active", "vocabulary_id": None}
            for k in ds["keywords"]
        ],
        "organization": _org(ds["publisher"]),
        "owner_org": org_name(ds["publisher"]["code"]),
        "groups": [_group(ds["theme"])] if ds["theme"] else [],
        "resources": _resources(ctx, ds),
        "num_resources": len(FORMATS),
        "extras": [{"key": k, "value": "" if v is None else str(v)} for k, v in extras.items()],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


def _summary_as_package(ctx: Context, name: str) -> dict[str, Any]:
    return package(ctx, get_dataset(ctx.config, name))


# --- actions ------------------------------------------------------------------------------


def package_list(ctx: Context, params: dict[str, Any]) -> list[str]:
    """Names of the published datasets. Parameters: limit, offset."""
    limit = _int(params, "limit", 10_000, 10_000)
    offset = _int(params, "offset", 0)
    names = sorted(d["name"] for d in list_datasets(ctx.config))
    return names[offset : offset + limit]


def package_show(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """One dataset by id or name. Parameters: id."""
    return _summary_as_package(ctx, str(_need(params, "id")))


SORTS = {
    "score desc, metadata_modified desc": "relevance",
    "score desc": "relevance",
    "relevance asc": "relevance",
    "metadata_modified desc": "updated",
    "metadata_created desc": "newest",
    "title_string asc": "title",
    "name asc": "title",
    "views_recent desc": "most_used",
    "views_total desc": "most_used",
}
FQ_FIELDS = {
    "organization": "department",
    "groups": "theme",
    "res_format": "format",
    "tags": "keyword",
    "license_id": "licence",
    "open_type": "open_type",
    "frequency": "frequency",
}
FACET_FIELDS = (
    "organization",
    "groups",
    "tags",
    "res_format",
    "license_id",
    "open_type",
    "frequency",
)
_FQ = re.compile(r'\s*[+]?([a-z_]+):("(?:[^"\\]|\\.)*"|\S+)')


def _fq(value: str) -> dict[str, list[str]]:
    """CKAN's ``fq`` (Solr filter query): ``organization:gov-a tags:"空气" res_format:CSV``."""
    out: dict[str, list[str]] = {}
    at = 0
    text = value.strip()
    while at < len(text):
        m = _FQ.match(text, at)
        if not m or m.group(1) not in FQ_FIELDS:
            raise datastore.QueryError(
                "ckan.bad_fq",
                f"无法识别的 fq：{text[at : at + 60]}（可用字段：{'、'.join(FQ_FIELDS)}）",
                f"Cannot parse fq at: {text[at : at + 60]!r} (fields: {', '.join(FQ_FIELDS)})",
            )
        raw = m.group(2)
        if raw.startswith('"'):
            raw = raw[1:-1].replace('\\"', '"')
        out.setdefault(m.group(1), []).append(raw)
        at = m.end()
        while at < len(text) and text[at] in " \t" or text[at : at + 4] == "AND ":
            at += 4 if text[at : at + 4] == "AND " else 1
    return out


TEXT_FIELDS = ("title", "name", "notes", "text")  # Solr fields whose terms search the text
_FIELDED = re.compile(r'(?<!\S)[+]?([a-z_]+):("(?:[^"\\]|\\.)*"|\S+)')


def _fielded(q: str) -> tuple[str, dict[str, list[str]]]:
    """CKAN clients put Solr fields in ``q`` too (``title:空气 organization:hb``): text fields
    become plain words, filter fields join ``fq``, anything else is refused by name."""
    filters: dict[str, list[str]] = {}
    words: list[str] = []

    def take(m: re.Match[str]) -> str:
        field, raw = m.group(1), m.group(2)
        value = raw[1:-1] if raw.startswith('"') else raw
        if field in TEXT_FIELDS:
            words.append(value)
        elif field in FQ_FIELDS:
            filters.setdefault(field, []).append(value)
        else:
            raise datastore.QueryError(
                "ckan.bad_q",
                f"q 中不支持的字段：{field}（可用：{'、'.join((*TEXT_FIELDS, *FQ_FIELDS))}）",
                f"Unsupported field in q: {field!r}",
            )
        return " "

    rest = _FIELDED.sub(take, q)
    return " ".join([rest.strip(), *words]).strip(), filters


def package_search(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Search datasets. Parameters: q, fq, rows (≤ 1000), start, sort, facet.field,
    facet.limit, include_private (ignored: nothing open is private)."""
    q = params.get("q") or ""
    if not isinstance(q, str):
        raise ValidationError("ckan.bad_q", "q 应为文本", "q must be text")
    if q.strip() in ("*:*", "*"):
        q = ""
    q, fielded = _fielded(q)
    rows = _int(params, "rows", 10, MAX_ROWS)
    start = _int(params, "start", 0, 1_000_000)
    sort_key = re.sub(
        r"\s+", " ", str(params.get("sort") or "score desc, metadata_modified desc").strip().lower()
    )
    if sort_key not in SORTS:
        raise datastore.QueryError(
            "ckan.bad_sort",
            f"不支持的排序：{sort_key}",
            f"Unsupported sort {sort_key!r}; one of: {', '.join(SORTS)}",
        )
    fq = _fq(str(params.get("fq") or ""))
    for field, values in fielded.items():
        fq.setdefault(field, []).extend(values)
    facet_fields = _json(params, "facet.field") or []
    if isinstance(facet_fields, str):
        facet_fields = [facet_fields]
    if not isinstance(facet_fields, list) or any(f not in FACET_FIELDS for f in facet_fields):
        raise datastore.QueryError(
            "ckan.bad_facet",
            f"facet.field 只能取 {'、'.join(FACET_FIELDS)}",
            f"facet.field takes {', '.join(FACET_FIELDS)}",
        )
    facet_limit = _int(params, "facet.limit", 50, 1000)
    orgs = {
        org_name(d["publisher"]["code"]): d["publisher"]["name"] for d in list_datasets(ctx.config)
    }
    groups = {group_name(t): t for t in THEMES}
    filters: dict[str, list[str]] = {}
    for field, values in fq.items():
        mapped = FQ_FIELDS[field]
        if field == "organization":
            values = [orgs.get(v, v) for v in values]
        elif field == "groups":
            values = [groups.get(v, v) for v in values]
        filters[mapped] = values
    found = search(
        ctx.config,
        q,
        filters=filters,
        sort=SORTS[sort_key],
        limit=MAX_ROWS,
        offset=0,
        all_matches=True,
        include_external=False,  # harvested datasets are other portals' to serve
    )
    names = [r["name"] for r in found["results"]]
    page = [_summary_as_package(ctx, n) for n in names[start : start + rows]]
    counts: dict[str, dict[str, int]] = {}
    every = found["matches"]
    for field in facet_fields:
        c: dict[str, int] = {}
        for r in every:
            if field == "organization":
                keys = [org_name(r["publisher"]["code"])]
            elif field == "groups":
                keys = [group_name(r["theme"])] if r["theme"] else []
            elif field == "tags":
                keys = r["keywords"]
            elif field == "res_format":
                keys = list(FORMATS)
            elif field == "license_id":
                keys = [r["licence"]]
            else:
                keys = [r[field]]
            for k in keys:
                c[k] = c.get(k, 0) + 1
        counts[field] = dict(sorted(c.items(), key=lambda kv: -kv[1])[:facet_limit])
    titles = {**{k: v for k, v in orgs.items()}, **groups}
    return {
        "count": found["count"],
        "sort": sort_key,
        "results": page,
        "facets": counts,
        "search_facets": {
            field: {
                "title": field,
                "items": [
                    {"name": k, "display_name": titles.get(k, k), "count": n}
                    for k, n in items.items()
                ],
            }
            for field, items in counts.items()
        },
    }


def organization_list(ctx: Context, params: dict[str, Any]) -> list[Any]:
    """Departments with published datasets. Parameters: all_fields, limit, offset."""
    all_fields = _bool(params, "all_fields", False)
    limit = _int(params, "limit", 1000, 1000)
    offset = _int(params, "offset", 0)
    counts: dict[str, tuple[dict[str, Any], int]] = {}
    for d in list_datasets(ctx.config):
        key = org_name(d["publisher"]["code"])
        pub, n = counts.get(key, (d["publisher"], 0))
        counts[key] = (pub, n + 1)
    keys = sorted(counts)[offset : offset + limit]
    if not all_fields:
        return keys
    return [_org(counts[k][0], counts[k][1]) for k in keys]


def organization_show(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """One department and its datasets. Parameters: id, include_datasets."""
    ref = str(_need(params, "id"))
    mine = [d for d in list_datasets(ctx.config) if org_name(d["publisher"]["code"]) == ref.lower()]
    if not mine:
        raise NotFound("ckan.org_not_found", f"组织 {ref} 不存在", f"Organization not found: {ref}")
    out = _org(mine[0]["publisher"], len(mine))
    if _bool(params, "include_datasets", False):
        out["packages"] = [package(ctx, d) for d in mine[:1000]]
    return out


def group_list(ctx: Context, params: dict[str, Any]) -> list[Any]:
    """Themes with published datasets. Parameters: all_fields."""
    counts: dict[str, int] = {}
    for d in list_datasets(ctx.config):
        if d["theme"]:
            counts[d["theme"]] = counts.get(d["theme"], 0) + 1
    themes = sorted(counts, key=group_name)
    if not _bool(params, "all_fields", False):
        return [group_name(t) for t in themes]
    return [_group(t, counts[t]) for t in themes]


def group_show(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """One theme and its datasets. Parameters: id, include_datasets."""
    ref = str(_need(params, "id"))
    theme = {group_name(t): t for t in THEMES}.get(ref.lower(), ref)
    mine = [d for d in list_datasets(ctx.config) if d["theme"] == theme]
    if theme not in THEMES:
        raise NotFound("ckan.group_not_found", f"分组 {ref} 不存在", f"Group not found: {ref}")
    out = _group(theme, len(mine))
    if _bool(params, "include_datasets", False):
        out["packages"] = [package(ctx, d) for d in mine[:1000]]
    return out


def tag_list(ctx: Context, params: dict[str, Any]) -> list[str]:
    """Keywords of the published datasets. Parameters: query (a part of the tag)."""
    query = str(params.get("query") or "").lower()
    tags = sorted({k for d in list_datasets(ctx.config) for k in d["keywords"]})
    return [t for t in tags if query in t.lower()]


def resource_show(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """One resource (a dataset's file format) by id (``name.csv``). Parameters: id."""
    ref = str(_need(params, "id"))
    name, _sep, ext = ref.rpartition(".")
    if not name:
        raise NotFound(
            "ckan.resource_not_found", f"资源 {ref} 不存在", f"Resource not found: {ref}"
        )
    for r in package(ctx, get_dataset(ctx.config, name))["resources"]:
        if r["id"] == ref:
            return r
    raise NotFound("ckan.resource_not_found", f"资源 {ref} 不存在", f"Resource not found: {ref}")


def datastore_search(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Rows of a resource. Parameters: resource_id, filters, q, fields, sort, limit, offset,
    include_total, records_format (objects, lists, csv, tsv), distinct."""
    return datastore.datastore_search(
        ctx.config,
        ctx.viewer,
        str(_need(params, "resource_id")),
        filters=_json(params, "filters"),
        q=_json(params, "q"),
        fields=_json(params, "fields"),
        sort=params.get("sort"),
        limit=_int(params, "limit", datastore.DEFAULT_LIMIT, datastore.MAX_LIMIT),
        offset=_int(params, "offset", 0, datastore.MAX_OFFSET),
        include_total=_bool(params, "include_total", True),
        records_format=str(params.get("records_format") or "objects"),
        distinct=_bool(params, "distinct", False),
    )


def datastore_search_sql(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """One read-only SELECT; tables are resource ids in double quotes. Parameters: sql."""
    return datastore.datastore_search_sql(ctx.config, ctx.viewer, str(_need(params, "sql")))


def status_show(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """What this site is. No parameters."""
    return {
        "ckan_version": CKAN_VERSION,
        "site_title": "数海 Shuhai 公共数据开放平台",
        "site_description": "政务公共数据开放 / Government open data",
        "site_url": ctx.base_url,
        "locale_default": "zh_Hans_CN",
        "extensions": ["datastore", "dcat"],
    }


def site_read(ctx: Context, params: dict[str, Any]) -> bool:
    """Whether the site may be read. No parameters."""
    return True


def help_show(ctx: Context, params: dict[str, Any]) -> str:
    """The documentation of an action. Parameters: name."""
    name = str(_need(params, "name"))
    if name not in ACTIONS:
        raise NotFound("ckan.action_not_found", f"没有接口 {name}", f"Action not found: {name}")
    return (ACTIONS[name].__doc__ or "").strip()


ACTIONS: dict[str, Callable[[Context, dict[str, Any]], Any]] = {
    f.__name__: f
    for f in (
        package_list,
        package_show,
        package_search,
        organization_list,
        organization_show,
        group_list,
        group_show,
        tag_list,
        resource_show,
        datastore_search,
        datastore_search_sql,
        status_show,
        site_read,
        help_show,
    )
}


def call(ctx: Context, name: str, params: dict[str, Any]) -> Any:
    """Run one action (404 ``Not Found Error`` for an unknown action name)."""
    action = ACTIONS.get(name)
    if action is None:
        raise NotFound("ckan.action_not_found", f"没有接口 {name}", f"Action not found: {name}")
    return action(ctx, params)


def error_body(exc: ShuhaiError) -> tuple[int, dict[str, Any]]:
    """CKAN's error shape and status for one of our errors."""
    zh, en = exc.zh, exc.en
    message = f"{zh} / {en}"
    if isinstance(exc, NotFound):
        return 404, {"__type": "Not Found Error", "message": message}
    if isinstance(exc, Unauthorized | Forbidden):
        return 403, {"__type": "Authorization Error", "message": message}
    if isinstance(exc, TooManyRequests):
        return 429, {"__type": "Rate Limit Error", "message": message}
    if isinstance(exc, datastore.QueryError):
        return 409, {"__type": "Search Query Error", "message": message}
    error: dict[str, Any] = {"__type": "Validation Error", "message": message}
    for d in exc.details or []:
        if d.get("field"):
            error[d["field"]] = [d.get("error") or message]
    return 409, error
