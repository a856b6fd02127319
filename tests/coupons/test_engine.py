"""The coupon engine on a real Redis: discounts, budgets and limits, locks that expire, redeem once,
rollback, validity windows, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis

from core.clock import ManualClock
from core.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from coupons import Campaign, Coupons, CouponState, DiscountKind, GuessThrottle, make_code
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import redis_snapshot

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
START_MS = int(dt.datetime(2026, 3, 16, 12, 0, tzinfo=SHANGHAI).timestamp() * 1000)  # a Monday, noon
DAY_MS = 86_400_000


@pytest_asyncio.fixture
async def engine(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[Coupons]:
    client = redis_client(redis_server.url)  # one Redis, or the cluster with --redis-cluster
    yield Coupons(client, ManualClock(START_MS), throttle=GuessThrottle(max_failures=5))
    await client.aclose()


def campaign(**kw: object) -> Campaign:
    fields: dict[str, object] = {
        "campaign_id": "c1", "merchant_id": "m1", "kind": DiscountKind.AMOUNT_OFF, "amount_off_fen": 1_000,
        "transaction_minimum_fen": 5_000, "valid_from_ms": START_MS - DAY_MS, "valid_until_ms": START_MS + 30 * DAY_MS,
        "max_coupons": 100,
    }  # fmt: skip
    fields.update(kw)
    return Campaign(**fields)  # type: ignore[arg-type]


def advance(engine: Coupons, ms: int) -> None:
    engine.clock.advance(ms / 1000)  # type: ignore[attr-defined]


async def test_discounts_of_each_kind() -> None:
    """满减 above its minimum only; percent rounded down and capped; free delivery up to its cap."""
    c = campaign()
    assert (c.discount_fen(4_999, 0), c.discount_fen(5_000, 0)) == (0, 1_000)
    p = campaign(kind=DiscountKind.PERCENT_OFF, amount_off_fen=0, transaction_minimum_fen=0, discount_percent=15,
                 max_discount_fen=2_000)  # fmt: skip
    assert (p.discount_fen(999, 0), p.discount_fen(100_000, 0)) == (149, 2_000)
    f = campaign(kind=DiscountKind.FREE_DELIVERY, amount_off_fen=0, transaction_minimum_fen=0, max_discount_fen=500)
    assert (f.discount_fen(3_000, 800), f.discount_fen(3_000, 300)) == (500, 300)


async def test_bad_campaigns_name_every_field(engine: Coupons, redis_sync: redis.Redis) -> None:
    """Percent over 100, caps below one, windows that end before they start, a minimum below the amount off."""
    bad = [
        (campaign(amount_off_fen=0), {"campaign.amount_off_fen"}),
        (campaign(transaction_minimum_fen=999), {"campaign.transaction_minimum_fen"}),
        (campaign(kind=DiscountKind.PERCENT_OFF, amount_off_fen=0, discount_percent=101, max_discount_fen=-1),
         {"campaign.discount_percent", "campaign.max_discount_fen"}),
        (campaign(valid_until_ms=START_MS - 2 * DAY_MS), {"campaign.valid_until"}),
        (campaign(max_coupons=0, max_amount_fen=-5, weekdays_mask=128, start_minute=600, end_minute=540),
         {"campaign.max_coupons", "campaign.max_amount_fen", "campaign.weekdays_mask", "campaign.end_minute"}),
        (campaign(campaign_id="c 1", time_zone="Nowhere/Land"), {"campaign.campaign_id", "campaign.time_zone"}),
    ]  # fmt: skip
    for c, fields in bad:
        with pytest.raises(InvalidArgument) as err:
            await engine.create_campaign(c)
        assert {v.field for v in err.value.violations} == fields
    assert redis_sync.keys("*") == []


async def test_claims_respect_the_count_and_the_member_limit(engine: Coupons) -> None:
    """max_coupons in all and per member; a claim key replays its coupon and refuses another member."""
    await engine.create_campaign(campaign(max_coupons=3, max_coupons_per_member=2))
    a, created = await engine.claim("c1", "u1", "k1")
    again, created_again = await engine.claim("c1", "u1", "k1")
    assert created and not created_again and again.code == a.code and a.state is CouponState.CLAIMED
    with pytest.raises(InvalidArgument):
        await engine.claim("c1", "u2", "k1")
    await engine.claim("c1", "u1", "k2")
    with pytest.raises(FailedPrecondition, match="claimed 2"):
        await engine.claim("c1", "u1", "k3")
    await engine.claim("c1", "u2", "k4")
    with pytest.raises(FailedPrecondition, match="all 3"):
        await engine.claim("c1", "u3", "k5")
    _, usage, _ = await engine.campaign("c1")
    assert usage.claimed == 3


async def test_lock_redeem_rollback_and_budgets(engine: Coupons, redis_sync: redis.Redis) -> None:
    """A lock holds the budget; a redemption of the lock is exactly once; a rollback returns it all."""
    await engine.create_campaign(campaign(max_amount_fen=1_500))
    c1, _ = await engine.claim("c1", "u1", "k1")
    c2, _ = await engine.claim("c1", "u2", "k2")
    locked = await engine.lock(c1.code, "m1", "o1", 6_000, 0, 5, "t")
    assert (locked.state, locked.discount_fen, locked.order_id) == (CouponState.LOCKED, 1_000, "o1")
    with pytest.raises(FailedPrecondition, match="budget"):
        await engine.lock(c2.code, "m1", "o2", 6_000, 0, 5, "t")  # 1,000 held + 1,000 > 1,500
    with pytest.raises(FailedPrecondition, match="another order"):
        await engine.redeem(c1.code, "m1", "o9", 6_000, 0, "q0", "t")
    redeemed, now = await engine.redeem(c1.code, "m1", "o1", 6_000, 0, "q1", "t")
    assert now and redeemed.state is CouponState.REDEEMED
    again, now = await engine.redeem(c1.code, "m1", "o1", 6_000, 0, "q1", "t")
    assert not now and again.state is CouponState.REDEEMED
    with pytest.raises(InvalidArgument) as err:
        await engine.redeem(c1.code, "m1", "o1", 7_000, 0, "q1", "t")
    assert err.value.violations[0].field == "request_no"
    with pytest.raises(FailedPrecondition, match="already redeemed"):
        await engine.redeem(c1.code, "m1", "o1", 6_000, 0, "q2", "t")
    with pytest.raises(FailedPrecondition, match="neither locked nor redeemed"):
        await engine.rollback(c2.code, "m1", "o2", "b1", "t")
    back, now = await engine.rollback(c1.code, "m1", "o1", "b2", "t")
    assert now and back.state is CouponState.CLAIMED
    _, now = await engine.rollback(c1.code, "m1", "o1", "b2", "t")
    assert not now
    _, usage, _ = await engine.campaign("c1")
    assert (usage.locked, usage.redeemed, usage.amount_used_fen, usage.used_today) == (0, 0, 0, 0)
    await engine.lock(c2.code, "m1", "o2", 6_000, 0, 5, "t")  # the budget is free again


async def test_an_expired_lock_frees_its_coupon_and_its_budget(engine: Coupons) -> None:
    """After its TTL a lock holds nothing: the coupon locks for another order, the day's count is free."""
    await engine.create_campaign(campaign(max_redemptions_per_day=1))
    c1, _ = await engine.claim("c1", "u1", "k1")
    c2, _ = await engine.claim("c1", "u2", "k2")
    await engine.lock(c1.code, "m1", "o1", 6_000, 0, 2, "t")
    with pytest.raises(FailedPrecondition, match="today"):
        await engine.lock(c2.code, "m1", "o2", 6_000, 0, 2, "t")
    advance(engine, 2 * 60_000)
    assert (await engine.coupon(c1.code)).state is CouponState.CLAIMED
    with pytest.raises(FailedPrecondition, match="neither locked nor redeemed"):
        await engine.rollback(c1.code, "m1", "o1", "b1", "t")  # a lock that expired has nothing to roll back
    await engine.lock(c2.code, "m1", "o2", 6_000, 0, 2, "t")
    _, usage, _ = await engine.campaign("c1")
    assert (usage.locked, usage.used_today) == (1, 1)


async def test_validity_windows_weekdays_and_hours_in_the_merchants_zone(engine: Coupons) -> None:
    """Weekends only (Monday is refused), 11:00-14:00 local; before valid_from and after valid_until refused."""
    await engine.create_campaign(campaign(weekdays_mask=0b1100000, start_minute=660, end_minute=840))
    c, _ = await engine.claim("c1", "u1", "k1")
    with pytest.raises(FailedPrecondition, match="weekday"):
        await engine.lock(c.code, "m1", "o1", 6_000, 0, 5, "t")
    advance(engine, 5 * DAY_MS)  # Saturday noon
    await engine.lock(c.code, "m1", "o1", 6_000, 0, 5, "t")
    await engine.rollback(c.code, "m1", "o1", "b1", "t")
    advance(engine, 3 * 3600 * 1000)  # 15:00
    with pytest.raises(FailedPrecondition, match="hour"):
        await engine.lock(c.code, "m1", "o2", 6_000, 0, 5, "t")
    advance(engine, 30 * DAY_MS)
    with pytest.raises(FailedPrecondition, match="not valid now"):
        await engine.redeem(c.code, "m1", "o3", 6_000, 0, "q", "t")
    with pytest.raises(FailedPrecondition, match="ended"):
        await engine.claim("c1", "u9", "k9")


async def test_foreign_and_guessed_codes_look_alike_and_are_throttled(engine: Coupons, redis_sync: redis.Redis) -> None:
    """Another merchant's real code and a forged one are the same NOT_FOUND; repeated failures are RESOURCE_EXHAUSTED."""
    await engine.create_campaign(campaign())
    await engine.create_campaign(campaign(campaign_id="c2", merchant_id="m2"))
    theirs, _ = await engine.claim("c2", "u1", "k1")
    _, serial, _ = await engine._campaign("c1")
    forged = make_code(b"not the key", serial, 12345)
    before = redis_snapshot(redis_sync)
    messages = []
    for code in (theirs.code, forged):
        with pytest.raises(NotFound) as err:
            await engine.lock(code, "m1", "o1", 6_000, 0, 5, "guesser")
        messages.append(str(err.value).replace(code, "<code>"))
    assert messages[0] == messages[1]
    for _ in range(3):
        with pytest.raises((NotFound, InvalidArgument)):
            await engine.redeem("0000000000000000", "m1", "o1", 6_000, 0, "q", "guesser")
    with pytest.raises(ResourceExhausted):
        await engine.lock(theirs.code, "m2", "o1", 6_000, 0, 5, "guesser")
    assert redis_snapshot(redis_sync) == before
    assert (await engine.lock(theirs.code, "m2", "o1", 6_000, 0, 5, "someone else")).state is CouponState.LOCKED


async def test_stacking_exclusive_coupons_stand_alone_and_orders_hold_at_most_n(engine: Coupons) -> None:
    """An exclusive coupon refuses company and is refused company; a campaign's cap counts what the order holds;
    expired locks and rollbacks let go."""
    await engine.create_campaign(campaign(campaign_id="solo", exclusive=True))
    await engine.create_campaign(campaign(campaign_id="pair", max_coupons_per_order=2, max_coupons_per_member=5))
    solo, _ = await engine.claim("solo", "u1", "k1")
    pairs = [(await engine.claim("pair", "u1", f"p{i}"))[0] for i in range(3)]
    await engine.lock(pairs[0].code, "m1", "o1", 9_000, 0, 5, "t")
    with pytest.raises(FailedPrecondition, match="exclusive and order o1 holds another"):
        await engine.lock(solo.code, "m1", "o1", 8_000, 0, 5, "t")
    await engine.redeem(pairs[1].code, "m1", "o1", 8_000, 0, "q1", "t")
    with pytest.raises(FailedPrecondition, match="holds 2 coupons"):
        await engine.lock(pairs[2].code, "m1", "o1", 7_000, 0, 5, "t")
    await engine.lock(solo.code, "m1", "o2", 8_000, 0, 1, "t")
    with pytest.raises(FailedPrecondition, match="holds an exclusive coupon"):
        await engine.lock(pairs[2].code, "m1", "o2", 7_000, 0, 5, "t")
    advance(engine, 61_000)  # the exclusive lock expired: it holds nothing
    await engine.lock(pairs[2].code, "m1", "o2", 7_000, 0, 5, "t")
    await engine.rollback(pairs[0].code, "m1", "o1", "b1", "t")  # o1 holds one coupon now
    with pytest.raises(FailedPrecondition, match="exclusive and order o1 holds another"):
        await engine.lock(solo.code, "m1", "o1", 8_000, 0, 5, "t")
    await engine.rollback(pairs[1].code, "m1", "o1", "b2", "t")
    assert (await engine.lock(solo.code, "m1", "o1", 8_000, 0, 5, "t")).state is CouponState.LOCKED
