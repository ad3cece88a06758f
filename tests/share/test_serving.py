"""Serving pages by (ingest run, line): rows that share one — a merge that updated a key the
lake holds twice — are never split by a page boundary, on the serving index and on the lake."""

from __future__ import annotations

from pathlib import Path

from shuhai.config import Config
from shuhai.ingest import ingest
from shuhai.share import serving
from tests.conftest import register_persons, write


def test_rows_sharing_a_line_are_paged_whole(config: Config, tmp_path: Path) -> None:
    res = register_persons(config)
    first = "身份证号,姓名\n" + "".join(f"1{i:017d},人{i}\n" for i in range(6))
    first += "100000000000000003,重复\n"  # the same key twice: appended as found
    ingest(config, res["code"], str(write(tmp_path / "a.csv", first)))
    ingest(  # one source line updates both rows of the duplicated key
        config,
        res["code"],
        str(write(tmp_path / "b.csv", "身份证号,姓名\n100000000000000003,合并\n")),
        mode="upsert",
    )
    spec = {"id": res["id"], "key_columns": ["身份证号"], "code": res["code"]}
    for engine in ("index", "lake"):
        if engine == "index":
            serving.build_index(config, res["id"])  # used to fail: UNIQUE (run, line)
        else:
            serving.index_path(config, res["id"], 1).unlink()
        for limit in (1, 2, 3, 4, 5, 6):
            seen, after = [], None
            while True:
                page = serving.query(
                    config, spec, columns=["身份证号", "姓名"], filters=[], limit=limit, after=after
                )
                assert page.engine == engine
                seen += page.frame.select("身份证号", "姓名").rows()
                after = page.next_cursor
                if after is None:
                    break
            assert len(seen) == 7, (engine, limit, seen)
            assert seen.count(("100000000000000003", "合并")) == 2
