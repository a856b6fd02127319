"""LoyaltyService through the real gRPC server and Redis: points following the order center, spends and
clearing across an alliance, roles, bad input that changes nothing."""

from __future__ import annotations

import time

import grpc
import pytest
import redis

from core.localtime import local_day
from serving.auth import Role
from tests.conftest import redis_snapshot
from tests.dispatch.api.helpers import bad_request_fields
from tests.loyalty.helpers import member_invariants
from tests.settlement.helpers import create_and_pay, new_order, rule, set_rule
from tongcheng.coupons.v1 import coupons_pb2 as cpb
from tongcheng.loyalty.v1 import loyalty_pb2 as pb
from tongcheng.orders.v1 import orders_pb2 as opb

ALLIANCE = pb.Programme(
    programme_id="p1", kind=pb.PROGRAMME_KIND_ALLIANCE, merchant_ids=["m1", "m2"], signin_points=5,
)  # fmt: skip


async def balance(c, member: str = "u1") -> pb.Balance:  # type: ignore[no-untyped-def]
    reply = await c.loyalty.GetBalance(pb.GetBalanceRequest(programme_id="p1", member_id=member), metadata=c.md)
    return reply.balance


async def test_points_follow_the_order_center(points, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """Paid: pending; completed: available; refunded in part: reversed in proportion — all through OrderService."""
    ops = points(Role.OPS)
    await ops.loyalty.CreateProgramme(pb.CreateProgrammeRequest(programme=ALLIANCE), metadata=ops.md)
    await set_rule(ops, rule())
    paid = await create_and_pay(ops, "o1", customer_id="u1")
    assert paid.paid_fen == 9_500
    b = await balance(ops)
    assert (b.available_points, b.pending_points) == (0, 950)
    for step in ("AcceptOrder", "MarkReady", "MarkPickedUp", "MarkDelivered", "CompleteOrder"):
        request = getattr(opb, f"{step}Request")(order_id="o1")
        await getattr(ops.orders, step)(request, metadata=ops.md)
    b = await balance(ops)
    assert (b.available_points, b.pending_points) == (950, 0) and len(b.expiries) == 1
    await ops.orders.RefundOrder(
        opb.RefundOrderRequest(order_id="o1", idempotency_key="r1", amount_fen=950, reason="late"), metadata=ops.md
    )
    assert (await balance(ops)).available_points == 855  # floor(8550 x 10%)
    # An order of a merchant outside every programme earns nothing, and pays as before.
    await create_and_pay(ops, "o2", customer_id="u1", merchant_id="m9")
    assert (await balance(ops)).pending_points == 0
    # Cancelling a paid order reverses its pending points in the same call.
    await create_and_pay(ops, "o3", customer_id="u1", merchant_id="m2")
    assert (await balance(ops)).pending_points == 950
    await ops.orders.CancelOrder(opb.CancelOrderRequest(order_id="o3", reason="changed mind"), metadata=ops.md)
    assert (await balance(ops)).pending_points == 0
    history = await ops.loyalty.ListHistory(
        pb.ListHistoryRequest(programme_id="p1", member_id="u1", page_size=2), metadata=ops.md
    )
    assert len(history.entries) == 2 and history.next_page_token
    rest = await ops.loyalty.ListHistory(
        pb.ListHistoryRequest(programme_id="p1", member_id="u1", page_token=history.next_page_token), metadata=ops.md
    )
    kinds = [e.kind for e in [*history.entries, *rest.entries]]
    assert kinds == [
        pb.ENTRY_KIND_ORDER_REVERSED, pb.ENTRY_KIND_ORDER_PENDING, pb.ENTRY_KIND_ORDER_REVERSED,
        pb.ENTRY_KIND_ORDER_AVAILABLE, pb.ENTRY_KIND_ORDER_REVERSED, pb.ENTRY_KIND_ORDER_PENDING,
    ]  # fmt: skip
    assert member_invariants(redis_sync, "p1", "u1", 0) == []


async def test_spending_across_the_alliance_and_its_clearing(points) -> None:  # type: ignore[no-untyped-def]
    """Points earned at m1 spent at m2 by m2's own counter: m2's claim on m1 at the point value."""
    ops = points(Role.OPS)
    await ops.loyalty.CreateProgramme(
        pb.CreateProgrammeRequest(programme=pb.Programme(**{**_fields(ALLIANCE), "point_value_fen": 2})),
        metadata=ops.md,
    )
    await ops.loyalty.SyncOrder(
        pb.SyncOrderRequest(order_id="o1", merchant_id="m1", member_id="u1", state=pb.ORDER_STATE_COMPLETED,
                            paid_fen=5_000),
        metadata=ops.md,
    )  # fmt: skip
    m2 = points(Role.MERCHANT, "m2")
    spend = pb.SpendPointsRequest(programme_id="p1", member_id="u1", merchant_id="m2", points=300, idempotency_key="k1")
    reply = await m2.loyalty.SpendPoints(spend, metadata=m2.md)
    assert reply.created and reply.spend.value_fen == 600 and reply.balance.available_points == 200
    assert [(u.issuer_merchant_id, u.points) for u in reply.spend.lots] == [("m1", 300)]
    again = await m2.loyalty.SpendPoints(spend, metadata=m2.md)
    assert not again.created and again.spend == reply.spend
    day = local_day(reply.spend.spent_at.ToMilliseconds(), "Asia/Shanghai")[0]
    got = await ops.loyalty.ListClearing(pb.ListClearingRequest(programme_id="p1", business_day=day), metadata=ops.md)
    assert [(c.creditor_merchant_id, c.debtor_merchant_id, c.points, c.amount_fen) for c in got.claims] == [
        ("m2", "m1", 300, 600)
    ]
    m1 = points(Role.MERCHANT, "m1")
    theirs = await m1.loyalty.ListClearing(pb.ListClearingRequest(programme_id="p1", business_day=day), metadata=m1.md)
    others = await points(Role.MERCHANT, "m9").loyalty.ListClearing(
        pb.ListClearingRequest(programme_id="p1", business_day=day), metadata=points(Role.MERCHANT, "m9").md
    )
    assert len(theirs.claims) == 1 and list(others.claims) == []  # each merchant sees the claims it is party to
    with pytest.raises(grpc.aio.AioRpcError) as err:  # m1 cannot spend at m2's counter
        await m1.loyalty.SpendPoints(spend, metadata=m1.md)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:  # nor give back what was spent there
        await m1.loyalty.RefundSpend(
            pb.RefundSpendRequest(programme_id="p1", member_id="u1", spend_idempotency_key="k1"), metadata=m1.md
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    back = await m2.loyalty.RefundSpend(
        pb.RefundSpendRequest(programme_id="p1", member_id="u1", spend_idempotency_key="k1"), metadata=m2.md
    )
    assert back.refunded_now and back.balance.available_points == 500
    got = await ops.loyalty.ListClearing(pb.ListClearingRequest(programme_id="p1", business_day=day), metadata=ops.md)
    assert list(got.claims) == []  # given back the same day: nothing to clear


def _fields(p: pb.Programme) -> dict[str, object]:
    return {f.name: v for f, v in p.ListFields()}


async def test_members_act_only_for_themselves(points) -> None:  # type: ignore[no-untyped-def]
    """A member signs in and reads its own balance; another member's is PERMISSION_DENIED."""
    ops = points(Role.OPS)
    await ops.loyalty.CreateProgramme(pb.CreateProgrammeRequest(programme=ALLIANCE), metadata=ops.md)
    u1 = points(Role.MEMBER, "u1")
    signed = await u1.loyalty.SignIn(pb.SignInRequest(programme_id="p1", member_id="u1"), metadata=u1.md)
    assert signed.signed_in_now and signed.points == 5 and signed.balance.available_points == 5
    assert (await balance(u1)).available_points == 5
    for call in (
        u1.loyalty.SignIn(pb.SignInRequest(programme_id="p1", member_id="u2"), metadata=u1.md),
        u1.loyalty.GetBalance(pb.GetBalanceRequest(programme_id="p1", member_id="u2"), metadata=u1.md),
        u1.loyalty.CreateProgramme(pb.CreateProgrammeRequest(programme=ALLIANCE), metadata=u1.md),
        u1.loyalty.SpendPoints(
            pb.SpendPointsRequest(programme_id="p1", member_id="u1", merchant_id="m1", points=1, idempotency_key="k"),
            metadata=u1.md,
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await balance(ops, "nobody")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


BAD = [
    ("CreateProgramme", pb.CreateProgrammeRequest(programme=pb.Programme(programme_id="p2", kind=pb.PROGRAMME_KIND_MERCHANT,
                                                                          merchant_ids=["m7", "m8"], earn_bp=10_001)),
     {"programme.merchant_ids", "programme.earn_bp"}),
    ("CreateProgramme", pb.CreateProgrammeRequest(programme=pb.Programme(programme_id="p2", merchant_ids=["m7"])),
     {"programme.kind"}),
    ("SyncOrder", pb.SyncOrderRequest(order_id="o 1", merchant_id="m1", member_id="u1", state=pb.ORDER_STATE_PAID,
                                      paid_fen=100, refunded_fen=101), {"order_id", "refunded_fen"}),
    ("SyncOrder", pb.SyncOrderRequest(order_id="o1", merchant_id="m1", member_id="u1", paid_fen=0), {"state", "paid_fen"}),
    ("SpendPoints", pb.SpendPointsRequest(programme_id="p1", member_id="u1", merchant_id="m1", points=-5,
                                          idempotency_key="k\n"), {"points", "idempotency_key"}),
    ("SpendPoints", pb.SpendPointsRequest(programme_id="", member_id="u1", merchant_id="m1", points=10_000_001,
                                          idempotency_key="k"), {"programme_id", "points"}),
    ("ApplyReferral", pb.ApplyReferralRequest(programme_id="p1", member_id="u1", referral_code="ILOVEU!!"), {"referral_code"}),
    ("ListHistory", pb.ListHistoryRequest(programme_id="p1", member_id="u1", page_size=501, page_token="x"),
     {"page_size", "page_token"}),
    ("ListClearing", pb.ListClearingRequest(programme_id="p1", business_day="2026-02-30"), {"business_day"}),
    ("GetProgramme", pb.GetProgrammeRequest(programme_id="p" * 129), {"programme_id"}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "request_", "fields"), BAD, ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(BAD)])
async def test_bad_input_names_the_field_and_changes_nothing(  # type: ignore[no-untyped-def]
    points, redis_sync: redis.Redis, method: str, request_: object, fields: set[str]
) -> None:
    """INVALID_ARGUMENT with a BadRequest naming each bad field; Redis exactly as before."""
    ops = points(Role.OPS)
    await ops.loyalty.CreateProgramme(pb.CreateProgrammeRequest(programme=ALLIANCE), metadata=ops.md)
    await ops.loyalty.SignIn(pb.SignInRequest(programme_id="p1", member_id="u1"), metadata=ops.md)
    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await getattr(ops.loyalty, method)(request_, metadata=ops.md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert set(bad_request_fields(err.value)) == fields
    assert redis_snapshot(redis_sync) == before


async def test_unknown_things_and_wrong_states_change_nothing(points, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """Unknown programme or spend: NOT_FOUND; too few points, a merchant outside, a self-referral: FAILED_PRECONDITION."""
    ops = points(Role.OPS)
    await ops.loyalty.CreateProgramme(pb.CreateProgrammeRequest(programme=ALLIANCE), metadata=ops.md)
    await ops.loyalty.SignIn(pb.SignInRequest(programme_id="p1", member_id="u1"), metadata=ops.md)
    code = await ops.loyalty.GetReferralCode(
        pb.GetReferralCodeRequest(programme_id="p1", member_id="u1"), metadata=ops.md
    )
    before = redis_snapshot(redis_sync)
    cases = [
        (ops.loyalty.GetProgramme(pb.GetProgrammeRequest(programme_id="p9"), metadata=ops.md), grpc.StatusCode.NOT_FOUND),
        (ops.loyalty.RefundSpend(pb.RefundSpendRequest(programme_id="p1", member_id="u1", spend_idempotency_key="k9"),
                                 metadata=ops.md), grpc.StatusCode.NOT_FOUND),
        (ops.loyalty.SpendPoints(pb.SpendPointsRequest(programme_id="p1", member_id="u1", merchant_id="m1", points=6,
                                                       idempotency_key="k1"), metadata=ops.md),
         grpc.StatusCode.FAILED_PRECONDITION),
        (ops.loyalty.SpendPoints(pb.SpendPointsRequest(programme_id="p1", member_id="u1", merchant_id="m3", points=1,
                                                       idempotency_key="k1"), metadata=ops.md),
         grpc.StatusCode.FAILED_PRECONDITION),
        (ops.loyalty.ApplyReferral(pb.ApplyReferralRequest(programme_id="p1", member_id="u1",
                                                           referral_code=code.referral_code), metadata=ops.md),
         grpc.StatusCode.FAILED_PRECONDITION),
        (ops.loyalty.CreateProgramme(pb.CreateProgrammeRequest(programme=pb.Programme(
            programme_id="p2", kind=pb.PROGRAMME_KIND_MERCHANT, merchant_ids=["m1"])), metadata=ops.md),
         grpc.StatusCode.FAILED_PRECONDITION),
    ]  # fmt: skip
    for call, code_ in cases:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == code_, err.value.details()
    assert redis_snapshot(redis_sync) == before


async def test_a_member_redeems_a_reward_for_a_coupon(points) -> None:  # type: ignore[no-untyped-def]
    """The member's own token trades 300 points for m2's coupon; another member cannot; a retry replays."""
    ops, u1 = points(Role.OPS), points(Role.MEMBER, "u1")
    now_s = int(time.time())
    campaign = cpb.Campaign(
        campaign_id="m2-20", merchant_id="m2", kind=cpb.DISCOUNT_KIND_AMOUNT_OFF, amount_off_fen=2_000,
        transaction_minimum_fen=10_000, max_coupons=10,
    )  # fmt: skip
    campaign.valid_from.seconds, campaign.valid_until.seconds = now_s - 60, now_s + 86_400
    await ops.coupons.CreateCampaign(cpb.CreateCampaignRequest(campaign=campaign), metadata=ops.md)
    programme = pb.Programme(**_fields(ALLIANCE))
    programme.rewards.add(reward_id="r300", points_cost=300, campaign_id="m2-20")
    await ops.loyalty.CreateProgramme(pb.CreateProgrammeRequest(programme=programme), metadata=ops.md)
    await ops.loyalty.SyncOrder(
        pb.SyncOrderRequest(order_id="o1", merchant_id="m1", member_id="u1", state=pb.ORDER_STATE_COMPLETED,
                            paid_fen=4_000),
        metadata=ops.md,
    )  # fmt: skip
    assert list((await balance(u1)).unlocked_reward_ids) == ["r300"]
    request = pb.RedeemRewardRequest(programme_id="p1", member_id="u1", reward_id="r300", idempotency_key="k1")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await points(Role.MEMBER, "u2").loyalty.RedeemReward(request, metadata=points(Role.MEMBER, "u2").md)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    reply = await u1.loyalty.RedeemReward(request, metadata=u1.md)
    assert reply.created and reply.balance.available_points == 100 and reply.spend.merchant_id == "m2"
    again = await u1.loyalty.RedeemReward(request, metadata=u1.md)
    assert not again.created and again.coupon_code == reply.coupon_code
    coupon = await u1.coupons.GetCoupon(cpb.GetCouponRequest(code=reply.coupon_code), metadata=u1.md)
    assert coupon.coupon.member_id == "u1" and coupon.coupon.state == cpb.COUPON_STATE_CLAIMED
    with pytest.raises(grpc.aio.AioRpcError) as err:  # T+1 only: today cannot be cleared yet
        await ops.loyalty.RunClearing(
            pb.RunClearingRequest(
                programme_id="p1", business_day=local_day(time.time_ns() // 10**6, "Asia/Shanghai")[0]
            ),
            metadata=ops.md,
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_an_order_whose_points_were_recorded_otherwise_still_pays(points) -> None:  # type: ignore[no-untyped-def]
    """SyncOrder recorded o1 with another amount: paying o1 at the order center succeeds; its points stay as recorded."""
    ops = points(Role.OPS)
    await ops.loyalty.CreateProgramme(pb.CreateProgrammeRequest(programme=ALLIANCE), metadata=ops.md)
    await set_rule(ops, rule())
    await ops.loyalty.SyncOrder(
        pb.SyncOrderRequest(order_id="o1", merchant_id="m1", member_id="u1", state=pb.ORDER_STATE_PAID, paid_fen=100),
        metadata=ops.md,
    )
    paid = await create_and_pay(ops, "o1", customer_id="u1")
    assert paid.status == opb.ORDER_STATUS_PAID
    assert (await balance(ops)).pending_points == 10


async def test_cancelling_or_refunding_an_order_gives_back_its_coupons_and_points(points) -> None:  # type: ignore[no-untyped-def]
    """At checkout the order service locks a coupon and spends points with the order's id; cancelling the order
    rolls the coupon back and returns the points; a partial refund keeps them, a full refund gives them back."""
    ops, svc = points(Role.OPS), points(Role.ORDER_SERVICE)
    await ops.loyalty.CreateProgramme(pb.CreateProgrammeRequest(programme=ALLIANCE), metadata=ops.md)
    await set_rule(ops, rule())
    await ops.loyalty.SyncOrder(
        pb.SyncOrderRequest(order_id="earned", merchant_id="m2", member_id="u1", state=pb.ORDER_STATE_COMPLETED,
                            paid_fen=10_000),
        metadata=ops.md,
    )  # fmt: skip
    now_s = int(time.time())
    campaign = cpb.Campaign(campaign_id="m1-10", merchant_id="m1", kind=cpb.DISCOUNT_KIND_AMOUNT_OFF,
                            amount_off_fen=1_000, transaction_minimum_fen=5_000, max_coupons=10,
                            max_coupons_per_member=2)  # fmt: skip
    campaign.valid_from.seconds, campaign.valid_until.seconds = now_s - 60, now_s + 86_400
    await ops.coupons.CreateCampaign(cpb.CreateCampaignRequest(campaign=campaign), metadata=ops.md)

    async def checkout(order_id: str, key: str) -> str:
        code = (await svc.coupons.ClaimCoupon(
            cpb.ClaimCouponRequest(campaign_id="m1-10", member_id="u1", idempotency_key=key), metadata=svc.md
        )).coupon.code  # fmt: skip
        await svc.coupons.LockCoupon(
            cpb.LockCouponRequest(code=code, merchant_id="m1", order_id=order_id, order_amount_fen=9_500),
            metadata=svc.md,
        )
        await svc.loyalty.SpendPoints(
            pb.SpendPointsRequest(programme_id="p1", member_id="u1", merchant_id="m1", points=300,
                                  idempotency_key=f"pts-{order_id}", order_id=order_id),
            metadata=svc.md,
        )  # fmt: skip
        return code

    code = await checkout("o1", "c1")
    assert (await balance(ops)).available_points == 700
    await ops.orders.CreateOrder(new_order("o1", customer_id="u1"), metadata=ops.md)
    await ops.orders.CancelOrder(opb.CancelOrderRequest(order_id="o1", reason="changed mind"), metadata=ops.md)
    coupon = await ops.coupons.GetCoupon(cpb.GetCouponRequest(code=code), metadata=ops.md)
    assert coupon.coupon.state == cpb.COUPON_STATE_CLAIMED and (await balance(ops)).available_points == 1_000
    code2 = await checkout("o2", "c2")
    await ops.coupons.RedeemCoupon(
        cpb.RedeemCouponRequest(code=code2, merchant_id="m1", order_id="o2", order_amount_fen=9_500, request_no="r2"),
        metadata=ops.md,
    )
    await create_and_pay(ops, "o2", customer_id="u1")
    await ops.orders.RefundOrder(
        opb.RefundOrderRequest(order_id="o2", idempotency_key="part", amount_fen=500, reason="cold"), metadata=ops.md
    )
    coupon = await ops.coupons.GetCoupon(cpb.GetCouponRequest(code=code2), metadata=ops.md)
    assert coupon.coupon.state == cpb.COUPON_STATE_REDEEMED  # a partial refund keeps what paid for the order
    await ops.orders.RefundOrder(
        opb.RefundOrderRequest(order_id="o2", idempotency_key="rest", amount_fen=9_000, reason="cold"), metadata=ops.md
    )
    coupon = await ops.coupons.GetCoupon(cpb.GetCouponRequest(code=code2), metadata=ops.md)
    assert coupon.coupon.state == cpb.COUPON_STATE_CLAIMED
    b = await balance(ops)
    assert b.available_points == 1_000 and b.pending_points == 0  # o2's own pending points reversed too
