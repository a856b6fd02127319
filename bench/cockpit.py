"""Issue 22's targets: the ops view in headless Chromium against a server with 10,000 riders and 2,000 open
orders — first paint (<= 2 s), live updates (>= 1 per second) with the page's memory flat over the run, and
the server's cost of feeding the page (<= 5% of a core).

`python -m bench.cockpit [--riders 10000 --orders 2000 --fix-interval-s 5 --minutes 10 --window-s 20]`.
Starts `server.py --intake-processes 0` (one process, so its CPU time is the server's) with its cockpit, then
in this process: rider apps streaming a fix per rider every --fix-interval-s (moving), and an order service
that places --orders orders (offers last an hour and nothing is picked up, so they stay open). The server's
CPU is read from /proc in windows: first with no page (the feed not started: the baseline of the same
run), then with the page open; the difference is the page's cost. First paint is the time from navigation
to the map drawn with every rider; memory is the JS heap after a forced GC, every 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc

from bench._server import ServerProcess
from bench.settlement import cpu_s
from dispatch.api.convert import ms_to_ts
from routing_data.cities import load_area
from serving.auth import Role
from serving.embedded_redis import free_port
from tongcheng.dispatch.v1 import dispatch_pb2 as pb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip


async def cpu_share(pid: int, seconds: float) -> float:
    """The process's CPU over the next `seconds`, as a share of one core."""
    before, t0 = cpu_s(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (cpu_s(pid) - before) / (time.monotonic() - t0)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Load:
    """Rider apps (a fix per rider per interval, each rider wandering) and one batch of orders."""

    def __init__(self, address: str, ops_token: str, svc_token: str, riders: int, seed: int) -> None:
        self.address = address
        self.ops_md = (("authorization", f"Bearer {ops_token}"),)
        self.svc_md = (("authorization", f"Bearer {svc_token}"),)
        self.rng = random.Random(seed)
        city = load_area("helsinki")
        self.city = city
        self.where = [self.point(0.9) for _ in range(riders)]
        self.fixes = 0

    def point(self, share: float) -> list[float]:
        c = self.city
        r = c.service_radius_m * share * math.sqrt(self.rng.random())
        t = self.rng.uniform(0, 2 * math.pi)
        return [c.center.lat + r * math.cos(t) / 111_320,
                c.center.lng + r * math.sin(t) / (111_320 * math.cos(math.radians(c.center.lat)))]  # fmt: skip

    async def ride(self, stop: asyncio.Event, interval_s: float, streams: int = 8) -> None:
        async with grpc.aio.insecure_channel(self.address) as ch:
            stub = dispatch_pb2_grpc.DispatchServiceStub(ch)
            n = len(self.where)
            per = math.ceil(n / streams)

            async def stream(lo: int, hi: int) -> None:
                async def messages():  # type: ignore[no-untyped-def]
                    while not stop.is_set():
                        started = time.monotonic()
                        for i in range(lo, hi, 100):
                            t = ms_to_ts(now_ms())
                            fixes = []
                            for k in range(i, min(hi, i + 100)):
                                p = self.where[k]
                                p[0] += self.rng.uniform(-1e-4, 1e-4)  # ~10 m steps
                                p[1] += self.rng.uniform(-2e-4, 2e-4)
                                fixes.append(pb.PositionFix(rider_id=f"r{k:05d}", position=pb.LatLng(lat=p[0], lng=p[1]),
                                                            recorded_at=t, speed_mps=4.0))  # fmt: skip
                            self.fixes += len(fixes)
                            yield pb.StreamRiderPositionsRequest(fixes=fixes)
                            await asyncio.sleep(0)
                        await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))

                await stub.StreamRiderPositions(messages(), metadata=self.ops_md)

            await asyncio.gather(*(stream(lo, min(n, lo + per)) for lo in range(0, n, per)))

    async def place(self, orders: int) -> int:
        async with grpc.aio.insecure_channel(self.address) as ch:
            stub = dispatch_pb2_grpc.DispatchServiceStub(ch)
            placed = 0
            for b in range(0, orders, 100):
                batch = [pb.Order(order_id=f"ck-{b + k}", merchant_id=f"m{(b + k) % 400}",
                                  pickup=pb.LatLng(lat=(p := self.point(0.6))[0], lng=p[1]),
                                  dropoff=pb.LatLng(lat=(d := self.point(0.9))[0], lng=d[1]),
                                  placed_at=ms_to_ts(now_ms()), item_count=2) for k in range(min(100, orders - b))]  # fmt: skip
                reply = await stub.AssignRiders(pb.AssignRidersRequest(orders=batch, no_wait=True),
                                                metadata=self.svc_md, timeout=30)  # fmt: skip
                placed += len(reply.results)
            return placed


async def run(args: argparse.Namespace) -> int:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("no Chromium: apt-get install -y chromium")
        return 2
    http_port = free_port()
    data = Path(tempfile.mkdtemp(prefix="tc-cockpit-"))
    server = ServerProcess(
        data, "--intake-processes", "0", "--metrics-port", "-1", "--rider-ttl-s", str(max(60, 4 * args.fix_interval_s)),
        "--dispatch-setting", "offer_timeout_s=3600", "--dispatch-setting", "max_pending_s=3600", http_port=http_port,
    ).start()  # fmt: skip
    pid = server.proc.pid  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{http_port}"
    stop = asyncio.Event()
    riding: asyncio.Task[None] | asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        issuer = server.issuer()
        load = Load(server.address, issuer.mint(Role.OPS), issuer.mint(Role.ORDER_SERVICE), args.riders, args.seed)
        riding = asyncio.create_task(load.ride(stop, args.fix_interval_s))
        await asyncio.sleep(args.fix_interval_s + 2)
        placed = await load.place(args.orders)
        print(f"load              {args.riders:,} riders, a fix each every {args.fix_interval_s:g} s; "
              f"{placed:,} orders placed (kept open)")  # fmt: skip
        await asyncio.sleep(5)
        base_windows = [await cpu_share(pid, args.window_s) for _ in range(3)]
        print(f"server, no page   {statistics.median(base_windows) * 100:.1f}% of a core (median of 3 x "
              f"{args.window_s:g} s: {', '.join(f'{w * 100:.1f}' for w in base_windows)})")  # fmt: skip

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, headless=True,
                                              args=[*ARGS, "--enable-precise-memory-info"])  # fmt: skip
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            await page.goto(f"{base}/login")
            await page.request.post(f"{base}/api/session", data={"token": issuer.mint(Role.OPS, ttl_s=86_400)})
            want = int(args.riders * 0.98)
            t0 = time.perf_counter()
            await page.goto(f"{base}/ops")
            await page.wait_for_function(f"+document.body.dataset.ridersDrawn >= {want}", timeout=60_000)
            first_paint = time.perf_counter() - t0
            await page.wait_for_function("+document.body.dataset.roads > 0", timeout=60_000)
            snap = await page.evaluate("({riders: window.__cockpit.riders.size, orders: window.__cockpit.orders.size})")
            print(f"first paint       {first_paint:.2f} s to the map with {snap['riders']:,} riders and "
                  f"{snap['orders']:,} open orders drawn (target <= 2 s)")  # fmt: skip
            cdp = await page.context.new_cdp_session(page)
            await cdp.send("Performance.enable")

            async def heap_mb() -> float:
                await cdp.send("HeapProfiler.collectGarbage")
                metrics = (await cdp.send("Performance.getMetrics"))["metrics"]
                return next(m["value"] for m in metrics if m["name"] == "JSHeapUsedSize") / 2**20

            updates0 = int(await page.evaluate("+document.body.dataset.updates || 0"))
            started = time.monotonic()
            heaps = [(0.0, await heap_mb())]
            page_windows = []
            end = started + args.minutes * 60
            while time.monotonic() < end:
                page_windows.append(await cpu_share(pid, min(args.window_s, max(1.0, end - time.monotonic()))))
                if time.monotonic() - started >= 30 * len(heaps):
                    heaps.append((time.monotonic() - started, await heap_mb()))
            elapsed = time.monotonic() - started
            updates = int(await page.evaluate("+document.body.dataset.updates")) - updates0
            heaps.append((elapsed, await heap_mb()))
            await browser.close()
        with_page = statistics.median(page_windows)
        without = statistics.median(base_windows)
        print(f"live updates      {updates / elapsed:.2f} per second over {elapsed / 60:.1f} min (target >= 1)")
        first_heap = heaps[min(2, len(heaps) - 1)][1]  # after the first minute's warm-up
        print(f"page memory       JS heap after GC {heaps[0][1]:.1f} MB at start, {first_heap:.1f} MB after 1 min, "
              f"{heaps[-1][1]:.1f} MB at {elapsed / 60:.1f} min, max {max(h for _, h in heaps):.1f} MB")  # fmt: skip
        print(f"server with page  {with_page * 100:.1f}% of a core (median of {len(page_windows)} windows)")
        print(f"page's cost       {(with_page - without) * 100:+.1f}% of a core (target <= 5%); fixes sent "
              f"{load.fixes:,}")  # fmt: skip
    finally:
        stop.set()
        riding.cancel()
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--riders", type=int, default=10_000)
    p.add_argument("--orders", type=int, default=2_000)
    p.add_argument("--fix-interval-s", type=float, default=5.0)
    p.add_argument("--minutes", type=float, default=10.0, help="how long the page stays open (memory, updates)")
    p.add_argument("--window-s", type=float, default=20.0, help="CPU measuring window")
    p.add_argument("--seed", type=int, default=1)
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
