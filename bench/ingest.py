"""Benchmark: position ingest through StreamRiderPositions into Redis, and nearby-query latency.

`python -m bench.ingest [--riders 10000 --rounds 5 --streams 8 --repeats 3]`

Runs in one go, on this machine:
  1. baseline: a bare grpc.aio server that only counts stream messages (bench._bare_server);
  2. the real server.py (auth, validation, H3, Lua into a real redis-server), same client, same load;
each with 1 and with 10 fixes per stream message (rider apps buffer fixes and upload every few
seconds). Then the nearby query p50/p99 with the 10,000 riders in Redis. Figures are medians of the
repeats; ratios are real / baseline in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from bench._server import ROOT, ServerProcess
from core.geo import City, LatLng
from dispatch.rider_index import RiderIndex
from serving.app import redis_client
from serving.auth import Role
from serving.embedded_redis import EmbeddedRedis
from tongcheng.dispatch.v1 import dispatch_pb2 as pb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc

CITY = City("helsinki", LatLng(60.1699, 24.9384), 12_000.0)  # the index benchmark needs no road graph
AREA_RADIUS_M = 8_000.0


def rider_positions(n: int, seed: int) -> list[tuple[str, float, float]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        r = AREA_RADIUS_M * math.sqrt(rng.random())
        a = rng.uniform(0, 2 * math.pi)
        lat = CITY.center.lat + r * math.cos(a) / 111_320
        lng = CITY.center.lng + r * math.sin(a) / (111_320 * math.cos(math.radians(CITY.center.lat)))
        out.append((f"rider-{i:05d}", lat, lng))
    return out


def build_messages(
    riders: list[tuple[str, float, float]], rounds: int, per_message: int, streams: int, start_ms: int
) -> list[list[pb.StreamRiderPositionsRequest]]:
    """Per stream, its messages: each rider reports `rounds` fixes, newer each round, ~5 m apart."""
    per_stream: list[list[pb.StreamRiderPositionsRequest]] = [[] for _ in range(streams)]
    for s in range(streams):
        mine = riders[s::streams]
        pending: list[pb.PositionFix] = []
        for rnd in range(rounds):
            for rider_id, lat, lng in mine:
                fix = pb.PositionFix(rider_id=rider_id, position=pb.LatLng(lat=lat + rnd * 4.5e-5, lng=lng),
                                     speed_mps=4.5, accuracy_m=6.0, availability=pb.RIDER_AVAILABILITY_AVAILABLE)  # fmt: skip
                fix.recorded_at.FromMilliseconds(start_ms + rnd * 1000)
                pending.append(fix)
                if len(pending) == per_message:
                    per_stream[s].append(pb.StreamRiderPositionsRequest(fixes=pending))
                    pending = []
        if pending:
            per_stream[s].append(pb.StreamRiderPositionsRequest(fixes=pending))
    return per_stream


async def drive(
    address: str, token: str | None, messages: list[list[pb.StreamRiderPositionsRequest]]
) -> tuple[float, int]:
    """Sends every stream's messages concurrently; returns (seconds, fixes the server accepted)."""
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    async with grpc.aio.insecure_channel(address) as channel:
        await channel.channel_ready()
        stub = dispatch_pb2_grpc.DispatchServiceStub(channel)
        started = time.perf_counter()
        replies = await asyncio.gather(
            *(stub.StreamRiderPositions(iter(msgs), metadata=metadata, timeout=600) for msgs in messages)
        )
        elapsed = time.perf_counter() - started
    return elapsed, sum(r.accepted_count for r in replies)


def start_bare(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    ready = tmp / "bare-port"
    proc = subprocess.Popen([sys.executable, "-m", "bench._bare_server", "--ready-file", str(ready)], cwd=ROOT)
    deadline = time.monotonic() + 30
    while not (ready.exists() and ready.read_text()):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("bare server did not start")
        time.sleep(0.05)
    return proc, f"127.0.0.1:{ready.read_text()}"


async def nearby_latency(redis_url: str, queries: int, seed: int) -> tuple[float, float, float, int]:
    client = redis_client(redis_url)
    index = RiderIndex(client, CITY.name)
    rng = random.Random(seed)
    now = time.time_ns() // 1_000_000
    samples = []
    found = 0
    for i in range(queries + 50):
        r = AREA_RADIUS_M * 0.9 * math.sqrt(rng.random())
        a = rng.uniform(0, 2 * math.pi)
        p = LatLng(
            CITY.center.lat + r * math.cos(a) / 111_320,
            CITY.center.lng + r * math.sin(a) / (111_320 * math.cos(math.radians(CITY.center.lat))),
        )
        t0 = time.perf_counter()
        result = await index.nearby(p, now, limit=10, max_radius_m=3_000)
        if i >= 50:  # warm-up excluded
            samples.append((time.perf_counter() - t0) * 1000)
            found += len(result)
    await client.aclose()
    q = statistics.quantiles(samples, n=100)
    return statistics.median(samples), q[98], max(samples), found // queries


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--riders", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=6, help="fixes per rider per run")
    p.add_argument("--streams", type=int, default=8, help="concurrent client streams (rider gateways)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--queries", type=int, default=2_000)
    ns = p.parse_args(argv)

    riders = rider_positions(ns.riders, seed=1)
    results: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        bare, bare_address = start_bare(tmp)
        store = EmbeddedRedis(tmp / "redis", appendfsync="everysec").start()
        server = ServerProcess(tmp / "server", "--redis-url", store.url, "--log-level", "warning").start()
        token = server.token(Role.OPS)
        try:
            clock_ms = time.time_ns() // 1_000_000 - 600_000
            for repeat in range(ns.repeats):
                for per_message in (1, 10):
                    for name, address, tok in (
                        ("bare grpc.aio", bare_address, None),
                        ("tongcheng", server.address, token),
                    ):
                        # Fresh, newer timestamps each run so that no fix is stale.
                        clock_ms += ns.rounds * 1000 + 1000
                        msgs = build_messages(riders, ns.rounds, per_message, ns.streams, clock_ms)
                        elapsed, accepted = asyncio.run(drive(address, tok, msgs))
                        total = ns.riders * ns.rounds
                        if accepted != total:
                            raise SystemExit(f"{name}: {accepted} of {total} fixes accepted")
                        rate = total / elapsed
                        results.setdefault((name, per_message), []).append(rate)
                        print(
                            f"  run {repeat + 1}: {name:14s} {per_message:2d} fix/msg  {rate:9,.0f} fixes/s", flush=True
                        )
            p50, p99, worst, found = asyncio.run(nearby_latency(store.url, ns.queries, seed=2))
        finally:
            code = server.stop()
            bare.terminate()
            bare.wait()
            store.stop()
    print(f"\nPosition ingest, {ns.riders:,} riders, {ns.streams} streams, median of {ns.repeats} runs (fixes/s):")
    print(f"{'fixes/msg':>10} {'bare grpc.aio':>15} {'tongcheng':>12} {'ratio':>7}")
    for per_message in (1, 10):
        bare_rate = statistics.median(results[("bare grpc.aio", per_message)])
        real_rate = statistics.median(results[("tongcheng", per_message)])
        print(f"{per_message:>10} {bare_rate:>15,.0f} {real_rate:>12,.0f} {real_rate / bare_rate:>7.2f}")
    print(
        f"\nNearby query ({ns.riders:,} riders within {AREA_RADIUS_M / 1000:.0f} km, limit 10, radius 3 km, "
        f"{ns.queries} queries): p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {worst:.2f} ms, {found} riders per answer"
    )
    print(f"server exit code after SIGTERM: {code}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
