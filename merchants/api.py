"""MerchantService: authenticate, convert, call the engine, convert back. Nothing else lives here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import grpc

from core.errors import InvalidArgument, PermissionDenied
from core.schedule import DateException, Period, WeeklyPeriod
from core.validation import instant_violation
from coupons.api import campaign_to_pb
from merchants.chains import OverflowPolicy
from merchants.models import (
    DEFAULT_RESERVATION_TTL_S,
    CatalogItem,
    ItemOverride,
    ItemStatus,
    Merchant,
    MerchantStatus,
    PromotionSuggestion,
    Reservation,
    ReservationState,
    StockEvent,
    StockEventKind,
    StockLevel,
    Variant,
)
from merchants.service import Merchants
from merchants.validation import check_merchant
from serving.auth import Authenticator, Principal, Role
from serving.status import rpc
from serving.timestamps import checked_ts_to_ms, opt_checked_ts_to_ms, opt_ms_to_ts
from tongcheng.merchants.v1 import merchants_pb2 as pb
from tongcheng.merchants.v1 import merchants_pb2_grpc

# GetMerchant answers open_now up to a year ahead: weekly hours say nothing of later years, and an instant near
# the end of a Timestamp's range has no local date in zones east of UTC.
OPEN_AHEAD_MS = 366 * 86_400_000

CATEGORY_FROM_PB = {
    pb.MERCHANT_CATEGORY_RESTAURANT: "restaurant", pb.MERCHANT_CATEGORY_GROCERY: "grocery",
    pb.MERCHANT_CATEGORY_CONVENIENCE: "convenience", pb.MERCHANT_CATEGORY_PHARMACY: "pharmacy",
    pb.MERCHANT_CATEGORY_FRUIT: "fruit", pb.MERCHANT_CATEGORY_CLINIC: "clinic", pb.MERCHANT_CATEGORY_FITNESS: "fitness",
    pb.MERCHANT_CATEGORY_HOME_SERVICE: "home_service", pb.MERCHANT_CATEGORY_OTHER: "other",
}  # fmt: skip
CATEGORY_TO_PB = {v: k for k, v in CATEGORY_FROM_PB.items()}
STATUS_FROM_PB = {
    pb.MERCHANT_STATUS_OPEN: MerchantStatus.OPEN,
    pb.MERCHANT_STATUS_PAUSED: MerchantStatus.PAUSED,
    pb.MERCHANT_STATUS_CLOSED: MerchantStatus.CLOSED,
}
STATUS_TO_PB = {v: k for k, v in STATUS_FROM_PB.items()}
ITEM_STATUS_TO_PB = {ItemStatus.ACTIVE: pb.ITEM_STATUS_ACTIVE, ItemStatus.PAUSED: pb.ITEM_STATUS_PAUSED}
KIND_TO_PB = {
    StockEventKind.COUNT: pb.STOCK_EVENT_KIND_PHYSICAL_COUNT,
    StockEventKind.ADJUSTMENT: pb.STOCK_EVENT_KIND_ADJUSTMENT,
    StockEventKind.SALE: pb.STOCK_EVENT_KIND_SALE,
    StockEventKind.RETURN: pb.STOCK_EVENT_KIND_RETURN,
}
RESERVATION_STATE_TO_PB = {s: pb.ReservationState.Value(f"RESERVATION_STATE_{s.name}") for s in ReservationState}
# Ledgers in one GetStock reply: each carries its latest LEDGER_EVENTS events (merchants.stock), so a reply
# stays within a few MB whatever the history.
MAX_LEDGER_VARIANTS = 20
# Callers that act for any merchant; a merchant's own token acts for itself.
SERVICES = (Role.ORDER_SERVICE, Role.OPS)


def merchant_to_pb(m: Merchant) -> pb.Merchant:
    return pb.Merchant(
        merchant_id=m.merchant_id, name=m.name, category=CATEGORY_TO_PB[m.category],  # type: ignore[arg-type]
        location=pb.LatLng(lat=m.lat, lng=m.lng), time_zone=m.time_zone,
        weekly_hours=[pb.WeeklyPeriod(day=w.day, start_minute=w.start_minute, end_minute=w.end_minute) for w in m.weekly],  # type: ignore[arg-type]
        exceptions=[
            pb.DateException(
                date=e.date.isoformat(),
                periods=[pb.TimeRange(start_minute=p.start_minute, end_minute=p.end_minute) for p in e.periods],
            )
            for e in m.exceptions
        ],
        chain_id=m.chain_id, status=STATUS_TO_PB[m.status], version=m.version, updated_at=opt_ms_to_ts(m.updated_ms),  # type: ignore[arg-type]
    )  # fmt: skip


def merchant_from_pb(m: pb.Merchant) -> tuple[Merchant, list[tuple[str, list[Period]]]]:
    """The merchant and its exceptions as sent (checked with the rest before they are parsed)."""
    raw_exceptions = [(e.date, [Period(p.start_minute, p.end_minute) for p in e.periods]) for e in m.exceptions]
    status = STATUS_FROM_PB.get(m.status, MerchantStatus.OPEN) if m.status else MerchantStatus.OPEN
    if m.status and m.status not in STATUS_FROM_PB:
        raise InvalidArgument.field("merchant.status", "must be OPEN, PAUSED or CLOSED")
    merchant = Merchant(
        merchant_id=m.merchant_id, name=m.name, category=CATEGORY_FROM_PB.get(m.category, ""),
        lat=m.location.lat, lng=m.location.lng, time_zone=m.time_zone,
        weekly=tuple(WeeklyPeriod(w.day, w.start_minute, w.end_minute) for w in m.weekly_hours),
        chain_id=m.chain_id, status=status, version=m.version,
    )  # fmt: skip
    return merchant, raw_exceptions


def overflow_to_pb(p: OverflowPolicy) -> pb.ChainOverflow:
    return pb.ChainOverflow(
        enabled=p.enabled, backlog_orders=p.backlog_orders, late_prep_s=p.late_prep_s, margin_s=p.margin_s
    )


def item_to_pb(it: CatalogItem) -> pb.CatalogItem:
    return pb.CatalogItem(
        item_id=it.item_id, name=it.name, category=it.category, status=ITEM_STATUS_TO_PB[it.status],
        variants=[pb.Variant(variant_id=v.variant_id, name=v.name, price_fen=v.price_fen) for v in it.variants],
        version=it.version, updated_at=opt_ms_to_ts(it.updated_ms), chain_id=it.chain_id, overridden=it.overridden,
    )  # fmt: skip


def item_from_pb(it: pb.CatalogItem, field: str) -> CatalogItem:
    if it.status == pb.ITEM_STATUS_PAUSED:
        status = ItemStatus.PAUSED
    elif it.status in (pb.ITEM_STATUS_ACTIVE, pb.ITEM_STATUS_UNSPECIFIED):
        status = ItemStatus.ACTIVE
    else:
        raise InvalidArgument.field(f"{field}.status", "must be ACTIVE or PAUSED")
    return CatalogItem(
        item_id=it.item_id, name=it.name, category=it.category, status=status, version=it.version,
        variants=tuple(Variant(v.variant_id, v.name, v.price_fen) for v in it.variants),
    )  # fmt: skip


def level_to_pb(s: StockLevel) -> pb.StockLevel:
    return pb.StockLevel(
        variant_id=s.variant_id, on_hand=s.on_hand, reserved=s.reserved, available=s.available,
        last_count_at=opt_ms_to_ts(s.last_count_ms), oversold=s.oversold,
    )  # fmt: skip


def event_to_pb(e: StockEvent) -> pb.StockEvent:
    return pb.StockEvent(
        event_id=e.event_id, variant_id=e.variant_id, kind=KIND_TO_PB[e.kind], quantity=e.quantity,
        occurred_at=opt_ms_to_ts(e.occurred_ms), reason=e.reason,
    )  # fmt: skip


def reservation_to_pb(merchant_id: str, r: Reservation) -> pb.Reservation:
    return pb.Reservation(
        reservation_id=r.reservation_id, merchant_id=merchant_id,
        lines=[pb.StockLine(variant_id=v, quantity=q) for v, q in r.lines],
        state=RESERVATION_STATE_TO_PB[r.state], expires_at=opt_ms_to_ts(r.expires_ms),
    )  # fmt: skip


def suggestion_to_pb(merchant_id: str, s: PromotionSuggestion) -> pb.PromotionSuggestion:
    return pb.PromotionSuggestion(
        suggestion_id=s.lot.lot_id, merchant_id=merchant_id, variant_id=s.lot.variant_id, lot_id=s.lot.lot_id,
        quantity=s.lot.quantity, expires_on=s.lot.expires_on.isoformat(), discount_bp=s.discount_bp,
        price_fen=s.price_fen, promotion_price_fen=s.promotion_price_fen, created_at=opt_ms_to_ts(s.created_ms),
        campaign_id=s.campaign_id,
    )  # fmt: skip


def _event_from_pb(e: pb.StockEvent, field: str) -> StockEvent:
    kinds = {
        pb.STOCK_EVENT_KIND_PHYSICAL_COUNT: StockEventKind.COUNT,
        pb.STOCK_EVENT_KIND_ADJUSTMENT: StockEventKind.ADJUSTMENT,
    }
    kind = kinds.get(e.kind)
    if kind is None:
        raise InvalidArgument.field(f"{field}.kind", "must be PHYSICAL_COUNT or ADJUSTMENT")
    if not e.HasField("occurred_at"):
        raise InvalidArgument.field(f"{field}.occurred_at", "required (the POS's time of the event)")
    occurred_ms = checked_ts_to_ms(f"{field}.occurred_at", e.occurred_at)
    return StockEvent(e.event_id, e.variant_id, kind, e.quantity, occurred_ms, e.reason)


class MerchantServicer(merchants_pb2_grpc.MerchantServiceServicer):
    def __init__(self, merchants: Merchants, auth: Authenticator) -> None:
        self._m = merchants
        self._auth = auth

    def _caller(self, context: grpc.aio.ServicerContext) -> Principal:
        return self._auth.authenticate(context.invocation_metadata())  # type: ignore[arg-type]

    def _for_merchant(self, context: grpc.aio.ServicerContext, merchant_id: str) -> Principal:
        """Services and ops act for any merchant, a merchant only for itself."""
        caller = self._caller(context)
        caller.require_merchant(merchant_id)
        return caller

    @rpc
    async def UpsertMerchant(
        self, request: pb.UpsertMerchantRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpsertMerchantResponse:
        self._for_merchant(context, request.merchant.merchant_id)
        if not request.HasField("merchant"):
            raise InvalidArgument.field("merchant", "required")
        merchant, raw_exceptions = merchant_from_pb(request.merchant)
        check_merchant(merchant, raw_exceptions)
        exceptions = tuple(DateException(dt.date.fromisoformat(d), tuple(ps)) for d, ps in raw_exceptions)
        stored = await self._m.directory.upsert(Merchant(**{**merchant.__dict__, "exceptions": exceptions}))
        await self._m.adopt_chain(stored)  # a branch's stock may name its chain's variants
        return pb.UpsertMerchantResponse(merchant=merchant_to_pb(stored))

    @rpc
    async def GetMerchant(
        self, request: pb.GetMerchantRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMerchantResponse:
        self._for_merchant(context, request.merchant_id)
        at_ms = opt_checked_ts_to_ms(request, "at")
        now_ms = self._m.clock.now_ms()
        if at_ms is not None and (
            bad := instant_violation("at", at_ms, latest_ms=now_ms + OPEN_AHEAD_MS, latest_what="a year from now")
        ):
            raise InvalidArgument([bad])
        merchant = await self._m.directory.get(request.merchant_id)
        at_ms = now_ms if at_ms is None else at_ms
        return pb.GetMerchantResponse(merchant=merchant_to_pb(merchant), open_now=merchant.is_open_at(at_ms))

    @rpc
    async def SetMerchantStatus(
        self, request: pb.SetMerchantStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetMerchantStatusResponse:
        self._for_merchant(context, request.merchant_id)
        status = STATUS_FROM_PB.get(request.status)
        if status is None:
            raise InvalidArgument.field("status", "must be OPEN, PAUSED or CLOSED")
        merchant = await self._m.directory.set_status(request.merchant_id, status)
        return pb.SetMerchantStatusResponse(merchant=merchant_to_pb(merchant))

    @rpc
    async def ListBranches(
        self, request: pb.ListBranchesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListBranchesResponse:
        self._caller(context).require(Role.MERCHANT, *SERVICES)
        return pb.ListBranchesResponse(merchant_ids=await self._m.directory.branches(request.chain_id))

    @rpc
    async def SetChainOverflow(
        self, request: pb.SetChainOverflowRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetChainOverflowResponse:
        self._caller(context).require(*SERVICES)
        o = request.overflow
        policy = OverflowPolicy(o.enabled, o.backlog_orders, o.late_prep_s, o.margin_s)
        stored = await self._m.chains.set_overflow(request.chain_id, policy, field_prefix="overflow.")
        return pb.SetChainOverflowResponse(overflow=overflow_to_pb(stored))

    @rpc
    async def GetChainOverflow(
        self, request: pb.GetChainOverflowRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetChainOverflowResponse:
        self._caller(context).require(Role.MERCHANT, *SERVICES)
        policy, configured = await self._m.chains.overflow(request.chain_id)
        return pb.GetChainOverflowResponse(overflow=overflow_to_pb(policy), configured=configured)

    @rpc
    async def SyncCatalog(
        self, request: pb.SyncCatalogRequest, context: grpc.aio.ServicerContext
    ) -> pb.SyncCatalogResponse:
        self._for_merchant(context, request.merchant_id)
        items = _batch_items(request.items)
        stored, replayed = await self._m.sync_catalog(request.merchant_id, request.idempotency_key, items)
        return pb.SyncCatalogResponse(items=[item_to_pb(it) for it in stored], replayed=replayed)

    @rpc
    async def GetCatalog(
        self, request: pb.GetCatalogRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCatalogResponse:
        self._for_merchant(context, request.merchant_id)
        items = await self._m.catalog_view(request.merchant_id, list(request.item_ids))
        return pb.GetCatalogResponse(items=[item_to_pb(it) for it in items])

    def _for_chain(self, context: grpc.aio.ServicerContext, chain_id: str) -> Principal:
        """Services and ops act for any chain; a merchant token only for the chain whose head office it is."""
        caller = self._caller(context)
        caller.require(Role.MERCHANT, *SERVICES)
        if caller.role is Role.MERCHANT and chain_id != caller.subject_id:
            raise PermissionDenied(f"merchant {caller.subject_id} is not the head office of chain {chain_id}")
        return caller

    @rpc
    async def SyncChainCatalog(
        self, request: pb.SyncChainCatalogRequest, context: grpc.aio.ServicerContext
    ) -> pb.SyncChainCatalogResponse:
        self._for_chain(context, request.chain_id)
        items = _batch_items(request.items)
        stored, replayed = await self._m.sync_chain_catalog(request.chain_id, request.idempotency_key, items)
        return pb.SyncChainCatalogResponse(items=[item_to_pb(it) for it in stored], replayed=replayed)

    @rpc
    async def GetChainCatalog(
        self, request: pb.GetChainCatalogRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetChainCatalogResponse:
        self._for_chain(context, request.chain_id)
        if not request.chain_id:
            raise InvalidArgument.field("chain_id", "required")
        items = await self._m.chain_catalog.items(request.chain_id, list(request.item_ids))
        return pb.GetChainCatalogResponse(items=[item_to_pb(it) for it in items])

    @rpc
    async def SetItemOverrides(
        self, request: pb.SetItemOverridesRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetItemOverridesResponse:
        self._for_merchant(context, request.merchant_id)
        overrides = []
        for i, o in enumerate(request.overrides[:1_001]):
            if o.status not in (pb.ITEM_STATUS_UNSPECIFIED, pb.ITEM_STATUS_ACTIVE, pb.ITEM_STATUS_PAUSED):
                raise InvalidArgument.field(f"overrides[{i}].status", "must be ACTIVE, PAUSED or unset")
            status = {pb.ITEM_STATUS_ACTIVE: ItemStatus.ACTIVE, pb.ITEM_STATUS_PAUSED: ItemStatus.PAUSED}.get(o.status)
            prices = tuple((p.variant_id, p.price_fen) for p in o.prices[:21])
            overrides.append(ItemOverride(o.item_id, status, prices))
        cleared = list(request.cleared_item_ids[:1_001])
        await self._m.set_overrides(request.merchant_id, overrides, cleared)
        named = [o.item_id for o in overrides] + cleared
        items = await self._m.catalog_view(request.merchant_id, named)
        return pb.SetItemOverridesResponse(items=[item_to_pb(it) for it in items])

    @rpc
    async def RecordStockEvents(
        self, request: pb.RecordStockEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordStockEventsResponse:
        self._for_merchant(context, request.merchant_id)
        if len(request.events) + len(request.lots) > 1_000:
            raise InvalidArgument.field("events", "at most 1000 events and lots together")
        events = [_event_from_pb(e, f"events[{i}]") for i, e in enumerate(request.events)]
        lots = [(lot.lot_id, lot.variant_id, lot.quantity, lot.expires_on) for lot in request.lots]
        levels, replayed = await self._m.record_stock(request.merchant_id, events, lots)
        return pb.RecordStockEventsResponse(levels=[level_to_pb(s) for s in levels], replayed_count=replayed)

    @rpc
    async def GetStock(self, request: pb.GetStockRequest, context: grpc.aio.ServicerContext) -> pb.GetStockResponse:
        self._for_merchant(context, request.merchant_id)
        levels = await self._m.stock.levels(request.merchant_id, list(request.variant_ids))
        ledger = []
        if request.include_ledger:
            if len(request.variant_ids) > MAX_LEDGER_VARIANTS:
                raise InvalidArgument.field(
                    "variant_ids",
                    f"at most {MAX_LEDGER_VARIANTS} variants with include_ledger, got {len(request.variant_ids)}",
                )
            for v in request.variant_ids:
                ledger += [event_to_pb(e) for e in await self._m.stock.ledger(request.merchant_id, v)]
        return pb.GetStockResponse(levels=[level_to_pb(s) for s in levels], ledger=ledger)

    @rpc
    async def ReserveStock(
        self, request: pb.ReserveStockRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReserveStockResponse:
        self._for_merchant(context, request.merchant_id)
        lines = [(line.variant_id, line.quantity) for line in request.lines[:101]]
        if len(request.lines) > len(lines):
            raise InvalidArgument.field("lines", f"at most 100 entries, got {len(request.lines)}")
        reservation = await self._m.stock.reserve(
            request.merchant_id, request.reservation_id, lines, request.ttl_s or DEFAULT_RESERVATION_TTL_S
        )
        return pb.ReserveStockResponse(reservation=reservation_to_pb(request.merchant_id, reservation))

    @rpc
    async def CommitReservation(
        self, request: pb.CommitReservationRequest, context: grpc.aio.ServicerContext
    ) -> pb.CommitReservationResponse:
        self._for_merchant(context, request.merchant_id)
        reservation = await self._m.stock.commit(request.merchant_id, request.reservation_id)
        return pb.CommitReservationResponse(reservation=reservation_to_pb(request.merchant_id, reservation))

    @rpc
    async def ReleaseReservation(
        self, request: pb.ReleaseReservationRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReleaseReservationResponse:
        self._for_merchant(context, request.merchant_id)
        reservation = await self._m.stock.release(request.merchant_id, request.reservation_id)
        return pb.ReleaseReservationResponse(reservation=reservation_to_pb(request.merchant_id, reservation))

    @rpc
    async def SuggestPromotions(
        self, request: pb.SuggestPromotionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestPromotionsResponse:
        self._for_merchant(context, request.merchant_id)
        made = await self._m.suggest_promotions(request.merchant_id, request.within_days)
        return pb.SuggestPromotionsResponse(suggestions=[suggestion_to_pb(request.merchant_id, s) for s in made])

    @rpc
    async def ListPromotionSuggestions(
        self, request: pb.ListPromotionSuggestionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPromotionSuggestionsResponse:
        self._for_merchant(context, request.merchant_id)
        await self._m.directory.known(request.merchant_id)
        kept = await self._m.stock.promotions(request.merchant_id)
        return pb.ListPromotionSuggestionsResponse(suggestions=[suggestion_to_pb(request.merchant_id, s) for s in kept])

    @rpc
    async def CreatePromotionCampaign(
        self, request: pb.CreatePromotionCampaignRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreatePromotionCampaignResponse:
        # The merchant's own decision to fund a markdown: its token only, not a service's or ops'.
        caller = self._caller(context)
        caller.require(Role.MERCHANT)
        if request.merchant_id != caller.subject_id:
            raise PermissionDenied(f"merchant {caller.subject_id} may not act for merchant {request.merchant_id}")
        suggestion, campaign, created = await self._m.promote(request.merchant_id, request.suggestion_id)
        return pb.CreatePromotionCampaignResponse(
            suggestion=suggestion_to_pb(request.merchant_id, suggestion),
            campaign=campaign_to_pb(campaign),
            created=created,
        )


def _batch_items(items_pb: Sequence[pb.CatalogItem]) -> list[CatalogItem]:
    """A POS batch's items (a merchant's or a head office's): at most 1,000, each checked with its index."""
    items = [item_from_pb(it, f"items[{i}]") for i, it in enumerate(items_pb[: 1 + 1_000])]
    if len(items_pb) > len(items):
        raise InvalidArgument.field("items", f"at most 1000 entries, got {len(items_pb)}")
    return items
