"""The supply side in `make demo` (issue 20): a shop's POS syncs its menu and stock, an order takes the last
crayfish and the next is refused, a near-expiry lot's promotion suggestion becomes a coupon campaign, a clinic's
slot is booked with a deposit paid through the order center, and its waiting list is offered a freed place."""

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
    for merchant_id in ("crayfish-shop", "clinic"):
        await settlement.SetSplitRule(
            spb.SetSplitRuleRequest(rule=spb.SplitRule(merchant_id=merchant_id,
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
        ], lots=[mpb.StockLot(lot_id="beer-lot-7", variant_id="beer-500ml", quantity=12,
                              expires_on=(dt.date.today() + dt.timedelta(days=1)).isoformat())]), metadata=pos,
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

    # Twelve beers expire tomorrow: the suggestion becomes a coupon campaign with one call of the shop's own.
    suggested = await merchants.SuggestPromotions(
        mpb.SuggestPromotionsRequest(merchant_id="crayfish-shop"), metadata=pos
    )
    s = suggested.suggestions[0]
    out.append(
        f"promotion         lot {s.lot_id} ({s.quantity} x {s.variant_id}) expires {s.expires_on}: "
        f"{s.discount_bp // 100}% off suggested, {s.price_fen} -> {s.promotion_price_fen} fen"
    )
    made = await merchants.CreatePromotionCampaign(
        mpb.CreatePromotionCampaignRequest(merchant_id="crayfish-shop", suggestion_id=s.suggestion_id), metadata=pos
    )
    c = made.campaign
    out.append(
        f"campaign          {c.campaign_id}: {c.discount_percent}% off {', '.join(c.item_ids)}, {c.max_coupons} coupons, "
        f"budget {c.max_amount_fen} fen, valid until {c.valid_until.ToDatetime():%Y-%m-%d %H:%M} UTC"
    )

    # A clinic's doctor: one place per 20-minute slot on weekdays 09:00-12:00, Helsinki time; 60 yuan,
    # a 20-yuan deposit, free cancel until 24 hours before.
    weekly = [bpb.WeeklyPeriod(day=d, start_minute=540, end_minute=720) for d in range(1, 6)]  # type: ignore[arg-type]
    await bookings.UpsertResource(
        bpb.UpsertResourceRequest(resource=bpb.Resource(
            merchant_id="clinic", resource_id="dr-virtanen", name="Dr Virtanen, paediatrics",
            kind=bpb.RESOURCE_KIND_DOCTOR, slot_minutes=20, capacity=1, weekly_schedule=weekly, price_fen=6_000,
            deposit_fen=2_000, free_cancel_minutes=1_440)), metadata=ops,
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
    deposit = bpb.BookingPayment(kind=bpb.PAYMENT_KIND_DEPOSIT, amount_fen=2_000, payment_id="wx-anna-1")
    confirmed = await bookings.ConfirmBooking(
        bpb.ConfirmBookingRequest(merchant_id="clinic", booking_id="bk-anna", payment=deposit), metadata=svc
    )
    paid = (await orders.GetOrder(opb.GetOrderRequest(order_id=confirmed.booking.order_id), metadata=svc)).order
    out.append(
        f"booking           anna holds the slot ({held.booking.hold_expires_at.ToDatetime():%H:%M:%S} UTC hold) and confirms "
        f"paying the deposit: order {paid.order_id} {opb.OrderKind.Name(paid.kind)} {opb.OrderStatus.Name(paid.status)} "
        f"{paid.paid_fen} fen, split {opb.SplitState.Name(paid.split_state)}, no dispatch"
    )
    waiting = await bookings.JoinWaitlist(
        bpb.JoinWaitlistRequest(merchant_id="clinic", resource_id="dr-virtanen", start_at=start, booking_id="bk-ben",
                                customer_id="ben"), metadata=svc,
    )  # fmt: skip
    out.append(f"waiting list      the slot is full: ben waits, position {waiting.booking.waitlist_position}")
    await bookings.CancelBooking(bpb.CancelBookingRequest(merchant_id="clinic", booking_id="bk-anna"), metadata=svc)
    refunded = (await orders.GetOrder(opb.GetOrderRequest(order_id=paid.order_id), metadata=svc)).order
    out.append(
        f"anna cancels      order {opb.OrderStatus.Name(refunded.status)}: {refunded.refunded_fen} of {refunded.paid_fen} fen "
        "refunded (in full up to 24 h before the slot; the deposit is kept after)"
    )
    ben = (
        await bookings.GetBooking(bpb.GetBookingRequest(merchant_id="clinic", booking_id="bk-ben"), metadata=svc)
    ).booking
    out.append(
        f"waiting list      ben is offered the place: {bpb.BookingState.Name(ben.state)} until "
        f"{ben.hold_expires_at.ToDatetime():%H:%M:%S} UTC"
    )
    return out
