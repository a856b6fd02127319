"""Benchmark: a synthetic city cut into 100 zones, ticked by 1, 2 and 4 worker processes.

`python -m bench.scale [--workers 1,2,4] [--grid 10] [--nodes 60000] [--riders 4000] [--orders-per-s 200]
[--duration 40] [--tick-s 2]`

The city is `routing_data.synthetic` (no OSM extract here is large enough), cut by a GeoJSON file into a
`grid` x `grid` square of zones (each ~1.3 km across at 60,000 nodes). For each worker count, on a fresh
Redis: worker processes (`Dispatcher.start(tick=True)`, the ortools policy on the road graph) lease the
zones among themselves; this process stands in for intake and rider apps — it places riders at random
road nodes (refreshed within their TTL), submits orders at a steady rate spread over the city, and has
every rider offered an order accept, pick up and deliver it at once, so supply recycles. Reported per
worker count: decisions per second (assignments and rejections read back from the zones' order events
in the measured window), zones each worker held, and tick duration per zone (p50, p99, max over every
tick of every zone). Everything runs on this machine's cores, this process included: past the core
count, more workers share them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._report import quantile
from core.clock import SystemClock
from core.geo import City, LatLng, haversine_m
from dispatch.config import DispatchConfig
from dispatch.dispatcher import Dispatcher
from dispatch.lease import LeaseConfig
from dispatch.models import Availability, OrderRequest, OrderStatus, PositionFix, TaskAction
from dispatch.policies import make_policy
from dispatch.zones import ZoneSpec
from routing_data.graph import RoadGraph
from routing_data.modes import Mode
from routing_data.oracle import RoadNetworkOracle
from routing_data.synthetic import synthetic_city
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis


def grid_zones(graph: RoadGraph, n: int, path: Path) -> City:
    """A GeoJSON square of n x n zones over the graph's extent; the city around them."""
    lat0, lat1 = float(graph.node_lat.min()), float(graph.node_lat.max())
    lng0, lng1 = float(graph.node_lng.min()), float(graph.node_lng.max())
    features = []
    for i in range(n):
        for j in range(n):
            a, b = lat0 + (lat1 - lat0) * i / n, lat0 + (lat1 - lat0) * (i + 1) / n
            c, d = lng0 + (lng1 - lng0) * j / n, lng0 + (lng1 - lng0) * (j + 1) / n
            ring = [[c, a], [d, a], [d, b], [c, b], [c, a]]
            features.append({"type": "Feature", "properties": {"zone": f"z{i:02d}{j:02d}"},
                             "geometry": {"type": "Polygon", "coordinates": [ring]}})  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    center = LatLng((lat0 + lat1) / 2, (lng0 + lng1) / 2)
    radius = haversine_m(lat0, lng0, center.lat, center.lng)
    return City("synth", center, radius + 500)


def config_for(city: City, zones: Path, tick_s: float) -> DispatchConfig:
    return DispatchConfig(
        city=city, zones=ZoneSpec(geojson=zones), tick_s=tick_s, learn_traffic_s=0, offer_timeout_s=60.0,
        backlog_ticks=None, lease=LeaseConfig(ttl_s=6.0),
    )  # fmt: skip


def worker_main(redis_url: str, graph_path: str, city: City, zones: str, tick_s: float, out: str) -> None:
    """One worker process: ticks the zones it leases until SIGTERM, then writes its ticks' durations."""
    graph = RoadGraph.load(Path(graph_path))
    oracle = RoadNetworkOracle(graph)

    async def main() -> dict[str, object]:
        client = redis_client(redis_url)
        d = Dispatcher(client, config_for(city, Path(zones), tick_s), SystemClock(), oracle, make_policy("ortools"))
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        ticks: dict[str, list[float]] = {}
        d.start(tick=True, on_tick=lambda zone, report: ticks.setdefault(zone.zone, []).append(report.total_s))
        await stop.wait()
        held = d.worker.held_zones if d.worker else []
        await d.close()
        await client.aclose()
        return {"held": held, "ticks": ticks}

    Path(out).write_text(json.dumps(asyncio.run(main())))


async def drive(ns: argparse.Namespace, redis_url: str, graph: RoadGraph, city: City, zones: Path,
                workers: int, graph_file: Path) -> dict[str, object]:  # fmt: skip
    client = redis_client(redis_url)
    await client.flushall()
    rng = random.Random(workers)
    clock = SystemClock()
    d = Dispatcher(client, config_for(city, zones, ns.tick_s), clock, RoadNetworkOracle(graph), make_policy("greedy"))
    d.start(tick=False)
    nodes = list(graph.nodes_of(Mode.EBIKE))

    def at() -> LatLng:
        n = rng.choice(nodes)
        return LatLng(float(graph.node_lat[n]), float(graph.node_lng[n]))

    riders = {f"r{i}": at() for i in range(ns.riders)}

    async def report_riders() -> None:
        fixes = [PositionFix(r, p.lat, p.lng, clock.now_ms(), availability=Availability.AVAILABLE)
                 for r, p in riders.items()]  # fmt: skip
        for k in range(0, len(fixes), 1_000):
            await d.ingest(fixes[k : k + 1_000])

    await report_riders()
    ctx = mp.get_context("spawn")
    tmp = Path(tempfile.mkdtemp(prefix="scale-"))
    procs = []
    for w in range(workers):
        p = ctx.Process(target=worker_main, args=(redis_url, str(graph_file), city, str(zones), ns.tick_s,
                                                  str(tmp / f"w{w}.json")))  # fmt: skip
        p.start()
        procs.append(p)
    decided: dict[str, float] = {}
    stop_at = time.monotonic() + ns.warmup + ns.duration
    window = [time.monotonic() + ns.warmup, stop_at]

    async def orders() -> None:
        seq = 0
        batch_every = 0.1
        per_batch = max(1, round(ns.orders_per_s * batch_every))
        next_at = time.monotonic()
        while time.monotonic() < stop_at:
            now_ms = clock.now_ms()
            batch = []
            for _ in range(per_batch):
                pickup, dropoff = at(), at()
                if haversine_m(pickup.lat, pickup.lng, dropoff.lat, dropoff.lng) > 4_000:
                    dropoff = LatLng((pickup.lat + dropoff.lat) / 2, (pickup.lng + dropoff.lng) / 2)
                batch.append(OrderRequest(f"o{seq}", f"m{rng.randrange(2_000)}", pickup, dropoff, now_ms,
                                          ready_at_hint_ms=now_ms + rng.randint(3, 15) * 60_000))  # fmt: skip
                seq += 1
            with contextlib.suppress(Exception):
                await d.submit(batch)
            next_at += batch_every
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def refresh() -> None:
        while time.monotonic() < stop_at:
            await asyncio.sleep(15)
            await report_riders()

    async def recycle() -> None:
        """Rider apps: every offer is accepted and delivered at once; decisions in the window are counted."""
        pending: set[asyncio.Task[None]] = set()
        apps = asyncio.Semaphore(32)  # rider apps' calls at once (the client's pool has 128 connections)

        async def deliver(rider: str, order_id: str) -> None:
            async with apps:
                with contextlib.suppress(Exception):
                    for action in (TaskAction.ACCEPT, TaskAction.PICKED_UP, TaskAction.DELIVERED):
                        await d.update_task(rider, order_id, action)

        async for u in d.watch_orders():
            now = time.monotonic()
            if now > stop_at:
                break
            if u.status in (OrderStatus.ASSIGNED, OrderStatus.REJECTED) and u.order_id not in decided:
                decided[u.order_id] = now
                if u.status is OrderStatus.ASSIGNED and u.rider_id:
                    t = asyncio.create_task(deliver(u.rider_id, u.order_id))
                    pending.add(t)
                    t.add_done_callback(pending.discard)

    watcher = asyncio.create_task(recycle())
    try:
        await asyncio.gather(orders(), refresh())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watcher, 5)
    except BaseException:
        for p in procs:
            p.kill()
        raise
    memory = await client.info("memory")
    open_orders = sum([await client.zcard(f"tc:{{{z}}}:orders:pending") for z in d.zoning.ids])
    for p in procs:
        os.kill(p.pid, signal.SIGTERM)
    for p in procs:
        p.join(60)
    await d.close()
    await client.aclose()
    in_window = sum(1 for t in decided.values() if window[0] <= t <= window[1])
    held, ticks = [], []
    for w in range(workers):
        out = json.loads((tmp / f"w{w}.json").read_text())
        held.append(len(out["held"]))
        for seconds in out["ticks"].values():
            ticks += seconds
    ticks.sort()
    return {
        "workers": workers, "decisions_per_s": in_window / ns.duration, "held": held, "ticks": len(ticks),
        "redis_mb": memory["used_memory"] / 2**20, "orders": len(decided), "pending": open_orders,
        "tick_p50_ms": 1000 * statistics.median(ticks) if ticks else float("nan"),
        "tick_p99_ms": 1000 * quantile(ticks, 99) if ticks else float("nan"),
        "tick_max_ms": 1000 * ticks[-1] if ticks else float("nan"),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--grid", type=int, default=10, help="zones per side (10: 100 zones)")
    p.add_argument("--nodes", type=int, default=60_000, help="road graph nodes of the synthetic city")
    p.add_argument("--riders", type=int, default=4_000)
    p.add_argument("--orders-per-s", type=float, default=200.0)
    p.add_argument("--duration", type=float, default=40.0, help="measured seconds per worker count")
    p.add_argument("--warmup", type=float, default=10.0, help="seconds before the measured window")
    p.add_argument("--tick-s", type=float, default=2.0)
    ns = p.parse_args(argv)
    counts = [int(w) for w in ns.workers.split(",")]
    started = time.monotonic()
    graph = synthetic_city(ns.nodes, seed=1)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis") as redis_server:
        zones = Path(tmp) / "zones.geojson"
        city = grid_zones(graph, ns.grid, zones)
        print(f"synthetic city: {graph.node_count:,} nodes, {ns.grid * ns.grid} zones, built in "
              f"{time.monotonic() - started:.0f} s; {ns.riders:,} riders, {ns.orders_per_s:g} orders/s, "
              f"tick {ns.tick_s:g} s, {ns.duration:g} s measured per run, {os.cpu_count()} cores", flush=True)  # fmt: skip
        results = []
        graph.save(Path(tmp) / "graph.npz")
        for w in counts:
            r = asyncio.run(drive(ns, redis_server.url, graph, city, zones, w, Path(tmp) / "graph.npz"))
            results.append(r)
            print(f"  {w} worker(s): {r['decisions_per_s']:.1f} decisions/s; zones held {r['held']}; "
                  f"{r['ticks']} zone ticks, p50 {r['tick_p50_ms']:.0f} ms, p99 {r['tick_p99_ms']:.0f} ms, "
                  f"max {r['tick_max_ms']:.0f} ms; Redis {r['redis_mb']:.0f} MB with {r['orders']:,} orders decided, "
                  f"{r['pending']:,} pending", flush=True)  # fmt: skip
        base = results[0]["decisions_per_s"] or float("nan")
        print(f"\n{'workers':>8} {'decisions/s':>12} {'vs 1':>6} {'tick p50 ms':>12} {'tick p99 ms':>12}")
        for r in results:
            print(f"{r['workers']:>8} {r['decisions_per_s']:>12.1f} {r['decisions_per_s'] / base:>5.2f}x "  # type: ignore[operator]
                  f"{r['tick_p50_ms']:>12.0f} {r['tick_p99_ms']:>12.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
