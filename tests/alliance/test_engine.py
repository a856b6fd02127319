"""Alliances on a real Redis: offers issued on orders at the source by proximity and segment, attribution of
redemptions at the partner with a commission, clawed back on rollback; contribution reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis

from alliance import Alliance, AllianceMerchant, Alliances, Offer, Segment, Trigger
from core.clock import ManualClock
from core.errors import FailedPrecondition, InvalidArgument
from coupons import Campaign, Coupons, DiscountKind
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import redis_snapshot

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
START_MS = int(dt.datetime(2026, 3, 16, 15, 0, tzinfo=SHANGHAI).timestamp() * 1000)  # Monday 15:00
DAY_MS = 86_400_000
AFTERNOON_TEA = sum(1 << h for h in range(14, 18))


@pytest_asyncio.fixture
async def engine(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[Alliances]:
    client = redis_client(redis_server.url)  # one Redis, or the cluster with --redis-cluster
    clock = ManualClock(START_MS)
    coupons = Coupons(client, clock)
    alliances = Alliances(client, clock, coupons)
    coupons.observers.append(alliances)
    await alliances.create_alliance(
        Alliance("a1", (AllianceMerchant("coffee", 31.2304, 121.4737, "coffee"),
                        AllianceMerchant("yoga", 31.2320, 121.4750, "fitness"),  # ~220 m away
                        AllianceMerchant("bakery", 31.3000, 121.5500, "dessert")), 1_000)  # ~11 km away
    )  # fmt: skip
    for merchant in ("yoga", "bakery"):
        await coupons.create_campaign(
            Campaign(f"{merchant}-trial", merchant, DiscountKind.AMOUNT_OFF, START_MS - DAY_MS, START_MS + 30 * DAY_MS,
                     100, amount_off_fen=3_000, transaction_minimum_fen=5_000)
        )  # fmt: skip
    yield alliances
    await client.aclose()


async def test_an_offer_is_issued_near_and_in_segment_and_its_redemption_pays_the_source(engine: Alliances) -> None:
    """Afternoon-tea coffee buyers get the yoga trial (220 m away), not the bakery's (11 km); the yoga redemption
    credits coffee 10% of the order; a rollback claws it back."""
    segment = Segment(min_orders=1, hours_mask=AFTERNOON_TEA, categories=("coffee",))
    await engine.create_offer(Offer("yoga-for-coffee", "a1", "coffee", "yoga-trial", Trigger.COMPLETED, 1_000, segment))
    await engine.create_offer(Offer("bakery-for-coffee", "a1", "coffee", "bakery-trial", Trigger.PAID, 1_000))
    assert await engine.order_event("o1", "coffee", "u1", 3_800, START_MS, completed=False) == []  # bakery too far
    codes = await engine.order_event("o1", "coffee", "u1", 3_800, START_MS, completed=True)
    assert len(codes) == 1 and (await engine.coupons.coupon(codes[0])).campaign_id == "yoga-trial"
    assert await engine.order_event("o1", "coffee", "u1", 3_800, START_MS, completed=True) == codes  # a retry
    # A morning coffee buyer is outside the segment.
    assert await engine.order_event("o2", "coffee", "u2", 2_000, START_MS - 6 * 3_600_000, completed=True) == []
    segment_u1 = await engine.segment("a1", "u1")
    assert (segment_u1.orders, segment_u1.spend_fen, segment_u1.categories) == (1, 3_800, ("coffee",))
    await engine.coupons.redeem(codes[0], "yoga", "y1", 20_000, 0, "q1", "t")
    await engine.coupons.redeem(codes[0], "yoga", "y1", 20_000, 0, "q1", "t")  # the counter's retry
    (report,) = [c for c in await engine.contribution("a1", "coffee") if c.offer_id == "yoga-for-coffee"]
    assert (report.issued, report.redeemed, report.customers, report.sales_fen, report.commission_fen) == (
        1, 1, 1, 20_000, 2_000
    )  # fmt: skip
    await engine.coupons.rollback(codes[0], "yoga", "y1", "b1", "t")
    await engine.coupons.rollback(codes[0], "yoga", "y1", "b1", "t")  # replayed: clawed back once
    (report,) = [c for c in await engine.contribution("a1", "coffee") if c.offer_id == "yoga-for-coffee"]
    assert (report.redeemed, report.customers, report.sales_fen, report.commission_fen) == (0, 0, 0, 0)


async def test_bad_alliances_and_offers_change_nothing(engine: Alliances, redis_sync: redis.Redis) -> None:
    """Bad fields named; an offer whose partner is outside the alliance, or is the source itself, refused."""
    before = redis_snapshot(redis_sync)
    with pytest.raises(InvalidArgument) as err:
        await engine.create_alliance(Alliance("a 2", (AllianceMerchant("x", 91.0, 0.0, "c"),), 0))
    assert {v.field for v in err.value.violations} == {
        "alliance.alliance_id", "alliance.merchants", "alliance.commission_bp"
    }  # fmt: skip
    with pytest.raises(FailedPrecondition):
        await engine.create_alliance(Alliance("a2", (AllianceMerchant("coffee", 31.0, 121.0, "coffee"),
                                                     AllianceMerchant("tea", 31.0, 121.0, "tea")), 500))  # fmt: skip
    with pytest.raises(InvalidArgument) as err:
        await engine.create_offer(
            Offer("o 1", "a1", "coffee", "yoga-trial", Trigger.PAID, -1, Segment(hours_mask=1 << 24))
        )
    assert {v.field for v in err.value.violations} == {
        "offer.offer_id", "offer.max_distance_m", "offer.segment.hours_mask"
    }  # fmt: skip
    with pytest.raises(FailedPrecondition):
        await engine.create_offer(Offer("self", "a1", "yoga", "yoga-trial", Trigger.PAID))
    with pytest.raises(FailedPrecondition):
        await engine.create_offer(Offer("outside", "a1", "gym", "yoga-trial", Trigger.PAID))
    assert redis_snapshot(redis_sync) == before


async def test_commissions_post_into_the_ledger_t_plus_1_and_claw_backs_follow(engine: Alliances) -> None:
    """Day 1: yoga owes coffee 10% of a 200-yuan order; day 2 the redemption is rolled back: the claw-back posts
    the other way. Each day posts once, sums to zero, and Reconcile finds nothing."""
    from settlement.service import Settlement

    settlement = Settlement(engine._redis, engine.clock)
    settlement.reconciler.extra_checks.append(engine.reconcile)
    await engine.create_offer(Offer("yoga-for-coffee", "a1", "coffee", "yoga-trial", Trigger.PAID))
    (code,) = await engine.order_event("o1", "coffee", "u1", 3_800, START_MS, completed=False)
    await engine.coupons.redeem(code, "yoga", "y1", 20_000, 0, "q1", "t")
    with pytest.raises(FailedPrecondition, match="T\\+1"):
        await engine.run_commissions("a1", "2026-03-16")
    engine.clock.advance(9 * 3600 + 5 * 60)  # 00:05 CST on the 17th
    transfers, posting_id, posted_day, now = await engine.run_commissions("a1", "2026-03-16")
    assert transfers == [("coffee", "yoga", 2_000)] and now and posting_id == "commission:a1:2026-03-16"
    assert (await engine.run_commissions("a1", "2026-03-16"))[1:] == (posting_id, posted_day, False)
    await engine.coupons.rollback(code, "yoga", "y1", "b1", "t")  # on the 17th
    engine.clock.advance(24 * 3600)
    transfers, _, _, _ = await engine.run_commissions("a1", "2026-03-17")
    assert transfers == [("yoga", "coffee", 2_000)]
    balances = await engine._redis.hgetall(settlement.keys.balances)
    assert balances == {"merchant:coffee": "0", "merchant:yoga": "0"}
    assert (await settlement.reconciler.reconcile()).differences == []
    await engine._redis.rpush(engine.keys.commission_log("a1", "2026-03-16"), '["coffee","yoga",1,"x",0]')
    kinds = sorted(d.kind for d in (await settlement.reconciler.reconcile()).differences)
    assert kinds == ["commission_mismatch", "commission_mismatch"]


async def test_offers_reach_partners_near_the_order_place(engine: Alliances) -> None:
    """The order's place (the member's drop-off), not the source merchant's, decides which partners are near: an
    order dropped off beside the bakery gets the bakery's offer, one dropped off beside the coffee shop does not."""
    await engine.create_offer(Offer("bakery-near", "a1", "coffee", "bakery-trial", Trigger.PAID, 1_000))
    assert await engine.order_event("o1", "coffee", "u1", 3_800, START_MS, False, place=(31.2310, 121.4740)) == []
    (code,) = await engine.order_event("o2", "coffee", "u1", 3_800, START_MS, False, place=(31.3005, 121.5505))
    assert (await engine.coupons.coupon(code)).campaign_id == "bakery-trial"


async def test_a_refund_takes_the_order_back_out_of_the_segment(engine: Alliances) -> None:
    """A completed order counts once; a partial refund lowers the spend, a full one removes the order, its hour and
    its category; replays and older views change nothing."""
    await engine.order_event("o1", "coffee", "u1", 3_800, START_MS, completed=True)
    await engine.order_event("o2", "yoga", "u1", 10_000, START_MS - 6 * 3_600_000, completed=True)
    before = await engine.segment("a1", "u1")
    assert (before.orders, before.spend_fen, before.categories) == (2, 13_800, ("coffee", "fitness"))
    assert before.hours_mask == (1 << 15) | (1 << 9)
    assert await engine.order_refunded("o1", "coffee", "u1", 1_800)
    assert not await engine.order_refunded("o1", "coffee", "u1", 1_800)  # a replay
    assert not await engine.order_refunded("o1", "coffee", "u1", 3_000)  # an older view
    after = await engine.segment("a1", "u1")
    assert (after.orders, after.spend_fen, after.categories) == (2, 11_800, ("coffee", "fitness"))
    assert await engine.order_refunded("o1", "coffee", "u1", 0)
    assert not await engine.order_refunded("o1", "coffee", "u1", 0)
    await engine.order_event("o1", "coffee", "u1", 0, START_MS, completed=True)  # the follower's retry
    after = await engine.segment("a1", "u1")
    assert (after.orders, after.spend_fen, after.categories, after.hours_mask) == (1, 10_000, ("fitness",), 1 << 9)
    assert not await engine.order_refunded("o9", "coffee", "u1", 0)  # never counted: nothing to take out
