"""Delivery fees in an in-process city replay (issue 21): each order's delivery quoted through the real
pricing engine when it is placed, on the replay's Redis and clock, with surge refreshed from dispatch's live
supply and demand every `REFRESH_S` as the server does.

The engine is the server's (`serving.pricing.add_pricing`: the same surge source over dispatch's zones and
the same demand forecast). The replay's merchants are written to the merchant directory (their own keys) and,
when the scenario has areas, their radius areas to pricing's keys; quoting only reads, and a surge refresh
writes only pricing's keys (surge and rings dropped), which dispatch never reads, so dispatch's decisions are
those of a replay without fees. Chain overflow in the replay checks its areas by radius, not through these.
"""

from __future__ import annotations

import math
import random
import tempfile
from dataclasses import replace
from pathlib import Path

import redis.asyncio as aioredis

from bench.replay.simulator import CityWorld, OrderLog
from core.clock import Clock
from core.errors import TongchengError
from dispatch.dispatcher import Dispatcher
from merchants import Merchant
from pricing import AreaSpec, Pricing, PricingRules
from routing_data.cities import service_area
from serving.pricing import add_pricing

# The server's surge refresh period (`--pricing-refresh-s`).
REFRESH_S = 10.0
# A replay order's basket: each item lognormal around 15 yuan (sigma 0.5), so a one-item order is often under
# the default 20-yuan small-order threshold and a four-item one seldom is (Meituan's takeaway orders average
# 40-50 yuan). Drawn from a stream of its own per order: the replay's other draws are untouched.
ITEM_MEDIAN_FEN = 1_500
ITEM_SIGMA = 0.5


def basket_fen(world: CityWorld, o: OrderLog) -> int:
    rng = random.Random(f"{world.scenario.seed}/basket/{o.order_id}")
    return sum(round(ITEM_MEDIAN_FEN * math.exp(rng.gauss(0, ITEM_SIGMA))) for _ in range(o.item_count))


class ReplayFees:
    """Quotes a replay's orders at placement and refreshes surge on the replay's clock."""

    def __init__(self, world: CityWorld, dispatcher: Dispatcher, client: aioredis.Redis, clock: Clock) -> None:
        self.world = world
        self.clock = clock
        self._keys = tempfile.TemporaryDirectory(prefix="replay-quote-key-")
        pricing, _ = add_pricing(
            ("pricing",), client, clock, None, None, Path(self._keys.name),  # type: ignore[arg-type]
            service_area(world.graph), world.oracle, dispatcher.zoning, dispatcher,
        )  # fmt: skip
        assert pricing is not None
        self.pricing: Pricing = pricing
        self.next_refresh_ms = 0

    async def setup(self) -> None:
        """The replay's merchants in the directory (open around the clock), their radius areas when the
        scenario has them, and the riders' share of surge the scenario gives."""
        w = self.world
        zone = str(w.day.tzinfo)
        for m in w.merchants:
            record = Merchant(merchant_id=m.id, name=m.id, category="restaurant", lat=m.position.lat,
                              lng=m.position.lng, time_zone=zone)  # fmt: skip
            await self.pricing.directory.upsert(record)
        if w.scenario.area_radius_m > 0:
            for m in w.merchants:
                await self.pricing.set_area(m.id, AreaSpec("radius", radius_m=w.scenario.area_radius_m))
        if w.scenario.rider_surge_share_bp:
            await self.pricing.set_rules(replace(PricingRules(), rider_surge_share_bp=w.scenario.rider_surge_share_bp))

    async def refresh_due(self) -> None:
        """Recomputes surge (and area shrinking) when REFRESH_S of replay time has passed since the last."""
        now_ms = self.clock.now_ms()
        if now_ms >= self.next_refresh_ms:
            await self.pricing.refresh_surge()
            self.next_refresh_ms = now_ms + round(REFRESH_S * 1000)

    async def quote(self, o: OrderLog) -> None:
        """Quotes the order as its customer would before ordering (from the branch it is placed at), and
        keeps the fee on it; a refusal (the door in a ring dropped while riders are saturated) is kept too."""
        items_fen = basket_fen(self.world, o)
        o.items_fen = items_fen
        try:
            q = await self.pricing.quote(o.merchant, o.dropoff_at, max(1, o.item_count), items_fen, None)
        except TongchengError as err:
            o.quote_refused = str(err)[:120]
            return
        o.fee_fen, o.surge_factor, o.surge_fen, o.rider_surge_fen = (
            q.fee_fen,
            q.surge_factor,
            q.surge_fen,
            q.rider_surge_fen,
        )
        o.small_order_fen = sum(x.amount_fen for x in q.lines if x.label.startswith("small order"))

    def close(self) -> None:
        self._keys.cleanup()
