"""The ops view's live state: riders, open orders, KPIs and heat, kept by following Redis once a second.

One `CityFeed` per process serves every page that process shows; it reads what dispatch already writes,
and writes nothing:

- *Orders* from every zone's order-events stream (`orders:events`, the stream `WatchOrders` serves), read
  after the last id seen. An order seen for the first time is read once from its zone (pickup, drop-off,
  placement and promise); it stays in memory while open and leaves at its final status.
- *Riders* from every zone's `riders:seen` (the riders whose fix arrived since the last step, and those gone
  silent past the rider TTL) and their position hashes. A rider's state (free, offered, to the counter,
  riding) follows from the open orders it holds.
- *KPIs* from the same events (orders per minute, intake rate, click-to-door and late share of the last
  hour) and from the zones' tick records (`tick`: pool size and the last tick's duration, written by the
  zone's worker).
- *Heat*: placements by pickup cell, deliveries and late deliveries by drop-off cell, and coupons redeemed
  and points spent at checkout by the counter's cell (the order center's checkout events), in 5-minute
  buckets at H3 resolution 9 over the last hours; coarser resolutions are the parents' sums.

On start the feed reads back `history_s` of the streams (as far as their cap keeps them) so KPIs and heat
have their past at once. Pages get a snapshot, then each step's delta (only riders that moved more than
about a metre or changed state, orders that changed, the KPIs): the cost of a page is the deltas' size,
not the number of fixes.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import h3
from redis.exceptions import RedisError

from core.clock import Clock
from dispatch.dispatcher import Dispatcher
from dispatch.models import Availability, OrderRecord, OrderStatus, OrderUpdate

log = logging.getLogger("tongcheng.cockpit")

HEAT_RESOLUTION = 9  # ~0.1 km² hexagons: a block; coarser views sum their children
BUCKET_S = 300  # heat and the time slider move in 5-minute steps
OPEN = frozenset({OrderStatus.PENDING, OrderStatus.ASSIGNED, OrderStatus.ACCEPTED, OrderStatus.AT_MERCHANT,
                  OrderStatus.PICKED_UP})  # fmt: skip
# A rider's state from the furthest-along order it holds.
_STATE_OF = {
    OrderStatus.ASSIGNED: "offered",
    OrderStatus.ACCEPTED: "to_counter",
    OrderStatus.AT_MERCHANT: "to_counter",
    OrderStatus.PICKED_UP: "riding",
}
_STATE_RANK = {"free": 0, "offered": 1, "to_counter": 2, "riding": 3}
RIDER_STATES = tuple(_STATE_RANK)
HEAT_LAYERS = ("demand", "late", "delivered", "coupons", "points")
BACKFILL_BATCH = 5_000
POOL_READ_MAX = 20_000  # orders waiting in a zone's pool read per step (the oldest first)


@dataclass
class OpenOrder:
    order_id: str
    zone: str
    status: str
    rider_id: str
    pickup: tuple[float, float]
    dropoff: tuple[float, float]
    placed_ms: int
    promised_ms: int | None
    eta_pickup_ms: int | None = None
    eta_dropoff_ms: int | None = None

    def view(self) -> list[object]:
        return [self.order_id, self.status, self.rider_id, _q(self.pickup[0]), _q(self.pickup[1]),
                _q(self.dropoff[0]), _q(self.dropoff[1]), self.placed_ms, self.eta_pickup_ms, self.eta_dropoff_ms]  # fmt: skip


@dataclass
class Rider:
    lat: float
    lng: float
    zone: str
    state: str = "free"
    stop: tuple[float, float] | None = None  # its next stop: a counter, or a drop-off

    def view(self, rider_id: str) -> list[object]:
        stop = self.stop or (None, None)
        return [rider_id, _q(self.lat), _q(self.lng), self.state, _q(stop[0]), _q(stop[1])]


@dataclass
class Done:
    """A finished order, for the last hour's KPIs and the heat."""

    at_ms: int
    click_to_door_s: float | None  # None: cancelled or rejected
    late: bool


@dataclass
class _Zone:
    zone_id: str
    last_event: str = "0-0"
    last_seen_ms: int = 0
    pool: int = 0
    tick_ms: int = 0
    tick_total_ms: float = 0.0


@dataclass
class Step:
    """What changed in one step, for the pages."""

    at_ms: int
    riders: list[list[object]] = field(default_factory=list)
    riders_gone: list[str] = field(default_factory=list)
    orders: list[list[object]] = field(default_factory=list)
    orders_gone: list[str] = field(default_factory=list)


def _q(x: float | None) -> float | None:
    """Five decimals of a degree: about a metre, enough for a map and a third of the bytes of a float's repr."""
    return None if x is None else round(x, 5)


class CityFeed:
    """The ops view's state for one city, stepped once a second while some page watches it."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        clock: Clock,
        period_s: float = 1.0,
        history_s: float = 6 * 3600,
        idle_stop_s: float = 600.0,
        checkout_events: tuple[Any, str] | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        # The order center's checkout events (a Redis client and the stream's key), for the coupons and points
        # heat; None where the order center does not run.
        self.checkout_events = checkout_events
        self.checkout_last = "0-0"
        self.clock = clock
        self.period_s = period_s
        self.history_s = history_s
        self.idle_stop_s = idle_stop_s
        self.zones = {z: _Zone(z) for z in dispatcher.zoning.ids}
        self.riders: dict[str, Rider] = {}
        self.orders: dict[str, OpenOrder] = {}
        self.rider_orders: dict[str, set[str]] = {}
        self.placed: list[int] = []  # placement times (ms) of the last hour, in order
        self.done: deque[Done] = deque()  # finished in the last hour
        # (bucket start ms, layer) -> Counter of res-9 cells
        self.heat: dict[tuple[int, str], Counter[str]] = {}
        self.kpis: dict[str, object] = {}
        self.version = 0  # steps taken; pages resume from a snapshot of this version
        self.last_step: Step | None = None
        self._subscribers: set[asyncio.Queue[bytes]] = set()
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self._lock = asyncio.Lock()
        self._idle_since: float | None = None
        self._dirty: set[str] = set()  # riders whose held orders changed since their state was last worked out
        self.step_seconds: deque[float] = deque(maxlen=60)  # the feed's own cost, measured

    # Lifecycle --------------------------------------------------------------------------------

    async def ensure_started(self) -> None:
        """Starts following (reading back the history first) if it is not already, and waits until the first
        snapshot exists."""
        if self._task is None or self._task.done():
            self._started.clear()
            self._task = asyncio.create_task(self._run(), name="cockpit-feed")
        await self._started.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def subscribe(self) -> asyncio.Queue[bytes]:
        q: asyncio.Queue[bytes] = asyncio.Queue(maxsize=30)
        self._subscribers.add(q)
        self._idle_since = None
        return q

    def unsubscribe(self, q: asyncio.Queue[bytes]) -> None:
        self._subscribers.discard(q)
        if not self._subscribers:
            self._idle_since = time.monotonic()

    async def _run(self) -> None:
        try:
            await self._backfill()
        except RedisError as exc:
            log.warning("cockpit: reading back history failed (%s); starting from now", exc)
        self._started.set()
        next_at = time.perf_counter()
        while True:
            started = time.perf_counter()
            try:
                async with self._lock:
                    step = await self.step()
                self._publish(step)
            except RedisError as exc:
                log.warning("cockpit feed step failed: %s", exc)
            self.step_seconds.append(time.perf_counter() - started)
            if self._idle_since is not None and time.monotonic() - self._idle_since > self.idle_stop_s:
                log.info("cockpit feed: no page for %.0f s, stopping", self.idle_stop_s)
                self._task = None
                return
            # A fixed cadence (one step per period on average, whatever each step and the loop's lag cost), or
            # from now when a step ran past a whole period.
            next_at = max(next_at + self.period_s, time.perf_counter() - self.period_s)
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    def _publish(self, step: Step) -> None:
        if not self._subscribers:
            return
        data = b"event: delta\ndata: " + json.dumps(self.delta_of(step), separators=(",", ":")).encode() + b"\n\n"
        for q in list(self._subscribers):
            if q.full():  # a page that does not read: dropped, it reconnects and starts from a snapshot
                self.unsubscribe(q)
                q.put_nowait(b"")
            else:
                q.put_nowait(data)

    # Reading Redis -----------------------------------------------------------------------------

    async def _backfill(self) -> None:
        now_ms = self.clock.now_ms()
        since = max(0, now_ms - int(self.history_s * 1000))
        for zone_id in self.zones:
            orders = self.dispatcher.zone(zone_id).orders
            last = (await orders.order_events_bounds())[1]
            after = f"{since}-0"
            while True:  # the streams' cap bounds this
                events = await orders.order_events_after(after, count=BACKFILL_BATCH)
                if not events:
                    break
                await self._apply_events(zone_id, events)
                after = events[-1].event_id
                if len(events) < BACKFILL_BATCH:
                    break
            self.zones[zone_id].last_event = after if after != f"{since}-0" else last
            await self._read_pool(zone_id, None)
        await self._read_riders(now_ms, everyone=True)
        self._restate(set(self.riders), Step(at_ms=now_ms))
        self.checkout_last = f"{since}-0"
        await self._read_checkouts()
        await self._read_ticks()
        self._refresh_kpis(now_ms)
        self.last_step = None

    async def step(self) -> Step:
        """Reads what changed since the last step; returns it."""
        now_ms = self.clock.now_ms()
        step = Step(at_ms=now_ms)
        for zone_id, zone in self.zones.items():
            orders = self.dispatcher.zone(zone_id).orders
            while True:
                events = await orders.order_events_after(zone.last_event, count=BACKFILL_BATCH)
                if not events:
                    break
                zone.last_event = events[-1].event_id
                step.orders += [o.view() for o in await self._apply_events(zone_id, events, step)]
                if len(events) < BACKFILL_BATCH:
                    break
            await self._read_pool(zone_id, step)
        moved = await self._read_riders(now_ms)
        self._restate(moved, step)
        await self._read_checkouts()
        await self._read_ticks()
        self._refresh_kpis(now_ms)
        self._trim(now_ms)
        self.version += 1
        self.last_step = step
        return step

    async def _apply_events(
        self, zone_id: str, events: Sequence[OrderUpdate], step: Step | None = None
    ) -> list[OpenOrder]:
        """Applies order events (oldest first); returns the open orders they changed."""
        records = await self._records(zone_id, {e.order_id for e in events})
        changed: dict[str, OpenOrder] = {}
        for e in events:
            oid, status, at_ms = e.order_id, e.status, e.occurred_ms
            order = self.orders.get(oid) or self._first_seen(records.get(oid), zone_id, status)
            if order is None:
                continue  # expired since (finished long ago): nothing to draw or count
            self._hold(order, e.rider_id if status in _STATE_OF else "")
            if order.rider_id:
                self._dirty.add(order.rider_id)  # its state or next stop may change with the order's
            order.status = status.value
            order.eta_pickup_ms = e.estimated_pickup_ms
            order.eta_dropoff_ms = e.estimated_dropoff_ms
            if status.is_final:
                self.orders.pop(oid, None)
                changed.pop(oid, None)
                if step is not None:
                    step.orders_gone.append(oid)
                if status == OrderStatus.DELIVERED:
                    late = order.promised_ms is not None and at_ms > order.promised_ms
                    self.done.append(Done(at_ms, (at_ms - order.placed_ms) / 1000, late))
                    self._heat(at_ms, "delivered", *order.dropoff)
                    if late:
                        self._heat(at_ms, "late", *order.dropoff)
                else:
                    self.done.append(Done(at_ms, None, False))
            else:
                self.orders[oid] = order
                changed[oid] = order
        return list(changed.values())

    async def _records(self, zone_id: str, order_ids: set[str]) -> dict[str, OrderRecord]:
        unknown = sorted(oid for oid in order_ids if oid not in self.orders)
        return await self.dispatcher.zone(zone_id).orders.find_many(unknown) if unknown else {}

    def _first_seen(self, rec: OrderRecord | None, zone_id: str, status: OrderStatus) -> OpenOrder | None:
        """An order met for the first time (in the pool or in an event): counted as placed, drawn while open."""
        if rec is None:
            return None
        r = rec.request
        order = OpenOrder(rec.order_id, zone_id, status.value, "", (r.pickup.lat, r.pickup.lng),
                          (r.dropoff.lat, r.dropoff.lng), r.placed_at_ms, r.promised_at_ms)  # fmt: skip
        bisect.insort(self.placed, r.placed_at_ms)
        self._heat(r.placed_at_ms, "demand", r.pickup.lat, r.pickup.lng)
        return order

    async def _read_pool(self, zone_id: str, step: Step | None) -> None:
        """Orders waiting in the zone's pool that no event has shown yet (a new order has no event until it
        is decided). Read after the events, so an order decided meanwhile is met in the next step's events."""
        orders = self.dispatcher.zone(zone_id).orders
        ids = await orders.pending_ids(POOL_READ_MAX)
        records = await self._records(zone_id, set(ids))
        for oid in ids:
            if oid in self.orders:
                continue
            order = self._first_seen(records.get(oid), zone_id, OrderStatus.PENDING)
            if order is not None:
                self.orders[oid] = order
                if step is not None:
                    step.orders.append(order.view())

    def _hold(self, order: OpenOrder, rider: str) -> None:
        """Moves the order to `rider`'s hands ("" for none), keeping each rider's set of orders."""
        if order.rider_id == rider:
            return
        if order.rider_id:
            held = self.rider_orders.get(order.rider_id)
            if held is not None:
                held.discard(order.order_id)
                if not held:
                    del self.rider_orders[order.rider_id]
            self._dirty.add(order.rider_id)
        order.rider_id = rider
        if rider:
            self.rider_orders.setdefault(rider, set()).add(order.order_id)
            self._dirty.add(rider)

    async def _read_riders(self, now_ms: int, everyone: bool = False) -> set[str]:
        """Reads the positions of riders seen since the last step (all of them with `everyone`) and drops
        riders gone silent past the TTL; returns the riders that moved, appeared or left."""
        ttl_ms = int(self.dispatcher.config.rider_ttl_s * 1000)
        moved: set[str] = set()
        for zone_id, zone in self.zones.items():
            index = self.dispatcher.zone(zone_id).index
            since = now_ms - ttl_ms if everyone else zone.last_seen_ms
            fresh, silent = await index.seen_since(since, now_ms)
            for rider_id in silent:
                r = self.riders.get(rider_id)
                if r is not None and r.zone == zone_id:
                    del self.riders[rider_id]
                    moved.add(rider_id)
            for rid, seen_ms, lat, lng, av in fresh:
                # The newest receipt read is where the next step starts (inclusive: a fix stored in the same
                # millisecond after this read is read again, never missed).
                zone.last_seen_ms = max(zone.last_seen_ms, seen_ms)
                if lat is None or lng is None or av == Availability.OFFLINE:
                    if self.riders.pop(rid, None) is not None:
                        moved.add(rid)
                    continue
                r = self.riders.get(rid)
                if r is None:
                    self.riders[rid] = Rider(lat, lng, zone_id)
                    moved.add(rid)
                elif abs(r.lat - lat) > 1e-5 or abs(r.lng - lng) > 1e-5 or r.zone != zone_id:
                    r.lat, r.lng, r.zone = lat, lng, zone_id
                    moved.add(rid)
        return moved

    def _restate(self, moved: set[str], step: Step) -> None:
        """Recomputes the state and next stop of riders whose orders changed; adds them and the moved riders
        to the step (once a step: each rider once)."""
        touched = moved | self._dirty
        self._dirty = set()
        for rid in touched:
            r = self.riders.get(rid)
            if r is None:
                if rid in moved:
                    step.riders_gone.append(rid)
                continue
            r.state, r.stop = self._state_of(rid)
            step.riders.append(r.view(rid))

    def _state_of(self, rider_id: str) -> tuple[str, tuple[float, float] | None]:
        held = [self.orders[o] for o in self.rider_orders.get(rider_id, ()) if o in self.orders]
        if not held:
            return "free", None
        state = max((_STATE_OF.get(OrderStatus(o.status), "free") for o in held), key=_STATE_RANK.__getitem__)
        to_collect = [o for o in held if o.status != OrderStatus.PICKED_UP.value]
        if to_collect:
            nxt = min(to_collect, key=lambda o: o.eta_pickup_ms or 0)
            return state, nxt.pickup
        nxt = min(held, key=lambda o: o.eta_dropoff_ms or 0)
        return state, nxt.dropoff

    async def _read_checkouts(self) -> None:
        """Payments that used coupons or points since the last read: the coupons heat counts coupons redeemed,
        the points heat the points spent, at the counter where the order was paid for."""
        if self.checkout_events is None:
            return
        client, key = self.checkout_events
        while True:
            found = await client.xread({key: self.checkout_last}, count=BACKFILL_BATCH)
            entries = [e for _, es in found or [] for e in es]
            if not entries:
                return
            self.checkout_last = entries[-1][0]
            for _, f in entries:
                if not f.get("lat"):
                    continue
                at, lat, lng = int(f["t"]), float(f["lat"]), float(f["lng"])
                if int(f.get("c") or 0):
                    self._heat(at, "coupons", lat, lng, int(f["c"]))
                if int(f.get("p") or 0):
                    self._heat(at, "points", lat, lng, int(f["p"]))
            if len(entries) < BACKFILL_BATCH:
                return

    async def _read_ticks(self) -> None:
        """Each zone's pool size and last tick, as its worker recorded them."""
        for z in self.zones.values():
            z.pool, z.tick_ms, z.tick_total_ms = await self.dispatcher.zone(z.zone_id).tick_record()

    # Aggregates --------------------------------------------------------------------------------

    def _heat(self, at_ms: int, layer: str, lat: float, lng: float, weight: int = 1) -> None:
        bucket = at_ms - at_ms % (BUCKET_S * 1000)
        self.heat.setdefault((bucket, layer), Counter())[h3.latlng_to_cell(lat, lng, HEAT_RESOLUTION)] += weight

    def _trim(self, now_ms: int) -> None:
        hour_ago = now_ms - 3_600_000
        del self.placed[: bisect.bisect_left(self.placed, hour_ago)]
        while self.done and self.done[0].at_ms < hour_ago:
            self.done.popleft()
        oldest = now_ms - int(self.history_s * 1000) - BUCKET_S * 1000
        for key in [k for k in self.heat if k[0] < oldest]:
            del self.heat[key]

    def _refresh_kpis(self, now_ms: int) -> None:
        placed = self.placed
        per_min = len(placed) - bisect.bisect_left(placed, now_ms - 60_000)
        last_10s = len(placed) - bisect.bisect_left(placed, now_ms - 10_000)
        delivered = [d for d in self.done if d.click_to_door_s is not None and d.at_ms >= now_ms - 3_600_000]
        counts = Counter(r.state for r in self.riders.values())
        zones = sorted(self.zones.values(), key=lambda z: z.zone_id)
        self.kpis = {
            "at_ms": now_ms,
            "orders_per_min": per_min,
            "intake_per_s": round(last_10s / 10, 1),
            "delivered_last_hour": len(delivered),
            "click_to_door_min": round(sum(d.click_to_door_s or 0.0 for d in delivered) / len(delivered) / 60, 1)
            if delivered
            else None,
            "late_share_pct": round(100 * sum(d.late for d in delivered) / len(delivered), 1) if delivered else None,
            "riders_online": len(self.riders),
            "riders_free": counts["free"],
            "riders_busy": len(self.riders) - counts["free"],
            "riders_by_state": {s: counts[s] for s in RIDER_STATES},
            "open_orders": len(self.orders),
            "backlog": sum(z.pool for z in zones),
            "tick_ms_max": round(max((z.tick_total_ms for z in zones), default=0.0), 1),
            "zones": [self._zone_kpis(z, now_ms) for z in zones],
        }

    @staticmethod
    def _zone_kpis(z: _Zone, now_ms: int) -> dict[str, object]:
        age = round((now_ms - z.tick_ms) / 1000, 1) if z.tick_ms else None
        return {"zone": z.zone_id, "backlog": z.pool, "tick_ms": round(z.tick_total_ms, 1), "tick_age_s": age}

    # Views -------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, object]:
        return {
            "version": self.version,
            "riders": [r.view(rid) for rid, r in self.riders.items()],
            "orders": [o.view() for o in self.orders.values()],
            "kpis": self.kpis,
        }

    def delta_of(self, step: Step) -> dict[str, object]:
        return {
            "version": self.version,
            "riders": step.riders,
            "riders_gone": step.riders_gone,
            "orders": step.orders,
            "orders_gone": step.orders_gone,
            "kpis": self.kpis,
        }

    def heat_cells(self, layer: str, resolution: int, from_ms: int, to_ms: int) -> dict[str, int]:
        """Counts per cell at `resolution` (at most HEAT_RESOLUTION) of the buckets within [from_ms, to_ms)."""
        out: Counter[str] = Counter()
        for (bucket, name), cells in self.heat.items():
            if name != layer or not from_ms <= bucket < to_ms:
                continue
            for cell, n in cells.items():
                out[cell if resolution == HEAT_RESOLUTION else h3.cell_to_parent(cell, resolution)] += n
        return dict(out)

    def heat_range(self) -> tuple[int, int]:
        """The first and last bucket held (ms), or (now, now)."""
        if not self.heat:
            now = self.clock.now_ms()
            b = now - now % (BUCKET_S * 1000)
            return b, b
        starts = [k[0] for k in self.heat]
        return min(starts), max(starts)
