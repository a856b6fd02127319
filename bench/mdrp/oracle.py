"""The MDRP's travel-time rule as a TravelTimeOracle, on a plane of metres the engine sees as lat/lng.

MDRP coordinates are metres on a plane. The engine indexes riders by H3 cell of a latitude and
longitude, so the replay places the plane at the equator (where degrees of latitude and longitude
are the same length) with an exactly invertible projection; the oracle turns coordinates back into
metres and answers ceil(euclidean metres / metres per minute) minutes, the instance's own rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from core.geo import LatLng

EARTH_RADIUS_M = 6_371_008.8


def to_latlng(x: float, y: float) -> LatLng:
    return LatLng(math.degrees(y / EARTH_RADIUS_M), math.degrees(x / EARTH_RADIUS_M))


def to_metres(p: LatLng) -> tuple[float, float]:
    return math.radians(p.lng) * EARTH_RADIUS_M, math.radians(p.lat) * EARTH_RADIUS_M


class EuclideanMinutesOracle:
    """ceil(distance / speed) whole minutes between points of the plane (TravelTimeOracle)."""

    def __init__(self, meters_per_minute: float) -> None:
        if meters_per_minute <= 0:
            raise ValueError("meters_per_minute must be positive")
        self.meters_per_minute = meters_per_minute

    def matrix(self, sources: Sequence[LatLng], targets: Sequence[LatLng], depart_at_ms: int) -> np.ndarray:
        s = np.array([to_metres(p) for p in sources], dtype=np.float64).reshape(-1, 2)
        t = np.array([to_metres(p) for p in targets], dtype=np.float64).reshape(-1, 2)
        dist = np.hypot(s[:, None, 0] - t[None, :, 0], s[:, None, 1] - t[None, :, 1])
        # The projection round-trips to ~1e-9 m: without the tolerance an exact multiple of the speed
        # could round up a whole minute.
        return np.ceil(dist / self.meters_per_minute - 1e-7) * 60.0

    def access_distance_m(self, points: Sequence[LatLng]) -> np.ndarray:
        return np.zeros(len(points))
