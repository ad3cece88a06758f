"""Open data (数据开放): publishing, the opening plan, search, downloads and the CKAN API."""

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
