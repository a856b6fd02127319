"""Idle-rider guidance: where riders with nothing to do should wait, so that the next orders find one
near their counter.

A rider freed at a customer's door waits there: in a city whose customers live far from its restaurants
the next order's rider rides a long way empty while the food waits (Liechtenstein lunch replay, ortools:
14 min of empty riding and 11 min of food waiting per order). Every `every_s`, the idle riders are spread
over recent demand:

- Demand: the orders placed in the last `window_s`, pooled by H3 cell (resolution `resolution`) of their
  counter; a cell's point is its busiest counter (a real place on the road network).
- Supply: the riders free now with no task whose shift does not end within `hold_s`; a rider sent
  somewhere within the last `hold_s` counts at its destination and is not sent again meanwhile.
- Each cell gets a share of the supply in proportion to its demand (largest remainders); the places
  the riders counted there leave open are shared among the others (again by largest remainders, as many
  places as riders). Riders are matched to them at the least total distance (SciPy's
  `linear_sum_assignment`, great-circle metres: a coarse decision that needs no road times); a rider is
  sent only where its place is more than `beyond_m` away. The others stay where they are. Past
  `MAX_MATCHED` idle riders only the farthest from demand are matched; the rest count at their nearest
  place. The pooling and the matching run off the event loop.

Where demand comes from is `mode`:

- `recent` (above): the orders of the last `window_s`.
- `forecast` (prepositioning): the demand forecast (`forecast.DemandForecast`) for the `forecast_slots`
  15-minute slots from `lead_s` ahead, summed per cell at `resolution`; a cell's point is the counter of
  its merchant with the most orders (decayed over two weeks). Riders are placed where orders are about to come, not where they came.

Each step's decision (mode, cells targeted with their weights, riders sent) is kept for ops
(`guidance:last`, JSON). Riders get the place in their feed (`GUIDED`); an offer always overrides it. Redis: the recent
placements in a sorted set (`demand`, by placement time, trimmed to the window) and each guided rider's
destination in a hash (`riders:guide`), written after the feed. The minute is kept per process: this
assumes one process ticks a zone (as the tick itself does until zones have leases).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import h3
import numpy as np
import redis.asyncio as aioredis
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from core.geo import EARTH_RADIUS_M, LatLng, unit_vectors
from dispatch.keys import ZoneKeys
from dispatch.models import NearbyRider, OrderRequest
from forecast import DemandForecast

__all__ = ["GUIDANCE_MODES", "Guidance", "GuidanceConfig", "Guide", "Target"]

# `none` is no guidance at all (DispatchConfig.guidance None): riders wait where they are freed.
GUIDANCE_MODES = ("none", "recent", "forecast")

# At most this many idle riders are matched per step (the farthest from demand); a 2,000 x 2,000 matching
# takes a few tenths of a second.
MAX_MATCHED = 2_000


@dataclass(frozen=True)
class GuidanceConfig:
    # How often idle riders are spread over demand (seconds).
    every_s: float = 60.0
    # Demand is the orders placed this far back.
    window_s: float = 1_800.0
    # H3 resolution demand is pooled at: 7 is ~5 km² per cell, a district or a small town (Liechtenstein
    # lunch replay, ortools: click-to-door 46.6 / 46.8 min at 7, 47.4 / 47.5 at 8, 47.5 at 6).
    resolution: int = 7
    # A rider is sent only where its place is farther than this (metres).
    beyond_m: float = 1_500.0
    # A guided rider counts at its destination (and is not sent again) for this long.
    hold_s: float = 900.0
    # Where demand comes from: "recent" orders or the "forecast" (see the module docstring). Recent by
    # default: on the Liechtenstein lunch replay (ortools, seeds 7-9) the forecast placed riders no better
    # (docs/architecture.md, "Demand forecast"), and it needs weeks of history that recent orders do not.
    mode: str = "recent"
    # Forecast mode: demand is the forecast for this many 15-minute slots, from `lead_s` ahead (a guided
    # rider needs some minutes to get there).
    forecast_slots: int = 2
    lead_s: float = 600.0
    # Riders busy now but expected free within this many seconds count as supply at their last drop-off
    # (they fill a place's share as riders on their way do, and are not sent anywhere). 0: only idle riders
    # count, so a place that riders are about to be freed at still draws idle riders from elsewhere.
    soon_free_s: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in ("recent", "forecast"):
            raise ValueError("guidance: mode must be recent or forecast (no guidance: no GuidanceConfig)")
        if self.forecast_slots < 1 or self.lead_s < 0:
            raise ValueError("guidance: forecast_slots must be at least 1 and lead_s not negative")
        if self.soon_free_s < 0:
            raise ValueError("guidance: soon_free_s must not be negative")
        if self.every_s <= 0 or self.window_s <= 0 or self.beyond_m < 0 or self.hold_s <= 0:
            raise ValueError("guidance: every_s, window_s and hold_s must be positive, beyond_m not negative")
        if not 0 <= self.resolution <= 15:
            raise ValueError("guidance: resolution must be within 0..15")


@dataclass(frozen=True)
class Guide:
    """A rider sent to wait at `at` (a counter in a cell of recent demand)."""

    rider_id: str
    at: LatLng
    distance_m: float


@dataclass(frozen=True)
class Target:
    """A cell riders are spread toward: its point (a counter in it) and its weight (orders, recent or
    expected)."""

    cell: str
    at: LatLng
    weight: float


class Guidance:
    """Recent demand and guided riders of one zone, in Redis."""

    def __init__(
        self, client: aioredis.Redis, keys: ZoneKeys, config: GuidanceConfig, forecast: DemandForecast | None = None
    ) -> None:
        if config.mode == "forecast" and forecast is None:
            raise ValueError("guidance: forecast mode needs a demand forecast")
        self.client = client
        self.keys = keys
        self.config = config
        self.forecast = forecast
        self.last_ms: int | None = None
        self._targets: list[Target] = []

    async def record(self, requests: Sequence[OrderRequest]) -> None:
        """Counts orders the engine serves as demand at their counters."""
        if requests:
            await self.client.zadd(
                self.keys.demand,
                {f"{r.order_id}|{r.pickup.lat!r}|{r.pickup.lng!r}": r.placed_at_ms for r in requests},
            )

    def due(self, now_ms: int) -> bool:
        return self.last_ms is None or now_ms - self.last_ms >= self.config.every_s * 1000

    async def demand(self, now_ms: int) -> list[str]:
        """The recent placements (forgetting those past the window)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zremrangebyscore(self.keys.demand, "-inf", f"({now_ms - round(self.config.window_s * 1000)}")
        pipe.zrange(self.keys.demand, 0, -1)
        _, placed = await pipe.execute()
        return list(placed)

    async def targets(self, now_ms: int) -> list[Target]:
        """Where demand is, by the configured mode: recent orders pooled by cell, or the forecast."""
        if self.config.mode == "recent":
            placed = await self.demand(now_ms)
            return await asyncio.to_thread(_demand_places, placed, self.config.resolution) if placed else []
        assert self.forecast is not None
        cfg = self.config
        cells = await self.forecast.cells(now_ms + round(cfg.lead_s * 1000), cfg.forecast_slots, cfg.resolution)
        # A cell's point: its busiest counter (as for recent orders), else its latest.
        counters = await self.forecast.busiest_counters(now_ms, cfg.resolution)
        return [
            Target(f.unit, counters.get(f.unit, f.place), f.total)  # type: ignore[arg-type]
            for f in cells
            if f.place is not None and f.total > 0
        ]

    async def step(self, free: Sequence[NearbyRider], placed: Sequence[str], now_ms: int) -> list[Guide]:
        """Spreads the idle riders among `free` (riders free now; those holding tasks or ending their shift
        within `hold_s` are skipped) over the recent orders `placed` (from `demand`); returns who is sent
        where (`hold` records them once they are told)."""
        places = await asyncio.to_thread(_demand_places, placed, self.config.resolution) if placed else []
        return await self.step_to(free, places, now_ms)

    async def step_to(
        self, free: Sequence[NearbyRider], targets: Sequence[Target], now_ms: int, soon: Sequence[LatLng] = ()
    ) -> list[Guide]:
        """As `step`, toward `targets` (from `targets`); `soon` are the last drop-offs of riders expected free
        within `soon_free_s`, counted where they will be."""
        self.last_ms = now_ms
        self._targets = list(targets)
        cfg = self.config
        if not targets:
            return []
        guided_raw = await self.client.hgetall(self.keys.riders_guide)
        guided: dict[str, tuple[LatLng, int]] = {}
        for rider, value in guided_raw.items():
            lat, lng, until = value.split("|")
            guided[rider] = (LatLng(float(lat), float(lng)), int(until))
        leaving_ms = now_ms + round(cfg.hold_s * 1000)
        idle = {
            r.rider_id: r
            for r in free
            if r.active_tasks == 0 and (r.shift_ends_at_ms is None or r.shift_ends_at_ms > leaving_ms)
        }
        gone = [r for r, (_, until) in guided.items() if until <= now_ms or r not in idle]
        if gone:
            await self.client.hdel(self.keys.riders_guide, *gone)
        # Riders on their way count at their destination and stay on it.
        on_way = {r: at for r, (at, until) in guided.items() if until > now_ms and r in idle}
        movable = [r for rid, r in sorted(idle.items()) if rid not in on_way]
        # CPU (pooling up to a window of orders, a matching of up to MAX_MATCHED riders): off the event loop.
        places = [(t.at, t.weight) for t in targets]
        counted = [*on_way.values(), *soon]
        return await asyncio.to_thread(_spread, movable, counted, places, cfg.beyond_m)

    async def hold(self, guides: Sequence[Guide], now_ms: int) -> None:
        """Records the riders just told where to wait: they count there, and are not sent again, for `hold_s`;
        and the step's decision for ops (`last_decision`)."""
        pipe = self.client.pipeline(transaction=False)
        if guides:
            until = now_ms + round(self.config.hold_s * 1000)
            pipe.hset(
                self.keys.riders_guide, mapping={g.rider_id: f"{g.at.lat!r}|{g.at.lng!r}|{until}" for g in guides}
            )
        decision = {
            "at_ms": now_ms, "mode": self.config.mode,
            "targets": [[t.cell, t.at.lat, t.at.lng, round(t.weight, 4)] for t in self._targets],
            "sent": [[g.rider_id, g.at.lat, g.at.lng, round(g.distance_m)] for g in guides],
        }  # fmt: skip
        pipe.set(self.keys.guidance_last, json.dumps(decision, separators=(",", ":")))
        await pipe.execute()

    async def last_decision(self) -> dict | None:
        """The latest step's decision: {at_ms, mode, targets: [[cell, lat, lng, weight]], sent: [[rider, lat,
        lng, metres]]}, or None before the first."""
        raw = await self.client.get(self.keys.guidance_last)
        return json.loads(raw) if raw else None


def _demand_places(placed: Sequence[str], resolution: int) -> list[Target]:
    """Recent orders pooled by the H3 cell of their counter: (the cell's busiest counter, orders)."""
    by_cell: dict[str, Counter[tuple[float, float]]] = defaultdict(Counter)
    for member in placed:
        _, lat, lng = member.rsplit("|", 2)
        point = (float(lat), float(lng))
        by_cell[h3.latlng_to_cell(point[0], point[1], resolution)][point] += 1
    out = []
    for cell in sorted(by_cell):
        counters = by_cell[cell]
        (lat, lng), _ = max(counters.items(), key=lambda kv: (kv[1], kv[0]))
        out.append(Target(cell, LatLng(lat, lng), float(sum(counters.values()))))
    return out


def _largest_remainders(quota: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers summing to `total`, proportional to `quota` (Hamilton's method)."""
    share = quota / quota.sum() * total
    whole = np.floor(share).astype(int)
    for k in np.argsort(-(share - whole), kind="stable")[: total - int(whole.sum())]:
        whole[k] += 1
    return whole


def _spread(
    movable: Sequence[NearbyRider], on_way: Sequence[LatLng], places: Sequence[tuple[LatLng, float]], beyond_m: float
) -> list[Guide]:
    """Shares of the riders (movable plus those counted somewhere) per place by demand; the places the
    counted riders leave open, shared among the movable riders (as many as they are); the movable riders
    matched to them at the least total distance; those matched farther than `beyond_m` are sent."""
    if not movable or not places:
        return []
    points = [p for p, _ in places]
    tree = cKDTree(unit_vectors(points))
    # Riders counted somewhere fill a seat at the place nearest their destination.
    counted = np.bincount(tree.query(unit_vectors(on_way))[1], minlength=len(points)) if on_way else None
    if len(movable) > MAX_MATCHED:
        # Only the riders farthest from any place are matched; the others count at their nearest place, as
        # riders on their way do (a city with tens of thousands idle would otherwise need a matching of
        # that size: memory and time grow with its square).
        chord, nearest = tree.query(unit_vectors([r.position for r in movable]))
        far = np.argsort(-chord, kind="stable")
        staying = np.bincount(nearest[far[MAX_MATCHED:]], minlength=len(points))
        counted = staying if counted is None else counted + staying
        movable = [movable[k] for k in sorted(far[:MAX_MATCHED].tolist())]
    weights = np.array([w for _, w in places], dtype=float)
    seats = _largest_remainders(weights, len(movable) + (0 if counted is None else int(counted.sum())))
    if counted is not None:
        open_seats = np.maximum(seats - counted, 0)
        # Clipped at zero, the open seats can outnumber the movable riders: share that many among them.
        seats = _largest_remainders(open_seats.astype(float), len(movable)) if open_seats.any() else open_seats
    slots = np.repeat(np.arange(len(points)), seats)
    if not len(slots):
        return []
    cosine = unit_vectors([r.position for r in movable]) @ unit_vectors(points).T
    metres = EARTH_RADIUS_M * np.arccos(np.clip(cosine, -1.0, 1.0))
    rows, cols = linear_sum_assignment(metres[:, slots])
    return [
        Guide(movable[i].rider_id, points[slots[j]], float(metres[i, slots[j]]))
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True)
        if metres[i, slots[j]] > beyond_m
    ]
