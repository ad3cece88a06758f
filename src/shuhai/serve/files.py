"""Base-database files (一人一档、一企一档), their search, the values the sources disagree on and
review evidence, as a viewer may see them.

They hold personal data: served only when the ``profiles`` setting is on, only to department
staff (and the operator at the command line), and each value through the policy point of the
resource it came from (``SourceView``): sources the viewer may not read are withheld, the rest
masked as a preview of that resource would be. Every read is audited (``SourceView.check``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from shuhai.access.masking import mask_series
from shuhai.access.policy import SourceView, Viewer, record
from shuhai.config import Config
from shuhai.entities import service
from shuhai.errors import Forbidden, InvalidInput
from shuhai.serve import objections as objection_views


def personal(config: Config, viewer: Viewer, action: str, target: str) -> SourceView:
    """Base-database files: the instance setting first, then the caller (department staff)."""
    if not config.profiles:
        raise Forbidden(
            "entities.profiles_off",
            "档案含个人信息，本实例未开启档案查看（设置 SHUHAI_PROFILES=true）",
            "Profiles hold personal data and are off on this instance (set SHUHAI_PROFILES=true)",
        )
    view = SourceView(config, viewer)
    view.check(action, target)
    return view


# Fields of entity rows and review evidence, by the attribute whose masking rule they follow.
PERSON_FIELDS = {"id": "身份证号", "person_id": "身份证号"}


def mixed(view: SourceView, kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows drawn from several sources (search hits, entity, links): L4 fields masked, in one
    pass over all the rows."""
    if kind != "person" or not rows:
        return rows
    named = [{attr: r.get(f) for f, attr in PERSON_FIELDS.items() if f in r} for r in rows]
    masked = view.mixed_rows(named)
    return [
        {**r, **{f: m.get(attr) for f, attr in PERSON_FIELDS.items() if f in r}}
        for r, m in zip(rows, masked, strict=True)
    ]


def profile_view(view: SourceView, p: dict[str, Any]) -> dict[str, Any]:
    """A file as this viewer may see it: every value through the decision of its source."""
    kind = p["base"]["kind"]
    shown_golden = view.values_many(
        [(g["resource_id"], {g["attribute"]: g["value"]}) for g in p["golden"]]
    )
    golden = [
        {**g, "value": None, "withheld": True}
        if shown is None
        else {**g, "value": shown.get(g["attribute"]), "withheld": False}
        for g, shown in zip(p["golden"], shown_golden, strict=True)
    ]
    shown_sources = view.values_many([(src["resource_id"], src["values"]) for src in p["sources"]])
    sources = [
        {**src, "values": shown}
        for src, shown in zip(p["sources"], shown_sources, strict=True)
        if shown is not None
    ]
    if kind == "person" and sources:  # a source's ID is masked like an ID number
        ids = view.values_many([(s["resource_id"], {"身份证号": s["id"]}) for s in sources])
        for src, masked in zip(sources, ids, strict=True):
            src["id"] = (masked or {}).get("身份证号", src["id"])
    numbers = []
    attribute = "身份证号" if kind == "person" else "统一社会信用代码"
    for n in p.get("numbers", []):  # each number as the first readable source shows it
        readable = [src for src in n["sources"] if view.readable(src["resource_id"])]
        if not readable:
            continue
        shown = view.values_many([(readable[0]["resource_id"], {attribute: n["id"]})])[0] or {}
        numbers.append({**n, "id": shown.get(attribute), "sources": readable})
    disagreements = _disagreements(view, p["disagreements"])
    shown_objections = [
        objection_views.masked([o], view.decision(o["resource_id"]))[0]
        for o in p["objections"]
        if objection_views.may_see(view.viewer, o, view.decision(o["resource_id"]))
    ]
    links = {
        k: mixed(view, "person", [r for r in rows if view.readable(r.get("resource_id", 0))])
        if k != "licences"
        else rows
        for k, rows in p["links"].items()
    }
    return {
        **p,
        "entity": mixed(view, kind, [p["entity"]])[0],
        "golden": golden,
        "numbers": numbers,
        "sources": sources,
        "withheld_sources": len(p["sources"]) - len(sources),
        "timeline": [t for t in p["timeline"] if view.readable(t["resource_id"])],
        "disagreements": disagreements,
        "objections": shown_objections,
        "corrections": [c for c in p.get("corrections", []) if view.readable(c["resource_id"])],
        "links": links,
    }


def _disagreements(view: SourceView, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each attribute's competing values, each shown only from a source the viewer may read
    (one masking pass for all of them)."""
    pairs = [
        (one["resource_id"], {d["attribute"]: one.get("value")})
        for d in items
        for one in d["sources"]
    ]
    shown = iter(view.values_many(pairs))
    out = []
    for d in items:
        kept = []
        for one in d["sources"]:
            masked = next(shown)
            if masked is not None:
                kept.append({**one, "value": masked.get(d["attribute"])})
        if kept:
            out.append({**d, "sources": kept})
    return out


def disagreements_view(view: SourceView, data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "items": _disagreements(view, data["items"])}


def review_view(view: SourceView, kind: str, pair: dict[str, Any]) -> dict[str, Any]:
    """Review evidence: both sides' fields and the golden values, L4 masked (mixed sources)."""
    evidence = {
        "record": {**pair["record"], "fields": mixed(view, kind, [pair["record"]["fields"]])[0]},
        "file": {
            "fields": mixed(view, kind, [pair["file"]["fields"]])[0],
            "golden": [
                {**g, "value": m.get(g["attribute"])}
                for g, m in zip(
                    pair["file"]["golden"],
                    view.mixed_rows([{g["attribute"]: g["value"]} for g in pair["file"]["golden"]]),
                    strict=True,
                )
            ],
        },
    }
    return {**pair, **evidence}


def search(
    config: Config, viewer: Viewer, base: str, q: str = "", *, limit: int = 20, offset: int = 0
) -> dict[str, Any]:
    view = personal(config, viewer, "base.search", base)
    found = service.search_files(config, base, q, limit=limit, offset=offset)
    return {**found, "items": mixed(view, found["base"]["kind"], found["items"])}


def profile(config: Config, viewer: Viewer, base: str, file_id: str) -> dict[str, Any]:
    view = personal(config, viewer, "base.profile", f"{base}/{file_id}")
    return profile_view(view, service.profile(config, base, file_id))


def disagreements(
    config: Config, viewer: Viewer, base: str, *, attribute: str | None = None, limit: int = 50
) -> dict[str, Any]:
    view = personal(config, viewer, "base.disagreements", base)
    return disagreements_view(
        view, service.disagreements(config, base, attribute=attribute, limit=limit)
    )


def review(config: Config, viewer: Viewer, base: str, pair_id: int) -> dict[str, Any]:
    view = personal(config, viewer, "base.review", f"{base}/{pair_id}")
    kind = service.get_base(config, base)["kind"]
    return _notes([review_view(view, kind, service.review_pair(config, base, pair_id))])[0]


def records(
    config: Config, viewer: Viewer, base: str, *, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """Which file each source record went to, for the records of resources the viewer may read
    (department staff and the operator); record keys and file ids, no personal values."""
    readable = _readable_members(config, viewer, base, "base.records")
    return service.record_files_page(config, base, limit=limit, offset=offset, resources=readable)


def conflicts(
    config: Config,
    viewer: Viewer,
    base: str,
    *,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """ID numbers several people claim (重号, a guardian's or mother's number) with the records
    claiming them: each number and name through the policy point of the record's source,
    records of sources the viewer may not read withheld (their count stays)."""
    view = personal(config, viewer, "base.conflicts", base)
    page = service.id_conflicts(config, base, kind=kind, limit=limit, offset=offset)
    flat = [
        (r["resource_id"], {"身份证号": item["id"], "姓名": r["name"]})
        for item in page["items"]
        for r in item["records"]
    ]
    shown = iter(view.values_many(flat))
    items = []
    for item in page["items"]:
        rows, numbers = [], []
        for r in item["records"]:
            values = next(shown)
            if values is None:
                continue
            rows.append({**r, "name": values.get("姓名")})
            numbers.append(values.get("身份证号"))
        # the number as the least-masked readable source shows it
        number = next((n for n in numbers if n == item["id"]), numbers[0] if numbers else None)
        items.append(
            {**item, "id": number, "records": rows, "withheld": len(item["records"]) - len(rows)}
        )
    return {**page, "items": items}


def _readable_members(config: Config, viewer: Viewer, base: str, action: str) -> set[int]:
    """The member resources of ``base`` whose records the viewer may see (refused, audited,
    for callers who may not read base databases at all)."""
    view = SourceView(config, viewer)
    view.check(action, base)
    _info, frame = service.record_files(config, base)
    ids = frame.select("resource_id").unique().collect()["resource_id"].to_list()
    return {int(rid) for rid in ids if view.readable(int(rid))}


def export_records(config: Config, viewer: Viewer, base: str, out: Path, fmt: str) -> int:
    """All of ``records`` written to ``out`` (CSV with BOM, or Parquet), streamed; the rows."""
    if fmt not in ("csv", "parquet"):
        raise InvalidInput(
            "entities.bad_format", "格式应为 csv 或 parquet", "The format must be csv or parquet"
        )
    readable = _readable_members(config, viewer, base, "base.export")
    _info, frame = service.record_files(config, base)
    frame = frame.filter(pl.col("resource_id").is_in(sorted(readable)))
    rows = int(frame.select(pl.len()).collect().item())
    if fmt == "parquet":
        frame.sink_parquet(out)
    else:  # with a BOM: Excel opens UTF-8 as UTF-8
        frame.sink_csv(out, include_bom=True)
    return rows


def queue(
    config: Config,
    viewer: Viewer,
    base: str,
    *,
    status: str = "pending",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """A page of the clerical review queue with its total: pairs with their scores and evidence
    levels (no record values); reviewers' notes masked like free text."""
    page = service.review_page(config, base, status=status, limit=limit, offset=offset)
    record(config, viewer, "base.reviews", base, detail={"status": status, "offset": offset})
    return {**page, "items": _notes(page["items"])}


def _notes(pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Review notes are free text: ID, mobile and card numbers in them are masked (one pass
    for the whole page)."""
    notes = mask_series(pl.Series([p.get("note") for p in pairs], dtype=pl.String), "free_text")
    return [{**p, "note": n} for p, n in zip(pairs, notes.to_list(), strict=True)]


__all__ = [
    "conflicts",
    "disagreements",
    "export_records",
    "mixed",
    "personal",
    "profile",
    "profile_view",
    "queue",
    "records",
    "review",
    "search",
]
