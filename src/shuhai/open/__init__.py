"""Open data (数据开放): publishing, the opening plan, search, downloads, conditional opening
and the CKAN API. Importing the package registers it with the policy point (published items,
approved applications)."""

from shuhai.open import applications
from shuhai.open.datasets import (
    CONDITIONAL_OPEN,
    LICENCES,
    NOT_OPEN,
    OPENABLE,
    PLAN_STATUS,
    THEMES,
    UNCONDITIONAL_OPEN,
    count_use,
    figures,
    get_dataset,
    list_datasets,
    list_plan,
    plan,
    publish,
    withdraw,
)
from shuhai.open.search import search

__all__ = [
    "applications",
    "CONDITIONAL_OPEN",
    "LICENCES",
    "NOT_OPEN",
    "OPENABLE",
    "PLAN_STATUS",
    "THEMES",
    "UNCONDITIONAL_OPEN",
    "count_use",
    "figures",
    "get_dataset",
    "list_datasets",
    "list_plan",
    "plan",
    "publish",
    "search",
    "withdraw",
]
