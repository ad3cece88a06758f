"""Base databases (基础库): standardization now; linkage and golden records follow (issue 5)."""

from shuhai.entities.standardize import addresses, id_numbers, names, phones, sex_codes

__all__ = ["addresses", "id_numbers", "names", "phones", "sex_codes"]
