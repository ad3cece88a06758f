"""The tamper-evident audit trail (审计日志): an SM3 hash chain with signed Merkle checkpoints.

Each entry's hash is SM3(previous hash ‖ canonical entry), the canonical entry being its fields
joined by the unit separator (U+001F) in a fixed order. Appending locks the chain's head row, so
entries written by several processes still form one chain. Every ``CHECKPOINT_EVERY`` entries (and
on demand) the entries' hashes are folded into an RFC 6962 Merkle tree whose root is signed with the
platform's SM2 key. ``verify`` walks the chain and the checkpoints and names the first entry that
was edited, deleted or moved.

Entries are kept at least ``RETENTION_DAYS`` (等保 2.0: six months).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from shuhai.access.crypto import SM2Key
from shuhai.config import Config
from shuhai.db import AuditCheckpoint, AuditEntry, AuditHead, get_engine, session_scope
from shuhai.errors import InvalidInput

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
        self.thread = threading.Thread(target=self._run, name="shuhai-audit", daemon=True)
        self.thread.start()

    def put(self, entry: dict[str, Any]) -> None:
        self.idle.clear()
        self.queue.put(entry)

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            batch = [first] if first is not None else []
            while len(batch) < 5000:
                try:
                    item = self.queue.get(timeout=0.005)
                except queue.Empty:
                    break
                if item is not None:
                    batch.append(item)
            if batch:
                try:
                    append(self.config, batch)
                except Exception:  # noqa: BLE001 - the entries go back; the next batch retries
                    for item in batch:
                        self.queue.put(item)
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


def flush(config: Config | None = None) -> None:
    """Wait until queued entries are written (tests, shutdown)."""
    for url, w in list(_writers.items()):
        if config is None or url == config.database_url:
            w.flush()


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


def checkpoint(config: Config) -> dict[str, Any] | None:
    """Sign the Merkle root of the entries since the last checkpoint (None if there are none)."""
    key = signing_key(config)
    with session_scope(config.database_url) as s:
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
        )
        s.add(cp)
        s.flush()
        return {"id": cp.id, "first_seq": first, "last_seq": end, "root": root}


# --- verification ---------------------------------------------------------------------------


@dataclass
class Finding:
    """The first place the trail stops being what was written."""

    seq: int
    kind: str  # edited | deleted | reordered | truncated | bad_checkpoint
    message: str


def _body_sql(dialect: str) -> str:
    """The canonical entry built by the database: fields joined by U+001F, any U+001F inside a
    field dropped (the append cleaned them all, so an honest entry is unchanged and an edited one
    cannot shift its fields)."""
    sep = "char(31)" if dialect == "sqlite" else "chr(31)"
    parts = ["CAST(seq AS TEXT)"] + [f"replace(coalesce({f}, ''), {sep}, '')" for f in FIELDS[1:]]
    return f" || {sep} || ".join(parts)


def _rows(config: Config, chunk: int = 250_000) -> Iterator[list[tuple[Any, ...]]]:
    """(seq, prev_hash, hash, canonical body) in chain order, through the driver's cursor."""
    engine = get_engine(config.database_url)
    body = _body_sql(engine.dialect.name)
    last = 0
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        while True:
            cur = raw.cursor()
            cur.execute(
                f"SELECT seq, prev_hash, hash, {body} FROM audit_entries "
                f"WHERE seq > {int(last)} ORDER BY seq LIMIT {int(chunk)}"
            )
            rows = cur.fetchall()
            cur.close()
            if not rows:
                return
            yield rows
            last = rows[-1][0]


def verify(config: Config, *, merkle: bool = False) -> dict[str, Any]:
    """Walk the chain and the checkpoints; report the first edited, deleted or moved entry.

    Each checkpoint's SM2 signature covers its Merkle root and the chain hash at its last entry;
    the walk recomputes that chain hash, so a valid signature proves the range unchanged.
    ``merkle=True`` also recomputes every Merkle root (what inclusion proofs rely on).
    """
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    finding: Finding | None = None
    hashes: dict[int, str] = {}
    with session_scope(config.database_url) as s:
        head = s.get(AuditHead, 1)
        checkpoints = s.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.first_seq)).all()
        cps = [(c.first_seq, c.last_seq, c.root, c.signature, c.public_key) for c in checkpoints]
    ends = {last for _first, last, *_ in cps}
    keep_all = merkle and bool(cps)
    new = hashlib.new
    prev_bytes = bytes.fromhex(expected_prev)
    for rows in _rows(config):
        for seq, prev_hash, stored, body in rows:
            if seq != expected_seq:
                kind = "deleted" if seq > expected_seq else "reordered"
                finding = Finding(
                    expected_seq,
                    kind,
                    f"第 {expected_seq} 条之后序号跳到 {seq}：记录被删除或移动 / entry {expected_seq} "
                    f"is missing (next is {seq})",
                )
                break
            if prev_hash != expected_prev:
                finding = Finding(
                    seq,
                    "reordered",
                    f"第 {seq} 条的前序哈希与第 {seq - 1} 条不符：记录被移动或删除 / entry {seq} "
                    "does not follow the previous one",
                )
                break
            digest = new("sm3", prev_bytes + body.encode()).digest()
            expected_prev = digest.hex()
            if expected_prev != stored:
                finding = Finding(
                    seq, "edited", f"第 {seq} 条内容与哈希不符：记录被修改 / entry {seq} was edited"
                )
                break
            if keep_all or seq in ends:
                hashes[seq] = stored
            prev_bytes, expected_seq = digest, seq + 1
            checked += 1
        if finding:
            break
    if finding is None and head is not None and head.seq != expected_seq - 1:
        finding = Finding(
            expected_seq,
            "truncated",
            f"链头为第 {head.seq} 条，但记录只到第 {expected_seq - 1} 条：末尾记录被删除 / "
            f"the chain ends at {expected_seq - 1} but its head says {head.seq}",
        )
    if finding is None:
        for first, last, root, sig, pub in cps:
            ok = last in hashes and SM2Key(bytes.fromhex(pub)).verify(
                _checkpoint_message(first, last, root, hashes[last]), bytes.fromhex(sig)
            )
            if ok and merkle:
                leaves = [bytes.fromhex(hashes[q]) for q in range(first, last + 1) if q in hashes]
                ok = len(leaves) == last - first + 1 and merkle_root(leaves).hex() == root
            if not ok:
                finding = Finding(
                    first,
                    "bad_checkpoint",
                    f"第 {first}–{last} 条的签名检查点不符 / checkpoint {first}–{last} does not "
                    "match its entries or signature",
                )
                break
    return {
        "ok": finding is None,
        "entries": checked,
        "checkpoints": len(cps),
        "first_bad": None if finding is None else finding.__dict__,
    }


def search(
    config: Config,
    *,
    actor: str | None = None,
    department: str | None = None,
    resource: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Entries filtered by user, department, resource, action and time (newest first)."""
    q = select(AuditEntry)
    for col, value in (
        (AuditEntry.actor, actor),
        (AuditEntry.department, department),
        (AuditEntry.resource, resource),
        (AuditEntry.action, action),
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
    "record",
    "search",
    "signing_key",
    "verify",
]
