"""The open catalog in the formats other portals and tools read (数据目录交换): DCAT 3 / DCAT-AP
(JSON-LD and Turtle, built with rdflib) for the whole catalog, and a Frictionless Data Package
(``datapackage.json`` with a Table Schema) for each dataset.

One bad record never breaks the export: each dataset is described on its own, and one that
cannot be is left out and named in the answer's ``errors`` (and a comment in Turtle).
"""

from __future__ import annotations

import logging
from typing import Any

from shuhai.access.policy import Viewer, decide
from shuhai.config import Config
from shuhai.open.datasets import LICENCES, get_dataset, list_datasets

log = logging.getLogger(__name__)

# 更新周期 → the EU Publications Office frequency vocabulary (DCAT-AP's dct:accrualPeriodicity)
FREQUENCIES = {
    "实时": "CONT",
    "每日": "DAILY",
    "每周": "WEEKLY",
    "每月": "MONTHLY",
    "每季度": "QUARTERLY",
    "每半年": "BIANNUAL",
    "每年": "ANNUAL",
    "不定期": "IRREG",
}
FREQUENCY_BASE = "http://publications.europa.eu/resource/authority/frequency/"
MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
# Table Schema field types of the catalog's item types (masked items are strings)
TABLE_TYPES = {
    "C": "string",
    "M": "string",
    "N": "number",
    "Y": "number",
    "D": "date",
    "T": "datetime",
    "L": "boolean",
}


def _graph(config: Config, base: str) -> tuple[Any, list[dict[str, str]]]:
    from rdflib import BNode, Graph, Literal, Namespace, URIRef
    from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

    vcard = Namespace("http://www.w3.org/2006/vcard/ns#")
    g = Graph()
    g.bind("dcat", DCAT)
    g.bind("dct", DCTERMS)
    g.bind("foaf", FOAF)
    g.bind("vcard", vcard)
    g.bind("skos", SKOS)
    catalog = URIRef(f"{base}/open/catalog")
    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal("数海公共数据开放目录", lang="zh")))
    g.add((catalog, DCTERMS.title, Literal("Shuhai open data catalog", lang="en")))
    g.add((catalog, FOAF.homepage, URIRef(f"{base}/open")))
    errors: list[dict[str, str]] = []
    for ds in list_datasets(config):
        one = Graph()
        try:
            node = URIRef(f"{base}/open/datasets/{ds['name']}")
            one.add((node, RDF.type, DCAT.Dataset))
            one.add((node, DCTERMS.identifier, Literal(ds["name"])))
            one.add((node, DCTERMS.title, Literal(ds["title"], lang="zh")))
            if ds["description"]:
                one.add((node, DCTERMS.description, Literal(ds["description"], lang="zh")))
            for k in ds["keywords"]:
                one.add((node, DCAT.keyword, Literal(k, lang="zh")))
            if ds["theme"]:
                theme = URIRef(f"{base}/open/themes/{ds['theme']}")
                one.add((node, DCAT.theme, theme))
                one.add((theme, RDF.type, SKOS.Concept))
                one.add((theme, SKOS.prefLabel, Literal(ds["theme"], lang="zh")))
            org = URIRef(f"{base}/open/publishers/{ds['publisher']['code']}")
            one.add((node, DCTERMS.publisher, org))
            one.add((org, RDF.type, FOAF.Organization))
            one.add((org, FOAF.name, Literal(ds["publisher"]["name"], lang="zh")))
            licence = URIRef(
                LICENCES.get(ds["licence"], {}).get("url")
                or f"{base}/open/licences/{ds['licence']}"
            )
            one.add((node, DCTERMS.license, licence))
            if ds["frequency"] in FREQUENCIES:
                one.add(
                    (
                        node,
                        DCTERMS.accrualPeriodicity,
                        URIRef(FREQUENCY_BASE + FREQUENCIES[ds["frequency"]]),
                    )
                )
            if ds["temporal_start"] or ds["temporal_end"]:
                period = BNode()
                one.add((node, DCTERMS.temporal, period))
                one.add((period, RDF.type, DCTERMS.PeriodOfTime))
                if ds["temporal_start"]:
                    one.add(
                        (period, DCAT.startDate, Literal(ds["temporal_start"], datatype=XSD.date))
                    )
                if ds["temporal_end"]:
                    one.add((period, DCAT.endDate, Literal(ds["temporal_end"], datatype=XSD.date)))
            if ds["spatial"]:
                place = BNode()
                one.add((node, DCTERMS.spatial, place))
                one.add((place, RDF.type, DCTERMS.Location))
                one.add((place, RDFS.label, Literal(ds["spatial"], lang="zh")))
            if ds["contact"]:
                contact = BNode()
                one.add((node, DCAT.contactPoint, contact))
                one.add((contact, RDF.type, vcard.Organization))
                one.add((contact, vcard.fn, Literal(ds["contact"], lang="zh")))
            if ds["published_at"]:
                one.add((node, DCTERMS.issued, Literal(ds["published_at"], datatype=XSD.dateTime)))
            if ds["updated_at"]:
                one.add((node, DCTERMS.modified, Literal(ds["updated_at"], datatype=XSD.dateTime)))
            one.add((node, DCAT.landingPage, URIRef(f"{base}/open/datasets/{ds['name']}")))
            for fmt, media in MEDIA_TYPES.items():
                dist = URIRef(f"{base}/open/datasets/{ds['name']}#{fmt}")
                url = URIRef(f"{base}/api/v1/open/datasets/{ds['name']}/download.{fmt}")
                one.add((node, DCAT.distribution, dist))
                one.add((dist, RDF.type, DCAT.Distribution))
                one.add(
                    (dist, DCTERMS.title, Literal(f"{ds['title']}（{fmt.upper()}）", lang="zh"))
                )
                one.add((dist, DCAT.downloadURL, url))
                one.add((dist, DCAT.accessURL, url))
                one.add(
                    (
                        dist,
                        DCAT.mediaType,
                        URIRef(f"https://www.iana.org/assignments/media-types/{media}"),
                    )
                )
                one.add((dist, DCTERMS.format, Literal(fmt.upper())))
                one.add((dist, DCTERMS.license, licence))
        except Exception as exc:  # noqa: BLE001 - one record never breaks the catalog
            log.warning("DCAT: dataset %s left out: %s", ds.get("name"), exc)
            errors.append({"dataset": str(ds.get("name")), "error": str(exc)[:300]})
            continue
        g += one
        g.add((catalog, DCAT.dataset, URIRef(f"{base}/open/datasets/{ds['name']}")))
    return g, errors


def dcat(config: Config, base: str, fmt: str = "turtle") -> tuple[str, list[dict[str, str]]]:
    """The whole open catalog as DCAT (``turtle`` or ``json-ld``) and the records left out."""
    if fmt not in ("turtle", "json-ld"):
        from shuhai.errors import InvalidInput

        raise InvalidInput(
            "open.bad_format", "格式应为 turtle 或 json-ld", "Format is turtle or json-ld"
        )
    g, errors = _graph(config, base)
    text = g.serialize(format=fmt)
    if errors and fmt == "turtle":
        text = "".join(f"# left out: {e['dataset']}: {e['error']}\n" for e in errors) + text
    return text, errors


def datapackage(config: Config, viewer: Viewer, name: str, base: str) -> dict[str, Any]:
    """A Frictionless Tabular Data Package describing the dataset's CSV as this caller gets it
    (masked items typed as strings)."""
    ds = get_dataset(config, name)
    d = decide(config, viewer, ds["resource"]["id"])
    masked = set(d.masking) if d.allowed else set()
    opened = set(ds["columns"])
    shown = [c for c in d.columns if c in opened] if d.allowed else ds["columns"]
    types = {f["name"]: f for f in ds["fields"]}
    fields = []
    for c in shown:
        f = types.get(c, {"data_type": "C", "description": ""})
        field = {
            "name": c,
            "type": "string" if c in masked else TABLE_TYPES.get(f["data_type"], "string"),
        }
        if f.get("description"):
            field["description"] = f["description"]
        fields.append(field)
    licence = LICENCES.get(ds["licence"], {})
    return {
        "profile": "tabular-data-package",
        "name": ds["name"],
        "title": ds["title"],
        "description": ds["description"],
        "keywords": ds["keywords"],
        "homepage": f"{base}/open/datasets/{ds['name']}",
        "licenses": [
            {
                "name": ds["licence"],
                "path": licence.get("url", ""),
                "title": licence.get("title", ds["licence"]),
            }
        ],
        "contributors": [{"title": ds["publisher"]["name"], "role": "publisher"}],
        "resources": [
            {
                "name": "data",
                "path": f"{base}/api/v1/open/datasets/{ds['name']}/download.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8-sig",
                "schema": {"fields": fields, "missingValues": [""]},
            }
        ],
    }
