"""One zone of a city: its riders' index, its orders, its merchants' prep times, and its tick.

Each tick: drop silent riders, return lapsed offers to the pool, reject orders nobody could take in
time, gather each pending order's candidate riders from the H3 index with travel times from the
oracle, let the policy decide, and commit each decision as one transaction (an order is offered to
one rider; a rider holds one task), fenced by the zone's lease when a worker ticks it. Every key of the
zone carries its hash tag, so each commit is a single-slot transaction on a Redis Cluster.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from scipy.spatial import cKDTree

from core.clock import Clock
from core.errors import (
    FailedPrecondition,
    NotFound,
    ResourceExhausted,
    TongchengError,
)
from core.geo import EARTH_RADIUS_M, haversine_m, unit_vectors
from dispatch import metrics
from dispatch.bundles import candidate_bundles
from dispatch.config import DispatchConfig
from dispatch.guidance import Guidance, Guide
from dispatch.lease import Fence, LeaseLost
from dispatch.models import (
    LatLng,
    NearbyRider,
    OrderRecord,
    OrderRequest,
    OrderStatus,
    TaskAction,
)
from dispatch.order_flow import STEP_OF_ACTION, Step
from dispatch.orders import OpenPickup, OrderStore
from dispatch.policies.base import (
    Candidate,
    Decision,
    DispatchBatch,
    DispatchPolicy,
    JoinOption,
    PendingOrder,
    alone_dropoff_ms,
    ready_ms,
)
from dispatch.prep import PrepModel, still_cooking
from dispatch.rider_index import RiderIndex
from dispatch.traffic import Traffic
from dispatch.travel import TravelTimeOracle, matrices
from forecast import DemandForecast, ForecastConfig, PlacedOrder

log = logging.getLogger("tongcheng.dispatch")

# Concurrent candidate queries to Redis within a tick.
CANDIDATE_QUERY_CONCURRENCY = 32
# Transactions a tick runs at once when committing its decisions (each is a few round trips to Redis;
# one after another, 2,000 of them took a minute on a loaded server).
COMMIT_CONCURRENCY = 64
# Up to this many free riders, a tick reads them all in one call and ranks them per order with a
# KD-tree; above it (a zone larger than any city here), each order searches H3 rings around its pickup.
# Per-order ring searches cost Redis time in proportion to the riders in the scanned cells, which
# under bench.load (10,000 riders, 1,000s of pending orders) stalled Redis for seconds per tick.
SNAPSHOT_MAX_FREE = 50_000


# Ticks under way in this process (zones tick side by side) and whether the cyclic garbage collector
# was on when the first of them paused it.
_ticks_under_way = 0
_collector_was_on = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector while a tick runs. A tick holds some hundred thousand
    objects until it ends (candidates, bundles, columns); the allocation counts they run up set off
    collections that walk them, and the full ones the whole heap: in a 1,000-order bench.tick_latency
    tick ~180 young and ~17 middle collections (35 ms) and one or two full ones (85-190 ms each).
    Paused, they die by reference counting at the tick's end before any collection promotes them, so
    the work is saved, not moved; cycles, if any, wait for the first collection after the tick."""
    global _ticks_under_way, _collector_was_on
    if _ticks_under_way == 0:
        _collector_was_on = gc.isenabled()
        gc.disable()
    _ticks_under_way += 1
    try:
        yield
    finally:
        _ticks_under_way -= 1
        if _ticks_under_way == 0 and _collector_was_on:
            gc.enable()


@dataclass
class TickReport:
    """What one tick did, for logs, metrics and replays."""

    at_ms: int
    pending: int = 0
    assigned: int = 0
    rejected: int = 0
    offers_expired: int = 0
    riders_expired: int = 0
    conflicts: int = 0
    fenced: int = 0  # commits refused: the tick's fencing token no longer held the zone's lease
    bundles: int = 0  # riders offered work (a bundle of one or more orders each)
    joined: int = 0  # orders offered to join a bundle a rider holds (assignment updates)
    roads_relearned: int = 0
    batch_s: float = 0.0  # candidates, travel times and bundles
    solve_s: float = 0.0
    commit_s: float = 0.0
    total_s: float = 0.0
    decided: list[str] = field(default_factory=list)
    guided: list[Guide] = field(default_factory=list)  # idle riders sent to wait near demand


class ZoneDispatcher:
    """Batch dispatch for one zone, over Redis."""

    def __init__(
        self,
        zone: str,
        client: aioredis.Redis,
        config: DispatchConfig,
        clock: Clock,
        oracle: TravelTimeOracle,
        policy: DispatchPolicy,
        traffic: Traffic,
        notify: Callable[[OrderRecord, bool], None],
        signal_feed: Callable[[str], None],
    ) -> None:
        self.zone = zone
        self.config = config
        self.clock = clock
        self._redis = client
        self.oracle = oracle
        self.policy = policy
        self.traffic = traffic
        self._notify = notify
        self._signal_feed = signal_feed
        self.index = RiderIndex(client, zone, config.h3_resolution, config.rider_ttl_s)
        self.orders = OrderStore(client, zone, config.feed_max_len, config.events_max_len)
        self.prep = PrepModel(client, zone)
        # Idle-rider guidance places supply for orders not yet placed: like soon-free riders and joins, it is
        # for policies that plan ahead (the baselines match what is there).
        # The demand forecast learns from every order served (pricing reads it too); guidance by forecast
        # needs it, with its default settings unless the config gives some.
        forecast_config = config.forecast
        if forecast_config is None and config.guidance is not None and config.guidance.mode == "forecast":
            forecast_config = ForecastConfig()
        self.forecast = (
            DemandForecast(client, zone, forecast_config, getattr(oracle, "tz", None))
            if forecast_config is not None
            else None
        )
        self.guidance = (
            Guidance(client, self.index.keys, config.guidance, self.forecast)
            if config.guidance is not None and getattr(policy, "plans_ahead", False)
            else None
        )
        self._tick_fence: Fence | None = None
        self._recorded_busy = False  # a zone that never had work never writes its record
        self.last_tick: TickReport | None = None
        self.ticks = 0

    async def submit(self, requests: Sequence[OrderRequest], now_ms: int) -> list[OrderRecord]:
        """Stores validated orders of this zone (idempotently); rejects at once those outside the service."""
        created = await self.orders.create_many(requests, now_ms)
        fresh = [record.request for record, is_new in created if is_new]
        metrics.ORDERS_ACCEPTED.labels(self.zone).inc(len(fresh))
        access = self.oracle.access_distance_m([p for r in fresh for p in (r.pickup, r.dropoff)]) if fresh else []
        access_of = {r.order_id: (float(access[2 * i]), float(access[2 * i + 1])) for i, r in enumerate(fresh)}
        records = []
        served = []
        for record, is_new in created:
            reason = self._refusal(record.request, access_of[record.order_id]) if is_new else None
            if reason is not None:
                record, _ = await self.orders.apply(record.order_id, Step.REJECT_ORDER, now_ms, note=reason)
            elif is_new:
                served.append(len(records))
            records.append(record)
        if served:
            if self.guidance is not None:
                await self.guidance.record([records[k].request for k in served])
            if self.forecast is not None:
                await self.forecast.record(
                    [PlacedOrder(r.order_id, r.merchant_id, r.pickup, r.placed_at_ms)
                     for r in (records[k].request for k in served)],
                    now_ms,
                )  # fmt: skip
            # The merchant's backlog counts the order, and the prep-time model predicts when it is ready.
            estimates = await self.prep.on_placed_many([
                (r.merchant_id, r.order_id, r.placed_at_ms, r.item_count, r.merchant_category)
                for r in (records[k].request for k in served)
            ])  # fmt: skip
            # A merchant's forecast (a hint with a spread) is the order's prediction; the model still learns
            # from the order's ready event.
            predictions: dict[str, tuple[int, float]] = {}
            for k, e in zip(served, estimates, strict=True):
                r = records[k].request
                hint = r.ready_at_hint_ms
                if hint is not None and r.ready_hint_sd_s > 0:
                    predictions[r.order_id] = (hint, r.ready_hint_sd_s)
                else:
                    predictions[r.order_id] = (e.ready_at_ms, e.sd_s)
            await self.orders.set_predictions(predictions)
            for k in served:
                ms, sd = predictions[records[k].order_id]
                records[k] = records[k].evolve(predicted_ready_ms=ms, predicted_ready_sd_s=sd)
        return records

    async def pool_load(self) -> tuple[int, float]:
        """The zone's pool size and its measured decisions per tick (0 before any tick measured them)."""
        keys = self.index.keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(keys.pending)
            pipe.hget(keys.throughput, "per_tick")
            backlog, per_tick = await pipe.execute()
        return int(backlog), float(per_tick or 0)

    async def admit(self, count: int) -> None:
        """Back-pressure: RESOURCE_EXHAUSTED, at once and with nothing stored, while the zone's pool is over
        its budget (`backlog_ticks` ticks of measured decisions, at least `backlog_min_orders`)."""
        ticks = self.config.backlog_ticks
        if ticks is None:
            return
        backlog, per_tick = await self.pool_load()
        budget = max(self.config.backlog_min_orders, ticks * per_tick)
        if backlog + count > budget:
            metrics.ORDERS_SHED.labels(self.zone).inc(count)
            raise ResourceExhausted(
                f"zone {self.zone} is {backlog} orders behind (budget {budget:.0f}): retry after a tick",
                retry_after_s=self.config.tick_s,
            )

    def _refusal(self, r: OrderRequest, access_m: tuple[float, float]) -> str | None:
        """Why dispatch will not serve an order, or None."""
        city = self.config.city
        if haversine_m(r.pickup.lat, r.pickup.lng, city.center.lat, city.center.lng) > city.service_radius_m:
            return f"pickup is outside the {city.name} service area"
        if haversine_m(r.dropoff.lat, r.dropoff.lng, city.center.lat, city.center.lng) > city.service_radius_m:
            return f"drop-off is outside the {city.name} service area"
        distance_m = haversine_m(r.pickup.lat, r.pickup.lng, r.dropoff.lat, r.dropoff.lng)
        if distance_m > self.config.max_delivery_distance_m:
            return f"drop-off is {distance_m / 1000:.1f} km from pickup (limit {self.config.max_delivery_distance_m / 1000:.1f} km)"
        for what, metres in zip(("pickup", "drop-off"), access_m, strict=True):
            if metres > self.config.max_access_m:
                return f"{what} is {metres:.0f} m from the nearest road (limit {self.config.max_access_m:.0f} m)"
        return None

    async def report_food_ready(self, order_id: str, ready_at_ms: int | None = None) -> OrderRecord:
        """The merchant says the food is ready: planning uses the true time from now on and the
        merchant's prep-time model learns from it. A repeated report changes nothing."""
        now_ms = self.clock.now_ms()
        record, changed = await self.orders.mark_ready(order_id, ready_at_ms or now_ms)
        if changed:
            await self.prep.on_ready(record.request.merchant_id, order_id, record.ready_at_ms or now_ms)
            self._notify(record, False)
        return record

    async def cancel(self, order_id: str, reason: str) -> OrderRecord:
        record, changed = await self.orders.apply(
            order_id, Step.CANCEL, self.clock.now_ms(), note=reason or "cancelled by caller"
        )
        self._notify(record, changed)
        if changed:
            await self.prep.on_closed(record.request.merchant_id, order_id)
        return record

    async def update_task(
        self, rider_id: str, order_id: str, action: TaskAction, occurred_ms: int | None = None
    ) -> OrderRecord:
        """A rider's step on its task; a repeat of a step already taken is a no-op."""
        now_ms = self.clock.now_ms()
        step = STEP_OF_ACTION[action]
        record, changed = await self.orders.apply(
            order_id, step, occurred_ms or now_ms, acting_rider=rider_id,
            note="rejected by rider" if step is Step.REJECT else "",
        )  # fmt: skip
        self._notify(record, changed)
        if changed and step is Step.PICK_UP and record.ready_at_ms is None:
            await self._learn_from_pickup(record, occurred_ms or now_ms)
        return record

    async def _learn_from_pickup(self, record: OrderRecord, pickup_ms: int) -> None:
        """Without a ready report, the task flow tells the prep model when the food was ready if the
        rider waited for it: it arrived more than a pickup service before the pickup. Otherwise the
        ready time is only bounded (not learnt); the order just leaves the merchant's backlog."""
        history = await self.orders.history(record.order_id)
        arrived = [e.occurred_ms for e in history if e.status is OrderStatus.AT_MERCHANT]
        merchant = record.request.merchant_id
        if arrived and pickup_ms - arrived[-1] > self.config.pickup_service_s * 1000:
            await self.prep.on_ready(merchant, record.order_id, pickup_ms - round(self.config.pickup_service_s * 500))
        else:
            await self.prep.on_closed(merchant, record.order_id)

    async def tick(self, fence: Fence | None = None) -> TickReport:
        """One batch decision round for the zone; its commits prove `fence` (the lease of the worker ticking
        it; None in a replay or a single process)."""
        self._tick_fence = fence
        with _collector_paused():
            report = await self._tick()
            if self.guidance is not None and self.guidance.due(report.at_ms):
                await self._guide(report)
            await self._record_tick(report)
            return report

    async def _record_tick(self, report: TickReport) -> None:
        """Leaves the tick's summary where any process can read it (the ops cockpit's backlog and tick
        latency); a failure only costs the cockpit a second of staleness. An idle zone writes it once, when it
        falls idle: nothing writes to an idle store (what the tests' and the fuzzer's snapshots rely on)."""
        busy = bool(report.pending or report.decided or report.offers_expired or report.riders_expired)
        if not busy and not self._recorded_busy:
            return
        self._recorded_busy = busy
        try:
            await self._redis.hset(self.index.keys.tick, mapping={
                "at_ms": report.at_ms, "total_ms": f"{report.total_s * 1000:.1f}", "pending": report.pending,
                "decided": len(report.decided),
            })  # fmt: skip
        except RedisError as exc:
            log.warning("zone %s: tick record not written: %s", self.zone, exc)

    async def tick_record(self) -> tuple[int, int, float]:
        """The zone's pool size now, and its last recorded tick's time (ms, 0 for none) and duration (ms)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.index.keys.pending)
            pipe.hmget(self.index.keys.tick, ["at_ms", "total_ms"])
            pool, (at_ms, total_ms) = await pipe.execute()
        return int(pool), int(at_ms or 0), float(total_ms or 0.0)

    async def _guide(self, report: TickReport) -> None:
        """Idle riders far from recent demand are asked (in their feed) to wait nearer it. A failure here is
        logged and leaves the tick's decisions standing: guidance is advice, and the next minute retries."""
        assert self.guidance is not None
        try:
            targets = await self.guidance.targets(report.at_ms)
            if not targets:
                return  # nothing to guide toward: looked at again next tick
            free = await self.index.free_riders(report.at_ms, SNAPSHOT_MAX_FREE)
            if free is None:  # more free riders than that: every counter has some near
                self.guidance.last_ms = report.at_ms
                return
            soon: list[LatLng] = []
            if self.guidance.config.soon_free_s > 0:
                until_ms = report.at_ms + round(self.guidance.config.soon_free_s * 1000)
                soon = [r.position for r in await self.index.soon_free_riders(report.at_ms, until_ms)]
            guides = await self.guidance.step_to(free, targets, report.at_ms, soon)
            # Told first, then held: a rider held but never told would idle for the hold.
            await self.orders.guide_riders(((g.rider_id, g.at) for g in guides), report.at_ms)
            for g in guides:
                self._signal_feed(g.rider_id)
            await self.guidance.hold(guides, report.at_ms)
            report.guided = guides
        except (RedisError, ValueError) as exc:
            log.warning("idle-rider guidance failed: %s", exc)

    async def _tick(self) -> TickReport:
        started = time.perf_counter()
        now_ms = self.clock.now_ms()
        report = TickReport(at_ms=now_ms)
        report.riders_expired = await self.index.expire_silent(now_ms)
        report.roads_relearned = await self.traffic.before_tick(now_ms)
        limiter = asyncio.Semaphore(COMMIT_CONCURRENCY)

        async def expire(oid: str) -> None:
            async with limiter:
                try:
                    before = await self.orders.get(oid)
                    _, changed = await self.orders.apply(
                        oid, Step.EXPIRE_OFFER, now_ms, note="offer timed out", fence=self._tick_fence
                    )
                except TongchengError:
                    return  # answered or cancelled in the meantime
            if changed:
                report.offers_expired += 1
                self._signal_feed(before.rider_id)

        await asyncio.gather(*(expire(oid) for oid in await self.orders.expired_offer_ids(now_ms)))

        ids = await self.orders.pending_ids(self.config.max_orders_per_tick)
        report.pending = len(ids)
        await self._measure_backlog(now_ms)
        if not ids:
            self._finish(report, started)
            return report
        records = await self._records(ids)
        max_pending_ms = int(self.config.max_pending_s * 1000)
        live: list[OrderRecord] = []
        for record in records:
            if now_ms - record.request.placed_at_ms >= max_pending_ms:
                await self._reject(
                    record, now_ms, f"no rider within reach for {self.config.max_pending_s:.0f} s", report
                )
            else:
                live.append(record)

        batch_started = time.perf_counter()
        live = await self._still_cooking(live, now_ms)
        batch, hopeless = await self._batch(live, now_ms)
        for record in hopeless:
            limit_min = (self.config.max_click_to_door_s or 0) / 60
            await self._reject(
                record, now_ms, f"cannot reach the customer within {limit_min:.0f} min of the order", report
            )
        solve_started = time.perf_counter()
        report.batch_s = solve_started - batch_started
        decisions = await asyncio.to_thread(self.policy.decide, batch)
        report.solve_s = time.perf_counter() - solve_started
        commit_started = time.perf_counter()

        offer_expires_ms = now_ms + int(self.config.offer_timeout_s * 1000)
        bundles: dict[object, list[Decision]] = {}
        for k, d in enumerate(decisions):
            bundles.setdefault(("b", d.bundle) if d.bundle is not None else ("d", k), []).append(d)

        async def commit(bundle: list[Decision]) -> None:
            # Decisions touch distinct orders and riders: their transactions run side by side.
            joins = bundle[0].joins
            note = f"offered by policy {self.policy.name}"
            if joins:
                note += f" to join bundle {joins}"
            elif len(bundle) > 1:
                note += f" in a bundle of {len(bundle)}"
            async with limiter:
                try:
                    if joins:
                        [d] = bundle
                        records = await self.orders.join_bundle(
                            d.rider_id, joins, (d.order_id, d.estimated_pickup_ms, d.estimated_dropoff_ms), now_ms,
                            offer_expires_ms=offer_expires_ms, note=note, fence=self._tick_fence,
                        )  # fmt: skip
                    else:
                        records = await self.orders.assign_bundle(
                            bundle[0].rider_id,
                            [(d.order_id, d.estimated_pickup_ms, d.estimated_dropoff_ms) for d in bundle],
                            now_ms, offer_expires_ms=offer_expires_ms, note=note, fence=self._tick_fence,
                        )  # fmt: skip
                except LeaseLost:
                    report.fenced += 1  # another worker holds the zone now: its ticks decide
                    return
                except (FailedPrecondition, NotFound):
                    report.conflicts += 1  # an order or the rider changed since the batch was read
                    return
            offered = records[:1] if joins else records  # a join's other records are the bundle it moved
            report.assigned += len(offered)
            report.bundles += 0 if joins else 1
            report.joined += 1 if joins else 0
            for record in offered:
                report.decided.append(record.order_id)
                self._notify(record, True)

        await asyncio.gather(*(commit(b) for b in bundles.values()))
        report.commit_s = time.perf_counter() - commit_started
        await self._measure_throughput(report)
        self._finish(report, started)
        return report

    async def _measure_backlog(self, now_ms: int) -> None:
        """The zone's pool size and the age of its oldest order, for the metrics."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.index.keys.pending)
            pipe.zrange(self.index.keys.pending, 0, 0, withscores=True)
            size, oldest = await pipe.execute()
        metrics.ZONE_BACKLOG.labels(self.zone).set(size)
        metrics.ZONE_LAG.labels(self.zone).set(max(0.0, (now_ms - oldest[0][1]) / 1000) if oldest else 0.0)

    async def _measure_throughput(self, report: TickReport) -> None:
        """Decisions per tick, exponentially weighted over about ten ticks, for intake's back-pressure."""
        decided = report.assigned + report.rejected
        key = self.index.keys.throughput
        previous = await self._redis.hget(key, "per_tick")
        per_tick = decided if previous is None else 0.9 * float(previous) + 0.1 * decided
        await self._redis.hset(key, "per_tick", repr(per_tick))

    async def _reject(self, record: OrderRecord, now_ms: int, note: str, report: TickReport) -> None:
        """Rejects a pending order the tick will not serve; the merchant's backlog lets it go."""
        try:
            rejected, changed = await self.orders.apply(
                record.order_id, Step.REJECT_ORDER, now_ms, note=note, fence=self._tick_fence
            )
        except LeaseLost:
            report.fenced += 1
            return  # another worker ticks the zone now: its tick decides the order
        if changed:
            report.rejected += 1
            report.decided.append(record.order_id)
            self._notify(rejected, changed)
            await self.prep.on_closed(record.request.merchant_id, record.order_id)

    def _finish(self, report: TickReport, started: float) -> None:
        report.total_s = time.perf_counter() - started
        if report.fenced:
            log.warning("zone %s: %d commits refused: the lease moved to another worker since the tick began "
                        "(fencing token %s)", self.zone, report.fenced, self._tick_fence)  # fmt: skip
        self.last_tick = report
        self.ticks += 1
        zone = self.zone
        for stage in ("batch", "solve", "commit", "total"):
            metrics.TICK_SECONDS.labels(zone, stage).observe(getattr(report, f"{stage}_s"))
        for outcome, n in (("assigned", report.assigned), ("rejected", report.rejected),
                           ("offer_expired", report.offers_expired)):  # fmt: skip
            if n:
                metrics.DECISIONS.labels(zone, outcome).inc(n)

    async def _records(self, ids: Sequence[str]) -> list[OrderRecord]:
        """The pending orders among ids (one may have been decided since the pool was read)."""
        found = await self.orders.find_many(ids)
        return [r for r in found.values() if r.status is OrderStatus.PENDING]

    async def _still_cooking(self, records: list[OrderRecord], now_ms: int) -> list[OrderRecord]:
        """Orders whose ready time is only predicted, at merchants that report their ready events (one within
        `ready_reports_window_s`), have food that is not ready yet: their predictions are conditioned on that
        (`still_cooking`) for this tick's decisions. Stored predictions are left as made at placement."""
        window_ms = self.config.ready_reports_window_s * 1000
        predicted = [k for k, r in enumerate(records) if r.ready_is_predicted and r.predicted_ready_sd_s]
        if not predicted or window_ms <= 0:
            return records
        last = await self.orders.ready_reported_at({records[k].request.merchant_id for k in predicted})
        reporting = {m for m, at in last.items() if now_ms - at <= window_ms}
        if not reporting:
            return records
        out = list(records)
        for k in predicted:
            r = records[k]
            if r.request.merchant_id in reporting:
                ms, sd = still_cooking(r.predicted_ready_ms, r.predicted_ready_sd_s, now_ms)  # type: ignore[arg-type]
                out[k] = r.evolve(predicted_ready_ms=ms, predicted_ready_sd_s=sd)
        return out

    async def _batch(self, records: Sequence[OrderRecord], now_ms: int) -> tuple[DispatchBatch, list[OrderRecord]]:
        """Candidates per pending order (Redis), then their travel times (CPU: off the event loop, so
        calls and streams keep being served while a big tick computes). Orders past saving (see
        `max_click_to_door_s`) are left out of the batch and returned apart."""
        declined = await self.orders.declined_by([r.order_id for r in records]) if records else {}
        free = await self.index.free_riders(now_ms, SNAPSHOT_MAX_FREE) if records else None
        soon: list[NearbyRider] = []
        if free is not None and records and getattr(self.policy, "plans_ahead", False):
            # Riders finishing work soon compete too: the policy holds an order for one of them rather
            # than send a worse free rider now (it commits only to riders who can leave this tick).
            soon = await self.index.soon_free_riders(now_ms, now_ms + int(self.config.plan_ahead_s * 1000))
        if free is not None:
            nearest = await asyncio.to_thread(_candidates, free, soon, records, declined, self.config)
        else:
            limiter = asyncio.Semaphore(CANDIDATE_QUERY_CONCURRENCY)

            async def search(record: OrderRecord) -> tuple[str, list[NearbyRider]]:
                async with limiter:
                    return record.order_id, await self.index.nearby(
                        record.request.pickup, now_ms, limit=self.config.candidates_per_order,
                        max_radius_m=self.config.search_radius_m, exclude=declined.get(record.order_id, ()),
                    )  # fmt: skip

            nearest = dict(await asyncio.gather(*(search(r) for r in records)))
        pickups: list[OpenPickup] = []
        if records and self.config.join_at_counter and getattr(self.policy, "plans_ahead", False):
            pickups = await self.orders.open_pickups(r.request.merchant_id for r in records)
        return await asyncio.to_thread(self._timed_batch, records, nearest, pickups, now_ms)

    def _timed_batch(
        self,
        records: Sequence[OrderRecord],
        nearest: dict[str, list[NearbyRider]],
        pickups: Sequence[OpenPickup],
        now_ms: int,
    ) -> tuple[DispatchBatch, list[OrderRecord]]:
        batch = DispatchBatch(
            now_ms=now_ms,
            orders=self._timed_candidates(records, nearest, now_ms),
            pickup_service_s=self.config.pickup_service_s,
            dropoff_service_s=self.config.dropoff_service_s,
            tick_s=self.config.tick_s,
        )
        hopeless = self._past_saving(batch)
        if hopeless:
            gone = {r.order_id for r in hopeless}
            batch = replace(batch, orders=tuple(o for o in batch.orders if o.record.order_id not in gone))
        if getattr(self.policy, "uses_bundles", False):
            batch = replace(batch, bundles=candidate_bundles(batch, self.oracle, self.config.bundles))
        if pickups:
            batch = replace(batch, joins=self._joins(batch, pickups))
        return batch, hopeless

    def _past_saving(self, batch: DispatchBatch) -> list[OrderRecord]:
        """Orders that even a rider at the counter now would drop off later than `max_click_to_door_s`
        after placement, though one there at placement would have made it."""
        limit_s = self.config.max_click_to_door_s
        if limit_s is None:
            return []
        half_pickup_ms = round(batch.pickup_service_s * 500)
        out = []
        for i, o in enumerate(batch.orders):
            placed = o.record.request.placed_at_ms
            deadline = placed + round(limit_s * 1000)
            now = alone_dropoff_ms(batch, i)
            at_placement = (
                now - max(batch.now_ms + half_pickup_ms, ready_ms(o)) + max(placed + half_pickup_ms, ready_ms(o))
            )
            if now > deadline >= at_placement:
                out.append(o.record)
        return out

    def _joins(self, batch: DispatchBatch, pickups: Sequence[OpenPickup]) -> tuple[JoinOption, ...]:
        """Assignment updates: each pending order may join, as the last drop-off, a bundle a rider holds at
        its counter and has not picked up, if the bundle has room and waits no more than `max_delay_s`
        longer for the order's food. The bundle's pickup and drop-offs move on by that wait."""
        limits = self.config.bundles
        at_counter: dict[tuple[str, LatLng], list[OpenPickup]] = {}
        for p in pickups:
            if p.orders < limits.max_orders:
                at_counter.setdefault((p.merchant_id, p.pickup), []).append(p)
        groups: dict[tuple[str, LatLng], list[int]] = {}
        for i, o in enumerate(batch.orders):
            key = (o.record.request.merchant_id, o.record.request.pickup)
            if key in at_counter:
                groups.setdefault(key, []).append(i)
        if not groups:
            return ()
        keys = list(groups)
        rides = matrices(
            self.oracle,
            [([p.last_door for p in at_counter[k]], [batch.orders[i].record.request.dropoff for i in groups[k]])
             for k in keys],
            batch.now_ms,
        )  # fmt: skip
        half_dropoff_ms = round(self.config.dropoff_service_s * 500)
        max_delay_ms = limits.max_delay_s * 1000
        out = []
        for key, ride in zip(keys, rides, strict=True):
            # Each order's drop-off by a rider already at the counter: the yardstick of bundles' delays.
            alone = [alone_dropoff_ms(batch, i) for i in groups[key]]
            for a, p in enumerate(at_counter[key]):
                planned = max(p.pickup_ms, batch.now_ms)  # not picked up yet: not before now
                for b, i in enumerate(groups[key]):
                    pickup_ms = max(planned, ready_ms(batch.orders[i]))
                    delay_ms = pickup_ms - planned
                    if delay_ms > max_delay_ms or (p.shift_ends_at_ms is not None and pickup_ms > p.shift_ends_at_ms):
                        continue
                    extra_s = float(ride[a, b])
                    dropoff_ms = (p.free_ms + pickup_ms - p.pickup_ms) + 2 * half_dropoff_ms + round(extra_s * 1000)
                    # The bundles' rule for the joining order too: at most `max_delay_s` later than alone, and no
                    # promise missed that it would have kept alone.
                    promise = batch.orders[i].record.request.promised_at_ms
                    if dropoff_ms - alone[b] > max_delay_ms or (
                        promise is not None and alone[b] <= promise < dropoff_ms
                    ):
                        continue
                    out.append(JoinOption(i, p.rider_id, p.bundle_id, pickup_ms, dropoff_ms, delay_ms, p.orders,
                                          extra_s, p.shift_ends_at_ms))  # fmt: skip
        return tuple(out)

    def _timed_candidates(
        self, records: Sequence[OrderRecord], nearest: dict[str, list[NearbyRider]], now_ms: int
    ) -> tuple[PendingOrder, ...]:
        """Travel times of each order's ride and of its candidates to its pickup. Orders sharing a pickup
        (one merchant) share two matrices: their candidates to the counter, the counter to their doors."""
        groups: dict[LatLng, list[OrderRecord]] = {}
        for record in records:
            groups.setdefault(record.request.pickup, []).append(record)
        queries: list[tuple[list[LatLng], list[LatLng]]] = []
        riders_of: list[dict[tuple[str, LatLng], int]] = []
        for pickup, members in groups.items():
            union: dict[tuple[str, LatLng], int] = {}
            positions: list[LatLng] = []
            for record in members:
                for r in nearest.get(record.order_id, []):
                    key = (r.rider_id, r.position)
                    if key not in union:
                        union[key] = len(positions)
                        positions.append(r.position)
            riders_of.append(union)
            queries.append((positions, [pickup]))
            queries.append(([pickup], [m.request.dropoff for m in members]))
        times = matrices(self.oracle, queries, now_ms)
        half_dropoff_ms = round(self.config.dropoff_service_s * 500)
        timed: dict[str, PendingOrder] = {}
        for g, members in enumerate(groups.values()):
            to_pickup, rides = times[2 * g], times[2 * g + 1]
            union = riders_of[g]
            for j, record in enumerate(members):
                cands = tuple(
                    Candidate(
                        r.rider_id,
                        r.position,
                        float(to_pickup[union[r.rider_id, r.position], 0]),
                        r.shift_ends_at_ms,
                        None if r.available_at_ms is None else max(now_ms, r.available_at_ms + half_dropoff_ms),
                    )
                    for r in nearest.get(record.order_id, [])
                )
                timed[record.order_id] = PendingOrder(record, cands, float(rides[0, j]))
        return tuple(timed[r.order_id] for r in records)


def _candidates(
    free: list[NearbyRider],
    soon: list[NearbyRider],
    records: Sequence[OrderRecord],
    declined: dict[str, set[str]],
    config: DispatchConfig,
) -> dict[str, list[NearbyRider]]:
    """Per order, its `candidates_per_order` nearest free riders and, apart from them, its
    `soon_free_per_order` nearest riders finishing work soon: riders about to be free never crowd the
    free ones out of an order's candidates (where riders are busy, the nearest are mostly busy ones)."""
    out = _nearest(free, records, declined, config.candidates_per_order, config.search_radius_m)
    if soon and config.soon_free_per_order:
        for order_id, riders in _nearest(
            soon, records, declined, config.soon_free_per_order, config.search_radius_m
        ).items():
            out[order_id] += riders
    return out


def _nearest(
    riders: list[NearbyRider], records: Sequence[OrderRecord], declined: dict[str, set[str]], k: int, radius_m: float
) -> dict[str, list[NearbyRider]]:
    """Per order, its `k` nearest riders of `riders` within `radius_m` (the ring search's answer), from one
    KD-tree over their positions on the unit sphere: the chord c between unit vectors gives the exact
    great-circle distance 2 R asin(c / 2), for all pairs at once (a haversine and a dataclasses.replace
    per pair took a 1,000-order tick with half of 3,000 riders busy some 200 ms)."""
    if not riders:
        return {r.order_id: [] for r in records}
    tree = cKDTree(unit_vectors([f.position for f in riders]))
    extra = max((len(declined.get(r.order_id, ())) for r in records), default=0)
    want = min(len(riders), k + extra)
    max_chord = 2 * np.sin(min(np.pi, radius_m / EARTH_RADIUS_M) / 2)
    chord, idx = tree.query(
        unit_vectors([r.request.pickup for r in records]), k=want, distance_upper_bound=max_chord * (1 + 1e-9)
    )
    idx = np.asarray(idx).reshape(len(records), want)
    found = idx < len(riders)  # missing neighbours come back as len(riders), at an infinite chord
    metres = np.where(
        found, 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.asarray(chord).reshape(idx.shape) / 2)), np.inf
    )
    within = found & (metres <= radius_m)
    out: dict[str, list[NearbyRider]] = {}
    for i, record in enumerate(records):
        skip = declined.get(record.order_id)
        chosen: list[NearbyRider] = []
        for j, distance in zip(idx[i][within[i]].tolist(), metres[i][within[i]].tolist(), strict=True):
            r = riders[j]
            if skip and r.rider_id in skip:
                continue
            chosen.append(NearbyRider(r.rider_id, r.position, distance, r.availability, r.recorded_at_ms,
                                      r.active_tasks, r.shift_ends_at_ms, r.available_at_ms))  # fmt: skip
            if len(chosen) == k:
                break
        out[record.order_id] = chosen
    return out
