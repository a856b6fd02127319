"""Congestion learned from riders' reported speeds."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from dispatch.speeds import ObservedSpeeds
from routing_data.build import load_or_build
from routing_data.oracle import RoadNetworkOracle

LAT, LNG = 60.1700, 24.9420


def test_slow_riders_give_a_factor_and_it_fades() -> None:
    """Riders at half the free-flow speed double travel times in their cell; the evidence decays."""
    speeds = ObservedSpeeds(resolution=8, min_samples=10, half_life_s=60)
    cell = h3.latlng_to_cell(LAT, LNG, 8)
    for i in range(30):
        speeds.observe(LAT, LNG, 2.5, at_ms=1_000_000 + i * 1000)
        speeds.observe(LAT, LNG, 0.2, at_ms=1_000_000 + i * 1000)  # standing still: ignored
    factors = speeds.factors({cell: 5.0}, now_ms=1_030_000)
    assert factors == {cell: pytest.approx(2.0)}
    assert speeds.factors({cell: 5.0}, now_ms=1_030_000 + 10 * 60_000) == {}


def test_fast_riders_never_speed_roads_up() -> None:
    """Riders faster than free flow leave the factor at 1 (the profile is a floor)."""
    speeds = ObservedSpeeds(min_samples=5)
    for i in range(10):
        speeds.observe(LAT, LNG, 9.0, at_ms=i * 1000)
    [factor] = speeds.factors({h3.latlng_to_cell(LAT, LNG, 8): 5.0}, now_ms=10_000).values()
    assert factor == 1.0


def test_oracle_reports_free_flow_speed_of_a_cell() -> None:
    """The oracle's free-flow speed of a cell lies within the e-bike speed table."""
    oracle = RoadNetworkOracle(load_or_build())
    cell = h3.latlng_to_cell(float(np.median(oracle.graph.node_lat)), float(np.median(oracle.graph.node_lng)), 8)
    [speed] = oracle.free_flow_speed_mps([cell]).values()
    assert 6 / 3.6 <= speed <= 25 / 3.6
    oracle.close()
