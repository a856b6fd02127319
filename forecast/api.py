"""ForecastService: authenticate, check, read the zone's forecast or guidance or the merchant's restock
hints, convert back.

A service of its own rather than more of DispatchService: the forecast is read by ops, by pricing (an
order service) and, through restock hints, by merchants, none of whom is dispatching; and dispatch's API
stays what rider apps and order services need.
"""

from __future__ import annotations

import json

import grpc
import redis.asyncio as aioredis

from core.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from core.geo import LatLng
from dispatch import Dispatcher
from dispatch.keys import ZoneKeys
from forecast.restock import RestockSuggestion, restock_suggestions, suggest_restock
from forecast.slots import slots_from
from forecast.store import DemandForecast, UnitForecast
from merchants import Merchants
from serving.auth import Authenticator, Principal, Role
from serving.status import rpc
from serving.timestamps import ms_to_ts, opt_checked_ts_to_ms
from tongcheng.forecast.v1 import forecast_pb2 as pb
from tongcheng.forecast.v1 import forecast_pb2_grpc

MAX_SLOTS = 96
DEFAULT_SLOTS = 4
# A forecast is asked for within this long of now (days): past it, the weekly profile says nothing new.
MAX_OFFSET_DAYS = 7


def suggestion_to_pb(merchant_id: str, s: RestockSuggestion) -> pb.RestockSuggestion:
    return pb.RestockSuggestion(
        merchant_id=merchant_id, category=s.category, horizon_hours=s.horizon_h, expected_orders=s.expected_orders,
        units_per_order=s.units_per_order, forecast_units=s.forecast_units, on_hand=s.on_hand, cover_hours=s.cover_h,
        suggested_units=s.suggested_units, created_at=ms_to_ts(s.created_ms),
    )  # fmt: skip


class ForecastServicer(forecast_pb2_grpc.ForecastServiceServicer):
    def __init__(
        self, client: aioredis.Redis, dispatcher: Dispatcher, merchants: Merchants, auth: Authenticator
    ) -> None:
        self._redis = client
        self._d = dispatcher
        self._m = merchants
        self._auth = auth

    def _caller(self, context: grpc.aio.ServicerContext) -> Principal:
        return self._auth.authenticate(context.invocation_metadata())  # type: ignore[arg-type]

    def _zone_id(self, zone_id: str) -> str:
        ids = self._d.zoning.ids
        if not zone_id:
            if len(ids) != 1:
                raise InvalidArgument.field("zone_id", f"required in a city of {len(ids)} zones")
            return ids[0]
        if zone_id not in ids:
            raise NotFound(f"no zone {zone_id!r} in this city")
        return zone_id

    def _forecast(self, zone_id: str) -> DemandForecast:
        """The zone's forecast as its dispatcher keeps it (read straight from Redis: this process need not
        serve the zone)."""
        fc = self._d.forecast_of(zone_id)
        if fc is None:
            raise FailedPrecondition("the demand forecast is off in this city (--dispatch-setting forecast=on)")
        return fc

    @rpc
    async def GetDemandForecast(
        self, request: pb.GetDemandForecastRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetDemandForecastResponse:
        self._caller(context).require(Role.OPS, Role.ORDER_SERVICE)
        now_ms = self._d.clock.now_ms()
        start_ms = opt_checked_ts_to_ms(request, "start_time")
        slots = request.slots or DEFAULT_SLOTS
        bad = []
        if start_ms is not None and abs(start_ms - now_ms) > MAX_OFFSET_DAYS * 86_400_000:
            bad.append(FieldViolation("start_time", f"must be within {MAX_OFFSET_DAYS} days of now"))
        if not 1 <= slots <= MAX_SLOTS:
            bad.append(FieldViolation("slots", f"must be within 1..{MAX_SLOTS} (15-minute slots)"))
        if bad:
            raise InvalidArgument(bad)
        # One zone, or every zone of the city (a coarse cell across a zone border sums both sides).
        zone_ids = [self._zone_id(request.zone_id)] if request.zone_id or len(self._d.zoning) == 1 else []
        fcs = [self._forecast(z) for z in zone_ids or self._d.zoning.ids]
        own = fcs[0].config.resolution
        resolution = request.resolution or own
        if not 1 <= resolution <= own:
            raise InvalidArgument.field("resolution", f"must be within 1..{own} (the forecast's cells or coarser)")
        at_ms = now_ms if start_ms is None else start_ms
        merged: dict[str, UnitForecast] = {}
        for fc in fcs:
            for c in await fc.cells(at_ms, slots, resolution):
                had = merged.get(c.unit)
                if had is not None:
                    summed = tuple(a + b for a, b in zip(had.expected, c.expected, strict=True))
                    c = UnitForecast(c.unit, summed, had.place if had.total >= c.total else c.place)
                merged[c.unit] = c
        starts = [s.start_ms for s in slots_from(at_ms, fcs[0].tz, slots)]
        return pb.GetDemandForecastResponse(
            zone_id=zone_ids[0] if zone_ids else "", resolution=resolution,
            slot_starts=[ms_to_ts(ms) for ms in starts],
            cells=[
                pb.CellForecast(
                    cell=c.unit, expected_orders=[round(x, 4) for x in c.expected],
                    place=pb.LatLng(lat=c.place.lat, lng=c.place.lng) if c.place else None,
                )
                for _, c in sorted(merged.items())
            ],
        )  # fmt: skip

    @rpc
    async def GetGuidanceDecision(
        self, request: pb.GetGuidanceDecisionRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetGuidanceDecisionResponse:
        self._caller(context).require(Role.OPS)
        zone_id = self._zone_id(request.zone_id)
        raw = await self._redis.get(ZoneKeys(zone_id).guidance_last)
        decision = json.loads(raw) if raw else None
        if decision is None:
            return pb.GetGuidanceDecisionResponse(zone_id=zone_id, found=False)
        return pb.GetGuidanceDecisionResponse(
            zone_id=zone_id, found=True, decided_at=ms_to_ts(decision["at_ms"]), mode=decision["mode"],
            targets=[pb.GuidanceTarget(cell=c, place=pb.LatLng(lat=lat, lng=lng), weight=w)
                     for c, lat, lng, w in decision["targets"]],
            sent=[pb.GuidedRider(rider_id=r, wait_at=pb.LatLng(lat=lat, lng=lng), distance_m=m)
                  for r, lat, lng, m in decision["sent"]],
        )  # fmt: skip

    def _for_merchant(self, context: grpc.aio.ServicerContext, merchant_id: str) -> None:
        """Ops act for any merchant, a merchant only for itself."""
        caller = self._caller(context)
        caller.require(Role.MERCHANT, Role.OPS)
        if caller.role is Role.MERCHANT and merchant_id != caller.subject_id:
            raise PermissionDenied(f"merchant {caller.subject_id} may not act for merchant {merchant_id}")

    async def _forecast_at(self, lat: float, lng: float) -> DemandForecast | None:
        try:
            return self._forecast(self._d.zoning.zone_of(LatLng(lat, lng)))
        except FailedPrecondition:
            return None

    @rpc
    async def SuggestRestock(
        self, request: pb.SuggestRestockRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuggestRestockResponse:
        self._for_merchant(context, request.merchant_id)
        made = await suggest_restock(
            self._redis, self._m, self._forecast_at, request.merchant_id, self._d.clock.now_ms(),
            request.horizon_hours or 4,
        )  # fmt: skip
        return pb.SuggestRestockResponse(suggestions=[suggestion_to_pb(request.merchant_id, s) for s in made])

    @rpc
    async def ListRestockSuggestions(
        self, request: pb.ListRestockSuggestionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRestockSuggestionsResponse:
        self._for_merchant(context, request.merchant_id)
        kept = await restock_suggestions(self._redis, self._m, request.merchant_id)
        return pb.ListRestockSuggestionsResponse(suggestions=[suggestion_to_pb(request.merchant_id, s) for s in kept])


__all__ = ["ForecastServicer"]
