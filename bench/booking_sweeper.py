"""How soon the bookings sweeper offers a freed place (issue 20): holds run out with people waiting and no call
touching their slots; the lag from each hold's expiry to the first in line's offer, on the real clock.

`python -m bench.booking_sweeper [--slots 200 --sweep-s 0.5]`: one in-process server (MerchantService,
BookingService) on an embedded Redis; a doctor with a slot every 10 minutes all day; per slot, a 30-second
hold (the shortest HoldSlot takes) and one waiter; then Redis is read directly (a GetBooking would sweep the
slot itself) until every waiter is offered. Each lag is at most a sweep period plus a pass's own time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
import redis.asyncio as aioredis

from bookings.keys import BookingKeys
from serving.app import App, ServerConfig
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from serving.timestamps import ms_to_ts
from tongcheng.bookings.v1 import bookings_pb2 as bpb
from tongcheng.bookings.v1 import bookings_pb2_grpc
from tongcheng.merchants.v1 import merchants_pb2 as mpb
from tongcheng.merchants.v1 import merchants_pb2_grpc

HOLD_S = 30


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", appendfsync="no").start()
        config = ServerConfig(port=0, redis_url=server.url, data_dir=Path(tmp) / "data",
                              services=("merchants", "bookings"), booking_sweep_s=args.sweep_s)  # fmt: skip
        app = App(config)
        await app.start()
        try:
            return await _measure(app, server.url, args)
        finally:
            await app.stop()
            server.stop()


async def _measure(app: App, url: str, args: argparse.Namespace) -> int:
    assert app.private_key_file is not None
    md = (("authorization", f"Bearer {TokenIssuer(app.private_key_file.read_bytes()).mint(Role.OPS, '')}"),)
    client = aioredis.Redis.from_url(url, decode_responses=True)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as ch:
        merchants = merchants_pb2_grpc.MerchantServiceStub(ch)
        bookings = bookings_pb2_grpc.BookingServiceStub(ch)
        m = mpb.Merchant(merchant_id="clinic", name="clinic", category=mpb.MERCHANT_CATEGORY_CLINIC,
                         location=mpb.LatLng(lat=31.23, lng=121.47), time_zone="Asia/Shanghai")  # fmt: skip
        await merchants.UpsertMerchant(mpb.UpsertMerchantRequest(merchant=m), metadata=md)
        resource = bpb.Resource(
            merchant_id="clinic", resource_id="dr", name="Dr", kind=bpb.RESOURCE_KIND_DOCTOR, slot_minutes=10,
            capacity=1, weekly_schedule=[bpb.WeeklyPeriod(day=d, start_minute=0, end_minute=1_440) for d in range(1, 8)],  # type: ignore[arg-type]
        )  # fmt: skip
        await bookings.UpsertResource(bpb.UpsertResourceRequest(resource=resource), metadata=md)
        first = (app.clock.now_ms() // 600_000 + 2) * 600_000
        expiries: dict[str, int] = {}
        for i in range(args.slots):
            start = ms_to_ts(first + i * 600_000)
            held = await bookings.HoldSlot(
                bpb.HoldSlotRequest(merchant_id="clinic", resource_id="dr", start_at=start, booking_id=f"h{i}",
                                    customer_id=f"u{i}", hold_s=HOLD_S), metadata=md,
            )  # fmt: skip
            await bookings.JoinWaitlist(
                bpb.JoinWaitlistRequest(merchant_id="clinic", resource_id="dr", start_at=start, booking_id=f"w{i}",
                                        customer_id=f"v{i}"), metadata=md,
            )  # fmt: skip
            expiries[f"w{i}"] = held.booking.hold_expires_at.ToMilliseconds()
        print(
            f"{args.slots} slots held for {HOLD_S} s with one waiter each; sweeping every {args.sweep_s} s", flush=True
        )
        lags: dict[str, int] = {}
        deadline = time.monotonic() + HOLD_S + 30
        while len(lags) < args.slots and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            raw = await client.hmget(BookingKeys("clinic").bookings, [w for w in expiries if w not in lags])
            for w, r in zip([w for w in expiries if w not in lags], raw, strict=True):
                b = json.loads(r)
                if b["st"] == "offered":
                    lags[w] = int(b["t"]) - expiries[w]
    await client.aclose()
    if len(lags) < args.slots:
        print(f"only {len(lags)} of {args.slots} waiters were offered their place", file=sys.stderr)
        return 1
    ordered = sorted(lags.values())
    p99 = statistics.quantiles(ordered, n=100, method="inclusive")[98] if len(ordered) > 1 else ordered[0]
    print(
        f"offer lag after a hold's expiry: p50 {statistics.median(ordered):.0f} ms, p99 {p99:.0f} ms, "
        f"max {ordered[-1]} ms over {len(ordered)} slots (sweep period {1000 * args.sweep_s:.0f} ms)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--slots", type=int, default=200)
    p.add_argument("--sweep-s", type=float, default=0.5)
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
