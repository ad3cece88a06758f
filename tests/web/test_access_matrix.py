"""The access matrix over HTTP (OWASP API1, broken object-level authorization): every route that
serves data × every role × the own department's and another department's resource × each share
type. A record's ID number appears in full only where the policy says unmasked, masked only where
it says masked, and not at all where the caller is not entitled — in JSON, pages and downloads.

人社 (RS) provides three resources, one per share type; 公安 (GA) provides the resource they are
compared with. "own" viewers belong to RS, "other" viewers to GA.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from shuhai.access import audit, signing
from shuhai.access.policy import operator
from shuhai.catalog import Catalog
from shuhai.config import Config
from shuhai.ingest import ingest
from shuhai.open import publish
from shuhai.open.datasets import slug
from shuhai.platform import open_home
from shuhai.quality import run_quality, set_rules
from shuhai.quality.compare import add_comparison, run_comparison
from shuhai.quality.corrections import raise_objection
from shuhai.web.app import create_app
from tests.conftest import signed_client, write

SHARES = {  # share type -> (ID number in its data, the same ID masked)
    "无条件共享": ("350102198001010014", "350102********0014"),
    "有条件共享": ("350102199002020027", "350102********0027"),
    "不予共享": ("35010219750404004X", "350102********004X"),
}
ITEMS = [{"name": "身份证号"}, {"name": "姓名"}, {"name": "联系电话"}]
VIEWERS = [
    "anonymous",
    "public",
    "admin",
    "security",
    "auditor",
    "own_officer",
    "own_user",
    "other_officer",
    "other_user",
    "other_system",
]
# share type -> viewer -> None (refused) | True (masked) | False (in full) | "absent" (the ID
# left out: the public reads only what a published open dataset opens, never an L4 item) |
# "missing" (404: no such open dataset), as in the policy
POLICY: dict[str, dict[str, bool | str | None]] = {
    "无条件共享": {
        "anonymous": "absent",  # also 无条件开放 and published: open data, ID never opened
        "public": "absent",
        "admin": None,
        "security": None,
        "auditor": None,
        "own_officer": False,
        "own_user": True,
        "other_officer": True,
        "other_user": True,
        "other_system": True,
    },
    "有条件共享": {
        **dict.fromkeys(VIEWERS),
        "own_officer": False,
        "own_user": True,
    },
}
POLICY["不予共享"] = dict(POLICY["有条件共享"])
# 公安's resource, the other side of each comparison: shared without conditions, not open
GA_SIDE = {v: v.startswith(("own", "other")) for v in VIEWERS}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("matrix")
    config = open_home(Config.from_env({}, home=str(tmp / "home")))
    cat = Catalog(config)
    cat.add_department({"name": "市公安局", "code": "GA"})
    cat.add_department({"name": "市人社局", "code": "RS"})
    ids = [i for i, _ in SHARES.values()]
    cat.register(
        {
            "name": "户籍人口",
            "department": "GA",
            "classification": "101009",
            "items": ITEMS[:2],
            "key_columns": ["身份证号"],
        }
    )
    ingest(
        config,
        "户籍人口",
        str(write(tmp / "ga.csv", "身份证号,姓名\n" + "".join(f"{i},户籍名\n" for i in ids))),
    )
    out: dict[str, Any] = {"config": config, "res": {}}
    for n, (share, (id_number, _)) in enumerate(SHARES.items(), start=1):
        res = cat.register(
            {
                "name": f"参保{share}",
                "department": "RS",
                "classification": f"30300{n}",
                "items": ITEMS,
                "key_columns": ["身份证号"],
                "share_type": share,
                "share_condition": {"有条件共享": "依申请", "不予共享": "依法不予共享"}.get(
                    share, ""
                ),
                "open_type": "无条件开放" if share == "无条件共享" else "不予开放",
            }
        )
        rid = res["id"]
        # one good row with a bad phone (a failing row), one ragged row (quarantined)
        text = f"身份证号,姓名,联系电话\n{id_number},参保名,12345\n{id_number},多余,13800138000,x\n"
        run = ingest(config, rid, str(write(tmp / f"rs{n}.csv", text)))
        set_rules(config, rid, [{"item": "联系电话", "kind": "mobile"}])
        q = run_quality(config, rid)
        c = add_comparison(
            config,
            {
                "left": {"resource": rid, "item": "姓名", "key": "身份证号"},
                "right": {"resource": "户籍人口", "item": "姓名", "key": "身份证号"},
            },
        )
        crun = run_comparison(config, c["id"])
        o = raise_objection(
            config,
            rid,
            {"key": {"身份证号": id_number}, "item": "姓名", "reason": "姓名有误"},
            actor="rs_officer",
        )
        if share == "无条件共享":
            publish(config, rid, viewer=operator())
        out["res"][share] = {
            "name": slug(res["code"]),
            "rid": rid,
            "run": run["run_id"] if "run_id" in run else run["id"],
            "quality": q["id"],
            "cid": c["id"],
            "crun": crun["id"],
            "oid": o["id"],
        }
    app = create_app(config)
    clients: dict[str, Any] = {"anonymous": TestClient(app, raise_server_exceptions=False)}
    for who, roles, dept in (
        ("public", ["public"], None),
        ("admin", ["admin"], None),
        ("security", ["security"], None),
        ("auditor", ["auditor"], None),
        ("own_officer", ["officer"], "RS"),
        ("own_user", ["user"], "RS"),
        ("other_officer", ["officer"], "GA"),
        ("other_user", ["user"], "GA"),
    ):
        clients[who] = signed_client(app, config, who, roles, dept)
    clients["other_system"] = signing.create_credential(config, "GA", name="公安系统")
    out["clients"] = clients
    out["app"] = app
    return out


def fetch(city: dict[str, Any], who: str, path: str) -> tuple[int, str]:
    client = city["clients"][who]
    if who == "other_system":
        cred = client
        client = TestClient(city["app"], raise_server_exceptions=False)
        headers = {"X-Shuhai-AppKey": cred["app_key"]} | signing.sign(
            cred["app_secret"], "GET", path.split("?")[0], _query(path)
        )
        r = client.get(path, headers=headers)
    else:
        r = client.get(path)
    if r.headers.get("content-type", "").startswith("application/vnd.openxml"):
        wb = load_workbook(io.BytesIO(r.content), read_only=True)
        text = " ".join(str(v) for row in wb.active.iter_rows(values_only=True) for v in row)
        return r.status_code, text
    return r.status_code, r.text


def _query(path: str) -> list[tuple[str, str]]:
    if "?" not in path:
        return []
    return [tuple(p.split("=", 1)) for p in path.split("?", 1)[1].split("&")]  # type: ignore[misc]


def routes(r: dict[str, int]) -> dict[str, tuple[str, str, bool]]:
    """name -> (path, which rule applies, is a JSON API route)."""
    rid, run, q, name = r["rid"], r["run"], r["quality"], r["name"]
    cid, crun, oid = r["cid"], r["crun"], r["oid"]
    return {
        "data": (f"/api/v1/resources/{rid}/data", "policy", True),
        "share_rows": (f"/api/v1/share/{rid}/rows", "share", True),
        # objections: the raiser and the providing department only (never the public)
        "objection": (f"/api/v1/objections/{oid}", "own_department", True),
        "objections": (f"/api/v1/objections?resource={rid}", "listed_own", True),
        "quarantine": (f"/api/v1/runs/{run}/quarantine", "own_officer", True),
        "failing": (f"/api/v1/quality/{q}/failing", "own_department", True),
        # quality figures are public; their sample rows (with the record key) follow the policy
        "quality_run": (f"/api/v1/quality/{q}", "listed", True),
        "quality_history": (f"/api/v1/resources/{rid}/quality", "listed", True),
        "conflicts": (f"/api/v1/comparisons/{cid}/runs/{crun}", "both_sides", True),
        "conflicts_xlsx": (
            f"/api/v1/comparisons/{cid}/runs/{crun}/conflicts.xlsx",
            "both_sides",
            True,
        ),
        "resource_page": (f"/resources/{rid}", "policy", False),
        "run_page": (f"/runs/{run}", "own_officer", False),
        "quality_page": (f"/quality/{q}", "own_department", False),
        "comparison_page": (f"/comparisons/{cid}/runs/{crun}", "both_sides", False),
        "objection_page": (f"/objections/{oid}", "own_department", False),
        "objections_page": ("/objections", "listed_own", False),
        # open data (数据开放): the published dataset's opened items only
        "open_preview": (f"/api/v1/open/datasets/{name}/preview", "open", True),
        "open_download": (f"/api/v1/open/datasets/{name}/download.csv", "open", True),
        "open_page": (f"/open/datasets/{name}", "open", False),
        "ckan_datastore": (f"/api/3/action/datastore_search?resource_id={name}", "open", True),
        "ckan_datastore_legacy": (f"/api/action/datastore_search?resource_id={name}", "open", True),
    }


def expected(rule: str, share: str, who: str) -> bool | str | None:
    policy = POLICY[share][who]
    if rule in ("policy", "listed"):
        return policy
    if rule == "open":  # the open-data routes serve the opened items only, to whoever may read
        if share != "无条件共享":
            return "missing"  # not open, so not published: no such dataset for anyone
        return None if policy is None else "absent"
    if rule == "share":
        return None if who == "anonymous" else policy
    if rule == "own_officer":
        return False if who == "own_officer" else None
    if rule in ("own_department", "listed_own"):
        return {"own_officer": False, "own_user": True}.get(who)
    if rule == "both_sides":
        return policy if GA_SIDE[who] and policy is not None else None
    raise AssertionError(rule)


@pytest.mark.parametrize("share", list(SHARES))
def test_no_read_without_entitlement(city: dict[str, Any], share: str) -> None:
    full, masked = SHARES[share]
    failures = []
    for name, (path, rule, is_api) in routes(city["res"][share]).items():
        for who in VIEWERS:
            if who == "other_system" and not is_api:
                continue  # systems call the API, not the portal
            status, text = fetch(city, who, path)
            want = expected(rule, share, who)
            seen = (full in text, masked in text)
            ok = (
                seen
                == {
                    None: (False, False),
                    True: (False, True),
                    False: (True, False),
                    "absent": (False, False),
                    "missing": (False, False),
                }[want]
            )
            if want == "missing":
                ok = ok and status == 404
            elif is_api and not rule.startswith("listed"):
                ok = ok and (status == 200 if want is not None else status in (401, 403))
                if want is None:
                    ok = ok and status == (401 if who == "anonymous" else 403)
            elif want == "absent":
                ok = ok and status == 200
            ok = ok and status < 500
            if not ok:
                failures.append((name, who, status, seen, want))
    assert not failures, "\n".join(map(str, failures))


def test_refusals_are_audited(city: dict[str, Any]) -> None:
    config: Config = city["config"]
    r = city["res"]["不予共享"]
    fetch(city, "other_officer", f"/api/v1/resources/{r['rid']}/data")
    fetch(city, "other_system", f"/api/v1/share/{r['rid']}/rows")
    audit.flush(config)
    refused = audit.search(config, outcome="refused", limit=1000)
    assert {"other_officer", "api.data"} <= {x for e in refused for x in (e["actor"], e["action"])}
    assert any(e["action"] == "share.rows" and e["actor"].startswith("ak_") for e in refused)


def test_writes_need_the_owning_department(city: dict[str, Any], tmp_path: Path) -> None:
    r = city["res"]["无条件共享"]
    rules = [{"item": "联系电话", "kind": "mobile"}]
    for who, status in (
        ("anonymous", 401),
        ("public", 403),
        ("admin", 403),
        ("auditor", 403),
        ("own_user", 403),
        ("other_officer", 403),
        ("own_officer", 200),
    ):
        got = city["clients"][who].put(f"/api/v1/resources/{r['rid']}/rules", json=rules)
        assert got.status_code == status, who
    move = city["clients"]["other_officer"].post(
        f"/api/v1/objections/{r['oid']}/transitions", json={"to": "accepted"}
    )
    assert move.status_code == 403


# GET routes that serve no record of a resource to this matrix, each with where it is tested.
NO_RECORDS = {
    "/api/v1/share/{resource}/changes": "rows written after a version: test_share_rows.py",
    "/api/v1/stats": "platform figures",
    "/api/v1/departments": "catalog metadata",
    "/api/v1/departments/{ref}": "catalog metadata",
    "/api/v1/resources": "catalog metadata",
    "/api/v1/resources/{rid}": "catalog metadata",
    "/api/v1/resources/{rid}/versions": "lake versions: counts and file hashes",
    "/api/v1/resources/{rid}/runs": "ingest runs: counts",
    "/api/v1/resources/{rid}/quarantine": "quarantine summary: counts by reason",
    "/api/v1/runs": "ingest runs: counts",
    "/api/v1/runs/{run_id}": "one ingest run: counts",
    "/api/v1/resources/{rid}/rules": "rule definitions",
    "/api/v1/quality/departments": "department scorecard",
    "/api/v1/comparisons": "comparison definitions",
    "/api/v1/me": "the caller's own account",
    "/api/v1/applications": "share applications: test_applications.py",
    "/share": "share applications page: test_applications.py",
    "/api/v1/audit": "auditor only: test_audit_and_grading.py",
    "/audit": "auditor only: test_audit_and_grading.py",
    "/api/v1/resources/{rid}/grading": "grading proposals (names and levels): test_audit_and_grading.py",
    "/resources/{rid}/grading": "grading page: test_audit_and_grading.py",
    "/api/v1/bases": "base database definitions",
    "/api/v1/bases/{base}": "base database definition",
    "/api/v1/bases/{base}/builds": "build figures",
    "/api/v1/bases/{base}/files": "files through SourceView: test_bases.py",
    "/api/v1/bases/{base}/files/{file_id}": "files through SourceView: test_bases.py",
    "/api/v1/bases/{base}/disagreements": "files through SourceView: test_bases.py",
    "/api/v1/bases/{base}/records": "record keys and file ids, staff only: test_hard_records.py",
    "/api/v1/bases/{base}/conflicts": "numbers through SourceView, staff only: test_bases.py",
    "/api/v1/bases/{base}/reviews": "review queue, officers: test_bases.py",
    "/api/v1/bases/{base}/reviews/{pair_id}": "review evidence through SourceView: test_bases.py",
    "/api/v1/licences/{number}": "licence check, holder masked: tests/entities/test_build.py",
    "/bases": "base list page",
    "/bases/{base}": "base page: test_bases.py",
    "/bases/{base}/files/{file_id}": "file page: test_bases.py",
    "/bases/{base}/reviews": "review queue page: test_bases.py",
    "/bases/{base}/conflicts": "conflicts page through SourceView, staff only: test_bases.py",
    "/bases/{base}/reviews/{pair_id}": "review page: test_bases.py",
    "/licences": "licence check page",
    "/login": "sign-in page",
    "/register": "public sign-up page",
    "/favicon.ico": "the icon",
    "/api/v1/todo": "the caller's own work: counts and links (tests/serve/test_todo.py)",
    "/todo": "the caller's own work page",
    "/": "home page: figures",
    "/catalog": "catalog search",
    "/resources/{rid}/rules": "rule definitions page",
    "/quality": "department scorecard page",
    "/comparisons": "comparison definitions page",
    "/api/v1/open/datasets": "open catalog search (metadata): tests/open/test_search.py",
    "/api/v1/open/datasets/{name}": "open dataset metadata: tests/open/test_datasets.py",
    "/api/v1/open/datasets/{name}/chart": "aggregates of opened, unmasked items: tests/open",
    "/api/v1/open/downloads/{download_id}": "what a download id leads to (no actor, no rows)",
    "/api/v1/open/plan": "the opening plan",
    "/api/v1/open/catalog.ttl": "DCAT catalog (metadata): tests/open/test_interchange.py",
    "/api/v1/open/catalog.jsonld": "DCAT catalog (metadata): tests/open/test_interchange.py",
    "/api/v1/open/datasets/{name}/datapackage.json": "Table Schema (metadata)",
    "/api/v1/open/figures": "open-data figures",
    "/api/v1/open/pledge": "the pledge text",
    "/api/v1/open/requests": "data requests and answers (public by design): test_interaction.py",
    "/api/v1/open/datasets/{name}/comments": "moderated comments: test_interaction.py",
    "/api/v1/open/showcases": "reviewed showcases: test_interaction.py",
    "/open/requests": "data requests page",
    "/api/v1/open/harvest/sources": "harvest sources, admin only: test_harvest.py",
    "/api/v1/open/external/{external_id}": "harvested catalog entries: test_harvest.py",
    "/open/external/{external_id}": "harvested catalog entry page: test_harvest.py",
    "/open/showcases": "showcases page",
    "/api/v1/open/applications": "the caller's own applications and keys: test_applications.py",
    "/open/applications": "the caller's own applications page: test_applications.py",
    "/open": "open data home: figures and titles",
    "/open/datasets": "open catalog search page",
    "/open/plan": "opening plan page",
    "/open/figures": "open-data figures page",
    # in the matrix above with concrete values (the route's own parameter is the format/action)
    "/api/v1/open/datasets/{name}/download.{fmt}": "in the matrix as open_download",
    "/api/3/action/{name}": "in the matrix as ckan_datastore; other actions: metadata",
    "/api/action/{name}": "in the matrix as ckan_datastore_legacy; other actions: metadata",
}


def test_every_get_route_is_in_the_matrix_or_says_why_not(city: dict[str, Any]) -> None:
    """Generated from the app's route table: a new route that serves data cannot be missed."""
    from tests.web.test_hygiene import api_routes

    r = city["res"]["无条件共享"]
    ids = {str(v) for v in r.values()}
    matrix = set()
    for path, _rule, _api in routes(r).values():
        template = path.split("?")[0]
        for value in sorted(ids, key=len, reverse=True):
            template = template.replace(f"/{value}/", "/{}/").replace(f"/{value}", "/{}")
        matrix.add(template)

    def shape(path: str) -> str:
        import re

        return re.sub(r"\{[^}]+\}", "{}", path)

    unclassified = [
        route.path
        for route in api_routes(city["app"].routes)
        if "GET" in route.methods
        and shape(route.path) not in matrix
        and route.path not in NO_RECORDS
        and not route.path.startswith(("/static", "/api/v1/docs", "/api/v1/openapi"))
    ]
    assert unclassified == [], "add these routes to the matrix, or to NO_RECORDS with a reason"
