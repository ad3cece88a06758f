"""Full-text search of the open catalog (开放数据检索), in Chinese.

Titles, descriptions, keywords, field names and publishers are segmented with jieba (its
search mode, so a long word is also indexed by its parts; the catalog's own terms — field
names, keywords, synonyms — are added to its dictionary so they stay whole), and the tokens are
stored in the metadata database's full-text index: SQLite FTS5 by default, a PostgreSQL
``tsvector`` with a GIN index in production. Both answer the same boolean query, so both find
the same datasets; the ranking is then computed here, the same way for both.

A query word matches a dataset when the dataset has the word, one of its synonyms (社保 →
社会保险, 参保), a word that begins with one of them (人社 → 人社局), or every part of one of
them (信用代码 → 信用 + 代码). Every word of a query must match.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import time
import tomllib
from dataclasses import dataclass
from importlib import resources as pkg_resources
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from shuhai.catalog.spec import uscc_checksum_ok
from shuhai.config import Config
from shuhai.db import (
    Department,
    InfoItem,
    OpenDataset,
    OpenExternal,
    OpenHarvestSource,
    Resource,
    session_scope,
)
from shuhai.errors import InvalidInput

log = logging.getLogger(__name__)

MAX_QUERY = 200  # characters of a query that are searched
MAX_WORDS = 12
WORD = re.compile(r"[^\W_]+")  # letters, digits and CJK; the same tokens on FTS5 and tsvector
STOP = frozenset(
    [
        "的",
        "和",
        "与",
        "及",
        "或",
        "在",
        "了",
        "是",
        "等",
        "之",
        "其",
        "各",
        "对",
        "为",
        "年",
        "月",
        "日",
        "数据",
        "信息",
    ]
)

# Weights of where a word is found, for the ranking (the same on every database).
WEIGHTS = {"title": 8.0, "keywords": 5.0, "fields": 3.0, "publisher": 2.0, "description": 1.0}
BY_WEIGHT = sorted(WEIGHTS, key=lambda f: -WEIGHTS[f])


def _synonyms() -> dict[str, list[str]]:
    path = pkg_resources.files("shuhai").joinpath("data", "open", "synonyms.toml")
    groups = tomllib.loads(path.read_text("utf-8"))["synonyms"]
    out: dict[str, list[str]] = {}
    for word, others in groups.items():
        key = word.lower()
        out[key] = list(dict.fromkeys([*out.get(key, []), *(o.lower() for o in others)]))
    return out


SYNONYMS = _synonyms()

_tokenizer_lock = threading.Lock()
_tokenizer: Any = None
_known_words: set[str] = set()


def tokenizer() -> Any:
    """The process's jieba tokenizer, built once (about a second: its dictionary is loaded),
    with the synonyms' words added."""
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                for word, others in SYNONYMS.items():
                    for w in (word, *others):
                        tk.add_word(w, freq=tk.suggest_freq(w, tune=False) or 100)
                _tokenizer = tk
    return _tokenizer


def add_words(words: list[str]) -> None:
    """Terms of the catalog (field names, keywords) the segmenter keeps whole."""
    tk = tokenizer()
    with _tokenizer_lock:
        for w in words:
            w = w.strip().lower()
            if 1 < len(w) <= 20 and w not in _known_words and WORD.fullmatch(w):
                tk.add_word(w, freq=max(tk.suggest_freq(w, tune=False), 50))
                _known_words.add(w)


def tokens(value: str) -> list[str]:
    """The index tokens of a text: jieba's search mode over each run of word characters."""
    tk = tokenizer()
    out: list[str] = []
    for run in WORD.findall(value.lower()):
        out.extend(t for t in tk.cut_for_search(run, HMM=True) if WORD.fullmatch(t))
    return out


def _parts(word: str) -> list[str]:
    """The smaller words of ``word`` that its own index entry also carries (search mode)."""
    return [t for t in tokens(word) if t != word]


def query_words(q: str) -> list[str]:
    """The words of a query: jieba's precise mode, stop words and punctuation left out."""
    tk = tokenizer()
    words: list[str] = []
    for run in WORD.findall(q.lower()[:MAX_QUERY]):
        for w in tk.cut(run, HMM=True):
            if WORD.fullmatch(w) and w not in STOP and w not in words:
                words.append(w)
    return words[:MAX_WORDS]


def alternatives(word: str) -> list[str]:
    """A word and its synonyms (both ways: 驾照 → 驾驶证, and 驾驶证 → 驾照)."""
    alts = [word, *SYNONYMS.get(word, [])]
    for head, others in SYNONYMS.items():
        if word in others:
            alts.extend([head, *others])
    return list(dict.fromkeys(alts))


@dataclass
class Clause:
    """One query word: matched by any alternative, itself or all of its parts."""

    word: str
    options: list[list[str]]  # each option: tokens that must all be present ("词*": a prefix)


def compile_query(q: str) -> list[Clause]:
    clauses = []
    for w in query_words(q):
        options: list[list[str]] = []
        for alt in alternatives(w):
            options.append([alt])
            if len(alt) >= 2:
                options.append([alt + "*"])
            parts = _parts(alt)
            if len(parts) > 1:
                options.append(parts)
        clauses.append(Clause(w, options))
    return clauses


def _fts5(clauses: list[Clause]) -> str:
    def one(option: list[str]) -> str:
        return (
            "("
            + " AND ".join(f'"{t[:-1]}"*' if t.endswith("*") else f'"{t}"' for t in option)
            + ")"
        )

    return " AND ".join("(" + " OR ".join(one(o) for o in c.options) + ")" for c in clauses)


def _tsquery(clauses: list[Clause]) -> str:
    def one(option: list[str]) -> str:
        return (
            "(" + " & ".join(f"'{t[:-1]}':*" if t.endswith("*") else f"'{t}'" for t in option) + ")"
        )

    return " & ".join("(" + " | ".join(one(o) for o in c.options) + ")" for c in clauses)


def _document(ds: OpenDataset, res: Resource, publisher: str) -> dict[str, str]:
    return {
        "title": ds.title,
        "keywords": " ".join(ds.keywords or []),
        "fields": " ".join(ds.columns or []),
        "publisher": publisher,
        "description": ds.description,
    }


def reindex(s: Session, ds: OpenDataset, res: Resource) -> None:
    """(Re)write one dataset's entry in the full-text index; a withdrawn one is removed."""
    s.execute(text("DELETE FROM open_fts WHERE dataset_id = :id"), {"id": ds.id})
    if ds.status != "published":
        return
    add_words([*(ds.keywords or []), *(ds.columns or [])])
    dept = s.get(Department, res.department_id)
    doc = _document(ds, res, dept.name if dept else "")
    toks = " ".join(dict.fromkeys(t for value in doc.values() for t in tokens(value)))
    s.execute(  # spaces around: the LIKE fallback of other databases matches " word "
        text("INSERT INTO open_fts (dataset_id, tokens) VALUES (:id, :t)"),
        {"id": ds.id, "t": f" {toks} "},
    )


EXTERNAL = "外部数据集"  # harvested from another portal: read-only, linked to its source


def reindex_external(s: Session, row: OpenExternal) -> None:
    """A harvested dataset's entry in the full-text index, under its negated id (the index's
    ids are published datasets' ids; harvested ones are told apart by their sign)."""
    s.execute(text("DELETE FROM open_fts WHERE dataset_id = :id"), {"id": -row.id})
    doc = {
        "title": row.title,
        "keywords": " ".join(row.keywords or []),
        "fields": "",
        "publisher": row.publisher,
        "description": row.description,
    }
    toks = " ".join(dict.fromkeys(t for value in doc.values() for t in tokens(value)))
    s.execute(
        text("INSERT INTO open_fts (dataset_id, tokens) VALUES (:id, :t)"),
        {"id": -row.id, "t": f" {toks} "},
    )


def rebuild(config: Config) -> int:
    """Rebuild the whole index (after an upgrade of the segmenter or its dictionary)."""
    with session_scope(config.database_url) as s:
        s.execute(text("DELETE FROM open_fts"))
        n = 0
        for ds, res in s.execute(
            select(OpenDataset, Resource).join(Resource, Resource.id == OpenDataset.resource_id)
        ):
            reindex(s, ds, res)
            n += 1
    return n


def matching_ids(s: Session, clauses: list[Clause]) -> set[int]:
    """The datasets the index says match every clause."""
    dialect = s.get_bind().dialect.name
    if dialect == "sqlite":
        rows = s.execute(
            text("SELECT dataset_id FROM open_fts WHERE open_fts MATCH :q"), {"q": _fts5(clauses)}
        )
    elif dialect == "postgresql":
        rows = s.execute(
            text("SELECT dataset_id FROM open_fts WHERE tsv @@ to_tsquery('simple', :q)"),
            {"q": _tsquery(clauses)},
        )
    else:
        ids = None
        for c in clauses:
            found: set[int] = set()
            for option in c.options:
                cond = " AND ".join(f"tokens LIKE :t{i}" for i in range(len(option)))
                params = {
                    f"t{i}": f"% {t[:-1]}%" if t.endswith("*") else f"% {t} %"
                    for i, t in enumerate(option)
                }
                found |= {
                    r[0]
                    for r in s.execute(
                        text(f"SELECT dataset_id FROM open_fts WHERE {cond}"), params
                    )
                }
            ids = found if ids is None else ids & found
        return ids or set()
    return {int(r[0]) for r in rows}


# --- the in-memory view of the datasets (facets, ranking, snippets) -------------------------


@dataclass
class _Entry:
    id: int
    name: str
    doc: dict[str, str]
    doc_tokens: dict[str, set[str]]
    facets: dict[str, str]
    published_at: str
    data_updated_at: str
    use: int
    summary: dict[str, Any]


_entries_lock = threading.Lock()
_entries: dict[str, tuple[tuple[Any, ...], float, dict[int, _Entry]]] = {}
_doc_tokens: dict[tuple[str, int], tuple[tuple[str, ...], dict[str, set[str]]]] = {}
REFRESH_SECONDS = 60.0  # the usage figures (most used) are at most this old


def _stamp(s: Session) -> tuple[Any, ...]:
    return (
        tuple(
            s.execute(
                select(func.count(), func.max(OpenDataset.updated_at), func.max(OpenDataset.id))
            ).one()
        )
        + tuple(s.execute(select(func.max(Resource.updated_at))).one())
        + tuple(s.execute(select(func.count(), func.max(OpenExternal.harvested_at))).one())
    )


def _tokens_of(key: str, dataset_id: int, doc: dict[str, str]) -> dict[str, set[str]]:
    """A dataset's tokens per field, segmented once per text (reloads reuse them)."""
    texts = tuple(doc.values())
    hit = _doc_tokens.get((key, dataset_id))
    if hit is not None and hit[0] == texts:
        return hit[1]
    out = {k: set(tokens(v)) for k, v in doc.items()}
    _doc_tokens[(key, dataset_id)] = (texts, out)
    return out


def _load(s: Session, key: str) -> dict[int, _Entry]:
    out: dict[int, _Entry] = {}
    rows = s.execute(
        select(OpenDataset, Resource, Department)
        .join(Resource, Resource.id == OpenDataset.resource_id)
        .join(Department, Department.id == Resource.department_id)
        .where(
            OpenDataset.status == "published", Resource.open_type.in_(("无条件开放", "有条件开放"))
        )
    ).all()
    field_counts = dict(
        s.execute(select(InfoItem.resource_id, func.count()).group_by(InfoItem.resource_id)).all()
    )
    for ext, src in s.execute(
        select(OpenExternal, OpenHarvestSource).join(
            OpenHarvestSource, OpenHarvestSource.id == OpenExternal.source_id
        )
    ):
        doc = {
            "title": ext.title,
            "keywords": " ".join(ext.keywords or []),
            "fields": "",
            "publisher": ext.publisher,
            "description": ext.description,
        }
        stamp = ext.harvested_at.isoformat() if ext.harvested_at else ""
        out[-ext.id] = _Entry(
            id=-ext.id,
            name=f"external-{ext.id}",
            doc=doc,
            doc_tokens=_tokens_of(key, -ext.id, doc),
            facets={
                "department": ext.publisher or src.name,
                "theme": EXTERNAL,
                "format": EXTERNAL,
                "open_type": EXTERNAL,
                "frequency": "—",
            },
            published_at=stamp,
            data_updated_at=ext.remote_modified or stamp,
            use=0,
            summary={
                "id": -ext.id,
                "name": f"external-{ext.id}",
                "title": ext.title,
                "description": ext.description,
                "keywords": list(ext.keywords or []),
                "theme": EXTERNAL,
                "licence": ext.licence,
                "publisher": {"id": None, "code": "", "name": ext.publisher or src.name},
                "open_type": EXTERNAL,
                "frequency": "—",
                "format": EXTERNAL,
                "fields": 0,
                "all_fields": 0,
                "rows": None,
                "published_at": stamp,
                "data_updated_at": ext.remote_modified or stamp,
                "downloads": 0,
                "api_calls": 0,
                "views": 0,
                "external": {"source": src.name, "url": ext.landing_url, "id": ext.id},
            },
        )
    for ds, res, dept in rows:
        doc = _document(ds, res, dept.name)
        out[ds.id] = _Entry(
            id=ds.id,
            name=ds.name,
            doc=doc,
            doc_tokens=_tokens_of(key, ds.id, doc),
            facets={
                "department": dept.name,
                "theme": ds.theme or "未分类",
                "format": res.format.split("/")[0],
                "open_type": res.open_type,
                "frequency": res.update_cycle,
            },
            published_at=ds.published_at.isoformat() if ds.published_at else "",
            data_updated_at=res.updated_at.isoformat() if res.updated_at else "",
            use=int(ds.downloads or 0) + int(ds.api_calls or 0) + int(ds.views or 0),
            summary={
                "id": ds.id,
                "name": ds.name,
                "title": ds.title,
                "description": ds.description,
                "keywords": list(ds.keywords or []),
                "theme": ds.theme,
                "licence": ds.licence,
                "publisher": {"id": dept.id, "code": dept.code, "name": dept.name},
                "open_type": res.open_type,
                "frequency": res.update_cycle,
                "format": res.format,
                "fields": len(ds.columns or []),
                "all_fields": field_counts.get(res.id, 0),
                "rows": res.row_count if res.lake_version is not None else 0,
                "published_at": ds.published_at.isoformat() if ds.published_at else None,
                "data_updated_at": res.updated_at.isoformat() if res.updated_at else None,
                "downloads": ds.downloads,
                "api_calls": ds.api_calls,
                "views": ds.views,
            },
        )
    return out


STAMP_SECONDS = 1.0  # how often a search asks the database whether the catalog changed
_stamps: dict[str, tuple[float, tuple[Any, ...]]] = {}


def changed() -> None:
    """This process changed the catalog: the next search asks the database again."""
    _stamps.clear()


def entries(s: Session, key: str) -> dict[int, _Entry]:
    """The published datasets' view, reloaded when the catalog changed (asked at most once a
    second: a change shows in searches within a second, in every server process)."""
    now = time.monotonic()
    seen = _stamps.get(key)
    hit = _entries.get(key)
    if seen is not None and seen[0] > now and hit is not None and hit[0] == seen[1]:
        return hit[2]
    stamp = _stamp(s)
    _stamps[key] = (now + STAMP_SECONDS, stamp)
    if hit is not None and hit[0] == stamp and hit[1] > now:
        return hit[2]
    loaded = _load(s, key)
    with _entries_lock:
        _entries[key] = (stamp, time.monotonic() + REFRESH_SECONDS, loaded)
    return loaded


def _has(toks: set[str], option: list[str]) -> bool:
    for t in option:
        if t.endswith("*"):
            head = t[:-1]
            if not any(x.startswith(head) for x in toks):
                return False
        elif t not in toks:
            return False
    return True


FACETS = ("department", "theme", "format", "open_type", "frequency")
SORTS = ("relevance", "newest", "updated", "most_used", "title")


def _highlight(value: str, words: list[str], most: int | None = None) -> str:
    """``value`` HTML-escaped, the matched words in ``<mark>``; cut around the first match."""
    if most is not None and len(value) > most:
        first = min((value.lower().find(w) for w in words if w and w in value.lower()), default=0)
        start = max(0, first - most // 3)
        value = ("…" if start else "") + value[start : start + most] + "…"
    escaped = html.escape(value)
    found = sorted({html.escape(w) for w in words if w}, key=len, reverse=True)
    if not found:
        return escaped
    pattern = re.compile(
        "|".join(re.escape(w) for w in found), flags=re.I
    )  # one pass, longest first
    return pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped).replace("</mark><mark>", "")


def _ric_ok(value: str) -> bool:
    import pyarrow as pa

    from shuhai.quality.vectorized import ric_valid

    return bool(ric_valid(pa.array([value])).to_pylist()[0])


def _bad(code: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(code, zh, en)


IDENTIFIERS = {
    "uscc": re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}"),
    "id_number": re.compile(r"\d{17}[\dXx]"),
}


def identifier(q: str) -> dict[str, str] | None:
    """A query that is a credit code or a licence number: the verification page, not a search."""
    value = q.strip().upper()
    if IDENTIFIERS["uscc"].fullmatch(value) and uscc_checksum_ok(value):
        kind = "uscc"
    elif IDENTIFIERS["id_number"].fullmatch(value) and _ric_ok(value):
        kind = "id_number"
    else:
        return None
    return {
        "kind": kind,
        "number": value,
        "url": f"/licences?number={value}",
        "message": "这是证照编号：请到电子证照核验页查验 / This is a licence number: verify it",
    }


def search(
    config: Config,
    q: str = "",
    *,
    filters: dict[str, list[str]] | None = None,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    all_matches: bool = False,
    include_external: bool = True,
) -> dict[str, Any]:
    """Published datasets matching ``q`` and the facet filters (``keyword`` and ``licence``
    too), with facet counts over the matches, why each matched, and highlighted title and
    description; ``all_matches`` adds every match's summary (``matches``), ranked."""
    if not isinstance(q, str):
        raise _bad("open.bad_query", "检索词应为文本", "The query must be text")
    if sort not in SORTS:
        raise _bad(
            "open.bad_sort", f"排序应为 {'、'.join(SORTS)} 之一", f"sort must be one of {SORTS}"
        )
    if not (1 <= limit <= 1000) or not (0 <= offset <= 1_000_000):
        raise _bad("open.bad_paging", "rows 应在 1–1000", "rows must be 1–1000, start ≥ 0")
    filters = {k: v for k, v in (filters or {}).items() if v}
    unknown = [k for k in filters if k not in (*FACETS, "keyword", "licence")]
    if unknown:
        raise _bad(
            "open.unknown_facet",
            f"未知的分面：{'、'.join(unknown)}",
            f"Unknown facets: {', '.join(unknown)}",
        )
    started = time.perf_counter()
    clauses = compile_query(q) if q.strip() else []
    with session_scope(config.database_url) as s:
        pool = entries(s, config.database_url)
        ids = matching_ids(s, clauses) if clauses else set(pool)
    found = [pool[i] for i in ids if i in pool]
    found = [
        e
        for e in found
        if (include_external or e.id > 0)
        and all(_passes(e, k, vals) for k, vals in filters.items())
    ]
    facets: dict[str, dict[str, int]] = {k: {} for k in FACETS}
    for e in found:
        for k in FACETS:
            facets[k][e.facets[k]] = facets[k].get(e.facets[k], 0) + 1
    scored = []
    # each clause's options, exact ones first (set lookups) and prefix ones after (scans)
    ordered = [
        [o for o in c.options if not any(t.endswith("*") for t in o)]
        + [o for o in c.options if any(t.endswith("*") for t in o)]
        for c in clauses
    ]
    for e in found:
        score, why = 0.0, []
        for c, options in zip(clauses, ordered, strict=True):
            best, where = 0.0, None
            for field in BY_WEIGHT:  # the heaviest field that matches decides
                toks = e.doc_tokens[field]
                hit = next((o for o in options if _has(toks, o)), None)
                if hit is not None:
                    best, where = WEIGHTS[field], (field, "".join(hit))
                    break
            score += best
            if where:
                why.append({"word": c.word, "field": where[0], "matched": where[1].rstrip("*")})
        scored.append((score, e, why))
    if sort == "relevance":
        scored.sort(key=lambda t: (-t[0], t[1].summary["title"], t[1].id))
    elif sort == "newest":
        scored.sort(key=lambda t: (t[1].published_at, t[1].id), reverse=True)
    elif sort == "updated":
        scored.sort(key=lambda t: (t[1].data_updated_at, t[1].id), reverse=True)
    elif sort == "most_used":
        scored.sort(key=lambda t: (-t[1].use, t[1].id))
    else:
        scored.sort(key=lambda t: (t[1].summary["title"], t[1].id))
    marks = [t.rstrip("*") for c in clauses for o in c.options for t in o]
    results = []
    for score, e, why in scored[offset : offset + limit]:
        results.append(
            {
                **e.summary,
                "score": score,
                "matched": why,
                "highlight": {
                    "title": _highlight(e.summary["title"], marks),
                    "description": _highlight(e.summary["description"], marks, 160),
                },
            }
        )
    out = {
        "q": q,
        "count": len(scored),
        "results": results,
        "facets": {k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in facets.items()},
        "filters": filters,
        "sort": sort,
        "limit": limit,
        "offset": offset,
        "words": [c.word for c in clauses],
        "verify": identifier(q) if q else None,
        "took_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if all_matches:
        out["matches"] = [e.summary for _score, e, _why in scored]
    return out


def _passes(e: _Entry, key: str, values: list[str]) -> bool:
    if key == "keyword":
        return any(v in e.summary["keywords"] for v in values)
    if key == "licence":
        return e.summary["licence"] in values
    if key == "format":
        return e.facets["format"] in values or any(
            v.lower() in ("csv", "xlsx", "json", "parquet") for v in values
        )
    return e.facets[key] in values
