"""Traffic: time-of-day profiles per road class, and live congestion factors pushed by ops or learned
from rider speeds. Both multiply free-flow travel times; neither needs a rebuild of the graph."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from routing_data.modes import CLASS_INDEX, ROAD_CLASSES, Mode

# Road classes grouped by how much peak traffic slows them.
ARTERIAL = ("motorway", "trunk", "primary", "secondary")
LOCAL = ("tertiary", "unclassified", "residential", "living_street", "service", "track", "other")
# Cycleways, paths, footways and pedestrian streets carry no motor traffic: never slowed by it.

# Default hourly time multipliers (local time). Shaped after published congestion levels: the TomTom
# Traffic Index puts European capitals' peak-hour extra travel time at roughly 30-50 % on arterials,
# less on local streets, near zero at night.
_ARTERIAL_BY_HOUR = (1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.15, 1.40, 1.45, 1.25, 1.15, 1.20,
                     1.25, 1.20, 1.20, 1.30, 1.45, 1.50, 1.35, 1.20, 1.10, 1.05, 1.0, 1.0)  # fmt: skip
_LOCAL_BY_HOUR = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.15, 1.20, 1.10, 1.05, 1.10,
                  1.10, 1.10, 1.10, 1.15, 1.20, 1.25, 1.15, 1.10, 1.05, 1.0, 1.0, 1.0)  # fmt: skip

# How much of motor congestion each mode suffers: riders filter past queues on e-bikes and scooters.
DEFAULT_SENSITIVITY = {Mode.CAR: 1.0, Mode.SCOOTER: 0.6, Mode.EBIKE: 0.3}


@dataclass(frozen=True)
class TrafficProfile:
    """Hourly multipliers of free-flow travel time per road class, and each mode's sensitivity to them."""

    by_class_hour: np.ndarray = field(default_factory=lambda: _default_table())  # (classes, 24), >= 1
    sensitivity: tuple[float, float, float] = (
        DEFAULT_SENSITIVITY[Mode.EBIKE],
        DEFAULT_SENSITIVITY[Mode.SCOOTER],
        DEFAULT_SENSITIVITY[Mode.CAR],
    )

    def __post_init__(self) -> None:
        table = np.asarray(self.by_class_hour, dtype=np.float64)
        if table.shape != (len(ROAD_CLASSES), 24):
            raise ValueError(f"by_class_hour must be {len(ROAD_CLASSES)} classes x 24 hours")
        if not np.all(np.isfinite(table)) or table.min() <= 0:
            raise ValueError("traffic multipliers must be positive numbers")
        if any(not 0 <= s <= 1 for s in self.sensitivity):
            raise ValueError("sensitivity must be within [0, 1]")
        object.__setattr__(self, "by_class_hour", table)

    def multipliers(self, mode: Mode, hour: int) -> np.ndarray:
        """Per road class, the time multiplier for `mode` at local `hour`."""
        raw = self.by_class_hour[:, hour % 24]
        return 1.0 + self.sensitivity[mode] * (raw - 1.0)

    @classmethod
    def from_json(cls, path: Path) -> TrafficProfile:
        """A city's profile: {"classes": {"primary": [24 numbers], ...}, "sensitivity": {"car": 1.0, ...}}.
        Classes not named keep the defaults."""
        data = json.loads(Path(path).read_text())
        table = _default_table()
        for name, hours in data.get("classes", {}).items():
            if name not in CLASS_INDEX:
                raise ValueError(f"unknown road class {name!r} in {path}")
            if len(hours) != 24:
                raise ValueError(f"road class {name!r} in {path} needs 24 hourly values")
            table[CLASS_INDEX[name]] = hours
        sens = dict(DEFAULT_SENSITIVITY)
        for name, value in data.get("sensitivity", {}).items():
            sens[Mode.parse(name)] = float(value)
        return cls(table, (sens[Mode.EBIKE], sens[Mode.SCOOTER], sens[Mode.CAR]))


def _default_table() -> np.ndarray:
    table = np.ones((len(ROAD_CLASSES), 24))
    for name in ARTERIAL:
        table[CLASS_INDEX[name]] = _ARTERIAL_BY_HOUR
    for name in LOCAL:
        table[CLASS_INDEX[name]] = _LOCAL_BY_HOUR
    return table


FREE_FLOW = TrafficProfile(np.ones((len(ROAD_CLASSES), 24)))
