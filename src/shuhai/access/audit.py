"""The tamper-evident audit trail (审计日志): an SM3 hash chain with signed Merkle checkpoints.

Each entry's hash is SM3(previous hash ‖ canonical entry), the canonical entry being its fields
joined by the unit separator (U+001F) in a fixed order. Appending locks the chain's head row, so
entries written by several processes still form one chain. Every ``CHECKPOINT_EVERY`` entries, at
least every ``audit_checkpoint_seconds`` (a setting) while entries are being added, when a process that wrote entries
exits (and on demand) the entries' hashes are folded into an RFC 6962 Merkle tree whose root is
signed with the platform's SM2 key (签名检查点). Each checkpoint is also appended to
``audit/checkpoints.jsonl`` in the home, outside the database, so deleting checkpoint rows together
with the entries they anchor is seen too. ``verify`` walks the chain and the checkpoints, names the
first entry that was edited, deleted or moved, and reports how many entries after the last
checkpoint are not anchored yet (未锚定).

Entries are kept at least ``RETENTION_DAYS`` (等保 2.0: six months).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import delete, func, insert, select, update

from shuhai.access.crypto import SM2Key
from shuhai.config import Config
from shuhai.db import AuditCheckpoint, AuditEntry, AuditHead, get_engine, session_scope
from shuhai.errors import InvalidInput

log = logging.getLogger(__name__)
GENESIS = "0" * 64
SEP = "\x1f"
FIELDS = ("seq", "at", "actor", "department", "action", "resource", "outcome", "detail")
CHECKPOINT_EVERY = 10_000
RETENTION_DAYS = 180
_CONTROL = {i: None for i in range(32)}  # control characters never enter a canonical field


def canonical(values: Iterable[Any]) -> bytes:
    """The bytes an entry's hash covers: its fields, cleaned of control characters, joined."""
    return SEP.join(_clean(v, 1 << 30) for v in values).encode()


def _clean(value: Any, limit: int) -> str:
    text = str(value if value is not None else "")
    if not text.isprintable():  # fast path: most values have no control character
        text = text.translate(_CONTROL)
    return text[:limit]


def _entry(e: dict[str, Any], now: str) -> dict[str, Any]:
    detail = e.get("detail") or ""
    if not isinstance(detail, str):
        detail = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    return {
        "at": _clean(e.get("at") or now, 32),
        "actor": _clean(e.get("actor") or "anonymous", 100),
        "department": _clean(e.get("department"), 100),
        "action": _clean(e.get("action"), 60),
        "resource": _clean(e.get("resource"), 200),
        "outcome": _clean(e.get("outcome") or "ok", 12),
        "detail": _clean(detail, 4000),
    }


def append(config: Config, entries: list[dict[str, Any]]) -> int:
    """Append entries to the chain in one transaction; returns the last sequence number."""
    if not entries:
        return 0
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    rows = [_entry(e, now) for e in entries]
    for r in rows:
        if not r["action"]:
            raise InvalidInput(
                "audit.no_action", "审计记录缺少操作", "An audit entry needs an action"
            )
    engine = get_engine(config.database_url)
    with engine.begin() as conn:
        # Lock the head (a no-op update takes the row lock on PostgreSQL and the write lock on
        # SQLite), then read it: appenders queue here and the chain stays one chain.
        locked = conn.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
        if locked.rowcount == 0:
            conn.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))
        seq, prev = conn.execute(
            select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)
        ).one()
        out = []
        for r in rows:
            seq += 1
            body = canonical((seq, *(r[f] for f in FIELDS[1:])))
            digest = hashlib.new("sm3", bytes.fromhex(prev) + body).hexdigest()
            out.append({"seq": seq, **r, "prev_hash": prev, "hash": digest})
            prev = digest
        _insert_many(conn, out)
        conn.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
    if seq // CHECKPOINT_EVERY > (seq - len(rows)) // CHECKPOINT_EVERY:
        checkpoint(config)
    else:
        _writer(config).unanchored = True  # a direct append is anchored at exit like the rest
    return int(seq)


_COLUMNS = (*FIELDS, "prev_hash", "hash")


def _insert_many(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Bulk insert through the driver's executemany (SQLAlchemy's per-row overhead is most of
    the cost of an append otherwise)."""
    raw = conn.connection.dbapi_connection
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO audit_entries ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_COLUMNS))})"
    )
    cur = raw.cursor()
    try:
        cur.executemany(sql, [tuple(r[c] for c in _COLUMNS) for r in rows])
    finally:
        cur.close()


def record(config: Config, action: str, **fields: Any) -> None:
    """Queue one entry; a background writer appends queued entries in batches (milliseconds)."""
    _writer(config).put({"action": action, **fields})


class _Writer:
    """Batches entries from request handlers: one transaction per batch keeps the API fast."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.idle = threading.Event()
        self.idle.set()
        self.unanchored = False  # entries written since this process's last checkpoint
        self.anchored_at = time.monotonic()
        self.failing = False
        self.thread = threading.Thread(target=self._run, name="shuhai-audit", daemon=True)
        self.thread.start()

    def put(self, entry: dict[str, Any]) -> None:
        self.idle.clear()
        self.queue.put(entry)

    def anchor(self, *, exiting: bool = False) -> None:
        """Sign a checkpoint over what this process wrote, if it wrote anything since the last."""
        if not self.unanchored:
            return
        if exiting and not Path(self.config.home).exists():
            return  # the home was removed (a test's temporary home): nothing left to anchor
        try:
            checkpoint(self.config)
        except Exception as exc:  # noqa: BLE001 - the next period tries again
            if not (exiting or self.failing):  # said once until a checkpoint succeeds again
                log.error("audit checkpoint failed: %s", exc)
            self.failing = True
            self.anchored_at = time.monotonic()  # the next try waits a whole period
            return
        self.unanchored, self.anchored_at, self.failing = False, time.monotonic(), False

    def _run(self) -> None:
        while True:
            period = float(self.config.audit_checkpoint_seconds)
            wait = max(0.05, period - (time.monotonic() - self.anchored_at))
            try:
                first = self.queue.get(timeout=wait if self.unanchored else None)
            except queue.Empty:
                self.anchor()
                continue
            batch = [first] if first is not None else []
            while len(batch) < 5000:
                try:
                    item = self.queue.get(timeout=0.005)
                except queue.Empty:
                    break
                if item is not None:
                    batch.append(item)
            for attempt in range(5):
                if not batch:
                    break
                try:
                    append(self.config, batch)
                    self.unanchored = True
                    break
                except Exception as exc:  # noqa: BLE001 - retried, then reported
                    if attempt == 4:
                        log.error(
                            "audit entries could not be written: %s (%d lost)", exc, len(batch)
                        )
                    else:
                        time.sleep(0.05 * 2**attempt)
            if time.monotonic() - self.anchored_at >= period:
                self.anchor()
            if self.queue.empty():
                self.idle.set()

    def flush(self, timeout: float = 10.0) -> None:
        self.idle.wait(timeout)


_writers: dict[str, _Writer] = {}
_writers_lock = threading.Lock()


def _writer(config: Config) -> _Writer:
    with _writers_lock:
        w = _writers.get(config.database_url)
        if w is None:
            w = _writers[config.database_url] = _Writer(config)
        return w


def flush(config: Config | None = None, *, anchor: bool = False, exiting: bool = False) -> None:
    """Wait until queued entries are written (tests, shutdown); ``anchor`` also signs a
    checkpoint over them (a server stopping, a command ending)."""
    for url, w in list(_writers.items()):
        if config is None or url == config.database_url:
            w.flush()
            if anchor:
                w.anchor(exiting=exiting)


@atexit.register
def _at_exit() -> None:
    flush(anchor=True, exiting=True)


# --- checkpoints ----------------------------------------------------------------------------


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 Merkle Tree Hash with SM3: leaf = H(0x00 ‖ d), node = H(0x01 ‖ left ‖ right)."""
    if not leaves:
        return hashlib.new("sm3", b"").digest()
    level = [hashlib.new("sm3", b"\x00" + d).digest() for d in leaves]
    return _mth(level)


def _mth(nodes: list[bytes]) -> bytes:
    if len(nodes) == 1:
        return nodes[0]
    k = 1
    while k * 2 < len(nodes):
        k *= 2
    return hashlib.new("sm3", b"\x01" + _mth(nodes[:k]) + _mth(nodes[k:])).digest()


def signing_key(config: Config) -> SM2Key:
    """The platform's audit key: generated once, kept in the home with owner-only permissions."""
    path = Path(config.home) / "keys" / "audit_sm2.key"
    if path.exists():
        return SM2Key.from_private(bytes.fromhex(path.read_text().strip()))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = SM2Key.generate()
    assert key.private is not None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.private.hex())
    return key


def _checkpoint_message(first: int, last: int, root: str, chain: str) -> bytes:
    """What a checkpoint signs: the range, its Merkle root and the chain hash at its last entry."""
    return f"shuhai-audit|{first}|{last}|{root}|{chain}".encode()


def checkpoints_file(config: Config) -> Path:
    """The copy of every checkpoint kept outside the metadata database."""
    return Path(config.home) / "audit" / "checkpoints.jsonl"


def checkpoint(config: Config) -> dict[str, Any] | None:
    """Sign the Merkle root of the entries since the last checkpoint (None if there are none)."""
    key = signing_key(config)
    with session_scope(config.database_url) as s:
        # the head's lock: two processes signing at once would sign overlapping ranges
        s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
        last = s.scalar(select(func.max(AuditCheckpoint.last_seq))) or 0
        hashes = (
            s.execute(select(AuditEntry.hash).where(AuditEntry.seq > last).order_by(AuditEntry.seq))
            .scalars()
            .all()
        )
        if not hashes:
            return None
        first, end = last + 1, last + len(hashes)
        root = merkle_root([bytes.fromhex(h) for h in hashes]).hex()
        cp = AuditCheckpoint(
            first_seq=first,
            last_seq=end,
            root=root,
            signature=key.sign(_checkpoint_message(first, end, root, hashes[-1])).hex(),
            public_key=key.public.hex(),
            chain_hash=hashes[-1],
        )
        s.add(cp)
        s.flush()
        made = {
            "first_seq": first,
            "last_seq": end,
            "root": root,
            "chain_hash": hashes[-1],
            "signature": cp.signature,
        }
        _keep_outside(config, made)
        return {"id": cp.id, "first_seq": first, "last_seq": end, "root": root}


def _keep_outside(config: Config, cp: dict[str, Any]) -> None:
    path = checkpoints_file(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as f:
        f.write(json.dumps(cp, sort_keys=True) + "\n")


def _kept_outside(config: Config) -> list[dict[str, Any]]:
    path = checkpoints_file(config)
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line cut by a crash while it was written
    return out


def purge(config: Config, *, older_than_days: int = RETENTION_DAYS) -> dict[str, Any]:
    """Delete entries past retention, whole checkpoint ranges only (never younger than
    ``RETENTION_DAYS``); the checkpoints stay, so the trail still verifies from its new start."""
    if older_than_days < RETENTION_DAYS:
        raise InvalidInput(
            "audit.retention",
            f"审计记录至少保留 {RETENTION_DAYS} 天",
            f"Audit entries are kept at least {RETENTION_DAYS} days",
        )
    cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat()
    with session_scope(config.database_url) as s:
        upto = 0
        for cp in s.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.last_seq)):
            newest = s.scalar(select(AuditEntry.at).where(AuditEntry.seq == cp.last_seq))
            if newest is None:
                upto = cp.last_seq  # already purged
                continue
            if newest >= cutoff:
                break
            upto = cp.last_seq
        gone = s.execute(delete(AuditEntry).where(AuditEntry.seq <= upto)).rowcount if upto else 0
    return {"purged_through": upto, "entries": int(gone or 0)}


# --- verification ---------------------------------------------------------------------------


@dataclass
class Finding:
    """The first place the trail stops being what was written."""

    seq: int
    kind: str  # edited | deleted | reordered | truncated | bad_checkpoint
    message: str


def _fetch(url: str, first: int, last: int) -> pl.DataFrame:
    """Entries ``first``..``last`` in sequence order as a frame: through ADBC (Arrow, no Python
    object per value) for SQLite and PostgreSQL, the SQLAlchemy driver otherwise."""
    cols = ", ".join((*FIELDS, "prev_hash", "hash"))
    sql = (
        f"SELECT {cols} FROM audit_entries WHERE seq >= {int(first)} AND seq <= {int(last)} "
        "ORDER BY seq"
    )
    engine = get_engine(url)
    table = None
    try:
        if engine.dialect.name == "sqlite" and engine.url.database:
            import adbc_driver_sqlite.dbapi as adbc

            conn = adbc.connect(engine.url.database, autocommit=True)
        elif engine.dialect.name == "postgresql":
            import adbc_driver_postgresql.dbapi as adbc

            conn = adbc.connect(engine.url.set(drivername="postgresql").render_as_string(False))
        else:
            conn = None
        if conn is not None:
            with conn, conn.cursor() as cur:
                if engine.dialect.name == "sqlite":  # readers opening at once wait, not fail
                    cur.execute("PRAGMA busy_timeout = 10000")
                cur.execute(sql)
                table = cur.fetch_arrow_table()
    except ImportError:
        table = None
    if table is not None:
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame
    with engine.connect() as c:
        rows = c.exec_driver_sql(sql).all()
    return pl.DataFrame(
        [tuple(r) for r in rows], schema=[*FIELDS, "prev_hash", "hash"], orient="row"
    )


def _check_range(url: str, first: int, last: int, ends: set[int]) -> dict[str, Any]:
    """Check one run of entries on its own: sequence, links between neighbours, each entry's
    hash from its stored predecessor. Runs are checked in parallel and stitched by ``verify``."""
    frame = _fetch(url, first, last)
    out: dict[str, Any] = {"count": frame.height, "finding": None, "ends": {}, "checked": 0}
    if not frame.height:
        return out
    seqs = frame["seq"].cast(pl.Int64)
    out["head"] = (int(seqs[0]), frame["prev_hash"][0])
    out["tail"] = (int(seqs[-1]), frame["hash"][-1])
    # One pass of Polars over the chunk: sequence gaps and broken links (the first row where
    # either happens), each entry's canonical body, and the hashes as bytes.
    # Stored fields are written clean of control characters, so the separator never occurs in
    # one; a field edited to hold it adds a separator and cannot match any canonical entry.
    fields = [pl.col("seq").cast(pl.String), *[pl.col(f).fill_null("") for f in FIELDS[1:]]]
    work = frame.select(
        (pl.col("seq").diff() != 1).fill_null(False).alias("gap"),
        (pl.col("prev_hash") != pl.col("hash").shift(1)).fill_null(False).alias("moved"),
        pl.concat_str(fields, separator=SEP).cast(pl.Binary).alias("body"),
        pl.col("prev_hash").str.decode("hex", strict=False).alias("prev"),
        pl.col("hash").str.decode("hex", strict=False).alias("digest"),
    ).to_arrow()
    bad_rows = np.flatnonzero(
        work["gap"].to_numpy(zero_copy_only=False) | work["moved"].to_numpy(zero_copy_only=False)
    )
    limit = int(bad_rows[0]) if len(bad_rows) else frame.height
    finding: Finding | None = None
    if limit < frame.height:
        i = limit
        if work["gap"][i].as_py():
            finding = _gap(int(seqs[i - 1]) + 1, int(seqs[i]))
        else:
            finding = _moved(int(seqs[i]))
    # what each hash covers, previous hash ‖ body, joined in Arrow; SM3 over the whole chunk in
    # one compiled call without the GIL (``sm3batch``); digests compared as arrays
    joined = pc.binary_join_element_wise(
        work["prev"].slice(0, limit).cast(pa.large_binary()),
        work["body"].slice(0, limit).cast(pa.large_binary()),
        pa.scalar(b"", pa.large_binary()),
    )
    from shuhai.access.sm3batch import sm3_many  # Numba loads here, not when a server starts

    digests = sm3_many(joined)  # an unreadable previous hash hashes as b"": no match
    good = _same_digests(digests, work["digest"].slice(0, limit).cast(pa.large_binary()))
    if not good.all():
        i = int(np.argmin(good))
        q = int(seqs[i])
        finding = Finding(
            q, "edited", f"第 {q} 条内容与哈希不符：记录被修改 / entry {q} was edited"
        )
        limit = i
    out["finding"] = None if finding is None else finding.__dict__
    out["checked"] = limit
    base = int(seqs[0])
    stored = frame["hash"]
    out["ends"] = {q: stored[q - base] for q in ends if base <= q < base + limit}
    return out


def _same_digests(digests: np.ndarray, stored: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Row by row, whether a computed digest equals the stored one (an unreadable or
    wrong-length stored hash never does)."""
    if isinstance(stored, pa.ChunkedArray):
        stored = stored.combine_chunks()
    n = len(stored)
    lengths = pc.fill_null(pc.binary_length(stored), 0).to_numpy(zero_copy_only=False)
    if stored.null_count == 0 and (lengths == 32).all():
        _v, offsets, data = stored.buffers()
        start = int(np.frombuffer(offsets, dtype=np.int64)[stored.offset])
        table = np.frombuffer(data, dtype=np.uint8)[start : start + 32 * n].reshape(n, 32)
        return np.asarray((digests == table).all(axis=1))
    return np.array(
        [v is not None and bytes(d) == v for d, v in zip(digests, stored.to_pylist(), strict=True)]
    )


def _gap(expected: int, found: int) -> Finding:
    kind = "deleted" if found > expected else "reordered"
    return Finding(
        expected,
        kind,
        f"第 {expected} 条之后序号跳到 {found}：记录被删除或移动 / entry {expected} is missing "
        f"(next is {found})",
    )


def _moved(seq: int) -> Finding:
    return Finding(
        seq,
        "reordered",
        f"第 {seq} 条的前序哈希与第 {seq - 1} 条不符：记录被移动或删除 / entry {seq} does not "
        "follow the previous one",
    )


PARALLEL_FROM = 5_000_000  # entries; below this, starting worker processes costs more than it saves
CHUNK = 50_000  # entries read and checked at a time within one process
THREADS = 3


def _check_span(url: str, low: int, high: int, ends: set[int]) -> list[dict[str, Any]]:
    """One worker process's share of the trail, chunk by chunk."""
    return list(_pipelined(url, low, high, ends))


def _pipelined(url: str, low: int, high: int, ends: set[int]) -> Iterable[dict[str, Any]]:
    """Chunks checked by ``THREADS`` threads, a few chunks in memory at a time: the database
    reads and the Arrow/Polars work release the GIL, so they overlap the hashing."""
    from concurrent.futures import ThreadPoolExecutor

    starts = list(range(low, high + 1, CHUNK))
    ahead = THREADS + 1
    with ThreadPoolExecutor(THREADS) as pool:
        pending = [
            pool.submit(_check_range, url, a, min(high, a + CHUNK - 1), ends)
            for a in starts[:ahead]
        ]
        for k in range(len(starts)):
            result = pending.pop(0).result()
            if k + ahead < len(starts):
                a = starts[k + ahead]
                pending.append(pool.submit(_check_range, url, a, min(high, a + CHUNK - 1), ends))
            yield result


def verify(config: Config, *, merkle: bool = False, workers: int | None = None) -> dict[str, Any]:
    """Check the chain and the checkpoints; report the first edited, deleted or moved entry.

    Every entry's hash is recomputed from its stored predecessor and every link between
    neighbours compared, so runs of entries can be checked in parallel (one process per core
    for long trails). Each checkpoint's SM2 signature covers its Merkle root and the chain hash
    at its last entry, so a valid signature over a verified chain proves the range unchanged;
    ``merkle=True`` also recomputes every Merkle root (what inclusion proofs rely on).
    """
    with session_scope(config.database_url) as s:
        head = s.get(AuditHead, 1)
        checkpoints = s.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.first_seq)).all()
        cps = [
            (c.first_seq, c.last_seq, c.root, c.signature, c.public_key, c.chain_hash)
            for c in checkpoints
        ]
        bounds = s.execute(select(func.min(AuditEntry.seq), func.max(AuditEntry.seq))).one()
    all_cps = list(cps)
    low, high = int(bounds[0] or 1), int(bounds[1] or 0)
    ends = {last for _first, last, *_ in cps}
    n = max(0, high - low + 1)
    parts = max(1, workers or (os.cpu_count() or 1)) if n >= PARALLEL_FROM else 1
    step = -(-n // parts) if n else 1
    ranges = (
        [(low + k * step, min(high, low + (k + 1) * step - 1)) for k in range(parts)] if n else []
    )
    if len(ranges) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            len(ranges), mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            spans = pool.map(
                _check_span,
                *zip(*[(config.database_url, a, b, ends) for a, b in ranges], strict=True),
            )
            results = [r for span in spans for r in span]
    else:
        results = list(_pipelined(config.database_url, low, high, ends) if n else [])
    finding: Finding | None = None
    checked, expected_seq, expected_prev = 0, 1, GENESIS
    purged = [c for c in cps if c[1] < low]  # ranges whose entries retention removed
    if low > 1:
        # The trail starts after a purge: it must start right after a signed checkpoint, whose
        # signature vouches for the chain hash the first remaining entry follows.
        anchor = next((c for c in purged if c[1] == low - 1), None)
        if anchor is None:
            start = max((c[1] for c in purged), default=0) + 1
            finding_start = _gap(start, low)
            return {
                "ok": False,
                "entries": 0,
                "checkpoints": len(cps),
                "first_bad": finding_start.__dict__,
            }
        expected_seq, expected_prev = low, anchor[5]
    cps = [c for c in cps if c[1] >= low]
    hashes: dict[int, str] = {}
    for r in results:
        if not r["count"]:
            continue
        seq0, prev0 = r["head"]
        if seq0 != expected_seq:
            finding = _gap(expected_seq, seq0)
            break
        if prev0 != expected_prev:
            finding = (
                _moved(seq0)
                if seq0 > 1
                else Finding(1, "edited", "第 1 条的前序哈希被改动 / entry 1 was edited")
            )
            break
        hashes.update(r["ends"])
        checked += r["checked"]
        if r["finding"]:
            finding = Finding(**r["finding"])
            break
        expected_seq, expected_prev = r["tail"][0] + 1, r["tail"][1]
    if finding is None and head is not None and head.seq != expected_seq - 1:
        finding = Finding(
            expected_seq,
            "truncated",
            f"链头为第 {head.seq} 条，但记录只到第 {expected_seq - 1} 条：末尾记录被删除 / "
            f"the chain ends at {expected_seq - 1} but its head says {head.seq}",
        )
    if finding is None:
        for first, last, root, sig, pub, _chain in purged:  # their entries are gone
            if not SM2Key(bytes.fromhex(pub)).verify(
                _checkpoint_message(first, last, root, _chain), bytes.fromhex(sig)
            ):
                finding = Finding(
                    first,
                    "bad_checkpoint",
                    f"已清理区间 {first}–{last} 的检查点签名不符 / checkpoint {first}–{last} "
                    "of purged entries is forged",
                )
                break
    if finding is None:
        for first, last, root, sig, pub, _chain in cps:
            ok = last in hashes and SM2Key(bytes.fromhex(pub)).verify(
                _checkpoint_message(first, last, root, hashes[last]), bytes.fromhex(sig)
            )
            if ok and merkle:
                run = _fetch(config.database_url, first, last)
                leaves = [bytes.fromhex(h) for h in run["hash"].to_list()]
                ok = len(leaves) == last - first + 1 and merkle_root(leaves).hex() == root
            if not ok:
                finding = Finding(
                    first,
                    "bad_checkpoint",
                    f"第 {first}–{last} 条的签名检查点不符 / checkpoint {first}–{last} does not "
                    "match its entries or signature",
                )
                break
    if finding is None:
        finding = _against_outside_copy(config, all_cps)
    anchored = max((c[1] for c in all_cps), default=0)
    last_seq = head.seq if head is not None else expected_seq - 1
    return {
        "ok": finding is None,
        "entries": checked,
        "checkpoints": len(cps),
        "anchored_through": anchored,
        "unanchored": max(0, last_seq - anchored),
        "first_bad": None if finding is None else finding.__dict__,
    }


def _against_outside_copy(config: Config, cps: list[tuple[Any, ...]]) -> Finding | None:
    """Every checkpoint kept outside the database must still be in it, unchanged: deleting the
    tail together with the checkpoints that anchor it leaves the copy behind."""
    stored = {(c[0], c[1]): c for c in cps}
    for kept in _kept_outside(config):
        first, last = int(kept.get("first_seq", 0)), int(kept.get("last_seq", 0))
        c = stored.get((first, last))
        if c is None or (c[2], c[3], c[5]) != (
            kept.get("root"),
            kept.get("signature"),
            kept.get("chain_hash"),
        ):
            return Finding(
                first,
                "truncated" if c is None else "bad_checkpoint",
                f"第 {first}–{last} 条的签名检查点在数据库中{'不见了' if c is None else '被改动'}"
                f"（库外副本 {checkpoints_file(config).name} 仍有）：末尾记录被截断或改写 / "
                f"checkpoint {first}–{last} is {'gone from' if c is None else 'changed in'} the "
                "database but kept outside it: the tail was cut or rewritten",
            )
    return None


def search(
    config: Config,
    *,
    actor: str | None = None,
    department: str | None = None,
    resource: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Entries filtered by user, department, resource, action, outcome and time (newest first)."""
    q = select(AuditEntry)
    for col, value in (
        (AuditEntry.actor, actor),
        (AuditEntry.department, department),
        (AuditEntry.resource, resource),
        (AuditEntry.action, action),
        (AuditEntry.outcome, outcome),
    ):
        if value:
            q = q.where(col == value)
    if since:
        q = q.where(AuditEntry.at >= since)
    if until:
        q = q.where(AuditEntry.at <= until)
    q = q.order_by(AuditEntry.seq.desc()).limit(max(1, min(limit, 1000))).offset(max(0, offset))
    with session_scope(config.database_url) as s:
        return [{f: getattr(e, f) for f in (*FIELDS, "prev_hash", "hash")} for e in s.scalars(q)]


__all__ = [
    "CHECKPOINT_EVERY",
    "RETENTION_DAYS",
    "append",
    "canonical",
    "checkpoint",
    "flush",
    "merkle_root",
    "purge",
    "record",
    "search",
    "signing_key",
    "verify",
]
