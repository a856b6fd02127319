"""The order center with the catalogue (issue 20): CreateOrder of catalogue lines, priced by the catalogue,
refused naming the field, stock reserved at creation, sold at payment, given back at cancellation."""

from __future__ import annotations

import grpc
import pytest
import redis

from core.clock import ManualClock
from serving.app import App
from tests.conftest import redis_snapshot
from tests.dispatch.api.helpers import bad_request_fields
from tests.merchants.helpers import Supply, count, create_merchant, item, level, record, sync
from tests.settlement.helpers import new_order, rule, set_rule
from tongcheng.coupons.v1 import coupons_pb2 as cpb
from tongcheng.merchants.v1 import merchants_pb2 as mpb
from tongcheng.orders.v1 import orders_pb2 as opb


def line(item_id: str, quantity: int = 1, variant: int = 0) -> opb.OrderLine:
    return opb.OrderLine(item_id=item_id, variant_id=f"{item_id}-v{variant}", quantity=quantity)


def catalogue_order(order_id: str, *lines: opb.OrderLine, **kw: object) -> opb.CreateOrderRequest:
    request = new_order(order_id, items_fen=int(kw.pop("items_fen", 0)), merchant_id="shop", **kw)
    request.lines.extend(lines)
    return request


async def shop(supply_app: App, s: Supply, crayfish: int = 5, beer: int = 24) -> None:
    await create_merchant(s, "shop")
    await sync(s, "shop", "menu", item("crayfish", 8_800), item("beer", 1_200), item("soup", 900))
    at = supply_app.clock.now_ms() - 60_000
    await record(s, "shop", count("c1", "crayfish-v0", crayfish, at), count("c2", "beer-v0", beer, at))
    await set_rule(s, rule("shop"))  # type: ignore[arg-type]


async def create(s: Supply, request: opb.CreateOrderRequest) -> opb.CreateOrderResponse:
    return await s.orders.CreateOrder(request, metadata=s.md)


async def test_prices_come_from_the_catalogue_and_stock_is_reserved_then_sold(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """Two crayfish and a beer cost what the catalogue says; a later price change does not touch the order;
    payment turns the reservation into a sale."""
    s: Supply = supply()
    await shop(supply_app, s)
    created = await create(s, catalogue_order("o1", line("crayfish", 2), line("beer")))
    o = created.order
    assert (o.items_fen, o.total_fen) == (2 * 8_800 + 1_200, 2 * 8_800 + 1_200 + 500)
    assert [(x.variant_id, x.quantity, x.unit_price_fen) for x in o.lines] == [
        ("crayfish-v0", 2, 8_800),
        ("beer-v0", 1, 1_200),
    ]
    assert (await level(s, "shop", "crayfish-v0")).reserved == 2
    await sync(s, "shop", "price", item("crayfish", 9_900, version=1))
    again = await create(s, catalogue_order("o1", line("crayfish", 2), line("beer")))  # a retry after the change
    assert not again.created and again.order.items_fen == o.items_fen
    await s.orders.PayOrder(opb.PayOrderRequest(order_id="o1", payment_id="p1", amount_fen=o.total_fen), metadata=s.md)
    crayfish = await level(s, "shop", "crayfish-v0")
    assert (crayfish.on_hand, crayfish.reserved, crayfish.available) == (3, 0, 3)


async def test_the_last_item_goes_to_one_order_and_the_next_is_refused(
    supply_app: App, supply, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """One crayfish left: the first order takes it, the second is INVALID_ARGUMENT naming its line, nothing stored."""
    s: Supply = supply()
    await shop(supply_app, s, crayfish=1)
    await create(s, catalogue_order("first", line("crayfish")))
    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(s, catalogue_order("second", line("beer"), line("crayfish")))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(err.value) == ["lines[1].quantity"]
    assert redis_snapshot(redis_sync) == before


@pytest.mark.parametrize(
    ("setup", "lines", "field"),
    [
        ("", [line("lobster")], "lines[0].item_id"),
        ("", [line("beer", variant=3)], "lines[0].variant_id"),
        ("pause_soup", [line("beer"), line("soup")], "lines[1].item_id"),
        ("", [line("beer", 0)], "lines[0].quantity"),
        ("", [line("beer"), line("beer")], "lines[1].variant_id"),
        ("paused", [line("beer")], "merchant_id"),
        ("closed", [line("beer")], "merchant_id"),
        ("night", [line("beer")], "merchant_id"),
        ("", [line("beer", 25)], "lines[0].quantity"),
        ("items_fen", [line("beer")], "items_fen"),
    ],
)
async def test_orders_the_catalogue_cannot_serve_are_refused_naming_the_field(  # type: ignore[no-untyped-def]
    supply_app: App, supply, redis_sync: redis.Redis, setup: str, lines: list[opb.OrderLine], field: str
) -> None:
    """An unknown or paused item, an unknown variant, a paused or closed merchant (or one outside its hours), a line
    over the stock, a client price with lines: INVALID_ARGUMENT naming it, nothing reserved or stored."""
    s: Supply = supply()
    await shop(supply_app, s)
    if setup == "pause_soup":
        soup = item("soup", 900, version=1, status=mpb.ITEM_STATUS_PAUSED)
        await sync(s, "shop", "pause", soup)
    elif setup in ("paused", "closed"):
        status = mpb.MERCHANT_STATUS_PAUSED if setup == "paused" else mpb.MERCHANT_STATUS_CLOSED
        await s.merchants.SetMerchantStatus(
            mpb.SetMerchantStatusRequest(merchant_id="shop", status=status), metadata=s.md
        )
    elif setup == "night":  # open 10:00-14:00 Shanghai time only; the supply clock reads 08:00 there
        got = await s.merchants.GetMerchant(mpb.GetMerchantRequest(merchant_id="shop"), metadata=s.md)
        hours = [mpb.WeeklyPeriod(day=d, start_minute=600, end_minute=840) for d in range(1, 8)]
        m = got.merchant
        del m.weekly_hours[:]
        m.weekly_hours.extend(hours)
        await s.merchants.UpsertMerchant(mpb.UpsertMerchantRequest(merchant=m), metadata=s.md)
    before = redis_snapshot(redis_sync)
    request = catalogue_order("o1", *lines, items_fen=5_000 if setup == "items_fen" else 0)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(s, request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert field in bad_request_fields(err.value)
    assert redis_snapshot(redis_sync) == before


async def test_cancel_gives_stock_back_held_or_sold(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """Cancelling an unpaid order releases its reservation; cancelling a paid one returns the sold stock."""
    s: Supply = supply()
    await shop(supply_app, s, crayfish=4)
    await create(s, catalogue_order("unpaid", line("crayfish", 2)))
    paid = (await create(s, catalogue_order("paid", line("crayfish", 2)))).order
    await s.orders.PayOrder(
        opb.PayOrderRequest(order_id="paid", payment_id="p", amount_fen=paid.total_fen), metadata=s.md
    )
    assert (await level(s, "shop", "crayfish-v0")).available == 0
    await s.orders.CancelOrder(opb.CancelOrderRequest(order_id="unpaid"), metadata=s.md)
    await s.orders.CancelOrder(opb.CancelOrderRequest(order_id="paid", reason="customer"), metadata=s.md)
    got = await level(s, "shop", "crayfish-v0")
    assert (got.on_hand, got.reserved, got.available) == (4, 0, 4)
    await s.orders.CancelOrder(opb.CancelOrderRequest(order_id="paid"), metadata=s.md)  # a retry returns nothing twice
    assert (await level(s, "shop", "crayfish-v0")).on_hand == 4


async def test_payment_after_the_reservation_expired_and_the_stock_went_is_refused(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """The hold ran out (15 minutes) and the counter sold the last one: PayOrder is FAILED_PRECONDITION, the order unpaid."""
    clock: ManualClock = supply_app.clock  # type: ignore[assignment]
    s: Supply = supply()
    await shop(supply_app, s, crayfish=1)
    o = (await create(s, catalogue_order("late", line("crayfish")))).order
    clock.advance(901)
    await s.merchants.ReserveStock(
        mpb.ReserveStockRequest(merchant_id="shop", reservation_id="counter",
                                lines=[mpb.StockLine(variant_id="crayfish-v0", quantity=1)]), metadata=s.md,
    )  # fmt: skip
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await s.orders.PayOrder(
            opb.PayOrderRequest(order_id="late", payment_id="p", amount_fen=o.total_fen), metadata=s.md
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    got = await s.orders.GetOrder(opb.GetOrderRequest(order_id="late"), metadata=s.md)
    assert got.order.status == opb.ORDER_STATUS_CREATED and got.order.paid_fen == 0


async def test_an_item_coupon_discounts_only_the_lines_of_its_items(  # type: ignore[no-untyped-def]
    supply_app: App, supply, redis_sync: redis.Redis
) -> None:
    """Half off beer (at most 50 yuan): on two crayfish and a beer it takes 600 fen off the beer's 1,200, not half
    the order; a lock for the whole order's amount, and the coupon on an order with no beer (of lines or not), are
    INVALID_ARGUMENT naming the coupon, with nothing reserved or stored."""
    s: Supply = supply()
    await shop(supply_app, s)
    now_s = supply_app.clock.now_ms() // 1000
    c = cpb.Campaign(campaign_id="beer-half", merchant_id="shop", kind=cpb.DISCOUNT_KIND_PERCENT_OFF,
                     discount_percent=50, max_discount_fen=5_000, max_coupons=10, max_coupons_per_member=5,
                     item_ids=["beer"])  # fmt: skip
    c.valid_from.seconds, c.valid_until.seconds = now_s - 60, now_s + 86_400
    coupons = s.coupons
    await coupons.CreateCampaign(cpb.CreateCampaignRequest(campaign=c), metadata=s.md)

    async def locked(key: str, order_id: str, amount_fen: int) -> str:
        code = (await coupons.ClaimCoupon(
            cpb.ClaimCouponRequest(campaign_id="beer-half", member_id="u1", idempotency_key=key), metadata=s.md
        )).coupon.code  # fmt: skip
        await coupons.LockCoupon(
            cpb.LockCouponRequest(code=code, merchant_id="shop", order_id=order_id, order_amount_fen=amount_fen,
                                  delivery_fee_fen=500),
            metadata=s.md,
        )  # fmt: skip
        return code

    whole = await locked("k1", "o1", 2 * 8_800 + 1_200 + 500)  # 5,000 off: as if the scope were the whole order
    only_crayfish = await locked("k2", "o2", 1_200)
    no_lines = await locked("k3", "o3", 1_200)
    for request in (
        catalogue_order("o1", line("crayfish", 2), line("beer"), customer_id="u1", coupon_codes=[whole]),
        catalogue_order("o2", line("crayfish", 2), customer_id="u1", coupon_codes=[only_crayfish]),
        new_order("o3", merchant_id="shop", customer_id="u1", coupon_codes=[no_lines]),
    ):
        before = redis_snapshot(redis_sync)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await create(s, request)
        assert bad_request_fields(err.value) == ["coupon_codes[0]"], err.value.details()
        assert redis_snapshot(redis_sync) == before
    assert "beer" in err.value.details()
    await coupons.RollbackCoupon(  # the lock for the wrong amount let go, then locked for the beer
        cpb.RollbackCouponRequest(code=whole, merchant_id="shop", order_id="o1", request_no="undo-1"), metadata=s.md
    )
    await coupons.LockCoupon(
        cpb.LockCouponRequest(code=whole, merchant_id="shop", order_id="o1", order_amount_fen=1_200,
                              delivery_fee_fen=500),
        metadata=s.md,
    )  # fmt: skip
    created = await create(
        s, catalogue_order("o1", line("crayfish", 2), line("beer"), customer_id="u1", coupon_codes=[whole])
    )
    o = created.order
    assert ([x.discount_fen for x in o.coupons], o.amount_due_fen) == ([600], 2 * 8_800 + 1_200 + 500 - 600)
    paid = await s.orders.PayOrder(
        opb.PayOrderRequest(order_id="o1", payment_id="p1", amount_fen=o.amount_due_fen), metadata=s.md
    )
    assert paid.order.paid_fen == o.amount_due_fen
