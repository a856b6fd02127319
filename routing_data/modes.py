"""Travel modes: which OSM ways each mode may use, and how fast it goes on them.

Speeds are free-flow km/h per `highway` class. Sources:
- car: OSRM's car profile (`profiles/car.lua`, speed table), and OSRM's practice of driving at 80 %
  of a posted `maxspeed` (junctions, traffic) when one is tagged;
- scooter (moped, EU class L1e-B): capped at 45 km/h by its type approval (Regulation (EU) 168/2013,
  Annex I) and barred from motorways and motor roads (`motorroad=yes`), as mopeds are in the EU;
- e-bike (pedelec): assistance ends at 25 km/h (EN 15194); average riding speeds of 15-20 km/h in
  city traffic follow OSRM's bicycle profile (15 km/h default, 18-20 on cycleways) and measured
  pedelec trips (Schleinitz et al. 2017, "The German Naturalistic Cycling Study": 17-18 km/h mean
  for pedelecs); on footways and pedestrian streets the rider walks the bike (6 km/h).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Mode(enum.IntEnum):
    EBIKE = 0
    SCOOTER = 1
    CAR = 2

    @property
    def label(self) -> str:
        return {Mode.EBIKE: "ebike", Mode.SCOOTER: "scooter", Mode.CAR: "car"}[self]

    @classmethod
    def parse(cls, name: str) -> Mode:
        for mode in cls:
            if mode.label == name.lower().replace("-", ""):
                return mode
        raise ValueError(f"unknown travel mode {name!r} (known: ebike, scooter, car)")


# Road classes, in the order their index is stored in the graph (uint8).
ROAD_CLASSES: tuple[str, ...] = (
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
    "living_street", "service", "track", "cycleway", "path", "footway", "pedestrian", "other",
)  # fmt: skip
CLASS_INDEX = {name: i for i, name in enumerate(ROAD_CLASSES)}

# highway tag -> road class (links drive like their road, a little slower: see LINK_FACTOR).
HIGHWAY_TO_CLASS: dict[str, str] = {
    "motorway": "motorway", "motorway_link": "motorway",
    "trunk": "trunk", "trunk_link": "trunk",
    "primary": "primary", "primary_link": "primary",
    "secondary": "secondary", "secondary_link": "secondary",
    "tertiary": "tertiary", "tertiary_link": "tertiary",
    "unclassified": "unclassified", "road": "unclassified",
    "residential": "residential", "living_street": "living_street",
    "service": "service", "track": "track",
    "cycleway": "cycleway", "path": "path", "bridleway": "path",
    "footway": "footway", "pedestrian": "pedestrian",
}  # fmt: skip
LINK_FACTOR = 0.8

# Free-flow km/h by class; None: the mode may not use the class (unless tags explicitly allow it).
SPEED_KPH: dict[Mode, dict[str, float | None]] = {
    Mode.CAR: {
        "motorway": 90, "trunk": 85, "primary": 65, "secondary": 55, "tertiary": 40, "unclassified": 25,
        "residential": 25, "living_street": 10, "service": 15, "track": None, "cycleway": None, "path": None,
        "footway": None, "pedestrian": None, "other": None,
    },
    Mode.SCOOTER: {
        "motorway": None, "trunk": None, "primary": 45, "secondary": 45, "tertiary": 40, "unclassified": 25,
        "residential": 25, "living_street": 10, "service": 15, "track": 15, "cycleway": None, "path": None,
        "footway": None, "pedestrian": None, "other": None,
    },
    Mode.EBIKE: {
        "motorway": None, "trunk": None, "primary": 17, "secondary": 17, "tertiary": 18, "unclassified": 18,
        "residential": 18, "living_street": 12, "service": 14, "track": 12, "cycleway": 20, "path": 12,
        "footway": 6, "pedestrian": 6, "other": None,
    },
}  # fmt: skip
MAX_SPEED_KPH = {Mode.CAR: 130.0, Mode.SCOOTER: 45.0, Mode.EBIKE: 25.0}
# OSRM drives at 80 % of a tagged maxspeed.
MAXSPEED_FACTOR = 0.8

# Implicit maxspeed values (country:zone) in km/h; OSM wiki "Key:maxspeed", implicit speed limits.
_ZONE_KPH = {"urban": 50.0, "rural": 80.0, "motorway": 120.0, "trunk": 100.0, "living_street": 20.0,
             "bicycle_road": 30.0, "school": 30.0, "zone30": 30.0, "zone20": 20.0}  # fmt: skip
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?\s*$")


def parse_maxspeed(value: str | None) -> float | None:
    """km/h from a `maxspeed` value, or None when absent or not understood (then the class speed rules).

    Handles "50", "30 mph", "FI:urban", "DE:zone30", "walk", "none" and lists ("50;30": the lowest).
    """
    if not value:
        return None
    speeds = [s for s in (_parse_one(part) for part in value.split(";")) if s is not None]
    return min(speeds) if speeds else None


def _parse_one(value: str) -> float | None:
    v = value.strip().lower()
    m = _NUMBER.match(v)
    if m:
        speed = float(m.group(1))
        unit = m.group(2)
        if unit == "mph":
            speed *= 1.609344
        elif unit == "knots":
            speed *= 1.852
        return speed if 0 < speed <= 300 else None
    if v == "walk":
        return 6.0
    if ":" in v:
        zone = v.split(":", 1)[1]
        if zone in _ZONE_KPH:
            return _ZONE_KPH[zone]
        m = re.match(r"zone\s*(\d+)", zone)
        if m:
            return float(m.group(1))
    return None  # "none", "signals", "variable", garbage


@dataclass(frozen=True)
class WayRules:
    """What one OSM way allows: per mode, forward and backward speed in km/h (None = not allowed)."""

    road_class: str
    forward: tuple[float | None, float | None, float | None]
    backward: tuple[float | None, float | None, float | None]


_NO = {"no", "private", "agricultural", "forestry", "delivery_no"}
_YES = {"yes", "designated", "permissive", "destination", "customers", "delivery"}


def way_rules(tags: dict[str, str]) -> WayRules | None:
    """Per-mode speeds and directions of a way from its tags, or None when no mode may use it."""
    highway = tags.get("highway")
    road_class = HIGHWAY_TO_CLASS.get(highway or "")
    if road_class is None or tags.get("area") == "yes":
        return None
    link = (highway or "").endswith("_link")
    maxspeed = parse_maxspeed(tags.get("maxspeed"))
    generic_access = tags.get("access")
    oneway_tag = tags.get("oneway", "")
    implied_oneway = highway in ("motorway", "motorway_link") or tags.get("junction") in ("roundabout", "circular")
    if oneway_tag in ("yes", "true", "1"):
        oneway = 1
    elif oneway_tag == "-1" or oneway_tag == "reverse":
        oneway = -1
    elif oneway_tag == "no":
        oneway = 0
    else:
        oneway = 1 if implied_oneway else 0

    forward: list[float | None] = [None, None, None]
    backward: list[float | None] = [None, None, None]
    for mode in Mode:
        speed = _mode_speed(mode, road_class, tags, generic_access, maxspeed)
        if speed is None:
            continue
        if link:
            speed *= LINK_FACTOR
        mode_oneway = oneway
        if mode is Mode.EBIKE:
            if tags.get("oneway:bicycle") == "no" or tags.get("cycleway", "").startswith("opposite"):
                mode_oneway = 0
            if road_class in ("footway", "pedestrian", "path", "cycleway") and oneway_tag == "":
                mode_oneway = 0
        forward[mode] = speed if mode_oneway >= 0 else None
        backward[mode] = speed if mode_oneway <= 0 else None
    if all(s is None for s in forward + backward):
        return None
    return WayRules(road_class, tuple(forward), tuple(backward))  # type: ignore[arg-type]


def _mode_speed(
    mode: Mode, road_class: str, tags: dict[str, str], generic_access: str | None, maxspeed: float | None
) -> float | None:
    specific = {
        Mode.CAR: ("motorcar", "motor_vehicle", "vehicle"),
        Mode.SCOOTER: ("moped", "motor_vehicle", "vehicle"),
        Mode.EBIKE: ("bicycle", "vehicle"),
    }[mode]
    access = next((tags[k] for k in specific if k in tags), generic_access)
    default = SPEED_KPH[mode][road_class]
    if access in _NO:
        return None
    if default is None:
        if access in _YES and mode is Mode.EBIKE:
            default = 15.0  # a footway or path signed for bicycles
        else:
            return None
    if mode is Mode.SCOOTER and tags.get("motorroad") == "yes":
        return None
    if tags.get("highway") == "steps":
        return None
    speed = float(default)
    if maxspeed is not None:
        if mode is Mode.CAR:
            speed = maxspeed * MAXSPEED_FACTOR
        else:
            speed = min(speed, maxspeed)
    return min(speed, MAX_SPEED_KPH[mode])
