"""A city's service period, simulated through the real engine: riders on shifts ride the road graph's
routes, merchants cook for a time only they know, customers order along a demand curve.

`CityWorld` is the simulated city (orders, riders, their events and rides); it talks to dispatch through
an `Engine`. `replay_city` runs it in process: the engine (Dispatcher, its Redis rider index and order
store, the policy, the road oracle) runs on a ManualClock that the simulator moves from event to event,
so a two-hour lunch replays in seconds. `bench.replay.via_grpc` runs the same world against a server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np
import redis.asyncio as aioredis

from bench.replay.city import Merchant, draw_merchants, places
from bench.replay.scenario import Scenario
from commerce.orders.delivery import DispatchKitchens
from commerce.orders.overflow import ChainOverflow, OracleRoadTimes
from core.clock import ManualClock
from core.geo import LatLng, haversine_m
from dispatch.config import DispatchConfig
from dispatch.dispatcher import Dispatcher
from dispatch.guidance import GUIDANCE_MODES, GuidanceConfig
from dispatch.models import Availability, OrderRequest, OrderStatus, PositionFix, TaskAction
from dispatch.policies import make_policy
from forecast import SLOT_MS, ForecastConfig, PlacedOrder
from merchants.chains import ChainBranch, OverflowPolicy
from routing_data.cities import load_graph, service_area
from routing_data.graph import RoadGraph
from routing_data.modes import Mode
from routing_data.oracle import RoadNetworkOracle, Route


@dataclass
class OrderLog:
    order_id: str
    merchant: str
    placed_s: float
    ready_s: float
    promised_s: float
    dropoff_at: LatLng
    item_count: int = 1
    assigned_s: float | None = None
    arrived_s: float | None = None
    pickup_s: float | None = None
    dropoff_s: float | None = None
    rider: str | None = None
    delivered: bool = False  # the rider has reported the delivery
    # Where the engine left the order at the end of the replay, and why if it refused it.
    final_status: str = ""
    reason: str = ""
    # A chain's order (issue 21): its cooking time, the branch it was placed at (`merchant` is the branch that
    # serves it) and when that branch's kitchen starts it (its ready time is set at placement, from the queue).
    cook_s: float | None = None
    placed_at: str = ""
    cook_start_s: float | None = None
    # Its delivery quoted at placement (in-process replays, `fees.py`): the basket priced, the fee and its
    # surge, or why the quote was refused; None when the replay quotes nothing (through gRPC).
    items_fen: int = 0
    fee_fen: int | None = None
    surge_factor: float = 1.0
    surge_fen: int = 0
    rider_surge_fen: int = 0
    small_order_fen: int = 0
    quote_refused: str = ""


@dataclass
class RiderState:
    id: str
    position: LatLng
    on_s: float
    off_s: float
    busy: bool = False
    online: bool = False
    busy_s: float = 0.0
    # The bundle it carries: its id and its orders in delivery sequence; `picked` once collected.
    bundle: str = ""
    plan: list[tuple[int, str]] = field(default_factory=list)
    picked: bool = False
    since_s: float = 0.0  # when it accepted the bundle
    leg: int = 0  # counts its rides: a ride to wait somewhere (guidance) is dropped when another starts


@dataclass
class ReplayResult:
    scenario: Scenario
    policy: str
    city: str
    orders: list[OrderLog]
    riders: list[RiderState]
    tick_s: list[float] = field(default_factory=list)
    solve_ms: list[float] = field(default_factory=list)
    pending_per_tick: list[int] = field(default_factory=list)
    offers_rejected: int = 0
    guided: int = 0  # idle riders the engine sent to wait near demand (and who set off)
    guidance: str = "recent"  # none, recent or forecast (`dispatch.guidance`)
    # Per H3 cell of the counters (the forecast's resolution): orders forecast for the period's 15-minute
    # slots (each made at the slot's start, from the orders before it) and orders placed.
    forecast_vs_actual: dict[str, tuple[float, int]] = field(default_factory=dict)
    wall_s: float = 0.0
    via: str = "in-process"
    api: dict[str, float] = field(default_factory=dict)  # calls made through the API (gRPC replays)
    chain: list[str] = field(default_factory=list)  # the chain's branches, the swamped one first
    moved: int = 0  # orders chain overflow moved to a sibling


def _position_along(route: Route, fraction: float) -> LatLng:
    """The point a share of the way along a route's geometry (by length)."""
    pts = route.geometry
    if len(pts) == 1 or fraction <= 0:
        return pts[0]
    legs = [math.dist((a.lat, a.lng), (b.lat, b.lng)) for a, b in itertools.pairwise(pts)]
    target = sum(legs) * min(1.0, fraction)
    for (a, b), leg in zip(itertools.pairwise(pts), legs, strict=True):
        if target <= leg and leg > 0:
            f = target / leg
            return LatLng(a.lat + (b.lat - a.lat) * f, a.lng + (b.lng - a.lng) * f)
        target -= leg
    return pts[-1]


def _chain_of(merchants: list[Merchant], centre: LatLng, branches: int, spacing_m: float) -> list[str]:
    """A chain's branches: the merchant nearest the city's centre (the swamped one), then the merchants nearest
    it that lie at least `spacing_m` from it and from each other."""
    if branches == 0:
        return []
    by_distance = sorted(merchants, key=lambda m: (haversine_m(m.position.lat, m.position.lng, centre.lat, centre.lng),
                                                   m.id))  # fmt: skip
    chosen = [by_distance[0]]
    first = chosen[0].position
    for m in sorted(by_distance[1:], key=lambda m: haversine_m(m.position.lat, m.position.lng, first.lat, first.lng)):
        if len(chosen) == branches:
            break
        if all(
            haversine_m(m.position.lat, m.position.lng, c.position.lat, c.position.lng) >= spacing_m for c in chosen
        ):
            chosen.append(m)
    if len(chosen) < branches:
        raise ValueError(f"only {len(chosen)} merchants {spacing_m:.0f} m apart for a chain of {branches} branches")
    return [m.id for m in chosen]


def _bands(merchants: list[Merchant], count: int) -> list[list[Merchant]]:
    """The merchants in `count` bands of equal count along the city's long axis (the first principal axis of
    their positions, pointing north, else east): a valley's towns from south to north, a coastal city's
    districts along its shore."""
    lat0 = sum(m.position.lat for m in merchants) / len(merchants)
    xy = np.array([(m.position.lng * math.cos(math.radians(lat0)), m.position.lat) for m in merchants])
    xy -= xy.mean(axis=0)
    axis = np.linalg.svd(xy, full_matrices=False)[2][0]
    if axis[1] < 0 or (axis[1] == 0 and axis[0] < 0):
        axis = -axis
    order = sorted(range(len(merchants)), key=lambda k: (float(xy[k] @ axis), merchants[k].id))
    return [[merchants[k] for k in part] for part in np.array_split(np.array(order), count)]


def _customers_within(merchants: list[Merchant], customers: list[LatLng], radius_m: float) -> dict[str, list[LatLng]]:
    """Each merchant's customers inside its delivery area (radius 0: no areas, nothing listed)."""
    if radius_m <= 0:
        return {}
    return {
        m.id: [c for c in customers if haversine_m(m.position.lat, m.position.lng, c.lat, c.lng) <= radius_m]
        for m in merchants
    }


class _ReplayChain:
    """The scenario's chain as chain overflow sees it (commerce.orders.overflow.ChainView): every branch open,
    the scenario's overflow settings."""

    def __init__(self, world: CityWorld) -> None:
        sc = world.scenario
        self.policy = OverflowPolicy(True, sc.overflow_backlog_orders, round(sc.overflow_late_prep_min * 60),
                                     round(sc.overflow_margin_min * 60))  # fmt: skip
        self.branches = [ChainBranch(b, world.merchant_of[b].position, True) for b in world.chain]

    async def overflow_policy(self, chain_id: str) -> OverflowPolicy:
        return self.policy

    async def branches_of(self, chain_id: str, at_ms: int) -> list[ChainBranch]:
        return self.branches


def chain_overflow(world: CityWorld, dispatcher: Dispatcher) -> ChainOverflow:
    """The order center's chain overflow over the replay: the same rule, dispatch's own prep-time model, the
    road graph's ride times, and the scenario's radius areas (there is no stock to check: orders carry no
    catalogue lines)."""
    radius = world.scenario.area_radius_m

    async def covers(merchant_id: str, door: LatLng) -> bool:
        at = world.merchant_of[merchant_id].position
        return radius <= 0 or haversine_m(at.lat, at.lng, door.lat, door.lng) <= radius

    return ChainOverflow(_ReplayChain(world), DispatchKitchens(dispatcher), OracleRoadTimes(world.oracle), covers)


class Engine(Protocol):
    """How the simulated city reaches dispatch: the dispatcher's methods in process, or the gRPC API."""

    async def report(self, fixes: list[PositionFix]) -> None:
        """Rider apps' position fixes (queued or written; in order per rider)."""
        ...

    async def place(self, order: OrderRequest) -> None:
        """The order service submits an order (its decision comes later, through the rider's feed)."""
        ...

    async def update_task(self, rider_id: str, order_id: str, action: TaskAction, at_ms: int) -> bool:
        """A rider's step on its task; False when the engine refused it (an offer that lapsed meanwhile)."""
        ...

    def rider_online(self, rider_id: str, online: bool) -> None:
        """A rider's app opens at the start of a shift and closes when its last task after it is done."""
        ...


def replay_config(graph: RoadGraph, scenario: Scenario, guidance: str = "recent") -> DispatchConfig:
    """The engine settings of a replay, in process or on the server it starts; `guidance` is none, recent
    or forecast."""
    if guidance not in GUIDANCE_MODES:
        raise ValueError(f"guidance must be one of {', '.join(GUIDANCE_MODES)}, got {guidance!r}")
    return DispatchConfig(
        city=service_area(graph), tick_s=scenario.tick_s, rider_ttl_s=60, offer_timeout_s=30,
        max_pending_s=scenario.promise_min * 60, learn_traffic_s=0,
        backlog_ticks=None,  # a replay measures dispatch, not intake: every order of the scenario is placed
        guidance=None if guidance == "none" else GuidanceConfig(mode=guidance),
        forecast=ForecastConfig(),  # kept in every mode, for the forecast-vs-actual map
    )  # fmt: skip


class CityWorld:
    """A scenario drawn in a city: merchants, customers, riders on shifts, the orders of the period and
    the timeline of what happens (riders coming and going, orders placed, rides), in scenario seconds.

    Everything is drawn from the scenario's seed when the world is made; offers are answered from a
    random stream of their own, so that the order in which offers arrive does not change the orders.
    """

    def __init__(self, city: str, scenario: Scenario, policy: str, guidance: str = "recent") -> None:
        self.scenario = scenario
        rng = random.Random(scenario.seed)
        self.accept_rng = random.Random(f"{scenario.seed}/accept")
        source, graph = load_graph(city)
        self.graph = graph
        self.oracle = RoadNetworkOracle(graph, timezone=source.timezone)
        found_merchants, customers = places(source.pbf, self.oracle)
        if len(found_merchants) < 3:
            raise ValueError(f"{graph.name}: fewer than 3 merchants near roads in {source.pbf}")
        if len(customers) < 20:  # an extract without addresses: customers at road nodes instead
            nodes = graph.nodes_of(Mode.EBIKE)
            customers = [
                LatLng(float(graph.node_lat[n]), float(graph.node_lng[n])) for n in rng.sample(list(nodes), 500)
            ]
        merchants: list[Merchant] = draw_merchants(found_merchants, rng, scenario.prep_mean_min)
        self.merchant_of = {m.id: m for m in merchants}
        self.merchants = merchants
        # Moving demand (scenario.districts): the merchants of each district, along the city's long axis.
        self.districts = _bands(merchants, len(scenario.districts)) if scenario.districts else []
        self.day = dt.datetime(2026, 6, 10, tzinfo=ZoneInfo(source.timezone))  # a Wednesday
        self.t0_ms = int((self.day + dt.timedelta(hours=scenario.start_hour)).timestamp() * 1000)
        self.end_s = scenario.duration_h * 3600
        self.config = replay_config(graph, scenario, guidance)
        self.refused: dict[str, str] = {}  # order -> the engine's reason
        self._seq = itertools.count()
        self.events: list[tuple[float, int, str, object]] = []
        self.on_schedule: Callable[[], None] = lambda: None  # told when an event is added

        nodes = graph.nodes_of(Mode.EBIKE)
        self.riders: dict[str, RiderState] = {}
        for i in range(scenario.riders):
            n = int(rng.choice(list(nodes)))
            full = rng.random() < scenario.full_shift_share
            # Shifts outlast the order window by the promise, so late orders still find riders.
            tail_s = scenario.promise_min * 60
            on, off = (0.0, self.end_s + tail_s) if full else (self.end_s * 0.25, self.end_s * 0.75 + tail_s)
            r = RiderState(f"r{i:03d}", LatLng(float(graph.node_lat[n]), float(graph.node_lng[n])), on, off)
            self.riders[r.id] = r
            self.at(on, "on", r.id)
            self.at(off, "off", r.id)
        self.orders: dict[str, OrderLog] = {}
        # Chain overflow (issue 21), set by the replay when the scenario turns it on: ChainOverflow.moves.
        self.overflow: ChainOverflow | None = None
        self.chain = _chain_of(merchants, service_area(graph).center, scenario.chain_branches, scenario.chain_spacing_m)
        self.kitchens: dict[str, list[float]] = {b: [0.0] * scenario.chain_cooks for b in self.chain}
        for b in self.chain:  # the chain's branches share its recipes
            self.merchant_of[b] = replace(self.merchant_of[b], prep_mean_s=scenario.chain_prep_min * 60)
        if self.chain:
            self._draw_chain_orders(rng, merchants, customers, max(scenario.demand_per_hour.values()))
        else:
            within = _customers_within(merchants, customers, scenario.area_radius_m)
            for t, m in self._arrivals(rng):
                oid = f"o{len(self.orders):05d}"
                ready = t + m.prep_mean_s * math.exp(rng.gauss(0, scenario.prep_sigma) - scenario.prep_sigma**2 / 2)
                door = rng.choice(within.get(m.id) or customers)
                self.orders[oid] = OrderLog(oid, m.id, t, ready, t + scenario.promise_min * 60, door,
                                            item_count=rng.randint(1, 4))  # fmt: skip
                self.at(t, "place", oid)
        self.result = ReplayResult(scenario, policy, graph.name, list(self.orders.values()), list(self.riders.values()),
                                   guidance=guidance, chain=list(self.chain))  # fmt: skip

    def _arrivals(self, rng: random.Random) -> Iterator[tuple[float, Merchant]]:
        """Poisson arrivals along the scenario's demand curve (thinning), in scenario seconds, each with its
        merchant: any merchant, or with districts one of the district an arrival is drawn for (in proportion
        to the districts' demand at that time). The caller draws the order's details between arrivals."""
        scenario = self.scenario
        t = 0.0
        peak = scenario.peak_per_hour
        while True:
            t += rng.expovariate(peak / 3600)
            if t >= self.end_s:
                return
            hour = scenario.start_hour + t / 3600
            if rng.random() > scenario.demand_at(hour) / peak:
                continue
            if not self.districts:
                yield t, rng.choice(self.merchants)
                continue
            weights = scenario.district_demand_at(hour)
            pick, k = rng.random() * sum(weights), 0
            while k < len(weights) - 1 and pick >= weights[k]:
                pick -= weights[k]
                k += 1
            yield t, rng.choice(self.districts[k])

    def history(self, days: int) -> list[PlacedOrder]:
        """The orders of the same period on each of the `days` days before the replay's, drawn from the same
        demand model (curve, merchants chosen alike) with a seed per day: what the demand forecast has
        learnt by the replay's day. None of them is an order of the replay."""
        out = []
        for back in range(days, 0, -1):
            rng = random.Random(f"{self.scenario.seed}/history/{back}")
            day = self.day - dt.timedelta(days=back)
            t0_ms = int((day + dt.timedelta(hours=self.scenario.start_hour)).timestamp() * 1000)
            for k, (t, m) in enumerate(self._arrivals(rng)):
                out.append(PlacedOrder(f"h{back}-{k}", m.id, m.position, t0_ms + round(t * 1000)))
        return out

    def _draw_chain_orders(self, rng: random.Random, merchants: list[Merchant], customers: list[LatLng],
                           peak: float) -> None:  # fmt: skip
        """The orders of a scenario with a chain: a share placed at the chain (most at its first branch), each
        from a customer inside the merchant's delivery area when the scenario has areas."""
        sc = self.scenario
        within = _customers_within(merchants, customers, sc.area_radius_m)
        others = [m for m in merchants if m.id not in self.kitchens]
        t = 0.0
        while True:
            t += rng.expovariate(peak / 3600)
            if t >= self.end_s:
                break
            if rng.random() > sc.demand_at(sc.start_hour + t / 3600) / peak:
                continue
            if rng.random() < sc.chain_share:
                mid = self.chain[0] if rng.random() < sc.swamped_share else rng.choice(self.chain[1:])
            else:
                mid = rng.choice(others).id
            m = self.merchant_of[mid]
            cook_s = m.prep_mean_s * math.exp(rng.gauss(0, sc.prep_sigma) - sc.prep_sigma**2 / 2)
            oid = f"o{len(self.orders):05d}"
            door = rng.choice(within.get(mid) or customers)
            chain = mid in self.kitchens
            self.orders[oid] = OrderLog(oid, mid, t, t + cook_s, t + sc.promise_min * 60, door,
                                        item_count=rng.randint(1, 4), cook_s=cook_s if chain else None,
                                        placed_at=mid if chain else "")  # fmt: skip
            self.at(t, "place", oid)

    async def _serve_chain_order(self, o: OrderLog, s: float) -> None:
        """A chain's order at its placement: chain overflow may give it to a sibling; the serving branch's
        kitchen starts it when a cook is free."""
        if self.overflow is not None:
            moves = await self.overflow.moves("chain", o.placed_at, o.dropoff_at, o.item_count, self.ms(s))
            if moves:
                o.merchant = moves[0].merchant_id
                self.result.moved += 1
        cooks = self.kitchens[o.merchant]
        k = min(range(len(cooks)), key=cooks.__getitem__)
        o.cook_start_s = max(s, cooks[k])
        o.ready_s = o.cook_start_s + (o.cook_s or 0.0)
        cooks[k] = o.ready_s

    def ms(self, s: float) -> int:
        """Scenario seconds as the engine's clock time."""
        return self.t0_ms + round(s * 1000)

    def at(self, s: float, kind: str, data: object) -> None:
        heapq.heappush(self.events, (s, next(self._seq), kind, data))
        self.on_schedule()

    def is_settled(self) -> bool:
        """Every order delivered, or refused by the engine (no rider took it within the promise)."""
        return all(o.delivered or o.order_id in self.refused for o in self.orders.values())

    def _ride(self, r: RiderState, dest: LatLng, depart_s: float, arrive_kind: str, oid: str) -> float:
        r.leg += 1
        route = self.oracle.route(r.position, dest, self.ms(depart_s))
        arrive = depart_s + route.travel_time_s
        every_s = self.scenario.position_every_s
        for k in range(1, int(route.travel_time_s // every_s) + 1):
            self.at(depart_s + k * every_s, "move", (r.id, route, k * every_s / route.travel_time_s, r.leg))
        self.at(arrive, arrive_kind, (r.id, oid, dest, r.leg))
        return arrive

    def guided(self, rider_id: str, at: LatLng, s: float) -> None:
        """The engine sent an idle rider to wait at `at`: it rides there (free all the way) unless it has
        work or has gone home; an offer on the way takes it elsewhere."""
        r = self.riders[rider_id]
        if r.online and not r.busy and s < r.off_s:
            self.result.guided += 1
            self._ride(r, at, s, "waiting", "")

    async def _report(self, engine: Engine, r: RiderState, s: float, availability: Availability,
                      speed: float | None = None) -> None:  # fmt: skip
        fix = PositionFix(r.id, r.position.lat, r.position.lng, self.ms(s), speed_mps=speed, availability=availability,
                          shift_ends_at_ms=self.ms(r.off_s))  # fmt: skip
        await engine.report([fix])

    async def _go_offline(self, engine: Engine, r: RiderState, s: float) -> None:
        r.online = False
        r.leg += 1  # no longer on its way to wait anywhere
        await self._report(engine, r, s, Availability.OFFLINE)
        engine.rider_online(r.id, False)

    async def offered(
        self, engine: Engine, rider_id: str, order_id: str, s: float, bundle_id: str = "", seq: int = 1
    ) -> None:
        """A rider's app got an offer at `s`: it accepts (and rides) or rejects, per the scenario. An
        offer in the bundle the rider is on its way to collect joins it (same merchant)."""
        r, o = self.riders[rider_id], self.orders[order_id]
        bundle_id = bundle_id or order_id
        joins = (
            r.busy and r.bundle == bundle_id and not r.picked
            and all(self.orders[x].merchant == o.merchant for _, x in r.plan)
        )  # fmt: skip
        if (r.busy and not joins) or self.accept_rng.random() > self.scenario.accept_probability:
            self.result.offers_rejected += 1
            await engine.update_task(r.id, order_id, TaskAction.REJECT, self.ms(s))
            return
        first = not r.busy
        r.busy = True  # before the call: nothing else of this rider's may run as if it were free
        if not await engine.update_task(r.id, order_id, TaskAction.ACCEPT, self.ms(s)):
            if first:
                r.busy = False
                if s >= r.off_s:  # its shift ended while it answered: it goes home as it would after a task
                    await self._go_offline(engine, r, s)
            return
        o.assigned_s, o.rider = s, r.id
        if first:
            r.bundle, r.plan, r.picked, r.since_s = bundle_id, [], False, s
            self._ride(r, self.merchant_of[o.merchant].position, s, "at_merchant", order_id)
        r.plan = sorted([*r.plan, (seq, order_id)])

    def hint_sd_s(self, m: Merchant) -> float:
        """The spread a merchant states with its hint (0: none, the hint is taken as the ready time): the
        standard deviation of its lognormal prep times."""
        if not self.scenario.hint_spread:
            return 0.0
        return m.prep_mean_s * math.sqrt(math.expm1(self.scenario.prep_sigma**2))

    async def handle(self, engine: Engine, s: float, kind: str, data: object) -> None:
        """What happens in the city at `s`."""
        half_p, half_d = self.config.pickup_service_s / 2, self.config.dropoff_service_s / 2
        if kind == "place":
            o = self.orders[data]  # type: ignore[index]
            if o.cook_s is not None:
                await self._serve_chain_order(o, s)
            m = self.merchant_of[o.merchant]
            # A chain's kitchen knows its queue: its hint is when a cook starts the order plus the mean prep.
            hint_s = (o.cook_start_s if o.cook_start_s is not None else o.placed_s) + m.prep_mean_s
            await engine.place(OrderRequest(
                o.order_id, m.id, m.position, o.dropoff_at, self.ms(o.placed_s), item_count=o.item_count,
                promised_at_ms=self.ms(o.promised_s), ready_at_hint_ms=self.ms(hint_s),
                ready_hint_sd_s=self.hint_sd_s(m),
            ))  # fmt: skip
        elif kind in ("on", "keepalive"):
            r = self.riders[data]  # type: ignore[index]
            if kind == "on":
                r.online = True
            if r.online and not r.busy:
                await self._report(engine, r, s, Availability.AVAILABLE)
            if kind == "on":
                engine.rider_online(r.id, True)
            if r.online:
                self.at(s + 30, "keepalive", r.id)
        elif kind == "off":
            r = self.riders[data]  # type: ignore[index]
            if not r.busy:
                await self._go_offline(engine, r, s)
        elif kind == "move":
            rid, route, fraction, leg = data  # type: ignore[misc]
            r = self.riders[rid]
            if leg != r.leg or not r.online:
                return  # a ride to wait somewhere, given up for work or the end of the shift
            r.position = _position_along(route, fraction)
            await self._report(engine, r, s, Availability.BUSY if r.busy else Availability.AVAILABLE, speed=4.5)
        elif kind == "waiting":
            rid, _, dest, leg = data  # type: ignore[misc]
            r = self.riders[rid]
            if leg == r.leg and r.online and not r.busy:
                r.position = dest
                await self._report(engine, r, s, Availability.AVAILABLE)
        elif kind == "at_merchant":
            rid, _, dest, _ = data  # type: ignore[misc]
            r = self.riders[rid]
            r.position = dest
            for _, oid in r.plan:
                self.orders[oid].arrived_s = s
                await engine.update_task(rid, oid, TaskAction.ARRIVED_AT_MERCHANT, self.ms(s))
            # The bundle is collected at once, when the last of its food is ready.
            self.at(max(s + half_p, *(self.orders[oid].ready_s for _, oid in r.plan)), "pickup", (rid, ""))
        elif kind == "pickup":
            rid, _ = data  # type: ignore[misc]
            r = self.riders[rid]
            r.picked = True
            for _, oid in r.plan:
                self.orders[oid].pickup_s = s
                await engine.update_task(rid, oid, TaskAction.PICKED_UP, self.ms(s))
            first = r.plan[0][1]
            self._ride(r, self.orders[first].dropoff_at, s + half_p, "at_customer", first)
        elif kind == "at_customer":
            rid, oid, dest, _ = data  # type: ignore[misc]
            r, o = self.riders[rid], self.orders[oid]
            r.position = dest
            o.dropoff_s = s + half_d
            self.at(s + half_d, "deliver", (rid, oid))
        elif kind == "deliver":
            rid, oid = data  # type: ignore[misc]
            r, o = self.riders[rid], self.orders[oid]
            await engine.update_task(rid, oid, TaskAction.DELIVERED, self.ms(s))
            o.delivered = True
            r.plan = [(k, x) for k, x in r.plan if x != oid]
            if r.plan:  # on to the bundle's next door
                nxt = r.plan[0][1]
                self._ride(r, self.orders[nxt].dropoff_at, s + half_d, "at_customer", nxt)
                return
            r.busy_s += s + half_d - r.since_s
            self.at(s + half_d, "free", rid)
        elif kind == "free":
            r = self.riders[data]  # type: ignore[index]
            r.busy = False
            if s >= r.off_s:
                await self._go_offline(engine, r, s)
            else:
                await self._report(engine, r, s, Availability.AVAILABLE)

    def show_progress(self, s: float, last: int) -> int:
        """Draws the progress bar when the share of the period done changed; returns it."""
        done = int(100 * min(s, self.end_s) / self.end_s)
        if done != last:
            bar = "#" * (done // 4)
            print(f"\r{self.result.policy:>10} [{bar:<25}] {done:3d}% of {self.scenario.duration_h:g} h", end="",
                  file=sys.stderr)  # fmt: skip
        return done


class InProcessEngine:
    """The dispatcher's own methods, called directly."""

    def __init__(self, dispatcher: Dispatcher, world: CityWorld) -> None:
        self.dispatcher = dispatcher
        self.world = world

    async def report(self, fixes: list[PositionFix]) -> None:
        await self.dispatcher.ingest(fixes)

    async def place(self, order: OrderRequest) -> None:
        for record in await self.dispatcher.submit([order]):
            if record.status is OrderStatus.REJECTED:
                self.world.refused[record.order_id] = record.reason

    async def update_task(self, rider_id: str, order_id: str, action: TaskAction, at_ms: int) -> bool:
        await self.dispatcher.update_task(rider_id, order_id, action, at_ms)
        return True

    def rider_online(self, rider_id: str, online: bool) -> None:
        pass  # the dispatcher pushes nothing: the replay reads each tick's decisions itself


# Days of the same period the demand forecast has seen before a replay's day (four of each weekday).
HISTORY_DAYS = 28


async def replay_city(
    city: str, scenario: Scenario, policy: str, client: aioredis.Redis, progress: bool = False, speed: float = 0.0,
    guidance: str = "recent", quotes: bool = True,
) -> ReplayResult:  # fmt: skip
    """Replays `scenario` in process; speed > 0 paces simulated time at that many times real time (0: flat out).
    `guidance`: none, recent or forecast (idle riders spread over recent orders or the demand forecast).
    `quotes`: each order's delivery quoted at placement through the pricing engine (`fees.py`), surge
    refreshed every 10 s of replay time; dispatch decides the same either way."""
    from bench.replay.fees import ReplayFees  # fees.py builds on this module

    started = time.perf_counter()
    world = CityWorld(city, scenario, policy, guidance)
    clock = ManualClock(world.t0_ms)
    await client.flushdb()
    dispatcher = Dispatcher(client, world.config, clock, world.oracle, make_policy(policy))
    dispatcher.positions.start()
    forecast = dispatcher.forecast
    assert forecast is not None
    history = world.history(HISTORY_DAYS)
    await forecast.record(history, world.t0_ms)
    next_slot_ms = world.t0_ms
    if scenario.overflow and world.chain:
        world.overflow = chain_overflow(world, dispatcher)
    fees = ReplayFees(world, dispatcher, client, clock) if quotes else None
    if fees is not None:
        await fees.setup()
    engine = InProcessEngine(dispatcher, world)
    result = world.result
    events = world.events
    next_tick = 0.0
    horizon = world.end_s + 3600
    last_progress = -1
    wall0 = time.monotonic()

    async def pace(sim_s: float) -> None:
        if speed > 0:
            await asyncio.sleep(max(0.0, sim_s / speed - (time.monotonic() - wall0)))

    while next_tick <= horizon:
        if events and events[0][0] < next_tick:
            s, _, kind, data = heapq.heappop(events)
            await pace(s)
            clock.set(world.ms(s))
            if fees is not None and kind == "place":
                await fees.quote(world.orders[data])  # type: ignore[index]
            await world.handle(engine, s, kind, data)
            continue
        await pace(next_tick)
        clock.set(world.ms(next_tick))
        if world.ms(next_tick) >= next_slot_ms and next_tick < world.end_s:
            # The forecast of the slot starting now, from the orders before it (the map's forecast side).
            slot_start = next_slot_ms - (next_slot_ms - world.t0_ms) % SLOT_MS
            for f in await forecast.cells(slot_start, 1):
                got, n = result.forecast_vs_actual.get(f.unit, (0.0, 0))
                result.forecast_vs_actual[f.unit] = (got + f.expected[0], n)
            next_slot_ms = slot_start + SLOT_MS
        if fees is not None:
            await fees.refresh_due()
        tick = await dispatcher.tick()
        result.tick_s.append(next_tick)
        result.solve_ms.append(tick.solve_s * 1000)
        result.pending_per_tick.append(tick.pending)
        for guide in tick.guided:
            world.guided(guide.rider_id, guide.at, next_tick)
        decided = [await dispatcher.get(oid) for oid in sorted(tick.decided)]
        for record in sorted(decided, key=lambda x: (x.rider_id, x.bundle_id, x.bundle_seq, x.order_id)):
            if record.status is OrderStatus.REJECTED:
                world.refused[record.order_id] = record.reason
            elif record.status is OrderStatus.ASSIGNED:
                await world.offered(engine, record.rider_id, record.order_id, next_tick, record.bundle_id,
                                    record.bundle_seq)  # fmt: skip
        next_tick += scenario.tick_s
        if progress:
            last_progress = world.show_progress(next_tick, last_progress)
        # After the period: run on until every order is delivered or refused by the engine (orders no
        # rider took within the promise are rejected), or an hour has passed.
        if next_tick > world.end_s and world.is_settled():
            break
    if progress:
        print(file=sys.stderr)
    for o in world.orders.values():
        record = await dispatcher.get(o.order_id)
        o.final_status, o.reason = record.status.value, record.reason
        cell = forecast.cell_of(world.merchant_of[o.merchant].position)
        got, n = result.forecast_vs_actual.get(cell, (0.0, 0))
        result.forecast_vs_actual[cell] = (got, n + 1)
    await dispatcher.close()
    if fees is not None:
        fees.close()
    world.oracle.close()
    result.wall_s = time.perf_counter() - started
    return result
