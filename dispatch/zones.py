"""How a city is cut into zones: the unit that one worker ticks, one lease guards and one hash tag keeps
together in Redis (so a zone's commits are single-slot transactions on a cluster).

Three ways (`ZoneSpec`): the whole city as one zone (the replays, and a small town); the H3 cells of
one resolution that cover the city's service area (resolution 6 by default: cells of ~36 km², a few
kilometres across, the size of a delivery district — Meituan's delivery areas, Swiggy's zones); or
the polygons of a GeoJSON file (districts drawn by ops). An order belongs to the zone of its pickup, a
rider to one zone at a time (`dispatch.riders`). A point outside every zone (an order the service area
refuses anyway, a rider beyond the edge) belongs to the nearest zone, so every point has exactly one.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import h3

from core.geo import City, LatLng, haversine_m

# A zone id is part of every key's hash tag (no braces, so the tag ends where it should). Zones drawn in a
# GeoJSON file are named with letters, digits and `. _ : -` only; others are made of the city's name.
ZONE_NAME = re.compile(r"[A-Za-z0-9._:-]{1,64}")
DEFAULT_ZONE_RESOLUTION = 6


@dataclass(frozen=True)
class ZoneSpec:
    """What the operator chose: `resolution` (H3 cells of that size), `geojson` (a file of polygons), or
    neither (the whole city is one zone)."""

    resolution: int | None = None
    geojson: Path | None = None

    def __post_init__(self) -> None:
        if self.resolution is not None and self.geojson is not None:
            raise ValueError("zones come from an H3 resolution or a GeoJSON file, not both")
        if self.resolution is not None and not 0 <= self.resolution <= 15:
            raise ValueError("a zone resolution must be within 0..15")

    @classmethod
    def parse(cls, text: str) -> ZoneSpec:
        """`city` (one zone), an H3 resolution (`6`), or a path to a GeoJSON file."""
        if text == "city":
            return cls()
        if text.isdigit():
            return cls(resolution=int(text))
        return cls(geojson=Path(text))


class Zoning:
    """A city's zones: `zone_of` a point, and every zone (`ids`), in a fixed order."""

    def __init__(self, city: City, ids: list[str], centers: list[LatLng]) -> None:
        if not ids:
            raise ValueError(f"{city.name} has no zone")
        for z in ids:
            if not z or any(c in z for c in "{}|") or not z.isprintable():
                raise ValueError(f"zone id {z!r} must be printable and free of braces and |")
        if len(set(ids)) != len(ids):
            raise ValueError("zone ids repeat")
        self.city = city
        self.ids: tuple[str, ...] = tuple(ids)
        self._centers = centers

    def __len__(self) -> int:
        return len(self.ids)

    def zone_of(self, at: LatLng) -> str:
        if len(self.ids) == 1:
            return self.ids[0]
        return self._locate(at) or self._nearest(at)

    def _locate(self, at: LatLng) -> str | None:
        raise NotImplementedError

    def _nearest(self, at: LatLng) -> str:
        best = min(range(len(self.ids)), key=lambda i: haversine_m(at.lat, at.lng, self._centers[i].lat,
                                                                   self._centers[i].lng))  # fmt: skip
        return self.ids[best]


class OneZone(Zoning):
    """The whole city is one zone, named after it (the keys of a single-zone deployment carry the city's
    name as their hash tag, as before zones existed)."""

    def __init__(self, city: City) -> None:
        super().__init__(city, [city.name], [city.center])

    def _locate(self, at: LatLng) -> str | None:
        return self.ids[0]


class H3Zones(Zoning):
    """The H3 cells of one resolution that reach into the city's service area; zone id `<city>-<cell>`."""

    def __init__(self, city: City, resolution: int) -> None:
        self.resolution = resolution
        edge_m = h3.average_hexagon_edge_length(resolution, unit="m")
        origin = h3.latlng_to_cell(city.center.lat, city.center.lng, resolution)
        # Rings far enough to cover the disc; a cell is kept when its centre lies within an edge of the disc
        # (no point of a cell lies farther than an edge from its centre; 10% more for H3's distortion).
        k = math.ceil(city.service_radius_m / (edge_m * math.sqrt(3))) + 2
        cells = []
        for cell in sorted(h3.grid_disk(origin, k)):
            lat, lng = h3.cell_to_latlng(cell)
            if haversine_m(lat, lng, city.center.lat, city.center.lng) <= city.service_radius_m + 1.1 * edge_m:
                cells.append(cell)
        self._zone_of_cell = {c: f"{city.name}-{c}" for c in cells}
        super().__init__(city, [self._zone_of_cell[c] for c in cells], [LatLng(*h3.cell_to_latlng(c)) for c in cells])

    def _locate(self, at: LatLng) -> str | None:
        return self._zone_of_cell.get(h3.latlng_to_cell(at.lat, at.lng, self.resolution))


class PolygonZones(Zoning):
    """Zones drawn as GeoJSON polygons (a FeatureCollection; each feature's `zone` property, else its `id`,
    names it). Polygons should not overlap; where they do, the first listed wins."""

    def __init__(self, city: City, path: Path) -> None:
        import shapely
        from shapely.geometry import Point, shape

        self._point = Point
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read zones from {path}: {exc}") from exc
        features = data.get("features") if isinstance(data, dict) else None
        if not features:
            raise ValueError(f"{path} holds no GeoJSON features")
        ids, shapes = [], []
        for i, feature in enumerate(features):
            props = feature.get("properties") or {}
            zone = props.get("zone", feature.get("id"))
            geometry = shape(feature.get("geometry") or {})
            if zone is None or geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
                raise ValueError(f"{path}: feature {i} needs a `zone` property and a polygon")
            if not ZONE_NAME.fullmatch(str(zone)):
                raise ValueError(
                    f"{path}: feature {i}'s zone {str(zone)[:40]!r} must be 1-64 of letters, digits and . _ : -"
                )
            ids.append(str(zone))
            shapes.append(geometry)
        self._shapes = shapes
        self._tree = shapely.STRtree(shapes)
        # GeoJSON is (lng, lat); a representative point lies inside its polygon.
        centers = [LatLng(s.representative_point().y, s.representative_point().x) for s in shapes]
        super().__init__(city, ids, centers)

    def _locate(self, at: LatLng) -> str | None:
        point = self._point(at.lng, at.lat)
        hits = sorted(int(i) for i in self._tree.query(point, predicate="intersects"))
        return self.ids[hits[0]] if hits else None


def make_zoning(city: City, spec: ZoneSpec | None) -> Zoning:
    if spec is None or (spec.resolution is None and spec.geojson is None):
        return OneZone(city)
    if spec.geojson is not None:
        return PolygonZones(city, spec.geojson)
    assert spec.resolution is not None
    return H3Zones(city, spec.resolution)
