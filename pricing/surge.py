"""Surge from live supply and demand per H3 cell, and the shrinking of delivery areas it drives.

Every refresh (the ticking process, every `PricingConfig.refresh_s`; or RefreshSurge):

1. Supply and demand per resolution-8 cell: free riders (available, empty hands) and open orders (in
   dispatch's pool, not yet given a rider) at their pickup, read from dispatch (`SupplyDemand`).
2. Each cell's ratio is the open orders of the cell and its ring of neighbours over their free riders
   plus one (riders a cell away come; the +1 keeps a lone order from meaning infinity).
3. Smoothed over time: s <- s + alpha (ratio - s), alpha = 0.5 (a refresh every 10 s forgets a burst
   within a minute).
4. Target factor 1 + slope x (s - threshold), floored to a 0.1 step, within [1, cap].
5. Hysteresis: the factor rises to its target at once (riders should see a busy area as it forms), but
   falls only when the target is at least 0.2 below it, or when s is below the threshold (the surge is
   over), so a ratio wavering around a step does not make the fee flap.

Area shrinking (the same refresh): a merchant whose surge cell's smoothed ratio is at least `shrink_at`
drops one more outer ring (up to `max_shrink_rings`, and never its innermost cells); at most `grow_at`
it gets one back. One ring per refresh, and the gap between the two thresholds is the hysteresis.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import h3
import redis.asyncio as aioredis

from core.geo import LatLng
from pricing import keys
from pricing.models import PricingRules

SMOOTHING_ALPHA = 0.5
STEP = 0.1
FALL_BAND = 0.2
SURGE_RESOLUTION = 8


class SupplyDemand(Protocol):
    """Where free riders are and where open orders wait to be picked up, now."""

    async def snapshot(self, now_ms: int) -> tuple[list[LatLng], list[LatLng]]: ...


class DemandForecast(Protocol):
    """Expected orders per H3 cell and 15 minutes (issue 21, item 4: the `forecast/` package, read over every
    zone by `serving.pricing.ZonesForecast`). Without one, surge uses live demand only."""

    async def expected_orders(self, resolution: int, start_ms: int) -> Mapping[str, float]:
        """Expected orders per H3 cell of `resolution` placed in the 15 minutes from start_ms (cells with none
        may be left out)."""
        ...


# How much of the next 15 minutes' expected orders count as demand now, beside the orders already waiting:
# half, so a forecast alone raises the ratio only as far as half its orders waiting would. A starting
# value, to be calibrated on replays once the forecast exists.
FORECAST_WEIGHT = 0.5


@dataclass(frozen=True)
class CellState:
    cell: str
    free_riders: int
    open_orders: int
    smoothed: float
    factor: float

    def to_redis(self, now_ms: int) -> str:
        return f"{self.factor:.1f}|{self.smoothed:.4f}|{self.free_riders}|{self.open_orders}|{now_ms}"

    @classmethod
    def from_redis(cls, cell: str, raw: str) -> CellState:
        f, s, r, o, _ = raw.split("|")
        return cls(cell, int(r), int(o), float(s), float(f))


def target_factor(smoothed: float, rules: PricingRules) -> float:
    raw = 1.0 + rules.surge_slope * (smoothed - rules.surge_threshold)
    stepped = math.floor(raw / STEP + 1e-9) * STEP
    return round(min(rules.surge_cap, max(1.0, stepped)), 1)


def next_factor(current: float, smoothed: float, rules: PricingRules) -> float:
    """The factor after a refresh, with the hysteresis of the module docstring."""
    target = target_factor(smoothed, rules)
    if target >= current:
        return target  # rises at once
    if smoothed < rules.surge_threshold or target <= current - FALL_BAND + 1e-9:
        return target
    return min(current, round(rules.surge_cap, 1))  # holds (a lowered cap still applies)


def cell_ratios(
    riders: list[LatLng], orders: list[LatLng], expected: Mapping[str, float] | None = None
) -> dict[str, tuple[int, int, float]]:
    """cell -> (free riders, open orders, ratio over the cell and its neighbours); `expected` (a forecast's
    orders per cell in the next 15 minutes) adds FORECAST_WEIGHT of them to the demand."""
    supply = Counter(h3.latlng_to_cell(p.lat, p.lng, SURGE_RESOLUTION) for p in riders)
    demand = Counter(h3.latlng_to_cell(p.lat, p.lng, SURGE_RESOLUTION) for p in orders)
    forecast = {c: FORECAST_WEIGHT * max(0.0, float(x)) for c, x in (expected or {}).items() if x > 0}
    cells: set[str] = set()
    for c in set(supply) | set(demand) | set(forecast):
        cells.update(h3.grid_disk(c, 1))
    out = {}
    for c in cells:
        disk = h3.grid_disk(c, 1)
        near_supply = sum(supply[n] for n in disk)
        near_demand = sum(demand[n] + forecast.get(n, 0.0) for n in disk)
        out[c] = (supply[c], demand[c], near_demand / (near_supply + 1))
    return out


def refresh_cells(
    previous: dict[str, CellState], ratios: dict[str, tuple[int, int, float]], rules: PricingRules
) -> dict[str, CellState]:
    out = {}
    for c in set(previous) | set(ratios):
        before = previous.get(c)
        riders, orders, ratio = ratios.get(c, (0, 0, 0.0))
        s0 = before.smoothed if before else 0.0
        smoothed = s0 + SMOOTHING_ALPHA * (ratio - s0)
        factor = next_factor(before.factor if before else 1.0, smoothed, rules)
        if smoothed < 0.01 and factor == 1.0 and not riders and not orders:
            continue  # calm again: forgotten
        out[c] = CellState(c, riders, orders, smoothed, factor)
    return out


def next_shrink(current: int, max_depth: int, smoothed: float, rules: PricingRules) -> int:
    if smoothed >= rules.shrink_at:
        return min(current + 1, rules.max_shrink_rings, max_depth)
    if smoothed <= rules.grow_at:
        return max(current - 1, 0)
    return min(current, max_depth)


# Writes a refresh. KEYS: surge, shrink. ARGV: n cells, then cell, state... (n pairs), then merchant,
# rings... The surge hash is replaced whole.
_WRITE_LUA = """
redis.call('DEL', KEYS[1])
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
  redis.call('HSET', KEYS[1], ARGV[2 + 2 * i], ARGV[3 + 2 * i])
end
for i = 2 + 2 * n, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
return n
"""


class SurgeBoard:
    """The city's surge state in Redis and its refresh."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._write = client.register_script(_WRITE_LUA)

    async def refresh(
        self, source: SupplyDemand, rules: PricingRules, now_ms: int, forecast: DemandForecast | None = None
    ) -> tuple[list[CellState], int]:
        """One refresh; returns the cells kept and how many areas changed their rings."""
        riders, orders = await source.snapshot(now_ms)
        expected = await forecast.expected_orders(SURGE_RESOLUTION, now_ms) if forecast is not None else None
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.SURGE)
            pipe.hgetall(keys.AREAS)
            pipe.hgetall(keys.SHRINK)
            surge_raw, areas_raw, shrink_raw = await pipe.execute()
        previous = {c: CellState.from_redis(c, raw) for c, raw in surge_raw.items()}
        cells = refresh_cells(previous, cell_ratios(riders, orders, expected), rules)
        changed: list[str] = []
        for merchant, value in areas_raw.items():
            cell, _, depth = value.partition("|")
            state = cells.get(cell)
            current = int(shrink_raw.get(merchant, 0))
            rings = next_shrink(current, int(depth), state.smoothed if state else 0.0, rules)
            if rings != current:
                changed += [merchant, str(rings)]
        kept = sorted(cells.values(), key=lambda s: s.cell)
        if not changed and _same_board(cells, surge_raw):
            return kept, 0  # nothing moved: a calm or steady city writes nothing
        args: list[str] = [str(len(cells))]
        for c, state in cells.items():
            args += [c, state.to_redis(now_ms)]
        await self._write(keys=[keys.SURGE, keys.SHRINK], args=[*args, *changed])
        return kept, len(changed) // 2


def _same_board(cells: dict[str, CellState], stored: dict[str, str]) -> bool:
    """Whether the refreshed cells are the stored ones, their times apart (each keeps the time it changed)."""
    return cells.keys() == stored.keys() and all(
        cells[c].to_redis(0).rpartition("|")[0] == stored[c].rpartition("|")[0] for c in cells
    )


class DispatchSupplyDemand:
    """Supply and demand read from dispatch's zones: free riders and the pending pool's pickups."""

    def __init__(self, dispatcher: object, max_orders_per_zone: int = 5_000, max_free: int = 50_000) -> None:
        self._dispatcher = dispatcher
        self._max_orders = max_orders_per_zone
        self._max_free = max_free

    async def snapshot(self, now_ms: int) -> tuple[list[LatLng], list[LatLng]]:
        d = self._dispatcher
        riders: list[LatLng] = []
        orders: list[LatLng] = []
        for zone_id in d.zoning.ids:  # type: ignore[attr-defined]
            zone = d.zone(zone_id)  # type: ignore[attr-defined]
            free = await zone.index.free_riders(now_ms, self._max_free)
            if free is None:  # more free riders than one read takes: supply is plenty, the zone has no surge
                continue
            riders += [r.position for r in free]
            ids = await zone.orders.pending_ids(self._max_orders)
            if ids:
                orders += [r.request.pickup for r in (await zone.orders.find_many(ids)).values()]
        return riders, orders
