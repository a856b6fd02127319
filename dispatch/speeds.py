"""Congestion learned from the speeds riders report in their GPS fixes, per H3 cell."""

from __future__ import annotations

import h3


class ObservedSpeeds:
    """Learns congestion from the speeds riders report: per H3 cell, how much slower riders move than
    the free-flow speed of the cell's roads.

    Only moving riders count (a rider waiting at a merchant or a red light says nothing about the road);
    a cell needs `min_samples` recent observations before it gets a factor. Observations decay with
    `half_life_s`, so a jam that clears stops slowing routes within minutes.
    """

    def __init__(
        self, resolution: int = 8, min_samples: int = 20, half_life_s: float = 300.0, min_moving_mps: float = 1.0
    ) -> None:
        self.resolution = resolution
        self.min_samples = min_samples
        self.half_life_s = half_life_s
        self.min_moving_mps = min_moving_mps
        # cell -> [decayed count, decayed sum of speeds, time of last update in ms]
        self._cells: dict[str, list[float]] = {}

    def observe(self, lat: float, lng: float, speed_mps: float, at_ms: int) -> None:
        if not speed_mps >= self.min_moving_mps:
            return
        cell = h3.latlng_to_cell(lat, lng, self.resolution)
        entry = self._cells.get(cell)
        if entry is None:
            self._cells[cell] = [1.0, speed_mps, float(at_ms)]
            return
        decay = 0.5 ** (max(0.0, at_ms - entry[2]) / 1000 / self.half_life_s)
        entry[0] = entry[0] * decay + 1.0
        entry[1] = entry[1] * decay + speed_mps
        entry[2] = float(at_ms)

    def mean_speeds(self, now_ms: int) -> dict[str, tuple[float, float]]:
        """Per cell with enough recent samples: (mean observed speed in m/s, effective sample count)."""
        out = {}
        for cell, (count, total, last_ms) in self._cells.items():
            decay = 0.5 ** (max(0.0, now_ms - last_ms) / 1000 / self.half_life_s)
            if count * decay >= self.min_samples:
                out[cell] = (total / count, count * decay)
        return out

    def factors(self, free_flow_mps: dict[str, float], now_ms: int, max_factor: float = 5.0) -> dict[str, float]:
        """Travel-time factors per cell (>= 1: riders are never assumed faster than free flow)."""
        out = {}
        for cell, (observed, _) in self.mean_speeds(now_ms).items():
            expected = free_flow_mps.get(cell)
            if expected:
                out[cell] = float(min(max_factor, max(1.0, expected / observed)))
        return out
