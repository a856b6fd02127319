"""The road-network travel-time oracle: exact shortest travel times on the OSM graph, many-to-many,
under time-of-day traffic and live congestion, via Customizable Contraction Hierarchies.

Why CCH (RoutingKit's, through the `routingkit-cch` bindings): the node order and the hierarchy are
computed once per graph from its topology alone; a change of weights (the hour's traffic profile,
live congestion) is a re-customisation of milliseconds, or a partial update of the touched arcs,
never a rebuild. Queries are exact (no heuristic error). Measured against one full scipy Dijkstra
per source on the same integer weights in `bench.travel_times`.

Metrics are cached per (mode, hour) for the hours in use, at most MAX_HOURS_CACHED per mode.

The only module that imports routingkit_cch.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import h3
import numpy as np
import routingkit_cch as rk
from scipy.spatial import cKDTree

from core.geo import LatLng
from routing_data.graph import RoadGraph
from routing_data.modes import Mode
from routing_data.traffic import TrafficProfile

EARTH_RADIUS_M = 6_371_008.8
# Weights are whole milliseconds: exact integer sums, and a city-wide path stays far below 2^31.
MS = 1000.0
# Live factors outside this range are refused: a road 20x slower is closed, say so with the factor cap.
MIN_FACTOR, MAX_FACTOR = 0.2, 20.0
# Every weight change re-customises the metric in full. RoutingKit's partial updater is faster only
# below ~0.1 % of arcs (measured on a 200k-node city: reset ~50 ms, partial update of 1 % ~180 ms), and
# its binding is bound to the thread that created it, which the server's thread hand-offs break.
# Hours of metrics kept per mode (the current hour and the next, in practice).
MAX_HOURS_CACHED = 3
# Queries in more than this many sweeps run on two threads (the bindings release the GIL).
THREADED_SWEEPS = 200


@dataclass(frozen=True)
class Snap:
    node: int
    distance_m: float


@dataclass(frozen=True)
class Route:
    travel_time_s: float
    node_path: list[int]
    geometry: list[LatLng]
    source_snap: Snap
    target_snap: Snap


def _unit_xyz(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    la, ln = np.radians(lat), np.radians(lng)
    return np.c_[np.cos(la) * np.cos(ln), np.cos(la) * np.sin(ln), np.sin(la)]


class _ModeNet:
    """One travel mode's hierarchy, snapping index and customised metrics."""

    def __init__(self, graph: RoadGraph, mode: Mode, order: list[int]) -> None:
        self.mode = mode
        self.arcs = np.flatnonzero(np.isfinite(graph.base_time_s[mode]))
        self.nodes = graph.nodes_of(mode)
        self.cch = rk.CCH(order, graph.tail[self.arcs].tolist(), graph.head[self.arcs].tolist(), False)
        self.tree = cKDTree(_unit_xyz(graph.node_lat[self.nodes], graph.node_lng[self.nodes]))
        self.metrics: dict[int, rk.CCHMetric] = {}
        self.weights: dict[int, np.ndarray] = {}
        # Position of each graph arc among this mode's arcs (-1: not the mode's).
        self.local = np.full(graph.arc_count, -1, dtype=np.int64)
        self.local[self.arcs] = np.arange(len(self.arcs))


class RoadNetworkOracle:
    """Travel times on one city's road graph, for every travel mode, at any hour, under live traffic."""

    def __init__(
        self,
        graph: RoadGraph,
        profile: TrafficProfile | None = None,
        default_mode: Mode = Mode.EBIKE,
        timezone: str = "UTC",
    ) -> None:
        self.graph = graph
        self.profile = profile or TrafficProfile()
        self.default_mode = default_mode
        self.tz = ZoneInfo(timezone)
        self.live = np.ones(graph.arc_count, dtype=np.float64)
        self.version = 0
        self._lock = threading.RLock()
        self._cells: dict[int, np.ndarray] = {}
        order = graph_order(graph)
        self._nets = {mode: _ModeNet(graph, mode, order) for mode in Mode if graph.mode_nodes[mode].any()}
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="oracle")

    # Snapping --------------------------------------------------------------------------------

    def _net(self, mode: Mode | None) -> _ModeNet:
        mode = self.default_mode if mode is None else mode
        try:
            return self._nets[mode]
        except KeyError:
            raise ValueError(f"the {self.graph.name} graph has no roads for mode {mode.label}") from None

    def snap_many(self, points: Sequence[LatLng], mode: Mode | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Nearest graph node of each point (among the mode's nodes) and the great-circle distance to it."""
        net = self._net(mode)
        lat = np.array([p.lat for p in points], dtype=np.float64)
        lng = np.array([p.lng for p in points], dtype=np.float64)
        chord, idx = net.tree.query(_unit_xyz(lat, lng))
        return net.nodes[idx], 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, chord / 2))

    def access_distance_m(self, points: Sequence[LatLng], mode: Mode | None = None) -> np.ndarray:
        """Distance from each point to its snapped node (TravelTimeOracle)."""
        return self.snap_many(points, mode)[1]

    def snap(self, lat: float, lng: float, mode: Mode | None = None) -> Snap:
        nodes, dists = self.snap_many([LatLng(lat, lng)], mode)
        return Snap(int(nodes[0]), float(dists[0]))

    # Weights ---------------------------------------------------------------------------------

    def hour_of(self, depart_at_ms: int) -> int:
        return dt.datetime.fromtimestamp(depart_at_ms / 1000, self.tz).hour

    def arc_times_s(self, mode: Mode, hour: int) -> np.ndarray:
        """Travel time of every graph arc for a mode at an hour (inf where the mode may not go)."""
        g = self.graph
        return g.base_time_s[mode] * self.profile.multipliers(mode, hour)[g.road_class] * self.live

    def _weights_ms(self, net: _ModeNet, hour: int) -> np.ndarray:
        times = self.arc_times_s(net.mode, hour)[net.arcs]
        return np.maximum(1, np.rint(times * MS)).astype(np.int64)

    def _metric(self, net: _ModeNet, hour: int) -> rk.CCHMetric:
        metric = net.metrics.get(hour)
        if metric is None:
            while len(net.metrics) >= MAX_HOURS_CACHED:  # a traffic change re-customises every cached hour
                oldest = next(iter(net.metrics))
                del net.metrics[oldest], net.weights[oldest]
            weights = self._weights_ms(net, hour)
            metric = net.metrics[hour] = rk.CCHMetric(net.cch, weights.tolist())
            net.weights[hour] = weights
        return metric

    # Queries ---------------------------------------------------------------------------------

    def matrix(
        self, sources: Sequence[LatLng], targets: Sequence[LatLng], depart_at_ms: int, mode: Mode | None = None
    ) -> np.ndarray:
        """Travel times in seconds, len(sources) x len(targets), each point snapped to its nearest node."""
        src, _ = self.snap_many(sources, mode)
        dst, _ = self.snap_many(targets, mode)
        return self.matrix_nodes(src, dst, self.hour_of(depart_at_ms), mode)

    def matrices(
        self,
        queries: Sequence[tuple[Sequence[LatLng], Sequence[LatLng]]],
        depart_at_ms: int,
        mode: Mode | None = None,
    ) -> list[np.ndarray]:
        """Many small matrices at once (a dispatch tick asks for hundreds): every point is snapped in one
        KD-tree query and the hour's metric is looked up once, instead of per matrix."""
        points = [p for src, dst in queries for p in (*src, *dst)]
        if not points:
            return [np.zeros((len(src), len(dst))) for src, dst in queries]
        nodes, _ = self.snap_many(points, mode)
        hour = self.hour_of(depart_at_ms)
        out = []
        k = 0
        for src, dst in queries:
            a, b = nodes[k : k + len(src)], nodes[k + len(src) : k + len(src) + len(dst)]
            k += len(src) + len(dst)
            out.append(self.matrix_nodes(a, b, hour, mode))
        return out

    def matrix_nodes(
        self,
        sources: Sequence[int] | np.ndarray,
        targets: Sequence[int] | np.ndarray,
        hour: int,
        mode: Mode | None = None,
    ) -> np.ndarray:
        """Travel times in seconds between graph nodes (inf where unreachable)."""
        net = self._net(mode)
        src = [int(s) for s in sources]
        dst = [int(t) for t in targets]
        if not src or not dst:
            return np.zeros((len(src), len(dst)))
        with self._lock:
            metric = self._metric(net, hour)
            # Pin the larger side, sweep the smaller: fewer calls across the binding.
            pin_sources = len(src) >= len(dst)
            pinned, sweep = (src, dst) if pin_sources else (dst, src)
            if len(sweep) >= THREADED_SWEEPS:
                half = len(sweep) // 2
                parts = list(
                    self._pool.map(lambda s: _sweep(metric, pinned, s, pin_sources), (sweep[:half], sweep[half:]))
                )
                rows = parts[0] + parts[1]
            else:
                rows = _sweep(metric, pinned, sweep, pin_sources)
        out = _to_array(rows)
        return (out.T if pin_sources else out) / MS

    def reachable_within(self, origin: LatLng, within_s: float, hour: int, mode: Mode | None = None) -> list[LatLng]:
        """The mode's nodes reachable from `origin` within `within_s` at that hour's metric (an isochrone's
        points; delivery areas, issue 21): one one-to-many sweep over the mode's nodes."""
        net = self._net(mode)
        src = int(self.snap_many([origin], mode)[0][0])
        times_s = self.matrix_nodes([src], net.nodes, hour, mode)[0]
        reached = net.nodes[times_s <= within_s]
        g = self.graph
        return [LatLng(float(g.node_lat[n]), float(g.node_lng[n])) for n in reached]

    def route(self, a: LatLng, b: LatLng, depart_at_ms: int, mode: Mode | None = None) -> Route:
        """The fastest path between two points with its node path and geometry (for simulated riders)."""
        net = self._net(mode)
        sa, sb = self.snap(a.lat, a.lng, mode), self.snap(b.lat, b.lng, mode)
        with self._lock:
            query = rk.CCHQuery(self._metric(net, self.hour_of(depart_at_ms)))
            result = query.run(sa.node, sb.node)
            del query
        if result.distance is None:
            raise ValueError(f"no {net.mode.label} path between the snapped nodes {sa.node} and {sb.node}")
        g = self.graph
        path = list(result.node_path) or [sa.node]
        return Route(
            travel_time_s=result.distance / MS,
            node_path=path,
            geometry=[LatLng(float(g.node_lat[n]), float(g.node_lng[n])) for n in path],
            source_snap=sa,
            target_snap=sb,
        )

    # Live traffic ----------------------------------------------------------------------------

    def set_arc_factors(self, arcs: Iterable[int], factors: Iterable[float]) -> int:
        """Sets live congestion factors (time multipliers) on arcs; visible to the next query.
        Returns how many arcs changed."""
        idx = np.fromiter(arcs, dtype=np.int64)
        values = np.fromiter(factors, dtype=np.float64)
        if idx.shape != values.shape:
            raise ValueError("arcs and factors differ in length")
        if idx.size and (idx.min() < 0 or idx.max() >= self.graph.arc_count):
            raise ValueError(f"arc ids must be within [0, {self.graph.arc_count})")
        if values.size and not (
            np.all(np.isfinite(values)) and values.min() >= MIN_FACTOR and values.max() <= MAX_FACTOR
        ):
            raise ValueError(f"congestion factors must be within [{MIN_FACTOR}, {MAX_FACTOR}]")
        with self._lock:
            changed = idx[self.live[idx] != values]
            if changed.size == 0:
                return 0
            self.live[idx] = values
            self._recustomize(np.unique(changed))
            self.version += 1
        return int(np.unique(changed).size)

    def set_cell_factors(self, cells: Mapping[str, float]) -> int:
        """Live factors for every arc whose midpoint lies in each H3 cell (any resolution)."""
        arcs: list[np.ndarray] = []
        factors: list[np.ndarray] = []
        for cell, factor in cells.items():
            if not h3.is_valid_cell(cell):
                raise ValueError(f"{cell!r} is not an H3 cell")
            in_cell = self.arcs_in_cell(cell)
            arcs.append(in_cell)
            factors.append(np.full(in_cell.size, float(factor)))
        if not arcs:
            return 0
        return self.set_arc_factors(np.concatenate(arcs), np.concatenate(factors))

    def arcs_in_cell(self, cell: str) -> np.ndarray:
        res = h3.get_resolution(cell)
        cells = self._cells.get(res)
        if cells is None:
            g = self.graph
            mid_lat = (g.node_lat[g.tail] + g.node_lat[g.head]) / 2
            mid_lng = (g.node_lng[g.tail] + g.node_lng[g.head]) / 2
            ints = np.fromiter(
                (h3.str_to_int(h3.latlng_to_cell(a, b, res)) for a, b in zip(mid_lat, mid_lng, strict=True)),
                dtype=np.uint64,
                count=g.arc_count,
            )
            cells = self._cells[res] = ints
        return np.flatnonzero(cells == np.uint64(h3.str_to_int(cell)))

    def free_flow_speed_mps(self, cells: Iterable[str], mode: Mode | None = None) -> dict[str, float]:
        """Length-weighted free-flow speed of each cell's roads for a mode (cells without roads left out)."""
        m = self.default_mode if mode is None else mode
        g = self.graph
        out = {}
        for cell in cells:
            arcs = self.arcs_in_cell(cell)
            arcs = arcs[np.isfinite(g.base_time_s[m, arcs])]
            if arcs.size:
                out[cell] = float(g.length_m[arcs].sum() / g.base_time_s[m, arcs].sum())
        return out

    def reset_live(self) -> None:
        """Back to the time-of-day profile alone."""
        with self._lock:
            changed = np.flatnonzero(self.live != 1.0)
            self.live[:] = 1.0
            if changed.size:
                self._recustomize(changed)
                self.version += 1

    def set_profile(self, profile: TrafficProfile) -> None:
        """A new time-of-day profile: every cached metric is re-customised in full."""
        with self._lock:
            self.profile = profile
            self._recustomize(None)
            self.version += 1

    def _recustomize(self, changed_arcs: np.ndarray | None) -> None:
        for net in self._nets.values():
            local = None if changed_arcs is None else net.local[changed_arcs]
            if local is not None:
                local = local[local >= 0]
                if local.size == 0:
                    continue
            for hour, metric in net.metrics.items():
                weights = self._weights_ms(net, hour)
                metric.reset(weights.tolist())
                net.weights[hour] = weights

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _sweep(metric: rk.CCHMetric, pinned: list[int], sweep: list[int], pin_sources: bool) -> list[np.ndarray]:
    """One row per swept node. Rows become arrays here, in the worker thread, while the other thread's
    queries run with the GIL released (a single conversion at the end cost a quarter of the time)."""
    if pin_sources:
        q = rk.CCHManyToOne(metric, pinned)
        rows = [_row(q.distances_to(t)) for t in sweep]
    else:
        q = rk.CCHOneToMany(metric, pinned)
        rows = [_row(q.distances_from(s)) for s in sweep]
    del q  # a metric may only be updated once no query holds it
    return rows


def _row(distances: list[int | None]) -> np.ndarray:
    try:
        return np.array(distances, dtype=np.float64)
    except TypeError:  # None: unreachable
        return np.array([np.inf if d is None else d for d in distances], dtype=np.float64)


def _to_array(rows: list[np.ndarray]) -> np.ndarray:
    return np.vstack(rows)


def graph_order(graph: RoadGraph) -> list[int]:
    """The CCH node order (inertial flow over coordinates), computed once per graph and kept with it."""
    if graph.cch_order is not None:
        return graph.cch_order.tolist()
    order = rk.compute_order_inertial(
        graph.node_count, graph.tail.tolist(), graph.head.tolist(), graph.node_lat.tolist(), graph.node_lng.tolist()
    )
    object.__setattr__(graph, "cch_order", np.asarray(order, dtype=np.int32))
    return list(order)
