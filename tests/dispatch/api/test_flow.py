"""Every dispatch RPC's normal path, through the real server and a real Redis."""

from __future__ import annotations

import asyncio

import grpc
import pytest
import redis

from serving.app import App
from serving.auth import Role
from tests.conftest import now_ms
from tests.dispatch.api.helpers import fix, next_event, order, stream_fixes
from tongcheng.dispatch.v1 import dispatch_pb2 as pb


async def place_riders(as_role, riders: dict[str, tuple[float, float]]) -> None:  # type: ignore[no-untyped-def]
    ops = as_role(Role.OPS)
    result = await stream_fixes(ops, [[fix(r, lat, lng) for r, (lat, lng) in riders.items()]])
    assert result.accepted_count == len(riders)


async def test_assign_riders_offers_the_nearest_rider(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """An order goes to the nearest available rider, with pickup and drop-off estimates."""
    await place_riders(as_role, {"near": (60.1702, 24.9425), "far": (60.1775, 24.9520)})
    svc = as_role(Role.ORDER_SERVICE)
    reply = await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("o1")]), metadata=svc.metadata, timeout=5)
    [result] = reply.results
    assert result.status == pb.ORDER_STATUS_ASSIGNED
    assert result.rider_id == "near"
    assert result.estimated_pickup_at.seconds > 0
    assert result.estimated_dropoff_at.ToMilliseconds() > result.estimated_pickup_at.ToMilliseconds()


async def test_assign_riders_is_idempotent(app: App, as_role, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """Resubmitting an order returns its current state and never makes a second assignment."""
    await place_riders(as_role, {"a": (60.1702, 24.9425), "b": (60.1703, 24.9426)})
    svc = as_role(Role.ORDER_SERVICE)
    first_order = order("o1")
    first = await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[first_order]), metadata=svc.metadata, timeout=5)
    again = await asyncio.gather(
        *[
            svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[first_order]), metadata=svc.metadata, timeout=5)
            for _ in range(5)
        ]
    )
    assert {r.results[0].rider_id for r in again} == {first.results[0].rider_id}
    assert redis_sync.zcard("tc:{helsinki}:orders:offers") == 1
    holders = [r for r in ("a", "b") if redis_sync.scard(f"tc:{{helsinki}}:rider_tasks:{r}")]
    assert holders == [first.results[0].rider_id]
    history = redis_sync.lrange("tc:{helsinki}:order_history:o1", 0, -1)
    assert sum('"s":"assigned"' in h for h in history) == 1


async def test_batch_assigns_distinct_riders(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """One batch never offers two orders to one rider; extra orders stay pending."""
    await place_riders(as_role, {"a": (60.1702, 24.9425), "b": (60.1706, 24.9430)})
    svc = as_role(Role.ORDER_SERVICE)
    reply = await svc.stub.AssignRiders(
        pb.AssignRidersRequest(orders=[order(f"o{i}") for i in range(3)]), metadata=svc.metadata, timeout=1.5
    )
    statuses = [r.status for r in reply.results]
    assert statuses.count(pb.ORDER_STATUS_ASSIGNED) == 2
    assert statuses.count(pb.ORDER_STATUS_PENDING) == 1
    assert len({r.rider_id for r in reply.results if r.rider_id}) == 2


async def test_undecided_orders_answer_pending_at_the_deadline(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """With no rider around, the call returns PENDING by its deadline and the order stays pooled."""
    svc = as_role(Role.ORDER_SERVICE)
    reply = await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("o1")]), metadata=svc.metadata, timeout=1)
    assert reply.results[0].status == pb.ORDER_STATUS_PENDING
    await place_riders(as_role, {"late": (60.1702, 24.9425)})
    for _ in range(50):
        got = await svc.stub.GetOrder(pb.GetOrderRequest(order_id="o1"), metadata=svc.metadata)
        if got.order.status == pb.ORDER_STATUS_ASSIGNED:
            break
        await asyncio.sleep(0.1)
    assert got.order.rider_id == "late"


async def test_orders_outside_the_service_area_are_rejected_with_a_reason(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """REJECTED carries why: a pickup in another city is not served."""
    svc = as_role(Role.ORDER_SERVICE)
    reply = await svc.stub.AssignRiders(
        pb.AssignRidersRequest(orders=[order("tallinn", pickup=(59.437, 24.7536))]), metadata=svc.metadata, timeout=2
    )
    assert reply.results[0].status == pb.ORDER_STATUS_REJECTED
    assert "service area" in reply.results[0].reason


async def test_stream_counts_accepted_rejected_and_stale(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """The stream's reply counts each fix once, and names the field of every rejected one."""
    ops = as_role(Role.OPS)
    t = now_ms()
    reply = await stream_fixes(
        ops,
        [
            [fix("r1", 60.17, 24.94, t), fix("r2", 60.171, 24.941, t)],
            [fix("r1", 60.18, 24.95, t - 10_000), fix("r3", 91.0, 24.9, t), fix("r4", float("nan"), 24.9, t)],
            [fix("", 60.17, 24.94, t), fix("r5", 60.17, 24.94, t + 3_600_000)],
        ],
    )
    assert (reply.accepted_count, reply.stale_count, reply.rejected_count) == (2, 1, 4)
    assert [(r.message_index, r.fix_index, r.field) for r in reply.rejections] == [
        (1, 1, "fixes[1].position.lat"),
        (1, 2, "fixes[2].position.lat"),
        (2, 0, "fixes[0].rider_id"),
        (2, 1, "fixes[1].recorded_at"),
    ]


async def test_watch_update_and_complete_a_task(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """A rider sees its offer, accepts, arrives, picks up and delivers; GetOrder shows the history."""
    rider = as_role(Role.RIDER, "r1")
    await stream_fixes(rider, [[fix("r1", 60.1702, 24.9425)]])
    watch = rider.stub.WatchAssignments(pb.WatchAssignmentsRequest(rider_id="r1"), metadata=rider.metadata)
    svc = as_role(Role.ORDER_SERVICE)
    await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("o1")]), metadata=svc.metadata, timeout=5)
    offered = await next_event(watch)
    assert offered.type == pb.TASK_EVENT_TYPE_OFFERED
    assert offered.task.order_id == "o1" and offered.task.offer_expires_at.seconds > 0

    steps = [
        (pb.TASK_ACTION_ACCEPT, pb.ORDER_STATUS_ACCEPTED),
        (pb.TASK_ACTION_ARRIVED_AT_MERCHANT, pb.ORDER_STATUS_AT_MERCHANT),
        (pb.TASK_ACTION_PICKED_UP, pb.ORDER_STATUS_PICKED_UP),
        (pb.TASK_ACTION_DELIVERED, pb.ORDER_STATUS_DELIVERED),
    ]
    for action, status in steps:
        reply = await rider.stub.UpdateTask(
            pb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=action), metadata=rider.metadata
        )
        assert reply.task.status == status
        event = await next_event(watch)
        assert (event.type, event.task.status) == (pb.TASK_EVENT_TYPE_UPDATED, status)
    watch.cancel()

    got = await svc.stub.GetOrder(pb.GetOrderRequest(order_id="o1"), metadata=svc.metadata)
    assert [e.status for e in got.order.history] == [
        pb.ORDER_STATUS_PENDING,
        pb.ORDER_STATUS_ASSIGNED,
        *[s for _, s in steps],
    ]
    assert got.order.rider_id == "r1"


async def test_repeated_step_is_a_noop_and_illegal_step_fails_precondition(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """Accepting twice is harmless; delivering before pickup is FAILED_PRECONDITION."""
    rider = as_role(Role.RIDER, "r1")
    await stream_fixes(rider, [[fix("r1", 60.1702, 24.9425)]])
    svc = as_role(Role.ORDER_SERVICE)
    await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("o1")]), metadata=svc.metadata, timeout=5)
    accept = pb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=pb.TASK_ACTION_ACCEPT)
    for _ in range(2):
        reply = await rider.stub.UpdateTask(accept, metadata=rider.metadata)
        assert reply.task.status == pb.ORDER_STATUS_ACCEPTED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rider.stub.UpdateTask(
            pb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=pb.TASK_ACTION_DELIVERED), metadata=rider.metadata
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_rejected_offer_goes_to_another_rider(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """A rejection puts the order back in the pool at once; the next tick offers it to someone else."""
    await place_riders(as_role, {"r1": (60.1702, 24.9425), "r2": (60.1725, 24.9460)})
    svc = as_role(Role.ORDER_SERVICE)
    reply = await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("o1")]), metadata=svc.metadata, timeout=5)
    assert reply.results[0].rider_id == "r1"
    r1 = as_role(Role.RIDER, "r1")
    rejected = await r1.stub.UpdateTask(
        pb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=pb.TASK_ACTION_REJECT), metadata=r1.metadata
    )
    assert rejected.task.status in (pb.ORDER_STATUS_PENDING, pb.ORDER_STATUS_ASSIGNED)
    for _ in range(50):
        got = await svc.stub.GetOrder(pb.GetOrderRequest(order_id="o1"), metadata=svc.metadata)
        if got.order.rider_id == "r2":
            break
        await asyncio.sleep(0.1)
    assert (got.order.status, got.order.rider_id) == (pb.ORDER_STATUS_ASSIGNED, "r2")
    # r1's late accept of the offer it rejected is refused.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await r1.stub.UpdateTask(
            pb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=pb.TASK_ACTION_ACCEPT), metadata=r1.metadata
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_unanswered_offer_expires_back_to_the_pool(tmp_path, redis_server, redis_sync) -> None:  # type: ignore[no-untyped-def]
    """An offer not accepted within offer_timeout_s returns to the pool; the rider is told."""
    from serving.auth import TokenIssuer
    from tests.conftest import Caller, server_config

    application = App(server_config(tmp_path, redis_server.url, dispatch_overrides={"offer_timeout_s": 0.5}))
    await application.start()
    try:
        assert application.private_key_file is not None
        issuer = TokenIssuer(application.private_key_file.read_bytes())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{application.port}") as ch:
            rider = Caller(ch, issuer.mint(Role.RIDER, "r1"))
            svc = Caller(ch, issuer.mint(Role.ORDER_SERVICE))
            await stream_fixes(rider, [[fix("r1", 60.1702, 24.9425)]])
            watch = rider.stub.WatchAssignments(pb.WatchAssignmentsRequest(rider_id="r1"), metadata=rider.metadata)
            await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("o1")]), metadata=svc.metadata, timeout=5)
            assert (await next_event(watch)).type == pb.TASK_EVENT_TYPE_OFFERED
            expired = await next_event(watch)
            assert expired.type == pb.TASK_EVENT_TYPE_OFFER_EXPIRED
            assert expired.task.status == pb.ORDER_STATUS_PENDING
            watch.cancel()
            assert redis_sync.smembers("tc:{helsinki}:order_declined:o1") == {"r1"}
    finally:
        await application.stop()


async def test_watch_resumes_after_an_event_id(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """A reconnecting rider passes its last event id and gets exactly the events it missed."""
    rider = as_role(Role.RIDER, "r1")
    await stream_fixes(rider, [[fix("r1", 60.1702, 24.9425)]])
    watch = rider.stub.WatchAssignments(pb.WatchAssignmentsRequest(rider_id="r1"), metadata=rider.metadata)
    svc = as_role(Role.ORDER_SERVICE)
    await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("o1")]), metadata=svc.metadata, timeout=5)
    offered = await next_event(watch)
    watch.cancel()
    for action in (pb.TASK_ACTION_ACCEPT, pb.TASK_ACTION_PICKED_UP):
        await rider.stub.UpdateTask(
            pb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=action), metadata=rider.metadata
        )
    resumed = rider.stub.WatchAssignments(
        pb.WatchAssignmentsRequest(rider_id="r1", resume_after_event_id=offered.event_id), metadata=rider.metadata
    )
    missed = [await next_event(resumed), await next_event(resumed)]
    resumed.cancel()
    assert [e.task.status for e in missed] == [pb.ORDER_STATUS_ACCEPTED, pb.ORDER_STATUS_PICKED_UP]
    ids = [tuple(map(int, e.split("-"))) for e in (offered.event_id, missed[0].event_id, missed[1].event_id)]
    assert ids == sorted(set(ids))


async def test_cancel_order(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """Cancelling tells the rider; after pickup, cancelling is FAILED_PRECONDITION."""
    rider = as_role(Role.RIDER, "r1")
    await stream_fixes(rider, [[fix("r1", 60.1702, 24.9425)]])
    watch = rider.stub.WatchAssignments(pb.WatchAssignmentsRequest(rider_id="r1"), metadata=rider.metadata)
    svc = as_role(Role.ORDER_SERVICE)
    await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("o1")]), metadata=svc.metadata, timeout=5)
    assert (await next_event(watch)).type == pb.TASK_EVENT_TYPE_OFFERED
    reply = await svc.stub.CancelOrder(pb.CancelOrderRequest(order_id="o1", reason="customer"), metadata=svc.metadata)
    assert reply.status == pb.ORDER_STATUS_CANCELLED
    assert (await next_event(watch)).type == pb.TASK_EVENT_TYPE_CANCELLED
    watch.cancel()

    await svc.stub.AssignRiders(pb.AssignRidersRequest(orders=[order("o2")]), metadata=svc.metadata, timeout=5)
    for action in (pb.TASK_ACTION_ACCEPT, pb.TASK_ACTION_PICKED_UP):
        await rider.stub.UpdateTask(
            pb.UpdateTaskRequest(rider_id="r1", order_id="o2", action=action), metadata=rider.metadata
        )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await svc.stub.CancelOrder(pb.CancelOrderRequest(order_id="o2"), metadata=svc.metadata)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_merchant_sees_and_cancels_only_its_own_orders(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """A merchant token reaches its own orders and no one else's."""
    svc = as_role(Role.ORDER_SERVICE)
    await svc.stub.AssignRiders(
        pb.AssignRidersRequest(orders=[order("mine", merchant_id="m1"), order("theirs", merchant_id="m2")]),
        metadata=svc.metadata,
        timeout=0.5,
    )
    m1 = as_role(Role.MERCHANT, "m1")
    got = await m1.stub.GetOrder(pb.GetOrderRequest(order_id="mine"), metadata=m1.metadata)
    assert got.order.order.merchant_id == "m1"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await m1.stub.CancelOrder(pb.CancelOrderRequest(order_id="theirs"), metadata=m1.metadata)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    reply = await m1.stub.CancelOrder(pb.CancelOrderRequest(order_id="mine"), metadata=m1.metadata)
    assert reply.status == pb.ORDER_STATUS_CANCELLED
