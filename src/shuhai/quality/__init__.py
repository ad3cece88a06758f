"""Data quality (数据质量): validators as vectorized SQL, and the division codes they use."""

from shuhai.quality import validators
from shuhai.quality.divisions import codes_in_use, division_periods

__all__ = ["codes_in_use", "division_periods", "validators"]
