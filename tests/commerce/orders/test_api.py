"""OrderService through the real gRPC server and Redis: the state machine, payment with its split,
refunds, the hand-over to dispatch and following it, bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import pytest
import redis

from serving.app import App
from serving.auth import Role
from tests.conftest import redis_snapshot
from tests.dispatch.api.helpers import bad_request_fields, fix, next_event, stream_fixes
from tests.dispatch.api.helpers import order as dispatch_order
from tests.settlement.helpers import Money, create_and_pay, new_order, rule, set_rule
from tongcheng.dispatch.v1 import dispatch_pb2 as dpb
from tongcheng.orders.v1 import orders_pb2 as pb
from tongcheng.settlement.v1 import settlement_pb2 as spb

S = pb.OrderStatus


def money_keys(client: redis.Redis) -> dict[str, object]:
    return {k: v for k, v in redis_snapshot(client).items() if k.startswith("tc:{money}:")}


async def call(m: Money, step: str, order_id: str, n: int = 0) -> pb.Order:
    """One step of the state machine through its RPC."""
    o, md = m.orders, m.md
    if step == "pay":
        got = await o.GetOrder(pb.GetOrderRequest(order_id=order_id), metadata=md)
        r = await o.PayOrder(
            pb.PayOrderRequest(order_id=order_id, payment_id=f"p{n}", amount_fen=got.order.total_fen), metadata=md
        )
    elif step == "accept":
        r = await o.AcceptOrder(pb.AcceptOrderRequest(order_id=order_id), metadata=md)
    elif step == "reject":
        r = await o.RejectOrder(pb.RejectOrderRequest(order_id=order_id, reason="sold out"), metadata=md)
    elif step == "ready":
        r = await o.MarkReady(pb.MarkReadyRequest(order_id=order_id), metadata=md)
    elif step == "pick_up":
        r = await o.MarkPickedUp(pb.MarkPickedUpRequest(order_id=order_id), metadata=md)
    elif step == "deliver":
        r = await o.MarkDelivered(pb.MarkDeliveredRequest(order_id=order_id), metadata=md)
    elif step == "complete":
        r = await o.CompleteOrder(pb.CompleteOrderRequest(order_id=order_id), metadata=md)
    elif step == "cancel":
        r = await o.CancelOrder(pb.CancelOrderRequest(order_id=order_id, reason="customer"), metadata=md)
    elif step == "refund_all":
        got = await o.GetOrder(pb.GetOrderRequest(order_id=order_id), metadata=md)
        left = got.order.paid_fen - got.order.refunded_fen
        r = await o.RefundOrder(
            pb.RefundOrderRequest(order_id=order_id, idempotency_key=f"all{n}", amount_fen=max(left, 1)), metadata=md
        )
    elif step == "refund_part":
        r = await o.RefundOrder(
            pb.RefundOrderRequest(order_id=order_id, idempotency_key=f"part{n}", amount_fen=1), metadata=md
        )
    else:
        raise AssertionError(step)
    return r.order


# How to bring a fresh order to each status, step by step.
PATHS: dict[int, list[str]] = {
    S.ORDER_STATUS_CREATED: [],
    S.ORDER_STATUS_PAID: ["pay"],
    S.ORDER_STATUS_ACCEPTED: ["pay", "accept"],
    S.ORDER_STATUS_READY: ["pay", "accept", "ready"],
    S.ORDER_STATUS_PICKED_UP: ["pay", "accept", "ready", "pick_up"],
    S.ORDER_STATUS_DELIVERED: ["pay", "accept", "ready", "pick_up", "deliver"],
    S.ORDER_STATUS_COMPLETED: ["pay", "accept", "ready", "pick_up", "deliver", "complete"],
    S.ORDER_STATUS_CANCELLED: ["cancel"],
    S.ORDER_STATUS_REJECTED: ["pay", "reject"],
    S.ORDER_STATUS_REFUNDED: ["pay", "refund_all"],
}
# Which statuses each step may start from (the state machine of the proto's comment).
ALLOWED: dict[str, set[int]] = {
    "pay": {S.ORDER_STATUS_CREATED},
    "accept": {S.ORDER_STATUS_PAID},
    "reject": {S.ORDER_STATUS_PAID},
    "ready": {S.ORDER_STATUS_ACCEPTED},
    "pick_up": {S.ORDER_STATUS_ACCEPTED, S.ORDER_STATUS_READY},
    "deliver": {S.ORDER_STATUS_PICKED_UP},
    "complete": {S.ORDER_STATUS_DELIVERED},
    "cancel": {S.ORDER_STATUS_CREATED, S.ORDER_STATUS_PAID, S.ORDER_STATUS_ACCEPTED, S.ORDER_STATUS_READY},
    "refund_part": {
        S.ORDER_STATUS_PAID, S.ORDER_STATUS_ACCEPTED, S.ORDER_STATUS_READY, S.ORDER_STATUS_DELIVERED,
        S.ORDER_STATUS_COMPLETED,
    },
}  # fmt: skip
TARGET = {
    "pay": S.ORDER_STATUS_PAID, "accept": S.ORDER_STATUS_ACCEPTED, "reject": S.ORDER_STATUS_REJECTED,
    "ready": S.ORDER_STATUS_READY, "pick_up": S.ORDER_STATUS_PICKED_UP, "deliver": S.ORDER_STATUS_DELIVERED,
    "complete": S.ORDER_STATUS_COMPLETED, "cancel": S.ORDER_STATUS_CANCELLED,
}  # fmt: skip


async def test_every_illegal_transition_is_refused(money_only, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """From each of the ten statuses, every step the state machine forbids is FAILED_PRECONDITION and changes nothing
    (on a server running the order center and settlement alone, as `--services orders,settlement`)."""
    m = money_only(Role.OPS)
    await set_rule(m, rule())
    refused = 0
    for status, path in PATHS.items():
        oid = f"o-{S.Name(status).lower()}"
        await m.orders.CreateOrder(new_order(oid), metadata=m.md)
        for n, step in enumerate(path):
            await call(m, step, oid, n)
        got = await m.orders.GetOrder(pb.GetOrderRequest(order_id=oid), metadata=m.md)
        assert got.order.status == status, (oid, path)
        for step, sources in ALLOWED.items():
            if status in sources or TARGET.get(step) == status:
                continue
            before = money_keys(redis_sync)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call(m, step, oid, 99)
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION, (S.Name(status), step, err.value.details())
            assert money_keys(redis_sync) == before, (S.Name(status), step)
            refused += 1
    assert refused == 65  # 10 statuses x 9 steps, less the 17 allowed pairs and the 8 harmless repeats


async def test_lifecycle_splits_on_payment_and_refunds_reverse(app: App, money) -> None:  # type: ignore[no-untyped-def]
    """Create, pay (split at once), accept, ready, pick up, deliver, complete; a partial refund reverses in proportion."""
    m = money(Role.OPS)
    await set_rule(m, rule())
    paid = await create_and_pay(m, "o1", group_leader_id="g1")
    assert (paid.status, paid.split_state, paid.paid_fen) == (S.ORDER_STATUS_PAID, pb.SPLIT_STATE_POSTED, 9_500)
    split = await m.settlement.GetSplit(spb.GetSplitRequest(order_id="o1"), metadata=m.md)
    legs = {leg.receiver: leg.amount_fen for leg in split.split.legs}
    # 9,500 fen: platform 5% = 475, rider 8% + 100 = 860, group leader 3% = 285, the merchant the rest.
    assert legs == {"merchant:m1": 7_880, "platform:tongcheng": 475, "rider:fleet": 860, "group_leader:g1": 285}
    for n, step in enumerate(["accept", "ready", "pick_up", "deliver", "complete"]):
        order = await call(m, step, "o1", n)
    assert order.status == S.ORDER_STATUS_COMPLETED
    refund = await m.orders.RefundOrder(
        pb.RefundOrderRequest(order_id="o1", idempotency_key="r1", amount_fen=950, reason="late"), metadata=m.md
    )
    assert refund.refunded and refund.order.refunded_fen == 950 and refund.order.status == S.ORDER_STATUS_COMPLETED
    back = {leg.receiver: leg.amount_fen for leg in refund.legs}
    # A tenth of each leg: platform 47.5 and group leader 28.5 tie for the one fen left over; the
    # documented tie-break (merchant, head office, platform, rider, group leader) gives it to the platform.
    assert back == {"merchant:m1": 788, "platform:tongcheng": 48, "rider:fleet": 86, "group_leader:g1": 28}
    assert sum(back.values()) == 950
    history = await m.orders.GetOrder(pb.GetOrderRequest(order_id="o1"), metadata=m.md)
    assert [e.status for e in history.history][:3] == [
        S.ORDER_STATUS_CREATED,
        S.ORDER_STATUS_PAID,
        S.ORDER_STATUS_ACCEPTED,
    ]


async def test_create_is_idempotent_and_a_clash_is_invalid(app: App, money, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """The same order id and body returns the stored order; another body is INVALID_ARGUMENT naming order_id."""
    m = money(Role.ORDER_SERVICE)
    first = await m.orders.CreateOrder(new_order("o1"), metadata=m.md)
    again = await m.orders.CreateOrder(new_order("o1"), metadata=m.md)
    assert first.created and not again.created and again.order.total_fen == 9_500
    before = money_keys(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await m.orders.CreateOrder(new_order("o1", items_fen=9_001), metadata=m.md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err.value) == ["order_id"]
    assert money_keys(redis_sync) == before


@pytest.mark.parametrize(
    ("make_call", "fields"),
    [
        (lambda o, md: o.CreateOrder(new_order("x", items_fen=-5), metadata=md), ["items_fen"]),
        (lambda o, md: o.CreateOrder(new_order("x", items_fen=0, delivery_fee_fen=-1), metadata=md), ["items_fen", "delivery_fee_fen"]),
        (lambda o, md: o.CreateOrder(new_order("x", items_fen=2_000_000_000), metadata=md), ["items_fen"]),
        (lambda o, md: o.PayOrder(pb.PayOrderRequest(order_id="o1", payment_id="p", amount_fen=0), metadata=md), ["amount_fen"]),
        (lambda o, md: o.PayOrder(pb.PayOrderRequest(order_id="o1", payment_id="p", amount_fen=9_499), metadata=md), ["amount_fen"]),
        (lambda o, md: o.PayOrder(pb.PayOrderRequest(order_id="nope", payment_id="p", amount_fen=100), metadata=md), ["order_id"]),
        (lambda o, md: o.RefundOrder(pb.RefundOrderRequest(order_id="o1", idempotency_key="k", amount_fen=-1), metadata=md), ["amount_fen"]),
        (lambda o, md: o.RefundOrder(pb.RefundOrderRequest(order_id="nope", idempotency_key="k", amount_fen=1), metadata=md), ["order_id"]),
        (lambda o, md: o.RefundOrder(pb.RefundOrderRequest(order_id="o2", idempotency_key="k", amount_fen=9_501), metadata=md), ["amount_fen"]),
        (lambda o, md: o.RefundOrder(pb.RefundOrderRequest(order_id="o2", idempotency_key="", amount_fen=1), metadata=md), ["idempotency_key"]),
        (lambda o, md: o.PayOrder(pb.PayOrderRequest(order_id="o1", payment_id="p1-nl\n", amount_fen=9_500), metadata=md), ["payment_id"]),
        (lambda o, md: o.CreateOrder(new_order("p1-nl\n"), metadata=md), ["order_id"]),
        (lambda o, md: o.CreateOrder(new_order("x", customer_id="u\r\n"), metadata=md), ["customer_id"]),
        (lambda o, md: o.RefundOrder(pb.RefundOrderRequest(order_id="o2", idempotency_key="k", amount_fen=1, reason="a\x00b"), metadata=md), ["reason"]),
    ],
)  # fmt: skip
async def test_bad_input_names_the_field_and_changes_nothing(  # type: ignore[no-untyped-def]
    app: App, money, redis_sync: redis.Redis, make_call: Callable[..., Awaitable[object]], fields: list[str]
) -> None:
    """Negative or zero amounts, unknown orders, amounts not matching the order: INVALID_ARGUMENT naming the field."""
    m = money(Role.OPS)
    await set_rule(m, rule())
    await m.orders.CreateOrder(new_order("o1"), metadata=m.md)
    await create_and_pay(m, "o2")
    before = money_keys(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await make_call(m.orders, m.md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(err.value) == fields
    assert money_keys(redis_sync) == before


async def test_refund_key_reused_with_another_body_is_refused(app: App, money, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """A refund retried with its key changes nothing; the key with another amount is INVALID_ARGUMENT."""
    m = money(Role.OPS)
    await set_rule(m, rule())
    await create_and_pay(m, "o1")
    req = pb.RefundOrderRequest(order_id="o1", idempotency_key="k1", amount_fen=100)
    first = await m.orders.RefundOrder(req, metadata=m.md)
    before = money_keys(redis_sync)
    again = await m.orders.RefundOrder(req, metadata=m.md)
    assert first.refunded and not again.refunded and list(again.legs) == list(first.legs)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await m.orders.RefundOrder(
            pb.RefundOrderRequest(order_id="o1", idempotency_key="k1", amount_fen=101), metadata=m.md
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err.value) == ["idempotency_key"]
    assert money_keys(redis_sync) == before


async def test_hundred_concurrent_identical_refunds_have_one_effect(app: App, money) -> None:  # type: ignore[no-untyped-def]
    """100 identical RefundOrder calls at once: one refund, one set of reversing entries."""
    m = money(Role.ORDER_SERVICE)
    ops = money(Role.OPS)
    await set_rule(ops, rule())
    await create_and_pay(m, "o1")
    req = pb.RefundOrderRequest(order_id="o1", idempotency_key="same", amount_fen=333)
    replies = await asyncio.gather(*(m.orders.RefundOrder(req, metadata=m.md) for _ in range(100)))
    assert sum(r.refunded for r in replies) == 1
    assert {tuple((leg.receiver, leg.amount_fen) for leg in r.legs) for r in replies} == {
        tuple((leg.receiver, leg.amount_fen) for leg in replies[0].legs)
    }
    split = await ops.settlement.GetSplit(spb.GetSplitRequest(order_id="o1"), metadata=ops.md)
    assert sum(leg.reversed_fen for leg in split.split.legs) == 333
    assert len([e for e in split.entries if e.amount_fen < 0]) == len(replies[0].legs)
    order = await m.orders.GetOrder(pb.GetOrderRequest(order_id="o1"), metadata=m.md)
    assert order.order.refunded_fen == 333


async def test_merchant_acts_only_on_its_own_orders(app: App, money) -> None:  # type: ignore[no-untyped-def]
    """A merchant accepts its own paid order; another merchant's is PERMISSION_DENIED; riders may not create orders."""
    ops = money(Role.OPS)
    await set_rule(ops, rule())
    await create_and_pay(ops, "o1")
    mine, other = money(Role.MERCHANT, "m1"), money(Role.MERCHANT, "m2")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await other.orders.AcceptOrder(pb.AcceptOrderRequest(order_id="o1"), metadata=other.md)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    accepted = await mine.orders.AcceptOrder(pb.AcceptOrderRequest(order_id="o1"), metadata=mine.md)
    assert accepted.order.status == S.ORDER_STATUS_ACCEPTED
    rider = money(Role.RIDER, "r1")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rider.orders.CreateOrder(new_order("o9"), metadata=rider.md)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_paid_order_goes_to_dispatch_and_follows_pickup_and_delivery(app: App, money, as_role) -> None:  # type: ignore[no-untyped-def]
    """PayOrder hands the order to dispatch; the rider's pickup and delivery there move the order on by themselves."""
    m = money(Role.OPS)
    await set_rule(m, rule())
    rider = as_role(Role.RIDER, "r1")
    await stream_fixes(rider, [[fix("r1", 60.1702, 24.9425)]])
    paid = await create_and_pay(m, "o1")
    assert paid.dispatch_status in ("pending", "assigned")
    await m.orders.AcceptOrder(pb.AcceptOrderRequest(order_id="o1"), metadata=m.md)
    feed = rider.stub.WatchAssignments(dpb.WatchAssignmentsRequest(rider_id="r1"), metadata=rider.metadata)
    offered = await next_event(feed)
    assert offered.task.order_id == "o1"
    for action in (dpb.TASK_ACTION_ACCEPT, dpb.TASK_ACTION_PICKED_UP):
        await rider.stub.UpdateTask(
            dpb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=action), metadata=rider.metadata
        )
    order = await wait_status(m, "o1", S.ORDER_STATUS_PICKED_UP)
    assert order.rider_id == "r1"
    await rider.stub.UpdateTask(
        dpb.UpdateTaskRequest(rider_id="r1", order_id="o1", action=dpb.TASK_ACTION_DELIVERED), metadata=rider.metadata
    )
    order = await wait_status(m, "o1", S.ORDER_STATUS_DELIVERED)
    assert order.dispatch_status == "delivered"
    feed.cancel()
    # A cancelled paid order is called off in dispatch too, and refunded in full.
    await create_and_pay(m, "o2")
    cancelled = await m.orders.CancelOrder(pb.CancelOrderRequest(order_id="o2", reason="customer"), metadata=m.md)
    assert (cancelled.order.status, cancelled.order.refunded_fen) == (S.ORDER_STATUS_CANCELLED, 9_500)
    got = await rider.stub.GetOrder(dpb.GetOrderRequest(order_id="o2"), metadata=as_role(Role.OPS).metadata)
    assert got.order.status == dpb.ORDER_STATUS_CANCELLED


async def test_a_paid_order_whose_id_dispatch_already_holds_stays_paid(app: App, money, as_role) -> None:  # type: ignore[no-untyped-def]
    """An order center order named like a dispatch order another caller sent: PayOrder succeeds (the payment
    and its split stand), the hand-over is marked rejected for ops, and cancelling it leaves the other
    caller's dispatch order alone."""
    m = money(Role.OPS)
    svc = as_role(Role.ORDER_SERVICE)
    await set_rule(m, rule())
    await svc.stub.AssignRiders(dpb.AssignRidersRequest(orders=[dispatch_order("o7")]), metadata=svc.metadata)
    paid = await create_and_pay(m, "o7")
    assert paid.status == S.ORDER_STATUS_PAID and paid.split_state == pb.SPLIT_STATE_POSTED
    assert paid.dispatch_status == "rejected"
    again = await m.orders.PayOrder(
        pb.PayOrderRequest(order_id="o7", payment_id="pay-o7", amount_fen=9_500), metadata=m.md
    )  # a retry answers the same
    assert again.order.dispatch_status == "rejected"
    await m.orders.CancelOrder(pb.CancelOrderRequest(order_id="o7", reason="customer"), metadata=m.md)
    other = await svc.stub.GetOrder(dpb.GetOrderRequest(order_id="o7"), metadata=svc.metadata)
    assert other.order.status != dpb.ORDER_STATUS_CANCELLED


async def wait_status(m: Money, order_id: str, status: int, timeout_s: float = 10.0) -> pb.Order:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        got = await m.orders.GetOrder(pb.GetOrderRequest(order_id=order_id), metadata=m.md)
        if got.order.status == status:
            return got.order
        assert asyncio.get_running_loop().time() < deadline, f"order stayed {S.Name(got.order.status)}"
        await asyncio.sleep(0.1)


async def test_ids_that_end_like_another_orders_keys_are_orders_of_their_own(money_only) -> None:  # type: ignore[no-untyped-def]
    """Ids may hold ':', so orders "x:history", "x:refunds" and "x:postings", paid and refunded, must not be (or
    overwrite) the history, refunds or split postings of order "x": each keeps its own, and x's are whole."""
    m = money_only(Role.OPS)
    await set_rule(m, rule())
    for oid in ("x:history", "x:refunds", "x:postings", "x"):
        await create_and_pay(m, oid)
        refund = await m.orders.RefundOrder(
            pb.RefundOrderRequest(order_id=oid, idempotency_key="k1", amount_fen=100), metadata=m.md
        )
        assert refund.refunded, oid
    for oid in ("x:history", "x:refunds", "x:postings", "x"):
        got = await m.orders.GetOrder(pb.GetOrderRequest(order_id=oid), metadata=m.md)
        assert got.order.order_id == oid and got.order.refunded_fen == 100, oid
        assert [e.status for e in got.history] == [S.ORDER_STATUS_CREATED, S.ORDER_STATUS_PAID, S.ORDER_STATUS_PAID]
        split = await m.settlement.GetSplit(spb.GetSplitRequest(order_id=oid), metadata=m.md)
        assert sum(e.amount_fen for e in split.entries) == 9_500 - 100, oid
    report = await m.settlement.Reconcile(spb.ReconcileRequest(), metadata=m.md)
    assert list(report.differences) == []
