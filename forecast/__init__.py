"""Demand forecast: orders per H3 cell (and per merchant) and 15-minute slot, learnt online from the
orders as dispatch takes them in, kept in Redis under the zone's hash tag. No gRPC below `forecast.api`."""

from forecast.model import ForecastConfig
from forecast.slots import SLOT_MS, Slot, slot_at, slots_from
from forecast.store import DemandForecast, PlacedOrder, UnitForecast

__all__ = [
    "SLOT_MS",
    "DemandForecast",
    "ForecastConfig",
    "PlacedOrder",
    "Slot",
    "UnitForecast",
    "slot_at",
    "slots_from",
]
