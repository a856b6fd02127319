"""Benchmark: the CCH travel-time oracle against one full scipy Dijkstra per source, same weights.

`python -m bench.travel_times [--graphs baltimore,liechtenstein,synthetic] [--synthetic-nodes 200000]`

Per graph: build time, memory, warm matrix times for 100x100, 1000x300 and 1000x1000 (median of
--repeats), the naive baseline measured in the same run, max and mean error against exact, and the
times of a full traffic update (every arc re-weighted) and of a live update of 1 % of arcs. Then the
default city's build from scratch in a fresh process.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from routing_data.build import build_graph
from routing_data.cities import known_cities
from routing_data.graph import RoadGraph
from routing_data.modes import Mode
from routing_data.oracle import MS, RoadNetworkOracle, graph_order
from routing_data.synthetic import synthetic_city

SIZES = ((100, 100), (1000, 300), (1000, 1000))
HOUR = 12


def rss_mb() -> float:
    """Resident memory now (not the peak), from /proc."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def graph_bytes(g: RoadGraph) -> int:
    arrays = (
        g.node_lat,
        g.node_lng,
        g.tail,
        g.head,
        g.first_out,
        g.length_m,
        g.road_class,
        g.base_time_s,
        g.mode_nodes,
    )
    return sum(a.nbytes for a in arrays)


def bench_graph(name: str, make, repeats: int, mode: Mode) -> dict[str, object]:  # type: ignore[no-untyped-def]
    gc.collect()
    rss0 = rss_mb()  # the previous graph's baseline matrices are freed by now
    t0 = time.perf_counter()
    graph: RoadGraph = make()
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    graph_order(graph)
    order_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    oracle = RoadNetworkOracle(graph)
    oracle.matrix_nodes([int(graph.nodes_of(mode)[0])], [int(graph.nodes_of(mode)[1])], HOUR, mode)  # customise
    hierarchy_s = time.perf_counter() - t0
    oracle_rss_mb = rss_mb() - rss0  # graph + hierarchies + one metric, before any baseline matrix
    rng = np.random.default_rng(42)
    nodes = graph.nodes_of(mode)
    times = oracle.arc_times_s(mode, HOUR)
    usable = np.isfinite(times)
    w = np.maximum(1, np.rint(times[usable] * MS))
    adjacency = csr_matrix((w, (graph.tail[usable], graph.head[usable])), shape=(graph.node_count,) * 2)

    rows: list[dict[str, object]] = []
    exact_cache: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
    for n_src, n_dst in SIZES:
        src = rng.choice(nodes, n_src)
        dst = rng.choice(nodes, n_dst)
        oracle.matrix_nodes(src, dst, HOUR, mode)  # warm
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            got = oracle.matrix_nodes(src, dst, HOUR, mode)
            samples.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        exact = dijkstra(adjacency, indices=src) / MS  # the naive baseline: one full Dijkstra per source
        naive_s = time.perf_counter() - t0
        exact = exact[:, dst]
        err = np.abs(got - exact)
        rel = err / np.maximum(exact, 1e-9)
        rows.append({
            "size": f"{n_src}x{n_dst}", "median_ms": statistics.median(samples) * 1000, "naive_ms": naive_s * 1000,
            "max_err_s": float(err.max()), "mean_rel_err": float(rel.mean()),
        })  # fmt: skip
        exact_cache[n_src] = (src, dst, naive_s)

    t0 = time.perf_counter()
    oracle.set_arc_factors(np.arange(graph.arc_count), np.full(graph.arc_count, 1.25))
    oracle.matrix_nodes(src[:1], dst[:1], HOUR, mode)
    full_update_ms = (time.perf_counter() - t0) * 1000
    oracle.reset_live()
    some = rng.choice(graph.arc_count, graph.arc_count // 100, replace=False)
    live_samples = []
    for k in range(repeats):
        t0 = time.perf_counter()
        oracle.set_arc_factors(some, np.full(some.size, 1.5 + 0.1 * k))
        oracle.matrix_nodes(src[:1], dst[:1], HOUR, mode)
        live_samples.append((time.perf_counter() - t0) * 1000)
    oracle.close()
    return {
        "name": name, "nodes": graph.node_count, "arcs": graph.arc_count, "build_s": build_s, "order_s": order_s,
        "hierarchy_s": hierarchy_s, "graph_mb": graph_bytes(graph) / 2**20, "rss_growth_mb": oracle_rss_mb,
        "rows": rows, "full_update_ms": full_update_ms, "live_1pct_ms": statistics.median(live_samples),
        "cached_hours": 1,
    }  # fmt: skip


def helsinki_fresh_build_s() -> float:
    """`python -m routing_data build --rebuild` of the default city in a new process with an empty cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, TONGCHENG_GRAPH_CACHE=cache)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "routing_data", "build", "--rebuild"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--graphs", default="baltimore,liechtenstein,synthetic")
    p.add_argument("--synthetic-nodes", type=int, default=200_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--mode", default="ebike", help="travel mode measured (ebike, scooter, car)")
    ns = p.parse_args(argv)
    mode = Mode.parse(ns.mode)
    cities = known_cities()
    results = []
    for name in ns.graphs.split(","):
        if name == "synthetic":

            def make():  # type: ignore[no-untyped-def]
                return synthetic_city(ns.synthetic_nodes, seed=1)
        else:
            source = cities[name]
            if not source.pbf.exists():
                print(f"SKIPPED {name}: {source.pbf} is absent")
                continue

            def make(pbf=source.pbf, city=name):  # type: ignore[no-untyped-def]
                return build_graph(pbf, city)

        print(f"measuring {name} ...", flush=True)
        results.append(bench_graph(name, make, ns.repeats, mode))

    print(f"\nTravel-time oracle, mode {mode.label}, hour {HOUR}, warm, median of {ns.repeats}; naive = one full "
          "scipy Dijkstra per source on the same weights, same run")  # fmt: skip
    print(
        f"{'graph':>16} {'nodes':>8} {'size':>10} {'CCH ms':>9} {'naive ms':>10} {'speed-up':>9} {'max err s':>10} {'mean rel err':>13}"
    )
    for r in results:
        for row in r["rows"]:  # type: ignore[attr-defined]
            print(f"{r['name']:>16} {r['nodes']:>8,} {row['size']:>10} {row['median_ms']:>9.1f} {row['naive_ms']:>10.0f} "
                  f"{row['naive_ms'] / row['median_ms']:>8.0f}x {row['max_err_s']:>10.3g} {row['mean_rel_err']:>13.2g}")  # fmt: skip
    print(f"\n{'graph':>16} {'build s':>8} {'order s':>8} {'CCH+metric s':>13} {'graph MB':>9} {'RSS MB':>7} "
          f"{'full traffic ms':>16} {'1% live ms':>11}")  # fmt: skip
    for r in results:
        print(f"{r['name']:>16} {r['build_s']:>8.2f} {r['order_s']:>8.2f} {r['hierarchy_s']:>13.2f} {r['graph_mb']:>9.1f} "
              f"{r['rss_growth_mb']:>7.0f} {r['full_update_ms']:>16.0f} {r['live_1pct_ms']:>11.0f}")  # fmt: skip
    print(f"\nHelsinki default build from scratch (new process, empty cache): {helsinki_fresh_build_s():.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
