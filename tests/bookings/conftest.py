"""The supply side's server (shared with the merchants tests)."""

from tests.merchants.conftest import supply, supply_app

__all__ = ["supply", "supply_app"]
