"""Redis down: callers get UNAVAILABLE, health says NOT_SERVING, and the server recovers by itself."""

from __future__ import annotations

import asyncio

import grpc
import pytest
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc

from serving.app import App
from serving.auth import Role
from serving.embedded_redis import EmbeddedRedis
from tests.dispatch.api.helpers import fix, order, stream_fixes
from tongcheng.dispatch.v1 import dispatch_pb2 as pb

DISPATCH = "tongcheng.dispatch.v1.DispatchService"


async def wait_health(channel: grpc.aio.Channel, status: int, timeout_s: float = 10.0) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=DISPATCH))
        if reply.status == status:
            return
        assert asyncio.get_running_loop().time() < deadline, f"health stayed {reply.status}"
        await asyncio.sleep(0.1)


async def test_redis_outage_and_recovery(  # type: ignore[no-untyped-def]
    app: App, as_role, channel: grpc.aio.Channel, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """Orders accepted before Redis is killed survive it (AOF, fsync always) and are assigned once it is back."""
    svc = as_role(Role.ORDER_SERVICE)
    ops = as_role(Role.OPS)
    reply = await svc.stub.AssignRiders(
        pb.AssignRidersRequest(orders=[order("before")]), metadata=svc.metadata, timeout=0.5
    )
    assert reply.results[0].status == pb.ORDER_STATUS_PENDING  # accepted, no rider yet

    await asyncio.to_thread(redis_server.kill)  # a crash, not a clean shutdown
    try:
        for call in (
            svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("during")]), metadata=svc.metadata, timeout=5),
            svc.stub.GetOrder(pb.GetOrderRequest(order_id="before"), metadata=svc.metadata, timeout=5),
            stream_fixes(ops, [[fix("r1", 60.1702, 24.9425)]]),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        await wait_health(channel, health_pb2.HealthCheckResponse.NOT_SERVING)
        await asyncio.sleep(0.5)  # a few ticks fail meanwhile; the loop must outlive them
    finally:
        redis_server.start()  # from the main thread, which outlives it

    await wait_health(channel, health_pb2.HealthCheckResponse.SERVING)
    result = await stream_fixes(ops, [[fix("r1", 60.1702, 24.9425)]])
    assert result.accepted_count == 1
    for _ in range(50):
        got = await svc.stub.GetOrder(pb.GetOrderRequest(order_id="before"), metadata=svc.metadata)
        if got.order.status == pb.ORDER_STATUS_ASSIGNED:
            break
        await asyncio.sleep(0.1)
    assert (got.order.status, got.order.rider_id) == (pb.ORDER_STATUS_ASSIGNED, "r1")
    # The order refused during the outage was never stored.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await svc.stub.GetOrder(pb.GetOrderRequest(order_id="during"), metadata=svc.metadata)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert app.dispatcher is not None and app.dispatcher.ticks > 0
