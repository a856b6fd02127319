"""The dispatch engine of a city, as the API sees it: routes orders and riders to their zones, answers
waiting callers from the zones' order events, and (in a process that ticks) runs a zone worker.

A city is cut into zones (`dispatch.zones`); each zone is a `ZoneDispatcher` (index, orders, prep times,
tick) whose keys share one hash tag. An order goes to the zone of its pickup, a rider to one zone at a
time (`dispatch.riders`), and the directory (`dispatch.directory`) remembers where each is. Nothing here
is kept in process memory that another process needs: every intake process can serve every call, and
zone workers (`dispatch.worker`) tick the zones they lease. A city of one zone (the replays, a small
town) writes no directory and keys everything under the city's name, as before zones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.clock import Clock
from core.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from dispatch import metrics
from dispatch.config import DispatchConfig
from dispatch.directory import Directory
from dispatch.guidance import Guidance
from dispatch.ingest import PositionWriter
from dispatch.models import (
    IngestResult,
    OrderEvent,
    OrderRecord,
    OrderRequest,
    OrderStatus,
    OrderUpdate,
    PositionFix,
    TaskAction,
    TaskEvent,
)
from dispatch.orders import OrderStore
from dispatch.policies.base import DispatchPolicy
from dispatch.prep import PrepModel
from dispatch.rider_index import RiderIndex
from dispatch.riders import ZonedRiders
from dispatch.traffic import Traffic
from dispatch.travel import TravelTimeOracle
from dispatch.validation import MAX_ORDER_AGE_MS, check_orders
from dispatch.worker import ZoneWorker
from dispatch.zone import TickReport, ZoneDispatcher
from dispatch.zones import make_zoning
from forecast import DemandForecast, ForecastConfig

log = logging.getLogger("tongcheng.dispatch")

# How long a reader of order events blocks on Redis for the next one (below the client's socket timeout).
DECISIONS_BLOCK_MS = 500
# WatchOrders over several zones delivers, each round, the events older than Redis's clock less this margin,
# in event-id order, so an event a zone appends later never has a smaller id than one already delivered
# (a single event id resumes the watch). The margin covers clock differences between a cluster's nodes.
WATCH_MARGIN_MS = 100
WATCH_IDLE_S = 0.1
# A call refused for the intake's concurrency limit is asked to retry after this long: the orders in flight
# are stored within some tens of milliseconds.
INTAKE_RETRY_S = 0.05


class Dispatcher:
    """Batch dispatch for a city of one or more zones, over Redis."""

    def __init__(
        self,
        client: aioredis.Redis,
        config: DispatchConfig,
        clock: Clock,
        oracle: TravelTimeOracle,
        policy: DispatchPolicy,
    ) -> None:
        self.config = config
        self.clock = clock
        self._redis = client
        self.oracle = oracle
        self.policy = policy
        self.zoning = make_zoning(config.city, config.zones)
        self.traffic = Traffic(client, config.city.name, oracle, config.learn_traffic_s, config.speed_sample_every)
        self._zones: dict[str, ZoneDispatcher] = {}
        self.directory: Directory | None = None
        self.riders: ZonedRiders | None = None
        if len(self.zoning) > 1:
            self.directory = Directory(client, config.city.name)
            self.riders = ZonedRiders(self.zoning, self.directory, lambda z: self.zone(z).index, self._rider_moved)
            self.positions = PositionWriter(self.riders, clock, on_written=self.traffic.sample_speeds)
        else:
            self.positions = PositionWriter(self.zone(self.zoning.ids[0]).index, clock,
                                            on_written=self.traffic.sample_speeds)  # fmt: skip
        self.worker: ZoneWorker | None = None
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._feed_signals: dict[str, asyncio.Event] = {}
        # Per zone: how many callers wait for or watch its events here, its follower, and whether the follower
        # has taken its place in the zone's events for them.
        self._interest: dict[str, int] = {}
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._following: dict[str, asyncio.Event] = {}
        self._wanted: dict[str, asyncio.Event] = {}
        self._stopping = asyncio.Event()
        self._in_flight = 0  # orders this process is storing now (intake back-pressure)

    # Zones ------------------------------------------------------------------------------------

    def zone(self, zone_id: str) -> ZoneDispatcher:
        """The zone's dispatcher in this process (made on first use: a process holds only the zones it serves)."""
        z = self._zones.get(zone_id)
        if z is None:
            z = ZoneDispatcher(zone_id, self._redis, self.config, self.clock, self.oracle, self.policy,
                               self.traffic, self._after_change, self._signal_feed)  # fmt: skip
            self._zones[zone_id] = z
        return z

    def _only(self) -> ZoneDispatcher:
        if len(self.zoning) != 1:
            raise RuntimeError("this city has several zones: name one with zone()")
        return self.zone(self.zoning.ids[0])

    # The parts of a single-zone city (replays, tests), as before zones.
    @property
    def orders(self) -> OrderStore:
        return self._only().orders

    @property
    def index(self) -> RiderIndex:
        return self._only().index

    @property
    def prep(self) -> PrepModel:
        return self._only().prep

    @property
    def guidance(self) -> Guidance | None:
        return self._only().guidance

    @property
    def forecast(self) -> DemandForecast | None:
        return self._only().forecast

    def forecast_of(self, zone_id: str) -> DemandForecast | None:
        """A zone's demand forecast as its ticking process keeps it, read from Redis by any process (pricing's
        expected demand: `forecast_of(zoning.zone_of(point)).expected_orders(cell, at_ms)`); None when off."""
        config = self.config.forecast
        if config is None and self.config.guidance is not None and self.config.guidance.mode == "forecast":
            config = ForecastConfig()
        if config is None:
            return None
        return DemandForecast(self._redis, zone_id, config, getattr(self.oracle, "tz", None))

    @property
    def last_tick(self) -> TickReport | None:
        reports = [z.last_tick for z in self._zones.values() if z.last_tick is not None]
        return max(reports, key=lambda r: r.at_ms) if reports else None

    @property
    def ticks(self) -> int:
        return sum(z.ticks for z in self._zones.values())

    async def _zone_of_order(self, order_id: str) -> ZoneDispatcher:
        if self.directory is None:
            return self._only()
        [zone] = await self.directory.order_zones([order_id])
        if zone is None:
            raise NotFound(f"order {order_id} not found")
        return self.zone(zone)

    async def _zone_of_rider(self, rider_id: str) -> ZoneDispatcher:
        """The rider's zone; NOT_FOUND for a rider that never reported a position."""
        if self.riders is None:
            zone = self._only()
            if not await zone.index.is_known(rider_id):
                raise NotFound(f"rider {rider_id} has never reported a position")
            return zone
        zone_id = await self.riders.zone_of_rider(rider_id)
        if zone_id is None:
            raise NotFound(f"rider {rider_id} has never reported a position")
        return self.zone(zone_id)

    # Lifecycle -------------------------------------------------------------------------------

    def start(self, tick: bool = True, on_tick: Callable[[ZoneDispatcher, TickReport], None] | None = None) -> None:
        """Starts the position writer and, unless `tick` is False (an intake process), a zone worker that
        leases zones and ticks those it holds (`on_tick` hears of every tick; by default ticks that decided
        something are logged)."""
        self.positions.start()
        self.traffic.start(ticking=tick)
        if tick and self.worker is None:
            self.worker = ZoneWorker(
                self._redis, self.config.city.name, self.zoning.ids, self.zone, self.config.tick_s,
                self.config.lease, on_tick=on_tick or _log_tick,
            )  # fmt: skip
            self.worker.start()

    async def stop(self) -> None:
        """Ends the zone worker (its ticks finish, its leases are given up), open task feeds and followers, and
        releases waiting callers; positions still flow until `close()`, so in-flight streams can drain."""
        self._stopping.set()
        for signal in self._feed_signals.values():
            signal.set()
        for wanted in self._wanted.values():
            wanted.set()
        if self.worker is not None:
            await self.worker.stop()
        for task in list(self._followers.values()):
            await task
        self._followers.clear()
        await self.traffic.stop()
        for futures in self._waiters.values():
            for f in futures:
                if not f.done():
                    f.set_result(None)

    async def close(self) -> None:
        """Writes the positions still queued and stops the writer."""
        await self.stop()
        await self.positions.stop()

    async def lease_tried(self, timeout_s: float = 5.0) -> None:
        """Waits until a ticking process's first round of zone leasing has answered (zones held or not), so a
        started server's state in Redis no longer changes by itself but through ticks."""
        if self.worker is not None:
            await self.worker.tried(timeout_s)

    async def tick(self) -> TickReport:
        """One tick of every zone, here and now (replays and tests; servers tick through their worker)."""
        if len(self.zoning) == 1:
            return await self._only().tick()
        reports = await asyncio.gather(*(self.zone(z).tick() for z in self.zoning.ids))
        return _merged(reports)

    # Orders ----------------------------------------------------------------------------------

    async def submit(self, requests: Sequence[OrderRequest]) -> list[OrderRecord]:
        """Validates and stores orders (idempotently) in their zones; rejects at once those outside the
        service. RESOURCE_EXHAUSTED, with nothing stored, while any of their zones is over its budget."""
        now_ms = self.clock.now_ms()
        check_orders(requests, now_ms, self.config)
        limit = self.config.intake_max_in_flight
        if limit is not None and self._in_flight and self._in_flight + len(requests) > limit:
            metrics.INTAKE_SHED.inc(len(requests))
            raise ResourceExhausted(
                f"this intake process is storing {self._in_flight} orders already (limit {limit}): retry shortly",
                retry_after_s=INTAKE_RETRY_S,
            )
        self._in_flight += len(requests)
        try:
            return await self._submit(requests, now_ms)
        finally:
            self._in_flight -= len(requests)

    async def _submit(self, requests: Sequence[OrderRequest], now_ms: int) -> list[OrderRecord]:
        if self.directory is None:
            zone = self._only()
            await zone.admit(len(requests))
            return await zone.submit(requests, now_ms)
        ids = [r.order_id for r in requests]
        # Admitted by the zones of their pickups; a retry naming another pickup than its stored order is judged
        # by the zone the directory then sends it to (which refuses it as a different order).
        zone_of = {r.order_id: self.zoning.zone_of(r.pickup) for r in requests}
        counts: dict[str, int] = {}
        for zone_id in zone_of.values():
            counts[zone_id] = counts.get(zone_id, 0) + 1
        await asyncio.gather(*(self.zone(z).admit(n) for z, n in counts.items()))
        zone_of = await self.directory.place_orders(zone_of)
        groups: dict[str, list[OrderRequest]] = {}
        for r in requests:
            groups.setdefault(zone_of[r.order_id], []).append(r)
        results = await asyncio.gather(*(self.zone(z).submit(rs, now_ms) for z, rs in groups.items()))
        by_id = {rec.order_id: rec for recs in results for rec in recs}
        return [by_id[oid] for oid in ids]

    async def assign(
        self, requests: Sequence[OrderRequest], answer_by: float | None = None, wait: bool = True
    ) -> list[OrderRecord]:
        """Submits orders and waits for their batch decision until `answer_by` (time.monotonic()), at most
        assign_wait_s (not at all when `wait` is False); undecided orders stay PENDING in the pool. A call
        does not wait when its orders' zones are further behind than it may wait: a zone whose pool holds more
        ticks of its measured decisions than the call has time left answers PENDING at once (the decision
        follows on WatchOrders), rather than holding the call, and the process, until its deadline."""
        started = time.monotonic()
        records = await self.submit(requests)
        undecided = [r for r in records if r.status is OrderStatus.PENDING]
        if not undecided or not wait:
            return records
        until = started + self.config.assign_wait_s
        if answer_by is not None:
            until = min(until, answer_by)
        behind_s = await self._behind_s({self.zoning.zone_of(r.request.pickup) for r in undecided})
        if behind_s > until - time.monotonic():
            metrics.WAITS_SKIPPED.inc()
            return records
        await self.wait_decided([r.order_id for r in undecided], until - time.monotonic())
        return await self.find_ordered([r.order_id for r in records])

    async def _behind_s(self, zones: set[str]) -> float:
        """How long the most loaded of these zones needs to decide its pool at its measured rate (pending
        orders / decisions per tick x tick); 0 while a zone has no measured rate yet (no evidence)."""
        loads = await asyncio.gather(*(self.zone(z).pool_load() for z in zones))
        return max(
            (backlog / per_tick * self.config.tick_s for backlog, per_tick in loads if per_tick > 0), default=0.0
        )

    async def wait_decided(self, order_ids: Sequence[str], timeout_s: float) -> None:
        """Waits until each order is decided (not PENDING), at most `timeout_s`."""
        zones = await self._zones_of_orders(order_ids)
        loop = asyncio.get_running_loop()
        futures = []
        for oid in order_ids:
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.setdefault(oid, []).append(fut)
            futures.append((oid, fut))
        interested = sorted(set(zones))
        try:
            await self._follow(interested)
            # Decided before the followers took their place in the events: resolved from the orders themselves.
            for record in await self._find(order_ids, zones):
                if record.status is not OrderStatus.PENDING:
                    self._resolve(record.order_id)
            pending = [f for _, f in futures if not f.done()]
            if pending and timeout_s > 0:
                await asyncio.wait(pending, timeout=max(0.0, timeout_s))
        finally:
            self._unfollow(interested)
            for oid, fut in futures:
                waiting = self._waiters.get(oid)
                if waiting is not None:
                    if fut in waiting:
                        waiting.remove(fut)
                    if not waiting:
                        del self._waiters[oid]

    async def _zones_of_orders(self, order_ids: Sequence[str]) -> list[str]:
        if self.directory is None:
            return [self.zoning.ids[0]] * len(order_ids)
        zones = await self.directory.order_zones(order_ids)
        return [z if z is not None else self.zoning.ids[0] for z in zones]

    async def _find(self, order_ids: Sequence[str], zones: Sequence[str]) -> list[OrderRecord]:
        groups: dict[str, list[str]] = {}
        for oid, z in zip(order_ids, zones, strict=True):
            groups.setdefault(z, []).append(oid)
        found = await asyncio.gather(*(self.zone(z).orders.find_many(ids) for z, ids in groups.items()))
        by_id = {oid: rec for part in found for oid, rec in part.items()}
        return [by_id[oid] for oid in order_ids if oid in by_id]

    async def find_many(self, order_ids: Sequence[str]) -> dict[str, OrderRecord]:
        """The orders among ids that exist, by id."""
        if not order_ids:
            return {}
        zones = await self._zones_of_orders(order_ids)
        return {r.order_id: r for r in await self._find(order_ids, zones)}

    async def find_ordered(self, order_ids: Sequence[str]) -> list[OrderRecord]:
        """The orders, in the order asked; NOT_FOUND if one is missing."""
        found = await self.find_many(order_ids)
        missing = [oid for oid in order_ids if oid not in found]
        if missing:
            raise NotFound(f"order {missing[0]} not found")
        return [found[oid] for oid in order_ids]

    async def get(self, order_id: str) -> OrderRecord:
        return await (await self._zone_of_order(order_id)).orders.get(order_id)

    async def history(self, order_id: str) -> list[OrderEvent]:
        return await (await self._zone_of_order(order_id)).orders.history(order_id)

    def _check_reported_time(self, field: str, at_ms: int, now_ms: int) -> None:
        """A time a rider or merchant reports for something that happened: within the last day (an order
        lives less), and not in the future beyond the allowed clock skew."""
        if at_ms > now_ms + self.config.max_clock_skew_s * 1000:
            raise InvalidArgument.field(field, "is in the future")
        if at_ms < now_ms - MAX_ORDER_AGE_MS:
            raise InvalidArgument.field(field, "is more than 24 h ago")

    async def report_food_ready(self, order_id: str, ready_at_ms: int | None = None) -> OrderRecord:
        """The merchant says the food is ready: planning uses the true time from now on and the
        merchant's prep-time model learns from it. A repeated report changes nothing."""
        if ready_at_ms is not None:
            self._check_reported_time("ready_at", ready_at_ms, self.clock.now_ms())
        return await (await self._zone_of_order(order_id)).report_food_ready(order_id, ready_at_ms)

    async def cancel(self, order_id: str, reason: str) -> OrderRecord:
        return await (await self._zone_of_order(order_id)).cancel(order_id, reason)

    # Riders ----------------------------------------------------------------------------------

    async def ingest(self, fixes: Sequence[PositionFix]) -> IngestResult:
        """Stores validated fixes of any riders and waits for the write."""
        return await self.positions.write(fixes)

    async def update_task(
        self, rider_id: str, order_id: str, action: TaskAction, occurred_ms: int | None = None
    ) -> OrderRecord:
        """A rider's step on its task; a repeat of a step already taken is a no-op."""
        if occurred_ms is not None:
            self._check_reported_time("occurred_at", occurred_ms, self.clock.now_ms())
        await self._zone_of_rider(rider_id)  # NOT_FOUND for a rider never seen
        zone = await self._zone_of_order(order_id)
        return await zone.update_task(rider_id, order_id, action, occurred_ms)

    async def watch(self, rider_id: str, resume_after_id: str = "") -> AsyncIterator[TaskEvent]:
        """The rider's task events, from after `resume_after_id` (or from now), for as long as asked. A rider's
        feed is kept in its zone; when it moves zone (empty-handed), the watch continues in the new zone's
        feed after the same id (feed ids are Redis times, and nothing is fed to a rider in its old zone after
        it left)."""
        zone = await self._zone_of_rider(rider_id)
        last_id = resume_after_id or await zone.orders.feed_last_id(rider_id)
        self._interest_in(zone.zone, +1)
        try:
            while not self._stopping.is_set():
                # Take the signal before reading, so an event written in between still wakes us.
                signal = self._feed_signals.setdefault(rider_id, asyncio.Event())
                events = await zone.orders.feed_after(rider_id, last_id)
                for event in events:
                    last_id = event.event_id
                    yield event
                if events:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(signal.wait(), timeout=self.config.feed_poll_s)
                if self.riders is not None:
                    moved = await self._zone_of_rider(rider_id)
                    if moved.zone != zone.zone:
                        self._interest_in(zone.zone, -1)
                        self._interest_in(moved.zone, +1)
                        zone = moved
        finally:
            self._interest_in(zone.zone, -1)

    def _rider_moved(self, rider_id: str, zone: str) -> None:
        metrics.RIDER_MOVES.inc()
        self._signal_feed(rider_id)

    # Traffic ---------------------------------------------------------------------------------

    def update_traffic(self, cells: Sequence[tuple[str, float]], reset: bool) -> tuple[int, int]:
        return self.traffic.update_traffic(cells, reset)

    async def set_traffic(self, cells: Sequence[tuple[str, float]], reset: bool) -> tuple[int, int]:
        return await self.traffic.set_traffic(cells, reset)

    def learn_traffic(self, now_ms: int) -> int:
        return self.traffic.learn_traffic(now_ms)

    # Order events ----------------------------------------------------------------------------

    async def watch_orders(self, resume_after_id: str = "") -> AsyncIterator[OrderUpdate]:
        """Every decision and status change of the city's orders, from after `resume_after_id` (or from now),
        for as long as asked; FAILED_PRECONDITION when the resume point is no longer retained.

        Over several zones, events come in the order of their stream ids (see WATCH_MARGIN_MS), and each is
        delivered with a city-wide id `ms-(seq x zones + zone index)`: two zones' streams may give two events
        the same stream id, and this id tells them apart, so the last one delivered resumes the watch exactly
        (in every zone, after that stream id; in zones listed after its zone, from that stream id)."""
        zones = [self.zone(z) for z in self.zoning.ids]
        n = len(zones)
        bounds = await asyncio.gather(*(z.orders.order_events_bounds() for z in zones))
        resume: tuple[int, int, int] | None = None
        if resume_after_id:
            ms, seq = _id(resume_after_id)
            resume = (ms, *divmod(seq, n))
            lost = await asyncio.gather(*(z.orders.order_events_lost_after(resume[:2]) for z in zones))
            for z, first in zip(zones, lost, strict=True):
                if first is not None:
                    raise FailedPrecondition(
                        f"events after {resume_after_id} are no longer kept in zone {z.zone} (the oldest is {first}): "
                        "read the orders with GetOrder and watch from now"
                    )
        if n == 1:
            last = resume_after_id or bounds[0][1]
            while not self._stopping.is_set():
                for u in await zones[0].orders.order_events_after(last, count=500, block_ms=DECISIONS_BLOCK_MS):
                    last = u.event_id
                    yield u
            return
        if resume is None:
            cursors = [last for _, last in bounds]
        else:
            ms, seq, at = resume
            before = f"{ms}-{seq - 1}" if seq else f"{ms - 1}-{2**64 - 1}"
            cursors = [f"{ms}-{seq}" if k <= at else before for k in range(n)]
        while not self._stopping.is_set():
            seconds, micros = await self._redis.time()
            watermark = (seconds * 1000 + micros // 1000 - WATCH_MARGIN_MS, 0)
            found = await asyncio.gather(*(z.orders.order_events_after(c, count=500)
                                           for z, c in zip(zones, cursors, strict=True)))  # fmt: skip
            ready = sorted(
                ((_id(u.event_id), k, u) for k, updates in enumerate(found) for u in updates
                 if _id(u.event_id) < watermark),
                key=lambda t: (t[0], t[1]),
            )  # fmt: skip
            for (ms, seq), k, u in ready:
                cursors[k] = u.event_id
                yield replace(u, event_id=f"{ms}-{seq * n + k}")
            if not ready:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=WATCH_IDLE_S)

    async def _follow(self, zones: Sequence[str]) -> None:
        """Makes sure this process follows the zones' order events for a caller about to wait, and that each
        follower has taken its place (so decisions from now on reach the caller)."""
        for z in zones:
            self._interest_in(z, +1)
        for z in zones:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._following[z].wait(), timeout=1.0)

    def _unfollow(self, zones: Sequence[str]) -> None:
        for z in zones:
            self._interest_in(z, -1)

    def _interest_in(self, zone: str, delta: int) -> None:
        n = self._interest.get(zone, 0) + delta
        self._interest[zone] = n
        if n > 0 and zone not in self._followers and not self._stopping.is_set():
            self._following[zone] = asyncio.Event()
            self._wanted[zone] = asyncio.Event()
            self._followers[zone] = asyncio.create_task(self._follow_zone(zone), name=f"decisions-{zone}")
        if n > 0:
            self._wanted[zone].set()

    async def _follow_zone(self, zone_id: str) -> None:
        """Resolves this process's waiting AssignRiders calls, and wakes its riders' task-feed watchers, from
        the zone's order events, so a decision made by a tick in another process (a zone worker) reaches
        them as soon as it is committed. While nobody here waits on the zone it sleeps."""
        orders = self.zone(zone_id).orders
        following, wanted = self._following[zone_id], self._wanted[zone_id]
        last_id: str | None = None
        failures = 0
        while not self._stopping.is_set():
            try:
                if self._interest.get(zone_id, 0) <= 0:
                    last_id = None
                    following.clear()
                    wanted.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wanted.wait(), timeout=5.0)
                    continue
                if last_id is None:
                    last_id = (await orders.order_events_bounds())[1]
                    following.set()
                updates = await orders.order_events_after(last_id, count=1_000, block_ms=DECISIONS_BLOCK_MS)
                failures = 0
            except RedisError as exc:
                failures += 1
                log.warning("reading order events of zone %s failed (%d in a row): %s", zone_id, failures, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=min(2.0, 0.1 * 2**failures))
                continue
            for u in updates:
                last_id = u.event_id
                if u.feed_rider_id:
                    self._signal_feed(u.feed_rider_id)
                if u.status is not OrderStatus.PENDING:
                    self._resolve(u.order_id)

    def _resolve(self, order_id: str) -> None:
        for fut in self._waiters.pop(order_id, []):
            if not fut.done():
                fut.set_result(None)

    def _signal_feed(self, rider_id: str) -> None:
        signal = self._feed_signals.pop(rider_id, None)
        if signal is not None:
            signal.set()

    def _after_change(self, record: OrderRecord, changed: bool) -> None:
        if not changed:
            return
        if record.rider_id:
            self._signal_feed(record.rider_id)
        if record.status is not OrderStatus.PENDING:
            self._resolve(record.order_id)


def _id(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _merged(reports: Sequence[TickReport]) -> TickReport:
    out = TickReport(at_ms=max(r.at_ms for r in reports))
    for r in reports:
        for name in ("pending", "assigned", "rejected", "offers_expired", "riders_expired", "conflicts", "fenced", "bundles",
                     "joined", "roads_relearned"):  # fmt: skip
            setattr(out, name, getattr(out, name) + getattr(r, name))
        for name in ("batch_s", "solve_s", "commit_s", "total_s"):
            setattr(out, name, max(getattr(out, name), getattr(r, name)))
        out.decided += r.decided
        out.guided += r.guided
    return out


def _log_tick(zone: ZoneDispatcher, report: TickReport) -> None:
    if report.assigned or report.rejected or report.offers_expired:
        log.info(
            "tick zone=%s pending=%d assigned=%d rejected=%d offers_expired=%d solve_ms=%.1f total_ms=%.1f",
            zone.zone, report.pending, report.assigned, report.rejected, report.offers_expired,
            report.solve_s * 1000, report.total_s * 1000,
        )  # fmt: skip
