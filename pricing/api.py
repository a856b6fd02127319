"""PricingService: authenticate, convert, call the engine, convert back. Nothing else lives here."""

from __future__ import annotations

import grpc

from core.errors import InvalidArgument
from core.geo import LatLng
from pricing.engine import Pricing
from pricing.models import (
    DEFAULT_RADIUS_M,
    Area,
    AreaSpec,
    HourBand,
    PricingRules,
    Promotion,
    Quote,
    Weather,
)
from pricing.surge import CellState
from serving.auth import Authenticator, Principal, Role
from serving.status import rpc
from serving.timestamps import ms_to_ts, opt_checked_ts_to_ms
from tongcheng.pricing.v1 import pricing_pb2 as pb
from tongcheng.pricing.v1 import pricing_pb2_grpc

WEATHER_FROM_PB = {
    pb.WEATHER_CLEAR: Weather.CLEAR, pb.WEATHER_RAIN: Weather.RAIN, pb.WEATHER_HEAVY_RAIN: Weather.HEAVY_RAIN,
    pb.WEATHER_SNOW: Weather.SNOW, pb.WEATHER_HEAT: Weather.HEAT,
}  # fmt: skip
WEATHER_TO_PB = {v: k for k, v in WEATHER_FROM_PB.items()}
SERVICES = (Role.ORDER_SERVICE, Role.OPS)
# Anyone signed in may ask where merchants deliver and what a delivery costs (the mini-program as a member).
READERS = (Role.MEMBER, Role.MERCHANT, Role.RIDER, *SERVICES)


def area_to_pb(a: Area) -> pb.DeliveryArea:
    s = a.spec
    return pb.DeliveryArea(
        merchant_id=a.merchant_id, kind=s.kind, radius_m=s.radius_m, isochrone_minutes=s.isochrone_minutes,
        polygon_geojson=s.polygon_geojson, h3_resolution=a.resolution, cell_count=len(a.cells),
        shrunk_rings=a.shrunk_rings, active_cell_count=len(a.active_cells),
    )  # fmt: skip


def quote_to_pb(q: Quote) -> pb.Quote:
    return pb.Quote(
        quote_id=q.quote_id, merchant_id=q.merchant_id, dropoff=pb.LatLng(lat=q.dropoff_lat, lng=q.dropoff_lng),
        fee_fen=q.fee_fen, lines=[pb.QuoteLine(label=x.label, amount_fen=x.amount_fen) for x in q.lines],
        surge_factor=q.surge_factor, surge_fen=q.surge_fen, rider_surge_fen=q.rider_surge_fen,
        road_distance_m=q.road_distance_m, ride_time_s=q.ride_time_s, issued_at=ms_to_ts(q.issued_ms),
        expires_at=ms_to_ts(q.expires_ms), token=q.token,
    )  # fmt: skip


def rules_to_pb(r: PricingRules) -> pb.PricingRules:
    return pb.PricingRules(
        base_fen=r.base_fen, per_km_fen=r.per_km_fen, included_m=r.included_m, free_items=r.free_items,
        extra_item_fen=r.extra_item_fen, surge_cap=r.surge_cap, surge_threshold=r.surge_threshold,
        surge_slope=r.surge_slope, rider_surge_share_bp=r.rider_surge_share_bp, shrink_at=r.shrink_at,
        grow_at=r.grow_at, max_shrink_rings=r.max_shrink_rings,
        hour_bands=[pb.HourBand(start_hour=b.start_hour, end_hour=b.end_hour, fee_fen=b.fee_fen, label=b.label)
                    for b in r.hour_bands],
        weather_fees=[pb.WeatherFee(weather=WEATHER_TO_PB[w], fee_fen=f) for w, f in r.weather_fees],
        quote_ttl_s=r.quote_ttl_s, min_basket_fen=r.min_basket_fen, small_order_below_fen=r.small_order_below_fen,
        small_order_fee_fen=r.small_order_fee_fen,
    )  # fmt: skip


def rules_from_pb(r: pb.PricingRules) -> PricingRules:
    fees = []
    for i, w in enumerate(r.weather_fees[:10]):
        if w.weather not in WEATHER_FROM_PB:
            raise InvalidArgument.field(f"rules.weather_fees[{i}].weather", "must be a known weather")
        fees.append((WEATHER_FROM_PB[w.weather], w.fee_fen))  # type: ignore[index]
    if len(r.weather_fees) > 10:
        raise InvalidArgument.field("rules.weather_fees", "at most 10 entries")
    return PricingRules(
        base_fen=r.base_fen, per_km_fen=r.per_km_fen, included_m=r.included_m, free_items=r.free_items,
        extra_item_fen=r.extra_item_fen, surge_cap=r.surge_cap, surge_threshold=r.surge_threshold,
        surge_slope=r.surge_slope, rider_surge_share_bp=r.rider_surge_share_bp, shrink_at=r.shrink_at,
        grow_at=r.grow_at, max_shrink_rings=r.max_shrink_rings,
        hour_bands=tuple(HourBand(b.start_hour, b.end_hour, b.fee_fen, b.label) for b in r.hour_bands[:25]),
        weather_fees=tuple(fees), quote_ttl_s=r.quote_ttl_s, min_basket_fen=r.min_basket_fen,
        small_order_below_fen=r.small_order_below_fen, small_order_fee_fen=r.small_order_fee_fen,
    )  # fmt: skip


def promotion_to_pb(p: Promotion) -> pb.DeliveryPromotion:
    return pb.DeliveryPromotion(
        promotion_id=p.promotion_id, percent_off=p.percent_off, start_minute=p.start_minute,
        end_minute=p.end_minute, weather=WEATHER_TO_PB[p.weather] if p.weather else pb.WEATHER_UNSPECIFIED,
    )  # fmt: skip


def cell_to_pb(c: CellState) -> pb.CellSurge:
    return pb.CellSurge(cell=c.cell, free_riders=c.free_riders, open_orders=c.open_orders,
                        smoothed_ratio=c.smoothed, factor=c.factor)  # fmt: skip


class PricingServicer(pricing_pb2_grpc.PricingServiceServicer):
    def __init__(self, pricing: Pricing, auth: Authenticator) -> None:
        self._pricing = pricing
        self._auth = auth

    def _caller(self, context: grpc.aio.ServicerContext) -> Principal:
        return self._auth.authenticate(context.invocation_metadata())  # type: ignore[arg-type]

    def _for_merchant(self, context: grpc.aio.ServicerContext, merchant_id: str) -> None:
        self._caller(context).require_merchant(merchant_id)

    @rpc
    async def SetDeliveryArea(
        self, request: pb.SetDeliveryAreaRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetDeliveryAreaResponse:
        self._for_merchant(context, request.merchant_id)
        kind = request.WhichOneof("area")
        if kind == "isochrone":
            spec = AreaSpec("isochrone", isochrone_minutes=request.isochrone.minutes)
        elif kind == "polygon_geojson":
            spec = AreaSpec("polygon", polygon_geojson=request.polygon_geojson)
        elif kind == "radius_m":
            spec = AreaSpec("radius", radius_m=request.radius_m)
        else:
            spec = AreaSpec("radius", radius_m=DEFAULT_RADIUS_M)
        return pb.SetDeliveryAreaResponse(area=area_to_pb(await self._pricing.set_area(request.merchant_id, spec)))

    @rpc
    async def GetDeliveryArea(
        self, request: pb.GetDeliveryAreaRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetDeliveryAreaResponse:
        self._caller(context).require(*READERS)
        return pb.GetDeliveryAreaResponse(area=area_to_pb(await self._pricing.get_area(request.merchant_id)))

    @rpc
    async def FindMerchantsDelivering(
        self, request: pb.FindMerchantsDeliveringRequest, context: grpc.aio.ServicerContext
    ) -> pb.FindMerchantsDeliveringResponse:
        self._caller(context).require(*READERS)
        page = await self._pricing.merchants_delivering(
            LatLng(request.location.lat, request.location.lng), request.page_size, request.page_token,
            request.include_closed,
        )  # fmt: skip
        return pb.FindMerchantsDeliveringResponse(
            merchant_ids=page.merchant_ids, cell=page.cell, next_page_token=page.next_page_token
        )

    @rpc
    async def QuoteDelivery(
        self, request: pb.QuoteDeliveryRequest, context: grpc.aio.ServicerContext
    ) -> pb.QuoteDeliveryResponse:
        self._caller(context).require(*READERS)
        q = await self._pricing.quote(
            request.merchant_id, LatLng(request.dropoff.lat, request.dropoff.lng), request.item_count or 1,
            request.items_fen, opt_checked_ts_to_ms(request, "at"),
        )  # fmt: skip
        return pb.QuoteDeliveryResponse(quote=quote_to_pb(q))

    @rpc
    async def SetConditions(
        self, request: pb.SetConditionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetConditionsResponse:
        self._caller(context).require(Role.OPS)
        c = await self._pricing.set_conditions(
            request.area_id, WEATHER_FROM_PB.get(request.weather), opt_checked_ts_to_ms(request, "valid_until")
        )
        return pb.SetConditionsResponse(area_id=c.area_id, weather=WEATHER_TO_PB[c.weather],
                                        valid_until=ms_to_ts(c.until_ms))  # fmt: skip

    @rpc
    async def SetPricingRules(
        self, request: pb.SetPricingRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetPricingRulesResponse:
        self._caller(context).require(Role.OPS)
        if not request.HasField("rules"):
            raise InvalidArgument.field("rules", "required")
        return pb.SetPricingRulesResponse(
            rules=rules_to_pb(await self._pricing.set_rules(rules_from_pb(request.rules)))
        )

    @rpc
    async def GetPricingRules(
        self, request: pb.GetPricingRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPricingRulesResponse:
        self._caller(context).require(*READERS)
        return pb.GetPricingRulesResponse(
            rules=rules_to_pb(await self._pricing.rules()), condition_areas=list(self._pricing.condition_areas)
        )

    @rpc
    async def SetDeliveryPromotions(
        self, request: pb.SetDeliveryPromotionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetDeliveryPromotionsResponse:
        self._for_merchant(context, request.merchant_id)
        promotions = []
        for i, p in enumerate(request.promotions[:21]):
            if p.weather and p.weather not in WEATHER_FROM_PB:
                raise InvalidArgument.field(f"promotions[{i}].weather", "must be a known weather")
            weather = WEATHER_FROM_PB.get(p.weather)  # type: ignore[call-overload]
            promotions.append(Promotion(p.promotion_id, p.percent_off, p.start_minute, p.end_minute, weather))
        stored = await self._pricing.set_promotions(request.merchant_id, promotions)
        return pb.SetDeliveryPromotionsResponse(promotions=[promotion_to_pb(p) for p in stored])

    @rpc
    async def RefreshSurge(
        self, request: pb.RefreshSurgeRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefreshSurgeResponse:
        self._caller(context).require(Role.OPS)
        cells, shrunk = await self._pricing.refresh_surge()
        return pb.RefreshSurgeResponse(cells=[cell_to_pb(c) for c in cells], areas_shrunk=shrunk)
