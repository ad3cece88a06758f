"""The catalog (政务信息资源目录): register departments and resources, read, search, update.

Results are plain dicts (the same data feeds the CLI, the JSON API and the HTML pages).

Example::

    cat = Catalog(Config.from_env())
    cat.add_department({"name": "市公安局", "code": "GA"})
    res = cat.register({"name": "常住人口基本信息", "department": "GA", "classification": "101001",
                        "items": [{"name": "身份证号", "data_type": "C", "length": 18}]})
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shuhai.catalog import search as search_index
from shuhai.catalog.spec import (
    RESOURCE_CODE_RE,
    ResourceSpec,
    validate_department,
    validate_resource,
)
from shuhai.config import Config
from shuhai.db import Department, InfoItem, IngestRun, Resource, session_scope
from shuhai.errors import Conflict, InvalidInput, NotFound
from shuhai.events import ACCESS_CHANGED, emit

FACETS = ("department", "share_type", "update_cycle", "format")


def department_dict(dep: Department, resources: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": dep.id, "code": dep.code, "name": dep.name, "uscc": dep.uscc}
    if resources is not None:
        data["resources"] = resources
    return data


def resource_dict(res: Resource, *, items: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": res.id,
        "code": res.code,
        "name": res.name,
        "department": {
            "id": res.department.id,
            "code": res.department.code,
            "name": res.department.name,
        },
        "classification": {
            "category": res.class_category,
            "item": res.class_item,
            "subitem": res.class_subitem,
            "detail": res.class_detail,
            "code": f"{res.class_category}{res.class_item}{res.class_subitem}{res.class_detail}",
        },
        "abstract": res.abstract,
        "format": res.format,
        "share_type": res.share_type,
        "share_condition": res.share_condition,
        "share_method": res.share_method,
        "open_type": res.open_type,
        "open_condition": res.open_condition,
        "update_cycle": res.update_cycle,
        "publish_date": res.publish_date.isoformat() if res.publish_date else None,
        "related_codes": list(res.related_codes or []),
        "key_columns": list(res.key_columns or []),
        "created_at": _iso(res.created_at),
        "updated_at": _iso(res.updated_at),
    }
    if items:
        data["items"] = [
            {
                "name": it.name,
                "data_type": it.data_type,
                "length": it.length,
                "scale": it.scale,
                "required": it.required,
                "description": it.description,
            }
            for it in res.items
        ]
    return data


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _search_text(spec: ResourceSpec, department_name: str, code: str) -> str:
    parts = [
        spec.name,
        code,
        department_name,
        spec.abstract,
        spec.format,
        spec.share_type,
        spec.update_cycle,
    ]
    for it in spec.items:
        parts.append(it.name)
        parts.append(it.description)
    return " ".join(p for p in parts if p).lower()


@dataclass
class SearchResult:
    total: int
    items: list[dict[str, Any]]
    facets: dict[str, list[dict[str, Any]]]
    page: int
    size: int


class Catalog:
    """Library facade over the catalog tables."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def _session(self) -> Any:
        return session_scope(self.config.database_url)

    # -- departments ------------------------------------------------------------------
    def add_department(self, data: dict[str, Any], *, update: bool = False) -> dict[str, Any]:
        spec = validate_department(data)
        with self._session() as s:
            existing = s.scalar(select(Department).where(Department.code == spec.code))
            if existing is not None:
                if not update:
                    raise Conflict(
                        "catalog.department_exists",
                        f"提供方代码 {spec.code} 已存在",
                        f"Department code {spec.code} already exists",
                    )
                existing.name, existing.uscc = spec.name, spec.uscc
                return department_dict(existing)
            dep = Department(name=spec.name, code=spec.code, uscc=spec.uscc)
            s.add(dep)
            try:
                s.flush()
            except IntegrityError as exc:
                raise Conflict(
                    "catalog.department_exists",
                    f"部门名称“{spec.name}”已存在",
                    f"Department {spec.name!r} already exists",
                ) from exc
            return department_dict(dep)

    def departments(self) -> list[dict[str, Any]]:
        with self._session() as s:
            counts = dict(
                s.execute(
                    select(Resource.department_id, func.count()).group_by(Resource.department_id)
                ).all()
            )
            deps = s.scalars(select(Department).order_by(Department.code)).all()
            return [department_dict(d, counts.get(d.id, 0)) for d in deps]

    def department(self, ref: str | int) -> dict[str, Any]:
        with self._session() as s:
            dep = _find_department(s, ref)
            count = s.scalar(
                select(func.count()).select_from(Resource).where(Resource.department_id == dep.id)
            )
            return department_dict(dep, count or 0)

    # -- resources --------------------------------------------------------------------
    def register(self, data: dict[str, Any], *, update: bool = False) -> dict[str, Any]:
        """Register (or with ``update=True`` replace) a resource; returns it with its code."""
        spec = validate_resource(data)
        with self._session() as s:
            out = self.register_spec(s, spec, update=update)
        emit(ACCESS_CHANGED)  # share types and items may have changed
        return out

    def register_spec(
        self, s: Session, spec: ResourceSpec, *, update: bool = False
    ) -> dict[str, Any]:
        """Register a validated spec inside the caller's session (used by bulk import)."""
        dep = s.scalar(select(Department).where(Department.code == spec.department))
        if dep is None:
            raise InvalidInput(
                "catalog.unknown_department",
                f"提供方代码 {spec.department} 未登记",
                f"Department code {spec.department} is not registered",
                details=[{"field": "department", "error": "unknown / 未登记"}],
            )
        existing = None
        if spec.code:
            existing = s.scalar(select(Resource).where(Resource.code == spec.code))
        if existing is None:
            existing = s.scalar(
                select(Resource).where(Resource.department_id == dep.id, Resource.name == spec.name)
            )
        if existing is not None and not update:
            raise Conflict(
                "catalog.resource_exists",
                f"资源“{spec.name}”已登记（{existing.code}）",
                f"Resource {spec.name!r} is already registered as {existing.code}",
            )
        res = existing or Resource(department_id=dep.id)
        if existing is not None and existing.department_id != dep.id:
            raise Conflict(
                "catalog.provider_change",
                "不能更改已登记资源的提供方",
                "The provider of a registered resource cannot change",
            )
        if existing is None:
            res.sequence, res.code = self._new_code(s, spec, dep)
        res.name = spec.name
        res.class_category, res.class_item = spec.category, spec.item
        res.class_subitem, res.class_detail = spec.subitem, spec.detail
        res.abstract, res.format = spec.abstract, spec.format
        res.share_type, res.share_condition, res.share_method = (
            spec.share_type,
            spec.share_condition,
            spec.share_method,
        )
        res.open_type, res.open_condition = spec.open_type, spec.open_condition
        res.update_cycle, res.publish_date = spec.update_cycle, spec.publish_date
        res.related_codes, res.key_columns = spec.related_codes, spec.key_columns
        if existing is not None:
            _check_compatible_items(s, existing, spec)
            existing.items.clear()
            s.flush()
        res.items = [
            InfoItem(
                position=i,
                name=it.name,
                data_type=it.data_type,
                length=it.length,
                scale=it.scale,
                required=it.required,
                description=it.description,
            )
            for i, it in enumerate(spec.items)
        ]
        res.search_text = _search_text(spec, dep.name, res.code)
        s.add(res)
        s.flush()
        s.refresh(res)
        return resource_dict(res)

    def _new_code(self, s: Session, spec: ResourceSpec, dep: Department) -> tuple[int, str]:
        """资源代码 = 分类码(类项目细目) / 提供方代码-顺序码 (5 digits per provider)."""
        if spec.code:
            seq = int(spec.code.rsplit("-", 1)[1])
            return seq, spec.code
        last = (
            s.scalar(select(func.max(Resource.sequence)).where(Resource.department_id == dep.id))
            or 0
        )
        seq = last + 1
        return seq, f"{spec.classification}/{dep.code}-{seq:05d}"

    def get(self, ref: str | int) -> dict[str, Any]:
        with self._session() as s:
            return resource_dict(_find_resource(s, ref))

    def delete(self, ref: str | int) -> None:
        with self._session() as s:
            res = _find_resource(s, ref)
            has_runs = s.scalar(
                select(func.count()).select_from(IngestRun).where(IngestRun.resource_id == res.id)
            )
            if has_runs:
                raise Conflict(
                    "catalog.resource_has_data",
                    "资源已有导入记录，不能删除",
                    "The resource has ingest runs and cannot be deleted",
                )
            s.delete(res)

    def all(self) -> list[dict[str, Any]]:
        with self._session() as s:
            rows = s.scalars(
                select(Resource)
                .options(selectinload(Resource.items), selectinload(Resource.department))
                .order_by(Resource.code)
            ).all()
            return [resource_dict(r) for r in rows]

    def search(
        self,
        q: str = "",
        *,
        department: str | None = None,
        share_type: str | None = None,
        update_cycle: str | None = None,
        format: str | None = None,
        page: int = 1,
        size: int = 20,
    ) -> SearchResult:
        """Search names, codes, abstracts and info items; Chinese works by substring and bigrams.

        ``营业执照`` finds 企业营业执照信息; a query whose words are out of order (``执照营业``)
        still matches through character bigrams, ranked by how many match.
        """
        if page < 1 or not 1 <= size <= 200:
            raise InvalidInput(
                "catalog.bad_paging",
                "分页参数无效（page≥1，1≤size≤200）",
                "Bad paging (page>=1, 1<=size<=200)",
            )
        terms = [t for t in q.lower().split() if t]
        with self._session() as s:
            filters: dict[str, Any] = {}
            if department:
                filters["department_id"] = _find_department(s, department).id
            if share_type:
                filters["share_type"] = share_type
            if update_cycle:
                filters["update_cycle"] = update_cycle
            if format:
                filters["format"] = format
            index = search_index.index_for(s, self.config.database_url)
            matched = search_index.search_ids(index, terms, filters)
            page_ids = matched["id"].slice((page - 1) * size, size).to_list()
            rows = (
                s.scalars(
                    select(Resource)
                    .options(selectinload(Resource.department))
                    .where(Resource.id.in_(page_ids))
                ).all()
                if page_ids
                else []
            )
            by_id = {r.id: r for r in rows}
            items = [resource_dict(by_id[i], items=False) for i in page_ids if i in by_id]
            return SearchResult(
                total=matched.height,
                items=items,
                facets=search_index.facets(index, matched),
                page=page,
                size=size,
            )


def _check_compatible_items(s: Session, res: Resource, spec: ResourceSpec) -> None:
    """Once data is loaded, an item may not change its type (the lake keeps every version)."""
    has_runs = s.scalar(
        select(func.count())
        .select_from(IngestRun)
        .where(IngestRun.resource_id == res.id, IngestRun.status == "succeeded")
    )
    if not has_runs:
        return
    old = {it.name: it.data_type for it in res.items}
    changed = [it.name for it in spec.items if it.name in old and old[it.name] != it.data_type]
    if changed:
        raise Conflict(
            "catalog.type_change",
            f"已有数据的资源不能更改信息项类型：{'、'.join(changed)}",
            f"Cannot change the type of items of a loaded resource: {', '.join(changed)}",
        )


def _find_department(s: Session, ref: str | int) -> Department:
    ref_text = str(ref).strip()
    dep = None
    if ref_text.isascii() and ref_text.isdigit() and len(ref_text) < 19:
        dep = s.get(Department, int(ref_text))
    if dep is None:
        dep = s.scalar(
            select(Department).where(
                or_(Department.code == ref_text.upper(), Department.name == ref_text)
            )
        )
    if dep is None:
        raise NotFound(
            "catalog.department_not_found",
            f"部门 {ref_text} 不存在",
            f"Department {ref_text} not found",
        )
    return dep


def _find_resource(s: Session, ref: str | int) -> Resource:
    ref_text = str(ref).strip()
    res = None
    if ref_text.isascii() and ref_text.isdigit() and len(ref_text) < 10:
        res = s.get(Resource, int(ref_text))
    elif RESOURCE_CODE_RE.match(ref_text):
        res = s.scalar(select(Resource).where(Resource.code == ref_text))
    else:
        found = s.scalars(select(Resource).where(Resource.name == ref_text)).all()
        if len(found) > 1:
            raise InvalidInput(
                "catalog.ambiguous_name",
                f"有多个名为“{ref_text}”的资源，请用资源代码",
                f"Several resources are named {ref_text!r}; use the resource code",
            )
        res = found[0] if found else None
    if res is None:
        raise NotFound(
            "catalog.resource_not_found",
            f"资源 {ref_text} 不存在",
            f"Resource {ref_text} not found",
        )
    return res


def find_resource(s: Session, ref: str | int) -> Resource:
    """Look a resource up by id, code or unique name (raises ``NotFound``)."""
    return _find_resource(s, ref)


__all__ = ["FACETS", "Catalog", "SearchResult", "department_dict", "find_resource", "resource_dict"]
