"""UpdateTraffic: ops push congestion by H3 cell and the next decision's estimates reflect it."""

from __future__ import annotations

import grpc
import h3
import pytest
import redis

from core.geo import LatLng
from serving.app import App
from serving.auth import Role
from tests.conftest import redis_snapshot
from tests.dispatch.api.helpers import KAMPPI, bad_request_fields, fix, order, stream_fixes
from tongcheng.dispatch.v1 import dispatch_pb2 as pb

# A resolution-6 cell (~36 km²) covering the whole default city.
CITY_CELL = h3.latlng_to_cell(KAMPPI[0], KAMPPI[1], 6)
NEXT_CELL = sorted(h3.grid_ring(CITY_CELL, 1))[0]


async def assign_eta_s(svc, order_id: str) -> float:  # type: ignore[no-untyped-def]
    reply = await svc.stub.AssignRiders(
        pb.AssignRidersRequest(orders=[order(order_id)]), metadata=svc.metadata, timeout=5
    )
    [r] = reply.results
    assert r.status == pb.ORDER_STATUS_ASSIGNED, r
    return (r.estimated_dropoff_at.ToMilliseconds() - r.estimated_pickup_at.ToMilliseconds()) / 1000


async def test_congestion_lengthens_the_next_estimates(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """Pickup-to-drop-off estimates grow when the city's roads are slowed, and shrink back on reset."""
    ops = as_role(Role.OPS)
    svc = as_role(Role.ORDER_SERVICE)
    await stream_fixes(ops, [[fix("r1", 60.1702, 24.9425), fix("r2", 60.1703, 24.9426), fix("r3", 60.1704, 24.9427)]])
    free = await assign_eta_s(svc, "o1")
    reply = await ops.stub.UpdateTraffic(
        pb.UpdateTrafficRequest(cells=[pb.CellCongestion(h3_cell=CITY_CELL, factor=3.0)]), metadata=ops.metadata
    )
    assert reply.roads_changed > 1_000 and reply.traffic_version >= 1
    slowed = await assign_eta_s(svc, "o2")
    assert slowed > 2.0 * (free - 120) + 120  # the ride triples; the 2 min hand-over does not
    await ops.stub.UpdateTraffic(pb.UpdateTrafficRequest(reset=True), metadata=ops.metadata)
    assert await assign_eta_s(svc, "o3") == pytest.approx(free, abs=1.0)


@pytest.mark.parametrize(
    ("cells", "fields"),
    [
        ([pb.CellCongestion(h3_cell="nonsense", factor=2.0)], ["cells[0].h3_cell"]),
        ([pb.CellCongestion(h3_cell="-B", factor=2.0)], ["cells[0].h3_cell"]),  # h3 itself raised OverflowError
        ([pb.CellCongestion(h3_cell=CITY_CELL + "\n", factor=2.0)], ["cells[0].h3_cell"]),
        ([pb.CellCongestion(h3_cell=CITY_CELL, factor=0.0)], ["cells[0].factor"]),
        ([pb.CellCongestion(h3_cell=CITY_CELL, factor=float("nan"))], ["cells[0].factor"]),
        (
            [pb.CellCongestion(h3_cell=CITY_CELL, factor=2.0), pb.CellCongestion(h3_cell=NEXT_CELL, factor=99.0)],
            ["cells[1].factor"],
        ),
        (
            [pb.CellCongestion(h3_cell=CITY_CELL, factor=2.0), pb.CellCongestion(h3_cell=CITY_CELL, factor=3.0)],
            ["cells[1].h3_cell"],
        ),
        ([pb.CellCongestion(h3_cell=CITY_CELL, factor=2.0)] * 20_001, ["cells"]),
        ([], ["cells"]),
    ],
    ids=[
        "bad cell",
        "h3 overflow",
        "trailing newline",
        "zero factor",
        "NaN factor",
        "second factor too big",
        "a cell twice",
        "too many",
        "nothing to do",
    ],
)
async def test_bad_traffic_updates_name_the_field(app: App, as_role, redis_sync: redis.Redis, cells, fields) -> None:  # type: ignore[no-untyped-def]
    """INVALID_ARGUMENT with the field, and the oracle's live factors unchanged."""
    ops = as_role(Role.OPS)
    assert app.oracle is not None
    version = app.oracle.version
    before = redis_snapshot(redis_sync)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ops.stub.UpdateTraffic(pb.UpdateTrafficRequest(cells=cells), metadata=ops.metadata)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(err.value) == fields
    assert app.oracle.version == version and (app.oracle.live == 1.0).all()
    assert redis_snapshot(redis_sync) == before


async def test_only_ops_update_traffic(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """Order services and riders are PERMISSION_DENIED."""
    for caller in (as_role(Role.ORDER_SERVICE), as_role(Role.RIDER, "r1")):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await caller.stub.UpdateTraffic(
                pb.UpdateTrafficRequest(cells=[pb.CellCongestion(h3_cell=CITY_CELL, factor=2.0)]),
                metadata=caller.metadata,
            )
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_orders_off_the_road_network_are_rejected(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """A drop-off inside the service disc but far from any road is REJECTED with the distance."""
    svc = as_role(Role.ORDER_SERVICE)
    assert app.dispatcher is not None
    city = app.dispatcher.config.city
    # Due south of the centre, near the disc's edge: the Helsinki extract has no roads there (sea).
    off_road = (city.center.lat - (city.service_radius_m - 100) / 111_320, city.center.lng)
    assert app.oracle is not None
    assert app.oracle.access_distance_m([LatLng(*off_road)])[0] > 500, "the test point must lie off the roads"
    reply = await svc.stub.AssignRiders(
        pb.AssignRidersRequest(orders=[order("sea", dropoff=off_road)]), metadata=svc.metadata, timeout=2
    )
    assert reply.results[0].status == pb.ORDER_STATUS_REJECTED
    assert "from the nearest road" in reply.results[0].reason


async def test_rider_speeds_feed_congestion(app: App, as_role) -> None:  # type: ignore[no-untyped-def]
    """Riders crawling through a cell slow its roads at the next learning round; ops' cells are left alone."""
    from tests.conftest import now_ms

    ops = as_role(Role.OPS)
    t = now_ms()
    slow = [fix(f"slow{i}", 60.1700, 24.9420, t, speed_mps=1.2) for i in range(120)]
    await stream_fixes(ops, [slow])
    assert app.dispatcher is not None and app.oracle is not None
    changed = app.dispatcher.learn_traffic(t)
    cell = h3.latlng_to_cell(60.1700, 24.9420, 8)
    arcs = app.oracle.arcs_in_cell(cell)
    assert changed > 0 and (app.oracle.live[arcs] > 1.5).all()
    # Ops set the cell back to free flow explicitly: their word stands against the riders' evidence.
    await ops.stub.UpdateTraffic(
        pb.UpdateTrafficRequest(cells=[pb.CellCongestion(h3_cell=cell, factor=0.9)]), metadata=ops.metadata
    )
    app.dispatcher.learn_traffic(t)
    assert (app.oracle.live[arcs] == 0.9).all()
