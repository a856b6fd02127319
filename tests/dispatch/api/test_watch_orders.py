"""Orders accepted without waiting, and their decisions delivered on WatchOrders, resumable."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from serving.app import App
from serving.auth import Role, TokenIssuer
from tests.conftest import Caller, redis_snapshot, server_config
from tests.dispatch.api.helpers import fix, order, stream_fixes
from tongcheng.dispatch.v1 import dispatch_pb2 as pb


async def next_update(stream, timeout_s: float = 5.0) -> pb.OrderUpdate:  # type: ignore[no-untyped-def]
    reply = await asyncio.wait_for(stream.read(), timeout_s)
    assert reply is not grpc.aio.EOF
    return reply.update


async def test_no_wait_answers_at_once_and_the_decision_follows_on_watch_orders(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """AssignRiders with no_wait answers PENDING before any tick decides; WatchOrders then brings the offer."""
    svc = as_role(Role.ORDER_SERVICE)
    await stream_fixes(as_role(Role.OPS), [[fix("r1", 60.1702, 24.9425)]])
    watch = svc.stub.WatchOrders(pb.WatchOrdersRequest(), metadata=svc.metadata)
    await asyncio.sleep(0.2)  # the stream is open and positioned at the end before the order is placed
    started = time.monotonic()
    reply = await svc.stub.AssignRiders(
        pb.AssignRidersRequest(orders=[order("o1")], no_wait=True), metadata=svc.metadata, timeout=5
    )
    assert reply.results[0].status == pb.ORDER_STATUS_PENDING
    assert time.monotonic() - started < 0.5
    update = await next_update(watch)
    assert (update.order_id, update.status, update.rider_id) == ("o1", pb.ORDER_STATUS_ASSIGNED, "r1")
    assert update.estimated_dropoff_at.seconds > 0 and update.event_id
    watch.cancel()
    # Resumed after that event, the next change (the rider's acceptance) comes, and nothing before it.
    rider = as_role(Role.RIDER, "r1")
    await rider.stub.UpdateTask(
        pb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=pb.TASK_ACTION_ACCEPT), metadata=rider.metadata
    )
    resumed = svc.stub.WatchOrders(pb.WatchOrdersRequest(resume_after_event_id=update.event_id), metadata=svc.metadata)
    accepted = await next_update(resumed)
    assert (accepted.order_id, accepted.status) == ("o1", pb.ORDER_STATUS_ACCEPTED)
    resumed.cancel()


async def test_a_resume_point_no_longer_kept_is_a_failed_precondition(tmp_path, redis_server, redis_sync) -> None:  # type: ignore[no-untyped-def]
    """Resuming before the oldest retained event of a stream that its cap has trimmed cannot promise
    completeness: FAILED_PRECONDITION. Before any trimming, an early resume point delivers every event."""
    config = server_config(tmp_path, redis_server.url, dispatch_overrides={"events_max_len": 10})
    capped = App(config)
    await capped.start()
    try:
        assert capped.private_key_file is not None
        issuer = TokenIssuer(capped.private_key_file.read_bytes())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{capped.port}") as ch:
            svc = Caller(ch, issuer.mint(Role.ORDER_SERVICE))
            await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("far0", dropoff=(61.5, 25.0))]),
                                        metadata=svc.metadata, timeout=5)  # fmt: skip
            untrimmed = svc.stub.WatchOrders(pb.WatchOrdersRequest(resume_after_event_id="1-0"), metadata=svc.metadata)
            assert (await next_update(untrimmed)).order_id == "far0"  # rejected: out of reach
            untrimmed.cancel()
            # Enough rejections that the cap trims whole nodes (100 entries each) of the stream.
            far = [order(f"far{i}", dropoff=(61.5, 25.0)) for i in range(1, 400)]
            await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=far), metadata=svc.metadata, timeout=10)
            stream = svc.stub.WatchOrders(pb.WatchOrdersRequest(resume_after_event_id="1-0"), metadata=svc.metadata)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stream.read()
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    finally:
        await capped.stop()


async def test_only_order_services_and_ops_watch_orders(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """Riders and merchants are PERMISSION_DENIED; a malformed resume id is INVALID_ARGUMENT."""
    for caller in (as_role(Role.RIDER, "r1"), as_role(Role.MERCHANT, "m1")):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await caller.stub.WatchOrders(pb.WatchOrdersRequest(), metadata=caller.metadata).read()
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    ops = as_role(Role.OPS)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ops.stub.WatchOrders(pb.WatchOrdersRequest(resume_after_event_id="١-٠"), metadata=ops.metadata).read()
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_zone_over_its_backlog_sheds_new_orders_with_retry_info(tmp_path, redis_server, redis_sync) -> None:  # type: ignore[no-untyped-def]
    """Past the budget, AssignRiders is RESOURCE_EXHAUSTED at once with google.rpc.RetryInfo, and nothing
    is stored; the orders accepted before are all still there."""

    config = server_config(
        tmp_path, redis_server.url,
        dispatch_overrides={"assign_wait_s": 0.5, "backlog_min_orders": 5, "backlog_ticks": 3.0},
    )  # fmt: skip
    shedding = App(config)
    await shedding.start()
    try:
        assert shedding.private_key_file is not None
        issuer = TokenIssuer(shedding.private_key_file.read_bytes())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{shedding.port}") as ch:
            svc = Caller(ch, issuer.mint(Role.ORDER_SERVICE))
            batch = pb.AssignRidersRequest(orders=[order(f"o{i}") for i in range(5)], no_wait=True)
            await svc.stub.AssignRiders(batch, metadata=svc.metadata, timeout=5)  # no rider: all stay pending
            # The tick measures the zone's throughput by itself (its first write may fall between the snapshots).
            before = without_throughput(redis_snapshot(redis_sync))
            started = time.monotonic()
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await svc.stub.AssignRiders(
                    pb.AssignRidersRequest(orders=[order("o5")]), metadata=svc.metadata, timeout=5
                )
            assert time.monotonic() - started < 0.2
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            status = rpc_status.from_call(err.value)  # type: ignore[arg-type]
            assert status is not None
            retry = error_details_pb2.RetryInfo()
            assert any(d.Unpack(retry) for d in status.details)
            assert retry.retry_delay.ToMilliseconds() == 100  # a tick
            assert without_throughput(redis_snapshot(redis_sync)) == before
            for i in range(5):
                got = await svc.stub.GetOrder(pb.GetOrderRequest(order_id=f"o{i}"), metadata=svc.metadata)
                assert got.order.status == pb.ORDER_STATUS_PENDING
    finally:
        await shedding.stop()


def without_throughput(snapshot: dict[str, object]) -> dict[str, object]:
    """The keyspace less what a zone with work writes by itself on its timers: its throughput and tick record,
    and pricing's surge board (refreshed from the pool every 10 s)."""
    background = (":throughput", ":tick", "tc:{pricing}:surge", "tc:{pricing}:shrink")
    return {k: v for k, v in snapshot.items() if not k.endswith(background)}
