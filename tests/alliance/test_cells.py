"""The H3 index of an alliance's merchants: partners within an offer's distance of a place, whatever their number."""

from __future__ import annotations

import math
import random

from alliance.cells import MAX_RINGS, CellIndex, disk_for
from core.geo import haversine_m

CENTRE = (31.2304, 121.4737)  # People's Square, Shanghai


def offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_195, lng + east_m / (111_195 * math.cos(math.radians(lat)))


def test_the_disk_is_fine_for_short_distances_and_coarse_for_long_ones() -> None:
    """Up to 400 m: one ring of resolution 8; 1 km: two; beyond 4.6 km coarser cells, never more than 8 rings but
    at resolution 5; 50 km: resolution 5."""
    assert [disk_for(d) for d in (1, 400, 401, 1_000, 4_600)] == [(8, 1), (8, 1), (8, 2), (8, 2), (8, 8)]
    assert disk_for(4_601)[0] == 7 and disk_for(50_000)[0] == 5
    assert all(disk_for(d)[1] <= MAX_RINGS for d in range(1, 50_001, 97))


def test_partners_within_the_distance_are_found_and_far_ones_are_not() -> None:
    """Among 3,000 merchants scattered over 80 km, the disk around a place holds every merchant within the offer's
    distance of it and none beyond 2.5 d + 2 km (the rounding to whole cells documented in alliance.cells)."""
    rng = random.Random(8)
    places = {
        f"m{i}": offset(*CENTRE, rng.uniform(-40_000, 40_000), rng.uniform(-40_000, 40_000)) for i in range(3_000)
    }
    index = CellIndex((m, lat, lng) for m, (lat, lng) in places.items())
    for _ in range(4):
        here = offset(*CENTRE, rng.uniform(-5_000, 5_000), rng.uniform(-5_000, 5_000))
        for d in (300, 1_000, 3_000, 8_000, 20_000):
            found = index.near(*here, d)
            for m, (lat, lng) in places.items():
                distance = haversine_m(here[0], here[1], lat, lng)
                if distance <= d:
                    assert m in found, (m, distance, d)
                if distance > 2.5 * d + 2_000:
                    assert m not in found, (m, distance, d)
