"""Checkout's cost: PayOrder of an order with a coupon and points against a plain PayOrder, through gRPC, against
a real `server.py --services orders,settlement,loyalty,coupons` with its embedded Redis (AOF on).

    python -m bench.checkout --orders 2000 --concurrency 16

Setup (not measured): a programme of 10 merchants, a split rule each, a platform-funded coupon campaign each;
per checkout order a member with points (SyncOrder), a coupon claimed and locked to the order, the order created
naming the coupon and 100 points; as many plain orders. Phases, each over its own orders:
  baseline     grpc.health.v1 Health/Check: the same server's transport and event loop, no auth, no Redis
  pay          PayOrder of a plain order: payment script + split script
  checkout     PayOrder of an order with a coupon and points: one script redeems the lock, spends the points and
               pays, then the split (with the platform's subsidy) and the coupons' observers
Reported as bench.settlement does: calls/s, latency p50/p90/p99, the ratio to the baseline and CPU per call of the
server, its Redis and this client. The run ends with Reconcile (loyalty's and coupons' checks included), which
must report no difference.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._server import ServerProcess
from bench.settlement import CpuMeter, drive, finish, line
from core.validation import EARLIEST_MS
from serving.auth import Role
from serving.timestamps import ms_to_ts
from tongcheng.coupons.v1 import coupons_pb2 as cpb
from tongcheng.coupons.v1 import coupons_pb2_grpc
from tongcheng.loyalty.v1 import loyalty_pb2 as lpb
from tongcheng.loyalty.v1 import loyalty_pb2_grpc
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.orders.v1 import orders_pb2_grpc
from tongcheng.settlement.v1 import settlement_pb2 as spb
from tongcheng.settlement.v1 import settlement_pb2_grpc

MERCHANTS = 10
ITEMS_FEN, DELIVERY_FEN = 9_000, 500
POINTS = 100


async def bench(server: ServerProcess, orders: int, concurrency: int) -> int:
    md = (("authorization", f"Bearer {server.token(Role.OPS)}"),)
    load_before = os.getloadavg()
    async with grpc.aio.insecure_channel(server.address) as ch:
        o = orders_pb2_grpc.OrderServiceStub(ch)
        s = settlement_pb2_grpc.SettlementServiceStub(ch)
        lo = loyalty_pb2_grpc.LoyaltyServiceStub(ch)
        co = coupons_pb2_grpc.CouponServiceStub(ch)
        health = health_pb2_grpc.HealthStub(ch)
        merchants = [f"m{i}" for i in range(MERCHANTS)]
        programme = lpb.Programme(programme_id="p1", kind=lpb.PROGRAMME_KIND_ALLIANCE, merchant_ids=merchants)
        await lo.CreateProgramme(lpb.CreateProgrammeRequest(programme=programme), metadata=md)
        now_s = int(time.time())
        for m in merchants:
            rule = spb.SplitRule(
                merchant_id=m, platform_commission=spb.Share(basis_points=500),
                rider_delivery_fee=spb.Share(basis_points=800, fixed_fen=100),
            )  # fmt: skip
            rule.effective_from.FromMilliseconds(EARLIEST_MS)
            await s.SetSplitRule(spb.SetSplitRuleRequest(rule=rule), metadata=md)
            campaign = cpb.Campaign(
                campaign_id=f"{m}-pct", merchant_id=m, kind=cpb.DISCOUNT_KIND_PERCENT_OFF, discount_percent=10,
                max_discount_fen=500, max_coupons=orders + 1, funded_by=cpb.FUNDER_PLATFORM,
                valid_from=ms_to_ts((now_s - 60) * 1000), valid_until=ms_to_ts((now_s + 86_400) * 1000),
            )  # fmt: skip
            await co.CreateCampaign(cpb.CreateCampaignRequest(campaign=campaign), metadata=md)

        def order(oid: str, i: int, **kw: object) -> opb.CreateOrderRequest:
            return opb.CreateOrderRequest(
                order_id=oid, merchant_id=merchants[i % MERCHANTS], items_fen=ITEMS_FEN, delivery_fee_fen=DELIVERY_FEN,
                pickup=opb.LatLng(lat=31.23, lng=121.47), dropoff=opb.LatLng(lat=31.24, lng=121.48), item_count=1,
                **kw,  # type: ignore[arg-type]
            )  # fmt: skip

        due: dict[str, int] = {}

        def plain(i: int) -> Callable[[], Awaitable[object]]:
            async def call() -> None:
                created = await o.CreateOrder(order(f"plain-{i}", i), metadata=md)
                due[f"plain-{i}"] = created.order.amount_due_fen

            return call

        def prepare(i: int) -> Callable[[], Awaitable[object]]:
            oid, member, merchant = f"ck-{i}", f"u{i}", merchants[i % MERCHANTS]

            async def call() -> None:
                await lo.SyncOrder(
                    lpb.SyncOrderRequest(order_id=f"earn-{i}", merchant_id=merchant, member_id=member,
                                         state=lpb.ORDER_STATE_COMPLETED, paid_fen=10 * POINTS * 10),
                    metadata=md,
                )  # fmt: skip
                claimed = await co.ClaimCoupon(
                    cpb.ClaimCouponRequest(campaign_id=f"{merchant}-pct", member_id=member, idempotency_key=oid),
                    metadata=md,
                )
                code = claimed.coupon.code
                await co.LockCoupon(
                    cpb.LockCouponRequest(code=code, merchant_id=merchant, order_id=oid,
                                          order_amount_fen=ITEMS_FEN + DELIVERY_FEN, delivery_fee_fen=DELIVERY_FEN,
                                          ttl_minutes=60),
                    metadata=md,
                )  # fmt: skip
                created = await o.CreateOrder(
                    order(oid, i, customer_id=member, coupon_codes=[code], points=POINTS, points_programme_id="p1"),
                    metadata=md,
                )
                due[oid] = created.order.amount_due_fen

            return call

        def pay(oid: str) -> Callable[[], Awaitable[object]]:
            async def call() -> None:
                reply = await o.PayOrder(
                    opb.PayOrderRequest(order_id=oid, payment_id=f"p-{oid}", amount_fen=due[oid]), metadata=md
                )
                assert reply.order.split_state == opb.SPLIT_STATE_POSTED, reply.order

            return call

        print(f"setup: {orders} plain orders; {orders} members with points, coupons claimed and locked, orders created")
        await drive([plain(i) for i in range(orders)], concurrency)
        await drive([prepare(i) for i in range(orders)], concurrency)
        assert server.proc is not None
        meter = CpuMeter(server.proc.pid)
        check = health_pb2.HealthCheckRequest()
        seconds, lat, cpu = await drive([lambda: health.Check(check) for _ in range(orders)], concurrency, meter)
        baseline_cps = orders / seconds
        report = [line("baseline", orders, 0, seconds, lat, None, cpu)]
        seconds, lat, cpu = await drive([pay(f"plain-{i}") for i in range(orders)], concurrency, meter)
        report.append(line("pay", orders, orders, seconds, lat, baseline_cps, cpu))
        seconds, lat, cpu = await drive([pay(f"ck-{i}") for i in range(orders)], concurrency, meter)
        report.append(line("checkout", orders, orders, seconds, lat, baseline_cps, cpu))

        return await finish(s, md, report, load_before)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=2_000, help="orders per phase")
    p.add_argument("--concurrency", type=int, default=16, help="calls in flight")
    p.add_argument("--appendfsync", default="everysec", choices=["always", "everysec", "no"])
    ns = p.parse_args()
    data = Path(tempfile.mkdtemp(prefix="tc-bench-checkout-"))
    server = ServerProcess(
        data, "--services", "orders,settlement,loyalty,coupons", "--intake-processes", "0",
        "--redis-appendfsync", ns.appendfsync, "--log-level", "warning",
    ).start()  # fmt: skip
    try:
        print(f"server pid {server.proc.pid if server.proc else '?'}, appendfsync {ns.appendfsync}, data {data}")
        return asyncio.run(bench(server, ns.orders, ns.concurrency))
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
