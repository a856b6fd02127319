"""A city of several zones: orders go to the zone of their pickup, riders belong to one zone at a time and
change zone only with empty hands (never offered work by two zones at once), waiting callers and watchers
see every zone, and workers spread the zones' leases among themselves."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path

import h3
import pytest
import pytest_asyncio
import redis
import redis.asyncio as aioredis

from core.clock import ManualClock
from core.errors import NotFound
from core.geo import City, LatLng
from dispatch.config import DispatchConfig
from dispatch.directory import Directory
from dispatch.dispatcher import Dispatcher
from dispatch.lease import LeaseConfig
from dispatch.models import OrderRequest, OrderStatus, PositionFix, TaskAction
from dispatch.policies import make_policy
from dispatch.riders import ZonedRiders
from dispatch.travel import StraightLineOracle
from dispatch.zones import H3Zones, OneZone, PolygonZones, ZoneSpec, make_zoning
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis

NOW = 1_800_000_000_000
CENTER = LatLng(60.1700, 24.9400)
CITY = City("zc", CENTER, 6_000.0)
RES = 7  # cells ~5 km², a couple of kilometres across: a 6-km city holds some dozens


def _cell_center(cell: str) -> LatLng:
    return LatLng(*h3.cell_to_latlng(cell))


def _neighbours() -> tuple[LatLng, LatLng]:
    """The centres of the city's central res-7 cell and of one of its neighbours (two zones, ~2.4 km apart)."""
    a = h3.latlng_to_cell(CENTER.lat, CENTER.lng, RES)
    b = sorted(h3.grid_ring(a, 1))[0]
    return _cell_center(a), _cell_center(b)


@pytest_asyncio.fixture
async def client(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[aioredis.Redis]:
    c: aioredis.Redis = redis_client(redis_server.url)
    yield c
    await c.aclose()


def _dispatcher(client: aioredis.Redis, clock: ManualClock, **settings: object) -> Dispatcher:
    config = DispatchConfig(CITY, zones=ZoneSpec(resolution=RES), max_access_m=1e9, **settings)  # type: ignore[arg-type]
    d = Dispatcher(client, config, clock, StraightLineOracle(), make_policy("greedy"))
    d.positions.start()
    return d


def _order(oid: str, pickup: LatLng, placed_ms: int = NOW) -> OrderRequest:
    return OrderRequest(oid, f"m-{oid}", pickup, LatLng(pickup.lat + 0.002, pickup.lng), placed_ms)


def test_zonings_give_every_point_exactly_one_zone(tmp_path: Path) -> None:
    """H3 zones cover the service disc (every point in it lies in a listed cell's zone); a point far outside
    belongs to the nearest zone; one zone is the city's name; GeoJSON polygons name their zones."""
    zones = H3Zones(CITY, RES)
    assert len(zones) > 10
    rng = random.Random(1)
    for _ in range(2_000):
        p = LatLng(CENTER.lat + rng.uniform(-0.05, 0.05), CENTER.lng + rng.uniform(-0.1, 0.1))
        cell = h3.latlng_to_cell(p.lat, p.lng, RES)
        if f"zc-{cell}" in zones.ids:
            assert zones.zone_of(p) == f"zc-{cell}"
    inside = LatLng(CENTER.lat + 0.03, CENTER.lng)  # ~3.3 km north: within the disc
    assert zones.zone_of(inside) == f"zc-{h3.latlng_to_cell(inside.lat, inside.lng, RES)}"
    assert zones.zone_of(LatLng(0.0, 0.0)) in zones.ids
    assert OneZone(CITY).zone_of(LatLng(0.0, 0.0)) == "zc" == make_zoning(CITY, None).ids[0]

    square = lambda lng0: [[lng0, 60.1], [lng0 + 0.1, 60.1], [lng0 + 0.1, 60.2], [lng0, 60.2], [lng0, 60.1]]  # noqa: E731
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"zone": "west"}, "geometry": {"type": "Polygon", "coordinates": [square(24.8)]}},
        {"type": "Feature", "properties": {"zone": "east"}, "geometry": {"type": "Polygon", "coordinates": [square(24.9)]}},
    ]}))  # fmt: skip
    drawn = make_zoning(CITY, ZoneSpec.parse(str(path)))
    assert isinstance(drawn, PolygonZones) and drawn.ids == ("west", "east")
    assert drawn.zone_of(LatLng(60.15, 24.85)) == "west"
    assert drawn.zone_of(LatLng(60.15, 24.95)) == "east"
    assert drawn.zone_of(LatLng(60.15, 25.5)) == "east"  # outside both: the nearest
    with pytest.raises(ValueError, match="zone"):
        (tmp_path / "bad.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"zone": "a{b}"}, "geometry": {"type": "Polygon", "coordinates": [square(24.8)]}}
        ]}))  # fmt: skip
        make_zoning(CITY, ZoneSpec.parse(str(tmp_path / "bad.geojson")))


async def test_orders_live_in_the_zone_of_their_pickup(client: aioredis.Redis, redis_sync: redis.Redis) -> None:
    """Each order's keys carry its pickup zone's hash tag and the directory says so; a retry with the same id
    and another pickup goes to the zone that holds it (and is refused there as a different order); reads
    and cancels find orders in their zones; an unknown id is NOT_FOUND."""
    clock = ManualClock(NOW)
    d = _dispatcher(client, clock)
    a, b = _neighbours()
    za, zb = d.zoning.zone_of(a), d.zoning.zone_of(b)
    assert za != zb
    records = await d.submit([_order("oa", a), _order("ob", b)])
    assert [r.status for r in records] == [OrderStatus.PENDING] * 2
    assert redis_sync.exists(f"tc:{{{za}}}:order:oa") and redis_sync.exists(f"tc:{{{zb}}}:order:ob")
    assert not redis_sync.exists(f"tc:{{{zb}}}:order:oa")
    assert await Directory(client, "zc").order_zones(["oa", "ob", "nope"]) == [za, zb, None]
    assert (await d.get("ob")).order_id == "ob"
    assert (await d.cancel("ob", "changed my mind")).status is OrderStatus.CANCELLED
    with pytest.raises(NotFound):
        await d.get("nope")
    with pytest.raises(Exception, match="different"):
        await d.submit([_order("oa", b)])  # same id, other pickup: the zone holding "oa" refuses it
    assert not redis_sync.exists(f"tc:{{{zb}}}:order:oa")


async def test_a_rider_changes_zone_only_with_empty_hands(client: aioredis.Redis, redis_sync: redis.Redis) -> None:
    """A free rider crossing a border is handed over (leaves the old zone's index, enters the new one's, the
    directory moves); a rider holding work stays in its zone, positions and all, until its hands are empty,
    then moves with its next position."""
    clock = ManualClock(NOW)
    d = _dispatcher(client, clock)
    a, b = _neighbours()
    za, zb = d.zoning.zone_of(a), d.zoning.zone_of(b)
    directory = Directory(client, "zc")

    async def fix(rider: str, at: LatLng) -> None:
        clock.advance(1.0)
        result = await d.ingest([PositionFix(rider, at.lat, at.lng, clock.now_ms())])
        assert result.accepted == 1

    await fix("r1", a)
    assert (await directory.rider_zone("r1"))[0] == za  # type: ignore[index]
    await fix("r1", b)
    assert (await directory.rider_zone("r1"))[0] == zb  # type: ignore[index]
    assert not redis_sync.exists(f"tc:{{{za}}}:rider:r1")
    assert redis_sync.sismember(f"tc:{{{za}}}:rider_tasks:r1", "~")  # any offer of za to it fails now
    assert redis_sync.sismember(f"tc:{{{zb}}}:riders:free", "r1")

    # Busy in zb: an order there is offered to it; it rides into za and stays zb's.
    await d.submit([_order("o1", b, clock.now_ms())])
    report = await d.tick()
    assert report.assigned == 1 and (await d.get("o1")).rider_id == "r1"
    await fix("r1", a)
    assert (await directory.rider_zone("r1"))[0] == zb  # type: ignore[index]
    assert redis_sync.hget(f"tc:{{{zb}}}:rider:r1", "lat") == repr(a.lat)
    for action in (TaskAction.ACCEPT, TaskAction.PICKED_UP, TaskAction.DELIVERED):
        await d.update_task("r1", "o1", action)
    clock.advance(10.0)  # past the retry pause of a busy rider's hand-over
    await fix("r1", a)
    assert (await directory.rider_zone("r1"))[0] == za  # type: ignore[index]
    assert redis_sync.sismember(f"tc:{{{za}}}:riders:free", "r1")
    assert not redis_sync.sismember(f"tc:{{{za}}}:rider_tasks:r1", "~")
    await d.close()


async def test_no_rider_is_ever_offered_work_by_two_zones_at_once(
    client: aioredis.Redis, redis_sync: redis.Redis
) -> None:
    """Riders wander back and forth across zone borders, reported through two routers (two intake processes,
    each with its own stale cache) while every zone ticks and orders keep coming in each. After every round:
    each rider is offerable (in a zone's index, not marked as left) in at most one zone, and holds work in
    at most one; the directory names the zone it is offerable in."""
    clock = ManualClock(NOW)
    d = _dispatcher(client, clock, offer_timeout_s=4.0)
    other = _dispatcher(client, clock)  # a second intake process: its own router and cache
    a, b = _neighbours()
    spots = [a, b, LatLng((a.lat + b.lat) / 2, (a.lng + b.lng) / 2)]
    zone_ids = sorted({d.zoning.zone_of(p) for p in spots})
    rng = random.Random(7)
    riders = [f"w{i}" for i in range(12)]
    n_orders = 0
    for step in range(40):
        clock.advance(1.0)
        fixes = []
        for r in riders:
            p = rng.choice(spots)
            fixes.append(PositionFix(r, p.lat + rng.uniform(-0.003, 0.003), p.lng + rng.uniform(-0.003, 0.003),
                                     clock.now_ms()))  # fmt: skip
        half = len(fixes) // 2
        orders = [_order(f"x{n_orders + k}", rng.choice(spots), clock.now_ms()) for k in range(3)]
        n_orders += 3
        await asyncio.gather(
            d.ingest(fixes[:half]), other.ingest(fixes[half:]), other.ingest(fixes[:half]), d.submit(orders), d.tick()
        )
        # Riders finish some of what they hold, so hands empty and hand-overs happen.
        for zone_id in zone_ids:
            for key in redis_sync.keys(f"tc:{{{zone_id}}}:rider_tasks:*"):
                rider = key.split(":rider_tasks:", 1)[1]
                for oid in redis_sync.smembers(key) - {"~"}:
                    if rng.random() < 0.5:
                        for action in (TaskAction.ACCEPT, TaskAction.PICKED_UP, TaskAction.DELIVERED):
                            await d.update_task(rider, oid, action)
        for r in riders:
            offerable = [z for z in zone_ids if redis_sync.exists(f"tc:{{{z}}}:rider:{r}")
                         and not redis_sync.sismember(f"tc:{{{z}}}:rider_tasks:{r}", "~")]  # fmt: skip
            holding = [z for z in zone_ids if redis_sync.smembers(f"tc:{{{z}}}:rider_tasks:{r}") - {"~"}]
            assert len(offerable) <= 1, (step, r, offerable)
            assert len(holding) <= 1, (step, r, holding)
            entry = await Directory(client, "zc").rider_zone(r)
            if offerable:
                assert entry is not None and entry[0] == offerable[0], (step, r, entry, offerable)
    moves = (d.riders.moves if d.riders else 0) + (other.riders.moves if other.riders else 0)
    assert moves > 20  # the wandering did cross borders
    await d.close()
    await other.close()


async def test_a_stale_move_never_brings_a_rider_back(client: aioredis.Redis, redis_sync: redis.Redis) -> None:
    """Two routers move one rider to two different zones at the same moment: it ends in exactly one, the one
    the directory names."""
    a, b = _neighbours()
    zoning = H3Zones(CITY, RES)
    third = _cell_center(sorted(h3.grid_ring(h3.latlng_to_cell(a.lat, a.lng, RES), 1))[3])
    d = _dispatcher(client, ManualClock(NOW))
    for trial in range(20):
        rider = f"s{trial}"
        first = ZonedRiders(zoning, Directory(client, "zc"), lambda z: d.zone(z).index)
        second = ZonedRiders(zoning, Directory(client, "zc"), lambda z: d.zone(z).index)
        await first.ingest([PositionFix(rider, a.lat, a.lng, NOW)], NOW)
        await second.ingest([PositionFix(rider, a.lat, a.lng, NOW + 1)], NOW)  # warms the second cache
        await asyncio.gather(
            first.ingest([PositionFix(rider, b.lat, b.lng, NOW + 2)], NOW),
            second.ingest([PositionFix(rider, third.lat, third.lng, NOW + 3)], NOW),
        )
        present = [z for z in zoning.ids if redis_sync.exists(f"tc:{{{z}}}:rider:{rider}")
                   and not redis_sync.sismember(f"tc:{{{z}}}:rider_tasks:{rider}", "~")]  # fmt: skip
        entry = await Directory(client, "zc").rider_zone(rider)
        assert len(present) == 1 and entry is not None and entry[0] == present[0], (trial, present, entry)


async def test_waiting_callers_and_order_watchers_see_every_zone(client: aioredis.Redis) -> None:
    """AssignRiders waiting on orders of two zones gets both decisions; WatchOrders over the city delivers
    events of every zone in id order, and resuming after any delivered id gives exactly the rest."""
    clock = ManualClock(NOW)
    d = _dispatcher(client, clock)
    a, b = _neighbours()

    async def watch(resume: str = "", limit: int = 4) -> list[tuple[str, str, OrderStatus]]:
        out = []
        async for u in d.watch_orders(resume):
            out.append((u.event_id, u.order_id, u.status))
            if len(out) == limit:
                break
        return out

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.3)
    await d.ingest([PositionFix("ra", a.lat, a.lng, NOW), PositionFix("rb", b.lat, b.lng, NOW)])

    async def tick_soon() -> None:
        await asyncio.sleep(0.3)
        await d.tick()

    ticker = asyncio.create_task(tick_soon())
    records = await d.assign([_order("wa", a), _order("wb", b)], wait=True)
    await ticker
    assert {r.order_id: r.rider_id for r in records} == {"wa": "ra", "wb": "rb"}
    assert all(r.status is OrderStatus.ASSIGNED for r in records)
    await d.cancel("wa", "test")
    await d.cancel("wb", "test")
    events = await asyncio.wait_for(watcher, 10)
    ids = [e[0] for e in events]
    key = lambda i: tuple(int(x) for x in i.split("-"))  # noqa: E731
    # In id order, each id unique across the city (two zones' streams may give two events one stream id; the
    # city-wide id tells them apart).
    assert ids == sorted(ids, key=key) and len(set(ids)) == len(ids)
    assert {(o, s) for _, o, s in events} == {
        (o, s) for o in ("wa", "wb") for s in (OrderStatus.ASSIGNED, OrderStatus.CANCELLED)
    }
    # Resuming after any delivered id gives exactly the events after it.
    for k in range(len(events) - 1):
        rest = await asyncio.wait_for(watch(ids[k], limit=len(events) - k - 1), 10)
        assert rest == events[k + 1 :]
    await d.close()


async def test_workers_spread_the_zones_and_take_over_a_stopped_one(client: aioredis.Redis) -> None:
    """Two workers over one city split its zones about evenly; when one stops (releasing its leases), the
    other holds every zone within a lease round; each zone is held by one worker at a time throughout."""
    clock = ManualClock(NOW)
    lease = LeaseConfig(ttl_s=1.5)
    first = _dispatcher(client, clock, lease=lease, tick_s=0.2)
    second = _dispatcher(client, clock, lease=lease, tick_s=0.2)
    zones = first.zoning.ids
    first.start(tick=True)
    await first.lease_tried()
    second.start(tick=True)
    assert first.worker is not None and second.worker is not None

    async def settled(check: object, timeout_s: float = 8.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not check():  # type: ignore[operator]
            assert asyncio.get_running_loop().time() < deadline, (
                len(zones),
                len(first.worker.held_zones),
                len(second.worker.held_zones),
            )  # type: ignore[union-attr]
            await asyncio.sleep(0.05)

    share = -(-len(zones) // 2)
    await settled(lambda: len(first.worker.held_zones) + len(second.worker.held_zones) == len(zones)  # type: ignore[union-attr]
                  and len(second.worker.held_zones) >= share - 1)  # type: ignore[union-attr]  # fmt: skip
    assert not set(first.worker.held_zones) & set(second.worker.held_zones)
    await first.close()
    await settled(lambda: len(second.worker.held_zones) == len(zones))  # type: ignore[union-attr]
    await second.close()


async def test_an_intake_process_sheds_beyond_its_orders_in_flight(client: aioredis.Redis) -> None:
    """With `intake_max_in_flight` orders being stored, further calls are refused at once (RESOURCE_EXHAUSTED
    with a retry hint) and store nothing; a call alone is admitted whatever its size; afterwards calls pass."""
    from core.errors import ResourceExhausted

    clock = ManualClock(NOW)
    d = _dispatcher(client, clock, intake_max_in_flight=10)
    a, b = _neighbours()
    batches = [[_order(f"c{k}-{i}", a if i % 2 else b) for i in range(6)] for k in range(6)]
    results = await asyncio.gather(*(d.submit(batch) for batch in batches), return_exceptions=True)
    refused = [k for k, r in enumerate(results) if isinstance(r, ResourceExhausted)]
    assert refused and len(refused) < len(batches)
    assert all(r.retry_after_s and r.retry_after_s < 1 for r in results if isinstance(r, ResourceExhausted))
    for k in range(len(results)):
        found = await d.find_many([o.order_id for o in batches[k]])
        assert len(found) == (0 if k in refused else 6)
    assert len(await d.submit([_order(f"big-{i}", a) for i in range(25)])) == 25  # alone: admitted
    await d.close()


async def test_a_call_does_not_wait_on_a_zone_far_behind(client: aioredis.Redis, redis_sync: redis.Redis) -> None:
    """AssignRiders answers PENDING at once, orders stored, when its zone's pool would take longer to decide
    at the zone's measured rate than the call may wait; a zone without a measured rate is waited on as ever."""
    import time

    clock = ManualClock(NOW)
    d = _dispatcher(client, clock)
    a, b = _neighbours()
    await d.submit([_order(f"q{i}", a) for i in range(50)])  # no rider: a pool of 50
    redis_sync.hset(f"tc:{{{d.zoning.zone_of(a)}}}:throughput", "per_tick", "1")  # 50 ticks (100 s) behind
    started = time.monotonic()
    [late] = await d.assign([_order("late", a)], answer_by=time.monotonic() + 5)
    assert late.status is OrderStatus.PENDING and time.monotonic() - started < 1
    assert (await d.get("late")).status is OrderStatus.PENDING  # stored
    started = time.monotonic()
    [other] = await d.assign([_order("other", b)], answer_by=time.monotonic() + 0.5)
    assert other.status is OrderStatus.PENDING and time.monotonic() - started >= 0.45
    await d.close()
