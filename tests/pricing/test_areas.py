"""Delivery areas (issue 21 §1): radius, isochrone and polygon areas compiled to H3 cells, the city index
paged by FindMerchantsDelivering (open merchants by default), CreateOrder refusing a drop-off outside the
area, and bad input refused with Redis unchanged."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import grpc
import h3
import pytest
import redis

from core.errors import InvalidArgument
from core.geo import LatLng, haversine_m
from pricing.areas import AREA_RESOLUTION, depths, polygon_cells, radius_cells
from serving.app import App
from tests.conftest import redis_snapshot
from tests.dispatch.api.helpers import bad_request_fields
from tests.merchants.helpers import merchant
from tests.pricing.helpers import FAR, KAMPPI, NEAR, Priced, helsinki_merchant, order, quote, set_radius
from tongcheng.merchants.v1 import merchants_pb2 as mpb
from tongcheng.pricing.v1 import pricing_pb2 as pb


def square(lat: float, lng: float, d: float) -> list[list[float]]:
    return [[lng - d, lat - d], [lng + d, lat - d], [lng + d, lat + d], [lng - d, lat + d], [lng - d, lat - d]]


def test_radius_cells_lie_within_the_radius_and_depths_count_rings_inward() -> None:
    """Every cell's centre is within the radius; edge cells have depth 0 and depth grows by one per ring."""
    at = LatLng(*KAMPPI)
    cells = radius_cells(at, 1_000)
    for c in cells:
        lat, lng = h3.cell_to_latlng(c)
        assert haversine_m(at.lat, at.lng, lat, lng) <= 1_000
    d = depths(cells)
    assert set(d) == cells and min(d.values()) == 0
    origin = h3.latlng_to_cell(at.lat, at.lng, AREA_RESOLUTION)
    assert d[origin] == max(d.values()) >= 2
    for c, depth in d.items():  # a neighbour is at most one ring deeper or shallower
        assert all(abs(d[n] - depth) <= 1 for n in h3.grid_ring(c, 1) if n in d)


def test_polygons_must_be_closed_and_simple() -> None:
    """An open ring and a bow-tie are refused naming the field; a square compiles to its cells."""
    ok = polygon_cells(json.dumps({"type": "Polygon", "coordinates": [square(*KAMPPI, 0.005)]}))
    assert len(ok) > 4
    open_ring = [*square(*KAMPPI, 0.005)[:-1], [KAMPPI[1], KAMPPI[0]]]
    with pytest.raises(InvalidArgument, match="open ring"):
        polygon_cells(json.dumps({"type": "Polygon", "coordinates": [open_ring]}))
    lat, lng = KAMPPI
    bowtie = [[lng, lat], [lng + 0.01, lat + 0.01], [lng + 0.01, lat], [lng, lat + 0.01], [lng, lat]]
    with pytest.raises(InvalidArgument, match="Self-intersection") as err:
        polygon_cells(json.dumps({"type": "Polygon", "coordinates": [bowtie]}))
    assert err.value.violations[0].field == "polygon_geojson"


async def test_radius_area_answers_which_merchants_deliver_and_refuses_orders_outside(
    pricing_app: App, priced, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """A 500-m area covers a place 280 m away and not one 750 m away; CreateOrder to the far one is
    INVALID_ARGUMENT naming dropoff, and a merchant with no area delivers anywhere."""
    p: Priced = priced()
    await helsinki_merchant(p, "m1")
    await helsinki_merchant(p, "m2")
    area = await set_radius(p, "m1", 500)
    assert (area.kind, area.h3_resolution, area.shrunk_rings) == ("radius", 9, 0)
    assert area.cell_count == area.active_cell_count > 5
    near = await p.pricing.FindMerchantsDelivering(
        pb.FindMerchantsDeliveringRequest(location=pb.LatLng(lat=NEAR[0], lng=NEAR[1])), metadata=p.md
    )
    far = await p.pricing.FindMerchantsDelivering(
        pb.FindMerchantsDeliveringRequest(location=pb.LatLng(lat=FAR[0], lng=FAR[1])), metadata=p.md
    )
    assert list(near.merchant_ids) == ["m1"] and list(far.merchant_ids) == []
    await p.orders.CreateOrder(order("in", NEAR), metadata=p.md)
    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await p.orders.CreateOrder(order("out", FAR), metadata=p.md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err.value) == ["dropoff"]
    assert "delivery area" in err.value.details()
    assert redis_snapshot(redis_sync) == before
    await p.orders.CreateOrder(order("anywhere", FAR, merchant_id="m2"), metadata=p.md)  # m2 has no area


async def test_setting_the_same_area_twice_changes_nothing_and_a_new_one_replaces_the_index(
    pricing_app: App, priced, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """Idempotent: the same radius again leaves Redis as it was; a polygon then replaces every index entry."""
    p: Priced = priced()
    await helsinki_merchant(p, "m1")
    await set_radius(p, "m1", 800)
    before = redis_snapshot(redis_sync)
    await set_radius(p, "m1", 800)
    assert redis_snapshot(redis_sync) == before
    geo = json.dumps({"type": "Polygon", "coordinates": [square(*NEAR, 0.004)]})
    reply = await p.pricing.SetDeliveryArea(
        pb.SetDeliveryAreaRequest(merchant_id="m1", polygon_geojson=geo), metadata=p.md
    )
    assert reply.area.kind == "polygon"
    indexed = {k for k in redis_sync.keys("tc:{pricing}:areacell:*") if redis_sync.hexists(k, "m1")}
    assert len(indexed) == reply.area.cell_count < 30


async def test_isochrone_on_the_road_graph_and_one_beyond_the_city_is_refused(
    pricing_app: App, priced, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """A 2-minute e-bike isochrone from the middle of Helsinki's small extract (1.6 km²) is a few cells
    around it; 4 minutes reaches the edge of the extract and is refused naming isochrone.minutes, Redis
    unchanged (a radius or polygon has no such limit)."""
    p: Priced = priced()
    await helsinki_merchant(p, "m1", at=(60.1710, 24.9453))
    reply = await p.pricing.SetDeliveryArea(
        pb.SetDeliveryAreaRequest(merchant_id="m1", isochrone=pb.Isochrone(minutes=2)), metadata=p.md
    )
    assert reply.area.kind == "isochrone" and 4 < reply.area.cell_count < 30
    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await p.pricing.SetDeliveryArea(
            pb.SetDeliveryAreaRequest(merchant_id="m1", isochrone=pb.Isochrone(minutes=4)), metadata=p.md
        )
    assert bad_request_fields(err.value) == ["isochrone.minutes"] and "beyond the city" in err.value.details()
    assert redis_snapshot(redis_sync) == before


@pytest.mark.parametrize(
    ("request_kw", "field"),
    [
        ({"radius_m": -1}, "radius_m"),
        ({"radius_m": 50_001}, "radius_m"),
        ({"polygon_geojson": "{}"}, "polygon_geojson"),
        ({"isochrone": pb.Isochrone(minutes=0)}, "isochrone.minutes"),
        ({"merchant_id": "nobody", "radius_m": 100}, "merchant_id"),
    ],
)
async def test_bad_areas_are_refused_naming_the_field(
    pricing_app: App, priced, redis_sync: redis.Redis, request_kw: dict[str, object], field: str
) -> None:  # type: ignore[no-untyped-def]
    """Radius <= 0 or over 50 km, a polygon that is not one, a 0-minute isochrone, an unknown merchant."""
    p: Priced = priced()
    await helsinki_merchant(p, "m1")
    before = redis_snapshot(redis_sync)
    kw = {"merchant_id": "m1", **request_kw}
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await p.pricing.SetDeliveryArea(pb.SetDeliveryAreaRequest(**kw), metadata=p.md)  # type: ignore[arg-type]
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err.value) == [field]
    assert redis_snapshot(redis_sync) == before


async def find(p: Priced, at: tuple[float, float] = NEAR, **kw: object) -> pb.FindMerchantsDeliveringResponse:
    return await p.pricing.FindMerchantsDelivering(
        pb.FindMerchantsDeliveringRequest(location=pb.LatLng(lat=at[0], lng=at[1]), **kw),  # type: ignore[arg-type]
        metadata=p.md,
    )


async def every_page(p: Priced, **kw: object) -> tuple[list[str], int]:
    """Every merchant listed by following next_page_token, and the number of pages."""
    found, token, pages = [], "", 0
    while True:
        reply = await find(p, page_token=token, **kw)
        assert len(reply.merchant_ids) <= int(kw.get("page_size", 50) or 50)  # type: ignore[call-overload]
        found += reply.merchant_ids
        pages += 1
        token = reply.next_page_token
        if not token:
            return found, pages


async def test_pages_list_open_merchants_by_id_and_closed_ones_only_when_asked(
    pricing_app: App, priced, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """Seven merchants cover the place: pages of 3 list them all once, by id, the last page without a token;
    one closed by status and one whose only hours are another weekday are left out by default and listed
    with include_closed. The lookup writes nothing."""
    p: Priced = priced()
    for i in range(7):
        await helsinki_merchant(p, f"m{i}")
        await set_radius(p, f"m{i}", 500)
    await p.merchants.SetMerchantStatus(
        mpb.SetMerchantStatusRequest(merchant_id="m2", status=mpb.MERCHANT_STATUS_CLOSED), metadata=p.md
    )
    now = dt.datetime.fromtimestamp(pricing_app.clock.now_ms() / 1000, ZoneInfo("Europe/Helsinki"))  # type: ignore[attr-defined]
    other_day = now.isoweekday() % 7 + 1
    m5 = merchant("m5", time_zone="Europe/Helsinki", weekly_hours=[mpb.WeeklyPeriod(day=other_day, start_minute=0,
                                                                                   end_minute=1440)])  # fmt: skip
    m5.location.lat, m5.location.lng = KAMPPI
    m5.version = 1
    await p.merchants.UpsertMerchant(mpb.UpsertMerchantRequest(merchant=m5), metadata=p.md)
    before = redis_snapshot(redis_sync)
    listed, pages = await every_page(p, page_size=3)
    assert listed == ["m0", "m1", "m3", "m4", "m6"] and pages >= 2
    everyone, pages = await every_page(p, page_size=3, include_closed=True)
    assert everyone == [f"m{i}" for i in range(7)] and pages == 3
    first = await find(p, page_size=3, include_closed=True)
    assert list(first.merchant_ids) == ["m0", "m1", "m2"] and first.next_page_token
    assert list((await find(p)).merchant_ids) == listed  # the default page (50) holds them all
    assert not (await find(p)).next_page_token and list((await find(p, at=FAR)).merchant_ids) == []
    assert redis_snapshot(redis_sync) == before


async def test_a_page_stops_where_the_next_starts_when_closed_merchants_fill_the_part_examined(
    pricing_app: App, priced
) -> None:  # type: ignore[no-untyped-def]
    """With page_size 1, a page examines at most 3 merchants: behind three closed ones it holds none but
    gives a token, and following the tokens reaches the open merchant after them."""
    p: Priced = priced()
    for i in range(5):
        await helsinki_merchant(p, f"m{i}")
        await set_radius(p, f"m{i}", 500)
    for i in range(4):
        await p.merchants.SetMerchantStatus(
            mpb.SetMerchantStatusRequest(merchant_id=f"m{i}", status=mpb.MERCHANT_STATUS_PAUSED), metadata=p.md
        )
    first = await find(p, page_size=1)
    assert list(first.merchant_ids) == [] and first.next_page_token
    assert await every_page(p, page_size=1) == (["m4"], 2)


async def test_bad_page_sizes_and_tokens_are_refused_naming_the_field(
    pricing_app: App, priced, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """page_size below 0 or over 500; a token altered, made up, issued for another cell or for the other
    include_closed: INVALID_ARGUMENT naming the field, Redis unchanged."""
    p: Priced = priced()
    for i in range(3):
        await helsinki_merchant(p, f"m{i}")
        await set_radius(p, f"m{i}", 500)
    token = (await find(p, page_size=1)).next_page_token
    head, payload, mac = token.split(".")
    altered = f"{head}.{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{mac}"
    elsewhere = (60.1712, 24.9430)  # ~70 m from KAMPPI: another resolution-9 cell, inside the areas
    assert (await find(p, at=elsewhere)).cell != (await find(p)).cell
    before = redis_snapshot(redis_sync)
    for kw, field in (
        ({"page_size": -1}, "page_size"),
        ({"page_size": 501}, "page_size"),
        ({"page_token": altered}, "page_token"),
        ({"page_token": "p1.e30.AAAA"}, "page_token"),
        ({"page_token": "x" * 600}, "page_token"),
        ({"page_token": token, "include_closed": True}, "page_token"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await find(p, **kw)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err.value) == [field]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await find(p, at=elsewhere, page_token=token)
    assert bad_request_fields(err.value) == ["page_token"] and "another place" in err.value.details()
    assert redis_snapshot(redis_sync) == before
    assert list((await find(p, page_size=500)).merchant_ids) == ["m0", "m1", "m2"]


async def test_a_merchant_closed_leaves_the_listing_within_ten_seconds(pricing_app: App, priced) -> None:  # type: ignore[no-untyped-def]
    """A process reads a listed merchant's status at most every 10 s: closed just now it is still listed
    (QuoteDelivery refuses it already), and gone once 10 s have passed."""
    p: Priced = priced()
    for i in range(2):
        await helsinki_merchant(p, f"m{i}")
        await set_radius(p, f"m{i}", 500)
    assert list((await find(p)).merchant_ids) == ["m0", "m1"]
    await p.merchants.SetMerchantStatus(
        mpb.SetMerchantStatusRequest(merchant_id="m0", status=mpb.MERCHANT_STATUS_CLOSED), metadata=p.md
    )
    assert list((await find(p)).merchant_ids) == ["m0", "m1"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await quote(p, merchant_id="m0")
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    pricing_app.clock.advance(10)  # type: ignore[attr-defined]
    assert list((await find(p)).merchant_ids) == ["m1"]
