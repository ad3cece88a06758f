"""The resource catalog (政务信息资源目录)."""

from shuhai.catalog.elements import CONDITIONAL, NOT_SHARED, UNCONDITIONAL
from shuhai.catalog.service import FACETS, Catalog, SearchResult, find_resource
from shuhai.catalog.spec import ItemSpec, ResourceSpec, validate_department, validate_resource
from shuhai.catalog.transfer import export_json, export_xlsx, import_data, import_json, import_xlsx

__all__ = [
    "CONDITIONAL",
    "FACETS",
    "NOT_SHARED",
    "UNCONDITIONAL",
    "Catalog",
    "ItemSpec",
    "ResourceSpec",
    "SearchResult",
    "export_json",
    "export_xlsx",
    "find_resource",
    "import_data",
    "import_json",
    "import_xlsx",
    "validate_department",
    "validate_resource",
]
