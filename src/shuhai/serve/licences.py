"""电子证照核验 (licence verification) as it leaves the platform: anyone may ask whether a licence
number exists and is valid; a person holder's name is masked (confirmed, not disclosed), and every
check is audited."""

from __future__ import annotations

from typing import Any

import polars as pl

from shuhai.access.masking import mask_series
from shuhai.access.policy import Viewer, record
from shuhai.config import Config
from shuhai.entities.licences import verify


def check(
    config: Config, viewer: Viewer, number: str, *, holder: str | None = None
) -> dict[str, Any]:
    out = verify(config, number, holder=holder)
    h = out.get("holder")
    if h and h.get("kind") == "person" and h.get("name"):
        h["name"] = mask_series(pl.Series([h["name"]], dtype=pl.String), "name")[0]
    record(
        config,
        viewer,
        "licence.verify",
        "licences",
        detail={"exists": out["exists"], "holder_given": holder is not None},
    )
    return out


__all__ = ["check"]
