"""Load generator: drives a running server through gRPC as a city's rider apps and order services would.

`python -m bench.load --server HOST:PORT --orders-per-s 3000 --riders 10000 --duration 60`

Riders stream positions every --fix-interval-s through --streams gateway streams (each message carries
the fixes of --fixes-per-message riders); order services call AssignRiders with batches of --batch
orders at the target rate, each call with a --deadline-s deadline. Reports achieved rates, latency
p50/p99/p999/max, errors by status code, orders accepted versus decided, and checks that every accepted
order (or a sample, --verify) can be read back (nothing accepted is lost) and was never offered while
another offer of it was held (double-assigned). --no-wait answers calls once the orders are stored;
--accept-share makes rider apps accept that share of offers (seen on one WatchOrders stream) and ride
them out in --ride-s, so supply recycles; --channels spreads calls over several connections (the server's
intake processes share its port, and the kernel spreads connections among them). --burst-s offers the
target rate only for that long, then --after-per-s for the rest of the run: the overload test (the excess
shed at once, then how soon calls are answered normally again: the first second after the burst with
nothing shed and its acknowledgements' p99 under 250 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import grpc

from core.geo import City
from dispatch.api.convert import ms_to_ts
from serving.auth import PRIVATE_KEY_FILE, Role, TokenIssuer
from tongcheng.dispatch.v1 import dispatch_pb2 as pb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def point_in(city: City, rng: random.Random, share: float = 0.8) -> pb.LatLng:
    r = city.service_radius_m * share * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    return pb.LatLng(
        lat=city.center.lat + r * math.cos(a) / 111_320,
        lng=city.center.lng + r * math.sin(a) / (111_320 * math.cos(math.radians(city.center.lat))),
    )


class Load:
    def __init__(self, ns: argparse.Namespace, city: City, issuer: TokenIssuer) -> None:
        self.ns = ns
        self.city = city
        self.ops_md = (("authorization", f"Bearer {issuer.mint(Role.OPS)}"),)
        self.svc_md = (("authorization", f"Bearer {issuer.mint(Role.ORDER_SERVICE)}"),)
        self.rng = random.Random(ns.seed)
        self.latencies_ms: list[float] = []
        self.shed_ms: list[float] = []  # answers RESOURCE_EXHAUSTED
        self.shed_at: Counter[int] = Counter()  # sheds per second of the order flow
        self.by_second: dict[int, list[float]] = {}  # acknowledgement latencies per second of the order flow
        self.t0 = time.monotonic()
        self.codes: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.accepted: list[str] = []
        self.fixes_sent = 0
        self.fixes_accepted = 0
        self.position_errors: Counter[str] = Counter()
        self.run_id = time.strftime("%H%M%S")
        self.task_errors: Counter[str] = Counter()
        self.delivered = 0

    async def positions(self, stub: dispatch_pb2_grpc.DispatchServiceStub, riders: list[str], stop_at: float) -> None:
        where = {r: point_in(self.city, self.rng) for r in riders}

        async def messages():  # type: ignore[no-untyped-def]
            per = self.ns.fixes_per_message
            while time.monotonic() < stop_at:
                round_started = time.monotonic()
                t = ms_to_ts(now_ms())
                for i in range(0, len(riders), per):
                    fixes = []
                    for r in riders[i : i + per]:
                        p = where[r]
                        p.lat += self.rng.uniform(-2e-5, 2e-5)
                        fixes.append(pb.PositionFix(rider_id=r, position=p, recorded_at=t, speed_mps=4.0))
                    self.fixes_sent += len(fixes)
                    yield pb.StreamRiderPositionsRequest(fixes=fixes)
                await asyncio.sleep(max(0.0, self.ns.fix_interval_s - (time.monotonic() - round_started)))

        try:
            reply = await stub.StreamRiderPositions(messages(), metadata=self.ops_md)
            self.fixes_accepted += reply.accepted_count
        except grpc.aio.AioRpcError as err:
            self.position_errors[err.code().name] += 1

    async def order_batch(self, stub: dispatch_pb2_grpc.DispatchServiceStub, n: int, seq: int) -> None:
        orders = []
        for k in range(n):
            order_id = f"load-{self.run_id}-{seq}-{k}"
            orders.append(pb.Order(order_id=order_id, merchant_id=f"m{self.rng.randrange(500)}",
                                   pickup=point_in(self.city, self.rng, 0.6), dropoff=point_in(self.city, self.rng),
                                   placed_at=ms_to_ts(now_ms()), item_count=self.rng.randint(1, 4)))  # fmt: skip
        started = time.perf_counter()
        second = int(time.monotonic() - self.t0)
        try:
            reply = await stub.AssignRiders(pb.AssignRidersRequest(orders=orders, no_wait=self.ns.no_wait),
                                            metadata=self.svc_md, timeout=self.ns.deadline_s)  # fmt: skip
        except grpc.aio.AioRpcError as err:
            self.codes[err.code().name] += 1
            if err.code() is grpc.StatusCode.RESOURCE_EXHAUSTED:
                self.shed_ms.append((time.perf_counter() - started) * 1000)
                self.shed_at[second] += 1
            return
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.latencies_ms.append(elapsed_ms)
            self.by_second.setdefault(second, []).append(elapsed_ms)
        self.codes["OK"] += 1
        for r in reply.results:
            self.statuses[pb.OrderStatus.Name(r.status)] += 1
            self.accepted.append(r.order_id)

    async def orders(self, stubs: list[dispatch_pb2_grpc.DispatchServiceStub], stop_at: float) -> int:
        interval = self.ns.batch / self.ns.orders_per_s
        tasks: set[asyncio.Task[None]] = set()
        seq = 0
        next_at = time.monotonic()
        self.t0 = next_at
        burst_until = next_at + self.ns.burst_s if self.ns.burst_s else None
        while time.monotonic() < stop_at:
            if burst_until is not None and time.monotonic() >= burst_until:
                interval = self.ns.batch / self.ns.after_per_s
                burst_until = None
            if len(tasks) < self.ns.max_in_flight:
                task = asyncio.create_task(self.order_batch(stubs[seq % len(stubs)], self.ns.batch, seq))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                seq += 1
            else:
                self.codes["CLIENT_SATURATED"] += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.gather(*tasks, return_exceptions=True)
        return seq * self.ns.batch

    async def riders_work(self, stub: dispatch_pb2_grpc.DispatchServiceStub, stop_at: float) -> None:
        """The rider apps' side of offers, from one WatchOrders stream: each offer is accepted with
        probability --accept-share (else rejected: back to the pool), picked up after half of --ride-s and
        delivered after the rest, so the rider is free again and supply recycles."""
        share = self.ns.accept_share
        tasks: set[asyncio.Task[None]] = set()
        limiter = asyncio.Semaphore(256)

        async def step(rider: str, order_id: str, action: int) -> bool:
            async with limiter:
                try:
                    await stub.UpdateTask(pb.UpdateTaskRequest(rider_id=rider, order_id=order_id, action=action),
                                          metadata=self.ops_md, timeout=5)  # fmt: skip
                    return True
                except grpc.aio.AioRpcError as err:
                    self.task_errors[err.code().name] += 1
                    return False

        async def work(rider: str, order_id: str) -> None:
            if self.rng.random() >= share:
                await step(rider, order_id, pb.TASK_ACTION_REJECT)
                return
            if not await step(rider, order_id, pb.TASK_ACTION_ACCEPT):
                return
            await asyncio.sleep(self.ns.ride_s / 2)
            if await step(rider, order_id, pb.TASK_ACTION_PICKED_UP):
                await asyncio.sleep(self.ns.ride_s / 2)
                if await step(rider, order_id, pb.TASK_ACTION_DELIVERED):
                    self.delivered += 1

        watch = stub.WatchOrders(pb.WatchOrdersRequest(), metadata=self.svc_md)
        try:
            while time.monotonic() < stop_at:
                try:
                    reply = await asyncio.wait_for(watch.read(), max(0.1, stop_at - time.monotonic()))
                except TimeoutError:
                    break
                if reply is grpc.aio.EOF:
                    break
                u = reply.update
                if u.status == pb.ORDER_STATUS_ASSIGNED and u.rider_id:
                    task = asyncio.create_task(work(u.rider_id, u.order_id))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        except grpc.aio.AioRpcError as err:
            self.task_errors[f"watch {err.code().name}"] += 1
        finally:
            watch.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def verify(self, stub: dispatch_pb2_grpc.DispatchServiceStub) -> tuple[int, int, int, Counter[str]]:
        if self.ns.verify == "none":
            ids: list[str] = []
        elif self.ns.verify == "all":
            ids = self.accepted
        else:
            ids = self.rng.sample(self.accepted, min(2000, len(self.accepted)))
        lost = 0
        doubled = 0
        final: Counter[str] = Counter()
        sem = asyncio.Semaphore(64)

        async def one(order_id: str) -> None:
            nonlocal lost, doubled
            async with sem:
                try:
                    got = await stub.GetOrder(pb.GetOrderRequest(order_id=order_id), metadata=self.ops_md, timeout=30)
                    final[pb.OrderStatus.Name(got.order.status)] += 1
                    doubled += is_double_assigned(got.order.history)
                except grpc.aio.AioRpcError as err:
                    if err.code() == grpc.StatusCode.NOT_FOUND:
                        lost += 1
                    else:
                        final[f"error {err.code().name}"] += 1

        await asyncio.gather(*(one(i) for i in ids))
        return len(ids), lost, doubled, final


def is_double_assigned(history: list[pb.OrderEvent]) -> bool:
    """Whether an order was offered to a rider while another still held it (an offer is held from
    ASSIGNED until the order is back in the pool: PENDING after a rejection or an expired offer)."""
    held = False
    for e in history:
        if e.status == pb.ORDER_STATUS_ASSIGNED:
            if held:
                return True
            held = True
        elif e.status == pb.ORDER_STATUS_PENDING:
            held = False
    return False


async def run(ns: argparse.Namespace) -> int:
    from routing_data.cities import load_area

    city = load_area(ns.city)
    issuer = TokenIssuer(ns.private_key.read_bytes())
    load = Load(ns, city, issuer)
    riders = [f"load-rider-{i:05d}" for i in range(ns.riders)]
    # Several connections, as several order services would open: the server's intake processes share
    # its port, and the kernel spreads connections (not calls) among them.
    channels = [
        grpc.aio.insecure_channel(
            ns.server, options=[("grpc.max_send_message_length", 64 << 20), ("grpc.use_local_subchannel_pool", 1)]
        )
        for _ in range(ns.channels)
    ]
    try:
        try:
            await asyncio.wait_for(asyncio.gather(*(c.channel_ready() for c in channels)), 10)
        except TimeoutError:
            print(f"no server answers at {ns.server}", file=sys.stderr)
            return 2
        stubs = [dispatch_pb2_grpc.DispatchServiceStub(c) for c in channels]
        stub = stubs[0]
        started = time.monotonic()
        stop_at = started + ns.duration
        streams = [
            asyncio.create_task(load.positions(stub, riders[s :: ns.streams], stop_at)) for s in range(ns.streams)
        ]
        work = asyncio.create_task(load.riders_work(stubs[-1], stop_at + ns.ride_s)) if ns.accept_share > 0 else None
        await asyncio.sleep(min(3.0, ns.fix_interval_s))  # riders online before orders come
        order_stop = stop_at
        submitted = await load.orders(stubs, order_stop)
        elapsed = time.monotonic() - started
        await asyncio.gather(*streams)
        if work is not None:
            await work
        checked, lost, doubled, final = await load.verify(stub)
    finally:
        for c in channels:
            await c.close()

    lat = sorted(load.latencies_ms)
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0] if lat else 0.0] * 99
    order_window = elapsed - min(3.0, ns.fix_interval_s)
    decided = (
        load.statuses["ORDER_STATUS_ASSIGNED"]
        + load.statuses["ORDER_STATUS_REJECTED"]
        + sum(
            v
            for k, v in load.statuses.items()
            if k not in ("ORDER_STATUS_PENDING", "ORDER_STATUS_ASSIGNED", "ORDER_STATUS_REJECTED")
        )
    )
    print(f"\nLoad on {ns.server} for {ns.duration:.0f} s: target {ns.orders_per_s:,} orders/s in batches of {ns.batch}, "
          f"{ns.riders:,} riders every {ns.fix_interval_s:.0f} s")  # fmt: skip
    print(f"orders submitted   {submitted:,} ({submitted / order_window:,.0f}/s); accepted {len(load.accepted):,} "
          f"({len(load.accepted) / order_window:,.0f}/s)")  # fmt: skip
    q999 = statistics.quantiles(lat, n=1000)[998] if len(lat) > 1 else q[98]
    print(
        f"AssignRiders       {len(lat):,} calls{' (no_wait)' if ns.no_wait else ''}; latency p50 {q[49]:.0f} ms, "
        f"p99 {q[98]:.0f} ms, p999 {q999:.0f} ms, max {lat[-1] if lat else 0:.0f} ms"
    )
    shed = sorted(load.shed_ms)
    if shed:
        sq = statistics.quantiles(shed, n=100) if len(shed) > 1 else [shed[0]] * 99
        print(f"shed               {len(shed):,} calls (RESOURCE_EXHAUSTED), answered in p50 {sq[49]:.0f} ms, "
              f"p99 {sq[98]:.0f} ms, max {shed[-1]:.0f} ms")  # fmt: skip
    else:
        print("shed               0 calls (RESOURCE_EXHAUSTED)")
    if ns.burst_s:
        burst_end = math.ceil(ns.burst_s)
        normal = None
        for s in sorted(k for k in load.by_second if k >= burst_end):
            lats = sorted(load.by_second[s])
            p99 = statistics.quantiles(lats, n=100)[98] if len(lats) > 1 else lats[0]
            if not load.shed_at[s] and p99 <= 250:
                normal = s - burst_end
                break
        print(f"after the burst    ({ns.burst_s:g} s at {ns.orders_per_s:,.0f}/s, then {ns.after_per_s:,.0f}/s): "
              + (f"normal service (nothing shed, p99 <= 250 ms) from second {normal} after it" if normal is not None
                 else "no second of normal service before the run ended"))  # fmt: skip
    print(f"status codes       {dict(load.codes)}")
    print(f"first answers      {dict(load.statuses)}; decided within the call {decided:,} of {len(load.accepted):,}")
    print(f"positions          sent {load.fixes_sent:,} ({load.fixes_sent / elapsed:,.0f}/s), accepted {load.fixes_accepted:,}, "
          f"stream errors {dict(load.position_errors)}")  # fmt: skip
    if ns.accept_share > 0:
        print(f"rider apps         delivered {load.delivered:,} (accepting {ns.accept_share:.0%} of offers, "
              f"{ns.ride_s:g}-s rides); task errors {dict(load.task_errors)}")  # fmt: skip
    print(f"read back          {checked:,} accepted orders checked ({ns.verify}), lost {lost}, "
          f"double-assigned {doubled}; now {dict(final)}")  # fmt: skip
    return 0 if lost == 0 and doubled == 0 else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--server", required=True, help="HOST:PORT of a running server.py")
    p.add_argument("--orders-per-s", type=float, default=100.0)
    p.add_argument("--riders", type=int, default=1_000)
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--batch", type=int, default=20, help="orders per AssignRiders call")
    p.add_argument("--deadline-s", type=float, default=5.0)
    p.add_argument("--max-in-flight", type=int, default=400, help="AssignRiders calls open at once")
    p.add_argument("--no-wait", action="store_true", help="AssignRiders answers once the orders are accepted")
    p.add_argument(
        "--accept-share",
        type=float,
        default=0.0,
        help="share of offers the rider apps accept and ride out (0: riders never answer offers)",
    )
    p.add_argument("--ride-s", type=float, default=10.0, help="seconds from an accepted offer to its delivery")
    p.add_argument("--channels", type=int, default=8, help="connections to the server (calls spread over them)")
    p.add_argument("--fix-interval-s", type=float, default=5.0)
    p.add_argument("--streams", type=int, default=16)
    p.add_argument("--fixes-per-message", type=int, default=10)
    p.add_argument("--city", default="helsinki", help="the server's city (orders are placed in its service area)")
    p.add_argument("--private-key", type=Path, default=Path(".tongcheng") / "keys" / PRIVATE_KEY_FILE,
                   help="signing key of the server's tokens (default: the dev key server.py made)")  # fmt: skip
    p.add_argument("--verify", choices=["all", "sample", "none"], default="sample")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--burst-s", type=float, default=0.0, help="offer --orders-per-s only this long (0: all along)")
    p.add_argument("--after-per-s", type=float, default=1_000.0, help="the rate offered after the burst")
    ns = p.parse_args(argv)
    if ns.orders_per_s <= 0 or ns.batch < 1 or ns.riders < 1 or ns.duration <= 0:
        p.error("rates, sizes and durations must be positive")
    if not ns.private_key.is_file():
        p.error(f"no signing key at {ns.private_key}: start server.py first, or pass --private-key")
    return asyncio.run(run(ns))


if __name__ == "__main__":
    sys.exit(main())
