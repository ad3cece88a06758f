"""Member records (成员记录): each member resource's current version read from the lake and put in
one shape for linking — lineage (resource, version, run, line), the standardized ID, the linking
fields, the timeline event and every configured attribute.

A record's key is ``resource/ID column/run/line``: stable while the row is not rewritten, new when
an ingest changes it, so an incremental build sees exactly what is new, changed or gone.
"""

from __future__ import annotations

import re

import polars as pl
import pyarrow as pa

from shuhai.config import Config
from shuhai.entities import claims
from shuhai.entities import standardize as std
from shuhai.entities.config import BaseConfig, Member
from shuhai.lake import LINE_COLUMN, RUN_COLUMN, LakeTable
from shuhai.quality.vectorized import uscc_valid

FIELDS = [
    "id",
    "id_valid",
    "id_flag",
    "name",
    "name_py",
    "birth",
    "sex",
    "phone",
    "district",
    "street",
    "detail",
    "address",
    "legal",
    "legal_py",
]
LINEAGE = ["key", "member", "resource_id", "version", "run", "line"]


def constant(value: object, n: int, dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
    """A column of ``n`` copies of one value, made without a Python list."""
    return pl.repeat(value, n, dtype=dtype, eager=True)


def attr_column(attribute: str) -> str:
    return f"a:{attribute}"


def _text(series: pl.Series) -> pl.Series:
    if series.dtype == pl.String:
        return series.str.strip_chars().replace("", None)
    if series.dtype in (pl.Date, pl.Datetime):
        return std.dates(series)
    return series.cast(pl.String)


def standardized_value(attribute: str, series: pl.Series, kind: str) -> pl.Series:
    """An attribute's values as they are compared and kept (one rule per kind of value)."""
    if series.dtype in (pl.Date, pl.Datetime) or re.search(r"日期|出生年月", attribute):
        return std.dates(series)
    text = _text(series)
    if attribute.endswith("身份证号") or attribute in ("社会保障号码", "公民身份号码"):
        return std.id_numbers(text)
    if re.search(r"统一社会信用代码|纳税人识别号", attribute):
        return text.str.to_uppercase()
    if re.search(r"电话|手机", attribute):
        return std.phones(text)
    if "性别" in attribute:
        return std.sex_codes(text)
    if re.search(r"姓名$|^法定代表人$", attribute):
        return std.names(text)
    if kind == "enterprise" and re.search(r"名称$", attribute):
        return std.enterprise_names(text)
    if re.search(r"地址|住址|住所", attribute):
        return text.str.replace_many(std.FULL, std.HALF).str.replace_all("號", "号")
    return text


def read_member(
    config: Config,
    cfg: BaseConfig,
    member: Member,
    *,
    version: int | None = None,
    rows: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One member's rows in the record shape (empty frame when the resource has no data yet);
    ``rows`` (``run``, ``line``) keeps only those rows, before any standardization."""
    table = LakeTable(config.lake_dir, member.resource_id)
    if not table.exists():
        return pl.DataFrame()
    version = table.latest_version() if version is None else version
    dataset = table.dataset(version)
    wanted = [
        c for c in [member.id_column, *member.attributes.values(), *member.roles.values()] if c
    ]
    if member.event:
        wanted.append(member.event["date"])
    columns = [c for c in dict.fromkeys(wanted) if c in dataset.schema.names]
    if rows is not None:
        # Only the runs that wrote the wanted rows: Polars filters while it decodes, so the
        # other rows' text is never materialized.
        schema = pl.Schema(pl.from_arrow(dataset.schema.empty_table()).schema)  # type: ignore[union-attr]
        data = (
            pl.scan_parquet(list(dataset.files), schema=schema, missing_columns="insert")
            .select(*columns, RUN_COLUMN, LINE_COLUMN)
            .filter(pl.col(RUN_COLUMN).is_in(rows["run"].unique().implode()))
            .collect()
        )
    else:
        data = pl.from_arrow(dataset.to_table(columns=[*columns, RUN_COLUMN, LINE_COLUMN]))
    assert isinstance(data, pl.DataFrame)
    data = table.open_frame(data, dataset.schema)
    runs = (rows["run"] if rows is not None else data[RUN_COLUMN]).unique().sort().to_list()
    held = quarantined(config, member, runs, columns)
    if rows is not None:
        wanted_rows = rows.select(
            pl.col("run").alias(RUN_COLUMN), pl.col("line").alias(LINE_COLUMN)
        ).cast({RUN_COLUMN: data[RUN_COLUMN].dtype, LINE_COLUMN: pl.Int64})
        data = data.join(wanted_rows, on=[RUN_COLUMN, LINE_COLUMN], how="semi")
        if held is not None:
            held = held.join(
                wanted_rows.cast({RUN_COLUMN: pl.Int64}), on=[RUN_COLUMN, LINE_COLUMN], how="semi"
            )
    shaped = shape(cfg, member, data, version or 0)
    if held is not None and held.height:
        shaped = pl.concat([shaped, shape(cfg, member, held, version or 0)], how="vertical_relaxed")
    # a merge that matched two rows of one key writes the source row twice: one record
    return shaped.unique("key", keep="first", maintain_order=True)


def quarantined(
    config: Config, member: Member, runs: list[int], columns: list[str] | None = None
) -> pl.DataFrame | None:
    """The rows of ``runs`` that ingest quarantined but that are still records of somebody: a
    damaged value (an ID Excel turned into 1.10105E+17, a bad date) does not cost the record its
    place in a base database — it links by its other attributes and keeps the damaged value,
    flagged. Rows that could not be split into fields, and rows a later duplicate replaced, are
    not records. Text columns, ``_run_id`` and ``_line``; None when nothing was quarantined."""
    from shuhai.ingest.quarantine import quarantine_path, read_rows
    from shuhai.ingest.typing import REASONS
    from shuhai.lake.cipher import keyring_for

    superseded = REASONS["duplicate_key"][0]
    keyring = keyring_for(config.lake_dir)
    frames = []
    for run in runs:
        path = quarantine_path(config.quarantine_dir, member.resource_id, int(run))
        table = read_rows(path, columns or [], keyring=keyring) if path.exists() else None
        if table is None or table.num_rows == 0:
            continue
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        frame = frame.filter(
            ~pl.col("_reasons").fill_null("").str.contains(superseded, literal=True)
        )
        frames.append(
            frame.drop("_reasons").with_columns(
                pl.lit(int(run), dtype=pl.Int64).alias(RUN_COLUMN),
                pl.col(LINE_COLUMN).cast(pl.Int64),
            )
        )
    if not frames:
        return None
    return pl.concat(frames, how="diagonal_relaxed")


def shape(cfg: BaseConfig, member: Member, data: pl.DataFrame, version: int) -> pl.DataFrame:
    """Standardize one member's raw rows (lake columns plus ``_run_id``/``_line``)."""
    n = data.height
    missing = constant(None, n, pl.String)

    def col(name: str | None) -> pl.Series:
        return data[name] if name and name in data.columns else missing

    run, line = data[RUN_COLUMN].cast(pl.Int64), data[LINE_COLUMN].cast(pl.Int64)
    out: dict[str, pl.Series] = {
        "key": pl.select(
            pl.concat_str(
                [pl.lit(f"{member.key}/"), run.cast(pl.String), pl.lit("/"), line.cast(pl.String)]
            )
        ).to_series(),
        "member": constant(member.key, n, pl.String),
        "resource_id": constant(member.resource_id, n, pl.Int32),
        "version": constant(version, n, pl.Int32),
        "run": run,
        "line": line,
    }
    raw_id = _text(col(member.id_column))
    roles = member.roles
    if cfg.kind == "person":
        ids = std.id_numbers(raw_id, member.id_format)
        out["id"] = ids
        # Whether the number anchors the record is decided across records (``claims.judge``,
        # at build time): here it is only whether the number itself is sound.
        out["id_valid"] = std.id_checksum_ok(ids)
        names = std.names(_text(col(roles.get("name"))))
        # A newborn's placeholder (王芳之女) names the mother, not the child: no name to compare,
        # and a sign that the number on the record is the mother's (claims.NEWBORN).
        newborn = claims.placeholders(names)
        out["id_flag"] = pl.select(
            pl.when(newborn).then(pl.lit(claims.NEWBORN)).otherwise(None).cast(pl.String)
        ).to_series()
        names = pl.select(pl.when(newborn).then(None).otherwise(names)).to_series()
        out["name"] = names
        out["name_py"] = std.pinyin(out["name"])
        birth = std.dates(col(roles.get("birth"))) if "birth" in roles else missing
        sex = (
            std.sex_codes(_text(col(roles.get("sex"))), member.sex_format)
            if "sex" in roles
            else missing
        )
        # The record's own birth date and sex: filled in from the number only once the claim
        # is judged (a guardian's number must not lend its birth date to a child's record).
        out["birth"] = birth
        out["sex"] = std.known_sex(sex, member.sex_format)
        out["legal"] = missing
        out["legal_py"] = missing
    else:
        ids = (
            raw_id.str.replace_many(std.FULL, std.HALF)
            .str.to_uppercase()
            .str.replace_all(r"[\s\u3000]+", "")
        )
        out["id"] = ids
        out["id_valid"] = pl.Series(
            uscc_valid(pa.array(ids.to_list(), pa.string())).to_pylist(), dtype=pl.Boolean
        ).fill_null(False)
        out["id_flag"] = missing
        out["name"] = std.enterprise_names(_text(col(roles.get("name"))))
        out["name_py"] = missing
        out["birth"] = missing
        out["sex"] = missing
        out["legal"] = std.names(_text(col(roles.get("legal"))))
        out["legal_py"] = std.pinyin(out["legal"])
    out["phone"] = std.phones(_text(col(roles.get("phone"))))
    address = _text(col(roles.get("address")))
    parts = std.addresses(address)
    out["district"] = parts["district"]
    out["street"] = parts["street"]
    out["detail"] = parts["detail"]
    out["address"] = (
        pl.select(
            pl.concat_str(
                [
                    parts[c].fill_null("")
                    for c in ("province", "city", "district", "street", "detail")
                ]
            )
        )
        .to_series()
        .replace("", None)
    )
    if member.event:
        out["event_date"] = std.dates(col(member.event["date"]))
        out["event_label"] = constant(member.event["label"], n, pl.String)
    else:
        out["event_date"] = missing
        out["event_label"] = missing
    for attribute, column in member.attributes.items():
        out[attr_column(attribute)] = standardized_value(attribute, col(column), cfg.kind)
    return pl.DataFrame({k: v.alias(k) for k, v in out.items()})


def read_members(
    config: Config, cfg: BaseConfig, versions: dict[int, int] | None = None
) -> pl.DataFrame:
    """Every member's records, one frame (attributes a member lacks are null)."""
    frames = [
        read_member(config, cfg, m, version=(versions or {}).get(m.resource_id))
        for m in cfg.members
    ]
    frames = [f for f in frames if f.width]
    if not frames:
        return empty(cfg)
    return pl.concat([empty(cfg), *frames], how="diagonal_relaxed")


def empty(cfg: BaseConfig) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        "key": pl.String(),
        "member": pl.String(),
        "resource_id": pl.Int32(),
        "version": pl.Int32(),
        "run": pl.Int64(),
        "line": pl.Int64(),
    }
    schema |= {f: (pl.Boolean() if f == "id_valid" else pl.String()) for f in FIELDS}
    schema |= {"event_date": pl.String(), "event_label": pl.String()}
    schema |= {attr_column(a): pl.String() for a in cfg.attributes}
    return pl.DataFrame(schema=schema)


def current_versions(config: Config, cfg: BaseConfig) -> dict[int, int]:
    """Latest lake version of each member resource (those with data)."""
    out = {}
    for m in cfg.members:
        table = LakeTable(config.lake_dir, m.resource_id)
        if table.exists():
            out[m.resource_id] = int(table.latest_version() or 0)
    return out


__all__ = [
    "FIELDS",
    "LINEAGE",
    "attr_column",
    "constant",
    "current_versions",
    "empty",
    "read_member",
    "quarantined",
    "read_members",
    "settle_claims",
    "shape",
    "standardized_value",
]


def settle_claims(
    cfg: BaseConfig,
    records: pl.DataFrame,
    *,
    context: pl.DataFrame | None = None,
    context_conflicts: list[pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Judge the ID claims of ``records`` (``claims.judge``), with ``context`` — records already
    placed that claim the same numbers — as evidence; fill birth date and sex in from the
    numbers that anchor. Enterprise bases keep their code check as it is."""
    if cfg.kind != "person" or records.height == 0:
        return records
    cols = ["key", "member", "id", "name", "name_py", "birth", "sex", "id_flag"]
    both = records.select(cols)
    if context is not None and context.height:
        both = pl.concat([both, context.select(cols)], how="vertical_relaxed").unique(
            "key", keep="first", maintain_order=True
        )
    verdict = claims.judge(both, authority=cfg.authority_key)
    if context is not None and context.height and context_conflicts is not None:
        # placed records whose number is now in conflict are listed with it (they stay put
        # until a full build judges them again)
        disputed = context.join(
            verdict.filter(pl.col("conflict").is_not_null()).select("key", "conflict"), on="key"
        ).join(records.select("key"), on="key", how="anti")
        context_conflicts.append(disputed)
    out = records.drop("id_valid", "id_flag").join(verdict, on="key", how="left")
    # only an anchoring number lends its birth date and sex: a mistyped one may be anybody's,
    # and its digits are compared as the number already (counting them twice overstates them)
    trusted = pl.col("id_valid")
    id_birth = std.birth_from_id(out["id"])
    id_sex = std.sex_from_id(out["id"])
    return out.with_columns(
        pl.when(pl.col("birth").is_null() & trusted)
        .then(pl.Series(id_birth))
        .otherwise(pl.col("birth"))
        .alias("birth"),
        pl.when(pl.col("sex").is_null() & trusted)
        .then(pl.Series(id_sex))
        .otherwise(pl.col("sex"))
        .alias("sex"),
        pl.col("id_valid").fill_null(False),
    ).select([*records.columns, "conflict", "holder"])
