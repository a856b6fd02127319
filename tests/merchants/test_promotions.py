"""A near-expiry lot's promotion suggestion turned into a CouponService campaign with one call, through the real
gRPC server: the campaign's scope and validity, idempotency, the coupon it gives at checkout, refusals."""

from __future__ import annotations

import asyncio
import datetime as dt

import grpc
import redis

from serving.app import App
from serving.auth import Role
from tests.conftest import redis_snapshot
from tests.merchants.helpers import Supply, create_merchant, item, record, sync
from tests.merchants.test_api import refused
from tongcheng.coupons.v1 import coupons_pb2 as cpb
from tongcheng.coupons.v1 import coupons_pb2_grpc
from tongcheng.merchants.v1 import merchants_pb2 as pb

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


async def _shop_with_lot(supply_app: App, s: Supply, days: int = 1, quantity: int = 6) -> dt.date:
    await create_merchant(s, "shop", category=pb.MERCHANT_CATEGORY_CONVENIENCE)
    await sync(s, "shop", "menu", item("milk", 650), item("bread", 900))
    today = dt.datetime.fromtimestamp(supply_app.clock.now_ms() / 1000, SHANGHAI).date()
    expires = today + dt.timedelta(days=days)
    lot = pb.StockLot(lot_id="L1", variant_id="milk-v0", quantity=quantity, expires_on=expires.isoformat())
    await record(s, "shop", lots=[lot])
    await s.merchants.SuggestPromotions(pb.SuggestPromotionsRequest(merchant_id="shop"), metadata=s.md)
    return expires


def _promote(s: Supply, suggestion_id: str = "L1", merchant_id: str = "shop"):  # type: ignore[no-untyped-def]
    request = pb.CreatePromotionCampaignRequest(merchant_id=merchant_id, suggestion_id=suggestion_id)
    return s.merchants.CreatePromotionCampaign(request, metadata=s.md)


async def test_a_suggestion_becomes_a_campaign_of_the_item_until_the_lot_expires(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """Percent off the lot's item only, one coupon per unit, the lot's markdown as budget, valid until the end of
    the expiry date in the merchant's zone; the suggestion is marked used and a retry returns the same campaign."""
    expires = await _shop_with_lot(supply_app, supply(Role.OPS))
    shop = supply(Role.MERCHANT, "shop")
    made = await _promote(shop)
    c = made.campaign
    assert made.created and made.suggestion.campaign_id == c.campaign_id == "promo:shop:L1"
    assert (c.merchant_id, list(c.item_ids), c.kind) == ("shop", ["milk"], cpb.DISCOUNT_KIND_PERCENT_OFF)
    # One day left: 40 % off 650 fen is 260 fen a unit, 6 units.
    assert (c.discount_percent, c.max_coupons, c.max_discount_fen, c.max_amount_fen) == (40, 6, 6 * 260, 6 * 260)
    end = dt.datetime(expires.year, expires.month, expires.day, tzinfo=SHANGHAI) + dt.timedelta(days=1)
    assert c.valid_until.ToSeconds() == int(end.timestamp())
    assert c.valid_from.ToMilliseconds() == made.suggestion.created_at.ToMilliseconds()
    again = await _promote(shop)
    assert not again.created and again.campaign == c
    listed = await shop.merchants.ListPromotionSuggestions(
        pb.ListPromotionSuggestionsRequest(merchant_id="shop"), metadata=shop.md
    )
    assert [(x.lot_id, x.campaign_id) for x in listed.suggestions] == [("L1", c.campaign_id)]
    # Suggesting again keeps the used suggestion as it was (not remade with a new time or discount).
    supply_app.clock.advance(3_600)
    await shop.merchants.SuggestPromotions(pb.SuggestPromotionsRequest(merchant_id="shop"), metadata=shop.md)
    kept = await _promote(shop)
    assert kept.suggestion == made.suggestion and not kept.created


async def test_the_campaigns_coupon_takes_the_markdown_at_the_counter(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """A member claims a coupon of the campaign and locks it on two units of the item: 40 % of 1,300 fen off."""
    await _shop_with_lot(supply_app, supply(Role.OPS))
    made = await _promote(supply(Role.MERCHANT, "shop"))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{supply_app.port}") as ch:
        coupons = coupons_pb2_grpc.CouponServiceStub(ch)
        ops = supply(Role.OPS).md
        claimed = await coupons.ClaimCoupon(
            cpb.ClaimCouponRequest(campaign_id=made.campaign.campaign_id, member_id="u1", idempotency_key="k1"),
            metadata=ops,
        )
        locked = await coupons.LockCoupon(
            cpb.LockCouponRequest(code=claimed.coupon.code, merchant_id="shop", order_id="o1", order_amount_fen=1_300),
            metadata=ops,
        )
    assert locked.coupon.discount_fen == 520


async def test_refusals_name_the_problem_and_write_nothing(supply_app: App, supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """Only the merchant itself; an unknown suggestion is NOT_FOUND, a bad id INVALID_ARGUMENT, an expired lot
    FAILED_PRECONDITION: each leaves Redis as it was."""
    await _shop_with_lot(supply_app, supply(Role.OPS), days=0)
    before = redis_snapshot(redis_sync)
    await refused(_promote(supply(Role.OPS)), grpc.StatusCode.PERMISSION_DENIED)
    await refused(_promote(supply(Role.ORDER_SERVICE)), grpc.StatusCode.PERMISSION_DENIED)
    await refused(_promote(supply(Role.MERCHANT, "other")), grpc.StatusCode.PERMISSION_DENIED)
    shop = supply(Role.MERCHANT, "shop")
    await refused(_promote(shop, "nope"), grpc.StatusCode.NOT_FOUND)
    await refused(_promote(shop, "bad id!"), grpc.StatusCode.INVALID_ARGUMENT)
    supply_app.clock.advance(2 * 86_400)  # the lot expired today: past its date
    await refused(_promote(shop), grpc.StatusCode.FAILED_PRECONDITION)
    assert redis_snapshot(redis_sync) == before


async def test_concurrent_calls_make_one_campaign(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """Eight concurrent calls for one suggestion: every one answers the same campaign, exactly one created it."""
    await _shop_with_lot(supply_app, supply(Role.OPS))
    shop = supply(Role.MERCHANT, "shop")
    replies = await asyncio.gather(*(_promote(shop) for _ in range(8)))
    assert len({r.campaign.campaign_id for r in replies}) == 1
    assert sum(r.created for r in replies) == 1
