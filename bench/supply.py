"""Issue 20's targets through gRPC on one server process: availability of one resource over 30 days (p99 <=
20 ms), a POS batch of 1,000 items (<= 200 ms), stock reservations per second (>= 2,000/s).

`python -m bench.supply [--calls 500 --batches 20 --reservations 6000 --concurrency 64]`. Starts `server.py
--services merchants,bookings --intake-processes 0` (one process, embedded Redis, no road graph) and a
client on the same machine; each figure is printed beside a baseline measured in the same run (Health/Check,
the cheapest call the server answers), since this shared 2-core machine's load moves both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._server import ServerProcess
from serving.timestamps import ms_to_ts
from tongcheng.bookings.v1 import bookings_pb2 as bpb
from tongcheng.bookings.v1 import bookings_pb2_grpc
from tongcheng.merchants.v1 import merchants_pb2 as mpb
from tongcheng.merchants.v1 import merchants_pb2_grpc


def pct(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100)[q - 1] if len(xs) > 1 else xs[0]


async def timed(n: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    """Latencies (ms) of n calls made one after another."""
    out = []
    for i in range(n):
        started = time.perf_counter()
        await call(i)
        out.append((time.perf_counter() - started) * 1000)
    return out


async def rate(n: int, concurrency: int, call: Callable[[int], Awaitable[object]]) -> float:
    """Calls per second of n calls kept `concurrency` in flight."""
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            await call(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - started)


async def engine_reservations(n: int, concurrency: int) -> float:
    """Reservations/s of the engine alone (no gRPC) on its own embedded Redis: what the scripts allow."""
    import redis.asyncio as aioredis

    from core.clock import SystemClock
    from merchants import CatalogItem, Merchant, Merchants, StockEvent, StockEventKind, Variant
    from serving.embedded_redis import EmbeddedRedis

    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp), appendfsync="everysec").start()
        client = aioredis.Redis.from_url(server.url, decode_responses=True)
        try:
            m = Merchants(client, SystemClock())
            await m.directory.upsert(Merchant("shop", "shop", "other", 31.2, 121.4, "Asia/Shanghai"))
            items = [CatalogItem(f"i{i}", "item", "", (Variant(f"v{i}", "each", 100),)) for i in range(50)]
            await m.catalog.sync("shop", "menu", items)
            at = time.time_ns() // 1_000_000 - 1_000
            counts = [StockEvent(f"c{i}", f"v{i}", StockEventKind.COUNT, 1_000_000, at) for i in range(50)]
            await m.stock.record("shop", counts, [])
            return await rate(n, concurrency, lambda i: m.stock.reserve("shop", f"r{i}", [(f"v{i % 50}", 1)], 3_600))
        finally:
            await client.aclose()
            server.stop()


async def run(args: argparse.Namespace) -> int:
    engine = await engine_reservations(args.reservations, args.concurrency)
    print(f"engine alone      {engine:,.0f} reservations/s at {args.concurrency} in flight (no gRPC, own Redis)")
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(
            Path(tmp), "--services", "merchants,bookings", "--intake-processes", "0", "--auth-disabled"
        ).start()
        try:
            async with grpc.aio.insecure_channel(server.address) as channel:
                await measure(channel, args)
        finally:
            server.stop()
    return 0


async def measure(channel: grpc.aio.Channel, args: argparse.Namespace) -> None:
    m = merchants_pb2_grpc.MerchantServiceStub(channel)
    b = bookings_pb2_grpc.BookingServiceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)
    md = ()  # --auth-disabled: every caller is ops
    place = mpb.LatLng(lat=31.2304, lng=121.4737)
    for merchant_id in ("shop", "clinic"):
        merchant = mpb.Merchant(merchant_id=merchant_id, name=merchant_id, category=mpb.MERCHANT_CATEGORY_OTHER,
                                location=place, time_zone="Asia/Shanghai")  # fmt: skip
        await m.UpsertMerchant(mpb.UpsertMerchantRequest(merchant=merchant), metadata=md)

    baseline = await timed(args.calls, lambda i: health.Check(health_pb2.HealthCheckRequest()))
    print(f"baseline          Health/Check p50 {pct(baseline, 50):.2f} ms, p99 {pct(baseline, 99):.2f} ms")

    # Availability: 09:00-18:00 every day in 20-minute slots (27 a day), a fifth of the next month's slots booked.
    weekly = [bpb.WeeklyPeriod(day=d, start_minute=540, end_minute=1080) for d in range(1, 8)]  # type: ignore[arg-type]
    resource = bpb.Resource(merchant_id="clinic", resource_id="dr", name="Dr", kind=bpb.RESOURCE_KIND_DOCTOR,
                            slot_minutes=20, capacity=1, weekly_schedule=weekly)  # fmt: skip
    await b.UpsertResource(bpb.UpsertResourceRequest(resource=resource), metadata=md)
    first = dt.date.today() + dt.timedelta(days=1)
    last = first + dt.timedelta(days=29)
    span = bpb.GetAvailabilityRequest(merchant_id="clinic", resource_id="dr", from_date=first.isoformat(),
                                      to_date=last.isoformat())  # fmt: skip
    slots = (await b.GetAvailability(span, metadata=md)).slots
    for n, slot in enumerate(slots[::5]):
        await b.HoldSlot(bpb.HoldSlotRequest(merchant_id="clinic", resource_id="dr", start_at=slot.start_at,
                                             booking_id=f"bk{n}", customer_id="u", hold_s=3_600), metadata=md)  # fmt: skip
    lat = await timed(args.calls, lambda i: b.GetAvailability(span, metadata=md))
    print(
        f"availability      {len(slots)} slots over 30 days, {len(slots[::5])} held: p50 {pct(lat, 50):.1f} ms, "
        f"p99 {pct(lat, 99):.1f} ms (target <= 20 ms; {pct(lat, 99) / pct(baseline, 99):.0f}x the baseline's p99)"
    )

    # POS batches of 1,000 items (new items, then the same items again at their versions: price changes).
    batch_ms: list[float] = []
    for n in range(args.batches):
        version = n // 2
        items = [
            mpb.CatalogItem(item_id=f"sku{n % 2}-{i:04d}", name="item", version=version,
                            variants=[mpb.Variant(variant_id=f"v{n % 2}-{i:04d}", name="each", price_fen=100 + n)])
            for i in range(1_000)
        ]  # fmt: skip
        request = mpb.SyncCatalogRequest(merchant_id="shop", idempotency_key=f"batch-{n}", items=items)
        started = time.perf_counter()
        await m.SyncCatalog(request, metadata=md)
        batch_ms.append((time.perf_counter() - started) * 1000)
    print(
        f"POS batch         1,000 items: median {statistics.median(batch_ms):.0f} ms, max {max(batch_ms):.0f} ms "
        f"over {args.batches} batches (target <= 200 ms)"
    )

    # Reservations: one unit each of 50 variants with stock enough for all.
    now_ms = time.time_ns() // 1_000_000
    events = [
        mpb.StockEvent(event_id=f"c{i}", variant_id=f"v0-{i:04d}", kind=mpb.STOCK_EVENT_KIND_PHYSICAL_COUNT,
                       quantity=1_000_000, occurred_at=ms_to_ts(now_ms - 1_000))
        for i in range(50)
    ]  # fmt: skip
    await m.RecordStockEvents(mpb.RecordStockEventsRequest(merchant_id="shop", events=events), metadata=md)
    health_rate = await rate(
        args.reservations, args.concurrency, lambda i: health.Check(health_pb2.HealthCheckRequest())
    )

    def reserve(i: int) -> Awaitable[object]:
        line = mpb.StockLine(variant_id=f"v0-{i % 50:04d}", quantity=1)
        return m.ReserveStock(
            mpb.ReserveStockRequest(merchant_id="shop", reservation_id=f"r{i}", lines=[line], ttl_s=3_600), metadata=md
        )

    per_s = await rate(args.reservations, args.concurrency, reserve)
    print(
        f"reservations      {per_s:,.0f}/s at {args.concurrency} in flight (target >= 2,000/s; "
        f"Health/Check {health_rate:,.0f}/s, ratio {per_s / health_rate:.2f})"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=500, help="GetAvailability calls (and baseline calls)")
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--reservations", type=int, default=6_000)
    p.add_argument("--concurrency", type=int, default=64)
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
