"""CouponService: authenticate, convert, call the coupon engine, convert back. Nothing else lives here."""

from __future__ import annotations

import grpc

from core.errors import InvalidArgument, NotFound
from core.localtime import DEFAULT_ZONE
from coupons.codes import qr_payload
from coupons.engine import Coupons
from coupons.models import Campaign, Coupon, CouponState, DiscountKind, Funder, Usage
from serving.auth import Authenticator, Principal, Role
from serving.status import rpc
from serving.timestamps import checked_ts_to_ms, opt_ms_to_ts
from tongcheng.coupons.v1 import coupons_pb2 as pb
from tongcheng.coupons.v1 import coupons_pb2_grpc

KIND_FROM_PB = {
    pb.DISCOUNT_KIND_AMOUNT_OFF: DiscountKind.AMOUNT_OFF,
    pb.DISCOUNT_KIND_PERCENT_OFF: DiscountKind.PERCENT_OFF,
    pb.DISCOUNT_KIND_FREE_DELIVERY: DiscountKind.FREE_DELIVERY,
}
KIND_TO_PB = {v: k for k, v in KIND_FROM_PB.items()}
FUNDER_FROM_PB = {
    pb.FUNDER_UNSPECIFIED: Funder.MERCHANT,
    pb.FUNDER_MERCHANT: Funder.MERCHANT,
    pb.FUNDER_PLATFORM: Funder.PLATFORM,
    pb.FUNDER_PARTNER: Funder.PARTNER,
}
FUNDER_TO_PB = {
    Funder.MERCHANT: pb.FUNDER_MERCHANT,
    Funder.PLATFORM: pb.FUNDER_PLATFORM,
    Funder.PARTNER: pb.FUNDER_PARTNER,
}
STATE_TO_PB = {
    CouponState.CLAIMED: pb.COUPON_STATE_CLAIMED,
    CouponState.LOCKED: pb.COUPON_STATE_LOCKED,
    CouponState.REDEEMED: pb.COUPON_STATE_REDEEMED,
}


def campaign_from_pb(c: pb.Campaign) -> Campaign:
    if c.kind not in KIND_FROM_PB:
        raise InvalidArgument.field("campaign.kind", "must be AMOUNT_OFF, PERCENT_OFF or FREE_DELIVERY")
    if c.funded_by not in FUNDER_FROM_PB:
        raise InvalidArgument.field("campaign.funded_by", "unknown funder")
    valid_from = checked_ts_to_ms("campaign.valid_from", c.valid_from) if c.HasField("valid_from") else 0
    valid_until = checked_ts_to_ms("campaign.valid_until", c.valid_until) if c.HasField("valid_until") else 0
    return Campaign(
        campaign_id=c.campaign_id, merchant_id=c.merchant_id, kind=KIND_FROM_PB[c.kind], valid_from_ms=valid_from,
        valid_until_ms=valid_until, max_coupons=c.max_coupons, amount_off_fen=c.amount_off_fen,
        transaction_minimum_fen=c.transaction_minimum_fen, discount_percent=c.discount_percent,
        max_discount_fen=c.max_discount_fen, max_coupons_per_member=c.max_coupons_per_member or 1,
        max_amount_fen=c.max_amount_fen, max_redemptions_per_day=c.max_redemptions_per_day,
        weekdays_mask=c.weekdays_mask, start_minute=c.start_minute, end_minute=c.end_minute,
        time_zone=c.time_zone or DEFAULT_ZONE, funded_by=FUNDER_FROM_PB[c.funded_by], partner_id=c.partner_id,
        exclusive=c.exclusive, max_coupons_per_order=c.max_coupons_per_order, item_ids=tuple(c.item_ids),
    )  # fmt: skip


def campaign_to_pb(c: Campaign) -> pb.Campaign:
    return pb.Campaign(
        campaign_id=c.campaign_id, merchant_id=c.merchant_id, kind=KIND_TO_PB[c.kind], amount_off_fen=c.amount_off_fen,
        transaction_minimum_fen=c.transaction_minimum_fen, discount_percent=c.discount_percent,
        max_discount_fen=c.max_discount_fen, max_coupons=c.max_coupons, max_coupons_per_member=c.max_coupons_per_member,
        max_amount_fen=c.max_amount_fen, max_redemptions_per_day=c.max_redemptions_per_day,
        valid_from=opt_ms_to_ts(c.valid_from_ms), valid_until=opt_ms_to_ts(c.valid_until_ms),
        weekdays_mask=c.weekdays_mask, start_minute=c.start_minute, end_minute=c.end_minute, time_zone=c.time_zone,
        funded_by=FUNDER_TO_PB[c.funded_by], partner_id=c.partner_id, exclusive=c.exclusive,
        max_coupons_per_order=c.max_coupons_per_order, created_at=opt_ms_to_ts(c.created_ms), item_ids=c.item_ids,
    )  # fmt: skip


def usage_to_pb(u: Usage) -> pb.CampaignUsage:
    return pb.CampaignUsage(
        claimed=u.claimed, locked=u.locked, redeemed=u.redeemed, amount_used_fen=u.amount_used_fen,
        used_today=u.used_today,
    )  # fmt: skip


def coupon_to_pb(c: Coupon) -> pb.Coupon:
    return pb.Coupon(
        code=c.code, qr_payload=qr_payload(c.code), campaign_id=c.campaign_id, member_id=c.member_id,
        state=STATE_TO_PB[c.state], order_id=c.order_id, discount_fen=c.discount_fen,
        lock_expires_at=opt_ms_to_ts(c.lock_expires_ms), claimed_at=opt_ms_to_ts(c.claimed_ms),
        redeemed_at=opt_ms_to_ts(c.redeemed_ms),
    )  # fmt: skip


def member_coupon_to_pb(coupon: Coupon, c: Campaign) -> pb.MemberCoupon:
    return pb.MemberCoupon(
        coupon=coupon_to_pb(coupon), merchant_id=c.merchant_id, kind=KIND_TO_PB[c.kind], amount_off_fen=c.amount_off_fen,
        discount_percent=c.discount_percent, max_discount_fen=c.max_discount_fen,
        transaction_minimum_fen=c.transaction_minimum_fen, valid_until=opt_ms_to_ts(c.valid_until_ms),
        item_ids=c.item_ids,
    )  # fmt: skip


class CouponServicer(coupons_pb2_grpc.CouponServiceServicer):
    def __init__(self, coupons: Coupons, auth: Authenticator) -> None:
        self._coupons = coupons
        self._auth = auth

    def _caller(self, context: grpc.aio.ServicerContext) -> Principal:
        return self._auth.authenticate(context.invocation_metadata())  # type: ignore[arg-type]

    @staticmethod
    def _who(caller: Principal) -> str:
        return f"{caller.role.value}:{caller.subject_id}"

    @rpc
    async def CreateCampaign(
        self, request: pb.CreateCampaignRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCampaignResponse:
        caller = self._caller(context)
        caller.require(Role.OPS, Role.MERCHANT)
        if not request.HasField("campaign"):
            raise InvalidArgument.field("campaign", "required")
        campaign = campaign_from_pb(request.campaign)
        if caller.role is Role.MERCHANT:
            caller.require_merchant(campaign.merchant_id)  # a merchant runs campaigns of its own, funded by itself
            if campaign.funded_by is not Funder.MERCHANT:
                raise InvalidArgument.field("campaign.funded_by", "a merchant's own campaign is funded by the merchant")
        stored, created = await self._coupons.create_campaign(campaign)
        return pb.CreateCampaignResponse(campaign=campaign_to_pb(stored), created=created)

    @rpc
    async def GetCampaign(
        self, request: pb.GetCampaignRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCampaignResponse:
        caller = self._caller(context)
        caller.require(Role.OPS, Role.MERCHANT, Role.ORDER_SERVICE)
        campaign, usage, key = await self._coupons.campaign(request.campaign_id)
        if caller.role is Role.MERCHANT and campaign.merchant_id != caller.subject_id:
            raise NotFound(f"no campaign {request.campaign_id}")  # another merchant's campaign is not shown
        shown_key = key if caller.role in (Role.OPS, Role.MERCHANT) else ""
        return pb.GetCampaignResponse(
            campaign=campaign_to_pb(campaign), usage=usage_to_pb(usage), verification_key=shown_key
        )

    @rpc
    async def ClaimCoupon(
        self, request: pb.ClaimCouponRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClaimCouponResponse:
        self._caller(context).require_member(request.member_id)
        coupon, created = await self._coupons.claim(request.campaign_id, request.member_id, request.idempotency_key)
        return pb.ClaimCouponResponse(coupon=coupon_to_pb(coupon), created=created)

    @rpc
    async def GetCoupon(self, request: pb.GetCouponRequest, context: grpc.aio.ServicerContext) -> pb.GetCouponResponse:
        caller = self._caller(context)
        caller.require(Role.OPS, Role.ORDER_SERVICE, Role.MERCHANT, Role.MEMBER)
        merchant = caller.subject_id if caller.role is Role.MERCHANT else None
        coupon = await self._coupons.find(request.code, self._who(caller), merchant)
        if caller.role is Role.MEMBER and coupon.member_id != caller.subject_id:
            raise NotFound(f"no coupon {coupon.code}")  # another member's coupon is not shown
        return pb.GetCouponResponse(coupon=coupon_to_pb(coupon))

    def _counter(self, context: grpc.aio.ServicerContext, merchant_id: str) -> Principal:
        """A merchant's counter (or an order service or ops acting for it)."""
        caller = self._caller(context)
        caller.require_merchant(merchant_id)
        return caller

    @rpc
    async def LockCoupon(
        self, request: pb.LockCouponRequest, context: grpc.aio.ServicerContext
    ) -> pb.LockCouponResponse:
        caller = self._counter(context, request.merchant_id)
        coupon = await self._coupons.lock(
            request.code, request.merchant_id, request.order_id, request.order_amount_fen, request.delivery_fee_fen,
            request.ttl_minutes, self._who(caller),
        )  # fmt: skip
        return pb.LockCouponResponse(coupon=coupon_to_pb(coupon))

    @rpc
    async def RedeemCoupon(
        self, request: pb.RedeemCouponRequest, context: grpc.aio.ServicerContext
    ) -> pb.RedeemCouponResponse:
        caller = self._counter(context, request.merchant_id)
        coupon, now = await self._coupons.redeem(
            request.code, request.merchant_id, request.order_id, request.order_amount_fen, request.delivery_fee_fen,
            request.request_no, self._who(caller),
        )  # fmt: skip
        return pb.RedeemCouponResponse(coupon=coupon_to_pb(coupon), redeemed_now=now)

    @rpc
    async def ListMemberCoupons(
        self, request: pb.ListMemberCouponsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMemberCouponsResponse:
        self._caller(context).require_member(request.member_id)  # a member its own; ops and order services any
        page, token = await self._coupons.member_coupons(request.member_id, request.page_size, request.page_token)
        return pb.ListMemberCouponsResponse(coupons=[member_coupon_to_pb(c, k) for c, k in page], next_page_token=token)

    @rpc
    async def RollbackCoupon(
        self, request: pb.RollbackCouponRequest, context: grpc.aio.ServicerContext
    ) -> pb.RollbackCouponResponse:
        caller = self._counter(context, request.merchant_id)
        coupon, now = await self._coupons.rollback(
            request.code, request.merchant_id, request.order_id, request.request_no, self._who(caller)
        )
        return pb.RollbackCouponResponse(coupon=coupon_to_pb(coupon), rolled_back_now=now)
