"""Prep-time model against the naive per-merchant running mean, replaying orders in time order.

    python -m bench.prep [--instances DIR ...] [--no-synthetic] [--redis-url URL]

Each stream is replayed chronologically through `dispatch.prep.PrepModel` on a real Redis: at an
order's placement both predictors give its prep time (the model via `on_placed`), at its ready time
both learn it (ready events first when they tie with placements: they have happened). The naive
baseline predicts the merchant's running mean of past prep times, the running mean over all
merchants when the merchant is unseen, and the default prior (15 min) before anything is seen.
Printed per stream: MAE and RMSE in minutes of both and their ratio, and how often the truth falls
within the model's +-1 sd and +-2 sd (a Gaussian would give 68 % and 95 %).

Streams:
* every MDRP instance folder given (default: all under ../shared/data/mdrp): restaurants, placement
  and ready minutes only (no basket size, no category);
* ``city-lunch-law``: five weekday lunch peaks drawn by the law of the city replays
  (`bench.replay`: the `lunch` scenario's demand curve, 300 merchants with mean prep uniform in
  8-18 min, lognormal orders with sigma 0.3); the OSM places are not needed for prep times so the
  road graph is not built;
* ``synthetic-effects``: the same law plus the effects the model is built for (lunch hour 1.3x,
  prep x items^0.2, x (1 + open orders)^0.15), where the naive mean cannot follow them.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.mdrp.instance import load_instance
from bench.replay.scenario import BUILT_IN
from dispatch.prep import CATEGORY_PRIORS, PrepModel
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
MDRP = ROOT.parent / "shared" / "data" / "mdrp"
MIN_MS = 60_000
DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class StreamOrder:
    order_id: str
    merchant_id: str
    placed_ms: int
    ready_ms: int
    items: int = 1


def mdrp_orders(folder: Path) -> list[StreamOrder]:
    inst = load_instance(folder)
    return [StreamOrder(o.id, o.restaurant, round(o.placement_min * MIN_MS), round(o.ready_min * MIN_MS))
            for o in inst.orders.values()]  # fmt: skip


def lunch_orders(seed: int, days: int = 5, effects: bool = False) -> list[StreamOrder]:
    """Orders of `days` lunch peaks drawn like bench.replay.simulator does (see module doc)."""
    sc = BUILT_IN["lunch"]
    rng = random.Random(seed)
    merchants = [(f"m{i}", rng.uniform(*sc.prep_mean_min) * 60) for i in range(300)]
    peak = max(sc.demand_per_hour.values())
    out: list[StreamOrder] = []
    for day in range(days):
        t0 = day * DAY_MS + round(sc.start_hour * 3600 * 1000)
        busy: dict[str, list[float]] = defaultdict(list)  # ready times of each merchant's open orders
        t = 0.0
        while True:
            t += rng.expovariate(peak / 3600)
            if t >= sc.duration_h * 3600:
                break
            hour = sc.start_hour + t / 3600
            if rng.random() > sc.demand_at(hour) / peak:
                continue
            mid, mean_s = rng.choice(merchants)
            items = 1 + min(7, int(rng.expovariate(1 / 1.5)))
            y = mean_s * math.exp(rng.gauss(0, sc.prep_sigma) - sc.prep_sigma**2 / 2)
            if effects:
                busy[mid] = [r for r in busy[mid] if r > t]
                y *= (1.3 if 12 <= hour < 13 else 1.0) * items**0.2 * (1 + len(busy[mid])) ** 0.15
                busy[mid].append(t + y)
            out.append(StreamOrder(f"d{day}o{len(out)}", mid, t0 + round(t * 1000), t0 + round((t + y) * 1000),
                                   items if effects else 1))  # fmt: skip
    return out


async def replay(client, name: str, orders: list[StreamOrder]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    await client.flushdb()
    model = PrepModel(client, "bench")
    # At equal times ready events go first (they have happened), except an order's own ready event
    # at its placement time (zero prep time), which follows its placement.
    events = sorted([(o.ready_ms, 2 if o.ready_ms <= o.placed_ms else 0, o) for o in orders]
                    + [(o.placed_ms, 1, o) for o in orders], key=lambda e: (e[0], e[1], e[2].order_id))  # fmt: skip
    sums: dict[str, list[float]] = {}  # naive: merchant -> [count, total]
    g_n, g_sum = 0, 0.0
    err_m, err_n, in1, in2 = [], [], 0, 0
    for at_ms, kind, o in events:
        truth_s = (o.ready_ms - o.placed_ms) / 1000
        if kind == 1:
            est = await model.on_placed(o.merchant_id, o.order_id, o.placed_ms, o.items)
            pred_s = (est.ready_at_ms - o.placed_ms) / 1000
            c = sums.get(o.merchant_id)
            naive_s = c[1] / c[0] if c else (g_sum / g_n if g_n else CATEGORY_PRIORS["default"].mean_s)
            err_m.append(pred_s - truth_s)
            err_n.append(naive_s - truth_s)
            in1 += abs(pred_s - truth_s) <= est.sd_s
            in2 += abs(pred_s - truth_s) <= 2 * est.sd_s
        else:
            await model.on_ready(o.merchant_id, o.order_id, at_ms)
            c = sums.setdefault(o.merchant_id, [0, 0.0])
            c[0] += 1
            c[1] += truth_s
            g_n += 1
            g_sum += truth_s

    def mae(es: list[float]) -> float:
        return sum(abs(e) for e in es) / len(es) / 60

    def rmse(es: list[float]) -> float:
        return math.sqrt(sum(e * e for e in es) / len(es)) / 60

    n = len(orders)
    counters = await model.counters()
    return {"orders": n, "merchants": len({o.merchant_id for o in orders}),
            "mae_model": mae(err_m), "mae_naive": mae(err_n), "rmse_model": rmse(err_m), "rmse_naive": rmse(err_n),
            "cover1": in1 / n, "cover2": in2 / n, "ignored": n - counters["learnt"]}  # fmt: skip


async def run(redis_url: str, streams: list[tuple[str, list[StreamOrder]]]) -> list[tuple[str, dict[str, float]]]:
    client = redis_client(redis_url)
    try:
        return [(name, await replay(client, name, orders)) for name, orders in streams]
    finally:
        await client.aclose()


def print_table(rows: list[tuple[str, dict[str, float]]]) -> None:
    head = (f"{'stream':<20} {'orders':>6} {'merch':>5}  {'MAE model':>9} {'naive':>6} {'ratio':>5}  "
            f"{'RMSE model':>10} {'naive':>6} {'ratio':>5}  {'in 1sd':>6} {'in 2sd':>6} {'unlearnt':>8}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for name, r in rows:
        print(f"{name:<20} {r['orders']:>6} {r['merchants']:>5}  {r['mae_model']:>9.2f} {r['mae_naive']:>6.2f} "
              f"{r['mae_model'] / r['mae_naive']:>5.2f}  {r['rmse_model']:>10.2f} {r['rmse_naive']:>6.2f} "
              f"{r['rmse_model'] / r['rmse_naive']:>5.2f}  {r['cover1']:>6.0%} {r['cover2']:>6.0%} {r['ignored']:>8}")  # fmt: skip
    print("MAE/RMSE in minutes; ratio = model / naive (below 1: the model is better); "
          "in 1sd/2sd: truth within the model's +-1/2 sd;\nunlearnt: ready events the model did not learn from "
          "(prep time 0: ready at placement)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--instances", nargs="*", type=Path, help="MDRP instance folders (default: the dev set)")
    parser.add_argument("--no-synthetic", action="store_true", help="MDRP instances only")
    parser.add_argument("--redis-url", help="a Redis to use (its database is flushed); default: an embedded one")
    ns = parser.parse_args(argv)
    folders = ns.instances if ns.instances is not None else sorted(p.parent for p in MDRP.glob("*/orders.txt"))
    streams: list[tuple[str, list[StreamOrder]]] = []
    for folder in folders:
        try:
            streams.append((folder.name, mdrp_orders(folder)))
        except ValueError as exc:
            parser.error(str(exc))
    if not ns.no_synthetic:
        streams.append(("city-lunch-law", lunch_orders(seed=7)))
        streams.append(("synthetic-effects", lunch_orders(seed=7, effects=True)))
    if not streams:
        parser.error("nothing to replay: no MDRP instance found and --no-synthetic given")
    if ns.redis_url:
        rows = asyncio.run(run(ns.redis_url, streams))
    else:
        with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), appendfsync="no") as store:
            rows = asyncio.run(run(store.url, streams))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
