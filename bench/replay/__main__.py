"""`python -m bench.replay --city helsinki|PATH.pbf --scenario lunch|short|FILE.json --policy greedy,hungarian`

Replays a scenario in a city through the real engine (in-process, simulated clock), once per policy on
the same orders and riders, and writes metrics, a report, plots and heat maps under --out.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from bench.replay.report import write_report
from bench.replay.scenario import Scenario
from bench.replay.simulator import replay_city
from dispatch.policies import make_policy
from routing_data.cities import resolve
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis


async def run(
    city: str, scenario: Scenario, policies: list[str], out: Path, redis_url: str, progress: bool, speed: float = 0.0
) -> dict:
    client = redis_client(redis_url)
    try:
        results = {p: await replay_city(city, scenario, p, client, progress=progress, speed=speed) for p in policies}
    finally:
        await client.aclose()
    return write_report(results, out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--city", default="helsinki")
    p.add_argument("--scenario", default="lunch")
    p.add_argument("--policy", default="greedy,hungarian")
    p.add_argument("--out", type=Path, default=Path("out/replay"))
    p.add_argument("--speed", type=float, default=0.0, help="times real time, e.g. 60; 0 = as fast as possible")
    p.add_argument("--redis-url", help="a Redis to use (its database is flushed); default: an embedded one")
    ns = p.parse_args(argv)
    policies = [x.strip() for x in ns.policy.split(",") if x.strip()]
    try:
        scenario = Scenario.load(ns.scenario)
        resolve(ns.city)
        for name in policies:
            make_policy(name)
    except ValueError as exc:
        p.error(str(exc))
    if ns.speed < 0:
        p.error("--speed must not be negative")
    out = ns.out / f"{Path(ns.city).name.split('.')[0]}-{scenario.name}"
    if ns.redis_url:
        table = asyncio.run(run(ns.city, scenario, policies, out, ns.redis_url, sys.stderr.isatty(), ns.speed))
    else:
        with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), appendfsync="no") as store:
            table = asyncio.run(run(ns.city, scenario, policies, out, store.url, sys.stderr.isatty(), ns.speed))
    print((out / "report.txt").read_text())
    print(f"metrics, plots and heat maps under {out}")
    del table
    return 0


if __name__ == "__main__":
    sys.exit(main())
