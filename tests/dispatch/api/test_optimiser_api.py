"""The default policy (ortools) through the real server: bundles on the rider's feed, ReportFoodReady."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
import redis

from dispatch.api.convert import ms_to_ts
from serving.app import App
from serving.auth import Role
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import now_ms, server_config
from tests.dispatch.api.helpers import KAMPPI, bad_request_fields, fix, next_event, order, stream_fixes
from tongcheng.dispatch.v1 import dispatch_pb2 as pb


@pytest_asyncio.fixture
async def app(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    """The real server with the default policy."""
    config = server_config(tmp_path, redis_server.url)
    application = App(config.__class__(**{**config.__dict__, "policy": "ortools"}))
    await application.start()
    yield application
    await application.stop()


async def test_two_ready_orders_of_one_merchant_go_to_one_rider_as_a_bundle(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    await stream_fixes(as_role(Role.OPS), [[fix("r1", KAMPPI[0] + 0.0002, KAMPPI[1])]])
    svc = as_role(Role.ORDER_SERVICE)
    ready_now = ms_to_ts(now_ms())
    orders = [order("b1", dropoff=(60.1760, 24.9480)), order("b2", dropoff=(60.1765, 24.9485))]
    for o in orders:
        o.ready_at_hint.CopyFrom(ready_now)
    reply = await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=orders), metadata=svc.metadata, timeout=5)
    assert [(r.status, r.rider_id) for r in reply.results] == [(pb.ORDER_STATUS_ASSIGNED, "r1")] * 2
    rider = as_role(Role.RIDER, "r1")
    feed = rider.stub.WatchAssignments(
        pb.WatchAssignmentsRequest(rider_id="r1", resume_after_event_id="0-0"), metadata=rider.metadata
    )
    events = [await next_event(feed), await next_event(feed)]
    feed.cancel()
    assert {e.type for e in events} == {pb.TASK_EVENT_TYPE_OFFERED}
    assert len({e.task.bundle_id for e in events}) == 1 and events[0].task.bundle_id
    assert sorted(e.task.bundle_sequence for e in events) == [1, 2]
    assert all(e.task.HasField("expected_ready_at") for e in events)


async def test_a_merchants_forecast_reaches_the_rider_as_the_expected_ready_time(
    app: App, as_role, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """An order whose hint comes with a spread is stored with it (GetOrder returns it) and planned with
    the hint as its prediction: the rider's task says the food is expected at the hinted time."""
    await stream_fixes(as_role(Role.OPS), [[fix("r1", KAMPPI[0] + 0.0002, KAMPPI[1])]])
    svc = as_role(Role.ORDER_SERVICE)
    o = order("fc1", ready_hint_sd_s=240.0)
    hint = o.placed_at.ToMilliseconds() + 60_000
    o.ready_at_hint.FromMilliseconds(hint)
    reply = await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[o]), metadata=svc.metadata, timeout=5)
    assert [(r.status, r.rider_id) for r in reply.results] == [(pb.ORDER_STATUS_ASSIGNED, "r1")]
    assert redis_sync.hget("tc:{helsinki}:order:fc1", "predicted_ready_sd_s") == "240.0"
    got = await svc.stub.GetOrder(pb.GetOrderRequest(order_id="fc1"), metadata=svc.metadata, timeout=5)
    assert got.order.order.ready_hint_sd_s == 240.0 and got.order.order.ready_at_hint.ToMilliseconds() == hint
    rider = as_role(Role.RIDER, "r1")
    feed = rider.stub.WatchAssignments(
        pb.WatchAssignmentsRequest(rider_id="r1", resume_after_event_id="0-0"), metadata=rider.metadata
    )
    event = await next_event(feed)
    feed.cancel()
    assert event.task.expected_ready_at.ToMilliseconds() == hint


async def test_report_food_ready(app: App, as_role, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """The order's merchant (or the order service, or ops) reports; bad input is refused precisely and
    changes nothing; a repeat is a no-op; the merchant's prep model learns once."""
    svc = as_role(Role.ORDER_SERVICE)
    # No rider anywhere: the order stays pending, with a predicted ready time.
    await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("f1")]), metadata=svc.metadata, timeout=1)
    key = "tc:{helsinki}:order:f1"
    assert redis_sync.hget(key, "predicted_ready_ms")
    merchant, other = as_role(Role.MERCHANT, "m1"), as_role(Role.MERCHANT, "m2")

    async def report(caller, **kw):  # type: ignore[no-untyped-def]
        return await caller.stub.ReportFoodReady(pb.ReportFoodReadyRequest(**kw), metadata=caller.metadata, timeout=5)

    before = redis_sync.hgetall(key)
    for caller, kw, code, field in [
        (other, {"order_id": "f1"}, grpc.StatusCode.PERMISSION_DENIED, None),
        (as_role(Role.RIDER, "r1"), {"order_id": "f1"}, grpc.StatusCode.PERMISSION_DENIED, None),
        (merchant, {"order_id": ""}, grpc.StatusCode.INVALID_ARGUMENT, "order_id"),
        (merchant, {"order_id": "nope"}, grpc.StatusCode.NOT_FOUND, None),
        (merchant, {"order_id": "f1", "ready_at": ms_to_ts(now_ms() + 3_600_000)}, grpc.StatusCode.INVALID_ARGUMENT,
         "ready_at"),
        (merchant, {"order_id": "f1", "ready_at": ms_to_ts(now_ms() - 86_400_000)}, grpc.StatusCode.INVALID_ARGUMENT,
         "ready_at"),
    ]:  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await report(caller, **kw)
        assert err.value.code() == code, kw
        if field:
            assert bad_request_fields(err.value) == [field]
    assert redis_sync.hgetall(key) == before
    reply = await report(merchant, order_id="f1")
    assert reply.status == pb.ORDER_STATUS_PENDING
    ready_ms = redis_sync.hget(key, "ready_at_ms")
    assert ready_ms is not None
    await report(svc, order_id="f1", ready_at=ms_to_ts(now_ms()))  # a repeat: nothing changes
    assert redis_sync.hget(key, "ready_at_ms") == ready_ms
    assert redis_sync.hget("tc:{helsinki}:prep:global", "learnt") == "1"
