"""The demo: server with embedded Redis and the default city, a few hundred rider apps, orders via gRPC.

`python -m bench.demo [--riders 300 --orders 150 --duration-s 30]`. Starts `server.py` as a child
process, runs simulated rider apps (each streams its GPS position every second, watches its tasks,
accepts most offers and rides them out at demo speed) and an order service that submits orders in
batches through AssignRiders, then prints what happened and stops the server with SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import shutil
import socket
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from bench._server import ServerProcess
from bench.demo_forecast import run_forecast_demo
from bench.demo_loyalty import loyalty_days
from bench.demo_pricing import run_pricing_demo
from bench.demo_supply import run_supply_demo
from core.geo import City, haversine_m
from dispatch.api.convert import ms_to_ts
from serving.auth import Role
from serving.embedded_redis import free_port
from tongcheng.dispatch.v1 import dispatch_pb2 as pb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc as pb_grpc

# The merchant whose page the demo links: the supply section's shop, which sells through the order center.
DEMO_MERCHANT = "crayfish-shop"
# Rides run 30x faster than an e-bike's 4.2 m/s so that deliveries finish within the demo.
TIME_COMPRESSION = 30
DEMO_SPEED_MPS = 4.2 * TIME_COMPRESSION


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def demo_city() -> City:
    """The default city's service area, from its road graph (built once, then cached)."""
    from routing_data.cities import load_area

    return load_area("helsinki")


def random_point(rng: random.Random, city: City, share: float) -> tuple[float, float]:
    """A point within `share` of the city's service radius."""
    r = city.service_radius_m * share * math.sqrt(rng.random())
    theta = rng.uniform(0, 2 * math.pi)
    dlat = r * math.cos(theta) / 111_320
    dlng = r * math.sin(theta) / (111_320 * math.cos(math.radians(city.center.lat)))
    return city.center.lat + dlat, city.center.lng + dlng


@dataclass
class Stats:
    fixes_accepted: int = 0
    fixes_sent: int = 0
    offers: int = 0
    rejected_offers: int = 0
    guided: int = 0  # GUIDED events: idle riders asked to wait nearer recent orders
    delivered: int = 0
    results: Counter[str] = field(default_factory=Counter)
    rejections: Counter[str] = field(default_factory=Counter)
    assign_latency_ms: list[float] = field(default_factory=list)
    pickup_distance_m: list[float] = field(default_factory=list)
    promised_eta_min: list[float] = field(default_factory=list)


class RiderApp:
    """One simulated rider: streams its position, watches its feed, works its tasks."""

    def __init__(
        self, rider_id: str, channel: grpc.aio.Channel, token: str, rng: random.Random, stats: Stats, city: City
    ):
        self.rider_id = rider_id
        self.stub = pb_grpc.DispatchServiceStub(channel)
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.rng = rng
        self.stats = stats
        self.lat, self.lng = random_point(rng, city, 0.8)
        self.target: tuple[float, float] | None = None
        self.arrived = asyncio.Event()
        self.first_fix_sent = asyncio.Event()

    async def positions(self, stop: asyncio.Event) -> None:
        async def fixes():  # type: ignore[no-untyped-def]
            while not stop.is_set():
                self._move(1.0)
                self.stats.fixes_sent += 1
                self.first_fix_sent.set()
                yield pb.StreamRiderPositionsRequest(
                    fixes=[
                        pb.PositionFix(
                            rider_id=self.rider_id, position=pb.LatLng(lat=self.lat, lng=self.lng),
                            recorded_at=ms_to_ts(now_ms()), speed_mps=4.0, accuracy_m=8.0,
                            availability=pb.RIDER_AVAILABILITY_AVAILABLE,
                        )
                    ]
                )  # fmt: skip
                await asyncio.sleep(1.0)

        reply = await self.stub.StreamRiderPositions(fixes(), metadata=self.metadata)
        self.stats.fixes_accepted += reply.accepted_count

    def _move(self, dt_s: float) -> None:
        if self.target is None:
            return
        d = haversine_m(self.lat, self.lng, *self.target)
        step = DEMO_SPEED_MPS * dt_s
        if d <= step:
            self.lat, self.lng = self.target
            self.target = None
            self.arrived.set()
        else:
            f = step / d
            self.lat += (self.target[0] - self.lat) * f
            self.lng += (self.target[1] - self.lng) * f

    async def ride_to(self, lat: float, lng: float) -> None:
        self.arrived.clear()
        self.target = (lat, lng)
        await self.arrived.wait()

    async def tasks(self, stop: asyncio.Event) -> None:
        # The app streams a position before it watches: the server knows riders by their positions.
        await self.first_fix_sent.wait()
        await asyncio.sleep(1.5)
        feed = self.stub.WatchAssignments(pb.WatchAssignmentsRequest(rider_id=self.rider_id), metadata=self.metadata)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                read = asyncio.ensure_future(feed.read())
                await asyncio.wait([read, stopping], return_when=asyncio.FIRST_COMPLETED)
                if not read.done():
                    read.cancel()
                    break
                message = read.result()
                if message is grpc.aio.EOF:
                    break
                if message.event.type == pb.TASK_EVENT_TYPE_OFFERED:
                    await self._work(message.event.task)
                elif message.event.type == pb.TASK_EVENT_TYPE_GUIDED:
                    # Idle: head for where the engine asks it to wait (the next offer takes it elsewhere).
                    self.stats.guided += 1
                    self.target = (message.event.wait_at.lat, message.event.wait_at.lng)
        finally:
            stopping.cancel()
            feed.cancel()

    async def _work(self, task: pb.Task) -> None:
        self.stats.offers += 1
        if self.rng.random() < 0.1:  # some riders decline; the order goes back to the pool
            self.stats.rejected_offers += 1
            await self._update(task.order_id, pb.TASK_ACTION_REJECT)
            return
        await self._update(task.order_id, pb.TASK_ACTION_ACCEPT)
        await self.ride_to(task.pickup.lat, task.pickup.lng)
        await self._update(task.order_id, pb.TASK_ACTION_ARRIVED_AT_MERCHANT)
        await asyncio.sleep(self.rng.uniform(0.5, 2.0))  # waiting for the food, handing over
        await self._update(task.order_id, pb.TASK_ACTION_PICKED_UP)
        await self.ride_to(task.dropoff.lat, task.dropoff.lng)
        await self._update(task.order_id, pb.TASK_ACTION_DELIVERED)
        self.stats.delivered += 1

    async def _update(self, order_id: str, action: int) -> None:
        request = pb.UpdateTaskRequest(rider_id=self.rider_id, order_id=order_id, action=action)  # type: ignore[arg-type]
        await self.stub.UpdateTask(request, metadata=self.metadata, timeout=10)


async def order_service(
    channel: grpc.aio.Channel,
    token: str,
    n_orders: int,
    duration_s: float,
    rng: random.Random,
    stats: Stats,
    city: City,
) -> list[str]:
    stub = pb_grpc.DispatchServiceStub(channel)
    metadata = (("authorization", f"Bearer {token}"),)
    merchants = [(f"m{i}", random_point(rng, city, 0.7)) for i in range(40)]
    batches = max(1, int(duration_s / 2))
    per_batch = max(1, n_orders // batches)
    order_ids: list[str] = []
    # The embedded Redis keeps its data between runs (AOF): each run's orders get fresh ids.
    run_id = time.strftime("%Y%m%dT%H%M%S")

    async def submit(batch: list[pb.Order]) -> None:
        started = time.perf_counter()
        reply = await stub.AssignRiders(pb.AssignRidersRequest(orders=batch), metadata=metadata, timeout=5)
        elapsed_ms = (time.perf_counter() - started) * 1000
        for result, order in zip(reply.results, batch, strict=True):
            stats.results[pb.OrderStatus.Name(result.status)] += 1
            if result.status == pb.ORDER_STATUS_REJECTED:
                stats.rejections[result.reason] += 1
            if result.rider_id:  # assigned (and maybe already accepted by the rider's app)
                stats.assign_latency_ms.append(elapsed_ms)
                stats.promised_eta_min.append(
                    (result.estimated_dropoff_at.ToMilliseconds() - order.placed_at.ToMilliseconds()) / 60_000
                )

    pending: list[asyncio.Task[None]] = []
    for b in range(batches):
        batch = []
        for _ in range(per_batch if b < batches - 1 else n_orders - per_batch * (batches - 1)):
            merchant_id, (plat, plng) = rng.choice(merchants)
            dlat, dlng = random_point(rng, city, 0.8)
            order_id = f"demo-{run_id}-{len(order_ids):04d}"
            order_ids.append(order_id)
            batch.append(
                pb.Order(
                    order_id=order_id,
                    merchant_id=merchant_id,
                    pickup=pb.LatLng(lat=plat, lng=plng),
                    dropoff=pb.LatLng(lat=dlat, lng=dlng),
                    placed_at=ms_to_ts(now_ms()),
                    item_count=rng.randint(1, 5),
                    promised_at=ms_to_ts(now_ms() + 40 * 60_000),
                )
            )
        pending.append(asyncio.create_task(submit(batch)))
        await asyncio.sleep(duration_s / batches)
    await asyncio.gather(*pending)
    return order_ids


async def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    stats = Stats()
    city = demo_city()
    # A demo starts from an empty store, so that every run shows the same story.
    shutil.rmtree(args.data_dir / "redis", ignore_errors=True)
    http_port = args.http_port if args.http_port >= 0 else None
    if http_port and not port_free(http_port):
        print(f"port {http_port} is taken: the cockpit goes on a free port instead")
        http_port = free_port()
    server = ServerProcess(args.data_dir, "--tick-s", str(args.tick_s), "--city", "helsinki", http_port=http_port)
    print(f"starting server.py (embedded Redis, city helsinki) with data in {args.data_dir} ...", flush=True)
    started = time.perf_counter()
    server.start()
    print(f"server up on {server.address} in {time.perf_counter() - started:.1f} s; log: {server.log_path}")
    exit_code = 1
    try:
        issuer = server.issuer()
        if http_port is not None:
            # The token rides in the link's fragment, which the browser never sends to a server.
            print(f"ops cockpit       http://127.0.0.1:{http_port}/login#token={issuer.mint(Role.OPS, ttl_s=8 * 3600)}")
            print(f"merchant page     http://127.0.0.1:{http_port}/login#token="
                  f"{issuer.mint(Role.MERCHANT, DEMO_MERCHANT, ttl_s=8 * 3600)}", flush=True)  # fmt: skip
        async with grpc.aio.insecure_channel(server.address) as channel:
            # Issue 21, before any rider is online (so riders are scarce): delivery areas and prices.
            pricing_lines = await run_pricing_demo(channel, issuer)
            stop = asyncio.Event()
            riders = [
                RiderApp(
                    f"rider-{i:03d}",
                    channel,
                    issuer.mint(Role.RIDER, f"rider-{i:03d}"),
                    random.Random(rng.random()),
                    stats,
                    city,
                )
                for i in range(args.riders)
            ]
            rider_tasks = [asyncio.create_task(r.positions(stop)) for r in riders]
            rider_tasks += [asyncio.create_task(r.tasks(stop)) for r in riders]
            await asyncio.sleep(2.5)  # riders come online
            print(
                f"{args.riders} rider apps streaming positions; submitting {args.orders} orders over {args.duration_s:.0f} s ..."
            )
            order_ids = await order_service(
                channel, issuer.mint(Role.ORDER_SERVICE), args.orders, args.duration_s, rng, stats, city
            )
            await asyncio.sleep(args.settle_s)  # let the last rides finish
            if args.hold_s > 0 and http_port is not None:
                print(f"keeping the riders and the cockpit live for {args.hold_s:.0f} s more ...", flush=True)
                await asyncio.sleep(args.hold_s)
            stop.set()
            # Position streams close on their own; a rider still mid-ride is simply stopped.
            _, unfinished = await asyncio.wait(rider_tasks, timeout=5)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*rider_tasks, return_exceptions=True)

            supply_lines = await run_supply_demo(channel, issuer)  # issue 20: merchants, stock, bookings
            forecast_lines = await run_forecast_demo(channel, issuer)  # issue 21: forecast, restock hints

            ops = pb_grpc.DispatchServiceStub(channel)
            ops_md = (("authorization", f"Bearer {issuer.mint(Role.OPS)}"),)
            final: Counter[str] = Counter()
            for oid in order_ids:
                got = await ops.GetOrder(pb.GetOrderRequest(order_id=oid), metadata=ops_md)
                final[pb.OrderStatus.Name(got.order.status)] += 1
        loyalty_lines = await loyalty_days(args.data_dir / "loyalty")
        print_report(args, stats, final)
        print("\n=== Loyalty and coupons (积分 · 核销) ===", *loyalty_lines, sep="\n")
        print("\n=== Merchants, stock and bookings ===")
        print("\n".join(supply_lines))
        print("\n=== Delivery areas and prices (电子围栏 · 动态配送费) ===")
        print("\n".join(pricing_lines))
        print("\n=== Demand forecast and restock hints ===")
        print("\n".join(forecast_lines))
        exit_code = 0
    finally:
        code = server.stop()
        print(f"server stopped with SIGTERM (exit code {code})")
        if code != 0:
            exit_code = 1
    return exit_code


def print_report(args: argparse.Namespace, stats: Stats, final: Counter[str]) -> None:
    def pct(xs: list[float], q: float) -> float:
        return statistics.quantiles(xs, n=100)[int(q) - 1] if len(xs) > 1 else (xs[0] if xs else float("nan"))

    print("\n=== Tongcheng demo: what happened ===")
    print(
        f"rider apps        {args.riders}, GPS fixes sent {stats.fixes_sent}, accepted by the server {stats.fixes_accepted}"
    )
    print(f"orders submitted  {args.orders} via AssignRiders; first answers: {dict(stats.results)}")
    if stats.assign_latency_ms:
        print(
            f"AssignRiders      decided within the call: p50 {pct(stats.assign_latency_ms, 50):.0f} ms, "
            f"p90 {pct(stats.assign_latency_ms, 90):.0f} ms (tick {args.tick_s} s)"
        )
        print(f"promised ETA      click-to-door estimate: mean {statistics.mean(stats.promised_eta_min):.1f} min")
    for reason, count in stats.rejections.items():
        print(f"rejected          {count} x {reason}")
    print(f"offers            {stats.offers} ({stats.rejected_offers} declined by riders and re-dispatched)")
    print(f"guided            {stats.guided} times an idle rider was asked to wait nearer recent orders")
    print(f"final states      {dict(final)}")
    print(f"delivered         {stats.delivered} orders, rides run {TIME_COMPRESSION}x faster than real time")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--riders", type=int, default=300)
    p.add_argument("--orders", type=int, default=150)
    p.add_argument("--duration-s", type=float, default=20.0, help="how long orders keep coming")
    p.add_argument("--settle-s", type=float, default=15.0, help="time after the last order for rides to finish")
    p.add_argument("--tick-s", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--data-dir", type=Path, default=Path(".tongcheng") / "demo")
    p.add_argument("--http-port", type=int, default=8080, help="the cockpit's port (a free one if taken; -1: off)")
    p.add_argument("--hold-s", type=float, default=0.0, help="keep riders moving and the cockpit up this much longer")
    args = p.parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
