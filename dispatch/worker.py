"""A zone worker: leases zones of the city and ticks the ones it holds.

Every `ttl/3` the worker writes its heartbeat (`tc:{<city>:workers}:alive`), renews the leases it holds
and reckons its fair share, ceil(zones / live workers). Below it, it takes free zones; above it, it lets
its extra zones go (after their tick), so a worker that joins gets its share within a few seconds. A zone seen free on two rounds in a row is taken whatever the share says: a dead worker's
zones are taken over within its lease TTL and a round, before its heartbeat has aged out. Each held
zone ticks in its own task; every commit of a tick proves the lease's fencing token (`dispatch.lease`),
so a worker that paused past its TTL can never commit after another took the zone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from dispatch import metrics
from dispatch.keys import DirectoryKeys
from dispatch.lease import LeaseConfig, ZoneLease, default_owner
from dispatch.zone import TickReport, ZoneDispatcher

log = logging.getLogger("tongcheng.worker")


@dataclass
class _Held:
    lease: ZoneLease
    task: asyncio.Task[None] | None = None
    leaving: bool = False


class ZoneWorker:
    def __init__(
        self,
        client: aioredis.Redis,
        city: str,
        zone_ids: tuple[str, ...],
        zone: Callable[[str], ZoneDispatcher],
        tick_s: float,
        lease: LeaseConfig,
        on_tick: Callable[[ZoneDispatcher, TickReport], None] | None = None,
    ) -> None:
        self._redis = client
        self._keys = DirectoryKeys(city)
        self._zone_ids = zone_ids
        self._zone = zone
        self._tick_s = tick_s
        self._lease_config = lease
        self._on_tick = on_tick
        self.owner = default_owner()
        self._leases = {z: ZoneLease(client, z, owner=self.owner, config=lease) for z in zone_ids}
        self._held: dict[str, _Held] = {}
        self._seen_free: set[str] = set()
        self._stopping = asyncio.Event()
        self._tried = asyncio.Event()  # set once the first round has answered
        self._task: asyncio.Task[None] | None = None
        self._letting_go: set[asyncio.Task[None]] = set()

    @property
    def held_zones(self) -> list[str]:
        return sorted(self._held)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="zone-worker")

    async def tried(self, timeout_s: float = 5.0) -> None:
        """Waits until the first round of leasing has answered (zones held or not)."""
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tried.wait(), timeout_s)

    async def stop(self) -> None:
        """Ends every tick loop (each finishes its tick), then gives the leases up."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        for zone in list(self._held):
            await self._let_go(zone)
        while self._letting_go:
            await asyncio.gather(*list(self._letting_go))
        with contextlib.suppress(RedisError):
            await self._redis.zrem(self._keys.workers, self.owner)

    async def _run(self) -> None:
        renewed = time.monotonic()
        while not self._stopping.is_set():
            try:
                await self._round()
                renewed = time.monotonic()
            except RedisError as exc:
                log.warning("zone leases: a round failed: %s", exc)
                if time.monotonic() - renewed > self._lease_config.ttl_s:
                    # Not renewed within the TTL: the leases may be someone else's now; stop ticking.
                    for zone in list(self._held):
                        self._held[zone].lease.token = 0
            self._tried.set()
            # A holder renews at a third of the TTL; a worker short of its share looks twice a second, so that
            # zones freed by a clean stop (or by the parent that saw a worker die) are taken within half a second.
            every_s = self._lease_config.ttl_s / 3
            if len(self._held) < len(self._zone_ids):
                every_s = min(0.5, every_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=every_s)

    async def _round(self) -> None:
        now_ms = int(time.time() * 1000)
        ttl_ms = round(self._lease_config.ttl_s * 1000)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self._keys.workers, {self.owner: now_ms})
            pipe.zremrangebyscore(self._keys.workers, "-inf", now_ms - 2 * ttl_ms)
            pipe.zcount(self._keys.workers, now_ms - ttl_ms, "+inf")
            *_, alive = await pipe.execute()
        share = math.ceil(len(self._zone_ids) / max(1, int(alive)))
        # Renew what is held (a lost lease ends its zone's ticks).
        held = list(self._held)
        results = await asyncio.gather(*(self._held[z].lease.hold() for z in held))
        for zone, ok in zip(held, results, strict=True):
            if not ok:
                metrics.LEASE_CHANGES.labels(zone, "lost").inc()
                await self._let_go(zone, release=False)
        # Too many: let the extra go (the last listed first), so joining workers get their share. Holding at most
        # a share each, the workers can hold every zone between them, so nobody lets go once they do.
        extra = len(self._held) - share
        for zone in sorted(self._held, reverse=True)[: max(0, extra)]:
            await self._let_go(zone)
        # Too few, or zones nobody has renewed for a round: take free ones.
        free = [z for z in self._zone_ids if z not in self._held]
        metrics.ZONES_HELD.set(len(self._held))
        if not free:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for z in free:
                pipe.exists(self._leases[z].keys.lease)
            taken = await pipe.execute()
        now_free = {z for z, t in zip(free, taken, strict=True) if not t}
        long_free = now_free & self._seen_free
        self._seen_free = now_free
        for zone in sorted(now_free):
            if len(self._held) >= share and zone not in long_free:
                continue
            lease = self._leases[zone]
            if await lease.hold():
                metrics.LEASE_CHANGES.labels(zone, "taken").inc()
                held_zone = _Held(lease)
                self._held[zone] = held_zone
                held_zone.task = asyncio.create_task(self._tick_loop(zone, held_zone), name=f"tick-{zone}")
        metrics.ZONES_HELD.set(len(self._held))

    async def _let_go(self, zone: str, release: bool = True) -> None:
        """Stops ticking the zone; its lease is given up once its tick under way has ended (in the background,
        so the renewals of the other zones never wait behind a tick)."""
        held = self._held.pop(zone, None)
        if held is None:
            return
        held.leaving = True
        task = asyncio.create_task(self._finish(zone, held, release), name=f"let-go-{zone}")
        self._letting_go.add(task)
        task.add_done_callback(self._letting_go.discard)

    async def _finish(self, zone: str, held: _Held, release: bool) -> None:
        if held.task is not None:
            await held.task
        if release:
            with contextlib.suppress(RedisError):
                await held.lease.release()
            metrics.LEASE_CHANGES.labels(zone, "released").inc()
        held.lease.token = 0

    async def _tick_loop(self, zone_id: str, held: _Held) -> None:
        zone = self._zone(zone_id)
        failures = 0
        while not (self._stopping.is_set() or held.leaving) and held.lease.held:
            started = time.monotonic()
            try:
                report = await zone.tick(held.lease.fence())
                failures = 0
                if self._on_tick is not None:
                    self._on_tick(zone, report)
            except Exception as exc:  # the loop must outlive a Redis outage; it retries next tick
                failures += 1
                metrics.TICK_FAILURES.labels(zone_id).inc()
                log.warning("zone %s: tick failed (%d in a row): %s", zone_id, failures, exc)
            wait_s = self._tick_s - (time.monotonic() - started)
            if failures:
                wait_s = max(wait_s, min(5.0, 0.2 * 2**failures))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=max(0.0, wait_s))
