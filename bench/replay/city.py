"""Where a city's orders come from and go to: merchants from the extract's POIs, customers from its
addresses and residential buildings, each snapped to the e-bike road graph."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import osmium

from core.geo import LatLng
from routing_data.modes import Mode
from routing_data.oracle import RoadNetworkOracle

MERCHANT_AMENITIES = ("restaurant", "fast_food", "cafe", "pharmacy", "clinic", "ice_cream")
RESIDENTIAL_BUILDINGS = ("residential", "apartments", "house", "detached", "terrace", "semidetached_house")
# A place farther than this from a road is left out (inside a park, on a pier).
MAX_SNAP_M = 150.0


@dataclass(frozen=True)
class Merchant:
    id: str
    name: str
    position: LatLng
    prep_mean_s: float


def places(pbf: Path, oracle: RoadNetworkOracle) -> tuple[list[tuple[str, LatLng]], list[LatLng]]:
    """(merchants as (name, position), customer positions) found in the extract, near a road."""
    merchants: list[tuple[str, LatLng]] = []
    customers: list[LatLng] = []
    tag_filter = osmium.filter.KeyFilter("amenity", "shop", "addr:housenumber", "building")
    for obj in osmium.FileProcessor(str(pbf)).with_locations().with_filter(tag_filter):
        tags = obj.tags
        if obj.is_node():
            loc = obj.location
        elif obj.is_way() and len(obj.nodes) and obj.nodes[0].location.valid():
            loc = obj.nodes[0].location  # a building's first corner: close enough to its door
        else:
            continue
        if not loc.valid():
            continue
        p = LatLng(loc.lat, loc.lon)
        if tags.get("amenity") in MERCHANT_AMENITIES or ("shop" in tags and obj.is_node()):
            merchants.append((tags.get("name", f"{tags.get('amenity') or tags.get('shop')} {obj.id}"), p))
        elif "addr:housenumber" in tags or tags.get("building") in RESIDENTIAL_BUILDINGS:
            customers.append(p)
    near = lambda ps: [p for p, d in zip(ps, oracle.access_distance_m(ps, Mode.EBIKE), strict=True) if d <= MAX_SNAP_M]  # noqa: E731
    merchant_points = near([p for _, p in merchants]) if merchants else []
    kept = {(p.lat, p.lng) for p in merchant_points}
    return [(n, p) for n, p in merchants if (p.lat, p.lng) in kept], near(customers) if customers else []


def draw_merchants(found: list[tuple[str, LatLng]], rng: random.Random, prep_range_min: tuple[float, float],
                   limit: int = 300) -> list[Merchant]:  # fmt: skip
    chosen = found if len(found) <= limit else rng.sample(found, limit)
    return [
        Merchant(f"m{i}", name, p, rng.uniform(*prep_range_min) * 60)
        for i, (name, p) in enumerate(sorted(chosen, key=lambda m: (m[0], m[1].lat, m[1].lng)))
    ]
