"""`python -m bench.forecast [--city liechtenstein] [--weeks 6] [--burn-in-weeks 2] [--seed 11]`

The demand forecast's error per cell and 15 minutes against two naive forecasts, measured in the same run:
"same slot last week" (the cell's count 672 slots earlier) and "last hour" (the cell's orders in the
previous four slots, divided by four).

Demand: `bench.replay.demand.WeeklyDemand` over the city's merchants (the city replay's merchants, drawn
from the extract with the replay's code): daily and weekly shape, popularity, meal tilts, day noise, rainy
spells and level shifts, none of it known to the forecast. The forecast learns online through its real
Redis store: at the start of each slot it forecasts that slot from the orders before it, then the slot's
orders are recorded. Errors are counted after the burn-in weeks only (strictly out of sample: no forecast
sees an order of its own slot or later). Cells: every cell with an order in the whole run, at the
forecast's resolution (8) and at resolution 7 (sums of the children).

Reports MAE of the forecast's expected orders (its mean: what pricing and guidance use) and of its
median (the Poisson median of that mean: the point forecast MAE rewards), and their ratios to each naive
forecast. "last hour" is measured both as the mean rate and as its Poisson median, so that each naive
forecast gets its own best form under MAE too.

Beside the forecast, two oracles that know what no forecast sees, as floors: "oracle", the rates the orders
were drawn from (every factor of the day included; its Poisson median is the least MAE any forecast can
reach, the rest is the counts' Poisson noise), and "seasonal oracle", the rates without that day's noise,
merchant-day noise and spells (their expectations instead): what a forecast that knew the weekly shape,
every merchant's popularity and tilt and every level shift, but nothing of the day, would reach.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import h3
import numpy as np
from scipy.stats import poisson

from bench.replay.city import draw_merchants, places
from bench.replay.demand import BIN_S, WeeklyDemand
from forecast import DemandForecast, ForecastConfig, PlacedOrder
from forecast.slots import SLOT_MS, SLOTS_PER_WEEK
from routing_data.cities import load_graph
from routing_data.oracle import RoadNetworkOracle
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis


def city_merchants(city: str, seed: int) -> tuple[list, str]:
    """The replay's merchants of the city (positions on the road graph) and the city's time zone."""
    import random

    source, graph = load_graph(city)
    oracle = RoadNetworkOracle(graph, timezone=source.timezone)
    found, _ = places(source.pbf, oracle)
    oracle.close()
    return draw_merchants(found, random.Random(seed), (8.0, 18.0)), source.timezone


async def measure(city: str, weeks: int, burn_in: int, seed: int, redis_url: str, config: ForecastConfig) -> dict:
    merchants, tz_name = city_merchants(city, seed)
    tz = ZoneInfo(tz_name)
    drawn = WeeklyDemand().draw(len(merchants), weeks, seed)
    demand = drawn.orders
    monday = dt.datetime(2026, 4, 6, tzinfo=tz)  # weeks without a DST change after it (to mid-October)
    t0_ms = int(monday.timestamp() * 1000)
    slots = weeks * SLOTS_PER_WEEK
    cell_of = [h3.latlng_to_cell(m.position.lat, m.position.lng, config.resolution) for m in merchants]
    cells = sorted(set(cell_of))
    index = {c: k for k, c in enumerate(cells)}
    actual = np.zeros((len(cells), slots))
    by_slot: dict[int, list[PlacedOrder]] = defaultdict(list)
    for n, (s, m) in enumerate(demand):
        placed = t0_ms + round(s * 1000)
        k = (placed - t0_ms) // SLOT_MS
        actual[index[cell_of[m]], k] += 1
        by_slot[k].append(PlacedOrder(f"o{n}", merchants[m].id, merchants[m].position, placed))
    client = redis_client(redis_url)
    await client.flushdb()
    fc = DemandForecast(client, "bench", config, tz)
    predicted = np.zeros_like(actual)
    first = burn_in * SLOTS_PER_WEEK
    started = time.perf_counter()
    read_s = []
    for k in range(slots):
        at = t0_ms + k * SLOT_MS
        if k >= first:
            t = time.perf_counter()
            for f in await fc.cells(at, 1):
                predicted[index[f.unit], k] = f.expected[0]
            read_s.append(time.perf_counter() - t)
        await fc.record(by_slot.get(k, []), at + SLOT_MS)
    await client.aclose()
    # The oracles: the rates the orders were drawn from, summed per cell and slot (bins of BIN_S seconds).
    per_slot = SLOT_MS // 1000 // BIN_S
    true_rate, seasonal_rate = np.zeros_like(actual), np.zeros_like(actual)
    for m, c in enumerate(cell_of):
        true_rate[index[c]] += drawn.rate[m].reshape(slots, per_slot).sum(axis=1)
        seasonal_rate[index[c]] += drawn.seasonal_rate[m].reshape(slots, per_slot).sum(axis=1)
    learn_s = time.perf_counter() - started
    out = {"orders": len(demand), "cells_res8": len(cells), "read_ms_p50": 1000 * float(np.median(read_s)),
           "run_s": learn_s}  # fmt: skip
    for res in (config.resolution, config.resolution - 1):
        parents = [h3.cell_to_parent(c, res) for c in cells]
        groups = sorted(set(parents))
        g_index = np.array([groups.index(p) for p in parents])
        a = np.zeros((len(groups), slots))
        f = np.zeros_like(a)
        np.add.at(a, g_index, actual)
        np.add.at(f, g_index, predicted)
        oracle, seasonal = np.zeros_like(a), np.zeros_like(a)
        np.add.at(oracle, g_index, true_rate)
        np.add.at(seasonal, g_index, seasonal_rate)
        window = slice(first, slots)
        last_week = np.zeros_like(a)
        last_week[:, SLOTS_PER_WEEK:] = a[:, :-SLOTS_PER_WEEK]
        last_hour = np.zeros_like(a)
        for lag in range(1, 5):
            last_hour[:, lag:] += a[:, :-lag] / 4

        def mae(x: np.ndarray, a: np.ndarray = a, window: slice = window) -> float:
            return float(np.abs(x[:, window] - a[:, window]).mean())

        r = out[f"res{res}"] = {
            "cells": len(groups), "mean_orders_per_cell_slot": float(a[:, window].mean()),
            "mae_same_slot_last_week": mae(last_week), "mae_last_hour": mae(last_hour),
            "mae_last_hour_median": mae(_poisson_median(last_hour)),
        }  # fmt: skip
        for name, mean in (("forecast", f), ("oracle", oracle), ("seasonal_oracle", seasonal)):
            r[f"mae_{name}_mean"] = mae(mean)
            r[f"mae_{name}_median"] = mae(_poisson_median(mean))
            for base in BASELINES:
                for kind in ("mean", "median"):
                    key = "ratio" if name == "forecast" else f"ratio_{name}"
                    r[f"{key}_{kind}_vs_{base}"] = r[f"mae_{name}_{kind}"] / r[f"mae_{base}"]
    return out


BASELINES = ("same_slot_last_week", "last_hour", "last_hour_median")


def _poisson_median(mean: np.ndarray) -> np.ndarray:
    return poisson.median(mean).astype(float) if mean.size else mean


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.forecast", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--city", default="liechtenstein")
    p.add_argument("--weeks", type=int, default=6)
    p.add_argument("--burn-in-weeks", type=int, default=2)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--resolution", type=int, default=ForecastConfig().resolution)
    p.add_argument("--alpha", type=float, default=ForecastConfig().alpha)
    ns = p.parse_args(argv)
    if not 1 <= ns.burn_in_weeks < ns.weeks:
        p.error("--burn-in-weeks must be at least 1 and fewer than --weeks")
    config = ForecastConfig(resolution=ns.resolution, alpha=ns.alpha)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), appendfsync="no") as store:
        got = asyncio.run(measure(ns.city, ns.weeks, ns.burn_in_weeks, ns.seed, store.url, config))
    print(f"{ns.city}: {got['orders']:,} orders over {ns.weeks} weeks, errors over the last "
          f"{ns.weeks - ns.burn_in_weeks} (forecast read p50 {got['read_ms_p50']:.1f} ms, run {got['run_s']:.0f} s)")  # fmt: skip
    for res in (config.resolution, config.resolution - 1):
        r = got[f"res{res}"]
        print(f"res {res}: {r['cells']} cells, {r['mean_orders_per_cell_slot']:.3f} orders per cell and slot")
        print(f"  MAE  same slot last week {r['mae_same_slot_last_week']:.4f}  last hour {r['mae_last_hour']:.4f}  "
              f"(its median {r['mae_last_hour_median']:.4f})")  # fmt: skip
        print(f"  {'':<28}{'MAE':>15}  " + "  ".join(f"{'vs ' + b:>24}" for b in BASELINES))
        for name, key in (
            ("forecast", "ratio"),
            ("oracle", "ratio_oracle"),
            ("seasonal_oracle", "ratio_seasonal_oracle"),
        ):
            for kind in ("mean", "median"):
                ratios = "  ".join(f"{r[f'{key}_{kind}_vs_{b}']:>24.3f}" for b in BASELINES)
                print(f"  {name + ' ' + kind:<28}{r[f'mae_{name}_{kind}']:>15.4f}  {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
