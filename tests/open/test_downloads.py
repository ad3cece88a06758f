"""Files and previews of open datasets: streamed, masked, formulas made inert, and each carrying
the id of its download record (可追溯开放)."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from shuhai.access import audit
from shuhai.access.policy import Viewer, operator
from shuhai.errors import InvalidInput, NotFound
from shuhai.open import get_dataset, publish
from shuhai.open.downloads import download, download_record, inert, preview


def _body(config, name: str, fmt: str, viewer: Viewer | None = None) -> tuple[str, bytes]:
    d = download(config, viewer or Viewer(), name, fmt)
    return d.id, b"".join(d.body)


def test_csv_opens_in_excel_and_keeps_formulas_inert(config, city) -> None:
    download_id, body = _body(config, city["air_ds"]["name"], "csv")
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 5
    pollutants = [r["首要污染物"] for r in rows]
    assert "'=1+1" in pollutants and "'@SUM(A1)" in pollutants
    assert "'-3+cmd|' /C calc'!A0" in pollutants
    assert [float(r["空气质量指数"]) for r in rows][:2] == [42, 55]
    assert all(r["联系人手机"].count("*") == 4 for r in rows)  # personal: masked for the public
    record = download_record(config, download_id)
    assert record["rows"] == 5 and record["format"] == "csv" and record["version"] == 0


def test_plain_negative_numbers_in_text_stay_as_they_are() -> None:
    import polars as pl

    out = inert(pl.DataFrame({"a": ["-5", "+3.5", "-2+3", "=A1", "\t1", "ok", None]}))
    assert out["a"].to_list() == ["-5", "+3.5", "'-2+3", "'=A1", "'\t1", "ok", None]


def test_every_format_carries_its_download_id(config, city) -> None:
    name = city["air_ds"]["name"]
    pid, parquet = _body(config, name, "parquet")
    table = pq.read_table(io.BytesIO(parquet))
    assert table.num_rows == 5
    assert json.loads(table.schema.metadata[b"shuhai.download"])["download"] == pid
    xid, xlsx = _body(config, name, "xlsx")
    wb = load_workbook(io.BytesIO(xlsx))
    assert wb.properties.identifier == xid
    values = [c.value for c in wb.active["D"]][1:]
    assert "'=1+1" in values
    jid, doc = _body(config, name, "json")
    parsed = json.loads(doc)
    assert parsed["download"] == jid and len(parsed["records"]) == 5
    assert parsed["fields"] == get_dataset(config, name)["columns"]
    audit.flush(config)
    entries = audit.search(config, action="open.download")
    logged = {json.loads(e["detail"])["download"] for e in entries}
    assert {pid, xid, jid} <= logged


def test_downloads_serve_only_the_opened_items(config, city) -> None:
    publish(
        config, city["air"]["code"], {"columns": ["监测日期", "空气质量指数"]}, viewer=operator()
    )
    _id, body = _body(config, city["air_ds"]["name"], "csv")
    header = body.decode("utf-8-sig").splitlines()[0]
    assert header == "监测日期,空气质量指数"
    # the providing department's own officer too gets only what is open, from the open routes
    own = Viewer("user", "hb_officer", city["air"]["department"]["id"], ("officer",))
    _id, body = _body(config, city["air_ds"]["name"], "csv", own)
    assert body.decode("utf-8-sig").splitlines()[0] == "监测日期,空气质量指数"


def test_preview_is_one_call_with_the_masking_it_applied(config, city) -> None:
    p = preview(config, Viewer(), city["air_ds"]["name"])
    assert p["total"] == 5 and len(p["rows"]) == 5
    assert p["masking"]["联系人手机"]
    assert p["rows"][0]["联系人手机"] == "138****8000"
    with pytest.raises(InvalidInput):
        preview(config, Viewer(), city["air_ds"]["name"], limit=51)


def test_unknown_and_unopened_datasets_are_not_found(config, city) -> None:
    with pytest.raises(NotFound):
        download(config, Viewer(), "no-such-dataset", "csv")
    with pytest.raises(NotFound):  # open but not published: not even its title is out
        download(config, Viewer(), "203001-rs-00001", "csv")
    with pytest.raises(InvalidInput):
        download(config, Viewer(), city["air_ds"]["name"], "exe")
    with pytest.raises(NotFound):
        download(config, Viewer(), city["air_ds"]["name"], "csv", version=99)
    with pytest.raises(NotFound):
        download_record(config, "../../etc/passwd")


def test_platform_roles_do_not_download_department_data(config, city) -> None:
    from shuhai.errors import Forbidden

    with pytest.raises(Forbidden):
        download(config, Viewer("user", "admin", None, ("admin",)), city["air_ds"]["name"], "csv")
