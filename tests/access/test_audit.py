"""The audit chain: appends from several threads form one chain; editing, deleting or moving any
entry (or forging a checkpoint) is found by ``verify``, which names the first bad entry."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from shuhai.access import audit
from shuhai.config import Config
from shuhai.db import get_engine
from shuhai.platform import open_home


@pytest.fixture
def trail(any_config: Config) -> Config:
    open_home(any_config)
    audit.append(
        any_config,
        [
            {
                "actor": f"user{i % 7}",
                "department": "GA" if i % 2 else "RS",
                "action": "api.read",
                "resource": f"101001/GA-{i % 5:05d}",
                "detail": {"rows": i, "note": "含中文"},
            }
            for i in range(1, 301)
        ],
    )
    return any_config


def _sql(config: Config, statement: str) -> None:
    with get_engine(config.database_url).begin() as conn:
        conn.execute(text(statement))


def test_an_untouched_trail_verifies(trail: Config) -> None:
    audit.checkpoint(trail)
    result = audit.verify(trail)
    assert result == {
        "ok": True,
        "entries": 300,
        "checkpoints": 1,
        "anchored_through": 300,
        "unanchored": 0,
        "first_bad": None,
    }


def test_an_edited_entry_is_named(trail: Config) -> None:
    _sql(trail, "UPDATE audit_entries SET actor = 'someone_else' WHERE seq = 137")
    bad = audit.verify(trail)["first_bad"]
    assert bad["seq"] == 137 and bad["kind"] == "edited"


def test_an_edit_that_rehashes_its_own_entry_is_still_found(trail: Config) -> None:
    # The attacker recomputes entry 50's hash: entry 51 no longer follows it.
    with get_engine(trail.database_url).begin() as conn:
        row = conn.execute(text("SELECT * FROM audit_entries WHERE seq = 50")).mappings().one()
        fields = [row[f] for f in audit.FIELDS]
        fields[2] = "forged"
        forged = hashlib.new(
            "sm3", bytes.fromhex(row["prev_hash"]) + audit.canonical(fields)
        ).hexdigest()
        conn.execute(
            text("UPDATE audit_entries SET actor = 'forged', hash = :h WHERE seq = 50"),
            {"h": forged},
        )
    bad = audit.verify(trail)["first_bad"]
    assert bad["seq"] == 51 and bad["kind"] == "reordered"


def test_a_deleted_entry_is_named(trail: Config) -> None:
    _sql(trail, "DELETE FROM audit_entries WHERE seq = 200")
    bad = audit.verify(trail)["first_bad"]
    assert bad["seq"] == 200 and bad["kind"] == "deleted"


def test_deleting_the_last_entries_is_found(trail: Config) -> None:
    _sql(trail, "DELETE FROM audit_entries WHERE seq > 295")
    bad = audit.verify(trail)["first_bad"]
    assert bad["kind"] == "truncated" and bad["seq"] == 296


def test_two_swapped_entries_are_named(trail: Config) -> None:
    # Swap the contents (and hashes) of entries 10 and 11, keeping the sequence numbers.
    with get_engine(trail.database_url).begin() as conn:
        a = dict(conn.execute(text("SELECT * FROM audit_entries WHERE seq = 10")).mappings().one())
        b = dict(conn.execute(text("SELECT * FROM audit_entries WHERE seq = 11")).mappings().one())
        cols = [c for c in a if c != "seq"]
        for src, dst in ((b, 10), (a, 11)):
            sets = ", ".join(f"{c} = :{c}" for c in cols)
            conn.execute(
                text(f"UPDATE audit_entries SET {sets} WHERE seq = :seq"),
                {**{c: src[c] for c in cols}, "seq": dst},
            )
    bad = audit.verify(trail)["first_bad"]
    assert bad["seq"] == 10 and bad["kind"] in ("reordered", "edited")


def test_a_forged_checkpoint_is_found(trail: Config) -> None:
    audit.checkpoint(trail)
    assert audit.verify(trail, merkle=True)["ok"]
    _sql(trail, "UPDATE audit_checkpoints SET root = '" + "ab" * 32 + "'")
    bad = audit.verify(trail)["first_bad"]
    assert bad["kind"] == "bad_checkpoint"
    assert audit.verify(trail, merkle=True)["first_bad"]["kind"] == "bad_checkpoint"


def test_threads_append_one_chain(trail: Config) -> None:
    def work(n: int) -> None:
        for i in range(20):
            audit.append(trail, [{"actor": f"t{n}", "action": "login", "detail": str(i)}])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = audit.verify(trail)
    assert result["ok"] and result["entries"] == 380


def test_queued_records_are_written_and_searchable(trail: Config) -> None:
    for i in range(50):
        audit.record(trail, "preview", actor="张三", department="GA", resource="r1", detail=i)
    audit.flush(trail)
    found = audit.search(trail, actor="张三", action="preview")
    assert len(found) == 50 and found[0]["seq"] > found[-1]["seq"]
    assert audit.verify(trail)["ok"]


def test_merkle_root_follows_rfc_6962() -> None:
    h = lambda b: hashlib.new("sm3", b).digest()  # noqa: E731
    leaves = [bytes([i]) * 32 for i in range(5)]
    lh = [h(b"\x00" + x) for x in leaves]
    n01, n23 = h(b"\x01" + lh[0] + lh[1]), h(b"\x01" + lh[2] + lh[3])
    expected = h(b"\x01" + h(b"\x01" + n01 + n23) + lh[4])  # split at the largest power of 2 < 5
    assert audit.merkle_root(leaves) == expected
    assert audit.merkle_root(leaves[:1]) == lh[0]


def test_control_characters_cannot_shift_fields() -> None:
    a = audit.canonical([1, "t", "a\x1fb", "", "x", "", "ok", ""])
    b = audit.canonical([1, "t", "a", "b", "x", "", "ok", ""])
    assert a != b


def test_parallel_verification_stitches_the_runs(
    trail: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "PARALLEL_FROM", 100)  # 300 entries in two processes
    assert audit.verify(trail, workers=2) == {
        "ok": True,
        "entries": 300,
        "checkpoints": 0,
        "anchored_through": 0,
        "unanchored": 300,
        "first_bad": None,
    }
    _sql(trail, "DELETE FROM audit_entries WHERE seq = 151")  # the first entry of the 2nd run
    bad = audit.verify(trail, workers=2)["first_bad"]
    assert bad["seq"] == 151 and bad["kind"] == "deleted"


def test_retention_purges_whole_checkpointed_runs_and_the_rest_still_verifies(
    trail: Config,
) -> None:
    from shuhai.errors import InvalidInput

    audit.checkpoint(trail)  # entries 1–300
    audit.append(trail, [{"actor": "later", "action": "api.read"} for _ in range(20)])
    with pytest.raises(InvalidInput):
        audit.purge(trail, older_than_days=30)  # 等保: at least 180 days
    assert audit.purge(trail)["entries"] == 0  # nothing is that old yet
    # Pretend the first run is a year old, then purge it.
    _sql(trail, "UPDATE audit_entries SET at = '2025-01-01T00:00:00+00:00' WHERE seq <= 300")
    # (the edit breaks those entries' hashes, but they are about to go)
    assert audit.purge(trail) == {"purged_through": 300, "entries": 300}
    result = audit.verify(trail)
    assert result["ok"] and result["entries"] == 20
    _sql(trail, "DELETE FROM audit_entries WHERE seq = 301")  # cutting at the new start is caught
    assert audit.verify(trail)["first_bad"]["seq"] == 301


# --- the tail: anchored within minutes, at exit, and kept outside the database --------------


def test_entries_after_the_last_checkpoint_are_reported_unanchored(trail: Config) -> None:
    audit.checkpoint(trail)
    audit.append(trail, [{"actor": "late", "action": "api.read"} for _ in range(7)])
    result = audit.verify(trail)
    assert result["ok"] and result["anchored_through"] == 300 and result["unanchored"] == 7


def test_a_short_trail_is_signed_within_the_period(tmp_path: Path) -> None:
    config = open_home(Config.from_env({}, home=str(tmp_path), audit_checkpoint_seconds=1))
    for i in range(40):  # far fewer than CHECKPOINT_EVERY
        audit.record(config, "preview", actor="张三", resource="r1", detail=i)
    audit.flush(config)
    deadline = time.monotonic() + 10
    while audit.verify(config)["unanchored"] and time.monotonic() < deadline:
        time.sleep(0.2)
    result = audit.verify(config)
    assert result["ok"] and result["checkpoints"] >= 1 and result["unanchored"] == 0


def test_a_process_that_wrote_entries_signs_them_when_it_exits(tmp_path: Path) -> None:
    script = (
        "from shuhai.access import audit; from shuhai.config import Config; "
        "from shuhai.platform import open_home; "
        f"c = open_home(Config.from_env({{}}, home={str(tmp_path)!r})); "
        "[audit.record(c, 'api.read', actor='cli') for _ in range(5)]"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    config = Config.from_env({}, home=str(tmp_path))
    result = audit.verify(config)
    assert result["ok"] and result["entries"] == 5 and result["unanchored"] == 0


def test_cutting_the_tail_with_its_checkpoints_is_found(trail: Config) -> None:
    audit.checkpoint(trail)  # 1–300
    audit.append(trail, [{"actor": "x", "action": "api.read"} for _ in range(50)])
    audit.checkpoint(trail)  # 301–350
    assert audit.verify(trail)["ok"]
    # An attacker with write access to the database cuts the tail, the checkpoint that
    # anchors it, and moves the head back: the chain alone would look whole.
    with get_engine(trail.database_url).begin() as conn:
        h = conn.execute(text("SELECT hash FROM audit_entries WHERE seq = 320")).scalar_one()
        conn.execute(text("DELETE FROM audit_entries WHERE seq > 320"))
        conn.execute(text("DELETE FROM audit_checkpoints WHERE last_seq = 350"))
        conn.execute(text("UPDATE audit_head SET seq = 320, hash = :h"), {"h": h})
    bad = audit.verify(trail)["first_bad"]
    assert bad is not None and bad["kind"] == "truncated" and bad["seq"] == 301


def test_rewriting_the_tail_and_resigning_nothing_is_found(trail: Config) -> None:
    audit.checkpoint(trail)  # 1–300
    # Edit entry 250 and recompute every hash after it, head included: the chain is
    # consistent again, but the signed checkpoint no longer matches.
    with get_engine(trail.database_url).begin() as conn:
        rows = conn.execute(
            text("SELECT * FROM audit_entries WHERE seq >= 249 ORDER BY seq")
        ).mappings()
        rows = [dict(r) for r in rows]
        prev = rows[0]["hash"]
        for r in rows[1:]:
            if r["seq"] == 250:
                r["actor"] = "forged"
            body = audit.canonical([r[f] for f in audit.FIELDS])
            digest = hashlib.new("sm3", bytes.fromhex(prev) + body).hexdigest()
            conn.execute(
                text(
                    "UPDATE audit_entries SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"
                ),
                {"a": r["actor"], "p": prev, "h": digest, "s": r["seq"]},
            )
            prev = digest
        conn.execute(text("UPDATE audit_head SET hash = :h"), {"h": prev})
        conn.execute(text("DELETE FROM audit_checkpoints"))
    bad = audit.verify(trail)["first_bad"]
    assert bad is not None and bad["seq"] == 1 and bad["kind"] in ("truncated", "bad_checkpoint")
