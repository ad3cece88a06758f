"""The demo city (演示城市): fictional people, enterprises and twelve departments' data."""

from shuhai.demo.build import build_demo
from shuhai.demo.city import DEPARTMENTS, TABLES
from shuhai.demo.population import make_city

__all__ = ["DEPARTMENTS", "TABLES", "build_demo", "make_city"]
