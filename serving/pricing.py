"""Wiring of PricingService (issue 21) — delivery areas and quotes — kept out of `serving.app`.

The engine is built wherever `orders` or `pricing` runs: the order center checks drop-offs against areas
and honours quotes through it (`commerce.orders.terms.DeliveryTerms`), with or without the servicer here.
Surge is refreshed only by a process that ticks dispatch (it reads dispatch's free riders and pool).
"""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import redis.asyncio as aioredis

from core.clock import Clock
from pricing import CityEdge, DispatchSupplyDemand, Pricing, QuoteSigner
from pricing.api import PricingServicer
from serving.auth import Authenticator, ensure_quote_key
from tongcheng.pricing.v1 import pricing_pb2, pricing_pb2_grpc

PRICING_SERVICE = pricing_pb2.DESCRIPTOR.services_by_name["PricingService"].full_name


class ZonesForecast:
    """Pricing's expected demand (`pricing.surge.DemandForecast`) from the zones' demand forecasts (`forecast/`,
    kept in Redis by the ticking process): expected orders per cell of a resolution over every zone; none
    when the forecast is off."""

    def __init__(self, dispatcher: object) -> None:
        self.dispatcher = dispatcher

    async def expected_orders(self, resolution: int, start_ms: int) -> dict[str, float]:
        out: dict[str, float] = {}
        d = self.dispatcher
        for zone_id in d.zoning.ids:  # type: ignore[attr-defined]
            fc = d.forecast_of(zone_id)  # type: ignore[attr-defined]
            if fc is None:
                return {}
            for f in await fc.cells(start_ms, 1, resolution):
                out[f.unit] = out.get(f.unit, 0.0) + f.total
        return out


def add_pricing(
    services: tuple[str, ...],
    client: aioredis.Redis,
    clock: Clock,
    auth: Authenticator,
    server: grpc.aio.Server | None,
    key_dir: Path,
    city: object | None,
    oracle: object | None,
    zoning: object | None,
    dispatcher: object | None,
) -> tuple[Pricing | None, list[str]]:
    """The pricing engine when `orders` or `pricing` runs, and its servicer on `server` when `pricing` is
    named; returns it with the names of the services added."""
    if "pricing" not in services and "orders" not in services:
        return None, []
    edge = None
    if city is not None and oracle is not None:
        g = oracle.graph  # type: ignore[attr-defined]
        edge = CityEdge(city, np.asarray(g.node_lat), np.asarray(g.node_lng))  # type: ignore[arg-type]
    pricing = Pricing(
        client, clock, QuoteSigner(ensure_quote_key(key_dir)),
        zoning=zoning, oracle=oracle, edge=edge,
        supply_demand=DispatchSupplyDemand(dispatcher) if dispatcher is not None else None,
        forecast=ZonesForecast(dispatcher) if dispatcher is not None else None,
    )  # fmt: skip
    if server is None or "pricing" not in services:
        return pricing, []
    pricing_pb2_grpc.add_PricingServiceServicer_to_server(PricingServicer(pricing, auth), server)
    return pricing, [PRICING_SERVICE]
