"""The demo's loyalty, coupon and alliance story, through gRPC: a member earns points at one shop of an alliance,
signs in, and checks out at the shop next door with that shop's coupon, a platform-funded coupon and the
first shop's points, in one payment whose split legs are printed (the platform bears its coupon); the
day's clearing shows what the second shop is owed by the first for the points, is posted the next
morning (T+1), and the statement of the day after shows it.

Days pass on a server of the money side alone (`--services orders,settlement,loyalty,coupons,alliance`)
on a scaled clock (dev only: 7,200 x real time, starting at 21:00 CST), so two days take seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import grpc

from bench._server import ServerProcess
from core.clock import ScaledClock
from core.localtime import local_day
from serving.auth import Role, TokenIssuer
from serving.timestamps import ms_to_ts
from tongcheng.alliance.v1 import alliance_pb2 as apb
from tongcheng.alliance.v1 import alliance_pb2_grpc
from tongcheng.coupons.v1 import coupons_pb2 as cpb
from tongcheng.coupons.v1 import coupons_pb2_grpc
from tongcheng.loyalty.v1 import loyalty_pb2 as lpb
from tongcheng.loyalty.v1 import loyalty_pb2_grpc
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.orders.v1 import orders_pb2_grpc
from tongcheng.settlement.v1 import settlement_pb2 as spb
from tongcheng.settlement.v1 import settlement_pb2_grpc

NAILS, HOTPOT, MEMBER = "nails-salon", "hotpot-next-door", "member-ling"
PROGRAMME = "street-alliance"
COFFEE, YOGA = "kamppi-coffee", "yoga-studio"
PICKUP, DROPOFF = (60.1700, 24.9420), (60.1760, 24.9480)  # in the default city's service area


CST = dt.timezone(dt.timedelta(hours=8))
SPEED = 7_200


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


async def loyalty_days(data_dir: Path) -> list[str]:
    """The story on its own server whose clock runs fast, then two days later its statement: the lines to print."""
    shutil.rmtree(data_dir / "redis", ignore_errors=True)
    today = dt.datetime.now(CST).date()
    start_ms = int(dt.datetime.combine(today, dt.time(21, 0), CST).timestamp() * 1000)
    anchor_ms = wall_ms() + 5_000  # the server reads start_ms then, the demo too: one simulated clock
    clock = ScaledClock(start_ms, SPEED, anchor_ms)
    server = ServerProcess(
        data_dir, "--services", "orders,settlement,loyalty,coupons,alliance", "--intake-processes", "0",
        "--tick-s", "60", "--clock-speed", str(SPEED), "--clock-start", str(start_ms), "--clock-anchor-ms",
        str(anchor_ms),
    )  # fmt: skip
    server.start()
    try:
        await asyncio.sleep(max(0, anchor_ms - wall_ms()) / 1000)  # the simulated clock starts at the anchor
        issuer = server.issuer()
        async with grpc.aio.insecure_channel(server.address) as channel:
            lines, day = await loyalty_demo(channel, issuer, "demo", clock.now_ms)
            lines += await alliance_demo(channel, issuer, clock.now_ms)
            lines += await next_days(channel, issuer, clock, day)
    finally:
        server.stop()
    return lines


async def alliance_demo(channel: grpc.aio.Channel, issuer: TokenIssuer, now_ms: Callable[[], int]) -> list[str]:
    """Cross-industry (异业联盟): a coffee order completed issues the yoga studio's trial coupon to the member, and
    the coffee shop's contribution report counts it; the member's segment follows the order."""
    alliance = alliance_pb2_grpc.AllianceServiceStub(channel)
    coupons = coupons_pb2_grpc.CouponServiceStub(channel)
    orders = orders_pb2_grpc.OrderServiceStub(channel)
    settlement = settlement_pb2_grpc.SettlementServiceStub(channel)
    ops = (("authorization", f"Bearer {issuer.mint(Role.OPS)}"),)
    svc = (("authorization", f"Bearer {issuer.mint(Role.ORDER_SERVICE)}"),)
    yoga = (("authorization", f"Bearer {issuer.mint(Role.MERCHANT, YOGA)}"),)
    coffee = (("authorization", f"Bearer {issuer.mint(Role.MERCHANT, COFFEE)}"),)
    members = [
        apb.AllianceMerchant(merchant_id=COFFEE, lat=PICKUP[0], lng=PICKUP[1], category="coffee"),
        apb.AllianceMerchant(merchant_id=YOGA, lat=PICKUP[0] + 0.002, lng=PICKUP[1], category="fitness"),
    ]
    await alliance.CreateAlliance(apb.CreateAllianceRequest(alliance=apb.Alliance(
        alliance_id="kamppi-partners", commission_bp=1_000, merchants=members)), metadata=ops)  # fmt: skip
    trial = cpb.Campaign(
        campaign_id="yoga-trial", merchant_id=YOGA, kind=cpb.DISCOUNT_KIND_AMOUNT_OFF, amount_off_fen=3_000,
        transaction_minimum_fen=5_000, max_coupons=100, valid_from=ms_to_ts(now_ms() - 60_000),
        valid_until=ms_to_ts(now_ms() + 30 * 86_400_000),
    )  # fmt: skip
    await coupons.CreateCampaign(cpb.CreateCampaignRequest(campaign=trial), metadata=yoga)
    offer = apb.Offer(offer_id="yoga-for-coffee", alliance_id="kamppi-partners", source_merchant_id=COFFEE,
                      campaign_id="yoga-trial", trigger=apb.TRIGGER_COMPLETED, max_distance_m=1_000)  # fmt: skip
    await alliance.CreateOffer(apb.CreateOfferRequest(offer=offer), metadata=yoga)
    rule = spb.SplitRule(merchant_id=COFFEE, platform_commission=spb.Share(basis_points=500))
    await settlement.SetSplitRule(spb.SetSplitRuleRequest(rule=rule), metadata=ops)
    await orders.CreateOrder(opb.CreateOrderRequest(
        order_id="coffee-demo", merchant_id=COFFEE, customer_id=MEMBER, items_fen=3_600, delivery_fee_fen=0,
        pickup=opb.LatLng(lat=PICKUP[0], lng=PICKUP[1]), dropoff=opb.LatLng(lat=DROPOFF[0], lng=DROPOFF[1])),
        metadata=svc)  # fmt: skip
    await orders.PayOrder(opb.PayOrderRequest(order_id="coffee-demo", payment_id="pay-coffee-demo", amount_fen=3_600),
                          metadata=svc)  # fmt: skip
    for step in ("AcceptOrder", "MarkReady", "MarkPickedUp", "MarkDelivered", "CompleteOrder"):
        await getattr(orders, step)(getattr(opb, f"{step}Request")(order_id="coffee-demo"), metadata=svc)
    report = await alliance.GetContribution(
        apb.GetContributionRequest(alliance_id="kamppi-partners", merchant_id=COFFEE), metadata=coffee
    )
    segment = await alliance.GetMemberSegment(
        apb.GetMemberSegmentRequest(alliance_id="kamppi-partners", member_id=MEMBER), metadata=ops
    )
    [brought] = report.offers
    member = (("authorization", f"Bearer {issuer.mint(Role.MEMBER, MEMBER)}"),)
    return [
        f"alliance          {COFFEE} and {YOGA}: a completed coffee order (36.00 yuan) issues the studio's trial "
        f"coupon (30 yuan off); {COFFEE} earns 10% of what it brings",
        f"contribution      {COFFEE}: offer {brought.offer_id} issued {brought.issued}, redeemed {brought.redeemed}",
        f"member segment    {MEMBER}: {segment.orders} order(s), {segment.spend_fen / 100:.2f} yuan, "
        f"categories {', '.join(segment.categories)}",
        *await member_coupon_lines(coupons, member),
    ]


def _terms(c: cpb.MemberCoupon) -> str:
    """What a coupon takes off, as the member reads it."""
    floor = f" above {c.transaction_minimum_fen / 100:.2f}" if c.transaction_minimum_fen else ""
    if c.kind == cpb.DISCOUNT_KIND_AMOUNT_OFF:
        return f"{c.amount_off_fen / 100:.2f} yuan off{floor}"
    if c.kind == cpb.DISCOUNT_KIND_PERCENT_OFF:
        return f"{c.discount_percent}% off (at most {c.max_discount_fen / 100:.2f}){floor}"
    return f"free delivery (at most {c.max_discount_fen / 100:.2f}){floor}"


async def member_coupon_lines(coupons: coupons_pb2_grpc.CouponServiceStub, member: tuple[tuple[str, str]]) -> list[str]:
    """The member's coupons as its app lists them (ListMemberCoupons, the latest claimed first)."""
    reply = await coupons.ListMemberCoupons(cpb.ListMemberCouponsRequest(member_id=MEMBER), metadata=member)
    lines = [f"member coupons    {MEMBER} holds {len(reply.coupons)}:"]
    for c in reply.coupons:
        state = cpb.CouponState.Name(c.coupon.state).removeprefix("COUPON_STATE_").lower()
        until = dt.datetime.fromtimestamp(c.valid_until.seconds, dt.UTC).strftime("%Y-%m-%d")
        lines.append(f"                  {c.coupon.code} {c.coupon.campaign_id} at {c.merchant_id}: {_terms(c)}, "
                     f"{state}, valid until {until}")  # fmt: skip
    return lines


async def next_days(channel: grpc.aio.Channel, issuer: TokenIssuer, clock: ScaledClock, day: str) -> list[str]:
    """T+1: the clearing of `day` is posted; T+2: the daily run of the day it was posted on, and its statement."""
    loyalty = loyalty_pb2_grpc.LoyaltyServiceStub(channel)
    settlement = settlement_pb2_grpc.SettlementServiceStub(channel)
    ops = (("authorization", f"Bearer {issuer.mint(Role.OPS)}"),)
    lines = []

    async def until(day_text: str, days_after: int) -> None:
        target = dt.datetime.combine(
            dt.date.fromisoformat(day_text) + dt.timedelta(days=days_after), dt.time(0, 6), CST
        )
        await asyncio.sleep(clock.wall_s(max(0.0, target.timestamp() - clock.now_ms() / 1000)) + 0.01)

    await until(day, 1)
    cleared = await loyalty.RunClearing(lpb.RunClearingRequest(programme_id=PROGRAMME, business_day=day), metadata=ops)
    lines.append(f"{cleared.posted_business_day} 00:06 CST: the clearing of {day} posted as {cleared.posting_id}")
    await until(cleared.posted_business_day, 1)
    await settlement.RunDailySettlement(
        spb.RunDailySettlementRequest(business_day=cleared.posted_business_day), metadata=ops
    )
    statement = await settlement.GetStatement(
        spb.GetStatementRequest(business_day=cleared.posted_business_day, receiver=f"merchant:{HOTPOT}"), metadata=ops
    )
    lines.append(f"the statement of merchant:{HOTPOT} for {cleared.posted_business_day} (T+1 run), as CSV:")
    lines += ["    " + row for row in statement.csv.strip().splitlines()]
    return lines


async def loyalty_demo(
    channel: grpc.aio.Channel, issuer: TokenIssuer, run_id: str, now_ms: Callable[[], int]
) -> tuple[list[str], str]:
    """Runs the story; returns the lines to print and the local day of the spend."""
    loyalty = loyalty_pb2_grpc.LoyaltyServiceStub(channel)
    coupons = coupons_pb2_grpc.CouponServiceStub(channel)
    orders = orders_pb2_grpc.OrderServiceStub(channel)
    settlement = settlement_pb2_grpc.SettlementServiceStub(channel)

    def md(role: Role, subject: str = "") -> tuple[tuple[str, str]]:
        return (("authorization", f"Bearer {issuer.mint(role, subject)}"),)

    ops, svc, member = md(Role.OPS), md(Role.ORDER_SERVICE), md(Role.MEMBER, MEMBER)
    programme_id = PROGRAMME
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

    # 3. Checkout at the hotpot: the hotpot's own coupon (满100减20) and a platform-funded one, both locked to the
    # order, and 1,000 of the nail salon's points; the payment redeems the locks and spends the points at once.
    valid = {"valid_from": ms_to_ts(now_ms() - 60_000), "valid_until": ms_to_ts(now_ms() + 30 * 86_400_000)}
    own = cpb.Campaign(
        campaign_id=f"hotpot-20off-{run_id}", merchant_id=HOTPOT, kind=cpb.DISCOUNT_KIND_AMOUNT_OFF,
        amount_off_fen=2_000, transaction_minimum_fen=10_000, max_coupons=500, max_redemptions_per_day=100, **valid,
    )  # fmt: skip
    platform = cpb.Campaign(
        campaign_id=f"platform-10off-{run_id}", merchant_id=HOTPOT, kind=cpb.DISCOUNT_KIND_AMOUNT_OFF,
        amount_off_fen=1_000, transaction_minimum_fen=5_000, max_coupons=10_000, funded_by=cpb.FUNDER_PLATFORM,
        **valid,
    )  # fmt: skip
    hotpot = md(Role.MERCHANT, HOTPOT)
    await coupons.CreateCampaign(cpb.CreateCampaignRequest(campaign=own), metadata=hotpot)
    await coupons.CreateCampaign(cpb.CreateCampaignRequest(campaign=platform), metadata=ops)
    order_id, left, codes = f"hotpot-{run_id}", 12_800, []
    for c in (own, platform):
        claimed = await coupons.ClaimCoupon(
            cpb.ClaimCouponRequest(
                campaign_id=c.campaign_id, member_id=MEMBER, idempotency_key=f"claim-{c.campaign_id}"
            ),
            metadata=member,
        )
        code = claimed.coupon.code
        locked = await coupons.LockCoupon(
            cpb.LockCouponRequest(code=code, merchant_id=HOTPOT, order_id=order_id, order_amount_fen=left),
            metadata=svc,
        )
        left -= locked.coupon.discount_fen
        codes.append(code)
        lines.append(f"claimed and locked {c.campaign_id}: code {code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]}")
    created = await orders.CreateOrder(
        opb.CreateOrderRequest(
            order_id=order_id, merchant_id=HOTPOT, customer_id=MEMBER, items_fen=12_800, delivery_fee_fen=0,
            pickup=opb.LatLng(lat=PICKUP[0], lng=PICKUP[1]), dropoff=opb.LatLng(lat=DROPOFF[0], lng=DROPOFF[1]),
            coupon_codes=codes, points=1_000, points_programme_id=programme_id,
        ),
        metadata=svc,
    )  # fmt: skip
    started = time.perf_counter()
    paid = (await orders.PayOrder(
        opb.PayOrderRequest(order_id=order_id, payment_id=f"pay-{order_id}", amount_fen=created.order.amount_due_fen),
        metadata=svc,
    )).order  # fmt: skip
    took_ms = (time.perf_counter() - started) * 1000
    parts = ", ".join(f"-{c.discount_fen / 100:.2f} ({c.funded_by or 'the hotpot'} funds it)" for c in paid.coupons)
    lines.append(
        f"checkout at {HOTPOT}: 128.00 yuan, coupons {parts}, 1,000 points -{paid.points_fen / 100:.2f}: "
        f"paid {paid.paid_fen / 100:.2f} yuan in one step ({took_ms:.1f} ms: locks redeemed, points spent, split)"
    )
    split = await settlement.GetSplit(spb.GetSplitRequest(order_id=order_id), metadata=ops)
    lines.append("  its ledger entries (the legs sum to paid + the platform's subsidy):")
    lines += [f"    {e.receiver:<28} {e.amount_fen / 100:>8.2f}  {e.cause}" for e in split.entries]
    balance = (
        await loyalty.GetBalance(lpb.GetBalanceRequest(programme_id=programme_id, member_id=MEMBER), metadata=member)
    ).balance
    lines.append(f"  {balance.available_points} points left")

    day = local_day(paid.paid_at.ToMilliseconds(), "Asia/Shanghai")[0]  # the spend is in the payment's step
    clearing = await loyalty.ListClearing(
        lpb.ListClearingRequest(programme_id=programme_id, business_day=day), metadata=ops
    )
    for claim in clearing.claims:
        debtor = claim.debtor_merchant_id or "the programme (sign-in points)"
        lines.append(
            f"clearing of {day}: {claim.creditor_merchant_id} is owed {claim.amount_fen / 100:.2f} yuan by {debtor}"
        )
    return lines, day
