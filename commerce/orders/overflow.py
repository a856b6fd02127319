"""Chain overflow (issue 21): an order placed at a swamped branch of a chain is served by a sibling branch
that promises the customer an earlier drop-off.

The decision is made by the order center at creation, before the stock is reserved and the order stored:
the order, its reservation and its split then belong to the fulfilling branch from the start, and nothing
has to be moved afterwards (a move after payment would re-post the split and re-reserve stock). Dispatch
only predicts: the order center reads each branch's predicted ready time and backlog through
`KitchenView` (served by dispatch's prep-time model, `dispatch/prep.py`), the chain's branches and
settings through `ChainView` (the merchants package), and ride times through `RoadTimes` (the road graph).
Dispatch itself stays unaware of chains, and a process without a dispatcher simply never moves orders.

The rule (`choose_branches`), all times in the customer's terms:

* promise of a branch = its predicted ready time for this order + the road ride from it to the drop-off;
* the placed branch is swamped when its backlog (open orders) reaches `backlog_orders` or its predicted
  prep time (ready - now) reaches `late_prep_s`;
* a sibling qualifies when it is open, its delivery area covers the drop-off, and its promise is at least
  `margin_s` earlier than the placed branch's;
* qualifying siblings are tried earliest promise first (ties by id), and the first that can price and
  reserve the order's catalogue lines serves it; none: the placed branch serves it.

It is deterministic given the state it reads, and a retry of CreateOrder never decides again: the stored
order names the branch it went to (the order center checks that first).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from commerce.orders.terms import DeliveryTerms
from core.errors import InvalidArgument
from core.geo import LatLng, haversine_m

__all__ = [
    "BranchPromise",
    "BranchView",
    "ChainOverflow",
    "ChainView",
    "KitchenView",
    "OracleRoadTimes",
    "OverflowMove",
    "OverflowSettings",
    "RoadTimes",
    "StraightLineTimes",
    "choose_branches",
    "covers_by_terms",
    "is_swamped",
]


class OverflowSettings(Protocol):
    """A chain's overflow settings (kept by the merchants package: `merchants.OverflowPolicy`)."""

    @property
    def enabled(self) -> bool: ...
    @property
    def backlog_orders(self) -> int:
        """The placed branch counts as swamped at this many open orders (0: the backlog alone never does) ..."""
        ...

    @property
    def late_prep_s(self) -> int:
        """... or when its predicted prep time for the order reaches this (0: never by prep time alone)."""
        ...

    @property
    def margin_s(self) -> int:
        """A sibling serves the order only if it brings the promised drop-off forward by at least this."""
        ...


class BranchView(Protocol):
    """A branch of a chain as the rule sees it."""

    @property
    def merchant_id(self) -> str: ...
    @property
    def location(self) -> LatLng: ...
    @property
    def is_open(self) -> bool: ...


@dataclass(frozen=True)
class BranchPromise:
    """What a branch would promise for this order."""

    merchant_id: str
    location: LatLng
    ready_ms: int  # dispatch's predicted ready time
    backlog: int  # its open orders
    ride_s: float  # road ride to the drop-off
    covers: bool = True  # open, and its delivery area holds the drop-off

    @property
    def promise_ms(self) -> int:
        return self.ready_ms + round(self.ride_s * 1000)


@dataclass(frozen=True)
class OverflowMove:
    """A sibling that may serve the order, and the history note that says why."""

    merchant_id: str
    location: LatLng
    note: str


def choose_branches(
    placed: BranchPromise, siblings: Sequence[BranchPromise], policy: OverflowSettings, now_ms: int
) -> list[OverflowMove]:
    """The siblings that may serve the order, best first (empty: the placed branch serves it)."""
    if not policy.enabled or not is_swamped(placed.ready_ms, placed.backlog, policy, now_ms):
        return []
    busy = policy.backlog_orders > 0 and placed.backlog >= policy.backlog_orders
    margin_ms = policy.margin_s * 1000
    fit = [s for s in siblings if s.covers and s.merchant_id != placed.merchant_id]
    fit = [s for s in fit if placed.promise_ms - s.promise_ms >= margin_ms]
    fit.sort(key=lambda s: (s.promise_ms, s.merchant_id))
    why = f"backlog {placed.backlog} orders" if busy else f"predicted prep {_min(placed.ready_ms - now_ms)} min"
    return [
        OverflowMove(
            s.merchant_id,
            s.location,
            f"overflow from {placed.merchant_id} ({why}): predicted ready {_min(placed.ready_ms - s.ready_ms)} min "
            f"later than {s.merchant_id}, drop-off promised {_min(placed.promise_ms - s.promise_ms)} min earlier",
        )
        for s in fit
    ]


def is_swamped(ready_ms: int, backlog: int, policy: OverflowSettings, now_ms: int) -> bool:
    """Whether a branch with this predicted ready time and backlog gives its orders away."""
    busy = policy.backlog_orders > 0 and backlog >= policy.backlog_orders
    return busy or (policy.late_prep_s > 0 and ready_ms - now_ms >= policy.late_prep_s * 1000)


def _min(ms: int) -> int:
    return round(ms / 60_000)


class KitchenView(Protocol):
    """Dispatch's prediction of when a merchant would have an order ready (its prep-time model)."""

    async def predict_ready(
        self, branches: Sequence[tuple[str, LatLng]], at_ms: int, item_count: int
    ) -> list[tuple[int, int]]:
        """(predicted ready ms, open orders) per (merchant id, location), for an order placed at `at_ms`."""
        ...


class ChainView(Protocol):
    """A chain's branches and overflow settings (the merchants package)."""

    async def overflow_policy(self, chain_id: str) -> OverflowSettings | None:
        """The chain's settings; None when it has none (overflow off)."""
        ...

    async def branches_of(self, chain_id: str, at_ms: int) -> Sequence[BranchView]:
        """The chain's branches, with whether each takes orders at `at_ms`."""
        ...


class RoadTimes(Protocol):
    def ride_s(self, a: LatLng, b: LatLng, at_ms: int) -> float:
        """Road travel time from a to b, departing at at_ms."""
        ...


@dataclass(frozen=True)
class StraightLineTimes:
    """Ride times without a road graph: the straight line x 1.3 at an e-bike's 4.5 m/s (the replays' rider
    speed), like pricing's fallback."""

    detour: float = 1.3
    speed_mps: float = 4.5

    def ride_s(self, a: LatLng, b: LatLng, at_ms: int) -> float:
        return haversine_m(a.lat, a.lng, b.lat, b.lng) * self.detour / self.speed_mps


class OracleRoadTimes:
    """Ride times on the road graph (routing_data.RoadNetworkOracle); the straight line where it has no path."""

    def __init__(self, oracle: object) -> None:
        self._oracle = oracle
        self._fallback = StraightLineTimes()

    def ride_s(self, a: LatLng, b: LatLng, at_ms: int) -> float:
        try:
            t = float(self._oracle.matrix([a], [b], at_ms)[0, 0])  # type: ignore[attr-defined]
        except Exception:  # no path, or outside the graph: the straight line
            t = math.inf
        return t if math.isfinite(t) else self._fallback.ride_s(a, b, at_ms)


# Whether a merchant's delivery area holds a drop-off (pricing's areas; None: areas are not checked).
AreaCheck = Callable[[str, LatLng], Awaitable[bool]]


def covers_by_terms(terms: DeliveryTerms) -> AreaCheck:
    """The area check of the order center's delivery terms (a merchant without an area delivers anywhere)."""

    async def covers(merchant_id: str, dropoff: LatLng) -> bool:
        try:
            await terms.check_dropoff(merchant_id, dropoff)
        except InvalidArgument:
            return False
        return True

    return covers


class ChainOverflow:
    """Gathers what the rule needs for an order of a chain's branch and applies it."""

    def __init__(self, chains: ChainView, kitchens: KitchenView, roads: RoadTimes, covers: AreaCheck | None = None):
        self.chains = chains
        self.kitchens = kitchens
        self.roads = roads
        self.covers = covers

    async def moves(
        self, chain_id: str, merchant_id: str, dropoff: LatLng, item_count: int, now_ms: int
    ) -> list[OverflowMove]:
        """The siblings that may serve an order placed at `merchant_id`, best first."""
        policy = await self.chains.overflow_policy(chain_id)
        if policy is None or not policy.enabled:
            return []
        branches = await self.chains.branches_of(chain_id, now_ms)
        placed = next((b for b in branches if b.merchant_id == merchant_id), None)
        if placed is None or len(branches) < 2:
            return []  # the merchant does not name this chain (settlement will say so), or has no sibling
        # The placed branch first: most orders find it not swamped, and the siblings are not asked about.
        [mine] = await self.kitchens.predict_ready([(placed.merchant_id, placed.location)], now_ms, item_count)
        if not is_swamped(*mine, policy, now_ms):
            return []
        siblings = [b for b in branches if b is not placed]
        predicted = await self.kitchens.predict_ready([(b.merchant_id, b.location) for b in siblings], now_ms,
                                                      item_count)  # fmt: skip
        promises = [BranchPromise(placed.merchant_id, placed.location, *mine,
                                  self.roads.ride_s(placed.location, dropoff, now_ms))]  # fmt: skip
        for b, (ready_ms, backlog) in zip(siblings, predicted, strict=True):
            covers = b.is_open
            if covers and self.covers is not None:
                covers = await self.covers(b.merchant_id, dropoff)
            ride = self.roads.ride_s(b.location, dropoff, now_ms)
            promises.append(BranchPromise(b.merchant_id, b.location, ready_ms, backlog, ride, covers))
        return choose_branches(promises[0], promises[1:], policy, now_ms)
