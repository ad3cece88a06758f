"""DCAT export (rdflib parses it back) and Frictionless Data Packages (``frictionless validate``
accepts the dataset as served)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS, RDF

from shuhai.access.policy import Viewer
from shuhai.open import interchange
from tests.open.test_ckan import NAME

BASE = "http://portal.example"


def test_dcat_catalog_in_turtle_and_json_ld(config, city) -> None:
    text, errors = interchange.dcat(config, BASE)
    assert errors == []
    g = Graph().parse(data=text, format="turtle")
    datasets = list(g.subjects(RDF.type, DCAT.Dataset))
    assert [str(d) for d in datasets] == [f"{BASE}/open/datasets/{NAME}"]
    ds = datasets[0]
    assert str(g.value(ds, DCTERMS.title)) == "环境空气质量日报"
    assert {str(k) for k in g.objects(ds, DCAT.keyword)} == {"空气", "AQI", "环境监测"}
    assert str(g.value(ds, DCTERMS.accrualPeriodicity)).endswith("/DAILY")
    assert len(list(g.objects(ds, DCAT.distribution))) == 4
    jsonld, _ = interchange.dcat(config, BASE, "json-ld")
    assert len(Graph().parse(data=jsonld, format="json-ld")) == len(g)


def test_one_bad_record_never_breaks_the_export(config, city, monkeypatch) -> None:
    good = interchange.list_datasets(config)
    broken = {**good[0], "name": "broken", "keywords": None}  # not iterable: fails alone
    monkeypatch.setattr(interchange, "list_datasets", lambda _c: [broken, *good])
    text, errors = interchange.dcat(config, BASE)
    assert [e["dataset"] for e in errors] == ["broken"]
    assert text.startswith("# left out: broken")
    g = Graph().parse(data=text, format="turtle")
    assert len(list(g.subjects(RDF.type, DCAT.Dataset))) == 1


def test_frictionless_validates_the_data_package(site: str, tmp_path: Path) -> None:
    import httpx

    package = httpx.get(f"{site}/api/v1/open/datasets/{NAME}/datapackage.json").json()
    fields = {f["name"]: f["type"] for f in package["resources"][0]["schema"]["fields"]}
    assert fields["监测日期"] == "date" and fields["联系人手机"] == "string"
    path = tmp_path / "datapackage.json"
    path.write_text(json.dumps(package, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "frictionless", "validate", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout)
    assert report["valid"], json.dumps(report, ensure_ascii=False)[:2000]
    assert report["tasks"][0]["stats"]["rows"] == 5


def test_data_package_types_masked_items_as_text(config, city) -> None:
    package = interchange.datapackage(config, Viewer(), NAME, BASE)
    resource = package["resources"][0]
    assert resource["path"] == f"{BASE}/api/v1/open/datasets/{NAME}/download.csv"
    assert resource["encoding"] == "utf-8-sig"
