"""`python -m bench.mdrp INSTANCE_DIR --policy greedy,hungarian --out DIR [--prep known|estimated|forecast
[--forecast-sd 8]] [--variant t75,drop2 --seed 3]`

Replays an MDRP instance through the engine once per policy, writes each policy's three solution
files, per-order lower bounds and metrics under DIR/<policy>/, checks every solution for feasibility
(failing loudly on any violation) and prints the policies side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from bench._report import tick_metrics
from bench.mdrp.checker import check_feasible
from bench.mdrp.instance import Instance, load_instance
from bench.mdrp.metrics import solution_metrics
from bench.mdrp.plots import plot_replays
from bench.mdrp.runner import PREP_MODES, check_forecast_sd, replay
from bench.mdrp.solution import Solution, write_solution
from bench.mdrp.variants import vary
from dispatch.policies import make_policy
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis

SHOWN = [
    ("delivered", "{:.0f}"), ("undelivered_pct", "{:.2f}"), ("click_to_door_mean", "{:.2f}"),
    ("click_to_door_p90", "{:.1f}"), ("lower_bound_mean", "{:.2f}"), ("gap_to_lower_bound", "{:.2%}"),
    ("ready_to_pickup_mean", "{:.2f}"), ("ready_to_pickup_unreachable_mean", "{:.2f}"), ("ready_to_pickup_left_late_mean", "{:.2f}"), ("ready_to_pickup_p90", "{:.1f}"), ("click_to_door_overage_mean", "{:.2f}"),
    ("courier_utilisation", "{:.1%}"), ("orders_per_courier_hour", "{:.2f}"), ("bundles_per_courier_hour", "{:.2f}"),
    ("orders_per_bundle", "{:.2f}"), ("cost_per_order", "{:.2f}"), ("solve_ms_p50", "{:.1f}"),
    ("solve_ms_p99", "{:.1f}"), ("orders_per_tick_mean", "{:.1f}"), ("wall_s", "{:.1f}"),
]  # fmt: skip


async def run(
    instance: Path | Instance,
    policies: list[str],
    out: Path,
    prep: str,
    redis_url: str,
    forecast_sd_min: float = 8.0,
    seed: int = 1,
) -> dict[str, dict]:
    """Replays an instance (or its folder) once per policy; each policy's metrics, the solutions written."""
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    client = redis_client(redis_url)
    results = {}
    runs = {}
    try:
        for policy in policies:
            solution, stats = await replay(instance, client, policy, prep, forecast_sd_min=forecast_sd_min, seed=seed)
            runs[policy] = (solution, stats)
            folder = out / policy
            write_solution(folder, solution)
            check_feasible(instance, solution)  # raises, listing every violation
            metrics = solution_metrics(instance, solution)
            metrics.update(
                **tick_metrics(stats.solve_ms, stats.pending_per_tick),
                ticks=stats.ticks, offers_refused=stats.offers_refused, wall_s=stats.wall_s,
                instance=instance.name, policy=policy, prep=prep, seed=seed,
            )  # fmt: skip
            if prep == "forecast":
                metrics["forecast_sd_min"] = forecast_sd_min
            write_reports(folder, instance, solution, metrics)
            results[policy] = metrics
    finally:
        await client.aclose()
    plot_replays(instance, runs, out)
    return results


def write_reports(folder: Path, instance: Instance, solution: Solution, metrics: dict) -> None:
    """metrics.json and lower_bounds.txt (per order: its bound, its click-to-door, the gap)."""
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
    lines = ["order lower_bound click_to_door gap"]
    for o in solution.orders:
        lb = instance.lower_bound_min(o.order)
        if o.dropoff_min is None:
            lines.append(f"{o.order} {lb:g} nan nan")
        else:
            ctd = o.dropoff_min - o.placement_min
            lines.append(f"{o.order} {lb:g} {ctd:g} {ctd / lb - 1:.4f}")
    (folder / "lower_bounds.txt").write_text("\n".join(lines) + "\n")


def print_side_by_side(name: str, results: dict[str, dict]) -> None:
    policies = list(results)
    print(f"\n{name}: feasible (checked) — side by side")
    print(f"{'metric':>32} " + " ".join(f"{p:>12}" for p in policies))
    for key, fmt in SHOWN:
        print(f"{key:>32} " + " ".join(f"{fmt.format(results[p][key]):>12}" for p in policies))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mdrp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("instance", type=Path)
    parser.add_argument("--policy", default="greedy,hungarian,ortools", help="comma list of policies")
    parser.add_argument("--out", type=Path, default=Path("out/mdrp"))
    parser.add_argument("--prep", choices=PREP_MODES, default="known",
                        help="ready times: known exactly, estimated by the prep-time model, or forecast by the "
                             "restaurant with normal errors of --forecast-sd")  # fmt: skip
    parser.add_argument("--forecast-sd", type=float, default=8.0, help="minutes (with --prep forecast)")
    parser.add_argument("--redis-url", help="a Redis to use (its database is flushed); default: an embedded one")
    parser.add_argument("--variant", default="", help="comma list of family factors to apply (bench/mdrp/variants.py): "
                        "o50, r50, t75, t133, p125, p80, dropN")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1, help="seed of the variant's random factors (and forecasts)")
    ns = parser.parse_args(argv)
    policies = [p.strip() for p in ns.policy.split(",") if p.strip()]
    try:
        for name in policies:
            make_policy(name)
        instance = vary(load_instance(ns.instance), [f.strip() for f in ns.variant.split(",") if f.strip()], ns.seed)
    except ValueError as exc:
        parser.error(str(exc))
    if not policies:
        parser.error("--policy names no policy")
    try:
        check_forecast_sd(ns.forecast_sd)
    except ValueError as exc:
        parser.error(str(exc))
    out = ns.out / instance.name
    if ns.redis_url:
        results = asyncio.run(run(instance, policies, out, ns.prep, ns.redis_url, ns.forecast_sd, ns.seed))
    else:
        with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), appendfsync="no") as store:
            results = asyncio.run(run(instance, policies, out, ns.prep, store.url, ns.forecast_sd, ns.seed))
    print_side_by_side(instance.name, results)
    print(f"\nsolutions, lower bounds and metrics under {out}/<policy>/; plots: {out}/*.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
