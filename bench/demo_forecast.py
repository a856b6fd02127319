"""The demand forecast in `make demo` (issue 21): the cells expecting the most orders in the next hour, what
idle-rider guidance last did, and a convenience store told to stock up on instant noodles."""

from __future__ import annotations

import time

import grpc

from core.geo import LatLng
from dispatch.zones import DEFAULT_ZONE_RESOLUTION, ZoneSpec, make_zoning
from routing_data.cities import load_area
from serving.auth import Role, TokenIssuer
from serving.timestamps import ms_to_ts
from tongcheng.dispatch.v1 import dispatch_pb2 as dpb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc
from tongcheng.forecast.v1 import forecast_pb2 as pb
from tongcheng.forecast.v1 import forecast_pb2_grpc
from tongcheng.merchants.v1 import merchants_pb2 as mpb
from tongcheng.merchants.v1 import merchants_pb2_grpc

STORE = (60.1685, 24.9320)  # a late-night convenience store west of Kamppi
CUSTOMER = (60.1640, 24.9300)
SLOT_MS = 900_000


def _md(issuer: TokenIssuer, role: Role, subject: str = "") -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {issuer.mint(role, subject)}"),)


async def run_forecast_demo(channel: grpc.aio.Channel, issuer: TokenIssuer) -> list[str]:
    """Drives the scenario through the API; returns the lines to print."""
    forecast = forecast_pb2_grpc.ForecastServiceStub(channel)
    merchants = merchants_pb2_grpc.MerchantServiceStub(channel)
    dispatch = dispatch_pb2_grpc.DispatchServiceStub(channel)
    ops, svc = _md(issuer, Role.OPS), _md(issuer, Role.ORDER_SERVICE)
    store = _md(issuer, Role.MERCHANT, "night-store")
    now_ms = time.time_ns() // 1_000_000
    out: list[str] = []

    # A convenience store: 12 cups of noodles, 3 orders sold 5 of them; 10 orders come in now.
    m = mpb.Merchant(merchant_id="night-store", name="Night Store 便利店", category=mpb.MERCHANT_CATEGORY_CONVENIENCE,
                     location=mpb.LatLng(lat=STORE[0], lng=STORE[1]), time_zone="Europe/Helsinki")  # fmt: skip
    await merchants.UpsertMerchant(mpb.UpsertMerchantRequest(merchant=m), metadata=ops)
    items = [
        mpb.CatalogItem(item_id="noodles", name="方便面 instant noodles", category="instant_food",
                        variants=[mpb.Variant(variant_id="noodles-cup", name="cup", price_fen=650)]),
        mpb.CatalogItem(item_id="water", name="water", category="drinks",
                        variants=[mpb.Variant(variant_id="water-500ml", name="500 ml", price_fen=300)]),
    ]  # fmt: skip
    await merchants.SyncCatalog(mpb.SyncCatalogRequest(merchant_id="night-store", idempotency_key="pos-1",
                                                       items=items), metadata=store)  # fmt: skip
    counted = ms_to_ts(now_ms - 3_600_000)
    await merchants.RecordStockEvents(mpb.RecordStockEventsRequest(merchant_id="night-store", events=[
        mpb.StockEvent(event_id="count-noodles", variant_id="noodles-cup", kind=mpb.STOCK_EVENT_KIND_PHYSICAL_COUNT,
                       quantity=12, occurred_at=counted),
        mpb.StockEvent(event_id="count-water", variant_id="water-500ml", kind=mpb.STOCK_EVENT_KIND_PHYSICAL_COUNT,
                       quantity=80, occurred_at=counted),
    ]), metadata=store)  # fmt: skip
    for rid, lines in (("sale-1", [("noodles-cup", 2), ("water-500ml", 1)]), ("sale-2", [("noodles-cup", 2)]),
                       ("sale-3", [("noodles-cup", 1), ("water-500ml", 2)])):  # fmt: skip
        await merchants.ReserveStock(mpb.ReserveStockRequest(merchant_id="night-store", reservation_id=rid, lines=[
            mpb.StockLine(variant_id=v, quantity=q) for v, q in lines]), metadata=svc)  # fmt: skip
        await merchants.CommitReservation(mpb.CommitReservationRequest(merchant_id="night-store", reservation_id=rid),
                                          metadata=svc)  # fmt: skip
    orders = [
        dpb.Order(order_id=f"night-{k}", merchant_id="night-store", pickup=dpb.LatLng(lat=STORE[0], lng=STORE[1]),
                  dropoff=dpb.LatLng(lat=CUSTOMER[0], lng=CUSTOMER[1]), placed_at=ms_to_ts(now_ms), item_count=2)
        for k in range(10)
    ]  # fmt: skip
    await dispatch.AssignRiders(dpb.AssignRidersRequest(orders=orders, no_wait=True), metadata=svc)
    # The forecast of the next hour from the next slot (the current slot's orders count once it is complete):
    # with no week of history yet, each cell's rate over the last hour, which holds the demo's orders.
    start = ms_to_ts(now_ms + SLOT_MS)
    got = await forecast.GetDemandForecast(pb.GetDemandForecastRequest(start_time=start, slots=4), metadata=ops)
    busiest = sorted(got.cells, key=lambda c: -sum(c.expected_orders))[:3]
    out.append(f"forecast, {('zone ' + got.zone_id) if got.zone_id else 'every zone'}, next hour in 15-minute slots, H3 res {got.resolution} "
               f"({len(got.cells)} cells with orders on record); the busiest:")  # fmt: skip
    for c in busiest:
        slots = " ".join(f"{x:.2f}" for x in c.expected_orders)
        out.append(f"  {c.cell}  [{slots}] orders  (counter at {c.place.lat:.4f},{c.place.lng:.4f})")
    # Guidance decides per zone: in a city of several, the store's, as the server cuts it (its default zones).
    try:
        decision = await forecast.GetGuidanceDecision(pb.GetGuidanceDecisionRequest(), metadata=ops)
    except grpc.aio.AioRpcError as err:
        if err.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        zoning = make_zoning(load_area("helsinki"), ZoneSpec.parse(str(DEFAULT_ZONE_RESOLUTION)))
        request = pb.GetGuidanceDecisionRequest(zone_id=zoning.zone_of(LatLng(*STORE)))
        decision = await forecast.GetGuidanceDecision(request, metadata=ops)
    if decision.found:
        out.append(f"guidance's last step ({decision.mode}): {len(decision.targets)} cells targeted, "
                   f"{len(decision.sent)} idle riders sent")  # fmt: skip

    made = await forecast.SuggestRestock(pb.SuggestRestockRequest(merchant_id="night-store", horizon_hours=4),
                                         metadata=store)  # fmt: skip
    out.append("night store: 12 noodle cups and 80 waters counted, 3 orders sold 5 cups and 3 waters; 10 orders now")
    for s in made.suggestions:
        out.append(f"restock hint: {s.category}: {s.expected_orders:.1f} orders expected in {s.horizon_hours} h x "
                   f"{s.units_per_order:.2f} per order = {s.forecast_units:.1f} units, {s.on_hand} on hand "
                   f"({s.cover_hours:.2f} h of cover): add {s.suggested_units}")  # fmt: skip
    if not made.suggestions:
        out.append("restock hints: none (every category covered)")
    return out
