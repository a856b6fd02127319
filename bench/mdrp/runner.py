"""Replays an MDRP instance through the real dispatch engine and records what the couriers did.

The engine is the one that serves live traffic — Dispatcher, Redis rider index and order store, the
policy — on a ManualClock, with the instance's travel-time rule as its oracle. The simulator plays the
couriers and the order service: couriers come on duty with their shift end, accept every offer, ride
by the instance's rule, wait for the food, and report each step through the task flow; orders are
submitted at their placement time. The engine decides once per simulated minute. An order offered to
join the bundle a courier is carrying out and has not picked up (the MDRP assignment update) extends
that courier's assignment: the pickup waits for the new food, the new order is delivered last, and the
assignment is recorded once, as it stands after its last update.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from bench.mdrp.instance import Instance
from bench.mdrp.oracle import EuclideanMinutesOracle, to_latlng
from bench.mdrp.solution import Assignment, Move, OrderOutcome, Solution
from core.clock import ManualClock
from core.geo import City, haversine_m
from dispatch.config import DispatchConfig
from dispatch.dispatcher import Dispatcher
from dispatch.models import Availability, OrderRequest, OrderStatus, PositionFix, TaskAction
from dispatch.policies import make_policy

# Minute 0 of every instance: 2026-01-01T00:00:00Z (the engine wants real epoch times).
BASE_MS = 1_767_225_600_000
MINUTE_MS = 60_000

# How the engine learns when food is ready: `known`, the restaurant's exact hint at placement;
# `estimated`, the prep-time model's prediction; `forecast`, the restaurant's own forecast at placement
# (the true time plus normal noise of `forecast_sd_min`, stated as the hint's spread; Reyes et al. 2018
# test their dispatch with such errors of 8 minutes). With `estimated` and `forecast` the restaurant
# reports the food ready when it is.
PREP_MODES = ("known", "estimated", "forecast")


def check_forecast_sd(minutes: float) -> None:
    """Raises ValueError unless `minutes` is a forecast error the replay takes: within (0, 240]."""
    if not 0 < minutes <= 240:  # NaN fails too
        raise ValueError(f"--forecast-sd must be within (0, 240] minutes, got {minutes}")


def minute_to_ms(m: float) -> int:
    return BASE_MS + round(m * MINUTE_MS)


@dataclass
class _Courier:
    id: str
    place: str  # '0' (start), a restaurant or an order (its customer)
    x: float
    y: float
    on_min: float
    off_min: float
    free_at: float
    busy: bool = False
    online: bool = False
    route: _Route | None = None  # the bundle it carries out


@dataclass
class _Route:
    """A courier's bundle: where it is picked up, when, and what the solution and event queue hold of it."""

    bundle_id: str
    restaurant: str
    arrive: float
    pickup: float
    orders: list[str]
    assignment: int  # its index in solution.assignments
    moves: list[int]  # indices in solution.moves of its rides from the restaurant on
    events: list[int]  # sequence numbers of its pickup, drop-off and free events


@dataclass
class ReplayStats:
    ticks: int = 0
    tick_min: list[float] = field(default_factory=list)
    solve_ms: list[float] = field(default_factory=list)
    pending_per_tick: list[int] = field(default_factory=list)
    offers_refused: int = 0
    joined: int = 0  # orders that joined a courier's bundle before its pickup (assignment updates)
    wall_s: float = 0.0


def replay_config(instance: Instance, tick_min: float) -> DispatchConfig:
    """Engine settings for a replay: the instance's services, a city disc covering every point."""
    xs = [r.x for r in instance.restaurants.values()] + [o.x for o in instance.orders.values()]
    ys = [r.y for r in instance.restaurants.values()] + [o.y for o in instance.orders.values()]
    xs += [c.x for c in instance.couriers.values()]
    ys += [c.y for c in instance.couriers.values()]
    center = to_latlng((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
    corner = to_latlng(min(xs), min(ys))
    radius = haversine_m(center.lat, center.lng, corner.lat, corner.lng) + 1_000
    p = instance.params
    return DispatchConfig(
        city=City(f"mdrp-{instance.name}", center, radius),
        # Resolution 7 cells (~1.2 km edges): a courier a city away is a few rings, not hundreds.
        h3_resolution=7,
        tick_s=tick_min * 60,
        rider_ttl_s=48 * 3600,  # idle couriers keep their position; they report only when it changes
        offer_timeout_s=3600,
        max_pending_s=p.max_click_to_door_min * 60,  # an order nobody could take by then is lost
        backlog_ticks=None,  # a replay measures dispatch, not intake: every order of the instance is placed
        # The instance's maximum click-to-door: an order that can no longer make it is lost rather than
        # delivered later still (orders whose own ride is too long to make it are served anyway).
        max_click_to_door_s=p.max_click_to_door_min * 60,
        search_radius_m=2 * radius,
        candidates_per_order=12,
        max_delivery_distance_m=4 * radius,
        max_access_m=1e9,
        pickup_service_s=p.pickup_service_min * 60,
        dropoff_service_s=p.dropoff_service_min * 60,
        max_fix_age_s=48 * 3600,
        learn_traffic_s=0,
    )


async def replay(
    instance: Instance,
    client: aioredis.Redis,
    policy: str,
    prep: str = "known",
    tick_min: float = 1.0,
    forecast_sd_min: float = 8.0,
    seed: int = 1,
) -> tuple[Solution, ReplayStats]:
    """Runs the whole day; returns the solution (assignments, orders, courier moves) and replay stats.
    `seed` draws the restaurants' forecast errors (`prep` forecast)."""
    if prep not in PREP_MODES:
        raise ValueError(f"prep must be one of {', '.join(PREP_MODES)}")
    if prep == "forecast":
        check_forecast_sd(forecast_sd_min)
    forecast_errors = random.Random(f"forecast:{seed}")  # not the stream `vary` draws from with the same seed
    started = time.perf_counter()
    p = instance.params
    half_p, half_d = p.pickup_service_min / 2, p.dropoff_service_min / 2
    clock = ManualClock(minute_to_ms(0))
    config = replay_config(instance, tick_min)
    await client.flushdb()
    dispatcher = Dispatcher(client, config, clock, EuclideanMinutesOracle(p.meters_per_minute), make_policy(policy))
    dispatcher.positions.start()
    stats = ReplayStats()
    solution = Solution()
    couriers = {c.id: _Courier(c.id, "0", c.x, c.y, c.on_min, c.off_min, c.on_min) for c in instance.couriers.values()}
    outcomes: dict[str, OrderOutcome] = {
        o.id: OrderOutcome(o.id, o.placement_min, o.ready_min) for o in instance.orders.values()
    }
    seq = itertools.count()
    events: list[tuple[float, int, str, str, str]] = []  # (minute, seq, kind, courier, order)
    cancelled: set[int] = set()  # events of a route that an assignment update replaced

    def schedule(minute: float, kind: str, courier: str = "", order: str = "") -> int:
        n = next(seq)
        heapq.heappush(events, (minute, n, kind, courier, order))
        return n

    for c in instance.couriers.values():
        schedule(c.on_min, "on", c.id)
        schedule(c.off_min, "off", c.id)
    for o in instance.orders.values():
        schedule(o.placement_min, "place", order=o.id)
    last_placement = max(o.placement_min for o in instance.orders.values())
    first = min(e[0] for e in events)
    next_tick = math.floor(first / tick_min) * tick_min
    open_orders = set(instance.orders)

    async def report_position(c: _Courier, at_min: float, availability: Availability) -> None:
        at = to_latlng(c.x, c.y)
        fix = PositionFix(c.id, at.lat, at.lng, minute_to_ms(at_min), availability=availability,
                          shift_ends_at_ms=minute_to_ms(c.off_min))  # fmt: skip
        await dispatcher.ingest([fix])

    async def handle(minute: float, kind: str, cid: str, oid: str) -> None:
        if kind == "place":
            o = instance.orders[oid]
            r = instance.restaurants[o.restaurant]
            # known: the merchant's hint is the true ready time; estimated: the engine predicts it;
            # forecast: the hint is off by normal noise (never before placement), and says how far.
            hint = {"known": o.ready_min, "estimated": None}.get(prep)
            if prep == "forecast":
                hint = max(o.placement_min, o.ready_min + forecast_errors.gauss(0.0, forecast_sd_min))
            request = OrderRequest(
                order_id=o.id, merchant_id=o.restaurant, pickup=to_latlng(r.x, r.y), dropoff=to_latlng(o.x, o.y),
                placed_at_ms=minute_to_ms(o.placement_min),
                ready_at_hint_ms=None if hint is None else minute_to_ms(hint),
                ready_hint_sd_s=forecast_sd_min * 60 if prep == "forecast" else 0.0,
                # The instance's target click-to-door is the promise to the customer.
                promised_at_ms=minute_to_ms(o.placement_min + p.target_click_to_door_min),
            )  # fmt: skip
            await dispatcher.submit([request])
            if prep != "known":
                schedule(max(o.ready_min, o.placement_min), "ready", order=o.id)
            return
        if kind == "ready":
            # The restaurant reports the food ready (unless the order was already lost).
            record = await dispatcher.get(oid)
            if not record.status.is_final:
                await dispatcher.report_food_ready(oid, minute_to_ms(minute))
            return
        c = couriers[cid]
        if kind == "on":
            c.online = True
            await report_position(c, minute, Availability.AVAILABLE)
        elif kind == "off":
            if not c.busy:
                c.online = False
                await report_position(c, minute, Availability.OFFLINE)
        elif kind == "arrive":
            await dispatcher.update_task(cid, oid, TaskAction.ARRIVED_AT_MERCHANT, minute_to_ms(minute))
        elif kind == "pickup":
            await dispatcher.update_task(cid, oid, TaskAction.PICKED_UP, minute_to_ms(minute))
        elif kind == "dropoff":
            await dispatcher.update_task(cid, oid, TaskAction.DELIVERED, minute_to_ms(minute))
            open_orders.discard(oid)
            o = instance.orders[oid]
            c.place, c.x, c.y = oid, o.x, o.y
            # Still handing over for half the drop-off service: not free yet.
            await report_position(c, minute, Availability.BUSY)
        elif kind == "free":
            c.busy = False
            c.route = None
            online = c.off_min > minute
            c.online = online
            await report_position(c, minute, Availability.AVAILABLE if online else Availability.OFFLINE)

    def plan(c: _Courier, route: _Route, now_min: float) -> None:
        """Writes a courier's route into the solution (its assignment, its rides from the restaurant, its
        orders' outcomes) and the event queue, replacing what an earlier version of it wrote there."""
        r = instance.restaurants[route.restaurant]
        cancelled.update(route.events)
        route.events = []
        solution.assignments[route.assignment] = Assignment(now_min, route.pickup, c.id, tuple(route.orders))
        t = route.pickup + half_p  # leaves the restaurant
        here, at = r.id, (r.x, r.y)
        moves = []
        for oid in route.orders:
            o = instance.orders[oid]
            moves.append(Move(c.id, t, here, o.id))
            dropoff = t + instance.travel_min(at, (o.x, o.y)) + half_d
            outcomes[o.id] = OrderOutcome(o.id, o.placement_min, o.ready_min, route.pickup, dropoff, c.id)
            route.events += [schedule(route.pickup, "pickup", c.id, o.id), schedule(dropoff, "dropoff", c.id, o.id)]
            t, here, at = dropoff + half_d, o.id, (o.x, o.y)
        for k, move in zip(route.moves, moves, strict=False):
            solution.moves[k] = move
        for move in moves[len(route.moves) :]:
            route.moves.append(len(solution.moves))
            solution.moves.append(move)
        c.free_at = t
        route.events.append(schedule(c.free_at, "free", c.id))

    async def refuse(c: _Courier, order_ids: list[str], now_min: float) -> None:
        # The engine offered what the courier cannot do (it should not): refuse, back to the pool.
        stats.offers_refused += len(order_ids)
        for oid in order_ids:
            await dispatcher.update_task(c.id, oid, TaskAction.REJECT, minute_to_ms(now_min))

    async def take_bundle(order_ids: list[str], rider_id: str, bundle_id: str, now_min: float) -> None:
        """The courier's answer to an offer of one or more orders (delivery sequence as given): a new
        bundle, or orders joining the bundle it holds and has not picked up (an assignment update)."""
        c = couriers[rider_id]
        bundle = [instance.orders[oid] for oid in order_ids]
        route = c.route
        if c.busy and route is not None and route.bundle_id == bundle_id:
            pickup = max(route.pickup, *(o.ready_min for o in bundle))
            if now_min >= route.pickup or pickup > c.off_min or any(o.restaurant != route.restaurant for o in bundle):
                await refuse(c, order_ids, now_min)
                return
            for oid in order_ids:
                await dispatcher.update_task(c.id, oid, TaskAction.ACCEPT, minute_to_ms(now_min))
                if route.arrive <= now_min:  # already at the counter
                    await dispatcher.update_task(c.id, oid, TaskAction.ARRIVED_AT_MERCHANT, minute_to_ms(now_min))
                else:
                    schedule(route.arrive, "arrive", c.id, oid)
            route.pickup = pickup
            route.orders += order_ids
            stats.joined += len(order_ids)
            plan(c, route, now_min)
            return
        r = instance.restaurants[bundle[0].restaurant]
        depart = max(now_min, c.free_at)
        arrive = depart + instance.travel_min((c.x, c.y), (r.x, r.y))
        pickup = max(arrive + half_p, *(o.ready_min for o in bundle))
        if c.busy or not c.online or pickup > c.off_min or any(o.restaurant != r.id for o in bundle):
            await refuse(c, order_ids, now_min)
            return
        for oid in order_ids:
            await dispatcher.update_task(c.id, oid, TaskAction.ACCEPT, minute_to_ms(now_min))
            schedule(arrive, "arrive", c.id, oid)
        solution.moves.append(Move(c.id, depart, c.place, r.id))
        solution.assignments.append(Assignment(now_min, pickup, c.id, tuple(order_ids)))
        c.route = _Route(bundle_id, r.id, arrive, pickup, list(order_ids), len(solution.assignments) - 1, [], [])
        c.busy = True
        plan(c, c.route, now_min)

    while events or (open_orders and next_tick <= last_placement + p.max_click_to_door_min + tick_min):
        # Events at the tick's own minute happen before it (MDRP times are whole minutes: an order placed,
        # or a courier freed, at minute t is seen by the tick at t, as a live engine would see it).
        if events and events[0][0] <= next_tick:
            minute, n, kind, cid, oid = heapq.heappop(events)
            if n in cancelled:
                cancelled.discard(n)
                continue
            clock.set(minute_to_ms(minute))
            await handle(minute, kind, cid, oid)
            continue
        if not open_orders and not events:
            break
        clock.set(minute_to_ms(next_tick))
        report = await dispatcher.tick()
        stats.ticks += 1
        stats.tick_min.append(next_tick)
        stats.solve_ms.append(report.solve_s * 1000)
        stats.pending_per_tick.append(report.pending)
        offered: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for oid in sorted(report.decided):  # commits run concurrently: fix the order for reproducibility
            record = await dispatcher.get(oid)
            if record.status is OrderStatus.REJECTED:
                open_orders.discard(oid)
            elif record.status is OrderStatus.ASSIGNED:
                offered.setdefault((record.rider_id, record.bundle_id), []).append((record.bundle_seq, oid))
        for (rider_id, bundle_id), legs in sorted(offered.items()):
            await take_bundle([oid for _, oid in sorted(legs)], rider_id, bundle_id, next_tick)
        next_tick += tick_min
        if next_tick > last_placement and not open_orders and not events:
            break

    await dispatcher.close()
    solution.orders = [outcomes[oid] for oid in instance.orders]
    # Moves grouped by courier in execution order, as the format asks.
    order_of = {cid: i for i, cid in enumerate(instance.couriers)}
    solution.moves.sort(key=lambda m: (order_of[m.courier], m.departure_min))
    solution.assignments.sort(key=lambda a: (a.time_min, a.courier))
    stats.wall_s = time.perf_counter() - started
    return solution, stats
