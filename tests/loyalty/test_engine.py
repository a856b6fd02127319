"""The loyalty engine on a real Redis: earning with orders, spends across an alliance, expiry, sign-in,
referrals, idempotency, and the invariants recomputed from the history and the lots."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis

from core.clock import ManualClock
from core.errors import FailedPrecondition, InvalidArgument, NotFound
from loyalty import EntryKind, Loyalty, OrderState, Programme, ProgrammeKind, Reward, order_points
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import redis_snapshot
from tests.loyalty.helpers import member_invariants

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# 2026-03-15 10:00 in Shanghai.
START_MS = int(dt.datetime(2026, 3, 15, 10, 0, tzinfo=SHANGHAI).timestamp() * 1000)
DAY_MS = 86_400_000


@pytest_asyncio.fixture
async def engine(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[Loyalty]:
    client = redis_client(redis_server.url)  # one Redis, or the cluster with --redis-cluster
    yield Loyalty(client, ManualClock(START_MS))
    await client.aclose()


def alliance(**kw: object) -> Programme:
    fields: dict[str, object] = {
        "programme_id": "p1", "kind": ProgrammeKind.ALLIANCE, "merchant_ids": ("nails", "hotpot", "coffee"),
        "signin_points": 5, "streak_days": 7, "streak_bonus_points": 50, "grace_days": 1,
        "referrer_points": 100, "referee_points": 50,
    }  # fmt: skip
    fields.update(kw)
    return Programme(**fields)  # type: ignore[arg-type]


def advance(engine: Loyalty, ms: int) -> None:
    engine.clock.advance(ms / 1000)  # type: ignore[attr-defined]


async def test_points_are_pending_at_payment_and_available_at_completion(engine: Loyalty) -> None:
    """10% of the paid amount, pending until the order completes; a lot valid to the end of the 12th month."""
    await engine.create_programme(alliance())
    points, changed = await engine.sync_order("o1", "nails", "u1", OrderState.PAID, 9_505, 0)
    assert points is not None and changed and points.points == 950  # floor(9505 x 1000 / 10000)
    balance = await engine.balance("p1", "u1")
    assert (balance.available, balance.pending) == (0, 950)
    points, changed = await engine.sync_order("o1", "nails", "u1", OrderState.COMPLETED, 9_505, 0)
    assert changed and points is not None and points.state is OrderState.COMPLETED
    balance = await engine.balance("p1", "u1")
    assert (balance.available, balance.pending) == (950, 0)
    # Earned in March 2026: valid until the end of March 2027, Shanghai time.
    end = int(dt.datetime(2027, 4, 1, tzinfo=SHANGHAI).timestamp() * 1000)
    assert [(e.expires_ms, e.points) for e in balance.expiries] == [(end, 950)]
    again, changed = await engine.sync_order("o1", "nails", "u1", OrderState.PAID, 9_505, 0)
    assert not changed and again is not None and again.state is OrderState.COMPLETED  # an older view: nothing
    entries, token = await engine.history("p1", "u1")
    assert [e.kind for e in entries] == [EntryKind.ORDER_AVAILABLE, EntryKind.ORDER_REVERSED, EntryKind.ORDER_PENDING]
    assert token == ""


async def test_refunds_reverse_in_proportion_and_spent_points_become_debt(
    engine: Loyalty, redis_sync: redis.Redis
) -> None:
    """A refund before completion cuts pending; after completion it takes the order's lot, then debt."""
    await engine.create_programme(alliance())
    await engine.sync_order("o1", "nails", "u1", OrderState.PAID, 10_000, 0)
    await engine.sync_order("o1", "nails", "u1", OrderState.PAID, 10_000, 2_500)
    assert (await engine.balance("p1", "u1")).pending == 750
    await engine.sync_order("o1", "nails", "u1", OrderState.COMPLETED, 10_000, 2_500)
    await engine.spend("p1", "u1", "hotpot", 700, "s1")
    points, _ = await engine.sync_order("o1", "nails", "u1", OrderState.COMPLETED, 10_000, 10_000)
    assert points is not None and (points.points, points.reversed_points, points.debt_points) == (0, 1_000, 700)
    balance = await engine.balance("p1", "u1")
    assert (balance.available, balance.pending, balance.debt) == (0, 0, 700)
    # The next points repay the debt first.
    await engine.sync_order("o2", "coffee", "u1", OrderState.COMPLETED, 9_000, 0)
    balance = await engine.balance("p1", "u1")
    assert (balance.available, balance.debt) == (200, 0)
    assert member_invariants(redis_sync, "p1", "u1", engine.clock.now_ms()) == []
    assert order_points(10_000, 2_500, 1_000) == 750


async def test_a_refund_after_everything_was_spent_is_all_debt(engine: Loyalty, redis_sync: redis.Redis) -> None:
    """No points left at all when the refund comes: nothing is taken, the whole reversal is owed."""
    await engine.create_programme(alliance())
    await engine.sync_order("o1", "nails", "u1", OrderState.COMPLETED, 5_000, 0)
    await engine.spend("p1", "u1", "hotpot", 500, "s1")
    points, changed = await engine.sync_order("o1", "nails", "u1", OrderState.COMPLETED, 5_000, 2_000)
    assert changed and points is not None and points.debt_points == 200
    balance = await engine.balance("p1", "u1")
    assert (balance.available, balance.debt) == (0, 200)
    assert member_invariants(redis_sync, "p1", "u1", engine.clock.now_ms()) == []


async def test_spends_take_the_earliest_expiring_lots_and_record_claims(
    engine: Loyalty, redis_sync: redis.Redis
) -> None:
    """Points of nails spent at hotpot: the earliest lot first, the lots named, hotpot's claim on nails."""
    await engine.create_programme(alliance())
    await engine.sync_order("o1", "nails", "u1", OrderState.COMPLETED, 3_000, 0)  # 300, expires 2027-04
    advance(engine, 40 * DAY_MS)
    await engine.sync_order("o2", "coffee", "u1", OrderState.COMPLETED, 5_000, 0)  # 500, expires 2027-05
    spend, created, balance = await engine.spend("p1", "u1", "hotpot", 400, "s1", order_id="h1")
    assert created and balance.available == 400
    assert [(u.issuer, u.points) for u in spend.lots] == [("nails", 300), ("coffee", 100)]
    assert spend.value_fen == 400
    day = "2026-04-24"
    claims = await engine.clearing("p1", day)
    assert sorted((c.creditor, c.debtor, c.points) for c in claims) == [
        ("hotpot", "coffee", 100),
        ("hotpot", "nails", 300),
    ]
    # Spending back at nails nets against hotpot's claim on nails.
    await engine.sync_order("o3", "hotpot", "u2", OrderState.COMPLETED, 2_000, 0)
    await engine.spend("p1", "u2", "nails", 120, "s2")
    claims = {(c.creditor, c.debtor): c.points for c in await engine.clearing("p1", day)}
    assert claims == {("hotpot", "coffee"): 100, ("hotpot", "nails"): 180}
    for member in ("u1", "u2"):
        assert member_invariants(redis_sync, "p1", member, engine.clock.now_ms()) == []


async def test_a_spend_key_replays_and_refuses_another_body(engine: Loyalty, redis_sync: redis.Redis) -> None:
    """The same key and body replays the spend; another body is INVALID_ARGUMENT; nothing changes either time."""
    await engine.create_programme(alliance())
    await engine.sync_order("o1", "nails", "u1", OrderState.COMPLETED, 3_000, 0)
    first, created, _ = await engine.spend("p1", "u1", "nails", 100, "s1")
    before = redis_snapshot(redis_sync)
    again, created_again, _ = await engine.spend("p1", "u1", "nails", 100, "s1")
    assert created and not created_again and again == first
    with pytest.raises(InvalidArgument) as err:
        await engine.spend("p1", "u1", "nails", 101, "s1")
    assert err.value.violations[0].field == "idempotency_key"
    with pytest.raises(FailedPrecondition):
        await engine.spend("p1", "u1", "nails", 10_000, "s2")
    with pytest.raises(FailedPrecondition):
        await engine.spend("p1", "u1", "elsewhere", 1, "s3")
    with pytest.raises(InvalidArgument) as err:
        await engine.spend("p1", "u 1", "nails", 0, "")
    assert {v.field for v in err.value.violations} == {"member_id", "points", "idempotency_key"}
    assert redis_snapshot(redis_sync) == before


async def test_expiry_removes_only_what_is_left(engine: Loyalty, redis_sync: redis.Redis) -> None:
    """A lot partly spent expires with what is left; an expired lot is never spent; expiry runs once."""
    await engine.create_programme(alliance(expiry_months=1))
    await engine.sync_order("o1", "nails", "u1", OrderState.COMPLETED, 3_000, 0)  # 300 until 2026-05-01
    await engine.spend("p1", "u1", "nails", 120, "s1")
    advance(engine, 47 * DAY_MS)  # 2026-05-01 10:00
    assert (await engine.balance("p1", "u1")).available == 0
    with pytest.raises(FailedPrecondition):
        await engine.spend("p1", "u1", "nails", 1, "s2")
    run = await engine.expire("p1")
    assert (run.lots_expired, run.points_expired, run.more) == (1, 180, False)
    assert (await engine.expire("p1")).lots_expired == 0
    entries, _ = await engine.history("p1", "u1")
    assert (entries[0].kind, entries[0].available_delta) == (EntryKind.EXPIRED, -180)
    assert member_invariants(redis_sync, "p1", "u1", engine.clock.now_ms()) == []


async def test_refunding_a_spend_gives_the_points_back_once(engine: Loyalty, redis_sync: redis.Redis) -> None:
    """Back to the same lots, the claims reversed on today's clearing, a second refund a replay."""
    await engine.create_programme(alliance())
    await engine.sync_order("o1", "nails", "u1", OrderState.COMPLETED, 3_000, 0)
    await engine.spend("p1", "u1", "hotpot", 200, "s1")
    spend, now, balance = await engine.refund_spend("p1", "u1", "s1")
    assert now and spend.refunded and balance.available == 300
    _, again, _ = await engine.refund_spend("p1", "u1", "s1")
    assert not again and (await engine.balance("p1", "u1")).available == 300
    assert await engine.clearing("p1", "2026-03-15") == []
    with pytest.raises(NotFound):
        await engine.refund_spend("p1", "u2", "s1")  # another member's spend is not found
    assert member_invariants(redis_sync, "p1", "u1", engine.clock.now_ms()) == []


async def test_sign_in_once_per_local_day_with_streak_and_grace(engine: Loyalty) -> None:
    """The day is Shanghai's; a missed day within the grace keeps the streak; the 7th earns the bonus."""
    await engine.create_programme(alliance())
    first, _ = await engine.sign_in("p1", "u1")
    again, _ = await engine.sign_in("p1", "u1")
    assert (first.day, first.streak, first.points, first.signed_in_now) == ("2026-03-15", 1, 5, True)
    assert (again.streak, again.signed_in_now) == (1, False)
    advance(engine, 14 * 3600 * 1000)  # 00:00 on the 16th in Shanghai (16:00 UTC on the 15th)
    second, _ = await engine.sign_in("p1", "u1")
    assert (second.day, second.streak) == ("2026-03-16", 2)
    advance(engine, 2 * DAY_MS)  # the 17th missed: within the grace of one day
    third, _ = await engine.sign_in("p1", "u1")
    assert third.streak == 3
    for expected in (4, 5, 6, 7):
        advance(engine, DAY_MS)
        s, balance = await engine.sign_in("p1", "u1")
        assert s.streak == expected
    assert s.points == 55 and balance.available == 6 * 5 + 55
    advance(engine, 3 * DAY_MS)  # two days missed: beyond the grace
    s, _ = await engine.sign_in("p1", "u1")
    assert s.streak == 1


async def test_referrals_reward_both_once_and_refuse_self_loops_and_second_referrers(engine: Loyalty) -> None:
    """u2 referred by u1: both rewarded when u2's first order completes, once; abuse refused."""
    await engine.create_programme(alliance())
    code1 = await engine.referral_code("p1", "u1")
    assert await engine.referral_code("p1", "u1") == code1
    code2 = await engine.referral_code("p1", "u2")
    with pytest.raises(FailedPrecondition, match="itself"):
        await engine.apply_referral("p1", "u1", code1)
    assert await engine.apply_referral("p1", "u2", code1) == ("u1", True)
    assert await engine.apply_referral("p1", "u2", code1.lower()) == ("u1", False)
    code3 = await engine.referral_code("p1", "u3")
    with pytest.raises(FailedPrecondition, match="already referred"):
        await engine.apply_referral("p1", "u2", code3)
    with pytest.raises(FailedPrecondition, match="loop"):
        await engine.apply_referral("p1", "u1", code2)
    await engine.apply_referral("p1", "u3", code2)  # u1 -> u2 -> u3
    with pytest.raises(FailedPrecondition, match="loop"):
        await engine.apply_referral("p1", "u1", code3)
    with pytest.raises(NotFound):
        await engine.apply_referral("p1", "u4", "ZZZZZZZZ")
    await engine.sync_order("o1", "coffee", "u2", OrderState.COMPLETED, 1_000, 0)
    await engine.sync_order("o2", "coffee", "u2", OrderState.COMPLETED, 1_000, 0)
    assert (await engine.balance("p1", "u2")).available == 100 + 100 + 50
    assert (await engine.balance("p1", "u1")).available == 100
    await engine.sync_order("o3", "nails", "u5", OrderState.COMPLETED, 1_000, 0)
    with pytest.raises(FailedPrecondition, match="completed an order"):
        await engine.apply_referral("p1", "u5", code3)


async def test_bad_programmes_name_every_field(engine: Loyalty, redis_sync: redis.Redis) -> None:
    """Out-of-range rates, unknown zones, repeated merchants: INVALID_ARGUMENT naming each; nothing stored."""
    with pytest.raises(InvalidArgument) as err:
        await engine.create_programme(
            alliance(earn_bp=0, time_zone="Mars/Olympus", merchant_ids=("a", "a"), grace_days=31)
        )
    fields = {v.field for v in err.value.violations}
    assert fields == {"programme.earn_bp", "programme.time_zone", "programme.merchant_ids[1]", "programme.grace_days"}
    assert redis_sync.keys("*") == []
    await engine.create_programme(alliance())
    with pytest.raises(InvalidArgument):
        await engine.create_programme(alliance(earn_bp=500))
    with pytest.raises(FailedPrecondition):
        await engine.create_programme(alliance(programme_id="p2"))  # its merchants belong to p1
    with pytest.raises(NotFound):
        await engine.balance("p9", "u1")


async def test_randomised_operations_keep_every_invariant(engine: Loyalty, redis_sync: redis.Redis) -> None:
    """Earn, complete, spend across shops, refund, give back, expire, sign in, retry and duplicate at random:
    the counters equal the history's sums and the lots' contents, every order keeps what its net amount earns."""
    rng = random.Random(19)
    await engine.create_programme(alliance(expiry_months=1))
    merchants = ("nails", "hotpot", "coffee")
    orders: dict[str, tuple[str, str, int, int, OrderState]] = {}
    spends: list[tuple[str, str]] = []
    for i in range(1_500):
        member = f"u{rng.randrange(4)}"
        op = rng.random()
        if op < 0.25 or not orders:
            oid = f"o{i}"
            orders[oid] = (member, rng.choice(merchants), rng.randrange(1, 20_000), 0, OrderState.PAID)
            m, merchant, paid, refunded, state = orders[oid]
            await engine.sync_order(oid, merchant, m, state, paid, refunded)
        elif op < 0.45:
            oid = rng.choice(list(orders))
            m, merchant, paid, refunded, _ = orders[oid]
            orders[oid] = (m, merchant, paid, refunded, OrderState.COMPLETED)
            await engine.sync_order(oid, merchant, m, OrderState.COMPLETED, paid, refunded)
        elif op < 0.6:
            oid = rng.choice(list(orders))
            m, merchant, paid, refunded, state = orders[oid]
            refunded = min(paid, refunded + rng.randrange(1, paid + 1))
            orders[oid] = (m, merchant, paid, refunded, state)
            await engine.sync_order(oid, merchant, m, state, paid, refunded)
        elif op < 0.8:
            key = f"s{i}" if rng.random() < 0.9 or not spends else rng.choice(spends)[1]
            try:
                await engine.spend("p1", member, rng.choice(merchants), rng.randrange(1, 300), key)
                spends.append((member, key))
            except (FailedPrecondition, InvalidArgument):
                pass
        elif op < 0.87 and spends:
            m, key = rng.choice(spends)
            await engine.refund_spend("p1", m, key)
        elif op < 0.93:
            await engine.sign_in("p1", member)
        elif op < 0.96:
            await engine.expire("p1")
        else:
            advance(engine, rng.randrange(1, 5 * DAY_MS))
    now = engine.clock.now_ms()
    for member in {o[0] for o in orders.values()}:
        assert member_invariants(redis_sync, "p1", member, now) == [], member
    for oid, (_, _, paid, refunded, state) in orders.items():
        points = await engine.order_points("p1", oid)
        assert points.points == order_points(paid, refunded, 1_000) and points.state == state, oid


async def test_a_reward_trades_its_points_for_a_coupon_once(engine: Loyalty, redis_sync: redis.Redis) -> None:
    """300 points unlock the hotpot's coupon: spent at the hotpot, the coupon claimed; a retry replays; a campaign
    that ran out gives the points back and the key stays failed."""
    from coupons import Campaign, DiscountKind

    now = engine.clock.now_ms()
    for cid, count in (("hotpot-20", 5), ("hotpot-once", 1)):
        await engine.coupons.create_campaign(
            Campaign(cid, "hotpot", DiscountKind.AMOUNT_OFF, now - DAY_MS, now + 30 * DAY_MS, count,
                     amount_off_fen=2_000, transaction_minimum_fen=10_000, max_coupons_per_member=5)
        )  # fmt: skip
    await engine.create_programme(
        alliance(rewards=(Reward("r300", 300, "hotpot-20"), Reward("r100", 100, "hotpot-once"),
                          Reward("elsewhere", 1, "nowhere")))
    )  # fmt: skip
    await engine.sync_order("o1", "nails", "u1", OrderState.COMPLETED, 5_000, 0)  # 500 points
    assert (await engine.balance("p1", "u1")).unlocked_reward_ids == ("r300", "r100", "elsewhere")
    spend, code, created, balance = await engine.redeem_reward("p1", "u1", "r300", "k1")
    assert created and spend.merchant_id == "hotpot" and spend.points == 300 and balance.available == 200
    assert (await engine.coupons.coupon(code)).member_id == "u1"
    again = await engine.redeem_reward("p1", "u1", "r300", "k1")
    assert again[1] == code and not again[2] and again[3].available == 200
    assert balance.unlocked_reward_ids == ("r100", "elsewhere")
    with pytest.raises(InvalidArgument):
        await engine.redeem_reward("p1", "u1", "r100", "k1")  # the key of another reward
    await engine.coupons.claim("hotpot-once", "u9", "someone")  # the campaign runs out
    with pytest.raises(FailedPrecondition, match="given back"):
        await engine.redeem_reward("p1", "u1", "r100", "k2")
    assert (await engine.balance("p1", "u1")).available == 200
    with pytest.raises(FailedPrecondition, match="new key"):
        await engine.redeem_reward("p1", "u1", "r100", "k2")
    with pytest.raises(NotFound):
        await engine.redeem_reward("p1", "u1", "elsewhere", "k3")  # its campaign does not exist
    with pytest.raises(NotFound):
        await engine.redeem_reward("p1", "u1", "r999", "k4")
    assert member_invariants(redis_sync, "p1", "u1", engine.clock.now_ms()) == []
