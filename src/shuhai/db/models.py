"""Metadata tables (元数据): departments, catalog resources and info items, ingest runs, quarantine.

The lake holds the data; these tables hold what describes it. Alembic migrations under
``shuhai/db/migrations`` create them; tests run them on SQLite and PostgreSQL.
"""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Tables the migrations make that no model maps: the open catalog's full-text index, whose shape
# is each database's own (an SQLite FTS5 virtual table and its shadow tables, a PostgreSQL
# table with a generated tsvector and a GIN index), read and written by ``shuhai.open.search``.
UNMAPPED_TABLES = ("open_fts",)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Department(Base):
    """政务部门: a data provider (提供方)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # 提供方代码
    name: Mapped[str] = mapped_column(String(200), unique=True)
    uscc: Mapped[str | None] = mapped_column(String(18))  # 统一社会信用代码
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    resources: Mapped[list["Resource"]] = relationship(back_populates="department")


class Resource(Base):
    """政务信息资源: one catalog entry with the elements of the 2017 编制指南."""

    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True, index=True)  # 资源代码
    name: Mapped[str] = mapped_column(String(200))  # 资源名称
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    class_category: Mapped[str] = mapped_column(String(1))  # 类
    class_item: Mapped[str] = mapped_column(String(2))  # 项
    class_subitem: Mapped[str] = mapped_column(String(3))  # 目
    class_detail: Mapped[str] = mapped_column(String(20), default="")  # 细目
    sequence: Mapped[int] = mapped_column(Integer)  # 顺序码
    abstract: Mapped[str] = mapped_column(Text, default="")  # 摘要
    format: Mapped[str] = mapped_column(String(40))  # 资源格式
    share_type: Mapped[str] = mapped_column(String(20), index=True)  # 共享类型
    share_condition: Mapped[str] = mapped_column(Text, default="")  # 共享条件
    share_method: Mapped[str] = mapped_column(String(40), default="")  # 共享方式
    open_type: Mapped[str] = mapped_column(String(20), default="不予开放")  # 开放属性
    open_condition: Mapped[str] = mapped_column(Text, default="")
    update_cycle: Mapped[str] = mapped_column(String(20), index=True)  # 更新周期
    publish_date: Mapped[date | None] = mapped_column(Date)  # 发布日期
    related_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # 关联资源代码
    key_columns: Mapped[list[str]] = mapped_column(JSON, default=list)  # 主键信息项 (for upsert)
    search_text: Mapped[str] = mapped_column(Text, default="")
    lake_version: Mapped[int | None] = mapped_column(Integer)  # latest committed version
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)  # rows in the latest version
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    department: Mapped["Department"] = relationship(back_populates="resources")
    items: Mapped[list["InfoItem"]] = relationship(
        back_populates="resource",
        order_by="InfoItem.position",
        cascade="all, delete-orphan",
    )
    runs: Mapped[list["IngestRun"]] = relationship(back_populates="resource")


class InfoItem(Base):
    """信息项: one column of a resource (名称, 数据类型, 长度, 描述)."""

    __tablename__ = "info_items"
    __table_args__ = (UniqueConstraint("resource_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    data_type: Mapped[str] = mapped_column(String(2))  # C N Y D T L M (guide's type letters)
    length: Mapped[int | None] = mapped_column(Integer)
    scale: Mapped[int | None] = mapped_column(Integer)  # decimals for N
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    # GB/T 43697 分类分级: proposed from the name and values, confirmed by the security officer
    data_class: Mapped[str | None] = mapped_column(String(4))  # 核心 / 重要 / 一般
    level: Mapped[str | None] = mapped_column(String(2))  # L1–L4
    grading_confirmed_by: Mapped[str | None] = mapped_column(String(100))

    resource: Mapped["Resource"] = relationship(back_populates="items")


class IngestRun(Base):
    """导入记录: one ingest of one source into one resource, and the lake version it made."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    source: Mapped[str] = mapped_column(Text)  # path, or URL without password
    source_kind: Mapped[str] = mapped_column(String(20))  # csv xlsx jsonl sql
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    encoding: Mapped[str | None] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="running", index=True)
    rows_in: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_loaded: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_quarantined: Mapped[int] = mapped_column(BigInteger, default=0)
    lake_version: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_message: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    resource: Mapped["Resource"] = relationship(back_populates="runs")
    quarantine: Mapped[list["QuarantineSummary"]] = relationship(
        back_populates="run", cascade="all, delete-orphan"
    )


class QuarantineSummary(Base):
    """隔离区汇总: how many rows of a run failed for one column and reason."""

    __tablename__ = "quarantine_summary"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("ingest_runs.id", ondelete="CASCADE"), index=True
    )
    column: Mapped[str] = mapped_column(String(100))
    reason_code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(BigInteger)

    run: Mapped["IngestRun"] = relationship(back_populates="quarantine")


class QualityRule(Base):
    """质量规则: one rule on one info item (or across items) of a resource."""

    __tablename__ = "quality_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dimension: Mapped[str] = mapped_column(String(10))  # GB/T 36344: 规范性 完整性 准确性 一致性
    origin: Mapped[str] = mapped_column(String(10), default="declared")  # declared | default
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QualityRun(Base):
    """质量检查: all rules of a resource over one lake version, and its GB/T 36344 scores."""

    __tablename__ = "quality_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True
    )
    lake_version: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_failed: Mapped[int] = mapped_column(BigInteger, default=0)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    results: Mapped[list["QualityResult"]] = relationship(
        back_populates="run", cascade="all, delete-orphan"
    )


class QualityResult(Base):
    """One rule's outcome in a quality run: values checked, failures, sample failing keys."""

    __tablename__ = "quality_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("quality_runs.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[int | None] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    dimension: Mapped[str] = mapped_column(String(10))
    checked: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    samples: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    run: Mapped["QualityRun"] = relationship(back_populates="results")


class Comparison(Base):
    """比对: an attribute of one resource that should agree with one of another, joined on keys."""

    __tablename__ = "comparisons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    left_resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    left_item: Mapped[str] = mapped_column(String(100))
    left_key: Mapped[str] = mapped_column(String(100))
    right_resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    right_item: Mapped[str] = mapped_column(String(100))
    right_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ComparisonRun(Base):
    """One comparison of two versions: rows joined, values compared, conflicts found."""

    __tablename__ = "comparison_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comparison_id: Mapped[int] = mapped_column(
        ForeignKey("comparisons.id", ondelete="CASCADE"), index=True
    )
    left_version: Mapped[int] = mapped_column(Integer)
    right_version: Mapped[int] = mapped_column(Integer)
    joined: Mapped[int] = mapped_column(BigInteger, default=0)
    compared: Mapped[int] = mapped_column(BigInteger, default=0)
    conflicts: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Objection(Base):
    """疑义数据: a reported error in one record, and its handling (提出→受理→核实→修正→办结 / 驳回)."""

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True
    )
    record_key: Mapped[dict[str, Any]] = mapped_column(JSON)
    item: Mapped[str] = mapped_column(String(100))
    current_value: Mapped[str | None] = mapped_column(Text)
    proposed_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    attachment: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(12), index=True, default="raised")
    raised_by: Mapped[str] = mapped_column(String(100))
    deadline: Mapped[date] = mapped_column(Date)
    lake_version: Mapped[int | None] = mapped_column(Integer)  # the version the correction made
    corrected_value: Mapped[str | None] = mapped_column(Text)  # what the correction wrote
    # what the source sent for the item since (修正后源头报送情况): still_old (the load put the
    # correction back on top), adopted (源头已更正: the correction is settled), changed (another
    # value: the source's stands); with the run that sent it
    source_status: Mapped[str | None] = mapped_column(String(12))
    source_run_id: Mapped[int | None] = mapped_column(Integer)
    source_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # which of the values above are SM4-encrypted (hex), as their columns are in the lake:
    # {"key": {column: data key id}, "values": data key id of the item, or null}
    sealed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    events: Mapped[list["ObjectionEvent"]] = relationship(
        back_populates="objection", order_by="ObjectionEvent.id", cascade="all, delete-orphan"
    )


class ObjectionEvent(Base):
    """One step of an objection: who moved it from which state to which, when and why."""

    __tablename__ = "objection_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    objection_id: Mapped[int] = mapped_column(
        ForeignKey("objections.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    objection: Mapped["Objection"] = relationship(back_populates="events")


class ObjectionPolicy(Base):
    """疑义处理时限: working days a department has to settle an objection on a resource."""

    __tablename__ = "objection_policies"

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    )
    working_days: Mapped[int] = mapped_column(Integer, default=5)


class BaseDatabase(Base):
    """基础库: a population, legal-entity or e-licence base database, configured as data."""

    __tablename__ = "base_databases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # person | enterprise | licence
    config: Mapped[str] = mapped_column(Text)  # the YAML as saved
    config_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class BaseBuild(Base):
    """One build of a base database: which versions of which resources went in, what came out."""

    __tablename__ = "base_builds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    base_id: Mapped[int] = mapped_column(
        ForeignKey("base_databases.id", ondelete="CASCADE"), index=True
    )
    mode: Mapped[str] = mapped_column(String(12))  # full | incremental
    status: Mapped[str] = mapped_column(String(12), default="running")
    config_version: Mapped[int] = mapped_column(Integer)
    sources: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # resource id -> version
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float | None] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReviewPair(Base):
    """人工复核: an uncertain pair (a record, an entity) and the reviewer's decision."""

    __tablename__ = "review_pairs"
    __table_args__ = (UniqueConstraint("base_id", "record_key", "file_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    base_id: Mapped[int] = mapped_column(
        ForeignKey("base_databases.id", ondelete="CASCADE"), index=True
    )
    build_id: Mapped[int] = mapped_column(Integer)  # the build that last proposed the pair
    record_key: Mapped[str] = mapped_column(String(120))
    file_id: Mapped[str] = mapped_column(String(20))
    probability: Mapped[float] = mapped_column()
    # expected gain of an answer: probability × records of the file it would join (queue order)
    gain: Mapped[float | None] = mapped_column(Float, nullable=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), index=True, default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    applied_build_id: Mapped[int | None] = mapped_column(Integer)


class EntityEvent(Base):
    """档案变更: a file created, merged into another, split off or retired, with the reason."""

    __tablename__ = "entity_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    base_id: Mapped[int] = mapped_column(
        ForeignKey("base_databases.id", ondelete="CASCADE"), index=True
    )
    build_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(12))  # merge | split | retire
    file_id: Mapped[str] = mapped_column(String(20), index=True)
    other_file_id: Mapped[str | None] = mapped_column(String(20), index=True)
    records: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """审计记录: one link of the SM3 hash chain (who did what to which resource, and the outcome)."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[str] = mapped_column(String(32), index=True)  # ISO 8601 UTC, as hashed
    actor: Mapped[str] = mapped_column(String(100), index=True)
    department: Mapped[str] = mapped_column(String(100), default="", index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    resource: Mapped[str] = mapped_column(String(200), default="", index=True)
    outcome: Mapped[str] = mapped_column(String(12), default="ok")
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's head (one row): appending locks it, so entries from every process form one chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """审计检查点: the RFC 6962 Merkle root of a run of entries, signed with the platform's SM2 key."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    root: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    public_key: Mapped[str] = mapped_column(String(130))
    chain_hash: Mapped[str] = mapped_column(String(64), default="")  # chain hash at last_seq
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """用户: a person who signs in; belongs to a department (except platform roles and the public)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserSession(Base):
    """登录会话: only the SM3 hash of the cookie token is stored; forms carry the CSRF token."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiCredential(Base):
    """系统凭证 appKey/appSecret: a department system signs its requests (HMAC-SM3)."""

    __tablename__ = "api_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_key: Mapped[str] = mapped_column(String(40), unique=True)
    secret: Mapped[str] = mapped_column(String(200))  # SM4-GCM under the master key, hex
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100), default="")
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)  # resource codes; empty = all
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replaced_by: Mapped[str | None] = mapped_column(String(40))


class DataKey(Base):
    """数据密钥: the SM4 key that encrypts a resource's 核心 / L4 columns in the lake (or a base
    database's copies of them), wrapped (SM4-GCM) under the master key; the lake's schema and a
    build's ``sealed.json`` name the key by id."""

    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int | None] = mapped_column(Integer, index=True)
    base_id: Mapped[int | None] = mapped_column(Integer, index=True)
    wrapped: Mapped[str] = mapped_column(String(200))
    # ``sm4-siv+ete`` (short numeric codes as one enciphered block); None: a key made before
    # that, which seals everything with SIV (``shuhai.access.columns``)
    scheme: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UsedNonce(Base):
    """A nonce seen in a signed request (kept past the clock-skew window) when Redis is not set."""

    __tablename__ = "used_nonces"
    __table_args__ = (UniqueConstraint("app_key", "nonce"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_key: Mapped[str] = mapped_column(String(40))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class SignInFailure(Base):
    """登录失败计数: failures per account and address (or per address), for throttling."""

    __tablename__ = "sign_in_failures"

    key: Mapped[str] = mapped_column(String(240), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch


class ShareApplication(Base):
    """共享申请: a department asks for a conditionally shared resource; the provider answers
    within 10 working days (国发〔2016〕51号), a refusal with its reason; an approval is a grant of
    exactly the approved items for the approved period."""

    __tablename__ = "share_applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    applicant: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text, default="")
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), index=True, default="submitted")
    deadline: Mapped[date] = mapped_column(Date)
    approved_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, default="")
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OpenDataset(Base):
    """开放数据集: a resource whose 开放属性 allows it, published with DCAT metadata; only the
    ``columns`` listed here are ever served to the public (the open attributes' items)."""

    __tablename__ = "open_datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(String(120), unique=True, index=True)  # URL slug
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    theme: Mapped[str] = mapped_column(String(40), default="")  # 主题 (the portal's theme list)
    licence: Mapped[str] = mapped_column(String(40), default="CC-BY-4.0")
    temporal_start: Mapped[date | None] = mapped_column(Date)
    temporal_end: Mapped[date | None] = mapped_column(Date)
    spatial: Mapped[str] = mapped_column(String(100), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), index=True, default="published")
    published_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    api_calls: Mapped[int] = mapped_column(BigInteger, default=0)


class OpenPlanEntry(Base):
    """开放计划: what a department plans to open in a year, by when, and whether it did."""

    __tablename__ = "open_plan"
    __table_args__ = (UniqueConstraint("year", "resource_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    planned_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OpenDownload(Base):
    """开放数据下载与调用记录 (可追溯开放): each file served and each API answer, with the id the
    file carries, so a copy found elsewhere leads back to who took which version when."""

    __tablename__ = "open_downloads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("open_datasets.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))  # csv | xlsx | json | parquet | api
    lake_version: Mapped[int | None] = mapped_column(Integer)
    rows: Mapped[int | None] = mapped_column(BigInteger)
    address: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class OpenApplication(Base):
    """有条件开放申请: a registered person or enterprise asks to use a conditionally open dataset,
    with its purpose, scenario and a signed security pledge (安全承诺); the owning department
    answers within 5 working days; an approval issues a personal key for that dataset and
    period."""

    __tablename__ = "open_applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("open_datasets.id", ondelete="CASCADE"), index=True
    )
    applicant: Mapped[str] = mapped_column(String(100), index=True)  # the signed-in user
    applicant_kind: Mapped[str] = mapped_column(String(12))  # person | enterprise
    organisation: Mapped[str] = mapped_column(String(200), default="")
    uscc: Mapped[str] = mapped_column(String(18), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    purpose: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text)
    pledge_version: Mapped[str] = mapped_column(String(20))
    pledge_signed_by: Mapped[str] = mapped_column(String(100))
    pledge_signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), index=True, default="submitted")
    deadline: Mapped[date] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text, default="")
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OpenKey(Base):
    """开放数据调用密钥: a personal key for one conditionally open dataset and period, stored as
    its SHA-256 (shown once when issued); sent CKAN's way (``Authorization`` or
    ``X-CKAN-API-Key``)."""

    __tablename__ = "open_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("open_applications.id", ondelete="CASCADE"), index=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists, to tell keys apart
    username: Mapped[str] = mapped_column(String(100), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("open_datasets.id", ondelete="CASCADE"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OpenRequest(Base):
    """数据需求: someone asks for data that is not yet open; the department answers in public."""

    __tablename__ = "open_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    requester: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12), index=True, default="open")
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("open_datasets.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OpenFeedback(Base):
    """评分、评论与问题反馈 on an open dataset: comments are shown once the publisher approves
    them; a problem report on a row also becomes an objection (疑义) on the record."""

    __tablename__ = "open_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("open_datasets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))  # comment | problem
    author: Mapped[str] = mapped_column(String(100))
    rating: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), index=True, default="pending")
    objection_id: Mapped[int | None] = mapped_column(Integer)
    moderated_by: Mapped[str | None] = mapped_column(String(100))
    moderated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OpenShowcase(Base):
    """成果提交: an application built on open data, shown with its datasets once reviewed."""

    __tablename__ = "open_showcases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(500), default="")
    author: Mapped[str] = mapped_column(String(100))
    datasets: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), index=True, default="pending")
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OpenHarvestSource(Base):
    """采集源: another portal's catalog (CKAN's API or a DCAT document) imported as read-only
    external datasets; ``cursor`` is where an interrupted CKAN harvest resumes."""

    __tablename__ = "open_harvest_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(8))  # ckan | dcat
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="idle")
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OpenHarvestRun(Base):
    """One harvest of a source, with the records it could not take and why."""

    __tablename__ = "open_harvest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("open_harvest_sources.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(12))  # running | done | failed
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OpenExternal(Base):
    """外部数据集: a dataset harvested from another portal, shown read-only with a link back."""

    __tablename__ = "open_external"
    __table_args__ = (UniqueConstraint("source_id", "remote_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("open_harvest_sources.id", ondelete="CASCADE"), index=True
    )
    remote_id: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    publisher: Mapped[str] = mapped_column(String(200), default="")
    licence: Mapped[str] = mapped_column(String(200), default="")
    landing_url: Mapped[str] = mapped_column(String(500), default="")
    distributions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    remote_modified: Mapped[str] = mapped_column(String(40), default="")
    harvested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
