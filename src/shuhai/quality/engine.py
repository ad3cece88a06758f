"""The rule engine (质量检查): all rules of a resource compiled into one DuckDB query per version.

One scan of the version writes the failing rows (keys, line, one flag per rule) to a small
table; values checked per rule come from the Delta log's null counts, so the data is read once.
Row rules that the loads of every run in the version already answered on the plain text
(``shuhai.quality.rowcheck``) are looked up by row key in that scan, so an encrypted ID column is
neither decrypted nor re-validated; only set rules (unique, reference) need the values.
Results are stored per version (metadata), failing rows as Parquet under ``SHUHAI_HOME/quality``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable
from sqlalchemy import select

from shuhai.catalog.service import find_resource, resource_dict
from shuhai.config import Config
from shuhai.db import IngestRun, QualityResult, QualityRule, QualityRun, Resource, session_scope
from shuhai.errors import InvalidInput, NotFound, recover
from shuhai.lake import LINE_COLUMN, RUN_COLUMN, LakeTable, cipher
from shuhai.lake.schema import quote_identifier as _q
from shuhai.quality import rowcheck
from shuhai.quality import validators as V
from shuhai.quality.rules import KINDS, RuleSpec, default_rules, validate_rules
from shuhai.quality.scores import score_version

log = logging.getLogger(__name__)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if text == "today":
        return "current_date"
    return "'" + text.replace("'", "''") + "'"


def _typed_literal(value: Any, data_type: str) -> str:
    if data_type == "D" and value != "today":
        return f"DATE {_literal(value)}"
    if data_type == "T" and value != "today":
        return f"TIMESTAMP {_literal(value)}"
    return _literal(value)


def _bounds(col: str, expr: str, params: dict[str, Any], literal: Any) -> str:
    """``expr`` within ``params['min']`` and/or ``params['max']`` (NULL values pass)."""
    parts = [
        f"{expr} {op} {literal(params[k])}"
        for k, op in (("min", ">="), ("max", "<="))
        if k in params
    ]
    return f"({col} IS NULL OR ({' AND '.join(parts)}))"


def rule_sql(rule: RuleSpec, types: dict[str, str], ref_name: str | None = None) -> str:
    """The SQL boolean that is true when a row of the version (the view ``t``) passes ``rule``."""
    c = _q(rule.item)
    p = rule.params
    kind = rule.kind
    if kind == "not_null":
        return f"{c} IS NOT NULL"
    if kind == "unique":
        # the repeated values, from one hash aggregate, then a semi-join (a window over the
        # column would sort or partition every selected column of the version)
        repeated = f"SELECT {c} FROM t WHERE {c} IS NOT NULL GROUP BY {c} HAVING count(*) > 1"
        return f"({c} IS NULL OR {c} NOT IN ({repeated}))"
    simple = {
        "ric": V.ric,
        "uscc": V.uscc,
        "uscc_strict": V.uscc_strict,
        "org_code": V.org_code,
        "mobile": V.mobile,
        "landline": V.landline,
        "phone": V.phone,
        "email": V.email,
        "postal_code": V.postal_code,
        "sex_code": V.sex_code,
    }
    if kind in simple:
        return simple[kind](c)
    if kind == "regex":
        return f"({c} IS NULL OR regexp_full_match(CAST({c} AS VARCHAR), {_literal(p['pattern'])}))"
    if kind == "code_table":
        values = ", ".join(_literal(str(v)) for v in p["values"])
        return f"({c} IS NULL OR CAST({c} AS VARCHAR) IN ({values}))"
    if kind == "range":
        return _bounds(c, c, p, lambda v: _typed_literal(v, types[rule.item]))
    if kind == "length":
        return _bounds(c, f"length({c})", p, lambda v: str(int(v)))
    if kind == "reference":
        return f"({c} IS NULL OR {c} IN (SELECT {_q(p['item'])} FROM {ref_name}))"
    if kind == "ric_birth_date":
        r = _q(p["ric"])
        born = V.ric_birth_date(r)  # compared whenever the ID has a readable date part
        return f"({c} IS NULL OR {born} IS NULL OR {born} = {c})"
    if kind == "ric_sex":
        r = _q(p["ric"])
        sex = f"CASE trim({c}) WHEN '男' THEN '1' WHEN '女' THEN '2' ELSE trim({c}) END"
        return f"({c} IS NULL OR {r} IS NULL OR length(trim({r})) NOT IN (15, 18) OR {V.ric_sex(r)} = {sex})"
    raise InvalidInput("quality.unknown_kind", f"未知规则类型 {kind}", f"Unknown rule kind {kind}")


PRECHECKED = rowcheck.NUMPY_KINDS
PRECHECK_THREADS = 2
ROW_KEY = (
    f"({RUN_COLUMN} * 4294967296 + coalesce({LINE_COLUMN}, 0))"  # a row's identity: run and line
)


def precheck(
    dataset: Any,
    rules: list[dict[str, Any]],
    open_data: Callable[[pa.Table], pa.Table] = lambda data: data,
    *,
    skip: Collection[int] = (),
) -> dict[int, pa.Table]:
    """ID and credit-code rules checked with NumPy over whole columns, one Parquet file at a time
    (memory bounded by a few files), files in parallel (NumPy releases the GIL): for each such
    rule, the row keys that fail it. The rule query then only looks these keys up, instead of
    calling into Python for every vector of rows."""
    prechecked = [(i, r) for i, r in enumerate(rules) if r["kind"] in PRECHECKED and i not in skip]
    if not prechecked:
        return {}
    with ThreadPoolExecutor(max_workers=PRECHECK_THREADS) as pool:
        per_file = list(
            pool.map(lambda path: _precheck_file(path, prechecked, open_data), dataset.files)
        )
    return {
        i: pa.table(
            {
                "k": np.concatenate([f[i] for f in per_file if i in f])
                if per_file
                else np.empty(0, np.int64)
            }
        )
        for i, _ in prechecked
    }


def _precheck_file(
    path: str,
    prechecked: list[tuple[int, dict[str, Any]]],
    open_data: Callable[[pa.Table], pa.Table],
) -> dict[int, np.ndarray]:
    pf = pq.ParquetFile(path)
    names = set(pf.schema_arrow.names)
    need = {r["item"] for _, r in prechecked} | {
        r["params"]["ric"] for _, r in prechecked if "ric" in r["params"]
    }
    table = open_data(pf.read(columns=[c for c in need if c in names] + [RUN_COLUMN, LINE_COLUMN]))
    return rowcheck.failing_keys(table, prechecked, rowcheck.row_keys(table))


def rule_dict(rule: QualityRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "item": rule.item,
        "kind": rule.kind,
        "params": rule.params,
        "dimension": rule.dimension,
        "origin": rule.origin,
        "enabled": rule.enabled,
        "help": KINDS[rule.kind][3],
    }


_defaults_lock = threading.Lock()
QUERY_MEMORY = "512MB"  # per quality query; larger versions spill to disk


def list_rules(
    config: Config, resource: str | int, *, materialize: bool = True
) -> list[dict[str, Any]]:
    """The resource's rules; when none were ever set, the inferred defaults are stored first
    (under a lock: a background check and a request may ask at the same moment)."""
    with _defaults_lock, session_scope(config.database_url) as s:
        res = find_resource(s, resource)
        rules = s.scalars(
            select(QualityRule).where(QualityRule.resource_id == res.id).order_by(QualityRule.id)
        ).all()
        if not rules and materialize:
            spec = resource_dict(res)
            for r in default_rules(spec["items"], spec["key_columns"]):
                s.add(
                    QualityRule(
                        resource_id=res.id,
                        item=r.item,
                        kind=r.kind,
                        params=r.params,
                        dimension=r.dimension,
                        origin="default",
                    )
                )
            s.flush()
            rules = s.scalars(
                select(QualityRule)
                .where(QualityRule.resource_id == res.id)
                .order_by(QualityRule.id)
            ).all()
        return [rule_dict(r) for r in rules]


def set_rules(
    config: Config, resource: str | int, raw: list[dict[str, Any]], *, replace: bool = True
) -> list[dict[str, Any]]:
    """Validate and store rules (all or nothing); ``replace`` drops the resource's current rules.
    Under the lock ``list_rules`` stores defaults with: a check started by a load just before
    must not add the defaults beside the rules set here."""
    with _defaults_lock, session_scope(config.database_url) as s:
        res = find_resource(s, resource)
        spec = resource_dict(res)
        rules = validate_rules(raw, spec["items"])
        for r in rules:
            if r.kind == "reference":
                find_resource(s, r.params["resource"])  # NotFound for an unknown resource
        if replace:
            for old in s.scalars(select(QualityRule).where(QualityRule.resource_id == res.id)):
                s.delete(old)
            s.flush()
        for r in rules:
            s.add(
                QualityRule(
                    resource_id=res.id,
                    item=r.item,
                    kind=r.kind,
                    params=r.params,
                    dimension=r.dimension,
                    origin=r.origin,
                    enabled=r.enabled,
                )
            )
    return list_rules(config, resource)


def _non_null_counts(table: LakeTable, version: int) -> tuple[int, dict[str, int]]:
    """Rows and non-null values per column, from the Delta log's file statistics (no scan)."""
    dt = DeltaTable(str(table.path), version=version)
    actions = pa.table(dt.get_add_actions(flatten=True))
    rows = int(pc.sum(actions["num_records"]).as_py() or 0)
    out = {}
    for name in actions.column_names:
        if name.startswith("null_count."):
            nulls = pc.sum(actions[name]).as_py() or 0
            out[name[len("null_count.") :]] = rows - int(nulls)
    return rows, out


VALUE_BLIND = ("not_null", "unique")  # checks that hold on ciphertext as on plain text


def _on_plain(rule: dict[str, Any], sealed: set[str]) -> RuleSpec:
    """The rule, reading the plain-text alias of any encrypted column whose values it inspects."""
    item, params = rule["item"], dict(rule["params"])
    if rule["kind"] not in VALUE_BLIND and item in sealed:
        item = cipher.plain_alias(item)
    if params.get("ric") in sealed:
        params["ric"] = cipher.plain_alias(params["ric"])
    return RuleSpec(item, rule["kind"], params)


def _plain_types(types: dict[str, str], sealed: set[str]) -> dict[str, str]:
    return {cipher.plain_alias(c): types[c] for c in sealed if c in types}


def run_quality(
    config: Config, resource: str | int, *, version: int | None = None
) -> dict[str, Any]:
    """Check one version (latest by default) against every enabled rule; store and return it."""
    started = time.perf_counter()
    rules = [r for r in list_rules(config, resource) if r["enabled"]]
    with session_scope(config.database_url) as s:
        res = find_resource(s, resource)
        spec = resource_dict(res)
        rid = res.id
        last_run = s.scalars(
            select(IngestRun)
            .where(IngestRun.resource_id == rid)
            .order_by(IngestRun.id.desc())
            .limit(10)
        ).all()
        last_success = next((r.finished_at for r in last_run if r.status == "succeeded"), None)
        recent = [r.status for r in last_run]
    table = LakeTable(config.lake_dir, rid)
    latest = table.latest_version()
    if latest is None:
        raise NotFound(
            "quality.no_data", "该资源还没有数据，无法检查", "The resource has no data to check"
        )
    use = latest if version is None else version
    dataset = table.dataset(use)
    types = {it["name"]: it["data_type"] for it in spec["items"]}
    present = set(dataset.schema.names)
    rules = [
        r for r in rules if r["item"] in present and r["params"].get("ric", r["item"]) in present
    ]
    keys = [k for k in spec["key_columns"] if k in present] or []
    con = duckdb.connect(":memory:")
    try:
        # Bounded memory whatever the version's size: DuckDB spills to the home's tmp folder.
        spill = config.home / "tmp" / "duckdb"
        spill.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET memory_limit = '{QUERY_MEMORY}'")
        con.execute("SET enable_progress_bar = false")  # a background check prints nothing
        con.execute(f"SET temp_directory = '{spill}'")
        # Encrypted (L4) columns stay ciphertext in ``t``: null and uniqueness checks and the
        # failing-rows file work on it as stored (equal values, equal ciphertexts); the ID checks
        # decrypt in NumPy (precheck); other checks on such a column read its plain-text alias.
        sealed = set(table.scan_view(con, "t", dataset, beside=True))
        V.prepare(con)
        # Row rules checked by the loads of every run in the version are looked up, not re-read
        # (``rowcheck``); the others are checked here, ID rules in NumPy on decrypted columns.
        runs = [r for (r,) in con.sql(f"SELECT DISTINCT {RUN_COLUMN} FROM t").fetchall()]
        prechecked = rowcheck.stored_failures(config, rid, runs, rules)
        prechecked.update(
            precheck(
                dataset,
                rules,
                lambda data: table.open(data, dataset.schema),
                skip=set(prechecked),
            )
        )
        flags = []
        for i, r in enumerate(rules):
            ref = None
            if r["kind"] == "reference":
                ref = f"ref_{i}"
                with session_scope(config.database_url) as s2:
                    ref_id = find_resource(s2, r["params"]["resource"]).id
                LakeTable(config.lake_dir, ref_id).scan_view(con, ref)
            if i in prechecked:
                con.register(f"pre_{i}", prechecked[i])
                expr = f"NOT ({ROW_KEY} IN (SELECT k FROM pre_{i}))"
            else:
                expr = rule_sql(_on_plain(r, sealed), {**types, **_plain_types(types, sealed)}, ref)
            flags.append(f"NOT coalesce({expr}, false) AS f_{i}")
        cols = sorted(
            {r["item"] for r in rules}
            | set(keys)
            | {r["params"]["ric"] for r in rules if "ric" in r["params"]}
        )
        select_cols = ", ".join([_q(c) for c in cols] + [LINE_COLUMN, RUN_COLUMN])
        sql = (
            f"SELECT * FROM (SELECT {select_cols}{', ' if flags else ''}{', '.join(flags)} FROM t)"
        )
        if flags:
            sql += " WHERE " + " OR ".join(f"f_{i}" for i in range(len(rules)))
        else:
            sql += " WHERE false"
        # The failing rows go straight to Parquet (DuckDB streams and spills), then counts and
        # samples are read back from that file: memory stays bounded however many rows fail.
        staged = spill / f"failing-{uuid.uuid4().hex}.parquet"
        try:
            con.execute(f"COPY ({sql}) TO '{staged}' (FORMAT PARQUET)")
            counts = con.sql(
                "SELECT count(*)"
                + "".join(f", coalesce(sum(f_{i}::INTEGER), 0)" for i in range(len(rules)))
                + f" FROM read_parquet('{staged}')"
            ).fetchall()[0]
            heads = [
                table.open(
                    con.sql(
                        f"SELECT * FROM read_parquet('{staged}') WHERE f_{i} ORDER BY {LINE_COLUMN} LIMIT 5"
                    ).to_arrow_table(),
                    dataset.schema,
                ).to_pylist()
                if counts[i + 1]
                else []
                for i in range(len(rules))
            ]
        except duckdb.Error as exc:
            staged.unlink(missing_ok=True)
            raise recover(exc) or InvalidInput(
                "quality.sql_error", f"规则执行失败：{exc}", f"Rules failed to run: {exc}"
            ) from exc
    finally:
        con.close()
    rows, non_null = _non_null_counts(table, use)
    sealed_keys, ring = table.encrypted_columns(use), table.keyring()
    rows_failed = int(counts[0])
    results = []
    for i, r in enumerate(rules):
        failed = int(counts[i + 1])
        checked = rows if r["kind"] == "not_null" else non_null.get(r["item"], rows)
        samples = [
            {
                "line": row[LINE_COLUMN],
                "key": {k: _kept(row.get(k), k, sealed_keys, ring) for k in keys},
                "value": _kept(row.get(r["item"]), r["item"], sealed_keys, ring),
            }
            for row in heads[i]
        ]
        results.append(
            {
                "rule_id": r["id"],
                "item": r["item"],
                "kind": r["kind"],
                "dimension": r["dimension"],
                "checked": int(checked),
                "failed": failed,
                "samples": samples,
            }
        )
    cells = rows * max(1, len(spec["items"]))
    filled = sum(non_null.get(it["name"], 0) for it in spec["items"])
    scores = score_version(
        results,
        completeness=filled / cells if cells else 1.0,
        update_cycle=spec["update_cycle"],
        last_success=last_success,
        recent_statuses=recent,
    )
    with session_scope(config.database_url) as s:
        qrun = QualityRun(
            resource_id=rid,
            lake_version=use,
            rows=rows,
            rows_failed=rows_failed,
            scores=scores,
            duration_ms=int((time.perf_counter() - started) * 1000),
        )
        qrun.results = [QualityResult(**{k: v for k, v in r.items()}) for r in results]
        s.add(qrun)
        s.flush()
        run_id = qrun.id
    path = quality_path(config, rid, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged.replace(path)
    return get_quality_run(config, run_id)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def quality_path(config: Config, resource_id: int, run_id: int) -> Path:
    return config.home / "quality" / f"r{resource_id}" / f"q{run_id}.parquet"


def _kept(value: Any, column: str, sealed: dict[str, str], keyring: cipher.Keyring | None) -> Any:
    """A sample value as the metadata database keeps it: encrypted, like the lake keeps it, when
    its column is encrypted there (``{"sm4": hex, "key": data key id}``)."""
    if value is None or column not in sealed:
        return _jsonable(value)
    return {"sm4": cipher.seal_text(keyring, sealed[column], str(value)), "key": sealed[column]}


def _shown(value: Any, keyring: cipher.Keyring | None) -> Any:
    """A stored sample value back in plain text (for the policy point to mask)."""
    if not isinstance(value, dict) or "sm4" not in value:
        return value
    return cipher.open_text(keyring, value["key"], value["sm4"])


def _opened_samples(samples: list[dict[str, Any]], keyring: cipher.Keyring | None) -> list[Any]:
    return [
        {
            **sample,
            "key": {k: _shown(v, keyring) for k, v in (sample.get("key") or {}).items()},
            "value": _shown(sample.get("value"), keyring),
        }
        for sample in samples or []
    ]


def quality_run_dict(q: QualityRun, keyring: cipher.Keyring | None = None) -> dict[str, Any]:
    return {
        "id": q.id,
        "resource_id": q.resource_id,
        "lake_version": q.lake_version,
        "rows": q.rows,
        "rows_failed": q.rows_failed,
        "scores": q.scores,
        "duration_ms": q.duration_ms,
        "created_at": q.created_at.isoformat() if q.created_at else None,
        "results": [
            {
                "rule_id": r.rule_id,
                "item": r.item,
                "kind": r.kind,
                "dimension": r.dimension,
                "checked": r.checked,
                "failed": r.failed,
                "pass_ratio": (1 - r.failed / r.checked) if r.checked else 1.0,
                "samples": _opened_samples(r.samples, keyring),
            }
            for r in q.results
        ],
    }


def get_quality_run(config: Config, run_id: int) -> dict[str, Any]:
    with session_scope(config.database_url) as s:
        q = s.get(QualityRun, run_id)
        if q is None:
            raise NotFound(
                "quality.run_not_found",
                f"质量检查 {run_id} 不存在",
                f"Quality run {run_id} not found",
            )
        return quality_run_dict(q, cipher.keyring_for(config.lake_dir))


def quality_history(
    config: Config, resource: str | int, *, version: int | None = None
) -> list[dict[str, Any]]:
    """Every quality run of a resource, oldest first (for the trend chart); of one lake
    ``version`` only, when given."""
    with session_scope(config.database_url) as s:
        res = find_resource(s, resource)
        stmt = select(QualityRun).where(QualityRun.resource_id == res.id)
        if version is not None:
            stmt = stmt.where(QualityRun.lake_version == version)
        runs = s.scalars(stmt.order_by(QualityRun.id)).all()
        keyring = cipher.keyring_for(config.lake_dir)
        return [quality_run_dict(q, keyring) for q in runs]


def failing_rows(
    config: Config, run_id: int, *, rule_id: int | None = None, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """Failing rows of a quality run (optionally of one rule), from its Parquet file."""
    run = get_quality_run(config, run_id)
    path = quality_path(config, run["resource_id"], run_id)
    index = None
    if rule_id is not None:
        ids = [r["rule_id"] for r in run["results"]]
        if rule_id not in ids:
            raise NotFound(
                "quality.rule_not_found",
                f"该检查没有规则 {rule_id}",
                f"Rule {rule_id} is not in this run",
            )
        index = ids.index(rule_id)
    con = duckdb.connect(":memory:")
    try:
        where = f"WHERE f_{index}" if index is not None else ""
        total = con.execute(
            f"SELECT count(*) FROM read_parquet(?) {where}", [str(path)]
        ).fetchall()[0][0]
        page = con.sql(
            f"SELECT * FROM read_parquet('{path}') {where} ORDER BY {LINE_COLUMN} LIMIT {int(limit)} OFFSET {int(offset)}"
        ).to_arrow_table()
    finally:
        con.close()
    lake = LakeTable(config.lake_dir, run["resource_id"])
    page = lake.open(page, lake.stored_schema(run["lake_version"]))
    rows = [{k: _jsonable(v) for k, v in row.items()} for row in page.to_pylist()]
    return {"total": int(total), "rows": rows}


def department_scores(config: Config) -> list[dict[str, Any]]:
    """Latest scores per resource, averaged per department, best first (the ranking)."""
    from collections import defaultdict

    from shuhai.db import Department

    with session_scope(config.database_url) as s:
        latest: dict[int, QualityRun] = {}
        for q in s.scalars(select(QualityRun).order_by(QualityRun.id)):
            latest[q.resource_id] = q
        by_dep: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for rid, q in latest.items():
            res = s.get(Resource, rid)
            if res is not None:
                by_dep[res.department_id].append(q.scores)
        out = []
        for dep in s.scalars(select(Department)):
            scores = by_dep.get(dep.id, [])
            if not scores:
                continue
            dims = {
                k: sum(sc[k] for sc in scores) / len(scores) for k in scores[0] if k != "overall"
            }
            overall = sum(sc["overall"] for sc in scores) / len(scores)
            out.append(
                {
                    "department": dep.name,
                    "code": dep.code,
                    "resources": len(scores),
                    "overall": overall,
                    **dims,
                }
            )
        return sorted(out, key=lambda d: -d["overall"])


__all__ = [
    "department_scores",
    "failing_rows",
    "get_quality_run",
    "list_rules",
    "quality_history",
    "rule_sql",
    "run_quality",
    "set_rules",
]
