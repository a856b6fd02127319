"""A city's service period, simulated through the real engine: riders on shifts ride the road graph's
routes, merchants cook for a time only they know, customers order along a demand curve.

The engine (Dispatcher, its Redis rider index and order store, the policy, the road oracle) runs on a
ManualClock that the simulator moves from event to event, so a two-hour lunch replays in seconds.
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
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from bench.replay.city import Merchant, draw_merchants, places
from bench.replay.scenario import Scenario
from core.clock import ManualClock
from dispatch.config import DispatchConfig
from dispatch.dispatcher import Dispatcher
from dispatch.models import Availability, LatLng, OrderRequest, OrderStatus, PositionFix, TaskAction
from dispatch.policies import make_policy
from routing_data.cities import load_graph, service_area
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
    assigned_s: float | None = None
    arrived_s: float | None = None
    pickup_s: float | None = None
    dropoff_s: float | None = None
    rider: str | None = None


@dataclass
class RiderState:
    id: str
    position: LatLng
    on_s: float
    off_s: float
    busy: bool = False
    online: bool = False
    busy_s: float = 0.0


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
    wall_s: float = 0.0


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


async def replay_city(
    city: str, scenario: Scenario, policy: str, client: aioredis.Redis, progress: bool = False, speed: float = 0.0
) -> ReplayResult:
    """Replays `scenario`; speed > 0 paces simulated time at that many times real time (0: flat out)."""
    started = time.perf_counter()
    rng = random.Random(scenario.seed)
    source, graph = load_graph(city)
    name = graph.name
    oracle = RoadNetworkOracle(graph, timezone=source.timezone)
    found_merchants, customers = places(source.pbf, oracle)
    if len(found_merchants) < 3:
        raise ValueError(f"{name}: fewer than 3 merchants near roads in {source.pbf}")
    if len(customers) < 20:  # an extract without addresses: customers at road nodes instead
        nodes = graph.nodes_of(Mode.EBIKE)
        customers = [LatLng(float(graph.node_lat[n]), float(graph.node_lng[n])) for n in rng.sample(list(nodes), 500)]
    merchants: list[Merchant] = draw_merchants(found_merchants, rng, scenario.prep_mean_min)

    tz = ZoneInfo(source.timezone)
    day = dt.datetime(2026, 6, 10, tzinfo=tz)  # a Wednesday
    t0_ms = int((day + dt.timedelta(hours=scenario.start_hour)).timestamp() * 1000)
    end_s = scenario.duration_h * 3600
    clock = ManualClock(t0_ms)
    config = DispatchConfig(
        city=service_area(graph), tick_s=scenario.tick_s, rider_ttl_s=60, offer_timeout_s=30,
        max_pending_s=scenario.promise_min * 60, learn_traffic_s=0,
    )  # fmt: skip
    await client.flushdb()
    dispatcher = Dispatcher(client, config, clock, oracle, make_policy(policy))
    dispatcher.positions.start()

    def ms(s: float) -> int:
        return t0_ms + round(s * 1000)

    seq = itertools.count()
    events: list[tuple[float, int, str, object]] = []

    def at(s: float, kind: str, data: object) -> None:
        heapq.heappush(events, (s, next(seq), kind, data))

    nodes = graph.nodes_of(Mode.EBIKE)
    riders: dict[str, RiderState] = {}
    for i in range(scenario.riders):
        n = int(rng.choice(list(nodes)))
        full = rng.random() < scenario.full_shift_share
        # Shifts outlast the order window by the promise, so late orders still find riders.
        tail_s = scenario.promise_min * 60
        on, off = (0.0, end_s + tail_s) if full else (end_s * 0.25, end_s * 0.75 + tail_s)
        r = RiderState(f"r{i:03d}", LatLng(float(graph.node_lat[n]), float(graph.node_lng[n])), on, off)
        riders[r.id] = r
        at(on, "on", r.id)
        at(off, "off", r.id)
    orders: dict[str, OrderLog] = {}
    t = 0.0
    peak = max(scenario.demand_per_hour.values())
    while True:  # Poisson arrivals along the demand curve (thinning)
        t += rng.expovariate(peak / 3600)
        if t >= end_s:
            break
        if rng.random() <= scenario.demand_at(scenario.start_hour + t / 3600) / peak:
            m = rng.choice(merchants)
            oid = f"o{len(orders):05d}"
            ready = t + m.prep_mean_s * math.exp(rng.gauss(0, scenario.prep_sigma) - scenario.prep_sigma**2 / 2)
            orders[oid] = OrderLog(oid, m.id, t, ready, t + scenario.promise_min * 60, rng.choice(customers))
            at(t, "place", oid)
    merchant_of = {m.id: m for m in merchants}
    half_p, half_d = config.pickup_service_s / 2, config.dropoff_service_s / 2
    result = ReplayResult(scenario, policy, name, list(orders.values()), list(riders.values()))

    async def report(r: RiderState, s: float, availability: Availability, speed: float | None = None) -> None:
        fix = PositionFix(r.id, r.position.lat, r.position.lng, ms(s), speed_mps=speed, availability=availability,
                          shift_ends_at_ms=ms(r.off_s))  # fmt: skip
        await dispatcher.ingest([fix])

    def ride(r: RiderState, dest: LatLng, depart_s: float, arrive_kind: str, oid: str) -> float:
        route = oracle.route(r.position, dest, ms(depart_s))
        arrive = depart_s + route.travel_time_s
        steps = int(route.travel_time_s // scenario.position_every_s)
        for k in range(1, steps + 1):
            at(
                depart_s + k * scenario.position_every_s,
                "move",
                (r.id, route, k * scenario.position_every_s / route.travel_time_s),
            )
        at(arrive, arrive_kind, (r.id, oid, dest))
        return arrive

    async def handle(s: float, kind: str, data: object) -> None:
        if kind == "place":
            o = orders[data]  # type: ignore[index]
            m = merchant_of[o.merchant]
            await dispatcher.submit([OrderRequest(
                o.order_id, m.id, m.position, o.dropoff_at, ms(o.placed_s), item_count=rng.randint(1, 4),
                promised_at_ms=ms(o.promised_s), ready_at_hint_ms=ms(o.placed_s + m.prep_mean_s),
            )])  # fmt: skip
        elif kind in ("on", "keepalive"):
            r = riders[data]  # type: ignore[index]
            if kind == "on":
                r.online = True
            if r.online and not r.busy:
                await report(r, s, Availability.AVAILABLE)
            if r.online:
                at(s + 30, "keepalive", r.id)
        elif kind == "off":
            r = riders[data]  # type: ignore[index]
            if not r.busy:
                r.online = False
                await report(r, s, Availability.OFFLINE)
        elif kind == "move":
            rid, route, fraction = data  # type: ignore[misc]
            r = riders[rid]
            r.position = _position_along(route, fraction)
            await report(r, s, Availability.BUSY, speed=4.5)
        elif kind == "at_merchant":
            rid, oid, dest = data  # type: ignore[misc]
            r, o = riders[rid], orders[oid]
            r.position = dest
            o.arrived_s = s
            await dispatcher.update_task(rid, oid, TaskAction.ARRIVED_AT_MERCHANT, ms(s))
            pickup = max(s + half_p, o.ready_s)
            at(pickup, "pickup", (rid, oid))
        elif kind == "pickup":
            rid, oid = data  # type: ignore[misc]
            r, o = riders[rid], orders[oid]
            o.pickup_s = s
            await dispatcher.update_task(rid, oid, TaskAction.PICKED_UP, ms(s))
            ride(r, o.dropoff_at, s + half_p, "at_customer", oid)
        elif kind == "at_customer":
            rid, oid, dest = data  # type: ignore[misc]
            r, o = riders[rid], orders[oid]
            r.position = dest
            o.dropoff_s = s + half_d
            at(s + half_d, "deliver", (rid, oid))
        elif kind == "deliver":
            rid, oid = data  # type: ignore[misc]
            r, o = riders[rid], orders[oid]
            await dispatcher.update_task(rid, oid, TaskAction.DELIVERED, ms(s))
            r.busy_s += s + half_d - (o.assigned_s or s)
            at(s + half_d, "free", rid)
        elif kind == "free":
            r = riders[data]  # type: ignore[index]
            r.busy = False
            if s >= r.off_s:
                r.online = False
                await report(r, s, Availability.OFFLINE)
            else:
                await report(r, s, Availability.AVAILABLE)

    next_tick = 0.0
    horizon = end_s + 3600
    refused: set[str] = set()
    last_progress = -1
    wall0 = time.monotonic()

    async def pace(sim_s: float) -> None:
        if speed > 0:
            await asyncio.sleep(max(0.0, sim_s / speed - (time.monotonic() - wall0)))

    while next_tick <= horizon:
        if events and events[0][0] < next_tick:
            s, _, kind, data = heapq.heappop(events)
            await pace(s)
            clock.set(ms(s))
            await handle(s, kind, data)
            continue
        await pace(next_tick)
        clock.set(ms(next_tick))
        tick = await dispatcher.tick()
        result.tick_s.append(next_tick)
        result.solve_ms.append(tick.solve_s * 1000)
        result.pending_per_tick.append(tick.pending)
        for oid in sorted(tick.decided):
            record = await dispatcher.get(oid)
            if record.status is OrderStatus.REJECTED:
                refused.add(oid)
            if record.status is not OrderStatus.ASSIGNED:
                continue
            r, o = riders[record.rider_id], orders[oid]
            if r.busy or rng.random() > scenario.accept_probability:
                result.offers_rejected += 1
                await dispatcher.update_task(r.id, oid, TaskAction.REJECT, ms(next_tick))
                continue
            await dispatcher.update_task(r.id, oid, TaskAction.ACCEPT, ms(next_tick))
            r.busy = True
            o.assigned_s, o.rider = next_tick, r.id
            ride(r, merchant_of[o.merchant].position, next_tick, "at_merchant", oid)
        next_tick += scenario.tick_s
        if progress:
            done = int(100 * min(next_tick, end_s) / end_s)
            if done != last_progress:
                last_progress = done
                bar = "#" * (done // 4)
                print(f"\r{policy:>10} [{bar:<25}] {done:3d}% of {scenario.duration_h:g} h", end="", file=sys.stderr)
        # After the period: run on until every order is delivered or refused by the engine (orders no
        # rider took within the promise are rejected), or an hour has passed.
        if next_tick > end_s and all(o.dropoff_s is not None or o.order_id in refused for o in orders.values()):
            break
    if progress:
        print(file=sys.stderr)
    await dispatcher.close()
    oracle.close()
    result.wall_s = time.perf_counter() - started
    return result
