"""Checkout through the real gRPC server and Redis: coupons locked to an order and points pay for part of it in
the payment's own script, whoever funds a discount bears it in the split, and cancel and refund give everything
back exactly once."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
import redis

from core.clock import ManualClock
from serving.app import App
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import redis_snapshot, server_config
from tests.dispatch.api.helpers import bad_request_fields
from tests.loyalty.conftest import Points
from tests.loyalty.helpers import member_invariants
from tests.settlement.helpers import create_and_pay, new_order, rule, set_rule
from tongcheng.coupons.v1 import coupons_pb2 as cpb
from tongcheng.loyalty.v1 import loyalty_pb2 as lpb
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.settlement.v1 import settlement_pb2 as spb

START_MS = 1_773_108_000_000  # 2026-03-10 10:00 CST
PLATFORM = "platform:tongcheng"


@pytest_asyncio.fixture
async def shop(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> AsyncIterator[tuple[Callable[..., Points], ManualClock]]:
    """The money side, loyalty and coupons on a manual clock; shop(role, subject) -> a client."""
    clock = ManualClock(START_MS)
    services = ("orders", "settlement", "loyalty", "coupons")
    application = App(server_config(tmp_path, redis_server.url, services=services), clock=clock)
    await application.start()
    try:
        assert application.private_key_file is not None
        issuer = TokenIssuer(application.private_key_file.read_bytes())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{application.port}") as ch:

            def make(role: Role = Role.OPS, subject_id: str = "") -> Points:
                return Points(ch, issuer.mint(role, subject_id))

            yield make, clock
    finally:
        await application.stop()


def campaign(campaign_id: str, **kw: object) -> cpb.Campaign:
    c = cpb.Campaign(campaign_id=campaign_id, merchant_id="m1", max_coupons=1_000, max_coupons_per_member=100, **kw)  # type: ignore[arg-type]
    c.valid_from.seconds, c.valid_until.seconds = START_MS // 1000 - 60, START_MS // 1000 + 30 * 86_400
    return c


MERCHANT_FUNDED = campaign("m1-10", kind=cpb.DISCOUNT_KIND_AMOUNT_OFF, amount_off_fen=1_000,
                           transaction_minimum_fen=5_000)  # fmt: skip
PLATFORM_FUNDED = campaign("tc-pct", kind=cpb.DISCOUNT_KIND_PERCENT_OFF, discount_percent=10, max_discount_fen=500,
                           funded_by=cpb.FUNDER_PLATFORM)  # fmt: skip
PARTNER_FUNDED = campaign("m2-free", kind=cpb.DISCOUNT_KIND_FREE_DELIVERY, max_discount_fen=400,
                          funded_by=cpb.FUNDER_PARTNER, partner_id="m2")  # fmt: skip


async def setup(ops: Points, members: tuple[str, ...] = ("u1",), points: int = 10_000) -> None:
    """Rule of m1 (platform 5%, rider 8% + 1 yuan), programme p1 of m1 and m2, points issued by m2, campaigns."""
    await set_rule(ops, rule())
    programme = lpb.Programme(programme_id="p1", kind=lpb.PROGRAMME_KIND_ALLIANCE, merchant_ids=["m1", "m2"])
    await ops.loyalty.CreateProgramme(lpb.CreateProgrammeRequest(programme=programme), metadata=ops.md)
    for member in members:
        await ops.loyalty.SyncOrder(
            lpb.SyncOrderRequest(order_id=f"earned-{member}", merchant_id="m2", member_id=member,
                                 state=lpb.ORDER_STATE_COMPLETED, paid_fen=points * 10),
            metadata=ops.md,
        )  # fmt: skip
    for c in (MERCHANT_FUNDED, PLATFORM_FUNDED, PARTNER_FUNDED):
        await ops.coupons.CreateCampaign(cpb.CreateCampaignRequest(campaign=c), metadata=ops.md)


async def claim_and_lock(
    c: Points, campaign_id: str, member: str, key: str, order_id: str, amount_fen: int, delivery_fen: int = 500
) -> str:
    code = (await c.coupons.ClaimCoupon(
        cpb.ClaimCouponRequest(campaign_id=campaign_id, member_id=member, idempotency_key=key), metadata=c.md
    )).coupon.code  # fmt: skip
    if order_id:
        await c.coupons.LockCoupon(
            cpb.LockCouponRequest(code=code, merchant_id="m1", order_id=order_id, order_amount_fen=amount_fen,
                                  delivery_fee_fen=delivery_fen),
            metadata=c.md,
        )  # fmt: skip
    return code


async def available(c: Points, member: str = "u1") -> int:
    reply = await c.loyalty.GetBalance(lpb.GetBalanceRequest(programme_id="p1", member_id=member), metadata=c.md)
    return reply.balance.available_points


async def coupon_state(c: Points, code: str) -> int:
    return (await c.coupons.GetCoupon(cpb.GetCouponRequest(code=code), metadata=c.md)).coupon.state


async def entries(c: Points, order_id: str) -> list[tuple[str, int, str]]:
    split = await c.settlement.GetSplit(spb.GetSplitRequest(order_id=order_id), metadata=c.md)
    return [(e.receiver, e.amount_fen, e.cause) for e in split.entries]


async def checkout(c: Points, order_id: str, member: str = "u1", points: int = 300) -> tuple[opb.Order, list[str]]:
    """A merchant-funded 10 yuan off and a platform-funded 10% (at most 5 yuan) locked to the order, and points."""
    first = await claim_and_lock(c, "m1-10", member, f"{order_id}-a", order_id, 9_500)
    second = await claim_and_lock(c, "tc-pct", member, f"{order_id}-b", order_id, 8_500)
    created = await c.orders.CreateOrder(
        new_order(order_id, customer_id=member, coupon_codes=[first, second], points=points,
                  points_programme_id="p1" if points else ""),
        metadata=c.md,
    )  # fmt: skip
    return created.order, [first, second]


async def test_a_checkout_pays_the_discounted_amount_and_whoever_funds_a_discount_bears_it(shop) -> None:  # type: ignore[no-untyped-def]
    """Coupons and points at creation: the customer pays 9,500 - 1,000 - 500 - 300; the split is computed on what
    the merchant is owed (paid + the platform's 500) and the platform's subsidy is an entry of its own, on the
    statement and the CSV; Reconcile agrees; points spent stay the merchant's discount."""
    make, clock = shop
    ops = make(Role.OPS)
    await setup(ops)
    order, codes = await checkout(ops, "o1")
    assert (order.discount_fen, order.points_fen, order.amount_due_fen) == (1_500, 300, 7_700)
    assert [(x.discount_fen, x.funded_by) for x in order.coupons] == [(1_000, ""), (500, PLATFORM)]
    spelled = [f"{c[:4]}-{c[4:8]}-{c[8:12]}-{c[12:]}".lower() for c in codes]  # as a person types them
    retry = await ops.orders.CreateOrder(
        new_order("o1", customer_id="u1", coupon_codes=spelled, points=300, points_programme_id="p1"), metadata=ops.md
    )
    assert not retry.created and retry.order == order
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ops.orders.PayOrder(opb.PayOrderRequest(order_id="o1", payment_id="p-1", amount_fen=9_500),
                                  metadata=ops.md)  # fmt: skip
    assert bad_request_fields(err.value) == ["amount_fen"]
    paid = (await ops.orders.PayOrder(
        opb.PayOrderRequest(order_id="o1", payment_id="p-1", amount_fen=7_700), metadata=ops.md
    )).order  # fmt: skip
    assert paid.paid_fen == 7_700 and paid.split_state == opb.SPLIT_STATE_POSTED
    assert [await coupon_state(ops, code) for code in codes] == [cpb.COUPON_STATE_REDEEMED] * 2
    assert await available(ops) == 10_000 - 300
    # Legs on 7,700 + 500 = 8,200: platform 5% = 410, rider 8% + 100 = 756, merchant the rest, 7,034.
    assert await entries(ops, "o1") == [
        ("merchant:m1", 7_034, "split"), (PLATFORM, 410, "split"), ("rider:fleet", 756, "split"),
        (PLATFORM, -500, "subsidy"),
    ]  # fmt: skip
    again = await ops.orders.PayOrder(
        opb.PayOrderRequest(order_id="o1", payment_id="p-1", amount_fen=7_700), metadata=ops.md
    )  # a retry changes nothing
    assert again.order.version == paid.version and len(await entries(ops, "o1")) == 4
    report = await ops.settlement.Reconcile(spb.ReconcileRequest(), metadata=ops.md)
    assert list(report.differences) == [] and report.ledger_net_fen == 7_700

    clock.advance(24 * 3600)
    run = await ops.settlement.RunDailySettlement(
        spb.RunDailySettlementRequest(business_day="2026-03-10"), metadata=ops.md
    )
    by = {s.receiver: s for s in run.statements}
    assert by["merchant:m1"].net_fen == 7_034 and by[PLATFORM].net_fen == 410 - 500
    [invoice] = run.invoices
    assert invoice.amount_fen == 410  # the platform's fee; its subsidy is no fee
    statement = await ops.settlement.GetStatement(
        spb.GetStatementRequest(business_day="2026-03-10", receiver=PLATFORM), metadata=ops.md
    )
    rows = list(csv.reader(io.StringIO(statement.csv)))
    assert sorted((r[4], r[5]) for r in rows[1:3]) == [("split", "410"), ("subsidy", "-500")]
    # The platform's balance is below zero by what it funded; a plain order's refund still takes its fee back.
    await create_and_pay(ops, "o2")
    refund = await ops.orders.RefundOrder(
        opb.RefundOrderRequest(order_id="o2", idempotency_key="all", amount_fen=9_500), metadata=ops.md
    )
    assert refund.refunded and {leg.receiver: leg.amount_fen for leg in refund.legs}[PLATFORM] == 475
    report = await ops.settlement.Reconcile(spb.ReconcileRequest(), metadata=ops.md)
    assert list(report.differences) == []


async def test_cancel_and_refund_give_everything_back_exactly_once(shop, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """Cancelling a paid checkout gives back the coupons (claimed again), the points and the subsidy in the
    refund's own step; a partial refund keeps them, a refund of the rest gives them back; retries change
    nothing; every balance ends where it began."""
    make, _ = shop
    ops = make(Role.OPS)
    await setup(ops)
    _, codes = await checkout(ops, "o1")
    await ops.orders.PayOrder(opb.PayOrderRequest(order_id="o1", payment_id="p-1", amount_fen=7_700), metadata=ops.md)
    cancelled = (await ops.orders.CancelOrder(
        opb.CancelOrderRequest(order_id="o1", reason="changed mind"), metadata=ops.md
    )).order  # fmt: skip
    assert cancelled.status == opb.ORDER_STATUS_CANCELLED and cancelled.refunded_fen == 7_700
    assert [await coupon_state(ops, code) for code in codes] == [cpb.COUPON_STATE_CLAIMED] * 2
    assert await available(ops) == 10_000
    before = redis_snapshot(redis_sync)
    await ops.orders.CancelOrder(opb.CancelOrderRequest(order_id="o1", reason="changed mind"), metadata=ops.md)
    assert redis_snapshot(redis_sync) == before  # a retried cancel gives nothing back twice
    assert (PLATFORM, 500, "subsidy_refund:#cancel") in await entries(ops, "o1")

    _, codes = await checkout(ops, "o2")
    await ops.orders.PayOrder(opb.PayOrderRequest(order_id="o2", payment_id="p-2", amount_fen=7_700), metadata=ops.md)
    part = await ops.orders.RefundOrder(
        opb.RefundOrderRequest(order_id="o2", idempotency_key="part", amount_fen=770, reason="cold"), metadata=ops.md
    )
    # A tenth of the payment back: a tenth of the subsidy goes back to the platform, the legs give back 820.
    assert sum(leg.amount_fen for leg in part.legs) == 770 + 50
    assert [await coupon_state(ops, code) for code in codes] == [cpb.COUPON_STATE_REDEEMED] * 2
    assert await available(ops) == 10_000 - 300
    rest = opb.RefundOrderRequest(order_id="o2", idempotency_key="rest", amount_fen=6_930, reason="cold")
    await ops.orders.RefundOrder(rest, metadata=ops.md)
    assert [await coupon_state(ops, code) for code in codes] == [cpb.COUPON_STATE_CLAIMED] * 2
    assert await available(ops) == 10_000
    before = redis_snapshot(redis_sync)
    replay = await ops.orders.RefundOrder(rest, metadata=ops.md)
    assert not replay.refunded and redis_snapshot(redis_sync) == before
    balances = {r: int(v) for r, v in redis_sync.hgetall("tc:{money}:balances").items()}
    assert set(balances.values()) == {0}, balances
    report = await ops.settlement.Reconcile(spb.ReconcileRequest(), metadata=ops.md)
    assert list(report.differences) == []
    assert member_invariants(redis_sync, "p1", "u1", START_MS) == []
    # The coupons given back can pay for another order.
    await ops.coupons.LockCoupon(
        cpb.LockCouponRequest(code=codes[0], merchant_id="m1", order_id="o3", order_amount_fen=9_500), metadata=ops.md
    )
    created = await ops.orders.CreateOrder(new_order("o3", customer_id="u1", coupon_codes=[codes[0]]), metadata=ops.md)
    assert created.order.amount_due_fen == 8_500


async def test_bad_checkouts_name_the_field_and_change_nothing(shop, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """A coupon locked to another order, another member's coupon, a lock for another amount, a discount or points
    that leave nothing to pay, points beyond the balance, checkout fields without a customer: INVALID_ARGUMENT
    naming the field; a code of no coupon of the merchant: NOT_FOUND; an expired lock or points spent between
    creation and payment: FAILED_PRECONDITION naming the field. Redis is unchanged by each."""
    make, clock = shop
    ops = make(Role.OPS)
    await setup(ops, members=("u1", "u2"), points=1_000)
    elsewhere = await claim_and_lock(ops, "m1-10", "u1", "k1", "other", 9_500)
    theirs = await claim_and_lock(ops, "m1-10", "u2", "k2", "o1", 9_500)
    wrong_amount = await claim_and_lock(ops, "m1-10", "u1", "k3", "o1", 9_500)
    cases = [
        (dict(customer_id="u1", coupon_codes=[elsewhere]), "coupon_codes[0]"),
        (dict(customer_id="u1", coupon_codes=[theirs]), "coupon_codes[0]"),
        (dict(customer_id="u1", points=2_000, points_programme_id="p1"), "points"),
        (dict(customer_id="u1", points=9_500, points_programme_id="p1"), "points"),
        (dict(coupon_codes=[wrong_amount]), "customer_id"),
        (dict(customer_id="u1", points=10, points_programme_id="p9"), None),
        (dict(customer_id="u1", points=10), "points_programme_id"),
        (dict(customer_id="u1", coupon_codes=[wrong_amount, wrong_amount]), "coupon_codes[1]"),
        (dict(customer_id="u1", coupon_codes=["not a code"]), "coupon_codes[0]"),
        (dict(customer_id="u1", items_fen=4_000, coupon_codes=[wrong_amount]), "coupon_codes[0]"),
    ]
    for kw, field in cases:
        before = redis_snapshot(redis_sync)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await ops.orders.CreateOrder(new_order("o1", **kw), metadata=ops.md)
        if field is None:
            assert err.value.code() == grpc.StatusCode.NOT_FOUND, kw
        else:
            assert bad_request_fields(err.value) == [field], (kw, err.value.details())
        assert redis_snapshot(redis_sync) == before, kw
    # A discount that leaves nothing to pay: 1,000 off an order of 1,000.
    small = campaign("m1-all", kind=cpb.DISCOUNT_KIND_AMOUNT_OFF, amount_off_fen=1_000, transaction_minimum_fen=1_000)
    await ops.coupons.CreateCampaign(cpb.CreateCampaignRequest(campaign=small), metadata=ops.md)
    whole = await claim_and_lock(ops, "m1-all", "u1", "k4", "o2", 1_000, delivery_fen=0)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ops.orders.CreateOrder(
            new_order("o2", items_fen=1_000, delivery_fee_fen=0, customer_id="u1", coupon_codes=[whole]),
            metadata=ops.md,
        )
    assert bad_request_fields(err.value) == ["coupon_codes[0]"]
    unknown = await claim_and_lock(ops, "m1-10", "u1", "k5", "", 0)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ops.orders.CreateOrder(
            new_order("o2", customer_id="u1", merchant_id="m2", coupon_codes=[unknown]), metadata=ops.md
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND  # a coupon of m1 is no coupon at m2

    # Created fine, then the lock expires before payment: nothing is paid, redeemed or spent.
    created = (await ops.orders.CreateOrder(
        new_order("o1", customer_id="u1", coupon_codes=[wrong_amount], points=100, points_programme_id="p1"),
        metadata=ops.md,
    )).order  # fmt: skip
    assert created.amount_due_fen == 9_500 - 1_000 - 100
    clock.advance(16 * 60)
    before = redis_snapshot(redis_sync)
    pay = opb.PayOrderRequest(order_id="o1", payment_id="p-1", amount_fen=created.amount_due_fen)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ops.orders.PayOrder(pay, metadata=ops.md)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert err.value.details().startswith("coupon_codes[0]:") and "expired" in err.value.details()
    assert redis_snapshot(redis_sync) == before
    # Locked again, but the points went meanwhile.
    await ops.coupons.LockCoupon(
        cpb.LockCouponRequest(code=wrong_amount, merchant_id="m1", order_id="o1", order_amount_fen=9_500,
                              delivery_fee_fen=500),
        metadata=ops.md,
    )  # fmt: skip
    await ops.loyalty.SpendPoints(
        lpb.SpendPointsRequest(programme_id="p1", member_id="u1", merchant_id="m2", points=950, idempotency_key="s1"),
        metadata=ops.md,
    )
    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ops.orders.PayOrder(pay, metadata=ops.md)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and err.value.details().startswith("points:")
    assert redis_snapshot(redis_sync) == before


async def test_money_and_points_sum_across_many_checkouts(shop, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """Randomised checkouts (either coupon, both or none, some points), paid, then some cancelled, partly or fully
    refunded (with retries): every order's entries sum to what it holds, each funder's subsidies to what the
    orders still take of it, the coupons' budgets to the coupons redeemed, and the points to what the ledger of
    each member says."""
    make, _ = shop
    ops = make(Role.OPS)
    members = ("u1", "u2", "u3")
    await setup(ops, members=members, points=5_000)
    rng = random.Random(19)
    kept: dict[str, tuple[int, dict[str, int]]] = {}  # order -> (paid - refunded, funder -> subsidy still taken)
    spent = dict.fromkeys(members, 0)
    for n in range(24):
        oid, member = f"r{n}", rng.choice(members)
        items = rng.randrange(5_000, 20_000)
        left, delivery, codes = items + 500, 500, []
        for cid, key in (("m1-10", "a"), ("tc-pct", "b"), ("m2-free", "c")):
            if rng.random() < 0.6:
                codes.append(await claim_and_lock(ops, cid, member, f"{oid}-{key}", oid, left, delivery))
                off = {"m1-10": 1_000, "tc-pct": min(left * 10 // 100, 500), "m2-free": min(delivery, 400)}[cid]
                left -= off
                delivery -= off if cid == "m2-free" else 0
        points = rng.choice((0, 0, 50, 200))
        order = (await ops.orders.CreateOrder(
            new_order(oid, items_fen=items, customer_id=member, coupon_codes=codes, points=points,
                      points_programme_id="p1" if points else ""),
            metadata=ops.md,
        )).order  # fmt: skip
        assert order.amount_due_fen == left - points
        pay = opb.PayOrderRequest(order_id=oid, payment_id=f"p-{oid}", amount_fen=order.amount_due_fen)
        for _ in range(rng.choice((1, 2))):
            paid = (await ops.orders.PayOrder(pay, metadata=ops.md)).order
        funded = {c.funded_by: c.discount_fen for c in order.coupons if c.funded_by}  # one coupon per funder here
        what = rng.random()
        if what < 0.25:
            for _ in range(rng.choice((1, 2))):
                await ops.orders.CancelOrder(opb.CancelOrderRequest(order_id=oid), metadata=ops.md)
            kept[oid] = (0, {})
            continue
        holds = paid.paid_fen
        if what < 0.6:
            part = rng.randrange(1, paid.paid_fen)
            full = rng.random() < 0.5
            for key, amount in (("a", part), ("b", paid.paid_fen - part)) if full else (("a", part),):
                request = opb.RefundOrderRequest(order_id=oid, idempotency_key=key, amount_fen=amount)
                for _ in range(rng.choice((1, 2))):
                    await ops.orders.RefundOrder(request, metadata=ops.md)
                holds -= amount
        refunded = paid.paid_fen - holds
        kept[oid] = (holds, {f: s - s * refunded // paid.paid_fen for f, s in funded.items()})
        if holds:
            spent[member] += points
    for oid, (holds, subsidies) in kept.items():
        rows = await entries(ops, oid)
        assert sum(a for _, a, _ in rows) == holds, oid
        taken: dict[str, int] = {}
        for receiver, amount, cause in rows:
            if cause.startswith("subsidy"):
                taken[receiver] = taken.get(receiver, 0) - amount
        assert {f: n for f, n in taken.items() if n} == {f: n for f, n in subsidies.items() if n}, oid
    report = await ops.settlement.Reconcile(spb.ReconcileRequest(), metadata=ops.md)
    assert list(report.differences) == []
    assert report.ledger_net_fen == sum(h for h, _ in kept.values())
    for member in members:
        assert await available(ops, member) == 5_000 - spent[member]
        assert member_invariants(redis_sync, "p1", member, START_MS) == []
    for cid in ("m1-10", "tc-pct", "m2-free"):
        reply = await ops.coupons.GetCampaign(cpb.GetCampaignRequest(campaign_id=cid), metadata=ops.md)
        assert reply.usage.locked == 0


async def test_stacking_rules_and_the_order_of_application(shop) -> None:  # type: ignore[no-untyped-def]
    """An exclusive campaign's coupon stands alone and a campaign's per-order cap holds (both refused at the lock);
    coupons apply in the order listed, each on what the ones before it leave, so listing them in another order
    than their locks were made for is INVALID_ARGUMENT naming the coupon."""
    make, _ = shop
    ops = make(Role.OPS)
    await setup(ops)
    for c in (
        campaign("solo", kind=cpb.DISCOUNT_KIND_AMOUNT_OFF, amount_off_fen=300, transaction_minimum_fen=300,
                 exclusive=True),
        campaign("pct20", kind=cpb.DISCOUNT_KIND_PERCENT_OFF, discount_percent=20, max_discount_fen=5_000,
                 max_coupons_per_order=1),
    ):  # fmt: skip
        await ops.coupons.CreateCampaign(cpb.CreateCampaignRequest(campaign=c), metadata=ops.md)
    await claim_and_lock(ops, "solo", "u1", "s1", "o1", 9_500)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await claim_and_lock(ops, "m1-10", "u1", "s2", "o1", 9_200)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "exclusive" in err.value.details()
    pct = await claim_and_lock(ops, "pct20", "u1", "p1", "o2", 9_500)  # 1,900 off 9,500
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await claim_and_lock(ops, "pct20", "u1", "p2", "o2", 7_600)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    first = await claim_and_lock(ops, "m1-10", "u1", "a1", "o2", 7_600)  # 1,000 off what the 20% leaves
    with pytest.raises(grpc.aio.AioRpcError) as err:  # listed the other way round, the 20% would take 1,700
        await ops.orders.CreateOrder(new_order("o2", customer_id="u1", coupon_codes=[first, pct]), metadata=ops.md)
    assert bad_request_fields(err.value) == ["coupon_codes[1]"]
    created = await ops.orders.CreateOrder(
        new_order("o2", customer_id="u1", coupon_codes=[pct, first]), metadata=ops.md
    )
    assert [c.discount_fen for c in created.order.coupons] == [1_900, 1_000]
    assert created.order.amount_due_fen == 9_500 - 2_900


async def test_a_coupon_the_checkout_redeemed_comes_back_only_with_its_order(shop, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """RollbackCoupon of a coupon PayOrder redeemed, while the order stands, is FAILED_PRECONDITION saying why and
    changes nothing (the merchant would keep the discount's budget and the customer the coupon); the order's
    cancel gives it back, and a coupon redeemed at the counter is still the counter's to roll back."""
    make, _ = shop
    ops = make(Role.OPS)
    await setup(ops)
    _, codes = await checkout(ops, "o1")
    await ops.orders.PayOrder(opb.PayOrderRequest(order_id="o1", payment_id="p-1", amount_fen=7_700), metadata=ops.md)
    for caller in (ops, make(Role.MERCHANT, "m1")):
        before = redis_snapshot(redis_sync)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await caller.coupons.RollbackCoupon(
                cpb.RollbackCouponRequest(code=codes[0], merchant_id="m1", order_id="o1", request_no="undo-1"),
                metadata=caller.md,
            )
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "order o1" in err.value.details() and "cancel" in err.value.details()
        assert redis_snapshot(redis_sync) == before
    assert await coupon_state(ops, codes[0]) == cpb.COUPON_STATE_REDEEMED
    await ops.orders.CancelOrder(opb.CancelOrderRequest(order_id="o1"), metadata=ops.md)
    assert [await coupon_state(ops, code) for code in codes] == [cpb.COUPON_STATE_CLAIMED] * 2
    counter = await claim_and_lock(ops, "m1-10", "u1", "c-1", "", 0)
    await ops.coupons.RedeemCoupon(
        cpb.RedeemCouponRequest(code=counter, merchant_id="m1", order_id="t1", order_amount_fen=9_000,
                                request_no="till-1"),
        metadata=ops.md,
    )  # fmt: skip
    undone = await ops.coupons.RollbackCoupon(
        cpb.RollbackCouponRequest(code=counter, merchant_id="m1", order_id="t1", request_no="undo-2"), metadata=ops.md
    )
    assert undone.rolled_back_now and undone.coupon.state == cpb.COUPON_STATE_CLAIMED


async def test_a_coupon_released_by_one_cancelled_order_is_released_again_by_the_next(shop) -> None:  # type: ignore[no-untyped-def]
    """A coupon locked to order A, A cancelled unpaid (the follower lets the lock go), then locked to order B and B
    cancelled: B's lock is let go too, as for a coupon never used before, and the campaign holds no lock."""
    make, _ = shop
    ops = make(Role.OPS)
    await setup(ops)
    code = await claim_and_lock(ops, "m1-10", "u1", "k1", "a", 9_500)
    for order_id in ("a", "b", "c"):
        if order_id != "a":
            await ops.coupons.LockCoupon(
                cpb.LockCouponRequest(code=code, merchant_id="m1", order_id=order_id, order_amount_fen=9_500,
                                      delivery_fee_fen=500),
                metadata=ops.md,
            )  # fmt: skip
        await ops.orders.CreateOrder(new_order(order_id, customer_id="u1", coupon_codes=[code]), metadata=ops.md)
        await ops.orders.CancelOrder(opb.CancelOrderRequest(order_id=order_id), metadata=ops.md)
        assert await coupon_state(ops, code) == cpb.COUPON_STATE_CLAIMED, order_id
        usage = (await ops.coupons.GetCampaign(cpb.GetCampaignRequest(campaign_id="m1-10"), metadata=ops.md)).usage
        assert (usage.locked, usage.amount_used_fen) == (0, 0), order_id
