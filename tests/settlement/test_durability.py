"""kill -9 of Redis (AOF, appendfsync always) while payments and refunds stream in: after a restart the
reconciliation finds every entry a caller was told about, and nothing that was acknowledged is lost."""

from __future__ import annotations

import asyncio

import grpc
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc

from serving.app import App
from serving.auth import Role
from serving.embedded_redis import EmbeddedRedis
from tests.settlement.helpers import Money, new_order, rule, set_rule
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.settlement.v1 import settlement_pb2 as pb

ORDERS = 400
WORKERS = 16


async def test_kill_9_under_load_loses_no_acknowledged_entry(  # type: ignore[no-untyped-def]
    money_app: App, money_only, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """Payments (each split at once) and partial refunds run from 16 clients; Redis is killed mid-stream and
    restarted. Every acknowledged payment's split and every acknowledged refund's reversal is there, the
    reconciliation lists only orders whose call failed, and retrying those calls leaves no difference."""
    assert redis_server.appendfsync == "always"
    m: Money = money_only(Role.OPS)
    await set_rule(m, rule())
    for i in range(ORDERS):
        await m.orders.CreateOrder(new_order(f"o{i}"), metadata=m.md)

    paid_acks: set[str] = set()
    refund_acks: set[str] = set()
    failed: set[str] = set()
    midway = asyncio.Event()
    redis_back = asyncio.Event()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(ORDERS):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty() and not redis_back.is_set():
            oid = f"o{queue.get_nowait()}"
            try:
                paid = await m.orders.PayOrder(
                    opb.PayOrderRequest(order_id=oid, payment_id=f"p-{oid}", amount_fen=9_500), metadata=m.md, timeout=5
                )
                assert paid.order.split_state == opb.SPLIT_STATE_POSTED
                paid_acks.add(oid)
                refund = await m.orders.RefundOrder(
                    opb.RefundOrderRequest(order_id=oid, idempotency_key="r1", amount_fen=1_234),
                    metadata=m.md,
                    timeout=5,
                )
                assert refund.refunded
                refund_acks.add(oid)
                if len(refund_acks) >= 80:
                    midway.set()
            except grpc.aio.AioRpcError as err:
                assert err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED), err
                failed.add(oid)

    workers = [asyncio.create_task(worker()) for _ in range(WORKERS)]
    await midway.wait()
    await asyncio.to_thread(redis_server.kill)
    await asyncio.sleep(0.3)  # calls keep coming and fail while Redis is down
    # The clients stop before Redis is started again. (Starting it used to fork this process, and forking
    # while gRPC threads were busy once aborted gRPC's core here; EmbeddedRedis now starts it by vfork.)
    redis_back.set()
    await asyncio.gather(*workers)
    redis_server.start()  # from the main thread, which outlives it: replays the AOF
    assert failed, "Redis died under load: some calls must have failed"
    # Calls are refused (UNAVAILABLE) until the health monitor's next ping finds Redis back.
    async with grpc.aio.insecure_channel(f"127.0.0.1:{money_app.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(50):
            reply = await health.Check(health_pb2.HealthCheckRequest())
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                break
            await asyncio.sleep(0.05)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

    report = await m.settlement.Reconcile(pb.ReconcileRequest(), metadata=m.md)
    for oid in paid_acks:
        split = await m.settlement.GetSplit(pb.GetSplitRequest(order_id=oid), metadata=m.md)
        assert sum(e.amount_fen for e in split.entries if e.cause == "split") == 9_500, oid
        if oid in refund_acks:
            assert sum(e.amount_fen for e in split.entries if e.cause == "refund:r1") == -1_234, oid
    acknowledged = paid_acks | refund_acks
    assert not [d for d in report.differences if d.order_id in acknowledged - failed], "an acknowledged entry was lost"
    assert {d.kind for d in report.differences} <= {"not_split"}  # only payments whose split never ran
    assert report.entries_checked >= 3 * len(paid_acks)

    # Clients retry what failed (both calls are idempotent): the ledger and the orders agree again.
    for oid in sorted(failed | {f"o{i}" for i in range(ORDERS)} - acknowledged):
        await m.orders.PayOrder(
            opb.PayOrderRequest(order_id=oid, payment_id=f"p-{oid}", amount_fen=9_500), metadata=m.md
        )
        await m.orders.RefundOrder(
            opb.RefundOrderRequest(order_id=oid, idempotency_key="r1", amount_fen=1_234), metadata=m.md
        )
    final = await m.settlement.Reconcile(pb.ReconcileRequest(), metadata=m.md)
    assert list(final.differences) == []
    assert redis_sync.zcard("tc:{money}:orders:paid") == ORDERS
    assert final.ledger_net_fen == final.order_net_fen == ORDERS * (9_500 - 1_234)
    print(f"acknowledged payments {len(paid_acks)}, refunds {len(refund_acks)}, failed calls {len(failed)}")
