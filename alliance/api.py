"""AllianceService: authenticate, convert, call the alliance engine, convert back. Nothing else lives here."""

from __future__ import annotations

import grpc

from alliance.engine import Alliances
from alliance.models import Alliance, AllianceMerchant, Offer, Segment, Trigger
from core.errors import InvalidArgument
from serving.auth import Authenticator, Principal, Role
from serving.status import rpc
from serving.timestamps import opt_ms_to_ts
from tongcheng.alliance.v1 import alliance_pb2 as pb
from tongcheng.alliance.v1 import alliance_pb2_grpc

TRIGGER_FROM_PB = {pb.TRIGGER_PAID: Trigger.PAID, pb.TRIGGER_COMPLETED: Trigger.COMPLETED}
TRIGGER_TO_PB = {v: k for k, v in TRIGGER_FROM_PB.items()}


def alliance_to_pb(a: Alliance) -> pb.Alliance:
    return pb.Alliance(
        alliance_id=a.alliance_id, commission_bp=a.commission_bp, created_at=opt_ms_to_ts(a.created_ms),
        merchants=[pb.AllianceMerchant(merchant_id=m.merchant_id, lat=m.lat, lng=m.lng, category=m.category)
                   for m in a.merchants],
    )  # fmt: skip


def offer_from_pb(o: pb.Offer) -> Offer:
    if o.trigger not in TRIGGER_FROM_PB:
        raise InvalidArgument.field("offer.trigger", "must be PAID or COMPLETED")
    s = o.segment
    segment = Segment(s.min_orders, s.min_spend_fen, s.hours_mask, tuple(s.categories))
    return Offer(o.offer_id, o.alliance_id, o.source_merchant_id, o.campaign_id, TRIGGER_FROM_PB[o.trigger],
                 o.max_distance_m, segment)  # fmt: skip


def offer_to_pb(o: Offer) -> pb.Offer:
    s = o.segment
    return pb.Offer(
        offer_id=o.offer_id, alliance_id=o.alliance_id, source_merchant_id=o.source_merchant_id,
        campaign_id=o.campaign_id, trigger=TRIGGER_TO_PB[o.trigger], max_distance_m=o.max_distance_m,
        segment=pb.Segment(min_orders=s.min_orders, min_spend_fen=s.min_spend_fen, hours_mask=s.hours_mask,
                           categories=list(s.categories)),
    )  # fmt: skip


class AllianceServicer(alliance_pb2_grpc.AllianceServiceServicer):
    def __init__(self, alliances: Alliances, auth: Authenticator) -> None:
        self._alliances = alliances
        self._auth = auth

    def _caller(self, context: grpc.aio.ServicerContext) -> Principal:
        return self._auth.authenticate(context.invocation_metadata())  # type: ignore[arg-type]

    @rpc
    async def CreateAlliance(
        self, request: pb.CreateAllianceRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateAllianceResponse:
        self._caller(context).require(Role.OPS)
        if not request.HasField("alliance"):
            raise InvalidArgument.field("alliance", "required")
        a = request.alliance
        alliance = Alliance(
            a.alliance_id,
            tuple(AllianceMerchant(m.merchant_id, m.lat, m.lng, m.category) for m in a.merchants),
            a.commission_bp,
        )
        stored, created = await self._alliances.create_alliance(alliance)
        return pb.CreateAllianceResponse(alliance=alliance_to_pb(stored), created=created)

    @rpc
    async def CreateOffer(
        self, request: pb.CreateOfferRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateOfferResponse:
        caller = self._caller(context)
        caller.require(Role.OPS, Role.MERCHANT)
        if not request.HasField("offer"):
            raise InvalidArgument.field("offer", "required")
        offer = offer_from_pb(request.offer)
        if caller.role is Role.MERCHANT:  # the partner offers its own campaign
            campaign, _, _ = await self._alliances.coupons.campaign(offer.campaign_id)
            caller.require_merchant(campaign.merchant_id)
        stored, created = await self._alliances.create_offer(offer)
        return pb.CreateOfferResponse(offer=offer_to_pb(stored), created=created)

    @rpc
    async def GetContribution(
        self, request: pb.GetContributionRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetContributionResponse:
        caller = self._caller(context)
        caller.require(Role.OPS, Role.MERCHANT)
        caller.require_merchant(request.merchant_id)  # a merchant reads its own report
        offers = await self._alliances.contribution(request.alliance_id, request.merchant_id)
        return pb.GetContributionResponse(
            offers=[pb.OfferContribution(offer_id=o.offer_id, issued=o.issued, redeemed=o.redeemed,
                                         customers=o.customers, sales_fen=o.sales_fen,
                                         commission_fen=o.commission_fen) for o in offers],
            customers=sum(o.customers for o in offers), sales_fen=sum(o.sales_fen for o in offers),
            commission_fen=sum(o.commission_fen for o in offers),
        )  # fmt: skip

    @rpc
    async def GetMemberSegment(
        self, request: pb.GetMemberSegmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMemberSegmentResponse:
        self._caller(context).require_member(request.member_id)
        a = await self._alliances.segment(request.alliance_id, request.member_id)
        return pb.GetMemberSegmentResponse(
            orders=a.orders, spend_fen=a.spend_fen, hours_mask=a.hours_mask, categories=list(a.categories)
        )

    @rpc
    async def RunCommissions(
        self, request: pb.RunCommissionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RunCommissionsResponse:
        self._caller(context).require(Role.OPS)
        transfers, posting_id, posted_day, now = await self._alliances.run_commissions(
            request.alliance_id, request.business_day
        )
        return pb.RunCommissionsResponse(
            transfers=[pb.Transfer(creditor_merchant_id=c, debtor_merchant_id=d, amount_fen=n) for c, d, n in transfers],
            posting_id=posting_id, posted_business_day=posted_day, posted_now=now,
        )  # fmt: skip
