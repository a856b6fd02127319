"""Travel times: the oracle interface the engine uses, and a straight-line oracle behind it.

The engine asks only `matrix(sources, targets, depart_at_ms)`; which oracle answers (the OSM road
graph, a Euclidean one for MDRP instances, this straight-line one) is wiring, not engine code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from core.geo import EARTH_RADIUS_M, LatLng


class TravelTimeOracle(Protocol):
    """Many-to-many travel times in seconds."""

    def matrix(self, sources: Sequence[LatLng], targets: Sequence[LatLng], depart_at_ms: int) -> np.ndarray:
        """A len(sources) x len(targets) array of travel times in seconds."""
        ...

    def access_distance_m(self, points: Sequence[LatLng]) -> np.ndarray:
        """How far each point lies from the network the oracle routes on (0 where it routes anywhere)."""
        ...


@runtime_checkable
class LiveTraffic(Protocol):
    """An oracle that takes live congestion: factors (time multipliers) per H3 cell of any resolution."""

    version: int

    def set_cell_factors(self, cells: dict[str, float]) -> int:
        """Applies factors to every road whose midpoint lies in each cell; returns roads changed."""
        ...

    def reset_live(self) -> None:
        """Drops every live factor."""
        ...

    def free_flow_speed_mps(self, cells: Iterable[str]) -> dict[str, float]:
        """The free-flow speed of each cell's roads, to compare observed rider speeds with."""
        ...


def matrices(
    oracle: TravelTimeOracle, queries: Sequence[tuple[Sequence[LatLng], Sequence[LatLng]]], depart_at_ms: int
) -> list[np.ndarray]:
    """Many small travel-time matrices: in one batch where the oracle offers it (the road oracle snaps
    every point at once), else one by one."""
    batched = getattr(oracle, "matrices", None)
    if batched is not None:
        return list(batched(queries, depart_at_ms))
    return [np.asarray(oracle.matrix(src, dst, depart_at_ms), dtype=float) for src, dst in queries]


def haversine_matrix_m(sources: Sequence[LatLng], targets: Sequence[LatLng]) -> np.ndarray:
    """Great-circle distances in metres, vectorised."""
    s = np.radians(np.array([(p.lat, p.lng) for p in sources], dtype=float).reshape(-1, 2))
    t = np.radians(np.array([(p.lat, p.lng) for p in targets], dtype=float).reshape(-1, 2))
    dlat = t[None, :, 0] - s[:, None, 0]
    dlng = t[None, :, 1] - s[:, None, 1]
    h = np.sin(dlat / 2) ** 2 + np.cos(s[:, None, 0]) * np.cos(t[None, :, 0]) * np.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))


class StraightLineOracle:
    """Great-circle distance times a detour factor, at a constant speed.

    For places without a road graph, and a baseline for the road oracle. 1.3 is the typical circuity of urban road
    networks (Ballou, Rahardja and Sakai 2002 measured 1.2-1.4 across cities); 4.2 m/s (15 km/h) is
    an e-bike's door-to-door average in city traffic, stops included.
    """

    def __init__(self, speed_mps: float = 4.2, detour_factor: float = 1.3) -> None:
        if speed_mps <= 0 or detour_factor < 1:
            raise ValueError("speed_mps must be positive and detour_factor at least 1")
        self.speed_mps = speed_mps
        self.detour_factor = detour_factor

    def matrix(self, sources: Sequence[LatLng], targets: Sequence[LatLng], depart_at_ms: int) -> np.ndarray:
        return haversine_matrix_m(sources, targets) * (self.detour_factor / self.speed_mps)

    def access_distance_m(self, points: Sequence[LatLng]) -> np.ndarray:
        return np.zeros(len(points))
