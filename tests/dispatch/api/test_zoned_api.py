"""The dispatch API over a city cut into zones (H3 resolution 8: Helsinki's centre in a few dozen cells):
one call's orders decided in their own zones, riders' tasks and order events delivered whatever zone
they come from, a rider handed over between zones with empty hands."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
import redis

from core.geo import LatLng
from serving.app import App
from serving.auth import Role
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import server_config
from tests.dispatch.api.helpers import fix, next_event, order, stream_fixes
from tongcheng.dispatch.v1 import dispatch_pb2 as pb

WEST, EAST = (60.1690, 24.9330), (60.1700, 24.9560)  # Kamppi and Kruununhaka, a couple of kilometres apart


@pytest_asyncio.fixture
async def app(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    application = App(server_config(tmp_path, redis_server.url, zones="8"))
    await application.start()
    """The real server over the city cut into H3 cells of resolution 8 (replaces conftest's `app` here)."""
    yield application
    await application.stop()


async def test_orders_of_two_zones_in_one_call_are_decided_in_their_zones(  # type: ignore[no-untyped-def]
    app: App, as_role, redis_sync: redis.Redis
) -> None:
    assert app.dispatcher is not None
    zoning = app.dispatcher.zoning
    west, east = zoning.zone_of(LatLng(*WEST)), zoning.zone_of(LatLng(*EAST))
    assert west != east
    await stream_fixes(as_role(Role.OPS), [[fix("rw", *WEST), fix("re", *EAST)]])
    rider = as_role(Role.RIDER, "re")
    watch = rider.stub.WatchAssignments(pb.WatchAssignmentsRequest(rider_id="re"), metadata=rider.metadata)
    svc = as_role(Role.ORDER_SERVICE)
    events = svc.stub.WatchOrders(pb.WatchOrdersRequest(), metadata=svc.metadata)
    await asyncio.sleep(0.3)
    reply = await svc.stub.AssignRiders(
        pb.AssignRidersRequest(orders=[order("ow", pickup=WEST, dropoff=EAST), order("oe", pickup=EAST, dropoff=WEST)]),
        metadata=svc.metadata, timeout=5,
    )  # fmt: skip
    assert {(r.order_id, r.status, r.rider_id) for r in reply.results} == {
        ("ow", pb.ORDER_STATUS_ASSIGNED, "rw"), ("oe", pb.ORDER_STATUS_ASSIGNED, "re")
    }  # fmt: skip
    assert redis_sync.exists(f"tc:{{{west}}}:order:ow") and redis_sync.exists(f"tc:{{{east}}}:order:oe")
    offered = await next_event(watch)
    assert (offered.type, offered.task.order_id) == (pb.TASK_EVENT_TYPE_OFFERED, "oe")
    seen = set()
    for _ in range(2):
        update = (await asyncio.wait_for(events.read(), 5)).update
        seen.add((update.order_id, update.status))
    assert seen == {("ow", pb.ORDER_STATUS_ASSIGNED), ("oe", pb.ORDER_STATUS_ASSIGNED)}

    # re delivers, rides west with empty hands and is handed over; an order there now goes to it too.
    for action in (pb.TASK_ACTION_ACCEPT, pb.TASK_ACTION_PICKED_UP, pb.TASK_ACTION_DELIVERED):
        await rider.stub.UpdateTask(pb.UpdateTaskRequest(rider_id="re", order_id="oe", action=action),
                                    metadata=rider.metadata)  # fmt: skip
    await stream_fixes(as_role(Role.OPS), [[fix("re", WEST[0] + 0.0002, WEST[1])]])
    assert redis_sync.sismember(f"tc:{{{west}}}:riders:free", "re")
    assert not redis_sync.exists(f"tc:{{{east}}}:rider:re")
    got = (await svc.stub.GetOrder(pb.GetOrderRequest(order_id="oe"), metadata=svc.metadata)).order
    assert got.status == pb.ORDER_STATUS_DELIVERED
    reply = await svc.stub.AssignRiders(
        pb.AssignRidersRequest(orders=[order("ow2", pickup=WEST, dropoff=EAST)]), metadata=svc.metadata, timeout=5
    )
    assert reply.results[0].rider_id == "re"
    # Its task feed follows it into the new zone: after the events of its work in the old one, the new offer.
    feed = [await next_event(watch) for _ in range(4)]
    assert [(e.type, e.task.order_id) for e in feed][-1] == (pb.TASK_EVENT_TYPE_OFFERED, "ow2")
    assert [e.task.order_id for e in feed[:-1]] == ["oe"] * 3
    watch.cancel()
    events.cancel()
