"""QuoteDelivery and the order center honouring quotes (issue 21 §2): a readable breakdown, conditions and
promotions in it, the basket's minimum and small-order line, the quoted fee charged whatever changes after,
and forged, expired, other merchant's or other drop-off's quotes refused naming delivery_quote, Redis
unchanged."""

from __future__ import annotations

import json

import grpc
import pytest
import redis

from pricing.models import PricingRules
from serving.app import App
from serving.auth import Role
from tests.conftest import redis_snapshot
from tests.dispatch.api.helpers import bad_request_fields
from tests.merchants.helpers import count, item, record, sync
from tests.pricing.helpers import FAR, Priced, helsinki_merchant, order, quote, set_radius
from tongcheng.merchants.v1 import merchants_pb2 as mpb
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.pricing.v1 import pricing_pb2 as pb


def plain_rules(**kw: object) -> pb.PricingRules:
    """Rules with no time-of-day band, so a quote does not depend on the hour the test runs at."""
    return pb.PricingRules(
        base_fen=int(kw.pop("base_fen", 400)), per_km_fen=100, included_m=100, free_items=2, extra_item_fen=30,
        surge_cap=2.0, surge_threshold=1.0, surge_slope=0.5, shrink_at=2.0, grow_at=1.0, max_shrink_rings=3,
        weather_fees=[pb.WeatherFee(weather=pb.WEATHER_RAIN, fee_fen=200)], quote_ttl_s=300, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


async def setup(p: Priced, **kw: object) -> None:
    await helsinki_merchant(p, "m1")
    await helsinki_merchant(p, "m2")
    await p.pricing.SetPricingRules(pb.SetPricingRulesRequest(rules=plain_rules(**kw)), metadata=p.md)


async def test_a_quote_has_lines_that_sum_to_its_fee(pricing_app: App, priced) -> None:  # type: ignore[no-untyped-def]
    """Base, road distance past the included 100 m and items past two; with rain in the area a rain line,
    and a merchant's "20% off when raining" promotion as a negative line; lines always sum to the fee."""
    p: Priced = priced()
    await setup(p)
    q = await quote(p, item_count=4)
    labels = [x.label for x in q.lines]
    assert labels[0].startswith("base") and labels[1].startswith("distance") and labels[2] == "2 items over 2"
    assert q.lines[1].amount_fen == round(100 * (q.road_distance_m - 100) / 1000)
    assert q.fee_fen == sum(x.amount_fen for x in q.lines) and q.surge_factor == 1.0 and q.ride_time_s > 0
    assert q.road_distance_m > 280  # longer by road than the straight line
    rules = await p.pricing.GetPricingRules(pb.GetPricingRulesRequest(), metadata=p.md)
    await p.pricing.SetConditions(
        pb.SetConditionsRequest(area_id=rules.condition_areas[0], weather=pb.WEATHER_RAIN), metadata=p.md
    )
    await p.pricing.SetDeliveryPromotions(
        pb.SetDeliveryPromotionsRequest(
            merchant_id="m1",
            promotions=[
                pb.DeliveryPromotion(
                    promotion_id="wet", percent_off=20, start_minute=0, end_minute=1440, weather=pb.WEATHER_RAIN
                )
            ],
        ),
        metadata=p.md,
    )
    wet = await quote(p, item_count=4)
    assert [x.label for x in wet.lines][3] == "rain" and wet.lines[3].amount_fen == 200
    promo = wet.lines[4]
    assert promo.label.startswith("promotion wet: 20% off when rain") and promo.amount_fen == -(
        (q.fee_fen + 200) * 20 // 100
    )
    assert wet.fee_fen == sum(x.amount_fen for x in wet.lines)
    other = await quote(p, merchant_id="m2", item_count=4)  # m2 has no promotion
    assert other.fee_fen == q.fee_fen + 200


async def test_the_order_is_charged_the_quoted_fee_after_prices_change(pricing_app: App, priced) -> None:  # type: ignore[no-untyped-def]
    """CreateOrder with the quote takes its fee; the base fee then doubles, and payment is still of the quote."""
    p: Priced = priced()
    await setup(p)
    q = await quote(p)
    created = await p.orders.CreateOrder(order("o1", delivery_quote=q.token), metadata=p.md)
    assert created.order.delivery_fee_fen == q.fee_fen and created.order.delivery_quote == q.token
    await p.pricing.SetPricingRules(pb.SetPricingRulesRequest(rules=plain_rules(base_fen=800)), metadata=p.md)
    assert (await quote(p)).fee_fen == q.fee_fen + 400
    again = await p.orders.CreateOrder(order("o1", delivery_quote=q.token), metadata=p.md)  # a retry
    assert not again.created and again.order.delivery_fee_fen == q.fee_fen
    paid = await p.orders.PayOrder(
        opb.PayOrderRequest(order_id="o1", payment_id="p1", amount_fen=5_000 + q.fee_fen, delivery_quote=q.token),
        metadata=p.md,
    )
    assert paid.order.paid_fen == 5_000 + q.fee_fen


async def test_forged_other_and_expired_quotes_are_refused_naming_the_field(
    pricing_app: App, priced, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """A token with one character changed, m1's quote on an m2 order, a quote for another drop-off, a fee
    other than the quote's, and (at payment) a quote past its TTL: INVALID_ARGUMENT, nothing written."""
    p: Priced = priced()
    await setup(p)
    q = await quote(p)
    head, payload, mac = q.token.split(".")
    forged = f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{mac}"
    await p.orders.CreateOrder(order("ok", delivery_quote=q.token), metadata=p.md)
    before = redis_snapshot(redis_sync)
    for request, field in (
        (order("o1", delivery_quote=forged), "delivery_quote"),
        (order("o1", delivery_quote="q1.e30.AAAA"), "delivery_quote"),
        (order("o1", merchant_id="m2", delivery_quote=q.token), "delivery_quote"),
        (order("o1", FAR, delivery_quote=q.token), "delivery_quote"),
        (order("o1", delivery_quote=q.token, delivery_fee_fen=q.fee_fen - 1), "delivery_fee_fen"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await p.orders.CreateOrder(request, metadata=p.md)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err.value) == [field]
    with pytest.raises(grpc.aio.AioRpcError) as err:  # another quote at payment
        await p.orders.PayOrder(
            opb.PayOrderRequest(order_id="ok", payment_id="p1", amount_fen=5_000 + q.fee_fen, delivery_quote=forged),
            metadata=p.md,
        )
    assert bad_request_fields(err.value) == ["delivery_quote"]
    pricing_app.clock.advance(301)  # type: ignore[attr-defined]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await p.orders.PayOrder(
            opb.PayOrderRequest(order_id="ok", payment_id="p1", amount_fen=5_000 + q.fee_fen), metadata=p.md
        )
    assert bad_request_fields(err.value) == ["delivery_quote"] and "expired" in err.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await p.orders.CreateOrder(order("late", delivery_quote=q.token), metadata=p.md)
    assert bad_request_fields(err.value) == ["delivery_quote"]
    assert redis_snapshot(redis_sync) == before


async def test_quotes_for_closed_or_out_of_area_merchants_and_bad_ops_input_are_refused(
    pricing_app: App, priced, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """A closed merchant: FAILED_PRECONDITION; a drop-off outside the area: INVALID_ARGUMENT naming dropoff;
    weather for an unknown area, a surge cap below 1, a 0% promotion: INVALID_ARGUMENT naming the field;
    a member may quote but not set the weather."""
    p: Priced = priced()
    await setup(p)
    await set_radius(p, "m1", 500)
    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await quote(p, to=FAR)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err.value) == ["dropoff"]
    for call, field in (
        (p.pricing.SetConditions(pb.SetConditionsRequest(area_id="atlantis", weather=pb.WEATHER_RAIN), metadata=p.md),
         "area_id"),
        (p.pricing.SetPricingRules(pb.SetPricingRulesRequest(rules=_with_cap(0.5)), metadata=p.md),
         "rules.surge_cap"),
        (p.pricing.SetDeliveryPromotions(
            pb.SetDeliveryPromotionsRequest(merchant_id="m1", promotions=[pb.DeliveryPromotion(
                promotion_id="x", percent_off=0, start_minute=0, end_minute=60)]), metadata=p.md),
         "promotions[0].percent_off"),
        (p.pricing.QuoteDelivery(pb.QuoteDeliveryRequest(merchant_id="m1", item_count=2), metadata=p.md), "dropoff"),
    ):  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err.value) == [field]
    member: Priced = priced(Role.MEMBER, "u1")
    assert (await quote(member)).fee_fen > 0
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await member.pricing.SetConditions(
            pb.SetConditionsRequest(area_id="x", weather=pb.WEATHER_RAIN), metadata=member.md
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert redis_snapshot(redis_sync) == before
    await p.merchants.SetMerchantStatus(
        mpb.SetMerchantStatusRequest(merchant_id="m1", status=mpb.MERCHANT_STATUS_CLOSED), metadata=p.md
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await quote(p)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def _with_cap(cap: float) -> pb.PricingRules:
    rules = plain_rules()
    rules.surge_cap = cap
    return rules


async def test_a_small_basket_pays_its_shortfall_up_to_the_cap_in_a_line_of_its_own(pricing_app: App, priced) -> None:  # type: ignore[no-untyped-def]
    """Under 20 yuan the basket pays the shortfall, at most 3 yuan, as the last line (a delivery promotion
    does not discount it); 20 yuan or more pays none; an empty basket is quoted while no minimum is set."""
    p: Priced = priced()
    await setup(p, small_order_below_fen=2_000, small_order_fee_fen=300)
    full = await quote(p, items_fen=2_000)
    assert not any(x.label.startswith("small order") for x in full.lines)
    for basket, extra in ((1_900, 100), (1_000, 300), (0, 300)):
        q = await quote(p, items_fen=basket)
        assert q.lines[-1].label == f"small order (basket {basket / 100:.2f} under 20.00)"
        assert q.lines[-1].amount_fen == extra and q.fee_fen == full.fee_fen + extra == sum(
            x.amount_fen for x in q.lines
        )
    await p.pricing.SetDeliveryPromotions(
        pb.SetDeliveryPromotionsRequest(merchant_id="m1", promotions=[
            pb.DeliveryPromotion(promotion_id="half", percent_off=50, start_minute=0, end_minute=1440)]),
        metadata=p.md,
    )  # fmt: skip
    promoted = await quote(p, items_fen=1_000)
    assert promoted.lines[-2].label.startswith("promotion half") and promoted.lines[-1].amount_fen == 300
    assert promoted.lines[-2].amount_fen == -(full.fee_fen // 2)


async def test_a_basket_below_the_minimum_is_refused_and_an_order_may_not_shrink_its_quoted_basket(
    pricing_app: App, priced, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """A 15-yuan minimum: a 14.99-yuan basket (and an empty one) is INVALID_ARGUMENT naming items_fen. A quote
    priced on an 18-yuan basket serves an order of 18 yuan or more, not one of 16 (INVALID_ARGUMENT naming
    delivery_quote); Redis unchanged by every refusal."""
    p: Priced = priced()
    await setup(p, min_basket_fen=1_500, small_order_below_fen=2_000, small_order_fee_fen=300)
    before = redis_snapshot(redis_sync)
    for basket in (1_499, 0):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await quote(p, items_fen=basket)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err.value) == ["items_fen"]
        assert "minimum basket of 1500 fen" in err.value.details()
    q = await quote(p, items_fen=1_800)
    assert q.lines[-1].amount_fen == 200
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await p.orders.CreateOrder(order("o1", items_fen=1_600, delivery_quote=q.token), metadata=p.md)
    assert bad_request_fields(err.value) == ["delivery_quote"] and "basket of 1800 fen" in err.value.details()
    assert redis_snapshot(redis_sync) == before
    created = await p.orders.CreateOrder(order("o1", items_fen=2_400, delivery_quote=q.token), metadata=p.md)
    assert created.order.delivery_fee_fen == q.fee_fen


@pytest.mark.parametrize(
    ("rules_kw", "field"),
    [
        ({"min_basket_fen": -1}, "rules.min_basket_fen"),
        ({"small_order_below_fen": 1_000_001}, "rules.small_order_below_fen"),
        ({"min_basket_fen": 3_000, "small_order_below_fen": 2_000}, "rules.small_order_below_fen"),
        ({"small_order_fee_fen": -5}, "rules.small_order_fee_fen"),
    ],
)
async def test_bad_basket_rules_are_refused_naming_the_field(
    pricing_app: App, priced, redis_sync: redis.Redis, rules_kw: dict[str, int], field: str
) -> None:  # type: ignore[no-untyped-def]
    """Negative or over 10,000 yuan, a small-order threshold below the minimum basket, a negative fee."""
    p: Priced = priced()
    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await p.pricing.SetPricingRules(pb.SetPricingRulesRequest(rules=plain_rules(**rules_kw)), metadata=p.md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err.value) == [field]
    assert redis_snapshot(redis_sync) == before


async def test_the_default_rules_price_a_small_basket_and_stored_rules_without_basket_fields_do_not() -> None:
    """Defaults: no minimum, 20-yuan threshold, 3-yuan cap. Rules stored before the basket fields existed
    read as pricing no basket (not as today's defaults)."""
    rules = PricingRules()
    assert (rules.min_basket_fen, rules.small_order_fee(0), rules.small_order_fee(1_850), rules.small_order_fee(2_000)) == (
        0, 300, 150, 0,
    )  # fmt: skip
    old = json.loads(rules.to_json())
    for name in ("min_basket_fen", "small_order_below_fen", "small_order_fee_fen"):
        del old[name]
    assert PricingRules.from_json(json.dumps(old)).small_order_fee(0) == 0


async def test_an_order_of_catalogue_lines_is_held_to_its_quoted_basket_before_stock_is_reserved(
    pricing_app: App, priced, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """Quoted on an 18-yuan basket, an order of one 9-yuan tea is refused naming delivery_quote once the
    catalogue prices it, with no stock reserved; two teas are accepted at the quoted fee."""
    p: Priced = priced()
    await setup(p, small_order_below_fen=2_000, small_order_fee_fen=300)
    await sync(p, "m1", "menu", item("tea", 900))  # type: ignore[arg-type]
    await record(p, "m1", count("c1", "tea-v0", 10, pricing_app.clock.now_ms() - 60_000))  # type: ignore[arg-type, attr-defined]
    q = await quote(p, items_fen=1_800)

    def tea_order(quantity: int) -> opb.CreateOrderRequest:
        request = order("o1", items_fen=0, delivery_quote=q.token)
        request.lines.append(opb.OrderLine(item_id="tea", variant_id="tea-v0", quantity=quantity))
        return request

    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await p.orders.CreateOrder(tea_order(1), metadata=p.md)
    assert bad_request_fields(err.value) == ["delivery_quote"] and "the order's is 900" in err.value.details()
    assert redis_snapshot(redis_sync) == before
    created = (await p.orders.CreateOrder(tea_order(2), metadata=p.md)).order
    assert (created.items_fen, created.delivery_fee_fen) == (1_800, q.fee_fen)
