"""Surge from live supply and demand (issue 21 §2) and areas shrinking while riders are saturated (§1):
the hysteresis on its own, then through the API with dispatch's riders and pool."""

from __future__ import annotations

import time

import h3

from core.geo import LatLng
from forecast import PlacedOrder
from pricing.areas import depths, radius_cells
from pricing.models import PricingRules
from pricing.surge import FORECAST_WEIGHT, cell_ratios, next_factor, next_shrink, target_factor
from serving.app import App
from serving.pricing import ZonesForecast
from serving.timestamps import ms_to_ts
from tests.pricing.helpers import KAMPPI, NEAR, Priced, helsinki_merchant, order, quote, set_radius
from tongcheng.dispatch.v1 import dispatch_pb2 as dpb
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.pricing.v1 import pricing_pb2 as pb
from tongcheng.settlement.v1 import settlement_pb2 as spb


def test_the_factor_rises_at_once_falls_only_past_the_band_and_stays_capped() -> None:
    """Steps of 0.1 from the smoothed ratio; up at once, held while the target is one step below, down when
    two steps below or the ratio is under the threshold; never over the cap."""
    rules = PricingRules(surge_cap=1.5, surge_threshold=1.0, surge_slope=0.5)
    assert target_factor(0.5, rules) == 1.0 and target_factor(1.8, rules) == 1.4 and target_factor(9, rules) == 1.5
    assert next_factor(1.0, 1.8, rules) == 1.4  # rises at once
    assert next_factor(1.4, 1.65, rules) == 1.4  # target 1.3: one step below, held
    assert next_factor(1.4, 1.45, rules) == 1.2  # target 1.2: two steps below, falls
    assert next_factor(1.2, 0.9, rules) == 1.0  # under the threshold: over
    flaps = [next_factor(1.3, s, rules) for s in (1.55, 1.65, 1.5, 1.62)]
    assert flaps == [1.3, 1.3, 1.3, 1.3]  # a ratio wavering around a step does not move the fee


def test_areas_shrink_one_ring_at_a_time_and_grow_back_with_hysteresis() -> None:
    rules = PricingRules(shrink_at=2.0, grow_at=1.0, max_shrink_rings=2)
    assert [next_shrink(0, 5, 2.5, rules), next_shrink(1, 5, 2.5, rules), next_shrink(2, 5, 2.5, rules)] == [1, 2, 2]
    assert next_shrink(2, 5, 1.5, rules) == 2 and next_shrink(2, 5, 0.5, rules) == 1
    assert next_shrink(0, 0, 9.0, rules) == 0  # a one-cell area never vanishes


async def test_surge_rises_when_riders_are_scarce_and_the_area_shrinks(pricing_app: App, priced) -> None:  # type: ignore[no-untyped-def]
    """Eight orders waiting at the merchant and no free rider: the quote gains a busy-area line, riders get
    their share of it (the rule's 50%), and the merchant's area drops its outer ring: a door there no longer
    lists it among the merchants delivering."""
    p: Priced = priced()
    await helsinki_merchant(p, "m1")
    rules = (await p.pricing.GetPricingRules(pb.GetPricingRulesRequest(), metadata=p.md)).rules
    rules.rider_surge_share_bp = 5_000
    del rules.hour_bands[:]
    await p.pricing.SetPricingRules(pb.SetPricingRulesRequest(rules=rules), metadata=p.md)
    area = await set_radius(p, "m1", 1_000)
    edge = next(c for c, d in sorted(depths(radius_cells(LatLng(*KAMPPI), 1_000)).items()) if d == 0)
    edge_door = pb.FindMerchantsDeliveringRequest(location=pb.LatLng(lat=h3.cell_to_latlng(edge)[0],
                                                                     lng=h3.cell_to_latlng(edge)[1]))  # fmt: skip
    assert list((await p.pricing.FindMerchantsDelivering(edge_door, metadata=p.md)).merchant_ids) == ["m1"]
    calm = await quote(p)
    assert calm.surge_factor == 1.0 and not any(x.label.startswith("busy") for x in calm.lines)
    now = ms_to_ts(time.time_ns() // 1_000_000)
    orders = [
        dpb.Order(order_id=f"d{i}", merchant_id="m1", pickup=dpb.LatLng(lat=KAMPPI[0], lng=KAMPPI[1]),
                  dropoff=dpb.LatLng(lat=NEAR[0], lng=NEAR[1]), placed_at=now, item_count=1)
        for i in range(8)
    ]  # fmt: skip
    await p.dispatch.AssignRiders(dpb.AssignRidersRequest(orders=orders, no_wait=True), metadata=p.md)
    refreshed = await p.pricing.RefreshSurge(pb.RefreshSurgeRequest(), metadata=p.md)
    busy = [c for c in refreshed.cells if c.open_orders]
    assert len(busy) == 1 and busy[0].open_orders == 8 and busy[0].free_riders == 0 and busy[0].factor > 1.0
    assert refreshed.areas_shrunk == 1
    surged = await quote(p)
    line = next(x for x in surged.lines if x.label.startswith("busy area"))
    assert surged.surge_factor == busy[0].factor and line.amount_fen == surged.surge_fen > 0
    assert surged.rider_surge_fen == surged.surge_fen // 2
    assert surged.fee_fen == sum(x.amount_fen for x in surged.lines) > calm.fee_fen
    shrunk = (await p.pricing.GetDeliveryArea(pb.GetDeliveryAreaRequest(merchant_id="m1"), metadata=p.md)).area
    assert shrunk.shrunk_rings == 1 and shrunk.active_cell_count < area.cell_count
    assert list((await p.pricing.FindMerchantsDelivering(edge_door, metadata=p.md)).merchant_ids) == []
    for o in orders:  # the rush is over
        await p.dispatch.CancelOrder(dpb.CancelOrderRequest(order_id=o.order_id, reason="over"), metadata=p.md)
    factors, rings = [], []
    for _ in range(6):  # the smoothed ratio halves each refresh: the factor steps down, the ring comes back
        cells = (await p.pricing.RefreshSurge(pb.RefreshSurgeRequest(), metadata=p.md)).cells
        factors.append(max((c.factor for c in cells), default=1.0))
        got = await p.pricing.GetDeliveryArea(pb.GetDeliveryAreaRequest(merchant_id="m1"), metadata=p.md)
        rings.append(got.area.shrunk_rings)
    assert factors == sorted(factors, reverse=True) and factors[-1] == 1.0
    assert rings[0] >= 1 and rings[-1] == 0  # smoothing keeps it saturated one more refresh
    assert (await quote(p)).fee_fen == calm.fee_fen


async def test_riders_get_their_share_of_a_quoted_surge_in_the_split(pricing_app: App, priced) -> None:  # type: ignore[no-untyped-def]
    """A surged quote's riders' share moves from the merchant's leg to the rider fleet's, and the legs
    still sum to what was paid."""
    p: Priced = priced()
    await helsinki_merchant(p, "m1")
    rules = (await p.pricing.GetPricingRules(pb.GetPricingRulesRequest(), metadata=p.md)).rules
    rules.rider_surge_share_bp = 5_000
    await p.pricing.SetPricingRules(pb.SetPricingRulesRequest(rules=rules), metadata=p.md)
    rule = spb.SplitRule(merchant_id="m1", platform_commission=spb.Share(basis_points=500),
                         rider_delivery_fee=spb.Share(basis_points=800))  # fmt: skip
    await p.settlement.SetSplitRule(spb.SetSplitRuleRequest(rule=rule), metadata=p.md)
    now = ms_to_ts(time.time_ns() // 1_000_000)
    rush = [dpb.Order(order_id=f"d{i}", merchant_id="m1", pickup=dpb.LatLng(lat=KAMPPI[0], lng=KAMPPI[1]),
                      dropoff=dpb.LatLng(lat=NEAR[0], lng=NEAR[1]), placed_at=now, item_count=1) for i in range(8)]  # fmt: skip
    await p.dispatch.AssignRiders(dpb.AssignRidersRequest(orders=rush, no_wait=True), metadata=p.md)
    await p.pricing.RefreshSurge(pb.RefreshSurgeRequest(), metadata=p.md)
    surged = await quote(p)
    assert surged.rider_surge_fen == surged.surge_fen // 2 > 0
    legs = {}
    for order_id, token, fee in (("plain", "", surged.fee_fen), ("surged", surged.token, 0)):
        request = order(order_id, delivery_quote=token, delivery_fee_fen=fee)
        created = (await p.orders.CreateOrder(request, metadata=p.md)).order
        assert created.delivery_fee_fen == surged.fee_fen
        await p.orders.PayOrder(
            opb.PayOrderRequest(order_id=order_id, payment_id=f"p-{order_id}", amount_fen=created.total_fen),
            metadata=p.md,
        )
        split = await p.settlement.GetSplit(spb.GetSplitRequest(order_id=order_id), metadata=p.md)
        legs[order_id] = {x.receiver: x.amount_fen for x in split.split.legs}
        assert sum(legs[order_id].values()) == created.total_fen
    # Same amounts paid: the surged order's riders get exactly the quote's share more, the merchant that much less.
    assert legs["surged"]["rider:fleet"] - legs["plain"]["rider:fleet"] == surged.rider_surge_fen
    assert legs["plain"]["merchant:m1"] - legs["surged"]["merchant:m1"] == surged.rider_surge_fen


def test_a_forecast_adds_half_its_expected_orders_to_the_demand() -> None:
    """With no order waiting, 8 orders expected in the next 15 minutes at the merchant's cell count as 4
    (FORECAST_WEIGHT), so the ratio there is 4 / (free riders + 1); without a forecast it is 0."""
    at = LatLng(*KAMPPI)
    cell = h3.latlng_to_cell(at.lat, at.lng, 8)
    riders = [at]  # one free rider there
    assert cell_ratios(riders, [])[cell][2] == 0.0
    assert cell_ratios(riders, [], {cell: 8.0})[cell][2] == 8.0 * FORECAST_WEIGHT / 2
    neighbour = next(iter(h3.grid_ring(cell, 1)))
    assert cell_ratios([], [], {neighbour: 2.0})[cell][2] == 2.0 * FORECAST_WEIGHT  # a neighbour's count too


async def test_surge_reads_the_zones_demand_forecast(pricing_app: App, priced) -> None:  # type: ignore[no-untyped-def]
    """Orders the forecast learnt (the last hour's rate, before a week of history) raise the merchant's surge
    with no order waiting and no rider: pricing reads expected demand through every zone's forecast."""
    p: Priced = priced()
    await helsinki_merchant(p, "m1")
    rules = (await p.pricing.GetPricingRules(pb.GetPricingRulesRequest(), metadata=p.md)).rules
    del rules.hour_bands[:]
    await p.pricing.SetPricingRules(pb.SetPricingRulesRequest(rules=rules), metadata=p.md)
    await set_radius(p, "m1", 1_000)
    await p.pricing.RefreshSurge(pb.RefreshSurgeRequest(), metadata=p.md)
    assert (await quote(p)).surge_factor == 1.0
    d = pricing_app.dispatcher
    assert d is not None
    now = pricing_app.clock.now_ms()
    [zone] = d.zoning.ids
    fc = d.forecast_of(zone)
    assert fc is not None
    counter = LatLng(*KAMPPI)
    await fc.record([PlacedOrder(f"h{i}", "m1", counter, now - 20_000 * i) for i in range(150)], now)
    expected = await ZonesForecast(d).expected_orders(8, now)
    assert expected[h3.latlng_to_cell(counter.lat, counter.lng, 8)] > 10
    await p.pricing.RefreshSurge(pb.RefreshSurgeRequest(), metadata=p.md)
    assert (await quote(p)).surge_factor > 1.0
