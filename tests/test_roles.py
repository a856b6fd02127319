"""Intake and worker processes apart: the API served by one App that never ticks, the zone ticked by
another, over one Redis — decisions, traffic and the order center still flow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import h3
import pytest
import pytest_asyncio
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc

from serving.app import App
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import Caller, server_config
from tests.dispatch.api.helpers import KAMPPI, fix, order, stream_fixes
from tongcheng.dispatch.v1 import dispatch_pb2 as pb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc


@pytest_asyncio.fixture
async def split(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[tuple[App, App]]:
    """An intake App and a worker App on the session's Redis (emptied)."""
    intake = App(server_config(tmp_path, redis_server.url, role="intake"))
    worker = App(server_config(tmp_path, redis_server.url, role="worker"))
    await worker.start()
    await intake.start()
    yield intake, worker
    await intake.stop()
    await worker.stop()


async def test_a_decision_made_by_the_worker_answers_a_call_waiting_at_intake(split: tuple[App, App]) -> None:
    """AssignRiders waits at intake, the worker's tick decides, the call answers ASSIGNED long before its deadline."""
    intake, worker = split
    assert intake.private_key_file is not None
    issuer = TokenIssuer(intake.private_key_file.read_bytes())
    async with grpc.aio.insecure_channel(f"127.0.0.1:{intake.port}") as ch:
        ops = Caller(ch, issuer.mint(Role.OPS))
        await stream_fixes(ops, [[fix("r1", KAMPPI[0] + 0.0002, KAMPPI[1])]])
        started = time.monotonic()
        reply = await ops.stub.AssignRiders(
            pb.AssignRidersRequest(orders=[order("o1")]), metadata=ops.metadata, timeout=4
        )
        assert (reply.results[0].status, reply.results[0].rider_id) == (pb.ORDER_STATUS_ASSIGNED, "r1")
        assert time.monotonic() - started < 1.5  # ticks every 0.1 s; the answer does not wait for the deadline
        assert intake.dispatcher is not None and intake.dispatcher.ticks == 0
        assert worker.dispatcher is not None
        for _ in range(50):  # the tick that decided may still be finishing (measuring the zone) when the call answers
            if worker.dispatcher.ticks:
                break
            await asyncio.sleep(0.02)
        assert worker.dispatcher.ticks > 0


async def test_traffic_set_at_intake_reaches_the_worker(split: tuple[App, App]) -> None:
    """UpdateTraffic served by an intake process slows the worker's road graph by its next tick."""
    intake, worker = split
    assert intake.private_key_file is not None and worker.oracle is not None
    issuer = TokenIssuer(intake.private_key_file.read_bytes())
    cell = h3.latlng_to_cell(KAMPPI[0], KAMPPI[1], 6)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{intake.port}") as ch:
        ops = Caller(ch, issuer.mint(Role.OPS))
        before = worker.oracle.version
        await ops.stub.UpdateTraffic(
            pb.UpdateTrafficRequest(cells=[pb.CellCongestion(h3_cell=cell, factor=3.0)]), metadata=ops.metadata
        )
        for _ in range(50):
            if worker.oracle.version > before:
                break
            await asyncio.sleep(0.05)
        assert worker.oracle.version > before and (worker.oracle.live > 1.0).any()


async def test_the_worker_serves_health_and_no_api(split: tuple[App, App]) -> None:
    """A worker answers health checks; the product's services are the intake processes'."""
    _, worker = split
    async with grpc.aio.insecure_channel(f"127.0.0.1:{worker.port}") as ch:
        for _ in range(20):
            reply = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=2)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                break
            await asyncio.sleep(0.1)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await dispatch_pb2_grpc.DispatchServiceStub(ch).GetOrder(pb.GetOrderRequest(order_id="o1"), timeout=2)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
