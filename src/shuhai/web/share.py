"""The data-sharing API for department systems (``/api/v1/share/…``), signed with HMAC-SM3.

So far: 核验 (verification) — "do this ID number and name belong together in resource R?" →
yes / no, nothing else disclosed; the most common sharing call in practice. Every call, allowed or
refused, is appended to the audit trail.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb
import polars as pl
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from shuhai.access import audit, signing
from shuhai.access.policy import Viewer, decide
from shuhai.catalog.service import find_resource, resource_dict
from shuhai.config import Config
from shuhai.db import session_scope
from shuhai.entities import standardize as std
from shuhai.errors import Forbidden, InvalidInput, ShuhaiError
from shuhai.lake import LakeTable
from shuhai.lake.schema import quote_identifier
from shuhai.share.applications import grants

router = APIRouter(prefix="/api/v1/share")
MAX_BODY = 64 * 1024


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


async def signed_caller(request: Request) -> tuple[Viewer, bytes]:
    """Check the request's signature; returns the calling department system and the body."""
    config = _config(request)
    body = await request.body()
    try:
        if len(body) > MAX_BODY:
            raise InvalidInput(
                "share.body_too_large", "请求体过大", "The request body is too large", status=413
            )
        caller = signing.verify_request(
            config,
            request.method,
            request.url.path,
            list(request.query_params.multi_items()),
            body,
            dict(request.headers),
            redis_url=config.redis_url,
        )
    except ShuhaiError as exc:
        audit.record(
            config,
            "share.refused",
            actor=request.headers.get("x-shuhai-appkey", "anonymous")[:100],
            resource=request.url.path,
            outcome="refused",
            detail=exc.code,
        )
        raise
    viewer = Viewer(
        "system", caller["app_key"], caller["department_id"], scopes=tuple(caller["scopes"])
    )
    return viewer, body


class VerifyIn(BaseModel):
    """核验请求 / verification request."""

    id_number: str = Field(..., max_length=32, description="公民身份号码")
    name: str = Field(..., max_length=64, description="姓名")


@router.post(
    "/{resource}/verify", summary="核验：身份证号与姓名是否一致 / do this ID and name match?"
)
async def verify(request: Request, resource: str) -> dict[str, Any]:
    config = _config(request)
    viewer, body = await signed_caller(request)
    try:
        return _verify(config, viewer, resource, body)
    except ShuhaiError as exc:  # every refusal leaves an audit entry
        audit.record(
            config,
            "share.verify",
            actor=viewer.name,
            resource=resource[:200],
            outcome="refused",
            detail=exc.code,
        )
        raise


def _verify(config: Config, viewer: Viewer, resource: str, body: bytes) -> dict[str, Any]:
    try:
        data = VerifyIn.model_validate_json(body or b"{}")
    except ValueError as exc:
        raise InvalidInput("share.bad_body", "请求体格式错误", "Malformed request body") from exc
    with session_scope(config.database_url) as s:
        res = resource_dict(find_resource(s, resource))
    names = {it["name"] for it in res["items"]}
    id_col = next((c for c in ("身份证号", "公民身份号码") if c in names), None)
    name_col = "姓名" if "姓名" in names else None
    if id_col is None or name_col is None:
        raise InvalidInput(
            "share.not_verifiable",
            "该资源没有身份证号和姓名",
            "The resource has no ID number and name",
        )
    decision = decide(config, viewer, res["id"], grants=grants(config))
    entitled = decision.allowed and {id_col, name_col} <= set(decision.columns)
    if not entitled:
        raise Forbidden(
            decision.code, "无权核验该资源", "Not entitled to verify against this resource"
        )
    id_number = std.id_numbers(pl.Series([data.id_number]))[0]
    if not id_number or not re.fullmatch(r"\d{17}[\dX]", id_number):
        raise InvalidInput("share.bad_id", "身份证号格式错误", "Malformed ID number")
    name = std.names(pl.Series([data.name]))[0]
    table = LakeTable(config.lake_dir, res["id"])
    match = False
    if table.exists():
        con = duckdb.connect(":memory:")
        try:
            con.register("t", table.dataset())
            rows = con.sql(
                f"SELECT {quote_identifier(name_col)} FROM t "
                f"WHERE upper({quote_identifier(id_col)}) = ? LIMIT 5",
                params=[id_number],
            ).fetchall()
        finally:
            con.close()
        found = [r[0] for r in rows if r[0]]
        match = bool(found) and name in std.names(pl.Series(found, dtype=pl.String)).to_list()
    audit.record(
        config,
        "share.verify",
        actor=viewer.name,
        resource=res["code"],
        outcome="ok",
        detail={"match": match},
    )
    return {"resource": res["code"], "match": match}


__all__ = ["router", "signed_caller"]
