"""Booking payments through the order center, via the real gRPC server: a deposit or the full price paid at the
confirm as an order of kind BOOKING (no delivery), split like any order, refunded by the resource's cancel policy,
kept on a no-show, completed by the merchant with points earned; bad combinations refused naming the field."""

from __future__ import annotations

import grpc
import redis

from loyalty import Programme, ProgrammeKind
from serving.app import App
from serving.auth import Role
from serving.timestamps import ms_to_ts
from tests.bookings.test_api import clinic, hold, refused, resource, utc
from tests.conftest import redis_snapshot
from tests.dispatch.api.helpers import bad_request_fields
from tests.merchants.helpers import Supply
from tongcheng.bookings.v1 import bookings_pb2 as pb
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.settlement.v1 import settlement_pb2 as spb

NINE = utc("2026-03-02T01:00:00")  # Monday 09:00 in Shanghai, 25 hours after the supply clock's start
HALF_PAST = NINE + 1_800_000
PRICE, DEPOSIT = 20_000, 5_000


def priced(resource_id: str = "dr-li", **kw: object) -> pb.Resource:
    """Dr Li at 200 yuan, 50 yuan deposit, cancel free until 24 hours before the slot."""
    terms = {"price_fen": PRICE, "deposit_fen": DEPOSIT, "free_cancel_minutes": 1_440, **kw}
    return resource(resource_id, **terms)


async def paid_clinic(s: Supply, *resources: pb.Resource) -> None:
    await clinic(s, *(resources or (priced(),)))
    rule = spb.SplitRule(
        merchant_id="clinic", platform_commission=spb.Share(basis_points=500),
        rider_delivery_fee=spb.Share(basis_points=800, fixed_fen=100),  # the clinic's deliveries: none on bookings
    )  # fmt: skip
    await s.settlement.SetSplitRule(spb.SetSplitRuleRequest(rule=rule), metadata=s.md)


def confirm_paying(s: Supply, booking_id: str, kind: int, amount_fen: int, payment_id: str = "wx-1"):  # type: ignore[no-untyped-def]
    payment = pb.BookingPayment(kind=kind, amount_fen=amount_fen, payment_id=payment_id)  # type: ignore[arg-type]
    request = pb.ConfirmBookingRequest(merchant_id="clinic", booking_id=booking_id, payment=payment)
    return s.bookings.ConfirmBooking(request, metadata=s.md)


async def order(s: Supply, order_id: str) -> opb.Order:
    return (await s.orders.GetOrder(opb.GetOrderRequest(order_id=order_id), metadata=s.md)).order


async def reconciled(s: Supply) -> None:
    reply = await s.settlement.Reconcile(spb.ReconcileRequest(), metadata=s.md)
    assert not reply.differences and reply.order_net_fen == reply.ledger_net_fen


async def test_a_deposit_becomes_a_booking_order_and_a_late_cancel_keeps_it(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """Confirm with the deposit: an order of kind BOOKING, paid and split, never handed to dispatch; a retried
    confirm pays nothing twice; cancelled inside the 24 hours, the deposit stays with the merchant."""
    s: Supply = supply()
    await paid_clinic(s)
    await hold(s, "b1", NINE, customer_id="u1")
    confirmed = (await confirm_paying(s, "b1", pb.PAYMENT_KIND_DEPOSIT, DEPOSIT)).booking
    assert (confirmed.state, confirmed.order_id) == (pb.BOOKING_STATE_CONFIRMED, "bk:clinic:b1")
    o = await order(s, "bk:clinic:b1")
    assert (o.kind, o.booking_id, o.customer_id, o.status) == (
        opb.ORDER_KIND_BOOKING,
        "b1",
        "u1",
        opb.ORDER_STATUS_PAID,
    )
    assert (o.paid_fen, o.delivery_fee_fen, o.dispatch_status, o.split_state) == (
        DEPOSIT,
        0,
        "",
        opb.SPLIT_STATE_POSTED,
    )
    split = await s.settlement.GetSplit(spb.GetSplitRequest(order_id="bk:clinic:b1"), metadata=s.md)
    legs = {leg.receiver: leg.amount_fen for leg in split.split.legs}
    assert legs == {"merchant:clinic": DEPOSIT - 250, "platform:tongcheng": 250}  # 5 %; nobody delivers: no rider leg
    again = (await confirm_paying(s, "b1", pb.PAYMENT_KIND_DEPOSIT, DEPOSIT)).booking
    assert again == confirmed and (await order(s, "bk:clinic:b1")).version == o.version
    supply_app.clock.advance(2 * 3600)  # now 23 hours before the slot: inside the policy's 24
    cancelled = await s.bookings.CancelBooking(
        pb.CancelBookingRequest(merchant_id="clinic", booking_id="b1"), metadata=s.md
    )
    assert cancelled.booking.state == pb.BOOKING_STATE_CANCELLED
    o = await order(s, "bk:clinic:b1")
    assert (o.status, o.paid_fen, o.refunded_fen) == (opb.ORDER_STATUS_CANCELLED, DEPOSIT, 0)
    await reconciled(s)


async def test_policy_refunds_in_time_keeps_the_deposit_on_a_no_show_and_completion_earns_points(  # type: ignore[no-untyped-def]
    supply_app: App, supply
) -> None:
    """Full price cancelled in time: refunded in full. Full price and a no-show: all but the deposit refunded.
    A deposit and the service given: the merchant completes it and the customer's points become available."""
    s: Supply = supply()
    await paid_clinic(s)
    assert supply_app.loyalty is not None
    programme = Programme("p1", ProgrammeKind.MERCHANT, ("clinic",), earn_bp=100)
    await supply_app.loyalty.create_programme(programme)
    for booking_id, start in (("early", NINE), ("absent", HALF_PAST), ("came", NINE + 3_600_000)):
        await hold(s, booking_id, start, customer_id=f"u-{booking_id}")
    await confirm_paying(s, "early", pb.PAYMENT_KIND_FULL, PRICE, "wx-early")
    await confirm_paying(s, "absent", pb.PAYMENT_KIND_FULL, PRICE, "wx-absent")
    await confirm_paying(s, "came", pb.PAYMENT_KIND_DEPOSIT, DEPOSIT, "wx-came")
    await s.bookings.CancelBooking(pb.CancelBookingRequest(merchant_id="clinic", booking_id="early"), metadata=s.md)
    early = await order(s, "bk:clinic:early")
    assert (early.status, early.refunded_fen) == (opb.ORDER_STATUS_CANCELLED, PRICE)

    merchant = supply(Role.MERCHANT, "clinic")
    supply_app.clock.advance(26 * 3600)  # every slot has started
    await merchant.bookings.MarkNoShow(
        pb.MarkNoShowRequest(merchant_id="clinic", booking_id="absent"), metadata=merchant.md
    )
    absent = await order(s, "bk:clinic:absent")
    assert (absent.status, absent.paid_fen, absent.refunded_fen) == (opb.ORDER_STATUS_NO_SHOW, PRICE, PRICE - DEPOSIT)

    done = await merchant.bookings.CompleteBooking(
        pb.CompleteBookingRequest(merchant_id="clinic", booking_id="came"), metadata=merchant.md
    )
    assert done.booking.state == pb.BOOKING_STATE_COMPLETED
    assert (await order(s, "bk:clinic:came")).status == opb.ORDER_STATUS_COMPLETED
    balance = await supply_app.loyalty.balance("p1", "u-came")
    assert (balance.available, balance.pending) == (DEPOSIT // 100, 0)  # 1 % of 5,000 fen
    absent = await supply_app.loyalty.balance("p1", "u-absent")  # pending at payment, reversed at the no-show
    assert (absent.available, absent.pending) == (0, 0)
    await reconciled(s)


async def test_bad_payments_are_refused_naming_the_field_and_change_nothing(  # type: ignore[no-untyped-def]
    supply_app: App, supply, redis_sync: redis.Redis
) -> None:
    """A price that is not the resource's, a deposit where none is taken, a payment for a free resource, no
    payment id, a booking order with an address or another amount, a confirm after the hold ran out: refused,
    Redis unchanged."""
    s: Supply = supply()
    await paid_clinic(s, priced(), priced("nurse", deposit_fen=0), resource("free-desk"))
    await hold(s, "b1", NINE)
    await hold(s, "b2", NINE, resource_id="nurse")
    await hold(s, "b3", NINE, resource_id="free-desk", hold_s=60)
    before = redis_snapshot(redis_sync)

    async def field_of(call) -> list[str]:  # type: ignore[no-untyped-def]
        return bad_request_fields(await refused(call))

    assert await field_of(confirm_paying(s, "b1", pb.PAYMENT_KIND_DEPOSIT, DEPOSIT + 1)) == ["payment.amount_fen"]
    assert await field_of(confirm_paying(s, "b1", pb.PAYMENT_KIND_FULL, DEPOSIT)) == ["payment.amount_fen"]
    assert await field_of(confirm_paying(s, "b2", pb.PAYMENT_KIND_DEPOSIT, DEPOSIT)) == ["payment.kind"]
    assert await field_of(confirm_paying(s, "b3", pb.PAYMENT_KIND_FULL, PRICE)) == ["payment.kind"]
    assert await field_of(confirm_paying(s, "b1", pb.PAYMENT_KIND_DEPOSIT, DEPOSIT, "")) == ["payment.payment_id"]

    def booking_order(**kw: object) -> opb.CreateOrderRequest:
        body = {"order_id": "bk:clinic:b1", "merchant_id": "clinic", "items_fen": DEPOSIT, "kind": opb.ORDER_KIND_BOOKING,
                "booking_id": "b1", **kw}  # fmt: skip
        return opb.CreateOrderRequest(**body)  # type: ignore[arg-type]

    create = s.orders.CreateOrder
    assert await field_of(create(booking_order(pickup=opb.LatLng(lat=31.2, lng=121.4)), metadata=s.md)) == ["pickup"]
    assert await field_of(create(booking_order(delivery_fee_fen=500), metadata=s.md)) == ["delivery_fee_fen"]
    assert await field_of(create(booking_order(items_fen=4_999), metadata=s.md)) == ["items_fen"]
    assert await field_of(create(booking_order(booking_id="nope"), metadata=s.md)) == ["booking_id"]
    assert await field_of(create(booking_order(order_id="o-other"), metadata=s.md)) == ["order_id"]
    assert await field_of(create(booking_order(customer_id="someone-else"), metadata=s.md)) == ["customer_id"]
    b3 = booking_order(booking_id="b3", order_id="bk:clinic:b3", items_fen=1)
    assert await field_of(create(b3, metadata=s.md)) == ["booking_id"]
    supply_app.clock.advance(61)  # b3's hold ran out; b1's (5 minutes) has not
    assert redis_snapshot(redis_sync) == before
    supply_app.clock.advance(300)
    await refused(confirm_paying(s, "b1", pb.PAYMENT_KIND_DEPOSIT, DEPOSIT), grpc.StatusCode.FAILED_PRECONDITION)
    assert redis_sync.exists("tc:{money}:order:bk:clinic:b1") == 0


async def test_a_booking_order_created_through_order_service_pays_the_confirm(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """CreateOrder of kind BOOKING with the resource's price takes the booking's customer and no address, is never
    accepted like a delivery, and the booking's confirm with that payment finds it paid."""
    s: Supply = supply()
    await paid_clinic(s)
    await hold(s, "b1", NINE, customer_id="u1")
    request = opb.CreateOrderRequest(order_id="bk:clinic:b1", merchant_id="clinic", items_fen=PRICE,
                                     kind=opb.ORDER_KIND_BOOKING, booking_id="b1")  # fmt: skip
    created = (await s.orders.CreateOrder(request, metadata=s.md)).order
    assert (created.customer_id, created.kind, created.total_fen) == ("u1", opb.ORDER_KIND_BOOKING, PRICE)
    again = await s.orders.CreateOrder(request, metadata=s.md)
    assert not again.created
    paid = (await s.orders.PayOrder(opb.PayOrderRequest(order_id="bk:clinic:b1", payment_id="wx-9", amount_fen=PRICE),
                                    metadata=s.md)).order  # fmt: skip
    assert (paid.status, paid.dispatch_status) == (opb.ORDER_STATUS_PAID, "")
    await refused(
        s.orders.AcceptOrder(opb.AcceptOrderRequest(order_id="bk:clinic:b1"), metadata=s.md),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    # The confirm then finds the booking's one order paid by that payment: nothing is paid twice.
    confirmed = (await confirm_paying(s, "b1", pb.PAYMENT_KIND_FULL, PRICE, "wx-9")).booking
    assert (confirmed.state, confirmed.order_id) == (pb.BOOKING_STATE_CONFIRMED, "bk:clinic:b1")
    after = await order(s, "bk:clinic:b1")
    assert (after.paid_fen, after.version) == (PRICE, paid.version)
    await refused(confirm_paying(s, "b1", pb.PAYMENT_KIND_FULL, PRICE, "wx-other"), grpc.StatusCode.FAILED_PRECONDITION)


async def test_a_paid_booking_moves_only_to_a_resource_on_the_same_terms(supply) -> None:  # type: ignore[no-untyped-def]
    """Rescheduling a paid booking to the same doctor or one on the same terms keeps its order; to a cheaper one
    it is refused and nothing changes."""
    s: Supply = supply()
    await paid_clinic(s, priced(), priced("dr-wu"), priced("dr-cheap", price_fen=9_000, deposit_fen=2_000))
    await hold(s, "b1", NINE)
    await confirm_paying(s, "b1", pb.PAYMENT_KIND_DEPOSIT, DEPOSIT)

    def move(resource_id: str, start_ms: int):  # type: ignore[no-untyped-def]
        request = pb.RescheduleBookingRequest(merchant_id="clinic", booking_id="b1", resource_id=resource_id,
                                              start_at=ms_to_ts(start_ms))  # fmt: skip
        return s.bookings.RescheduleBooking(request, metadata=s.md)

    await refused(move("dr-cheap", NINE), grpc.StatusCode.FAILED_PRECONDITION)
    moved = (await move("dr-wu", HALF_PAST)).booking
    assert (moved.resource_id, moved.order_id) == ("dr-wu", "bk:clinic:b1")
    assert (await order(s, "bk:clinic:b1")).status == opb.ORDER_STATUS_PAID


async def test_order_service_does_not_end_a_booking_order_behind_its_booking(  # type: ignore[no-untyped-def]
    supply_app: App, supply, redis_sync: redis.Redis
) -> None:
    """CompleteOrder or CancelOrder of a paid booking's order through OrderService would leave the booking
    confirmed (the slot taken, the deposit policy skipped): FAILED_PRECONDITION naming BookingService's call,
    nothing changed; CompleteBooking completes both."""
    s: Supply = supply()
    await paid_clinic(s)
    await hold(s, "b1", NINE, customer_id="u1")
    await confirm_paying(s, "b1", pb.PAYMENT_KIND_DEPOSIT, DEPOSIT)
    supply_app.clock.advance(26 * 3600)  # the slot has started
    before = redis_snapshot(redis_sync)
    err = await refused(
        s.orders.CompleteOrder(opb.CompleteOrderRequest(order_id="bk:clinic:b1"), metadata=s.md),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "CompleteBooking" in err.details()
    err = await refused(
        s.orders.CancelOrder(opb.CancelOrderRequest(order_id="bk:clinic:b1"), metadata=s.md),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "CancelBooking" in err.details()
    assert redis_snapshot(redis_sync) == before
    done = await s.bookings.CompleteBooking(
        pb.CompleteBookingRequest(merchant_id="clinic", booking_id="b1"), metadata=s.md
    )
    assert done.booking.state == pb.BOOKING_STATE_COMPLETED
    assert (await order(s, "bk:clinic:b1")).status == opb.ORDER_STATUS_COMPLETED
    await reconciled(s)
