"""The server against a real 3-master Redis Cluster: dispatch, orders and settlement, a dead master, a moved slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis.exceptions import TryAgainError

from core.clock import ManualClock
from serving.app import App, redis_client
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedCluster
from serving.redis_cluster import TongchengCluster, parse_cluster_url
from tests.conftest import Caller, ClusterSync, server_config
from tests.dispatch.api.helpers import fix, next_event, order, stream_fixes
from tests.settlement.helpers import Money, create_and_pay, rule, set_rule
from tongcheng.dispatch.v1 import dispatch_pb2 as dpb
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.settlement.v1 import settlement_pb2 as spb

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
ZONE_KEY, MONEY_KEY = "tc:{helsinki}:", "tc:{money}:"


@pytest.fixture
def cluster(redis_cluster: EmbeddedCluster) -> Iterator[EmbeddedCluster]:
    """The session's cluster, whole and emptied."""
    if not redis_cluster.running:  # a test that killed a node failed before starting it again
        redis_cluster.start()
    redis_cluster.flushall()
    yield redis_cluster


@pytest_asyncio.fixture
async def cluster_app(tmp_path: Path, cluster: EmbeddedCluster) -> AsyncIterator[App]:
    """The real server with every service against the cluster."""
    application = App(server_config(tmp_path, cluster.url))
    await application.start()
    yield application
    await application.stop()


def callers(app: App, channel: grpc.aio.Channel) -> tuple[TokenIssuer, Money]:
    assert app.private_key_file is not None
    issuer = TokenIssuer(app.private_key_file.read_bytes())
    return issuer, Money(channel, issuer.mint(Role.OPS))


async def wait_health(channel: grpc.aio.Channel, status: int, within_s: float) -> float:
    """Seconds until overall health says `status`."""
    stub = health_pb2_grpc.HealthStub(channel)
    started = time.monotonic()
    while (await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)).status != status:
        assert time.monotonic() - started < within_s, f"health did not become {status} within {within_s} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def wait_order(m: Money, order_id: str, status: int) -> opb.Order:
    for _ in range(100):
        got = (await m.orders.GetOrder(opb.GetOrderRequest(order_id=order_id), metadata=m.md)).order
        if got.status == status:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"order {order_id} stayed {got.status}")


def test_the_cluster_url_names_its_seeds() -> None:
    """redis+cluster:// (rediss+cluster://) lists seed nodes; the rest is redis-py's URL; other URLs are not clusters."""
    assert parse_cluster_url("redis://127.0.0.1:6379/0") is None
    assert parse_cluster_url("redis+cluster://10.0.0.1:7000,10.0.0.2:7001/0") == (
        "redis://10.0.0.1:7000/0",
        [("10.0.0.1", 7000), ("10.0.0.2", 7001)],
    )
    assert parse_cluster_url("rediss+cluster://u:p%40ss@h1,[::1]:7002/0?ssl_cert_reqs=none") == (
        "rediss://u:p%40ss@h1/0?ssl_cert_reqs=none",
        [("h1", 6379), ("::1", 7002)],
    )
    with pytest.raises(ValueError, match="seeds"):
        parse_cluster_url("redis+cluster://h1:7000,:7001/0")


def test_the_fixture_puts_zone_and_money_on_different_masters(cluster: EmbeddedCluster) -> None:
    """Three masters, all ok; the dispatch zone's slot and the money slot are served by two of them."""
    assert len(cluster.nodes) == 3 and all(cluster.cluster_info(i)["cluster_state"] == "ok" for i in range(3))
    assert cluster.node_of(ZONE_KEY) != cluster.node_of(MONEY_KEY)


async def test_dispatch_and_the_order_center_run_on_the_cluster(cluster_app: App, cluster: EmbeddedCluster) -> None:
    """Positions, AssignRiders and a rider's task steps; a paid order handed to dispatch and followed to its
    delivery: each side's keys on its own master."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{cluster_app.port}") as channel:
        issuer, m = callers(cluster_app, channel)
        rider = Caller(channel, issuer.mint(Role.RIDER, "r1"))
        svc = Caller(channel, issuer.mint(Role.ORDER_SERVICE))
        await stream_fixes(Caller(channel, issuer.mint(Role.OPS)), [[fix("r2", 60.1775, 24.9520)]])
        assert (await stream_fixes(rider, [[fix("r1", 60.1702, 24.9425)]])).accepted_count == 1
        feed = rider.stub.WatchAssignments(dpb.WatchAssignmentsRequest(rider_id="r1"), metadata=rider.metadata)
        reply = await svc.stub.AssignRiders(dpb.AssignRidersRequest(orders=[order("d1")]), metadata=svc.metadata)
        assert (reply.results[0].status, reply.results[0].rider_id) == (dpb.ORDER_STATUS_ASSIGNED, "r1")
        assert (await next_event(feed)).task.order_id == "d1"
        steps = [
            (dpb.TASK_ACTION_ACCEPT, dpb.ORDER_STATUS_ACCEPTED),
            (dpb.TASK_ACTION_ARRIVED_AT_MERCHANT, dpb.ORDER_STATUS_AT_MERCHANT),
            (dpb.TASK_ACTION_PICKED_UP, dpb.ORDER_STATUS_PICKED_UP),
            (dpb.TASK_ACTION_DELIVERED, dpb.ORDER_STATUS_DELIVERED),
        ]
        for action, status in steps:
            update = dpb.UpdateTaskRequest(rider_id="r1", order_id="d1", action=action)
            assert (await rider.stub.UpdateTask(update, metadata=rider.metadata)).task.status == status
            assert (await next_event(feed)).task.status == status

        await set_rule(m, rule())
        paid = await create_and_pay(m, "o1")
        assert paid.split_state == opb.SPLIT_STATE_POSTED
        await m.orders.AcceptOrder(opb.AcceptOrderRequest(order_id="o1"), metadata=m.md)  # the merchant's step
        assert (await next_event(feed)).task.order_id == "o1"  # r1 is free again and nearest
        for action in (dpb.TASK_ACTION_ACCEPT, dpb.TASK_ACTION_PICKED_UP, dpb.TASK_ACTION_DELIVERED):
            update = dpb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=action)
            await rider.stub.UpdateTask(update, metadata=rider.metadata)
        delivered = await wait_order(m, "o1", opb.ORDER_STATUS_DELIVERED)
        assert (delivered.rider_id, delivered.dispatch_status) == ("r1", "delivered")
        feed.cancel()

    for key, node in (
        (f"{ZONE_KEY}order:d1", cluster.node_of(ZONE_KEY)),
        (f"{MONEY_KEY}order:o1", cluster.node_of(MONEY_KEY)),
    ):
        direct = redis.Redis(port=cluster.nodes[node].port)
        try:
            assert direct.exists(key), f"{key} is not on node {node}"
        finally:
            direct.close()


async def test_orders_and_settlement_run_on_the_cluster(tmp_path: Path, cluster: EmbeddedCluster) -> None:
    """CreateOrder, PayOrder, RefundOrder, SplitOrders of a halted split, RunDailySettlement (T+1, under
    WATCH/MULTI) and Reconcile, all in the money slot of one master."""
    clock = ManualClock(1_773_108_000_000)  # 2026-03-10 10:00 CST
    app = App(server_config(tmp_path, cluster.url, services=("orders", "settlement")), clock=clock)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            _, m = callers(app, channel)
            await set_rule(m, rule())
            assert (await create_and_pay(m, "o1")).split_state == opb.SPLIT_STATE_POSTED
            halted = await create_and_pay(m, "o2", merchant_id="m2")  # no rule for m2 yet
            assert halted.split_state == opb.SPLIT_STATE_HALTED
            late = rule("m2")
            late.effective_from.CopyFrom(halted.paid_at)
            await set_rule(m, late)
            split = spb.SplitOrdersRequest(splits=[spb.SplitOrderRequest(idempotency_key="k2", order_id="o2")])
            [result] = (await m.settlement.SplitOrders(split, metadata=m.md)).results
            assert result.outcome == spb.SPLIT_OUTCOME_POSTED
            refund = opb.RefundOrderRequest(order_id="o1", idempotency_key="r1", amount_fen=1_000)
            assert (await m.orders.RefundOrder(refund, metadata=m.md)).refunded

            clock.advance(24 * 3600)
            run = await m.settlement.RunDailySettlement(
                spb.RunDailySettlementRequest(business_day="2026-03-10"), metadata=m.md
            )
            assert run.ran_now and list(run.days_settled) == ["2026-03-10"] and run.statements
            again = await m.settlement.RunDailySettlement(
                spb.RunDailySettlementRequest(business_day="2026-03-10"), metadata=m.md
            )
            assert not again.ran_now and list(again.statements) == list(run.statements)
            report = await m.settlement.Reconcile(spb.ReconcileRequest(), metadata=m.md)
            assert report.orders_checked == 2 and list(report.differences) == []
            assert report.ledger_net_fen == 2 * 9_500 - 1_000
    finally:
        await app.stop()


async def test_a_dead_master_is_unavailable_until_it_is_back_with_its_data(
    tmp_path: Path, cluster: EmbeddedCluster
) -> None:
    """kill -9 of the money slot's master: health NOT_SERVING and calls UNAVAILABLE within the monitor's bound;
    started again on its data, it serves the orders paid before it died."""
    app = App(server_config(tmp_path, cluster.url, services=("orders", "settlement")))
    await app.start()
    node = cluster.node_of(MONEY_KEY)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            _, m = callers(app, channel)
            await wait_health(channel, SERVING, within_s=5)
            await set_rule(m, rule())
            await create_and_pay(m, "o1")
            await asyncio.to_thread(cluster.kill_node, node)
            try:
                assert await wait_health(channel, NOT_SERVING, within_s=1.5) < 1.5
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await m.orders.GetOrder(opb.GetOrderRequest(order_id="o1"), metadata=m.md, timeout=5)
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            finally:
                cluster.start_node(node, wait=False)  # from the main thread, which outlives it
            await asyncio.to_thread(cluster.wait_ok)
            await wait_health(channel, SERVING, within_s=5)
            got = await m.orders.GetOrder(opb.GetOrderRequest(order_id="o1"), metadata=m.md)
            assert got.order.status == opb.ORDER_STATUS_PAID and got.order.split_state == opb.SPLIT_STATE_POSTED
            report = await m.settlement.Reconcile(spb.ReconcileRequest(), metadata=m.md)
            assert report.orders_checked == 1 and list(report.differences) == []
    finally:
        await app.stop()


async def test_a_transaction_follows_its_slot_to_another_master(cluster: EmbeddedCluster) -> None:
    """WATCH/MULTI runs on the master of its shard_hint's slot; after the slot moves, one call fails as
    TRYAGAIN (UNAVAILABLE to callers) and the next runs on the new master. No shard_hint is refused."""
    client = redis_client(cluster.url)
    assert isinstance(client, TongchengCluster)
    key = f"{ZONE_KEY}counter"
    home = cluster.node_of(ZONE_KEY)
    try:

        async def bump() -> None:
            async with client.pipeline(transaction=True, shard_hint=ZONE_KEY) as pipe:
                await pipe.watch(key)
                value = int(await pipe.get(key) or 0)
                pipe.multi()
                pipe.set(key, value + 1)
                await pipe.execute()

        await bump()
        await asyncio.to_thread(cluster.move_slot, ZONE_KEY, (home + 1) % 3)
        with pytest.raises(TryAgainError):
            await bump()
        await bump()
        assert await client.get(key) == "2"
        with pytest.raises(ValueError, match="shard_hint"):
            client.pipeline(transaction=True)
    finally:
        await client.aclose()
        await asyncio.to_thread(cluster.move_slot, ZONE_KEY, home)


async def test_zones_spread_over_the_masters_and_riders_cross_them(cluster: EmbeddedCluster) -> None:
    """A city of many zones on the cluster: its zones' slots lie on every master, and the zone tests' own
    checks hold there — orders in their pickup's zone, riders handed over between zones on different masters
    (never offerable in two), waiting callers and WatchOrders across zones, workers spreading the leases."""
    from tests.dispatch import test_zones as zt

    client = redis_client(cluster.url)
    plain = ClusterSync(host="127.0.0.1", port=cluster.nodes[0].port, decode_responses=True)
    try:
        zoning = zt.H3Zones(zt.CITY, zt.RES)
        assert {cluster.node_of(f"tc:{{{z}}}:") for z in zoning.ids} == {0, 1, 2}
        for check in (
            zt.test_orders_live_in_the_zone_of_their_pickup,
            zt.test_a_rider_changes_zone_only_with_empty_hands,
            zt.test_no_rider_is_ever_offered_work_by_two_zones_at_once,
            zt.test_a_stale_move_never_brings_a_rider_back,
        ):
            cluster.flushall()
            await check(client, plain)
        cluster.flushall()
        await zt.test_waiting_callers_and_order_watchers_see_every_zone(client)
        cluster.flushall()
        await zt.test_workers_spread_the_zones_and_take_over_a_stopped_one(client)
    finally:
        await client.aclose()
        plain.close()
