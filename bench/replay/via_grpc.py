"""A city replay against a real server through its gRPC API, on a clock shared with the server.

The simulated city (`CityWorld`: the same orders, riders, rides and acceptance behaviour as the
in-process replay) talks to `server.py` the way production clients do:

- rider apps: one gateway `StreamRiderPositions` stream carries every rider's fixes in batches (as a
  rider gateway would); each rider on shift has its own `WatchAssignments` stream, opened when the
  shift starts and closed when the rider goes offline, and answers offers with `UpdateTask`. A stream
  per online rider is what real apps hold; closing them off shift keeps the server's open streams to
  the riders who can get offers (tens to hundreds in a city scenario). Thousands would each cost the
  server a task and a Redis read per event, which is the load bench.load measures, not a replay's job.
- an order service: orders are queued when placed and sent with `AssignRiders` once per tick's worth of
  simulated time (as a platform batches checkout traffic), each call waiting for its decision.

Food ready times stay hidden from the engine (it gets the merchant's mean as a hint), as in process.

Without `--server`, the replay starts `server.py` itself (embedded Redis, the scenario's city and engine
settings, the chosen policy, a free port) on a `ScaledClock` running `speed` times real time; the replay
builds the identical clock (same start, speed and Unix anchor), so both read the same simulated time.
With `--server`, the server must already run on such a clock; the replay is given its three numbers.

Guidance (`--guidance none|recent|forecast`) is the server's own setting (`--dispatch-setting guidance=...`):
the replay starts its server with it. For `forecast`, the served Redis first gets the forecast history the
in-process replay records (`CityWorld.history`: 28 earlier days of the period): the replay starts a Redis of
its own, records each history order with `DemandForecast.record` in the forecast of the zone its counter lies
in (the server's zones, which the replay names with `--zones`), then starts the server on that Redis. A
running server (`--server`) is taken to have the guidance the replay is told, and gets no history.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import json
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench._server import ServerProcess
from bench.replay.scenario import Scenario
from bench.replay.simulator import HISTORY_DAYS, CityWorld, ReplayResult
from core.clock import ScaledClock
from core.geo import LatLng
from dispatch.api import convert
from dispatch.models import OrderRequest, PositionFix, TaskAction
from dispatch.zones import DEFAULT_ZONE_RESOLUTION, ZoneSpec, make_zoning
from forecast import DemandForecast, PlacedOrder
from serving.app import MIN_TICK_WALL_MS, redis_client
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from tongcheng.dispatch.v1 import dispatch_pb2 as pb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc as pb_grpc

# Real time the started server gets to come up before the scenario's first simulated second (it loads
# a cached road graph in about a second); a slower start moves the scenario's origin later instead.
STARTUP_ALLOWANCE_S = 2.0
# Rider apps' fixes are flushed into the gateway stream this often (real time), up to this many a message.
FLUSH_EVERY_S = 0.02
FIXES_PER_MESSAGE = 500
# The order service waits this long (simulated) for AssignRiders' decision, at least a second of real
# time; an order still pending then is decided in a coming tick and reaches its rider by the feed.
ASSIGN_WAIT_SIM_S = 30.0
MIN_ASSIGN_DEADLINE_S = 1.0
CALL_TIMEOUT_S = 10.0
# After the period, orders no rider holds are looked up this often (simulated seconds): the engine
# refuses orders nobody took within the promise, and only GetOrder tells.
POLL_UNHELD_S = 30.0
# The zones the replay's server cuts the city into (its --zones), so that the forecast history is written
# under the zones' names the server reads.
SERVER_ZONES = str(DEFAULT_ZONE_RESOLUTION)
TICK_LINE = re.compile(r"tick zone=\S+ pending=(\d+) .*solve_ms=([\d.]+)")


@dataclass(frozen=True)
class SharedClock:
    """The three numbers that make a ScaledClock; a server started with them reads the same time."""

    start_ms: int
    speed: float
    anchor_unix_ms: int

    def make(self) -> ScaledClock:
        return ScaledClock(self.start_ms, self.speed, self.anchor_unix_ms)

    def server_flags(self) -> list[str]:
        return ["--clock-speed", f"{self.speed:g}", "--clock-start", str(self.start_ms),
                "--clock-anchor-ms", str(self.anchor_unix_ms)]  # fmt: skip


def check_speed(speed: float, tick_s: float) -> None:
    """The server refuses a tick shorter than MIN_TICK_WALL_MS of real time; say so before starting it."""
    if speed <= 0:
        raise ValueError("--via grpc runs in real time scaled by --speed: give a positive speed, e.g. 60")
    if 1000 * tick_s / speed < MIN_TICK_WALL_MS:
        raise ValueError(f"--speed {speed:g}: a {tick_s:g}-s tick would last under {MIN_TICK_WALL_MS} ms of real "
                         f"time; at most {1000 * tick_s / MIN_TICK_WALL_MS:g}")  # fmt: skip


class GrpcEngine:
    """The world's rider apps and order service, as gRPC clients of one server."""

    def __init__(self, channel: grpc.aio.Channel, token: str, world: CityWorld, clock: ScaledClock, tag: str) -> None:
        self.stub = pb_grpc.DispatchServiceStub(channel)
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.world = world
        self.clock = clock
        self.tag = tag  # prefixes ids, so that a replay against a long-running server meets no old state
        self._fixes: list[pb.PositionFix] = []
        self._orders: list[pb.Order] = []
        self._queued = asyncio.Event()
        self._watches: dict[str, asyncio.Task[None]] = {}
        self._calls: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self._closing = False
        self.latency_ms: list[float] = []
        self.batch_sizes: list[int] = []
        self.counts: Counter[str] = Counter()
        self._gateway: grpc.aio.StreamUnaryCall | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # Engine ----------------------------------------------------------------------------------

    async def report(self, fixes: list[PositionFix]) -> None:
        for f in fixes:
            msg = convert.fix_to_pb(f)
            msg.rider_id = self.tag + f.rider_id
            self._fixes.append(msg)
        self._queued.set()

    async def place(self, order: OrderRequest) -> None:
        msg = convert.order_to_pb(order)
        msg.order_id = self.tag + order.order_id
        self._orders.append(msg)

    async def update_task(self, rider_id: str, order_id: str, action: TaskAction, at_ms: int) -> bool:
        request = pb.UpdateTaskRequest(rider_id=self.tag + rider_id, order_id=self.tag + order_id,
                                       action=convert.ACTION_TO_PB[action], occurred_at=convert.ms_to_ts(at_ms))  # fmt: skip
        try:
            await self.stub.UpdateTask(request, metadata=self.metadata, timeout=CALL_TIMEOUT_S)
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.FAILED_PRECONDITION and action in (TaskAction.ACCEPT, TaskAction.REJECT):
                self.counts["offers lapsed before the answer"] += 1
                return False
            raise
        self.counts["UpdateTask"] += 1
        return True

    def rider_online(self, rider_id: str, online: bool) -> None:
        if online and rider_id not in self._watches:
            self._watches[rider_id] = self._spawn(self._watch(rider_id))
            self.counts["watch streams opened"] += 1
            self.counts["watch streams open at most"] = max(self.counts["watch streams open at most"],
                                                            len(self._watches))  # fmt: skip
        elif not online and rider_id in self._watches:
            self._watches.pop(rider_id).cancel()

    # Background calls ------------------------------------------------------------------------

    def _spawn(self, coro) -> asyncio.Task[None]:  # type: ignore[no-untyped-def]
        task = asyncio.create_task(coro)
        self._calls.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._calls.discard(task)
        if not task.cancelled() and task.exception() is not None and self._failure is None:
            self._failure = task.exception()

    def raise_if_failed(self) -> None:
        """A call that failed in the background fails the replay, loudly."""
        if self._failure is not None:
            raise RuntimeError(f"a gRPC call of the replay failed: {self._failure!r}") from self._failure

    def start(self) -> None:
        self._gateway = self.stub.StreamRiderPositions(metadata=self.metadata)
        self._tasks = [asyncio.create_task(self._send_fixes()), asyncio.create_task(self._send_orders())]
        for task in self._tasks:
            task.add_done_callback(self._done)

    async def _send_fixes(self) -> None:
        assert self._gateway is not None
        while not (self._closing and not self._fixes):
            await self._queued.wait()
            self._queued.clear()
            while self._fixes:
                batch, self._fixes = self._fixes[:FIXES_PER_MESSAGE], self._fixes[FIXES_PER_MESSAGE:]
                await self._gateway.write(pb.StreamRiderPositionsRequest(fixes=batch))
                self.counts["fixes sent"] += len(batch)
            await asyncio.sleep(FLUSH_EVERY_S)

    async def _send_orders(self) -> None:
        """Once per tick of simulated time, the orders placed since go out in one AssignRiders call."""
        window_s = self.clock.wall_s(self.world.scenario.tick_s)
        while not (self._closing and not self._orders):
            await asyncio.sleep(window_s)
            if self._orders:
                batch, self._orders = self._orders[:1000], self._orders[1000:]
                self._spawn(self._assign(batch))

    async def _assign(self, batch: list[pb.Order]) -> None:
        started = time.perf_counter()
        deadline_s = max(MIN_ASSIGN_DEADLINE_S, self.clock.wall_s(ASSIGN_WAIT_SIM_S))
        for attempt in range(3):  # AssignRiders is idempotent on order ids: a retry is safe
            try:
                reply = await self.stub.AssignRiders(pb.AssignRidersRequest(orders=batch), metadata=self.metadata,
                                                     timeout=deadline_s)  # fmt: skip
                break
            except grpc.aio.AioRpcError as err:
                self.counts[f"AssignRiders {err.code().name}"] += 1
                if err.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) or attempt == 2:
                    raise
                await asyncio.sleep(0.2 * 2**attempt)
        self.latency_ms.append((time.perf_counter() - started) * 1000)
        self.batch_sizes.append(len(batch))
        for result in reply.results:
            self.counts[f"first answer {pb.OrderStatus.Name(result.status).removeprefix('ORDER_STATUS_')}"] += 1
            if result.status == pb.ORDER_STATUS_REJECTED:
                self.world.refused[self._untag(result.order_id)] = result.reason

    def _untag(self, id_: str) -> str:
        return id_[len(self.tag) :]

    async def _watch(self, rider_id: str) -> None:
        """The rider's app: watches its feed (resuming after a reconnect) and answers offers."""
        last_event = ""
        waited = 0
        while True:
            call = self.stub.WatchAssignments(
                pb.WatchAssignmentsRequest(rider_id=self.tag + rider_id, resume_after_event_id=last_event),
                metadata=self.metadata,
            )
            try:
                async for message in call:
                    event = message.event
                    last_event = event.event_id
                    if event.type == pb.TASK_EVENT_TYPE_OFFERED:
                        self.counts["offers"] += 1
                        s = (self.clock.now_ms() - self.world.t0_ms) / 1000
                        task = event.task
                        await self.world.offered(self, rider_id, self._untag(task.order_id), s,
                                                 self._untag(task.bundle_id), task.bundle_sequence or 1)  # fmt: skip
                    elif event.type == pb.TASK_EVENT_TYPE_OFFER_EXPIRED:
                        self.counts["offers expired"] += 1
                    elif event.type == pb.TASK_EVENT_TYPE_GUIDED:
                        self.counts["guided"] += 1
                        s = (self.clock.now_ms() - self.world.t0_ms) / 1000
                        self.world.guided(rider_id, LatLng(event.wait_at.lat, event.wait_at.lng), s)
                return  # the server ended the stream (it is stopping)
            except grpc.aio.AioRpcError as err:
                # The app opens its feed right after its first fix; until the gateway has written that
                # fix the server does not know the rider yet.
                if err.code() == grpc.StatusCode.NOT_FOUND and waited < 100:
                    waited += 1
                    await asyncio.sleep(FLUSH_EVERY_S)
                    continue
                raise
            finally:
                call.cancel()

    # Lookups and shutdown --------------------------------------------------------------------

    async def get_orders(self, order_ids: list[str]) -> dict[str, pb.OrderDetails]:
        sem = asyncio.Semaphore(16)

        async def one(oid: str) -> tuple[str, pb.OrderDetails]:
            async with sem:
                reply = await self.stub.GetOrder(pb.GetOrderRequest(order_id=self.tag + oid), metadata=self.metadata,
                                                 timeout=CALL_TIMEOUT_S)  # fmt: skip
                return oid, reply.order

        return dict(await asyncio.gather(*(one(o) for o in order_ids)))

    async def close(self) -> None:
        """Closes the riders' feeds, sends what is queued, ends the gateway stream and waits for calls."""
        for task in self._watches.values():
            task.cancel()
        self._watches.clear()
        self._closing = True
        self._queued.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        assert self._gateway is not None
        await self._gateway.done_writing()
        reply = await self._gateway
        self.counts["fixes accepted"] = reply.accepted_count
        self.counts["fixes rejected"] = reply.rejected_count
        self.counts["fixes stale"] = reply.stale_count
        await asyncio.gather(*self._calls, return_exceptions=True)
        self.raise_if_failed()

    def api_figures(self) -> dict[str, float]:
        lat = sorted(self.latency_ms)
        q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else lat * 99
        return {
            **{k: float(v) for k, v in sorted(self.counts.items())},
            "AssignRiders calls": float(len(lat)),
            "AssignRiders orders per call (mean)": statistics.fmean(self.batch_sizes) if self.batch_sizes else 0.0,
            "AssignRiders latency p50 (ms)": q[49] if q else float("nan"),
            "AssignRiders latency p99 (ms)": q[98] if q else float("nan"),
        }


async def _live(world: CityWorld, engine: GrpcEngine, clock: ScaledClock, progress: bool) -> None:
    """Plays the world's timeline as the shared clock reaches each event; offers arrive meanwhile."""
    events = world.events
    wake = asyncio.Event()
    world.on_schedule = wake.set
    horizon = world.end_s + 3600
    next_poll = world.end_s
    last_progress = -1

    def now_s() -> float:
        return (clock.now_ms() - world.t0_ms) / 1000

    while True:
        engine.raise_if_failed()
        s_now = now_s()
        if events and events[0][0] <= s_now:
            s, _, kind, data = heapq.heappop(events)
            await world.handle(engine, s, kind, data)
            continue
        if progress:
            last_progress = world.show_progress(s_now, last_progress)
        if s_now > world.end_s:
            # As in process: run on until every order is delivered or refused, or an hour has passed.
            if s_now >= next_poll:
                next_poll = s_now + POLL_UNHELD_S
                unheld = [
                    o.order_id for o in world.orders.values() if o.rider is None and o.order_id not in world.refused
                ]
                for oid, details in (await engine.get_orders(unheld)).items():
                    if details.status == pb.ORDER_STATUS_REJECTED:
                        world.refused[oid] = details.reason
            if world.is_settled() or s_now > horizon:
                break
        wake.clear()
        due_s = events[0][0] if events else s_now + POLL_UNHELD_S
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=min(clock.wall_s(due_s - s_now), 0.25))
    if progress:
        print(file=sys.stderr)


async def _replay(
    world: CityWorld, address: str, token: str, clock: ScaledClock, tag: str, progress: bool
) -> GrpcEngine:
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            await asyncio.wait_for(channel.channel_ready(), 10)
        except TimeoutError:
            raise ValueError(f"no server answers at {address}") from None
        engine = GrpcEngine(channel, token, world, clock, tag)
        engine.start()
        try:
            await _live(world, engine, clock, progress)
        finally:
            await engine.close()
        finals = await engine.get_orders(list(world.orders))
        for oid, details in finals.items():
            o = world.orders[oid]
            o.final_status, o.reason = convert.STATUS_FROM_PB[details.status].value, details.reason
    return engine


def _ticks_from_log(log: Path, clock: SharedClock, t0_ms: int, result: ReplayResult) -> None:
    """Per-tick figures from the server's log: it logs the ticks that decided or expired something."""
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        match = TICK_LINE.search(entry.get("msg", ""))
        if match is None:
            continue
        unix_ms = dt.datetime.fromisoformat(entry["ts"].replace("Z", "+00:00")).timestamp() * 1000
        sim_ms = clock.start_ms + (unix_ms - clock.anchor_unix_ms) * clock.speed
        result.tick_s.append((sim_ms - t0_ms) / 1000)
        result.pending_per_tick.append(int(match.group(1)))
        result.solve_ms.append(float(match.group(2)))


def server_args(world: CityWorld, policy: str, city: str) -> list[str]:
    """server.py flags that give the server the replay's city, policy and engine settings."""
    c = world.config
    settings = {"offer_timeout_s": c.offer_timeout_s, "max_pending_s": c.max_pending_s,
                "learn_traffic_s": c.learn_traffic_s}  # fmt: skip
    if c.backlog_ticks is None:
        args_off = ["--dispatch-setting", "backlog_ticks=none"]
    else:
        settings["backlog_ticks"] = c.backlog_ticks
        args_off = []
    args = ["--city", city, "--policy", policy, "--tick-s", f"{c.tick_s:g}", "--rider-ttl-s", f"{c.rider_ttl_s:g}",
            "--redis-appendfsync", "no", "--zones", SERVER_ZONES]  # fmt: skip
    for name, value in settings.items():
        args += ["--dispatch-setting", f"{name}={value:g}"]
    args += ["--dispatch-setting", f"guidance={c.guidance.mode if c.guidance is not None else 'none'}"]
    return args + args_off


async def record_history(world: CityWorld, redis_url: str) -> dict[str, int]:
    """Writes the forecast history of the in-process replay (`CityWorld.history`) into the Redis a server will
    serve the replay from: each order counted by `DemandForecast.record` in the forecast of the server's zone
    its counter lies in, at the replay's start. Returns the orders recorded per zone."""
    zoning = make_zoning(world.config.city, ZoneSpec.parse(SERVER_ZONES))
    config = world.config.forecast
    assert config is not None
    by_zone: dict[str, list[PlacedOrder]] = defaultdict(list)
    for o in world.history(HISTORY_DAYS):
        by_zone[zoning.zone_of(o.pickup)].append(o)
    client = redis_client(redis_url)
    try:
        for zone_id, orders in sorted(by_zone.items()):
            forecast = DemandForecast(client, zone_id, config, world.oracle.tz)
            await forecast.record(orders, world.t0_ms)
    finally:
        await client.aclose()
    return {zone_id: len(orders) for zone_id, orders in sorted(by_zone.items())}


async def replay_city_grpc(
    city: str,
    scenario: Scenario,
    policy: str,
    speed: float,
    server: str | None = None,
    server_clock: SharedClock | None = None,
    issuer: TokenIssuer | None = None,
    progress: bool = False,
    guidance: str = "recent",
) -> ReplayResult:
    """Replays `scenario` through the gRPC API of a server: one started here (server=None) with `guidance`
    (none, recent or forecast; forecast on the history the in-process replay learns from), or a running one
    whose clock is `server_clock`, with tokens from `issuer`, taken to run with `guidance`."""
    started = time.perf_counter()
    check_speed(speed, scenario.tick_s)
    if server is not None and guidance == "forecast":
        raise ValueError("--guidance forecast through gRPC needs the replay to start its server (no --server): "
                         "the forecast's history is written to the served Redis before the server starts")  # fmt: skip
    world = CityWorld(city, scenario, policy, guidance)
    world.result.via = "grpc"
    try:
        if server is None:
            with tempfile.TemporaryDirectory(prefix="tongcheng-replay-") as tmp, contextlib.ExitStack() as stack:
                store_args: list[str] = []
                if guidance == "forecast":
                    store = stack.enter_context(EmbeddedRedis(Path(tmp) / "redis", appendfsync="no"))
                    recorded = await record_history(world, store.url)
                    world.result.api["forecast history orders"] = float(sum(recorded.values()))
                    store_args = ["--redis-url", store.url]
                shared = SharedClock(
                    world.t0_ms, speed, time.time_ns() // 1_000_000 + round(STARTUP_ALLOWANCE_S * 1000)
                )
                process = ServerProcess(
                    Path(tmp) / "server", *server_args(world, policy, city), *store_args, *shared.server_flags()
                )
                await asyncio.to_thread(process.start)
                try:
                    clock = shared.make()
                    if clock.now_ms() > world.t0_ms:  # a slow start: the scenario begins now instead
                        world.t0_ms = clock.now_ms() + 1000
                    await asyncio.sleep(clock.wall_s((world.t0_ms - clock.now_ms()) / 1000))
                    engine = await _replay(world, process.address, process.token(Role.OPS), clock, "", progress)
                finally:
                    code = await asyncio.to_thread(process.stop)
                if code != 0:
                    raise RuntimeError(f"server.py exited with code {code}:\n{process.log_path.read_text()[-3000:]}")
                _ticks_from_log(process.log_path, shared, world.t0_ms, world.result)
        else:
            assert server_clock is not None and issuer is not None
            if abs(server_clock.speed - speed) > 1e-9:
                raise ValueError(
                    f"the server's clock runs at {server_clock.speed:g}x, the replay asked --speed {speed:g}"
                )
            clock = server_clock.make()
            world.t0_ms = (clock.now_ms() // 1000 + 2) * 1000  # the scenario starts now on the server's clock
            tag = f"replay{time.strftime('%H%M%S')}-"
            engine = await _replay(world, server, issuer.mint(Role.OPS), clock, tag, progress)
    finally:
        world.oracle.close()
    world.result.api = {**world.result.api, **engine.api_figures()}
    world.result.wall_s = time.perf_counter() - started
    return world.result
