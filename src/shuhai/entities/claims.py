"""Whose number is it (证件号归属判定): an ID number is evidence, not identity.

Each record claims an ID. A claim anchors the record to the number's file only when the record
agrees with the number — the birth date and sex the number encodes against the record's own, and
the name against the other records claiming the same number:

- The records of one valid number are split into name clusters (same name, same pinyin, one
  character different in a name of three or more). Missing names belong to no cluster; a
  newborn's placeholder (``<母亲姓名>之子/之女``) says the record is somebody's child and never
  holds the number (``NEWBORN``).
- A cluster *agrees* when one of its records has the birth date the number encodes (and no
  other sex). A record giving another birth date still anchors under a spelling the agreeing
  records use (a lunar birthday), not under a look-alike (单秀云 on her mother 徐秀云's
  number); without such a confirmation a record that contradicts its number does not anchor
  (``CONTRADICTS``).
- Two agreeing spellings one character apart (陈伟 / 程伟) are one holder's typo, unless the
  authority's register holds both names.
- One agreeing cluster holds the number; the other clusters carry somebody else's number
  (``BORROWED``: a guardian's ID on a child's health record, a mother's on her newborn's).
- Two or more agreeing clusters are two people issued the same number (``DUPLICATE``, 重号): the
  number and the name together tell them apart, so each agreeing cluster is anchored by both
  (the authority's cluster, or the largest, by the number alone — the file it had keeps its id),
  and the conflict is listed for the authority. Records that cannot say which holder they are
  (no name, no agreeing cluster) link by their other attributes.
- A number no cluster agrees with is held by the one cluster that cannot be told from it, or by
  the authority's cluster; otherwise it is ``AMBIGUOUS``.

A contested claim keeps its number on the record (search, export, review), but the number takes no
part in the probabilistic comparison, and birth date and sex are never filled in from it.
"""

from __future__ import annotations

import polars as pl

from shuhai.entities import standardize as std

CHECKSUM = "checksum"  # 校验位错误
DAMAGED = "damaged"  # 号码不可用（科学计数法、位数不对）
CONTRADICTS = "contradicts"  # 与本记录的出生日期、性别不符
BORROWED = "borrowed"  # 他人号码（监护人、母亲的身份证号）
DUPLICATE = "duplicate"  # 重号：两人持有同一号码
AMBIGUOUS = "ambiguous"  # 多人使用、无法判定持有人
NEWBORN = "newborn"  # 新生儿临时姓名（某某之女）：号码是母亲的
CONTESTED = (CONTRADICTS, BORROWED, DUPLICATE, AMBIGUOUS, NEWBORN)

LABELS = {
    CHECKSUM: ("校验位错误", "bad check character"),
    DAMAGED: ("号码已损坏（如科学计数法）", "number damaged (e.g. scientific notation)"),
    CONTRADICTS: ("与记录的出生日期或性别不符", "contradicts the record's birth date or sex"),
    BORROWED: ("他人号码（监护人或母亲）", "another person's number (a guardian's or mother's)"),
    DUPLICATE: ("重号：不同的人持有同一号码", "duplicate number: different people hold it"),
    AMBIGUOUS: ("多人使用，无法判定持有人", "used by several people; the holder is unclear"),
    NEWBORN: ("新生儿记录，号码为母亲的", "a newborn's record carrying the mother's number"),
}

# Names hospitals and clinics give a newborn before it is named: 王芳之子, 王芳之女, 王芳之婴, 王芳婴儿.
PLACEHOLDER = r"(之大?[子女男儿孩婴]|婴儿|新生儿|无名氏)$"
ID_SHAPE = r"^\d{17}[\dX]$"


def placeholders(names: pl.Series) -> pl.Series:
    """True for a newborn's placeholder name (王芳之女): a name that is not the person's own."""
    return names.str.contains(PLACEHOLDER).fill_null(False)


def _agreement(frame: pl.DataFrame) -> pl.Series:
    """Per record: 1 agrees with what its number encodes, -1 contradicts it, 0 cannot tell."""
    id_birth, id_sex = std.birth_from_id(frame["id"]), std.sex_from_id(frame["id"])
    birth, sex = frame["birth"], frame["sex"]
    return pl.select(
        pl.when(
            (birth.is_not_null() & id_birth.is_not_null() & (birth != id_birth))
            | (sex.is_not_null() & id_sex.is_not_null() & (sex != id_sex))
        )
        .then(-1)
        .when(birth.is_not_null() & (birth == id_birth))
        .then(1)
        .otherwise(0)
        .cast(pl.Int8)
    ).to_series()


def compatible(a: tuple[str, str | None], b: tuple[str, str | None]) -> bool:
    """Could two spellings be one person's name? Same name, same pinyin (张/章, 李/里), or (three
    characters or more) one character different. Two-character names differing in a character
    of another sound are different people (张伟 / 张强)."""
    (na, pa), (nb, pb) = a, b
    if na == nb or (pa is not None and pa == pb):
        return True
    if min(len(na), len(nb)) < 3 or abs(len(na) - len(nb)) > 1:
        return False
    if len(na) == len(nb):
        return sum(x != y for x, y in zip(na, nb, strict=True)) == 1
    short, long = (na, nb) if len(na) < len(nb) else (nb, na)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _clusters(names: list[tuple[str, str | None]]) -> list[int]:
    """Union-find over compatible spellings: a cluster number per distinct spelling."""
    parent = list(range(len(names)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if compatible(names[i], names[j]):
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
    return [find(i) for i in range(len(names))]


def judge(records: pl.DataFrame, *, authority: str | None = None) -> pl.DataFrame:
    """Decide each record's claim: ``key``, ``id_valid`` (the claim anchors the record),
    ``id_flag`` (why not, or a damaged number's state), ``conflict`` (the number's conflict
    kind, for every record of a number two clusters claim) and ``holder`` (for a 重号, the name
    that anchors together with the number; null where the number anchors alone).

    ``records`` holds ``key``, ``member``, ``id`` (standardized), ``name``, ``name_py``,
    ``birth`` and ``sex`` (the record's own, not filled in from the number). ``authority``: the
    member whose records hold a number when no cluster agrees with it."""
    ids = records["id"]
    shaped = ids.str.contains(ID_SHAPE).fill_null(False)
    ok = std.id_checksum_ok(ids).fill_null(False) & shaped
    flag = (
        pl.when(ids.is_null())
        .then(None)
        .when(~shaped)
        .then(pl.lit(DAMAGED))
        .when(~ok)
        .then(pl.lit(CHECKSUM))
        .otherwise(None)
    )
    # a newborn's placeholder name (marked by the standardizer, or still in the name) says the
    # record is somebody's child: never the holder of the number it carries
    placeholder = placeholders(records["name"])
    if "id_flag" in records.columns:
        placeholder = placeholder | (records["id_flag"] == NEWBORN).fill_null(False)
    agree = pl.select(
        pl.when(pl.Series(placeholder)).then(-1).otherwise(_agreement(records)).cast(pl.Int8)
    ).to_series()
    frame = records.select("key", "member", "id", "name", "name_py").with_columns(
        pl.Series("ok", ok),
        pl.Series("agree", agree),
        pl.when(pl.Series(placeholder)).then(None).otherwise(pl.col("name")).alias("name"),
        pl.select(
            pl.when(pl.Series(placeholder) & pl.Series(ok)).then(pl.lit(NEWBORN)).otherwise(flag)
        )
        .to_series()
        .alias("flag"),
    )
    claims = frame.filter(pl.col("ok"))
    # Numbers claimed under one spelling (or none): one cluster, decided without Python.
    spread = claims.group_by("id").agg(pl.col("name").drop_nulls().n_unique().alias("names"))
    single = claims.join(spread.filter(pl.col("names") <= 1), on="id", how="semi")
    single_state = single.group_by("id").agg((pl.col("agree") == 1).any().alias("yes"))
    decided = single.join(single_state, on="id").select(
        "key",
        # a named record confirmed by its cluster keeps the number (a lunar birthday, a typo);
        # a nameless one that contradicts it (a newborn's placeholder) has nothing to confirm it
        pl.when((pl.col("agree") == -1) & (~pl.col("yes") | pl.col("name").is_null()))
        .then(pl.lit(CONTRADICTS))
        .otherwise(None)
        .alias("contest"),
        pl.lit(None, dtype=pl.String).alias("conflict"),
        pl.lit(None, dtype=pl.String).alias("holder"),
    )
    many = claims.join(spread.filter(pl.col("names") > 1), on="id", how="semi")
    rows: list[tuple[str, str | None, str | None, str | None]] = []
    for (_id,), group in many.group_by("id"):
        rows.extend(_judge_group(group, authority))
    contested = pl.concat(
        [
            decided,
            pl.DataFrame(
                rows,
                schema={
                    "key": pl.String,
                    "contest": pl.String,
                    "conflict": pl.String,
                    "holder": pl.String,
                },
                orient="row",
            ),
        ]
    )
    out = frame.select("key", "ok", "flag").join(contested, on="key", how="left")
    anchored = pl.col("ok") & pl.col("contest").is_null()
    return out.select(
        "key",
        anchored.alias("id_valid"),
        pl.coalesce(
            pl.when(pl.col("flag") == NEWBORN).then(pl.col("flag")),
            "contest",
            pl.when(anchored & (pl.col("conflict") == DUPLICATE)).then(pl.lit(DUPLICATE)),
            "flag",
        ).alias("id_flag"),
        "conflict",
        "holder",
    )


def _judge_group(
    group: pl.DataFrame, authority: str | None
) -> list[tuple[str, str | None, str | None, str | None]]:
    """One number claimed under several spellings: which cluster holds it (see the module).
    Rows of (key, contest, conflict, holder)."""
    spellings = (
        group.filter(pl.col("name").is_not_null())
        .select("name", "name_py")
        .unique(maintain_order=True)
    )
    pairs = list(spellings.iter_rows())
    cluster_of = dict(zip(spellings["name"].to_list(), _clusters(pairs), strict=True))
    keys, names = group["key"].to_list(), group["name"].to_list()
    agree, members = group["agree"].to_list(), group["member"].to_list()
    state: dict[int, list[int]] = {}
    spelled: dict[int, dict[str, int]] = {}
    has_authority: set[int] = set()
    for name, a, m in zip(names, agree, members, strict=True):
        if name is None:
            continue
        c = cluster_of[name]
        state.setdefault(c, []).append(a)
        spelled.setdefault(c, {})[name] = spelled.get(c, {}).get(name, 0) + 1
        if authority is not None and m == authority:
            has_authority.add(c)
    pys = group["name_py"].to_list()
    # the spellings of records that agree with the number: a contradicting record keeps the
    # number only under one of them (a lunar birthday), not under a look-alike (单秀云 for 徐秀云)
    sure = {n for n, a in zip(names, agree, strict=True) if a == 1 and n is not None}
    sure |= {p for p, a in zip(pys, agree, strict=True) if a == 1 and p is not None}

    def kept(n: str | None, p: str | None) -> bool:
        return n is not None and (n in sure or p in sure)

    if len(state) == 1:  # spellings of one name: one cluster after all
        return [
            (k, CONTRADICTS if a == -1 and not kept(n, p) else None, None, None)
            for k, n, p, a in zip(keys, names, pys, agree, strict=True)
        ]
    agreeing = [c for c, v in state.items() if any(a == 1 for a in v)]
    unknown = [c for c, v in state.items() if c not in agreeing and any(a == 0 for a in v)]
    registered = [c for c in agreeing if c in has_authority]
    if len(agreeing) > 1 and len(registered) < 2 and _one_spelling_apart(agreeing, spelled):
        # 陈伟 / 程伟 with the same number, birth date and sex: a typo, not a second person —
        # unless the authority's register itself holds both names (邱旭 and 汪旭)
        merged = min(agreeing)
        cluster_of = {n: merged if c in agreeing else c for n, c in cluster_of.items()}
        agreeing = [merged]
        if len(set(cluster_of.values())) == 1:  # nobody else claims the number
            return [
                (k, CONTRADICTS if a == -1 and not kept(n, p) else None, None, None)
                for k, n, p, a in zip(keys, names, pys, agree, strict=True)
            ]
    if len(agreeing) > 1:
        return _duplicate(keys, names, agree, cluster_of, agreeing, has_authority, spelled)
    holder: int | None = None
    kind = BORROWED
    if len(agreeing) == 1:
        holder = agreeing[0]
    elif len(unknown) == 1:
        holder = unknown[0]
    else:
        by_authority = [c for c in unknown if c in has_authority]
        holder = by_authority[0] if len(by_authority) == 1 else None
        kind = BORROWED if holder is not None else AMBIGUOUS
    out: list[tuple[str, str | None, str | None, str | None]] = []
    for k, name, py, a in zip(keys, names, pys, agree, strict=True):
        if name is None:  # no name to tell: with the holder unless the record contradicts
            out.append((k, None if holder is not None and a != -1 else kind, kind, None))
        elif cluster_of[name] != holder:
            out.append((k, kind, kind, None))
        else:  # the holder's spelling: a contradicting record keeps it under a confirmed one
            out.append((k, CONTRADICTS if a == -1 and not kept(name, py) else None, kind, None))
    return out


def _one_spelling_apart(clusters: list[int], spelled: dict[int, dict[str, int]]) -> bool:
    """Whether the clusters' spellings are all within one character of each other (same
    length): too close to be two people's names when the number, birth date and sex agree."""
    names = [n for c in clusters for n in spelled[c]]
    return all(
        len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) <= 1
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    )


def _duplicate(
    keys: list[str],
    names: list[str | None],
    agree: list[int],
    cluster_of: dict[str, int],
    agreeing: list[int],
    has_authority: set[int],
    spelled: dict[int, dict[str, int]],
) -> list[tuple[str, str | None, str | None, str | None]]:
    """重号: every agreeing cluster is a holder, anchored by the number and its name; the
    authority's cluster (or the largest) by the number alone, so that its file keeps its id."""

    def canonical(c: int) -> str:
        counts = spelled[c]
        return min(counts, key=lambda n: (-counts[n], n))

    size = {c: sum(spelled[c].values()) for c in agreeing}
    main = min(agreeing, key=lambda c: (c not in has_authority, -size[c], canonical(c)))
    out: list[tuple[str, str | None, str | None, str | None]] = []
    for k, name, _a in zip(keys, names, agree, strict=True):
        c = cluster_of.get(name) if name is not None else None
        if c is None or c not in agreeing:
            out.append((k, DUPLICATE, DUPLICATE, None))  # cannot say which holder it is
        else:
            out.append((k, None, DUPLICATE, None if c == main else canonical(c)))
    return out


FORMER_WINDOW_DAYS = 400  # a corrected birth date moves by days or months, rarely more


def former_numbers(records: pl.DataFrame, authority: str | None) -> pl.DataFrame:
    """一人多号: files anchored by a number the authority does not hold, that belong to a file of
    the authority under its current number. A corrected birth date gives a person a new number;
    older departments keep the old one with the old birth date. The old-number file joins the
    current one when exactly one authority file has the same name, the same sex and the same
    region code (first six digits), a birth date within ``FORMER_WINDOW_DAYS``, and no record
    from any department the old file has records from (a department keeps one record per
    person). Returns (``file_id``, ``into``).

    ``records``: placed records with ``file_id``, ``member``, ``id``, ``id_valid``, ``id_flag``,
    ``name`` and ``method``."""
    empty = pl.DataFrame(schema={"file_id": pl.String, "into": pl.String})
    if authority is None or records.height == 0:
        return empty
    anchored = records.filter(pl.col("id_valid") & (pl.col("method") == "id"))
    files = anchored.group_by("file_id").agg(
        (pl.col("member") == authority).any().alias("held"),
        pl.col("id").n_unique().alias("numbers"),
        pl.col("id").first(),
        pl.col("name").drop_nulls().mode().first().alias("name"),
        (pl.col("id_flag").fill_null("") == DUPLICATE).any().alias("dup"),
    )
    everything = records.group_by("file_id").agg(
        (pl.col("member") == authority).any().alias("has_authority")
    )
    files = files.join(everything, on="file_id").filter(pl.col("name").is_not_null())

    def keyed(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.col("id").str.slice(0, 6).alias("region"),
            pl.col("id").str.slice(16, 1).cast(pl.Int32, strict=False).mod(2).alias("odd"),
            pl.col("id").str.slice(6, 8).str.to_date("%Y%m%d", strict=False).alias("born"),
        )

    old = keyed(files.filter(~pl.col("has_authority") & ~pl.col("dup") & (pl.col("numbers") == 1)))
    current = keyed(files.filter(pl.col("held") & ~pl.col("dup")))
    if old.height == 0 or current.height == 0:
        return empty
    pairs = old.select("file_id", "name", "region", "odd", "born", "id").join(
        current.select(
            pl.col("file_id").alias("into"),
            "name",
            "region",
            "odd",
            pl.col("born").alias("born_into"),
            pl.col("id").alias("id_into"),
        ),
        on=["name", "region", "odd"],
    )
    pairs = pairs.filter(
        (pl.col("id") != pl.col("id_into"))
        & ((pl.col("born") - pl.col("born_into")).dt.total_days().abs() <= FORMER_WINDOW_DAYS)
    )
    if pairs.height == 0:
        return empty
    members = records.select("file_id", "member").unique()
    overlap = (
        pairs.select("file_id", "into")
        .join(members, on="file_id")
        .join(members.rename({"file_id": "into"}), on=["into", "member"], how="semi")
        .select("file_id", "into")
        .unique()
    )
    pairs = pairs.join(overlap, on=["file_id", "into"], how="anti")
    unique = pairs.group_by("file_id").agg(
        pl.col("into").n_unique().alias("n"), pl.col("into").first()
    )
    return unique.filter(pl.col("n") == 1).select("file_id", "into")


SCIENTIFIC = r"^(\d)\.(\d+)[eE]\+?(\d+)$"


def known_digits(ids: pl.Series) -> pl.Series:
    """What a number Excel turned into scientific notation still tells: its leading digits.
    ``3.50102E+17`` was an 18-digit number starting 35010 — the last digit shown may have been
    rounded, so it is not trusted. Null for anything else."""
    parts = ids.str.extract_groups(SCIENTIFIC)
    lead, frac, power = parts.struct.field("1"), parts.struct.field("2"), parts.struct.field("3")
    digits = pl.select(pl.concat_str([lead, frac])).to_series()
    length = power.cast(pl.Int32, strict=False) + 1
    usable = (length == 18) & (digits.str.len_chars() >= 3)
    return (
        pl.select(
            pl.when(usable).then(digits.str.slice(0, digits.str.len_chars() - 1)).otherwise(None)
        )
        .to_series()
        .alias(ids.name)
    )


def partial_numbers(damaged: pl.DataFrame, holders: pl.DataFrame) -> pl.DataFrame:
    """Records whose number Excel damaged, matched to the one authority file whose current
    number starts with the digits that survived and that has the same name (and the same birth
    date and sex where the record gives them). Returns (``key``, ``into``) for the records with
    exactly one such file: the number is never guessed, only its known digits compared.

    ``damaged``: ``key``, ``id``, ``name``, ``birth``, ``sex``; ``holders``: the authority's
    anchored records, ``file_id``, ``id``, ``name``, ``birth``, ``sex``."""
    empty = pl.DataFrame(schema={"key": pl.String, "into": pl.String})
    probe = damaged.with_columns(known_digits(damaged["id"]).alias("digits")).filter(
        pl.col("digits").is_not_null() & pl.col("name").is_not_null()
    )
    if probe.height == 0 or holders.height == 0:
        return empty
    pairs = probe.select("key", "name", "digits", "birth", "sex").join(
        holders.select(
            pl.col("file_id").alias("into"),
            "name",
            pl.col("id").alias("id_into"),
            pl.col("birth").alias("birth_into"),
            pl.col("sex").alias("sex_into"),
        ),
        on="name",
    )
    pairs = pairs.filter(
        pl.col("id_into").str.starts_with(pl.col("digits"))
        & (pl.col("birth").is_null() | (pl.col("birth") == pl.col("birth_into")))
        & (pl.col("sex").is_null() | (pl.col("sex") == pl.col("sex_into")))
    )
    unique = pairs.group_by("key").agg(pl.col("into").n_unique().alias("n"), pl.col("into").first())
    return unique.filter(pl.col("n") == 1).select("key", "into")


__all__ = [
    "AMBIGUOUS",
    "BORROWED",
    "CHECKSUM",
    "CONTESTED",
    "CONTRADICTS",
    "DAMAGED",
    "DUPLICATE",
    "LABELS",
    "compatible",
    "former_numbers",
    "judge",
    "known_digits",
    "partial_numbers",
    "placeholders",
]
