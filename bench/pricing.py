"""Issue 21's speed targets through gRPC on one server process: QuoteDelivery p99 <= 5 ms with one call in
flight, and "which merchants deliver here" (FindMerchantsDelivering) p99 <= 2 ms with 5,000 merchants.

`python -m bench.pricing [--calls 2000 --merchants 5000 --city-km 10 --radius-m 3000 --page-size 0]`. Starts `server.py
--services merchants,pricing --intake-processes 0` (one process, embedded Redis, Helsinki's road graph for
quotes) and a client on the same machine. Quotes go from a Helsinki merchant with a 1-km area to drop-offs
inside it (a road route each). The lookup city is synthetic: `--merchants` merchants spread uniformly over
a disc of `--city-km` around Shanghai's People's Square, each with a `--radius-m` area (the default 3 km),
looked up at random places of the disc: the first page of open merchants (`--page-size`, 0: the server's
default of 50; ~360 merchants cover a place with the defaults), then every page of one place in ten. Each figure is printed beside a Health/Check baseline measured in
the same run, since this shared 2-core machine's load moves both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._server import ServerProcess
from bench.supply import pct, timed
from tongcheng.merchants.v1 import merchants_pb2 as mpb
from tongcheng.merchants.v1 import merchants_pb2_grpc
from tongcheng.pricing.v1 import pricing_pb2 as pb
from tongcheng.pricing.v1 import pricing_pb2_grpc

HELSINKI = (60.1710, 24.9453)
SHANGHAI = (31.2304, 121.4737)


def place_in_disc(rng: random.Random, center: tuple[float, float], radius_m: float) -> tuple[float, float]:
    r = radius_m * math.sqrt(rng.random())
    a = rng.random() * 2 * math.pi
    dlat = r * math.cos(a) / 111_320
    dlng = r * math.sin(a) / (111_320 * math.cos(math.radians(center[0])))
    return center[0] + dlat, center[1] + dlng


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(
            Path(tmp), "--services", "merchants,pricing", "--intake-processes", "0", "--auth-disabled"
        ).start(timeout_s=120)
        try:
            async with grpc.aio.insecure_channel(server.address) as channel:
                await measure(channel, args)
        finally:
            server.stop()
    return 0


async def upsert(m: merchants_pb2_grpc.MerchantServiceStub, merchant_id: str, at: tuple[float, float], tz: str) -> None:
    merchant = mpb.Merchant(merchant_id=merchant_id, name=merchant_id, category=mpb.MERCHANT_CATEGORY_RESTAURANT,
                            location=mpb.LatLng(lat=at[0], lng=at[1]), time_zone=tz)  # fmt: skip
    await m.UpsertMerchant(mpb.UpsertMerchantRequest(merchant=merchant))


async def measure(channel: grpc.aio.Channel, args: argparse.Namespace) -> None:
    m = merchants_pb2_grpc.MerchantServiceStub(channel)
    p = pricing_pb2_grpc.PricingServiceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)
    rng = random.Random(args.seed)

    baseline = await timed(args.calls, lambda i: health.Check(health_pb2.HealthCheckRequest()))
    print(f"baseline          Health/Check p50 {pct(baseline, 50):.2f} ms, p99 {pct(baseline, 99):.2f} ms")

    await upsert(m, "noodles", HELSINKI, "Europe/Helsinki")
    await p.SetDeliveryArea(pb.SetDeliveryAreaRequest(merchant_id="noodles", radius_m=1_000))
    doors = [place_in_disc(rng, HELSINKI, 900) for _ in range(200)]
    requests = [
        pb.QuoteDeliveryRequest(merchant_id="noodles", dropoff=pb.LatLng(lat=d[0], lng=d[1]), item_count=3)
        for d in doors
    ]
    ok = [r for r in requests if await _quotable(p, r)]  # doors whose cell lies in the area
    lat = await timed(args.calls, lambda i: p.QuoteDelivery(ok[i % len(ok)]))
    print(
        f"QuoteDelivery     p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms, one in flight "
        f"(target p99 <= 5 ms; {pct(lat, 99) / pct(baseline, 99):.1f}x the baseline's p99)"
    )

    started = time.perf_counter()
    for i in range(args.merchants):
        await upsert(m, f"s{i}", place_in_disc(rng, SHANGHAI, args.city_km * 1000), "Asia/Shanghai")
    sem = asyncio.Semaphore(4)

    async def set_area(i: int) -> None:
        async with sem:
            await p.SetDeliveryArea(pb.SetDeliveryAreaRequest(merchant_id=f"s{i}", radius_m=args.radius_m))

    await asyncio.gather(*(set_area(i) for i in range(args.merchants)))
    print(f"set-up            {args.merchants:,} merchants with {args.radius_m:.0f}-m areas in "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    places = [place_in_disc(rng, SHANGHAI, args.city_km * 1000) for _ in range(args.calls)]
    found: list[int] = []
    tokens: list[str] = []

    def lookup_request(i: int, token: str = "") -> pb.FindMerchantsDeliveringRequest:
        at = places[i]
        return pb.FindMerchantsDeliveringRequest(
            location=pb.LatLng(lat=at[0], lng=at[1]), page_size=args.page_size, page_token=token
        )

    async def lookup(i: int) -> None:
        reply = await p.FindMerchantsDelivering(lookup_request(i))
        found.append(len(reply.merchant_ids))
        tokens.append(reply.next_page_token)

    lat = await timed(args.calls, lookup)
    print(
        f"which deliver     p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms with {args.merchants:,} merchants, "
        f"first page of {args.page_size or 50}: {statistics.mean(found):.0f} listed on average, "
        f"{sum(map(bool, tokens)) / len(tokens):.0%} with a next page (target p99 <= 2 ms; "
        f"{pct(lat, 99) / pct(baseline, 99):.1f}x the baseline's p99)"
    )
    # Every page of one place in ten: the whole list, and what a page after the first costs.
    totals: list[int] = []
    later: list[float] = []
    for i in range(0, args.calls, 10):
        token, total = tokens[i], found[i]
        while token:
            t0 = time.perf_counter()
            reply = await p.FindMerchantsDelivering(lookup_request(i, token))
            later.append((time.perf_counter() - t0) * 1000)
            total += len(reply.merchant_ids)
            token = reply.next_page_token
        totals.append(total)
    if later:
        print(
            f"later pages       p50 {pct(later, 50):.2f} ms, p99 {pct(later, 99):.2f} ms over {len(later):,} pages; "
            f"{statistics.mean(totals):.0f} merchants per place in all pages"
        )
    # The machine's load moves during the run: the baseline again at its end brackets the figures.
    after = await timed(args.calls, lambda i: health.Check(health_pb2.HealthCheckRequest()))
    print(f"baseline again    Health/Check p50 {pct(after, 50):.2f} ms, p99 {pct(after, 99):.2f} ms")


async def _quotable(p: pricing_pb2_grpc.PricingServiceStub, request: pb.QuoteDeliveryRequest) -> bool:
    try:
        await p.QuoteDelivery(request)
        return True
    except grpc.aio.AioRpcError:
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=2_000, help="calls of each kind (and baseline calls)")
    ap.add_argument("--merchants", type=int, default=5_000)
    ap.add_argument("--city-km", type=float, default=10.0, help="radius of the synthetic city's disc")
    ap.add_argument("--radius-m", type=float, default=3_000.0, help="each merchant's delivery radius")
    ap.add_argument("--page-size", type=int, default=0, help="merchants per page (0: the server's default, 50)")
    ap.add_argument("--seed", type=int, default=21)
    return asyncio.run(run(ap.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
