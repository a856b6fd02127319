"""The H3 index of an alliance's merchants: partners within an offer's rings of a place, whatever their number."""

from __future__ import annotations

import math
import random

from alliance.cells import CellIndex, place_to_cell, rings_for
from core.geo import haversine_m

CENTRE = (31.2304, 121.4737)  # People's Square, Shanghai


def offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_195, lng + east_m / (111_195 * math.cos(math.radians(lat)))


def test_rings_round_the_distance_up() -> None:
    """Up to 400 m: one ring; 401 m to 1 km: two; 50 km: 84."""
    assert [rings_for(d) for d in (1, 400, 401, 1_000, 1_001, 50_000)] == [1, 1, 2, 2, 3, 84]


def test_partners_within_the_distance_are_found_and_far_ones_are_not() -> None:
    """Among 2,000 merchants scattered over 20 km, the disk of rings_for(d) around a place holds every merchant
    within d of it and none beyond 1.5 d + 2.1 km (the rounding to whole cells documented in alliance.cells)."""
    rng = random.Random(8)
    places = {
        f"m{i}": offset(*CENTRE, rng.uniform(-10_000, 10_000), rng.uniform(-10_000, 10_000)) for i in range(2_000)
    }
    index = CellIndex((m, lat, lng) for m, (lat, lng) in places.items())
    for d in (300, 500, 1_000, 1_500, 3_000):
        found = index.near(place_to_cell(*CENTRE), rings_for(d))
        for m, (lat, lng) in places.items():
            distance = haversine_m(CENTRE[0], CENTRE[1], lat, lng)
            if distance <= d:
                assert m in found, (m, distance, d)
            if distance > 1.5 * d + 2_100:
                assert m not in found, (m, distance, d)
