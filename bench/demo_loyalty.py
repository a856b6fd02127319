"""The demo's loyalty and coupon story, through gRPC: a member earns points at one shop of an alliance,
signs in, claims a coupon of the shop next door and has it redeemed at its counter, spends the first
shop's points there too, and the day's clearing shows what the second shop is owed by the first."""

from __future__ import annotations

import time

import grpc

from serving.auth import Role, TokenIssuer
from serving.timestamps import ms_to_ts
from tongcheng.coupons.v1 import coupons_pb2 as cpb
from tongcheng.coupons.v1 import coupons_pb2_grpc
from tongcheng.loyalty.v1 import loyalty_pb2 as lpb
from tongcheng.loyalty.v1 import loyalty_pb2_grpc
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.orders.v1 import orders_pb2_grpc
from tongcheng.settlement.v1 import settlement_pb2 as spb
from tongcheng.settlement.v1 import settlement_pb2_grpc

NAILS, HOTPOT, MEMBER = "nails-salon", "hotpot-next-door", "member-ling"
PICKUP, DROPOFF = (60.1700, 24.9420), (60.1760, 24.9480)  # in the default city's service area


async def loyalty_demo(channel: grpc.aio.Channel, issuer: TokenIssuer, run_id: str) -> list[str]:
    """Runs the story; returns the lines to print."""
    loyalty = loyalty_pb2_grpc.LoyaltyServiceStub(channel)
    coupons = coupons_pb2_grpc.CouponServiceStub(channel)
    orders = orders_pb2_grpc.OrderServiceStub(channel)
    settlement = settlement_pb2_grpc.SettlementServiceStub(channel)

    def md(role: Role, subject: str = "") -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {issuer.mint(role, subject)}"),)

    ops, svc, member = md(Role.OPS), md(Role.ORDER_SERVICE), md(Role.MEMBER, MEMBER)
    programme_id = f"alliance-{run_id}"
    lines = []
    await loyalty.CreateProgramme(
        lpb.CreateProgrammeRequest(
            programme=lpb.Programme(
                programme_id=programme_id, kind=lpb.PROGRAMME_KIND_ALLIANCE, merchant_ids=[NAILS, HOTPOT],
                signin_points=5, streak_days=7, streak_bonus_points=50,
            )
        ),
        metadata=ops,
    )  # fmt: skip
    for merchant in (NAILS, HOTPOT):
        rule = spb.SplitRule(merchant_id=merchant, platform_commission=spb.Share(basis_points=500))
        await settlement.SetSplitRule(spb.SetSplitRuleRequest(rule=rule), metadata=ops)

    # 1. An order at the nail salon: points pending at payment, available at completion.
    order_id = f"nails-{run_id}"
    await orders.CreateOrder(
        opb.CreateOrderRequest(
            order_id=order_id, merchant_id=NAILS, customer_id=MEMBER, items_fen=18_800, delivery_fee_fen=0,
            pickup=opb.LatLng(lat=PICKUP[0], lng=PICKUP[1]), dropoff=opb.LatLng(lat=DROPOFF[0], lng=DROPOFF[1]),
        ),
        metadata=svc,
    )  # fmt: skip
    await orders.PayOrder(
        opb.PayOrderRequest(order_id=order_id, payment_id=f"pay-{run_id}", amount_fen=18_800), metadata=svc
    )
    balance = (
        await loyalty.GetBalance(lpb.GetBalanceRequest(programme_id=programme_id, member_id=MEMBER), metadata=member)
    ).balance
    lines.append(f"paid 188.00 yuan at {NAILS}: {balance.pending_points} points pending")
    for step in ("AcceptOrder", "MarkReady", "MarkPickedUp", "MarkDelivered", "CompleteOrder"):
        await getattr(orders, step)(getattr(opb, f"{step}Request")(order_id=order_id), metadata=svc)
    balance = (
        await loyalty.GetBalance(lpb.GetBalanceRequest(programme_id=programme_id, member_id=MEMBER), metadata=member)
    ).balance
    expires = balance.expiries[0].expires_at.ToDatetime().date() if balance.expiries else "-"
    lines.append(f"order completed: {balance.available_points} points available (valid until {expires})")

    # 2. The daily sign-in.
    signed = await loyalty.SignIn(lpb.SignInRequest(programme_id=programme_id, member_id=MEMBER), metadata=member)
    lines.append(f"signed in on {signed.day}: +{signed.points} points, streak {signed.streak}")

    # 3. The hotpot's coupon, claimed by the member and redeemed (核销) at the hotpot's counter.
    now_ms = time.time_ns() // 1_000_000
    campaign = cpb.Campaign(
        campaign_id=f"hotpot-20off-{run_id}", merchant_id=HOTPOT, kind=cpb.DISCOUNT_KIND_AMOUNT_OFF,
        amount_off_fen=2_000, transaction_minimum_fen=10_000, max_coupons=500, max_redemptions_per_day=100,
        valid_from=ms_to_ts(now_ms - 60_000), valid_until=ms_to_ts(now_ms + 30 * 86_400_000),
    )  # fmt: skip
    hotpot = md(Role.MERCHANT, HOTPOT)
    await coupons.CreateCampaign(cpb.CreateCampaignRequest(campaign=campaign), metadata=hotpot)
    claimed = await coupons.ClaimCoupon(
        cpb.ClaimCouponRequest(campaign_id=campaign.campaign_id, member_id=MEMBER, idempotency_key=f"claim-{run_id}"),
        metadata=member,
    )
    code = claimed.coupon.code
    lines.append(f"claimed {HOTPOT}'s coupon 满100减20: code {code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]}")
    started = time.perf_counter()
    redeemed = await coupons.RedeemCoupon(
        cpb.RedeemCouponRequest(code=code, merchant_id=HOTPOT, order_id=f"hotpot-{run_id}", order_amount_fen=12_800,
                                request_no=f"use-{run_id}"),
        metadata=hotpot,
    )  # fmt: skip
    took_ms = (time.perf_counter() - started) * 1000
    again = await coupons.RedeemCoupon(
        cpb.RedeemCouponRequest(code=code, merchant_id=HOTPOT, order_id=f"hotpot-{run_id}", order_amount_fen=12_800,
                                request_no=f"use-{run_id}"),
        metadata=hotpot,
    )  # fmt: skip
    lines.append(
        f"redeemed at {HOTPOT}'s counter in {took_ms:.1f} ms: -{redeemed.coupon.discount_fen / 100:.2f} yuan; "
        f"the counter's retry answered redeemed_now={again.redeemed_now}"
    )

    # 4. The nail salon's points spent at the hotpot: a claim of the hotpot on the nail salon.
    spent = await loyalty.SpendPoints(
        lpb.SpendPointsRequest(programme_id=programme_id, member_id=MEMBER, merchant_id=HOTPOT, points=1_000,
                               idempotency_key=f"spend-{run_id}", order_id=f"hotpot-{run_id}"),
        metadata=hotpot,
    )  # fmt: skip
    lots = ", ".join(f"{u.points} from {u.issuer_merchant_id or 'the programme'}" for u in spent.spend.lots)
    lines.append(
        f"spent 1,000 points at {HOTPOT} ({spent.spend.value_fen / 100:.2f} yuan; lots used: {lots}); "
        f"{spent.balance.available_points} left"
    )
    clearing = await loyalty.ListClearing(
        lpb.ListClearingRequest(programme_id=programme_id, business_day=signed.day), metadata=ops
    )
    for claim in clearing.claims:
        debtor = claim.debtor_merchant_id or "the programme (sign-in points)"
        lines.append(
            f"clearing of {signed.day}: {claim.creditor_merchant_id} is owed {claim.amount_fen / 100:.2f} yuan by {debtor}"
        )
    return lines
