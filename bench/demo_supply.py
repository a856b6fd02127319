"""The supply side in `make demo` (issue 20): a shop's POS syncs its menu and stock, an order takes the last
crayfish and the next is refused, a clinic's slot is booked and its waiting list is offered a freed place."""

from __future__ import annotations

import datetime as dt
import time

import grpc

from serving.auth import Role, TokenIssuer
from serving.timestamps import ms_to_ts
from tongcheng.bookings.v1 import bookings_pb2 as bpb
from tongcheng.bookings.v1 import bookings_pb2_grpc
from tongcheng.merchants.v1 import merchants_pb2 as mpb
from tongcheng.merchants.v1 import merchants_pb2_grpc
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.orders.v1 import orders_pb2_grpc
from tongcheng.settlement.v1 import settlement_pb2 as spb
from tongcheng.settlement.v1 import settlement_pb2_grpc

KAMPPI = (60.1700, 24.9420)  # the shop, in the default city
TOOLO = (60.1760, 24.9480)  # its customer
ZONE = "Europe/Helsinki"


def _md(issuer: TokenIssuer, role: Role, subject: str = "") -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {issuer.mint(role, subject)}"),)


async def run_supply_demo(channel: grpc.aio.Channel, issuer: TokenIssuer) -> list[str]:
    """Drives the scenario through the API; returns the lines to print."""
    merchants = merchants_pb2_grpc.MerchantServiceStub(channel)
    bookings = bookings_pb2_grpc.BookingServiceStub(channel)
    orders = orders_pb2_grpc.OrderServiceStub(channel)
    settlement = settlement_pb2_grpc.SettlementServiceStub(channel)
    ops, svc, pos = _md(issuer, Role.OPS), _md(issuer, Role.ORDER_SERVICE), _md(issuer, Role.MERCHANT, "crayfish-shop")
    out: list[str] = []
    now_ms = time.time_ns() // 1_000_000

    # A shop, its split rule, and its POS syncing the menu and the morning's count.
    place = mpb.LatLng(lat=KAMPPI[0], lng=KAMPPI[1])
    for merchant_id, name, category in (
        ("crayfish-shop", "Crayfish House 小龙虾", mpb.MERCHANT_CATEGORY_RESTAURANT),
        ("clinic", "Kamppi Children's Clinic", mpb.MERCHANT_CATEGORY_CLINIC),
    ):
        m = mpb.Merchant(merchant_id=merchant_id, name=name, category=category, location=place, time_zone=ZONE)
        await merchants.UpsertMerchant(mpb.UpsertMerchantRequest(merchant=m), metadata=ops)
    await settlement.SetSplitRule(
        spb.SetSplitRuleRequest(rule=spb.SplitRule(merchant_id="crayfish-shop",
                                                   platform_commission=spb.Share(basis_points=600))), metadata=ops,
    )  # fmt: skip
    menu = [
        mpb.CatalogItem(item_id="crayfish", name="麻辣小龙虾 spicy crayfish",
                        variants=[mpb.Variant(variant_id="crayfish-1kg", name="1 kg", price_fen=16_800)]),
        mpb.CatalogItem(item_id="beer", name="Tsingtao",
                        variants=[mpb.Variant(variant_id="beer-500ml", name="500 ml", price_fen=1_500)]),
    ]  # fmt: skip
    started = time.perf_counter()
    synced = await merchants.SyncCatalog(
        mpb.SyncCatalogRequest(merchant_id="crayfish-shop", idempotency_key="pos-menu-1", items=menu), metadata=pos
    )
    counted = await merchants.RecordStockEvents(
        mpb.RecordStockEventsRequest(merchant_id="crayfish-shop", events=[
            mpb.StockEvent(event_id="count-1", variant_id="crayfish-1kg", kind=mpb.STOCK_EVENT_KIND_PHYSICAL_COUNT,
                           quantity=1, occurred_at=ms_to_ts(now_ms - 60_000)),
            mpb.StockEvent(event_id="count-2", variant_id="beer-500ml", kind=mpb.STOCK_EVENT_KIND_PHYSICAL_COUNT,
                           quantity=48, occurred_at=ms_to_ts(now_ms - 60_000)),
        ]), metadata=pos,
    )  # fmt: skip
    out.append(
        f"POS sync          {len(synced.items)} items at version {synced.items[0].version}, stock counted "
        f"({', '.join(f'{lv.variant_id} {lv.on_hand}' for lv in counted.levels)}) in {1000 * (time.perf_counter() - started):.0f} ms"
    )

    # Two customers want the last crayfish.
    def order(order_id: str) -> opb.CreateOrderRequest:
        return opb.CreateOrderRequest(
            order_id=order_id, merchant_id="crayfish-shop", delivery_fee_fen=600,
            pickup=opb.LatLng(lat=KAMPPI[0], lng=KAMPPI[1]), dropoff=opb.LatLng(lat=TOOLO[0], lng=TOOLO[1]),
            lines=[opb.OrderLine(item_id="crayfish", variant_id="crayfish-1kg", quantity=1),
                   opb.OrderLine(item_id="beer", variant_id="beer-500ml", quantity=2)],
        )  # fmt: skip

    first = (await orders.CreateOrder(order("supply-o1"), metadata=svc)).order
    out.append(
        f"order 1           takes the last crayfish: {first.items_fen} fen priced by the catalogue, stock reserved"
    )
    try:
        await orders.CreateOrder(order("supply-o2"), metadata=svc)
        out.append("order 2           ACCEPTED (unexpected: the crayfish was sold out)")
    except grpc.aio.AioRpcError as err:
        out.append(f"order 2           refused {err.code().name}: {err.details()}")
    await orders.PayOrder(
        opb.PayOrderRequest(order_id="supply-o1", payment_id="pay-supply-1", amount_fen=first.total_fen), metadata=svc
    )
    stock = await merchants.GetStock(
        mpb.GetStockRequest(merchant_id="crayfish-shop", variant_ids=["crayfish-1kg"]), metadata=pos
    )
    lv = stock.levels[0]
    out.append(f"order 1 paid      the reservation is a sale: crayfish on hand {lv.on_hand}, reserved {lv.reserved}")

    # A clinic's doctor: one place per 20-minute slot on weekdays 09:00-12:00, Helsinki time.
    weekly = [bpb.WeeklyPeriod(day=d, start_minute=540, end_minute=720) for d in range(1, 6)]  # type: ignore[arg-type]
    await bookings.UpsertResource(
        bpb.UpsertResourceRequest(resource=bpb.Resource(
            merchant_id="clinic", resource_id="dr-virtanen", name="Dr Virtanen, paediatrics",
            kind=bpb.RESOURCE_KIND_DOCTOR, slot_minutes=20, capacity=1, weekly_schedule=weekly)), metadata=ops,
    )  # fmt: skip
    day = dt.date.today() + dt.timedelta(days=1)
    while day.isoweekday() > 5:
        day += dt.timedelta(days=1)
    slots = await bookings.GetAvailability(
        bpb.GetAvailabilityRequest(merchant_id="clinic", resource_id="dr-virtanen", from_date=day.isoformat(),
                                   to_date=day.isoformat()), metadata=svc,
    )  # fmt: skip
    start = slots.slots[0].start_at
    out.append(
        f"clinic            {len(slots.slots)} slots on {day.isoformat()}, the first at {start.ToDatetime():%H:%M} UTC (09:00 Helsinki)"
    )
    held = await bookings.HoldSlot(
        bpb.HoldSlotRequest(merchant_id="clinic", resource_id="dr-virtanen", start_at=start, booking_id="bk-anna",
                            customer_id="anna"), metadata=svc,
    )  # fmt: skip
    await bookings.ConfirmBooking(bpb.ConfirmBookingRequest(merchant_id="clinic", booking_id="bk-anna"), metadata=svc)
    out.append(
        f"booking           anna holds the slot ({held.booking.hold_expires_at.ToDatetime():%H:%M:%S} UTC hold) and confirms"
    )
    waiting = await bookings.JoinWaitlist(
        bpb.JoinWaitlistRequest(merchant_id="clinic", resource_id="dr-virtanen", start_at=start, booking_id="bk-ben",
                                customer_id="ben"), metadata=svc,
    )  # fmt: skip
    out.append(f"waiting list      the slot is full: ben waits, position {waiting.booking.waitlist_position}")
    await bookings.CancelBooking(bpb.CancelBookingRequest(merchant_id="clinic", booking_id="bk-anna"), metadata=svc)
    ben = (
        await bookings.GetBooking(bpb.GetBookingRequest(merchant_id="clinic", booking_id="bk-ben"), metadata=svc)
    ).booking
    out.append(
        f"anna cancels      ben is offered the place: {bpb.BookingState.Name(ben.state)} until "
        f"{ben.hold_expires_at.ToDatetime():%H:%M:%S} UTC"
    )
    return out
