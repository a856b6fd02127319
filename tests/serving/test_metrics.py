"""Each process serves Prometheus metrics: calls by method and code, intake, shedding, the tick by stage."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path

import grpc
import redis

from serving.app import App
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import Caller, server_config
from tests.dispatch.api.helpers import KAMPPI, fix, order, stream_fixes
from tongcheng.dispatch.v1 import dispatch_pb2 as pb


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return str(reply.read().decode())


def value(text: str, line_start: str) -> float:
    """The value of the first sample whose line starts with `line_start`."""
    return next(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start))


async def test_metrics_follow_calls_intake_and_ticks(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """After an accepted and a refused call and a few ticks, /metrics counts them."""
    app = App(server_config(tmp_path, redis_server.url, metrics_port=0))
    await app.start()
    try:
        assert app.metrics_port and app.private_key_file is not None
        issuer = TokenIssuer(app.private_key_file.read_bytes())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as ch:
            ops = Caller(ch, issuer.mint(Role.OPS))
            before = scrape(app.metrics_port)
            await stream_fixes(ops, [[fix("r1", KAMPPI[0], KAMPPI[1])]])
            await ops.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("m1")]), metadata=ops.metadata, timeout=5)
            try:
                await ops.stub.GetOrder(pb.GetOrderRequest(order_id="bad id"), metadata=ops.metadata)
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.3)
        text = scrape(app.metrics_port)
        assert value(text, 'tongcheng_rpc_total{code="OK",method="AssignRiders"}') >= 1
        assert value(text, 'tongcheng_rpc_total{code="INVALID_ARGUMENT",method="GetOrder"}') >= 1
        accepted = 'tongcheng_orders_accepted_total{zone="helsinki"}'
        assert (
            value(text, accepted) == value(before, accepted) + 1 if accepted in before else value(text, accepted) >= 1
        )
        assert value(text, 'tongcheng_tick_seconds_count{stage="total",zone="helsinki"}') >= 1
        assert value(text, 'tongcheng_decisions_total{outcome="assigned",zone="helsinki"}') >= 1
        assert "tongcheng_zone_backlog_orders" in text and "tongcheng_rpc_seconds_bucket" in text
    finally:
        await app.stop()
