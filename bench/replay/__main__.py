"""`python -m bench.replay --city helsinki|PATH.pbf --scenario lunch|short|FILE.json --policy greedy,hungarian
[--guidance none,recent,forecast] [--seed N] [--via in-process,grpc] [--speed 60] [--server HOST:PORT ...]`

Replays a scenario in a city through the real engine, once per policy on the same orders and riders,
and writes metrics, a report, plots and heat maps under --out. `--via in-process` (the default) drives
the engine in this process on a simulated clock; `--via grpc` drives a real server.py through its gRPC
API (started here on a scaled clock, or a running one with --server); `--via in-process,grpc` runs both
and puts them side by side.

`--guidance` replays the same orders once per idle-rider guidance mode: none (riders wait
where they are freed), recent (spread over the last 30 minutes of orders) or forecast (spread over the
demand forecast of the next slots; the forecast has first learnt 28 earlier days of the same period,
drawn from the scenario's demand model with seeds of their own). Through gRPC the mode is the server's
setting: each run starts its server with it, and for forecast writes that history into the served Redis
first (with --server, the running server is taken to have the mode given; forecast is refused there). Runs
are named policy/guidance when more than one mode is given. `--seed` replaces the scenario's seed (another draw of the same city).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
from pathlib import Path

from bench.replay.report import write_report
from bench.replay.scenario import Scenario
from bench.replay.simulator import ReplayResult, replay_city
from bench.replay.via_grpc import SharedClock, check_speed, replay_city_grpc
from dispatch.guidance import GUIDANCE_MODES
from dispatch.policies import make_policy
from routing_data.cities import resolve
from serving.app import redis_client
from serving.auth import PRIVATE_KEY_FILE, TokenIssuer
from serving.embedded_redis import EmbeddedRedis

VIAS = ("in-process", "grpc")
DEFAULT_GRPC_SPEED = 60.0


async def run(
    city: str, scenario: Scenario, policies: list[str], out: Path, redis_url: str, progress: bool, speed: float = 0.0,
    guidance: tuple[str, ...] = ("recent",),
) -> dict:  # fmt: skip
    """In-process replays of every policy (and guidance mode), reported side by side."""
    return write_report(await _in_process(city, scenario, policies, redis_url, progress, speed, guidance), out)


async def _in_process(city: str, scenario: Scenario, policies: list[str], redis_url: str, progress: bool,
                      speed: float, guidance: tuple[str, ...] = ("recent",)) -> dict[str, ReplayResult]:  # fmt: skip
    client = redis_client(redis_url)
    try:
        out = {}
        for p in policies:
            for g in guidance:
                name = p if len(guidance) == 1 else f"{p}/{g}"
                out[name] = await replay_city(city, scenario, p, client, progress=progress, speed=speed, guidance=g)
        return out
    finally:
        await client.aclose()


async def run_grpc(
    city: str, scenario: Scenario, policies: list[str], speed: float, progress: bool = False,
    server: str | None = None, server_clock: SharedClock | None = None, issuer: TokenIssuer | None = None,
    guidance: tuple[str, ...] = ("recent",),
) -> dict[str, ReplayResult]:  # fmt: skip
    """gRPC replays of every policy and guidance mode (a server started for each, unless one is given)."""
    out = {}
    for p in policies:
        for g in guidance:
            name = p if len(guidance) == 1 else f"{p}/{g}"
            out[name] = await replay_city_grpc(city, scenario, p, speed, server, server_clock, issuer, progress, g)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--city", default="helsinki")
    p.add_argument("--scenario", default="lunch")
    p.add_argument("--policy", default="greedy,hungarian,ortools")
    p.add_argument(
        "--guidance",
        default="recent",
        help="idle-rider guidance: none, recent, forecast, or several comma-separated (through gRPC: the server's "
        "setting; a server the replay starts gets it, and for forecast the history the in-process replay learns)",
    )
    p.add_argument("--seed", type=int, help="replaces the scenario's seed")
    p.add_argument("--out", type=Path, default=Path("out/replay"))
    p.add_argument("--via", default="in-process", help="in-process, grpc, or both: in-process,grpc")
    p.add_argument("--speed", type=float, help="times real time, e.g. 60; in process 0 (the default) = as fast as "
                   f"possible; through gRPC it must be positive (default {DEFAULT_GRPC_SPEED:g})")  # fmt: skip
    p.add_argument("--redis-url", help="in process: a Redis to use (its database is flushed); default: an embedded one")
    g = p.add_argument_group("--via grpc against a running server (default: the replay starts server.py itself)")
    g.add_argument(
        "--server", help="HOST:PORT of a server.py started with --clock-speed/--clock-start/--clock-anchor-ms"
    )
    g.add_argument("--clock-start", type=int, help="the server's --clock-start, in Unix ms")
    g.add_argument("--clock-anchor-ms", type=int, help="the server's --clock-anchor-ms")
    g.add_argument("--private-key", type=Path, default=Path(".tongcheng") / "keys" / PRIVATE_KEY_FILE,
                   help="signing key of the server's tokens (default: the dev key server.py made)")  # fmt: skip
    ns = p.parse_args(argv)
    policies = [x.strip() for x in ns.policy.split(",") if x.strip()]
    vias = [x.strip() for x in ns.via.split(",") if x.strip()]
    guidance = tuple(x.strip() for x in ns.guidance.split(",") if x.strip())
    try:
        scenario = Scenario.load(ns.scenario)
        if ns.seed is not None:
            scenario = dataclasses.replace(scenario, seed=ns.seed)
        if not guidance or set(guidance) - set(GUIDANCE_MODES):
            raise ValueError(f"--guidance takes {', '.join(GUIDANCE_MODES)}, comma-separated; got {ns.guidance!r}")
        if ns.server and "forecast" in guidance:
            raise ValueError("--guidance forecast with --server: the replay writes the forecast's history to the "
                             "Redis of a server it starts itself (leave out --server)")  # fmt: skip
        resolve(ns.city)
        for name in policies:
            make_policy(name)
        if not vias or set(vias) - set(VIAS):
            raise ValueError(f"--via takes {', '.join(VIAS)} or both, comma-separated; got {ns.via!r}")
        grpc_speed = ns.speed if ns.speed is not None else DEFAULT_GRPC_SPEED
        if "grpc" in vias:
            check_speed(grpc_speed, scenario.tick_s)
    except ValueError as exc:
        p.error(str(exc))
    if ns.speed is not None and ns.speed < 0:
        p.error("--speed must not be negative")
    server_clock = issuer = None
    if ns.server:
        if "grpc" not in vias:
            p.error("--server needs --via grpc")
        if ns.clock_start is None or ns.clock_anchor_ms is None:
            p.error("with --server, pass the clock the server was started with: --speed, --clock-start and "
                    "--clock-anchor-ms (server.py --clock-speed 60 --clock-start MS --clock-anchor-ms MS)")  # fmt: skip
        if not ns.private_key.is_file():
            p.error(f"no signing key at {ns.private_key}: pass the server's --private-key")
        server_clock = SharedClock(ns.clock_start, grpc_speed, ns.clock_anchor_ms)
        issuer = TokenIssuer(ns.private_key.read_bytes())
    name = f"{Path(ns.city).name.split('.')[0]}-{scenario.name}" + ("" if ns.seed is None else f"-seed{ns.seed}")
    out = ns.out / (name if vias == ["in-process"] else f"{name}-{'-'.join(vias)}")
    progress = sys.stderr.isatty()
    results: dict[str, ReplayResult] = {}
    try:
        if "in-process" in vias:
            speed = ns.speed or 0.0
            if ns.redis_url:
                got = asyncio.run(_in_process(ns.city, scenario, policies, ns.redis_url, progress, speed, guidance))
            else:
                with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), appendfsync="no") as store:
                    got = asyncio.run(_in_process(ns.city, scenario, policies, store.url, progress, speed, guidance))
            results.update(got if vias == ["in-process"] else {f"{k}-in-process": v for k, v in got.items()})
        if "grpc" in vias:
            got = asyncio.run(
                run_grpc(ns.city, scenario, policies, grpc_speed, progress, ns.server, server_clock, issuer, guidance)
            )
            results.update(got if vias == ["grpc"] else {f"{k}-grpc": v for k, v in got.items()})
    except ValueError as exc:  # e.g. no server at --server
        print(f"python -m bench.replay: error: {exc}", file=sys.stderr)
        return 2
    write_report(results, out)
    print((out / "report.txt").read_text())
    print(f"metrics, plots and heat maps under {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
