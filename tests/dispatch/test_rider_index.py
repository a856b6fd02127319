"""The H3 rider index against a real redis-server."""

from __future__ import annotations

import random

import pytest
import redis

from core.geo import LatLng, haversine_m
from dispatch.models import Availability, PositionFix
from dispatch.rider_index import RiderIndex
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import now_ms

CENTER = LatLng(60.1699, 24.9384)


@pytest.fixture
async def index(redis_server: EmbeddedRedis, redis_sync: redis.Redis):  # type: ignore[no-untyped-def]
    client = redis_client(redis_server.url)
    yield RiderIndex(client, "helsinki", resolution=9, ttl_s=60)
    await client.aclose()


def scatter(n: int, seed: int, spread_deg: float = 0.05) -> list[tuple[str, float, float]]:
    rng = random.Random(seed)
    return [
        (
            f"r{i}",
            CENTER.lat + rng.uniform(-spread_deg, spread_deg),
            CENTER.lng + rng.uniform(-2 * spread_deg, 2 * spread_deg),
        )
        for i in range(n)
    ]


async def test_nearby_matches_brute_force(index: RiderIndex) -> None:
    """Nearest-first results equal an exhaustive scan, for many query points and limits."""
    t = now_ms()
    riders = scatter(2_000, seed=7)
    flags = await index.ingest([PositionFix(r, lat, lng, t) for r, lat, lng in riders], t)
    assert flags == "a" * len(riders)
    rng = random.Random(11)
    for _ in range(40):
        q = LatLng(CENTER.lat + rng.uniform(-0.05, 0.05), CENTER.lng + rng.uniform(-0.1, 0.1))
        limit = rng.choice([1, 3, 10, 25])
        radius = rng.choice([500.0, 2_000.0, 6_000.0])
        got = await index.nearby(q, t, limit=limit, max_radius_m=radius)
        exact = sorted(
            (haversine_m(q.lat, q.lng, lat, lng), r)
            for r, lat, lng in riders
            if haversine_m(q.lat, q.lng, lat, lng) <= radius
        )[:limit]
        assert [r.rider_id for r in got] == [r for _, r in exact]
        assert [r.distance_m for r in got] == pytest.approx([d for d, _ in exact])


async def test_moving_rider_changes_cell_and_leaves_the_old_one(index: RiderIndex, redis_sync: redis.Redis) -> None:
    """A rider is in exactly one cell set: the one of its newest position."""
    t = now_ms()
    await index.ingest([PositionFix("r1", 60.17, 24.94, t)], t)
    await index.ingest([PositionFix("r1", 60.20, 24.90, t + 1000)], t + 1000)
    cells = [k for k in redis_sync.keys("tc:{helsinki}:cell:*") if redis_sync.sismember(k, "r1")]
    assert cells == [f"tc:{{helsinki}}:cell:{index.cell_of(60.20, 24.90)}"]


async def test_out_of_order_fix_is_ignored(index: RiderIndex) -> None:
    """A fix older than (or as old as) the stored one does not move the rider."""
    t = now_ms()
    assert await index.ingest([PositionFix("r1", 60.17, 24.94, t)], t) == "a"
    assert await index.ingest([PositionFix("r1", 60.10, 24.80, t - 5_000), PositionFix("r1", 60.1, 24.8, t)], t) == "ss"
    pos = await index.position_of("r1")
    assert pos is not None and pos[0] == LatLng(60.17, 24.94)


async def test_silent_riders_drop_out(index: RiderIndex, redis_sync: redis.Redis) -> None:
    """Riders silent longer than the TTL are not found, and the sweep removes them from Redis."""
    t = now_ms()
    await index.ingest([PositionFix("old", 60.17, 24.94, t - 100_000)], t - 90_000)
    await index.ingest([PositionFix("new", 60.171, 24.941, t)], t)
    found = await index.nearby(CENTER, t, limit=5)
    assert [r.rider_id for r in found] == ["new"]
    assert await index.expire_silent(t) == 1
    assert not redis_sync.exists("tc:{helsinki}:rider:old")
    assert all(not redis_sync.sismember(k, "old") for k in redis_sync.keys("tc:{helsinki}:cell:*"))


async def test_offline_and_busy_riders_are_not_available(index: RiderIndex) -> None:
    """Offline riders leave the index; busy ones are found only when asked for everyone."""
    t = now_ms()
    await index.ingest(
        [
            PositionFix("a", 60.17, 24.94, t),
            PositionFix("b", 60.1701, 24.9401, t, availability=Availability.BUSY),
            PositionFix("c", 60.1702, 24.9402, t),
        ],
        t,
    )
    await index.ingest([PositionFix("c", 60.1702, 24.9402, t + 1, availability=Availability.OFFLINE)], t)
    assert [r.rider_id for r in await index.nearby(CENTER, t, limit=5)] == ["a"]
    everyone = await index.nearby(CENTER, t, limit=5, available_only=False)
    assert sorted(r.rider_id for r in everyone) == ["a", "b"]


async def test_widening_stops_at_the_reach_limit(index: RiderIndex) -> None:
    """Riders beyond max_radius_m are never returned, however few are found."""
    t = now_ms()
    await index.ingest([PositionFix("far", 60.30, 24.94, t)], t)  # ~14.5 km north
    assert await index.nearby(CENTER, t, limit=3, max_radius_m=5_000) == []
    found = await index.nearby(CENTER, t, limit=3, max_radius_m=20_000)
    assert [r.rider_id for r in found] == ["far"]


async def test_every_key_carries_the_zone_hash_tag(index: RiderIndex, redis_sync: redis.Redis) -> None:
    """Keys share the zone's Redis Cluster slot."""
    t = now_ms()
    await index.ingest([PositionFix(r, lat, lng, t) for r, lat, lng in scatter(50, seed=3)], t)
    keys = redis_sync.keys("*")
    assert keys and all(k.startswith("tc:{helsinki}:") for k in keys)


async def test_shift_end_travels_with_the_rider(index: RiderIndex) -> None:
    """A fix's shift end is stored and returned with the rider; a later fix without one clears it."""
    t = now_ms()
    await index.ingest([PositionFix("r1", 60.17, 24.94, t, speed_mps=3.5, shift_ends_at_ms=t + 3_600_000)], t)
    [r] = await index.nearby(CENTER, t, limit=1)
    assert r.shift_ends_at_ms == t + 3_600_000
    await index.ingest([PositionFix("r1", 60.17, 24.94, t + 1)], t)
    [r] = await index.nearby(CENTER, t, limit=1)
    assert r.shift_ends_at_ms is None


async def test_free_rider_snapshot_ranks_like_the_ring_search(index: RiderIndex) -> None:
    """The per-tick snapshot of free riders, ranked per point, gives the ring search's answer; it declines
    when more riders are online than it may read."""
    from dispatch.config import City, DispatchConfig
    from dispatch.models import OrderRecord, OrderRequest
    from dispatch.zone import _candidates

    t = now_ms()
    riders = scatter(400, seed=5)
    await index.ingest([PositionFix(r, lat, lng, t) for r, lat, lng in riders], t)
    await index.ingest([PositionFix("r3", riders[3][1], riders[3][2], t + 1, availability=Availability.BUSY)], t)
    assert await index.free_riders(t, max_free=100) is None
    free = await index.free_riders(t, max_free=1_000)
    assert free is not None and len(free) == 399
    config = DispatchConfig(city=City("helsinki", CENTER, 20_000), candidates_per_order=7, search_radius_m=2_500)
    rng = random.Random(9)
    records = [
        OrderRecord(
            OrderRequest(
                f"o{i}",
                "m",
                LatLng(CENTER.lat + rng.uniform(-0.04, 0.04), CENTER.lng + rng.uniform(-0.08, 0.08)),
                CENTER,
                t,
            )
        )
        for i in range(30)
    ]
    ranked = _candidates(free, [], records, {"o0": {"r1", "r2"}}, config)
    for record in records:
        exclude = {"r1", "r2"} if record.order_id == "o0" else set()
        rings = await index.nearby(record.request.pickup, t, limit=7, max_radius_m=2_500, exclude=exclude)
        assert [r.rider_id for r in ranked[record.order_id]] == [r.rider_id for r in rings]


def test_riders_finishing_soon_do_not_crowd_out_free_riders() -> None:
    """An order among many busy riders about to finish still sees its nearest free riders, far as they
    are, and a bounded number of the busy ones beside them."""
    from dataclasses import replace as _replace

    from dispatch.config import City, DispatchConfig
    from dispatch.models import OrderRecord, OrderRequest
    from dispatch.rider_index import NearbyRider
    from dispatch.zone import _candidates

    t = now_ms()
    config = DispatchConfig(
        city=City("helsinki", CENTER, 20_000), candidates_per_order=2, soon_free_per_order=3, search_radius_m=10_000
    )

    def rider(name: str, dlat: float, availability: Availability, available_at: int | None = None) -> NearbyRider:
        return NearbyRider(name, LatLng(CENTER.lat + dlat, CENTER.lng), 0.0, availability, t, 1, None,
                           available_at_ms=available_at)  # fmt: skip

    soon = [rider(f"busy{i}", 0.0001 * i, Availability.BUSY, t + 60_000) for i in range(10)]
    free = [rider("far1", 0.03, Availability.AVAILABLE), rider("far2", 0.04, Availability.AVAILABLE),
            rider("far3", 0.05, Availability.AVAILABLE)]  # fmt: skip
    record = OrderRecord(OrderRequest("o1", "m", CENTER, CENTER, t))
    got = [r.rider_id for r in _candidates(free, soon, [record], {}, config)["o1"]]
    assert got == ["far1", "far2", "busy0", "busy1", "busy2"]
    none_soon = _replace(config, soon_free_per_order=0)
    assert [r.rider_id for r in _candidates(free, soon, [record], {}, none_soon)["o1"]] == ["far1", "far2"]
