"""Geometry every package shares: points, a served city, great-circle distances."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG), as h3 and osmnx use


@dataclass(frozen=True, slots=True)
class LatLng:
    lat: float
    lng: float


@dataclass(frozen=True)
class City:
    """A served city: its zone name (the Redis hash tag) and its service area."""

    name: str
    center: LatLng
    service_radius_m: float

    def __post_init__(self) -> None:
        if not self.name or "{" in self.name or "}" in self.name:
            raise ValueError(f"city name {self.name!r} must be non-empty and free of braces")
        if self.service_radius_m <= 0:
            raise ValueError("service_radius_m must be positive")


def unit_vectors(points: Sequence[LatLng]) -> np.ndarray:
    """Points as unit vectors on the sphere: chord length between them orders like great-circle distance
    (what KD-trees over riders and merchants rank by)."""
    lat = np.radians([p.lat for p in points])
    lng = np.radians([p.lng for p in points])
    return np.c_[np.cos(lat) * np.cos(lng), np.cos(lat) * np.sin(lng), np.sin(lat)]


def haversine_m(a_lat: float, a_lng: float, b_lat: float, b_lng: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(a_lat), math.radians(b_lat)
    dp, dl = p2 - p1, math.radians(b_lng - a_lng)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
