"""Live traffic of a city, for every zone a process serves: ops' congestion factors (`UpdateTraffic`) and
those learnt from riders' reported speeds, applied to the process's road graph.

Ops traffic is stored for the whole city (`traffic:ops`, `traffic:version` under the city's own hash
tag): the process that took the call applies it at once, a ticking process re-reads it when the version
moves. Speed samples of processes that do not tick go to the ticking one through a capped list
(`speeds:samples`); it learns congestion from them every `learn_traffic_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.errors import FailedPrecondition, FieldViolation, InvalidArgument
from core.validation import quote
from dispatch.keys import ZoneKeys
from dispatch.models import PositionFix
from dispatch.speeds import ObservedSpeeds
from dispatch.travel import LiveTraffic, TravelTimeOracle
from dispatch.validation import is_h3_cell

log = logging.getLogger("tongcheng.traffic")

# Speed samples a process that does not tick hands to the ticking one, how often, and at most how many
# are kept waiting (at 10,000 riders reporting each second, a quarter of them sampled: two minutes' worth).
SHARE_SPEEDS_EVERY_S = 5.0
MAX_SHARED_SPEED_SAMPLES = 100_000
# Live congestion factors ops may set: 0.2 (a road five times faster than its profile) to 20 (closed).
MIN_TRAFFIC_FACTOR, MAX_TRAFFIC_FACTOR = 0.2, 20.0


class Traffic:
    """One process's live traffic: its oracle's congestion, kept in step with the city's."""

    def __init__(
        self,
        client: aioredis.Redis,
        city: str,
        oracle: TravelTimeOracle,
        learn_traffic_s: float,
        speed_sample_every: int,
    ) -> None:
        self._redis = client
        self.keys = ZoneKeys(city)
        self.oracle = oracle
        self._learn_every_ms = int(learn_traffic_s * 1000)
        self._sample_every = speed_sample_every
        self.speeds = ObservedSpeeds()
        self.ticking = False
        self._ops_cells: set[str] = set()
        self._learned_cells: dict[str, float] = {}
        self._last_learned_ms = 0
        self._traffic_seen = 0  # the city's traffic version this process's oracle reflects
        self._speed_buffer: list[str] = []  # samples of a process that does not tick, not yet shared
        self._share_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # Zones tick side by side in one process: one of them at a time re-reads or relearns the graph.
        self._lock = asyncio.Lock()
        self._graph_lock = threading.Lock()

    def start(self, ticking: bool) -> None:
        self.ticking = ticking
        if not ticking and self._share_task is None:
            self._share_task = asyncio.create_task(self._share_speeds(), name="speeds")

    async def stop(self) -> None:
        self._stopping.set()
        if self._share_task is not None:
            await self._share_task
            self._share_task = None

    async def before_tick(self, now_ms: int) -> int:
        """A zone is about to tick: brings ops traffic up to date and, when due, relearns congestion from
        speeds (once per process, whichever zone ticks first); returns roads relearned."""
        if not isinstance(self.oracle, LiveTraffic):
            return 0
        async with self._lock:
            await self.sync()
            if not self._learn_every_ms or now_ms - self._last_learned_ms < self._learn_every_ms:
                return 0
            self._last_learned_ms = now_ms
            await self.take_shared_speeds()
            return await asyncio.to_thread(self.learn_traffic, now_ms)

    def update_traffic(self, cells: Sequence[tuple[str, float]], reset: bool) -> tuple[int, int]:
        """Live congestion from ops: a factor per H3 cell (any resolution); visible to the next tick.
        Returns (roads changed, traffic version)."""
        if not isinstance(self.oracle, LiveTraffic):
            raise FailedPrecondition("this server's travel-time oracle takes no live traffic (no road graph)")
        violations = []
        for i, (cell, factor) in enumerate(cells):
            if not is_h3_cell(cell):
                violations.append(FieldViolation(f"cells[{i}].h3_cell", f"{quote(cell)} is not an H3 cell"))
            if not (MIN_TRAFFIC_FACTOR <= factor <= MAX_TRAFFIC_FACTOR):  # NaN fails too
                violations.append(
                    FieldViolation(f"cells[{i}].factor", f"must be within [{MIN_TRAFFIC_FACTOR}, {MAX_TRAFFIC_FACTOR}]")
                )
        if not cells and not reset:
            violations.append(FieldViolation("cells", "name at least one cell, or reset"))
        if violations:
            raise InvalidArgument(violations)
        with self._graph_lock:
            return self._apply(cells, reset)

    def _apply(self, cells: Sequence[tuple[str, float]], reset: bool) -> tuple[int, int]:
        if reset:
            self.oracle.reset_live()
            self._ops_cells.clear()
            self._learned_cells.clear()
        changed = self.oracle.set_cell_factors(dict(cells)) if cells else 0
        # Ops' word beats what rider speeds suggest: learned factors keep off these cells.
        self._ops_cells.update(cell for cell, factor in cells if factor != 1.0)
        self._ops_cells.difference_update(cell for cell, factor in cells if factor == 1.0)
        log.info("traffic update: %d cells, reset=%s, %d roads changed, version %d", len(cells), reset, changed,
                 self.oracle.version)  # fmt: skip
        return changed, self.oracle.version

    def sample_speeds(self, fixes: list[PositionFix], flags: str) -> None:
        """Feeds a sample of the accepted fixes that carry a speed into the congestion learner: this
        process's own when it ticks, else the zone's shared list (`_share_speeds`) for the ticking one."""
        every = self._sample_every
        for i in range(0, len(fixes), every):
            f = fixes[i]
            if f.speed_mps is not None and flags[i] == "a":
                if self.ticking or self._share_task is None:
                    self.speeds.observe(f.lat, f.lng, f.speed_mps, f.recorded_at_ms)
                elif len(self._speed_buffer) < MAX_SHARED_SPEED_SAMPLES:
                    self._speed_buffer.append(f"{f.lat!r}|{f.lng!r}|{f.speed_mps!r}|{f.recorded_at_ms}")

    async def _share_speeds(self) -> None:
        """Hands this process's speed samples to the zone's ticking process every few seconds."""
        key = self.keys.speed_samples
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=SHARE_SPEEDS_EVERY_S)
            batch, self._speed_buffer = self._speed_buffer, []
            if not batch:
                continue
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.rpush(key, *batch)
                    pipe.ltrim(key, -MAX_SHARED_SPEED_SAMPLES, -1)
                    await pipe.execute()
            except RedisError as exc:
                log.warning("sharing %d speed samples failed: %s", len(batch), exc)

    async def take_shared_speeds(self) -> None:
        """Feeds the samples other processes of the zone shared into this (ticking) process's learner."""
        key = self.keys.speed_samples
        async with self._redis.pipeline(transaction=True, shard_hint=self.keys.slot) as pipe:
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            samples, _ = await pipe.execute()
        for s in samples:
            lat, lng, speed, at = s.split("|")
            self.speeds.observe(float(lat), float(lng), float(speed), int(at))

    async def set_traffic(self, cells: Sequence[tuple[str, float]], reset: bool) -> tuple[int, int]:
        """UpdateTraffic: applied to this process's road graph and stored for every process of the city
        (the ticking one re-reads it when the city's traffic version moves). Returns (roads changed here,
        traffic version here)."""
        changed, version = await asyncio.to_thread(self.update_traffic, cells, reset)
        keys = self.keys
        async with self._redis.pipeline(transaction=True, shard_hint=self.keys.slot) as pipe:
            if reset:
                pipe.delete(keys.traffic_ops)
            if cells:
                pipe.hset(keys.traffic_ops, mapping={cell: repr(factor) for cell, factor in cells})
            pipe.incr(keys.traffic_version)
            *_, zone_version = await pipe.execute()
        if zone_version == self._traffic_seen + 1:
            self._traffic_seen = zone_version  # nobody else changed it meanwhile: this process is current
        return changed, version

    async def sync(self) -> None:
        """Brings this process's road graph up to the city's ops traffic when another process changed it."""
        keys = self.keys
        version = int(await self._redis.get(keys.traffic_version) or 0)
        if version == self._traffic_seen:
            return
        factors = {cell: float(f) for cell, f in (await self._redis.hgetall(keys.traffic_ops)).items()}
        await asyncio.to_thread(self.update_traffic, list(factors.items()), True)
        self._traffic_seen = version

    def learn_traffic(self, now_ms: int) -> int:
        """Applies congestion learned from rider speeds (outside cells ops set); returns roads changed."""
        if not isinstance(self.oracle, LiveTraffic):
            return 0
        observed = self.speeds.mean_speeds(now_ms)
        cells = [c for c in observed if c not in self._ops_cells]
        with self._graph_lock:
            return self._learn(cells, now_ms)

    def _learn(self, cells: list[str], now_ms: int) -> int:
        assert isinstance(self.oracle, LiveTraffic)
        learned = self.speeds.factors(self.oracle.free_flow_speed_mps(cells), now_ms)
        learned = {c: f for c, f in learned.items() if c not in self._ops_cells}
        updates = dict(learned)
        for cell in self._learned_cells.keys() - learned.keys():
            if cell not in self._ops_cells:
                updates[cell] = 1.0  # the jam has cleared (or its evidence aged out)
        self._learned_cells = learned
        return self.oracle.set_cell_factors(updates) if updates else 0
