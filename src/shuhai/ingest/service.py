"""Ingest (汇聚): one source into one resource as one atomic lake commit, with a run record.

``rows_in = rows_loaded + rows_quarantined`` for every run. A source that cannot be parsed at all is
rejected whole: the commit is never made, so the previous version stays the latest.

Example::

    run = ingest(config, "101001/GA-00001", "persons.csv", mode="upsert", key=["身份证号"])
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from queue import Full, Queue
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
from sqlalchemy import select

from shuhai.catalog.service import find_resource, resource_dict
from shuhai.config import Config
from shuhai.db import IngestRun, QuarantineSummary, Resource, session_scope
from shuhai.errors import (
    InvalidInput,
    NotFound,
    RejectedFile,
    ShuhaiError,
    StorageFull,
    out_of_space,
)
from shuhai.ingest.quarantine import QuarantineWriter, quarantine_path
from shuhai.ingest.readers import open_source, public_url
from shuhai.ingest.typing import Typer, make_plan, reason_text
from shuhai.lake import LINE_COLUMN, LakeTable
from shuhai.lake.cipher import keyring_for

log = logging.getLogger(__name__)

MODES = ("append", "replace", "upsert")
Progress = Callable[[dict[str, int | None]], None]  # rows, quarantined, bytes, total_bytes


class _NothingLoaded(Exception):
    """Every row was quarantined: no version is committed."""


def run_dict(run: IngestRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "resource_id": run.resource_id,
        "source": run.source,
        "source_kind": run.source_kind,
        "source_sha256": run.source_sha256,
        "encoding": run.encoding,
        "mode": run.mode,
        "status": run.status,
        "rows_in": run.rows_in,
        "rows_loaded": run.rows_loaded,
        "rows_quarantined": run.rows_quarantined,
        "lake_version": run.lake_version,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_ms": run.duration_ms,
        "error_code": run.error_code,
        "error": run.error_message,
        "warnings": (run.options or {}).get("warnings", []),
        "corrections": (run.options or {}).get("corrections"),
        "quarantine": [
            {"column": q.column, "reason_code": q.reason_code, "reason": q.reason, "count": q.count}
            for q in run.quarantine
        ],
    }


def ingest(
    config: Config,
    resource: str | int,
    source: str,
    *,
    mode: str = "append",
    key: list[str] | None = None,
    format: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    table: str | None = None,
    query: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Load ``source`` into ``resource``; return the run record (raises on a rejected source)."""
    if mode not in MODES:
        raise InvalidInput(
            "ingest.bad_mode",
            f"导入方式应为 {'/'.join(MODES)}",
            f"Mode must be one of {', '.join(MODES)}",
        )
    config.ensure_dirs()
    started = time.perf_counter()
    with session_scope(config.database_url) as s:
        res = find_resource(s, resource)
        spec = resource_dict(res)
        keys = list(key or spec["key_columns"])
        if mode == "upsert":
            names = {it["name"] for it in spec["items"]}
            if not keys:
                raise InvalidInput(
                    "ingest.no_key",
                    "按主键更新（upsert）需要 --key 或资源的主键信息项",
                    "Upsert needs --key or the resource's key columns",
                )
            unknown = [k for k in keys if k not in names]
            if unknown:
                raise InvalidInput(
                    "ingest.bad_key",
                    f"主键不是信息项：{'、'.join(unknown)}",
                    f"Key columns are not info items: {', '.join(unknown)}",
                )
        kind = format or ("sql" if table or query else None)
        run = IngestRun(
            resource_id=res.id,
            source=public_url(source)
            if (kind == "sql" or "://" in source)
            else str(Path(source).resolve()),
            source_kind=kind or "file",
            mode=mode,
            status="running",
            options={
                "key": keys,
                "sheet": sheet,
                "table": table,
                "query": query,
                "pid": os.getpid(),
                "host": socket.gethostname(),
            },
        )
        s.add(run)
        s.flush()
        run_id, resource_id = run.id, res.id
    lake = LakeTable(config.lake_dir, resource_id)
    qpath = quarantine_path(config.quarantine_dir, resource_id, run_id)
    counts: dict[tuple[str, str], int] = {}
    totals = {"in": 0, "good": 0, "bad": 0}
    writer: QuarantineWriter | None = None
    checkers: list[Any] = []
    rewriters: list[Any] = []
    stream = None
    try:
        stream = open_source(
            source,
            format=format,
            encoding=encoding,
            sheet=sheet,
            header_row=header_row,
            table=table,
            query=query,
            block_bytes=config.block_bytes,
            batch_rows=config.batch_rows,
        )
        plan = make_plan(
            spec["items"],
            stream.columns,
            max_cell_bytes=config.max_cell_bytes,
            required_extra=tuple(keys) if mode == "upsert" else (),
        )
        typer = Typer(plan, stream.columns, run_id)
        writer = QuarantineWriter(qpath, stream.columns, lake.keyring(), resource_id)
        from shuhai.plugins import get_plugin_manager

        hook = get_plugin_manager().hook
        rewriters = [
            c
            for c in hook.load_corrections(config=config, resource=spec, run_id=run_id)
            if c is not None
        ]
        checkers = [
            c
            for c in hook.load_checker(
                config=config, resource_id=resource_id, run_id=run_id, items=spec["items"]
            )
            if c is not None
        ]
        failure: list[BaseException] = []

        def typed_frames() -> Iterator[pl.DataFrame]:
            try:
                for tb in prefetch(stream.batches, depth=1):  # parsing runs a stage ahead of typing
                    totals["in"] += tb.num_rows
                    out = typer.apply(tb.batch, tb.lines, tb.absent)
                    for k, v in out.counts.items():
                        counts[k] = counts.get(k, 0) + v
                    if out.bad is not None:
                        writer.write(out.bad)
                        totals["bad"] += out.bad.num_rows
                    if progress:
                        progress(
                            {
                                "rows": totals["in"] + len(stream.rejects),
                                "quarantined": totals["bad"] + len(stream.rejects),
                                "bytes": stream.bytes_read,
                                "total_bytes": stream.total_bytes,
                            }
                        )
                    if out.good is not None:
                        good = out.good
                        totals["good"] += good.height
                        for rewriter in rewriters:  # corrections in force go back on top
                            good = rewriter.apply(good)
                        for checker in checkers:  # row rules, on the plain text (入湖即检)
                            checker.check(good)
                        yield good
                _finish_rejects(stream, writer, counts, totals)
                if totals["in"] == 0:
                    raise RejectedFile(
                        "ingest.no_rows",
                        "文件只有表头，没有数据行",
                        "The source has a header but no data rows",
                    )
                if totals["good"] == 0:
                    raise _NothingLoaded()
            except BaseException as exc:
                failure.append(exc)
                raise

        frames = prefetch(typed_frames(), depth=2)
        try:
            if mode == "upsert":
                version = _upsert(
                    config,
                    lake,
                    frames,
                    plan.schema,
                    keys,
                    run_id,
                    writer,
                    counts,
                    totals,
                    stream.columns,
                )
            else:
                version = lake.write_frames(frames, schema=plan.schema, mode=mode, run_id=run_id)
        except Exception as exc:
            if failure and failure[0] is not exc:
                raise failure[0] from exc
            raise
        writer.close()
        for checker in checkers:
            checker.commit()
        checkers = []
        steps = {}
        for rewriter in rewriters:
            steps.update(rewriter.commit())
        rewriters = []
        status = "succeeded"
        _finish(
            config,
            run_id,
            stream,
            status,
            totals,
            counts,
            version,
            started,
            plan.warnings,
            {"corrections": steps} if steps else {},
        )
    except _NothingLoaded:
        if writer:
            writer.close()
        _finish(config, run_id, stream, "quarantined", totals, counts, None, started, [])
    except ShuhaiError as exc:
        if writer:
            writer.close()
        _fail(config, run_id, resource_id, stream, "rejected", exc, started)
        raise
    except Exception as exc:
        if writer:
            _close_quietly(writer)
        if out_of_space(exc):
            log.warning("ingest run %s: disk full: %s", run_id, exc)
            full = StorageFull(
                "ingest.disk_full",
                "磁盘空间已满，本次导入未产生新版本，已有版本不受影响；请清理或扩容存储后重新导入"
                f"（{config.home}）",
                "The disk is full: this load made no version and the versions already stored are"
                f" untouched; free or add storage, then load again ({config.home})",
            )
            try:
                _fail(config, run_id, resource_id, stream, "failed", full, started)
            except Exception:  # noqa: BLE001 - the metadata's disk may be the full one
                log.warning("run %s could not be marked failed", run_id, exc_info=True)
            raise full from exc
        log.exception("ingest run %s failed", run_id)
        error = ShuhaiError(
            "ingest.failed", f"导入失败：{exc}", f"Ingest failed: {exc}", status=500
        )
        _fail(config, run_id, resource_id, stream, "failed", error, started)
        raise error from exc
    finally:
        for checker in checkers:  # the run made no version: its verdicts are dropped
            checker.discard()
        for rewriter in rewriters:
            rewriter.discard()
    result = get_run(config, run_id)
    if result["lake_version"] is not None:
        from shuhai.plugins import get_plugin_manager

        get_plugin_manager().hook.after_ingest(config=config, run=result)
    return result


def _close_quietly(writer: QuarantineWriter) -> None:
    """Close the quarantine file of a failed run; on a full disk closing fails too (the file is
    removed with the run's other traces by ``_fail``)."""
    try:
        writer.close()
    except OSError:
        log.warning("quarantine file of a failed run could not be closed", exc_info=True)


def prefetch(batches: Iterator[pa.RecordBatch], depth: int) -> Iterator[pa.RecordBatch]:
    """Run reading and typing in a worker thread, ``depth`` batches ahead of the lake writer.

    Parsing, Polars and the Delta writer release the GIL, so reading/typing overlap with writing.
    An exception in the worker is re-raised in the consumer; a consumer that stops early stops the
    worker.
    """
    queue: Queue[Any] = Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        queue.put(batch, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            queue.put(exc)

    worker = threading.Thread(target=work, name="shuhai-ingest", daemon=True)
    worker.start()
    try:
        while True:
            item = queue.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=30)


def _finish_rejects(
    stream: Any,
    writer: QuarantineWriter,
    counts: dict[tuple[str, str], int],
    totals: dict[str, int],
) -> None:
    if stream.rejects:
        writer.write_rejects(stream.rejects)
        for r in stream.rejects:
            counts[("*", r.reason_code)] = counts.get(("*", r.reason_code), 0) + 1
        totals["in"] += len(stream.rejects)
        totals["bad"] += len(stream.rejects)
        stream.rejects.clear()


def _upsert(
    config: Config,
    lake: LakeTable,
    frames: Iterator[pl.DataFrame],
    schema: pa.Schema,
    keys: list[str],
    run_id: int,
    writer: QuarantineWriter,
    counts: dict[tuple[str, str], int],
    totals: dict[str, int],
    header: list[str],
) -> int:
    """Stage typed rows, quarantine keys repeated in the source (the last one wins), then merge."""
    stage = config.home / "tmp" / f"run{run_id}"
    stage.mkdir(parents=True, exist_ok=True)
    try:
        for n, frame in enumerate(frames):
            frame.write_parquet(stage / f"part{n:05d}.parquet")
        staged = stage / "*.parquet"
        con = duckdb.connect(str(stage / "stage.duckdb"))
        try:
            key_sql = ", ".join(f'"{k}"' for k in keys)
            con.execute(
                f"CREATE TABLE ranked AS SELECT *, row_number() OVER (PARTITION BY {key_sql} ORDER BY {LINE_COLUMN} DESC) AS __rn "
                f"FROM read_parquet('{staged}')"
            )
            dup = con.sql("SELECT * EXCLUDE (__rn) FROM ranked WHERE __rn > 1").to_arrow_table()
            if dup.num_rows:
                text = {
                    h: (
                        dup.column(h).cast(pa.string())
                        if h in dup.column_names
                        else pa.nulls(dup.num_rows, pa.string())
                    )
                    for h in header
                }
                text[LINE_COLUMN] = dup.column(LINE_COLUMN)
                text["_reasons"] = pa.array(
                    [reason_text("duplicate_key", ",".join(keys))] * dup.num_rows, pa.string()
                )
                writer.write(pa.table(text))
                counts[(",".join(keys), "duplicate_key")] = dup.num_rows
                totals["good"] -= dup.num_rows
                totals["bad"] += dup.num_rows
            source = con.sql("SELECT * EXCLUDE (__rn) FROM ranked WHERE __rn = 1").to_arrow_reader(
                config.batch_rows
            )
            schema_reader = pa.RecordBatchReader.from_batches(
                schema, (b.cast(schema) for b in source)
            )
            return lake.upsert(schema_reader, run_id=run_id, key_columns=keys)
        finally:
            con.close()
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _summary_rows(run_id: int, counts: dict[tuple[str, str], int]) -> list[QuarantineSummary]:
    return [
        QuarantineSummary(
            run_id=run_id, column=col, reason_code=code, reason=reason_text(code), count=n
        )
        for (col, code), n in sorted(counts.items())
    ]


def _finish(
    config: Config,
    run_id: int,
    stream: Any,
    status: str,
    totals: dict[str, int],
    counts: dict[tuple[str, str], int],
    version: int | None,
    started: float,
    warnings: list[str],
    steps: dict[str, Any] | None = None,
) -> None:
    with session_scope(config.database_url) as s:
        run = s.get(IngestRun, run_id)
        assert run is not None
        run.status = status
        run.rows_in, run.rows_loaded, run.rows_quarantined = (
            totals["in"],
            totals["good"],
            totals["bad"],
        )
        run.lake_version = version
        run.source_sha256 = stream.sha256 if stream else None
        run.encoding = stream.encoding if stream else None
        run.source_kind = stream.kind if stream else run.source_kind
        run.finished_at = datetime.now(UTC)
        run.duration_ms = int((time.perf_counter() - started) * 1000)
        run.options = {**(run.options or {}), "warnings": warnings, **(steps or {})}
        s.add_all(_summary_rows(run_id, counts))
        if version is not None:
            res = s.get(Resource, run.resource_id)
            assert res is not None
            res.lake_version = version
            res.row_count = LakeTable(config.lake_dir, run.resource_id).count(version)
    if totals["in"] != totals["good"] + totals["bad"]:  # the invariant; never expected to trip
        log.error(
            "run %s: rows_in %s != loaded %s + quarantined %s",
            run_id,
            totals["in"],
            totals["good"],
            totals["bad"],
        )


def _fail(
    config: Config,
    run_id: int,
    resource_id: int,
    stream: Any,
    status: str,
    error: ShuhaiError,
    started: float,
) -> None:
    """Record a run that made no version; its partial quarantine file is removed."""
    with session_scope(config.database_url) as s:
        run = s.get(IngestRun, run_id)
        assert run is not None
        run.status = status
        run.error_code, run.error_message = error.code, error.message[:2000]
        run.rows_in, run.rows_loaded, run.rows_quarantined = 0, 0, 0
        run.source_sha256 = stream.sha256 if stream else None
        run.encoding = stream.encoding if stream else None
        run.finished_at = datetime.now(UTC)
        run.duration_ms = int((time.perf_counter() - started) * 1000)
    quarantine_path(config.quarantine_dir, resource_id, run_id).unlink(missing_ok=True)


def get_run(config: Config, run_id: int) -> dict[str, Any]:
    with session_scope(config.database_url) as s:
        run = s.get(IngestRun, run_id)
        if run is None:
            raise NotFound(
                "ingest.run_not_found",
                f"导入记录 {run_id} 不存在",
                f"Ingest run {run_id} not found",
            )
        return run_dict(run)


def list_runs(
    config: Config, resource: str | int | None = None, *, limit: int = 100
) -> list[dict[str, Any]]:
    with session_scope(config.database_url) as s:
        stmt = select(IngestRun).order_by(IngestRun.id.desc()).limit(limit)
        if resource is not None:
            stmt = stmt.where(IngestRun.resource_id == find_resource(s, resource).id)
        return [run_dict(r) for r in s.scalars(stmt)]


def quarantine_rows(
    config: Config, run_id: int, *, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    from shuhai.ingest.quarantine import read_quarantine

    run = get_run(config, run_id)
    return read_quarantine(
        quarantine_path(config.quarantine_dir, run["resource_id"], run_id),
        limit=limit,
        offset=offset,
        keyring=keyring_for(config.lake_dir),
    )


def recover_interrupted(config: Config) -> int:
    """Mark runs left 'running' by a process of this host that no longer exists as 'interrupted'.

    Such a run never committed (commits are atomic), so the lake is unchanged; this keeps the
    metadata honest after a crash or a kill.
    """
    import psutil

    host = socket.gethostname()
    fixed = 0
    with session_scope(config.database_url) as s:
        for run in s.scalars(select(IngestRun).where(IngestRun.status == "running")):
            opts = run.options or {}
            if (
                opts.get("host") == host
                and opts.get("pid")
                and not psutil.pid_exists(int(opts["pid"]))
            ):
                run.status = "interrupted"
                run.error_code = "ingest.interrupted"
                run.error_message = (
                    "导入进程意外终止，未产生新版本 / The ingest process died; no version was made"
                )
                run.finished_at = datetime.now(UTC)
                fixed += 1
    return fixed


def platform_stats(config: Config) -> dict[str, Any]:
    """Live figures for the home page: departments, resources, rows, versions, quarantined rows."""
    from sqlalchemy import func

    from shuhai.db import Department

    with session_scope(config.database_url) as s:
        runs_ok = select(IngestRun).where(IngestRun.lake_version.is_not(None)).subquery()
        return {
            "departments": s.scalar(select(func.count()).select_from(Department)) or 0,
            "resources": s.scalar(select(func.count()).select_from(Resource)) or 0,
            "resources_loaded": s.scalar(
                select(func.count()).select_from(Resource).where(Resource.lake_version.is_not(None))
            )
            or 0,
            "rows": int(s.scalar(select(func.coalesce(func.sum(Resource.row_count), 0))) or 0),
            "versions": s.scalar(select(func.count()).select_from(runs_ok)) or 0,
            "runs": s.scalar(select(func.count()).select_from(IngestRun)) or 0,
            "rows_quarantined": int(
                s.scalar(select(func.coalesce(func.sum(IngestRun.rows_quarantined), 0))) or 0
            ),
        }


def quarantine_summary(config: Config, resource: str | int) -> list[dict[str, Any]]:
    """Quarantined rows of a resource per run, column and reason."""
    with session_scope(config.database_url) as s:
        res = find_resource(s, resource)
        rows = s.execute(
            select(QuarantineSummary, IngestRun.id)
            .join(IngestRun, QuarantineSummary.run_id == IngestRun.id)
            .where(IngestRun.resource_id == res.id)
            .order_by(IngestRun.id.desc(), QuarantineSummary.count.desc())
        ).all()
        return [
            {
                "run_id": run_id,
                "column": q.column,
                "reason_code": q.reason_code,
                "reason": q.reason,
                "count": q.count,
            }
            for q, run_id in rows
        ]


__all__ = [
    "MODES",
    "get_run",
    "ingest",
    "list_runs",
    "platform_stats",
    "quarantine_rows",
    "quarantine_summary",
    "run_dict",
]
