"""Coupon benchmarks: redemptions (核销) through gRPC on one server process, and offline code verification.

`python -m bench.coupons [--redemptions 6000 --concurrency 32]`. Starts `server.py --services coupons
--intake-processes 0` (one process, its embedded Redis with fsync every second), claims the coupons, then
redeems each once: with `--concurrency` calls in flight (throughput, p50/p99) and with one call in flight
(latency). The baseline, measured in the same run on the same server and client, is `grpc.health.v1`
Check at the same concurrency: the transport's own ceiling. Offline verification runs on one core against
a bare HMAC-SHA256 of the same bytes. The issue's targets: >= 2,000 redemptions/s with p99 <= 20 ms, p99
<= 5 ms with one call in flight, >= 50,000 codes/s verified offline.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._server import ServerProcess
from coupons.codes import make_code, normalize, verify
from serving.auth import Role
from serving.timestamps import ms_to_ts
from tongcheng.coupons.v1 import coupons_pb2 as pb
from tongcheng.coupons.v1 import coupons_pb2_grpc


def pct(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100)[q - 1] if len(xs) > 1 else xs[0]


async def timed(calls: list[Callable[[], Awaitable[object]]], concurrency: int) -> tuple[float, list[float]]:
    """Runs the calls with `concurrency` in flight; (calls per second, latencies in ms)."""
    latencies: list[float] = []
    queue = iter(calls)

    async def worker() -> None:
        for call in queue:
            started = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(calls) / (time.perf_counter() - started), latencies


def offline_rate(n: int = 100_000) -> tuple[float, float]:
    """(codes/s normalized and verified, bare HMAC-SHA256/s) on this core."""
    key = os.urandom(32)
    codes = [make_code(key, 5, i) for i in range(n)]
    started = time.perf_counter()
    ok = sum(verify(normalize(c) or "", key) for c in codes)
    rate = n / (time.perf_counter() - started)
    assert ok == n
    bodies = [c[:10].encode() for c in codes]
    started = time.perf_counter()
    for b in bodies:
        hmac.new(key, b, hashlib.sha256).digest()
    return rate, n / (time.perf_counter() - started)


async def run(args: argparse.Namespace) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-coupons-"))
    server = ServerProcess(data_dir, "--services", "coupons", "--intake-processes", "0")
    server.start()
    try:
        issuer = server.issuer()
        ops = (("authorization", f"Bearer {issuer.mint(Role.OPS)}"),)
        counter = (("authorization", f"Bearer {issuer.mint(Role.MERCHANT, 'm1')}"),)
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = coupons_pb2_grpc.CouponServiceStub(channel)
            health = health_pb2_grpc.HealthStub(channel)
            now_ms = time.time_ns() // 1_000_000
            n = args.redemptions + args.single
            campaign = pb.Campaign(
                campaign_id="bench", merchant_id="m1", kind=pb.DISCOUNT_KIND_AMOUNT_OFF, amount_off_fen=500,
                transaction_minimum_fen=1_000, max_coupons=n, valid_from=ms_to_ts(now_ms - 60_000),
                valid_until=ms_to_ts(now_ms + 86_400_000),
            )  # fmt: skip
            await stub.CreateCampaign(pb.CreateCampaignRequest(campaign=campaign), metadata=ops)
            codes: list[str] = []

            def claim(i: int) -> Callable[[], Awaitable[object]]:
                async def call() -> None:
                    reply = await stub.ClaimCoupon(
                        pb.ClaimCouponRequest(campaign_id="bench", member_id=f"u{i}", idempotency_key=f"k{i}"),
                        metadata=ops,
                    )
                    codes.append(reply.coupon.code)

                return call

            claim_rate, _ = await timed([claim(i) for i in range(n)], args.concurrency)

            def redeem(i: int) -> Callable[[], Awaitable[object]]:
                return lambda: stub.RedeemCoupon(
                    pb.RedeemCouponRequest(code=codes[i], merchant_id="m1", order_id=f"o{i}", order_amount_fen=3_000,
                                           request_no=f"q{i}"),
                    metadata=counter,
                )  # fmt: skip

            def check() -> Awaitable[object]:
                return health.Check(health_pb2.HealthCheckRequest())

            base_rate, base_lat = await timed([check] * args.redemptions, args.concurrency)
            rate, lat = await timed([redeem(i) for i in range(args.redemptions)], args.concurrency)
            _, single = await timed([redeem(i) for i in range(args.redemptions, n)], 1)
            got = await stub.GetCampaign(pb.GetCampaignRequest(campaign_id="bench"), metadata=ops)
        offline, bare = offline_rate()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"claims            {claim_rate:8.0f}/s ({n} coupons, {args.concurrency} in flight)")
    print(
        f"Health/Check      {base_rate:8.0f}/s  p50 {pct(base_lat, 50):5.1f} ms  p99 {pct(base_lat, 99):5.1f} ms  (baseline)"
    )
    print(
        f"RedeemCoupon      {rate:8.0f}/s  p50 {pct(lat, 50):5.1f} ms  p99 {pct(lat, 99):5.1f} ms  "
        f"({rate / base_rate:.2f} x the baseline; target >= 2,000/s, p99 <= 20 ms)"
    )
    print(f"one in flight     p50 {pct(single, 50):5.2f} ms  p99 {pct(single, 99):5.2f} ms  (target p99 <= 5 ms)")
    print(f"redeemed          {got.usage.redeemed} of {n} (each exactly once)")
    print(
        f"offline verify    {offline:8.0f} codes/s on one core ({offline / bare:.2f} x bare HMAC-SHA256; target >= 50,000)"
    )
    return 0 if got.usage.redeemed == n else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--redemptions", type=int, default=6_000)
    p.add_argument("--single", type=int, default=500, help="redemptions with one call in flight")
    p.add_argument("--concurrency", type=int, default=32)
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
