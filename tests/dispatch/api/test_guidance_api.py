"""Idle-rider guidance through the real server: the rider's feed tells it where to wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
import redis

from core.geo import haversine_m
from dispatch.guidance import GuidanceConfig
from serving.app import App
from serving.auth import Role
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import server_config
from tests.dispatch.api.helpers import KAMPPI, fix, next_event, order, stream_fixes
from tongcheng.dispatch.v1 import dispatch_pb2 as pb

NORTH = (KAMPPI[0] + 0.018, KAMPPI[1])  # 2 km north of the counter


@pytest_asyncio.fixture
async def app(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    """The default policy; riders are searched within 1 km of a counter and guided from 500 m away."""
    overrides = {"offer_timeout_s": 30.0, "assign_wait_s": 0.5, "search_radius_m": 1_000.0,
                 "guidance": GuidanceConfig(every_s=1.0, beyond_m=500.0)}  # fmt: skip
    application = App(server_config(tmp_path, redis_server.url, policy="ortools", dispatch_overrides=overrides))
    await application.start()
    yield application
    await application.stop()


async def test_an_idle_rider_out_of_reach_of_a_waiting_order_is_guided_to_its_counter(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    await stream_fixes(as_role(Role.OPS), [[fix("far", *NORTH), fix("near", *KAMPPI)]])
    rider = as_role(Role.RIDER, "far")
    feed = rider.stub.WatchAssignments(pb.WatchAssignmentsRequest(rider_id="far"), metadata=rider.metadata)
    svc = as_role(Role.ORDER_SERVICE)
    # "near" takes the first order; the second finds no one within reach and waits.
    for oid in ("g1", "g2"):
        await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order(oid)]), metadata=svc.metadata, timeout=5)
    event = await next_event(feed, timeout_s=10)
    feed.cancel()
    assert event.type == pb.TASK_EVENT_TYPE_GUIDED
    assert not event.HasField("task")
    assert haversine_m(event.wait_at.lat, event.wait_at.lng, *KAMPPI) < 1.0
    assert event.event_id and event.HasField("occurred_at")
