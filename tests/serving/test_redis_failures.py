"""Redis failures heal by themselves: a killed embedded Redis is restarted, a stalled one is noticed, and
calls answer UNAVAILABLE before their deadline meanwhile."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.backoff import NoBackoff
from redis.retry import Retry

from serving.app import ORDER_SERVICE, App
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis, RestartBackoff
from tests.conftest import server_config
from tests.settlement.helpers import Money, create_and_pay, rule, set_rule
from tongcheng.orders.v1 import orders_pb2 as opb

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Client:
    """Health checks and OrderService calls (as ops) against one running App."""

    def __init__(self, channel: grpc.aio.Channel, app: App) -> None:
        assert app.private_key_file is not None
        self.money = Money(channel, TokenIssuer(app.private_key_file.read_bytes()).mint(Role.OPS))
        self.health = health_pb2_grpc.HealthStub(channel)

    async def wait_health(self, status: int, within_s: float) -> float:
        """Seconds until health says `status` (the order service's, as a load balancer would ask)."""
        started = time.monotonic()
        while True:
            try:
                reply = await self.health.Check(health_pb2.HealthCheckRequest(service=ORDER_SERVICE), timeout=1)
                now = reply.status
            except grpc.aio.AioRpcError as err:  # NOT_FOUND until the monitor's first ping
                now = err.code()
            elapsed = time.monotonic() - started
            if now == status:
                return elapsed
            assert elapsed < within_s, f"health stayed {now} for {within_s} s"
            await asyncio.sleep(0.05)

    async def get_order(self, order_id: str, timeout_s: float = 5.0) -> opb.Order:
        reply = await self.money.orders.GetOrder(
            opb.GetOrderRequest(order_id=order_id), metadata=self.money.md, timeout=timeout_s
        )
        return reply.order

    async def unavailable_within(self, order_id: str, deadline_s: float) -> tuple[float, str]:
        """Calls GetOrder with a deadline; asserts UNAVAILABLE and returns (seconds taken, its message)."""
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await self.get_order(order_id, timeout_s=deadline_s)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE, err.value
        return time.monotonic() - started, err.value.details() or ""


async def serve(app: App) -> AsyncIterator[tuple[App, Client]]:
    await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            client = Client(channel, app)
            await client.wait_health(SERVING, within_s=5)
            await set_rule(client.money, rule())
            yield app, client
    finally:
        await app.stop()


@pytest_asyncio.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[tuple[App, Client]]:
    """The money services with their own embedded, supervised Redis (AOF, fsync always), not the session's.
    Restarted after a second, not the default tenth: the outage lasts long enough for health to show it."""
    config = server_config(
        tmp_path, None, services=("orders", "settlement"), redis_appendfsync="always",
        redis_restart=RestartBackoff(first_delay_s=1.0),
    )  # fmt: skip
    async for served in serve(App(config)):
        yield served


def redis_pid(app: App) -> int:
    assert app.embedded_redis is not None and app.embedded_redis.pid is not None
    return app.embedded_redis.pid


def is_zombie_or_gone(pid: int) -> str:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"
    return "zombie" if state == "Z" else f"state {state}"


async def test_killed_redis_is_restarted_and_nothing_paid_is_lost(own_redis: tuple[App, Client]) -> None:
    """kill -9 of the embedded Redis: health goes NOT_SERVING, the child is reaped and restarted on its AOF,
    health comes back by itself, and an order paid before the crash is still paid and split."""
    app, client = own_redis
    before = await create_and_pay(client.money, "o-before")
    assert before.split_state == opb.SPLIT_STATE_POSTED
    old_pid = redis_pid(app)

    os.kill(old_pid, signal.SIGKILL)
    assert await client.wait_health(NOT_SERVING, within_s=2) < 2
    assert await client.wait_health(SERVING, within_s=10) < 10
    assert is_zombie_or_gone(old_pid) == "gone", "the killed child was reaped"
    assert app.embedded_redis is not None and app.embedded_redis.restarts == 1
    assert redis_pid(app) != old_pid

    kept = await client.get_order("o-before")
    assert (kept.status, kept.paid_fen, kept.split_state) == (before.status, before.paid_fen, before.split_state)
    # Scripts the restarted Redis no longer knows are loaded again (NOSCRIPT) on the next payment.
    after = await create_and_pay(client.money, "o-after")
    assert after.split_state == opb.SPLIT_STATE_POSTED


async def test_stalled_redis_is_noticed_and_calls_answer_before_their_deadline(
    own_redis: tuple[App, Client],
) -> None:
    """SIGSTOP: a call already waiting on Redis answers UNAVAILABLE before its 1-s deadline, health goes
    NOT_SERVING within 2 s, calls then fail at once; SIGCONT: SERVING within 2 s, and calls read right."""
    app, client = own_redis
    await create_and_pay(client.money, "o1")
    pid = redis_pid(app)
    os.kill(pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        # Sent before the monitor can know: the handler waits on Redis and the deadline bound cuts it.
        waited_s, message = await client.unavailable_within("o1", deadline_s=1.0)
        assert waited_s < 1.0 and "did not answer in time" in message
        await client.wait_health(NOT_SERVING, within_s=2)
        assert time.monotonic() - stopped < 2
        # Known down: refused at once, without touching Redis.
        waited_s, message = await client.unavailable_within("o1", deadline_s=1.0)
        assert waited_s < 0.2 and "Redis is down" in message
    finally:
        os.kill(pid, signal.SIGCONT)
    assert await client.wait_health(SERVING, within_s=2) < 2
    # The connection cut mid-command was dropped, not reused with a late reply waiting in it.
    assert (await client.get_order("o1", timeout_s=1.0)).order_id == "o1"


async def test_external_redis_down_and_back_health_follows(tmp_path: Path) -> None:
    """With --redis-url the server detects an outage and recovers by itself, and does not start a Redis."""
    with EmbeddedRedis(tmp_path / "external", appendfsync="always") as external:
        config = server_config(tmp_path, external.url, services=("orders", "settlement"))
        async for app, client in serve(App(config)):
            assert app.embedded_redis is None
            await create_and_pay(client.money, "o1")
            await asyncio.to_thread(external.stop)
            await client.wait_health(NOT_SERVING, within_s=2)
            waited_s, _ = await client.unavailable_within("o1", deadline_s=1.0)
            assert waited_s < 0.2
            external.start()  # from the main thread, which outlives it (PDEATHSIG)
            assert await client.wait_health(SERVING, within_s=2) < 2
            assert (await client.get_order("o1")).status == opb.ORDER_STATUS_PAID


def test_stop_right_after_a_crash_leaves_no_redis_behind(tmp_path: Path) -> None:
    """stop() while the supervisor is about to restart a killed child: supervision ends, nothing restarts."""
    store = EmbeddedRedis(tmp_path, supervise=True, backoff=RestartBackoff(first_delay_s=0.05)).start()
    pid = store.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    store.stop()
    time.sleep(0.2)  # past the restart delay: a restart that slipped through would be running now
    assert store.pid is None
    assert is_zombie_or_gone(pid) == "gone"
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(port=store.port, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)).ping()
