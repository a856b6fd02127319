"""The CCH oracle against exact Dijkstra on the same weights, before and after traffic changes."""

from __future__ import annotations

import h3
import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from core.geo import LatLng
from routing_data.build import build_graph, load_or_build
from routing_data.graph import RoadGraph
from routing_data.modes import Mode
from routing_data.oracle import MS, RoadNetworkOracle
from routing_data.synthetic import synthetic_city
from routing_data.traffic import FREE_FLOW, TrafficProfile
from tests.conftest import require_shared


@pytest.fixture(scope="module")
def helsinki() -> RoadNetworkOracle:
    return RoadNetworkOracle(load_or_build(), timezone="Europe/Helsinki")


@pytest.fixture(scope="module")
def baltimore() -> RoadNetworkOracle:
    return RoadNetworkOracle(build_graph(require_shared("data", "osm", "baltimore.osm.pbf"), "baltimore"))


def dijkstra_s(oracle: RoadNetworkOracle, mode: Mode, hour: int, sources: np.ndarray) -> np.ndarray:
    """Exact travel times from scipy's Dijkstra over the oracle's own integer weights (ms)."""
    g = oracle.graph
    times = oracle.arc_times_s(mode, hour)
    usable = np.isfinite(times)
    w = np.maximum(1, np.rint(times[usable] * MS))
    m = csr_matrix((w, (g.tail[usable], g.head[usable])), shape=(g.node_count, g.node_count))
    return dijkstra(m, indices=sources) / MS


def random_nodes(oracle: RoadNetworkOracle, mode: Mode, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice(oracle.graph.nodes_of(mode), n)


@pytest.mark.parametrize("mode", list(Mode))
def test_matrix_equals_dijkstra(baltimore: RoadNetworkOracle, mode: Mode) -> None:
    """On random pairs of a real city, every mode, the matrix is exactly Dijkstra's."""
    src, dst = random_nodes(baltimore, mode, 40, 1), random_nodes(baltimore, mode, 60, 2)
    got = baltimore.matrix_nodes(src, dst, hour=8, mode=mode)
    assert np.array_equal(got, dijkstra_s(baltimore, mode, 8, src)[:, dst])


def test_large_matrix_on_two_threads_equals_dijkstra(baltimore: RoadNetworkOracle) -> None:
    """The threaded path (many sweeps) returns the same exact answers, in the right order."""
    src, dst = random_nodes(baltimore, Mode.CAR, 30, 3), random_nodes(baltimore, Mode.CAR, 400, 4)
    got = baltimore.matrix_nodes(src, dst, hour=17, mode=Mode.CAR)
    assert np.array_equal(got, dijkstra_s(baltimore, Mode.CAR, 17, src)[:, dst])
    got_t = baltimore.matrix_nodes(dst, src, hour=17, mode=Mode.CAR)
    assert np.array_equal(got_t, dijkstra_s(baltimore, Mode.CAR, 17, dst)[:, src])


def test_live_traffic_changes_the_next_query_exactly(helsinki: RoadNetworkOracle) -> None:
    """Congestion pushed on a cell slows paths through it at once; the answers stay exact; reset undoes it."""
    src, dst = random_nodes(helsinki, Mode.EBIKE, 25, 5), random_nodes(helsinki, Mode.EBIKE, 25, 6)
    before = helsinki.matrix_nodes(src, dst, hour=12)
    center = h3.latlng_to_cell(float(np.median(helsinki.graph.node_lat)), float(np.median(helsinki.graph.node_lng)), 8)
    version = helsinki.version
    changed = helsinki.set_cell_factors({center: 4.0})
    assert changed > 0 and helsinki.version == version + 1
    after = helsinki.matrix_nodes(src, dst, hour=12)
    assert np.array_equal(after, dijkstra_s(helsinki, Mode.EBIKE, 12, src)[:, dst])
    assert (after >= before).all() and (after > before).any()
    helsinki.reset_live()
    assert np.array_equal(helsinki.matrix_nodes(src, dst, hour=12), before)


def test_time_of_day_slows_cars_at_rush_hour(baltimore: RoadNetworkOracle) -> None:
    """The same car trips take longer at 17:00 than at 03:00; free flow is the floor."""
    src, dst = random_nodes(baltimore, Mode.CAR, 20, 7), random_nodes(baltimore, Mode.CAR, 20, 8)
    night = baltimore.matrix_nodes(src, dst, hour=3, mode=Mode.CAR)
    rush = baltimore.matrix_nodes(src, dst, hour=17, mode=Mode.CAR)
    assert (rush >= night).all() and rush.sum() > 1.2 * night.sum()
    free = RoadNetworkOracle(baltimore.graph, profile=FREE_FLOW).matrix_nodes(src, dst, hour=17, mode=Mode.CAR)
    assert np.array_equal(free, night)


def test_snapping_reports_the_distance(helsinki: RoadNetworkOracle) -> None:
    """A node's own coordinates snap to it at 0 m; a point 200 m off a road reports about that much."""
    g = helsinki.graph
    node = int(g.nodes_of(Mode.EBIKE)[100])
    snap = helsinki.snap(float(g.node_lat[node]), float(g.node_lng[node]))
    assert snap.node == node and snap.distance_m == pytest.approx(0.0, abs=1e-6)
    north = float(g.node_lat.max()) + 200 / 111_320
    far = helsinki.snap(north, float(np.median(g.node_lng)))
    assert 190 < far.distance_m < 400
    assert helsinki.access_distance_m([LatLng(north, float(np.median(g.node_lng)))])[0] == pytest.approx(far.distance_m)


def test_route_follows_the_matrix(helsinki: RoadNetworkOracle) -> None:
    """A route's time equals the matrix entry, its path uses real arcs, its geometry ends at the snapped nodes."""
    g = helsinki.graph
    a, b = random_nodes(helsinki, Mode.EBIKE, 2, 9)
    pa = LatLng(float(g.node_lat[a]), float(g.node_lng[a]))
    pb = LatLng(float(g.node_lat[b]), float(g.node_lng[b]))
    depart = 1_790_000_000_000
    route = helsinki.route(pa, pb, depart)
    assert route.travel_time_s == pytest.approx(helsinki.matrix([pa], [pb], depart)[0, 0])
    assert route.node_path[0] == a and route.node_path[-1] == b
    assert route.geometry[0] == pa and route.geometry[-1] == pb
    hour = helsinki.hour_of(depart)
    times = helsinki.arc_times_s(Mode.EBIKE, hour)
    total = 0.0
    for u, v in zip(route.node_path[:-1], route.node_path[1:], strict=True):
        arcs = np.flatnonzero((g.tail == u) & (g.head == v))
        assert arcs.size == 1
        total += max(1, round(times[arcs[0]] * MS)) / MS
    assert total == pytest.approx(route.travel_time_s)


def test_synthetic_city_is_exact_too() -> None:
    """A synthetic city of ~5k nodes has the size asked for, one component per mode, exact answers."""
    graph: RoadGraph = synthetic_city(5_000, seed=3)
    assert 4_000 < graph.node_count < 6_500
    oracle = RoadNetworkOracle(graph)
    for mode in Mode:
        assert graph.mode_nodes[mode].sum() > 0.9 * graph.node_count
    src, dst = random_nodes(oracle, Mode.CAR, 30, 10), random_nodes(oracle, Mode.CAR, 30, 11)
    assert np.array_equal(oracle.matrix_nodes(src, dst, 8, Mode.CAR), dijkstra_s(oracle, Mode.CAR, 8, src)[:, dst])


def test_bad_live_factors_are_refused(helsinki: RoadNetworkOracle) -> None:
    """Factors outside [0.2, 20], NaN, unknown arcs or cells are refused and change nothing."""
    version = helsinki.version
    for arcs, factors in (([0], [0.0]), ([0], [float("nan")]), ([0], [50.0]), ([10**9], [2.0])):
        with pytest.raises(ValueError):
            helsinki.set_arc_factors(arcs, factors)
    with pytest.raises(ValueError):
        helsinki.set_cell_factors({"not-a-cell": 2.0})
    assert helsinki.version == version and (helsinki.live == 1.0).all()


def test_profile_from_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A city's profile file overrides the classes it names; a bad one is refused."""
    path = tmp_path / "p.json"
    path.write_text('{"classes": {"primary": [2.0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]},'
                    ' "sensitivity": {"car": 1.0}}')  # fmt: skip
    profile = TrafficProfile.from_json(path)
    from routing_data.modes import CLASS_INDEX

    assert profile.multipliers(Mode.CAR, 3)[CLASS_INDEX["primary"]] == 2.0
    path.write_text('{"classes": {"primary": [1.0]}}')
    with pytest.raises(ValueError):
        TrafficProfile.from_json(path)


def test_batched_matrices_equal_one_by_one(helsinki: RoadNetworkOracle) -> None:
    """A tick's many small matrices in one batch are exactly the matrices asked one at a time."""
    rng = np.random.default_rng(5)
    lat = 60.16 + rng.random(60) * 0.02
    lng = 24.93 + rng.random(60) * 0.03
    points = [LatLng(float(a), float(b)) for a, b in zip(lat, lng, strict=True)]
    queries = [
        (points[0:5], points[5:6]),
        (points[6:7], points[7:20]),
        ([], points[20:22]),
        (points[22:40], points[40:60]),
    ]
    at = 1_781_000_000_000
    batched = helsinki.matrices(queries, at)
    for (src, dst), got in zip(queries, batched, strict=True):
        assert got.shape == (len(src), len(dst))
        if src and dst:
            np.testing.assert_array_equal(got, helsinki.matrix(src, dst, at))
