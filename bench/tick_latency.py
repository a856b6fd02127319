"""Benchmark: one dispatch tick of one zone — candidates, travel times, bundles, solve, commits — against
the number of pending orders, with 3,000 riders on the city's roads.

`python -m bench.tick_latency [--city helsinki] [--orders 250,500,1000,2000] [--riders 3000] [--repeats 9]
[--busy-share 0.5]`

Each repeat starts from an empty Redis: riders report positions at random road nodes, orders are
submitted (merchants and customers at road nodes, food ready within the next 20 minutes, promised in
45), then one tick runs with the real Dispatcher and road oracle. With --busy-share, that share of the
riders first gets an order each from a greedy tick: they are not free, and those finishing within
`plan_ahead_s` are candidates of a policy that plans ahead, as in a working city. Reported per size:
the tick's total time (median, p99 = max of the repeats, max), its parts (solve; candidates + travel
times + bundles = total - solve - commits), and orders committed. The baseline is the greedy policy on
the same orders in the same process (its ticks build no bundles and commit at once).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._report import quantile
from core.clock import ManualClock
from core.geo import LatLng
from dispatch.config import DispatchConfig
from dispatch.dispatcher import Dispatcher
from dispatch.models import Availability, OrderRequest, OrderStatus, PositionFix
from dispatch.policies import make_policy
from routing_data.cities import load_city
from routing_data.modes import Mode
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis

NOW_MS = 1_781_000_000_000  # a weekday lunch time


async def one_tick(
    client, city, oracle, policy: str, n_orders: int, n_riders: int, seed: int, busy_share: float = 0.0
) -> dict[str, float]:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    await client.flushdb()
    clock = ManualClock(NOW_MS)
    config = DispatchConfig(city=city, tick_s=2.0, learn_traffic_s=0, max_batch_orders=5_000, backlog_ticks=None)
    dispatcher = Dispatcher(client, config, clock, oracle, make_policy(policy))
    dispatcher.positions.start()
    nodes = list(oracle.graph.nodes_of(Mode.EBIKE))

    def at(node: int) -> LatLng:
        return LatLng(float(oracle.graph.node_lat[node]), float(oracle.graph.node_lng[node]))

    fixes = [
        PositionFix(
            f"r{i}", *(lambda p: (p.lat, p.lng))(at(rng.choice(nodes))), NOW_MS, availability=Availability.AVAILABLE
        )
        for i in range(n_riders)
    ]
    for k in range(0, len(fixes), 1000):
        await dispatcher.ingest(fixes[k : k + 1000])
    merchants = [at(rng.choice(nodes)) for _ in range(max(10, n_orders // 4))]

    def orders(prefix: str, n: int, spread: bool = False) -> list[OrderRequest]:
        out = []
        for i in range(n):
            m = rng.randrange(len(merchants))
            out.append(
                OrderRequest(
                    f"{prefix}{i}",
                    f"{prefix}m{i}" if spread else f"m{m}",
                    at(rng.choice(nodes)) if spread else merchants[m],
                    at(rng.choice(nodes)),
                    NOW_MS - rng.randint(0, 120_000),
                    promised_at_ms=NOW_MS + 45 * 60_000,
                    ready_at_hint_ms=NOW_MS + rng.randint(0, 20 * 60_000),
                )
            )
        return out

    if busy_share > 0:
        # A share of the riders already carry an order (offered by a greedy tick beforehand): they are
        # not free, and the riders finishing soon among them are candidates of a planning policy.
        # Their merchants are spread over the city (each its own), so riders everywhere get one; the few
        # orders left without a rider are cancelled so that they do not join the measured tick.
        warm = Dispatcher(client, config, clock, oracle, make_policy("greedy"))
        warm_orders = orders("w", round(busy_share * n_riders), spread=True)
        await warm.submit(warm_orders)
        for _ in range(3):
            await warm.tick()
        for request in warm_orders:
            if (await warm.get(request.order_id)).status is OrderStatus.PENDING:
                await warm.cancel(request.order_id, "bench warm-up")
        await warm.close()
    requests = orders("o", n_orders)
    for k in range(0, len(requests), 1000):
        await dispatcher.submit(requests[k : k + 1000])
    started = time.perf_counter()
    report = await dispatcher.tick()
    total = time.perf_counter() - started
    await dispatcher.close()
    return {"total_s": total, "solve_s": report.solve_s, "batch_s": report.batch_s, "commit_s": report.commit_s,
            "assigned": report.assigned, "pending": report.pending}  # fmt: skip


async def run(
    city: str, sizes: list[int], riders: int, repeats: int, redis_url: str, busy_share: float = 0.0
) -> list[dict[str, object]]:
    area, oracle = await asyncio.to_thread(load_city, city)
    client = redis_client(redis_url)
    rows = []
    try:
        for n in sizes:
            row: dict[str, object] = {"orders": n}
            for policy in ("greedy", "ortools"):
                samples = [
                    await one_tick(client, area, oracle, policy, n, riders, seed, busy_share) for seed in range(repeats)
                ]
                totals = [s["total_s"] for s in samples]
                row[policy] = {
                    "total_p50_s": statistics.median(totals),
                    "total_p99_s": quantile(totals, 99),
                    "total_max_s": max(totals),
                    "solve_p50_s": statistics.median(s["solve_s"] for s in samples),
                    "batch_p50_s": statistics.median(s["batch_s"] for s in samples),
                    "commit_p50_s": statistics.median(s["commit_s"] for s in samples),
                    "assigned_p50": statistics.median(s["assigned"] for s in samples),
                }
            rows.append(row)
            g, o = row["greedy"], row["ortools"]  # type: ignore[index]
            print(
                f"{n:>6} orders  ortools tick p50 {o['total_p50_s'] * 1000:7.0f} ms  p99 {o['total_p99_s'] * 1000:7.0f} ms"
                f"  max {o['total_max_s'] * 1000:7.0f} ms  (candidates+travel+bundles {o['batch_p50_s'] * 1000:5.0f} ms,"
                f" solve {o['solve_p50_s'] * 1000:5.0f} ms, commits {o['commit_p50_s'] * 1000:4.0f} ms,"
                f" committed {o['assigned_p50']:.0f})  | greedy p50 {g['total_p50_s'] * 1000:6.0f} ms"
                f" (committed {g['assigned_p50']:.0f})  ratio {o['total_p50_s'] / g['total_p50_s']:.2f}",
                flush=True,
            )
    finally:
        await client.aclose()
        oracle.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tick_latency", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--city", default="helsinki")
    p.add_argument("--orders", default="250,500,1000,2000")
    p.add_argument("--riders", type=int, default=3000)
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--busy-share", type=float, default=0.0, help="share of riders already carrying an order")
    ns = p.parse_args(argv)
    try:
        sizes = [int(x) for x in ns.orders.split(",") if x.strip()]
    except ValueError:
        p.error("--orders takes a comma list of integers")
    if not sizes or min(sizes) < 1 or ns.riders < 1 or ns.repeats < 1:
        p.error("--orders, --riders and --repeats must be positive")
    if not 0 <= ns.busy_share < 1:
        p.error("--busy-share must be within [0, 1)")
    print(f"one tick of one zone in {ns.city}, {ns.riders} riders, {ns.repeats} repeats per size (p99 = max)")
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), appendfsync="no") as store:
        asyncio.run(run(ns.city, sizes, ns.riders, ns.repeats, store.url, ns.busy_share))
    return 0


if __name__ == "__main__":
    sys.exit(main())
