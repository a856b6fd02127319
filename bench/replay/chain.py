"""`python -m bench.replay.chain --city liechtenstein --scenario bench/replay/scenarios/lunch-chain-liechtenstein.json
[--seeds 7,8,9] [--policy ortools] [--out out/replay-chain]`

The chain replay of issue 21: the same orders of a lunch with a chain whose first branch is swamped (more
orders than its kitchen cooks), replayed in process with chain overflow off and on, per seed. It reports the
swamped branch's late share (late or never delivered, among the orders placed there), the chain's mean
click-to-door (every order placed at one of its branches, wherever it was served) and the city's, both ways.
Target: overflow lowers the swamped branch's late share with the chain's click-to-door no worse.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from bench.replay.scenario import Scenario
from bench.replay.simulator import OrderLog, ReplayResult, replay_city
from dispatch.policies import make_policy
from routing_data.cities import resolve
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis


def _late_pct(orders: list[OrderLog]) -> float:
    late = [o for o in orders if o.dropoff_s is None or o.dropoff_s > o.promised_s]
    return 100 * len(late) / len(orders) if orders else float("nan")


def _ctd_min(orders: list[OrderLog]) -> float:
    xs = [(o.dropoff_s - o.placed_s) / 60 for o in orders if o.dropoff_s is not None]
    return statistics.fmean(xs) if xs else float("nan")


def chain_metrics(r: ReplayResult) -> dict[str, float]:
    """The chain's figures of one replay (orders counted where they were placed)."""
    swamped = [o for o in r.orders if o.placed_at == r.chain[0]]
    chain = [o for o in r.orders if o.placed_at]
    return {
        "swamped_orders": len(swamped),
        "swamped_late_pct": _late_pct(swamped),
        "swamped_ctd_mean_min": _ctd_min(swamped),
        "chain_orders": len(chain),
        "chain_late_pct": _late_pct(chain),
        "chain_ctd_mean_min": _ctd_min(chain),
        "moved": r.moved,
        "city_ctd_mean_min": _ctd_min(r.orders),
        "city_late_pct": _late_pct(r.orders),
        "undelivered": sum(1 for o in r.orders if o.dropoff_s is None),
    }


async def run(city: str, scenario: Scenario, seeds: list[int], policy: str, redis_url: str,
              progress: bool) -> dict[int, dict[str, dict[str, float]]]:  # fmt: skip
    """{seed: {"off": metrics, "on": metrics}}, each pair on the same orders."""
    client = redis_client(redis_url)
    out: dict[int, dict[str, dict[str, float]]] = {}
    try:
        for seed in seeds:
            out[seed] = {}
            for mode in ("off", "on"):
                sc = replace(scenario, seed=seed, overflow=mode == "on")
                out[seed][mode] = chain_metrics(await replay_city(city, sc, policy, client, progress=progress))
    finally:
        await client.aclose()
    return out


def report(city: str, scenario: Scenario, policy: str, table: dict[int, dict[str, dict[str, float]]]) -> str:
    keys = list(next(iter(table.values()))["off"])
    lines = [f"Chain replay of {city}, scenario {scenario.name}, policy {policy}, load average "
             f"{os.getloadavg()[0]:.1f} at the end"]  # fmt: skip
    head = " ".join(f"{f'{seed} {mode}':>10}" for seed in table for mode in ("off", "on"))
    lines.append(f"{'seed, overflow':>22} {head}")
    for k in keys:
        lines.append(
            f"{k:>22} " + " ".join(f"{table[seed][mode][k]:>10.2f}" for seed in table for mode in ("off", "on"))
        )
    sw = [table[s]["on"]["swamped_late_pct"] - table[s]["off"]["swamped_late_pct"] for s in table]
    ch = [table[s]["on"]["chain_ctd_mean_min"] - table[s]["off"]["chain_ctd_mean_min"] for s in table]
    lines.append(f"\noverflow on - off, per seed: swamped late share {', '.join(f'{x:+.1f} pp' for x in sw)}; "
                 f"chain click-to-door {', '.join(f'{x:+.2f} min' for x in ch)}")  # fmt: skip
    met = all(x < 0 for x in sw) and all(x <= 0 for x in ch)
    lines.append(
        f"target (lower swamped late share, chain click-to-door no worse, every seed): {'met' if met else 'MISSED'}"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replay.chain", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--city", default="liechtenstein")
    p.add_argument("--scenario", default=str(Path(__file__).parent / "scenarios" / "lunch-chain-liechtenstein.json"))
    p.add_argument("--seeds", default="7,8,9")
    p.add_argument("--policy", default="ortools")
    p.add_argument("--duration-h", type=float, help="shorten the period (a smoke run)")
    p.add_argument("--out", type=Path, default=Path("out/replay-chain"))
    ns = p.parse_args(argv)
    try:
        scenario = Scenario.load(ns.scenario)
        if ns.duration_h is not None:
            scenario = replace(scenario, duration_h=ns.duration_h)
        if scenario.chain_branches < 2:
            raise ValueError(f"scenario {scenario.name} has no chain (chain_branches)")
        resolve(ns.city)
        make_policy(ns.policy)
        seeds = [int(x) for x in ns.seeds.split(",") if x.strip()]
    except ValueError as exc:
        p.error(str(exc))
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), appendfsync="no") as store:
        table = asyncio.run(run(ns.city, scenario, seeds, ns.policy, store.url, sys.stderr.isatty()))
    text = report(ns.city, scenario, ns.policy, table)
    ns.out.mkdir(parents=True, exist_ok=True)
    (ns.out / "metrics.json").write_text(json.dumps({str(k): v for k, v in table.items()}, indent=2))
    (ns.out / "report.txt").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
