"""LoyaltyService: authenticate, convert, call the loyalty engine, convert back. Nothing else lives here."""

from __future__ import annotations

import grpc

from core.errors import InvalidArgument
from core.localtime import DEFAULT_ZONE
from loyalty.engine import Loyalty
from loyalty.models import (
    DEFAULT_EARN_BP,
    DEFAULT_EXPIRY_MONTHS,
    Balance,
    Claim,
    HistoryEntry,
    OrderPoints,
    OrderState,
    Programme,
    ProgrammeKind,
    Reward,
    Spend,
)
from serving.auth import Authenticator, Principal, Role
from serving.status import rpc
from serving.timestamps import opt_ms_to_ts
from settlement.days import parse_day
from tongcheng.loyalty.v1 import loyalty_pb2 as pb
from tongcheng.loyalty.v1 import loyalty_pb2_grpc

KIND_FROM_PB = {
    pb.PROGRAMME_KIND_MERCHANT: ProgrammeKind.MERCHANT,
    pb.PROGRAMME_KIND_CHAIN: ProgrammeKind.CHAIN,
    pb.PROGRAMME_KIND_ALLIANCE: ProgrammeKind.ALLIANCE,
}
KIND_TO_PB = {v: k for k, v in KIND_FROM_PB.items()}
STATE_FROM_PB = {pb.ORDER_STATE_PAID: OrderState.PAID, pb.ORDER_STATE_COMPLETED: OrderState.COMPLETED}
STATE_TO_PB = {OrderState.NONE: pb.ORDER_STATE_UNSPECIFIED, **{v: k for k, v in STATE_FROM_PB.items()}}
SERVICES = (Role.ORDER_SERVICE, Role.OPS)


def programme_from_pb(p: pb.Programme) -> Programme:
    if p.kind not in KIND_FROM_PB:
        raise InvalidArgument.field("programme.kind", "must be MERCHANT, CHAIN or ALLIANCE")
    return Programme(
        programme_id=p.programme_id, kind=KIND_FROM_PB[p.kind], merchant_ids=tuple(p.merchant_ids),
        earn_bp=p.earn_bp or DEFAULT_EARN_BP, point_value_fen=p.point_value_fen or 1,
        expiry_months=p.expiry_months or DEFAULT_EXPIRY_MONTHS, time_zone=p.time_zone or DEFAULT_ZONE,
        signin_points=p.signin_points, streak_days=p.streak_days, streak_bonus_points=p.streak_bonus_points,
        grace_days=p.grace_days, referrer_points=p.referrer_points, referee_points=p.referee_points,
        rewards=tuple(Reward(r.reward_id, r.points_cost, r.campaign_id) for r in p.rewards),
    )  # fmt: skip


def programme_to_pb(p: Programme) -> pb.Programme:
    return pb.Programme(
        programme_id=p.programme_id, kind=KIND_TO_PB[p.kind], merchant_ids=list(p.merchant_ids), earn_bp=p.earn_bp,
        point_value_fen=p.point_value_fen, expiry_months=p.expiry_months, time_zone=p.time_zone,
        signin_points=p.signin_points, streak_days=p.streak_days, streak_bonus_points=p.streak_bonus_points,
        grace_days=p.grace_days, referrer_points=p.referrer_points, referee_points=p.referee_points,
        created_at=opt_ms_to_ts(p.created_ms),
        rewards=[pb.Reward(reward_id=r.reward_id, points_cost=r.points_cost, campaign_id=r.campaign_id)
                 for r in p.rewards],
    )  # fmt: skip


def balance_to_pb(b: Balance) -> pb.Balance:
    return pb.Balance(
        programme_id=b.programme_id, member_id=b.member_id, available_points=b.available, pending_points=b.pending,
        debt_points=b.debt, expiries=[pb.Expiry(expires_at=opt_ms_to_ts(e.expires_ms), points=e.points)
                                      for e in b.expiries],
        streak=b.streak, last_signin_day=b.last_signin_day, unlocked_reward_ids=list(b.unlocked_reward_ids),
    )  # fmt: skip


def spend_to_pb(s: Spend) -> pb.Spend:
    return pb.Spend(
        idempotency_key=s.key, member_id=s.member_id, merchant_id=s.merchant_id, points=s.points,
        value_fen=s.value_fen, order_id=s.order_id, refunded=s.refunded, spent_at=opt_ms_to_ts(s.spent_ms),
        lots=[pb.LotUse(lot_id=u.lot_id, issuer_merchant_id=u.issuer, points=u.points,
                        expires_at=opt_ms_to_ts(u.expires_ms)) for u in s.lots],
    )  # fmt: skip


def order_points_to_pb(o: OrderPoints) -> pb.OrderPoints:
    return pb.OrderPoints(
        order_id=o.order_id, programme_id=o.programme_id, member_id=o.member_id, points=o.points,
        reversed_points=o.reversed_points, state=STATE_TO_PB[o.state], debt_points=o.debt_points,
    )  # fmt: skip


def claim_to_pb(c: Claim) -> pb.Claim:
    return pb.Claim(
        creditor_merchant_id=c.creditor, debtor_merchant_id=c.debtor, points=c.points, amount_fen=c.amount_fen
    )


def entry_to_pb(e: HistoryEntry) -> pb.HistoryEntry:
    return pb.HistoryEntry(
        entry_id=e.entry_id, kind=pb.EntryKind.Value(f"ENTRY_KIND_{e.kind.name}"), available_delta=e.available_delta,
        pending_delta=e.pending_delta, debt_delta=e.debt_delta, reference=e.reference, merchant_id=e.merchant_id,
        occurred_at=opt_ms_to_ts(e.occurred_ms),
    )  # fmt: skip


class LoyaltyServicer(loyalty_pb2_grpc.LoyaltyServiceServicer):
    def __init__(self, loyalty: Loyalty, auth: Authenticator) -> None:
        self._loyalty = loyalty
        self._auth = auth

    def _caller(self, context: grpc.aio.ServicerContext) -> Principal:
        return self._auth.authenticate(context.invocation_metadata())  # type: ignore[arg-type]

    def _member(self, context: grpc.aio.ServicerContext, member_id: str) -> None:
        self._caller(context).require_member(member_id)

    @rpc
    async def CreateProgramme(
        self, request: pb.CreateProgrammeRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateProgrammeResponse:
        self._caller(context).require(Role.OPS)
        if not request.HasField("programme"):
            raise InvalidArgument.field("programme", "required")
        stored, created = await self._loyalty.create_programme(programme_from_pb(request.programme))
        return pb.CreateProgrammeResponse(programme=programme_to_pb(stored), created=created)

    @rpc
    async def GetProgramme(
        self, request: pb.GetProgrammeRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetProgrammeResponse:
        self._caller(context)  # any verified caller: a programme's rules are what its members are told
        return pb.GetProgrammeResponse(programme=programme_to_pb(await self._loyalty.programme(request.programme_id)))

    @rpc
    async def SyncOrder(self, request: pb.SyncOrderRequest, context: grpc.aio.ServicerContext) -> pb.SyncOrderResponse:
        self._caller(context).require(*SERVICES)
        state = STATE_FROM_PB.get(request.state, OrderState.NONE)
        points, changed = await self._loyalty.sync_order(
            request.order_id, request.merchant_id, request.member_id, state, request.paid_fen, request.refunded_fen
        )
        if points is None:
            return pb.SyncOrderResponse(changed=False, in_programme=False)
        return pb.SyncOrderResponse(order=order_points_to_pb(points), changed=changed, in_programme=True)

    @rpc
    async def SpendPoints(
        self, request: pb.SpendPointsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SpendPointsResponse:
        self._caller(context).require_merchant(request.merchant_id)
        spend, created, balance = await self._loyalty.spend(
            request.programme_id, request.member_id, request.merchant_id, request.points, request.idempotency_key,
            request.order_id,
        )  # fmt: skip
        return pb.SpendPointsResponse(spend=spend_to_pb(spend), created=created, balance=balance_to_pb(balance))

    @rpc
    async def RefundSpend(
        self, request: pb.RefundSpendRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefundSpendResponse:
        caller = self._caller(context)
        caller.require(Role.MERCHANT, *SERVICES)
        if caller.role is Role.MERCHANT:  # a merchant gives back only what was spent at its counter
            found = await self._loyalty.find_spend(
                request.programme_id, request.member_id, request.spend_idempotency_key
            )
            caller.require_merchant(found.merchant_id)
        spend, now, balance = await self._loyalty.refund_spend(
            request.programme_id, request.member_id, request.spend_idempotency_key
        )
        return pb.RefundSpendResponse(spend=spend_to_pb(spend), refunded_now=now, balance=balance_to_pb(balance))

    @rpc
    async def SignIn(self, request: pb.SignInRequest, context: grpc.aio.ServicerContext) -> pb.SignInResponse:
        self._member(context, request.member_id)
        s, balance = await self._loyalty.sign_in(request.programme_id, request.member_id)
        return pb.SignInResponse(
            day=s.day, streak=s.streak, points=s.points, signed_in_now=s.signed_in_now, balance=balance_to_pb(balance)
        )

    @rpc
    async def GetReferralCode(
        self, request: pb.GetReferralCodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetReferralCodeResponse:
        self._member(context, request.member_id)
        code = await self._loyalty.referral_code(request.programme_id, request.member_id)
        return pb.GetReferralCodeResponse(referral_code=code)

    @rpc
    async def ApplyReferral(
        self, request: pb.ApplyReferralRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApplyReferralResponse:
        self._member(context, request.member_id)
        referrer, now = await self._loyalty.apply_referral(
            request.programme_id, request.member_id, request.referral_code
        )
        return pb.ApplyReferralResponse(referrer_member_id=referrer, applied_now=now)

    @rpc
    async def GetBalance(
        self, request: pb.GetBalanceRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetBalanceResponse:
        self._member(context, request.member_id)
        balance = await self._loyalty.balance(request.programme_id, request.member_id, must_exist=True)
        return pb.GetBalanceResponse(balance=balance_to_pb(balance))

    @rpc
    async def ListHistory(
        self, request: pb.ListHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListHistoryResponse:
        self._member(context, request.member_id)
        entries, token = await self._loyalty.history(
            request.programme_id, request.member_id, request.page_size, request.page_token
        )
        return pb.ListHistoryResponse(entries=[entry_to_pb(e) for e in entries], next_page_token=token)

    @rpc
    async def ExpirePoints(
        self, request: pb.ExpirePointsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExpirePointsResponse:
        self._caller(context).require(Role.OPS)
        run = await self._loyalty.expire(request.programme_id)
        return pb.ExpirePointsResponse(lots_expired=run.lots_expired, points_expired=run.points_expired, more=run.more)

    @rpc
    async def ListClearing(
        self, request: pb.ListClearingRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClearingResponse:
        caller = self._caller(context)
        caller.require(Role.OPS, Role.MERCHANT)
        parse_day("business_day", request.business_day)
        claims = await self._loyalty.clearing(request.programme_id, request.business_day)
        if caller.role is Role.MERCHANT:  # a merchant sees the claims it is party to
            claims = [c for c in claims if caller.subject_id in (c.creditor, c.debtor)]
        return pb.ListClearingResponse(claims=[claim_to_pb(c) for c in claims])

    @rpc
    async def RunClearing(
        self, request: pb.RunClearingRequest, context: grpc.aio.ServicerContext
    ) -> pb.RunClearingResponse:
        self._caller(context).require(Role.OPS)
        claims, posting_id, posted_day, now = await self._loyalty.run_clearing(
            request.programme_id, request.business_day
        )
        return pb.RunClearingResponse(
            claims=[claim_to_pb(c) for c in claims], posting_id=posting_id, posted_business_day=posted_day,
            cleared_now=now,
        )  # fmt: skip

    @rpc
    async def RedeemReward(
        self, request: pb.RedeemRewardRequest, context: grpc.aio.ServicerContext
    ) -> pb.RedeemRewardResponse:
        self._member(context, request.member_id)
        spend, code, created, balance = await self._loyalty.redeem_reward(
            request.programme_id, request.member_id, request.reward_id, request.idempotency_key
        )
        return pb.RedeemRewardResponse(
            spend=spend_to_pb(spend), coupon_code=code, created=created, balance=balance_to_pb(balance)
        )
