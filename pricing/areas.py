"""Delivery areas: a radius, an isochrone on the road graph or a GeoJSON polygon, compiled to H3 cells,
kept in Redis with a city index cell -> merchants, and shrunk by outer rings while riders are saturated.

Each cell of an area carries its depth: 0 for a cell on the area's edge (a neighbour outside it), one
more per ring inward (a breadth-first walk from the edge), so "drop the outer k rings" is "keep cells of
depth >= k" whatever the area's shape. The index `areacell:<cell>` maps merchant -> depth, and the
merchant's rings dropped now sit in one hash (`shrink`). Each cell also keeps its merchants' ids in a sorted
set of equal scores (`cellids:<cell>`), so "which merchants deliver here" pages through it by id with
ZRANGEBYLEX from the last id seen: a page costs O(log n + page size), whatever the number of merchants.
"""

from __future__ import annotations

import json
import math
from collections import deque
from typing import Protocol

import h3
import numpy as np
import redis.asyncio as aioredis
import shapely
from shapely.geometry import Polygon
from shapely.validation import explain_validity

from core.errors import InvalidArgument, NotFound
from core.geo import City, LatLng, haversine_m
from pricing import keys
from pricing.models import DEFAULT_RADIUS_M, MAX_ISOCHRONE_MINUTES, MAX_RADIUS_M, Area, AreaSpec

# Resolution 9: cells of about 0.1 km² (edge ~174 m, centres ~300 m apart), so an area's edge is placed
# within ~150 m and a 3-km radius is ~300 cells; resolution 8 (0.74 km², Uber's surge cells) would move
# a fence by half a kilometre.
AREA_RESOLUTION = 9
# Surge (and so saturation) is measured on resolution-8 cells (H3 docs: 0.74 km² on average).
SURGE_RESOLUTION = 8
# The largest area kept (a 50-km radius is ~100,000 cells at resolution 9).
MAX_AREA_CELLS = 120_000
# An isochrone reaching a road node within this distance of the road graph's outer hull is cut by the
# edge of the city's data: the real area would reach further than the graph can say.
HULL_MARGIN_M = 100.0
# Road speeds change by hour; isochrones are computed at this local hour's metric (midday traffic).
ISOCHRONE_HOUR = 12
MAX_POLYGON_CHARS = 200_000
_CENTRE_SPACING_M = 2 * h3.average_hexagon_edge_length(AREA_RESOLUTION, unit="m") * math.sqrt(3) / 2


class Reachability(Protocol):
    """What an isochrone needs of the road graph (`routing_data.RoadNetworkOracle` gives it)."""

    def reachable_points(self, origin: LatLng, within_s: float) -> list[LatLng]: ...


def depths(cells: set[str]) -> dict[str, int]:
    """Each cell's depth in the set: 0 on the edge, +1 per ring inward."""
    out: dict[str, int] = {}
    queue: deque[str] = deque()
    for c in cells:
        if any(n not in cells for n in h3.grid_ring(c, 1)):
            out[c] = 0
            queue.append(c)
    while queue:
        c = queue.popleft()
        for n in h3.grid_ring(c, 1):
            if n in cells and n not in out:
                out[n] = out[c] + 1
                queue.append(n)
    return out


def radius_cells(center: LatLng, radius_m: float) -> set[str]:
    """Cells whose centre lies within radius_m of the centre (the merchant's own cell always)."""
    origin = h3.latlng_to_cell(center.lat, center.lng, AREA_RESOLUTION)
    k = int(radius_m / _CENTRE_SPACING_M) + 2
    disk = h3.grid_disk(origin, k)
    ll = np.array([h3.cell_to_latlng(c) for c in disk])
    lat1, lng1 = np.radians(center.lat), np.radians(center.lng)
    lat2, lng2 = np.radians(ll[:, 0]), np.radians(ll[:, 1])
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lng2 - lng1) / 2) ** 2
    dist = 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))
    return {c for c, d in zip(disk, dist, strict=True) if d <= radius_m} | {origin}


def polygon_cells(geojson: str, field: str = "polygon_geojson") -> set[str]:
    """Cells of a GeoJSON Polygon (centre inside); INVALID_ARGUMENT naming the field for an open ring, a
    self-intersecting one, or anything that is not one polygon."""
    if len(geojson) > MAX_POLYGON_CHARS:
        raise InvalidArgument.field(field, f"at most {MAX_POLYGON_CHARS} characters")
    try:
        doc = json.loads(geojson)
    except ValueError:
        raise InvalidArgument.field(field, "not JSON") from None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = doc.get("geometry")
    if not isinstance(doc, dict) or doc.get("type") != "Polygon" or not isinstance(doc.get("coordinates"), list):
        raise InvalidArgument.field(
            field, 'must be a GeoJSON Polygon: {"type": "Polygon", "coordinates": [[[lng, lat], ...]]}'
        )
    rings = []
    for i, ring in enumerate(doc["coordinates"][:100]):
        try:
            points = [(float(p[0]), float(p[1])) for p in ring]
        except (TypeError, ValueError, IndexError):
            raise InvalidArgument.field(f"{field}.coordinates[{i}]", "positions must be [lng, lat] numbers") from None
        if len(points) < 4:
            raise InvalidArgument.field(f"{field}.coordinates[{i}]", "a ring needs at least 4 positions")
        if points[0] != points[-1]:
            raise InvalidArgument.field(
                f"{field}.coordinates[{i}]", "open ring: the last position must repeat the first"
            )
        if not all(math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90 for x, y in points):
            raise InvalidArgument.field(
                f"{field}.coordinates[{i}]", "positions must lie within [-180, 180] x [-90, 90]"
            )
        rings.append(points)
    if not rings:
        raise InvalidArgument.field(f"{field}.coordinates", "needs an outer ring")
    shape = Polygon(rings[0], rings[1:])
    if not shape.is_valid:
        raise InvalidArgument.field(field, f"not a simple polygon: {explain_validity(shape)[:80]}")
    if shape.area == 0:
        raise InvalidArgument.field(field, "encloses no area")
    minx, miny, maxx, maxy = shape.bounds
    if (maxx - minx) > 1.0 or (maxy - miny) > 1.0:
        raise InvalidArgument.field(field, "spans more than a degree: larger than any city's delivery area")
    poly = h3.LatLngPoly([(y, x) for x, y in rings[0]], *[[(y, x) for x, y in r] for r in rings[1:]])
    cells = set(h3.h3shape_to_cells(poly, AREA_RESOLUTION))
    if not cells:
        raise InvalidArgument.field(field, "covers no H3 cell (resolution 9, ~0.1 km²): draw it larger")
    return cells


class CityEdge:
    """The road graph's outer hull, to tell an isochrone cut by the edge of the city's data."""

    def __init__(self, city: City, lats: np.ndarray, lngs: np.ndarray) -> None:
        self.city = city
        self._lat0 = city.center.lat
        x, y = self._xy(lats, lngs)
        self._hull = shapely.MultiPoint(np.c_[x, y]).convex_hull

    def _xy(self, lat: np.ndarray, lng: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = 111_320.0
        return (np.asarray(lng) - self.city.center.lng) * k * math.cos(math.radians(self._lat0)), (
            np.asarray(lat) - self._lat0
        ) * k

    def near_edge(self, points: list[LatLng]) -> bool:
        if not points:
            return False
        x, y = self._xy(np.array([p.lat for p in points]), np.array([p.lng for p in points]))
        boundary = self._hull.boundary
        return bool(np.min(shapely.distance(shapely.points(np.c_[x, y]), boundary)) < HULL_MARGIN_M)


def compile_area(spec: AreaSpec, merchant: LatLng, reach: Reachability | None, edge: CityEdge | None) -> dict[str, int]:
    """The area's cells with their depths; INVALID_ARGUMENT naming the request's field."""
    if spec.kind == "radius":
        if not (math.isfinite(spec.radius_m) and 0 < spec.radius_m <= MAX_RADIUS_M):
            raise InvalidArgument.field("radius_m", f"must be within (0, {MAX_RADIUS_M:.0f}] m, got {spec.radius_m}")
        cells = radius_cells(merchant, spec.radius_m)
    elif spec.kind == "isochrone":
        if not 1 <= spec.isochrone_minutes <= MAX_ISOCHRONE_MINUTES:
            raise InvalidArgument.field("isochrone.minutes", f"must be within [1, {MAX_ISOCHRONE_MINUTES}]")
        if reach is None or edge is None:
            raise InvalidArgument.field("isochrone", "this server has no road graph: use a radius or a polygon")
        city = edge.city
        if haversine_m(merchant.lat, merchant.lng, city.center.lat, city.center.lng) > city.service_radius_m:
            raise InvalidArgument.field("isochrone", f"the merchant lies outside the city of {city.name}")
        points = reach.reachable_points(merchant, spec.isochrone_minutes * 60.0)
        if edge.near_edge(points):
            raise InvalidArgument.field(
                "isochrone.minutes",
                f"a {spec.isochrone_minutes}-minute isochrone reaches beyond the city's road graph: take fewer minutes",
            )
        cells = {h3.latlng_to_cell(p.lat, p.lng, AREA_RESOLUTION) for p in points}
        cells.add(h3.latlng_to_cell(merchant.lat, merchant.lng, AREA_RESOLUTION))
    elif spec.kind == "polygon":
        cells = polygon_cells(spec.polygon_geojson)
    else:
        raise InvalidArgument.field("area", "set one of radius_m, isochrone, polygon_geojson")
    if len(cells) > MAX_AREA_CELLS:
        raise InvalidArgument.field(spec.kind, f"covers {len(cells)} cells, more than {MAX_AREA_CELLS}")
    return depths(cells)


def default_spec() -> AreaSpec:
    return AreaSpec("radius", radius_m=DEFAULT_RADIUS_M)


# Replaces a merchant's area and its index entries. KEYS: area, areas, shrink. ARGV: prefix, merchant,
# spec, fingerprint, cells JSON, max depth, surge cell, a cell of the area. Returns 'same' or 'set'. No
# checks can fail. An area stored before the cells' id sets existed is rewritten (its cell not in one).
_SET_LUA = """
local old = redis.call('HGET', KEYS[1], 'fingerprint')
if old == ARGV[4] and redis.call('ZSCORE', ARGV[1] .. 'cellids:' .. ARGV[8], ARGV[2]) then return 'same' end
local before = redis.call('HGET', KEYS[1], 'cells')
if before then
  for _, pair in ipairs(cjson.decode(before)) do
    redis.call('HDEL', ARGV[1] .. 'areacell:' .. pair[1], ARGV[2])
    redis.call('ZREM', ARGV[1] .. 'cellids:' .. pair[1], ARGV[2])
  end
end
for _, pair in ipairs(cjson.decode(ARGV[5])) do
  redis.call('HSET', ARGV[1] .. 'areacell:' .. pair[1], ARGV[2], pair[2])
  redis.call('ZADD', ARGV[1] .. 'cellids:' .. pair[1], 0, ARGV[2])
end
redis.call('HSET', KEYS[1], 'spec', ARGV[3], 'fingerprint', ARGV[4], 'cells', ARGV[5], 'max_depth', ARGV[6])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[7] .. '|' .. ARGV[6])
redis.call('HSET', KEYS[3], ARGV[2], 0)
return 'set'
"""

# One page of the merchants whose area covers a cell now, in id order. KEYS: the cell's id set, its depth
# hash, shrink. ARGV: the last id of the previous page ('' for the first), how many to examine. Reads at
# most that many ids after the last (ZRANGEBYLEX: O(log n + page), whatever the cell holds) and one more to
# tell whether any remain. Returns {ids covering the cell now, newline-joined; the last id examined; 1 if
# more remain, else 0}. A merchant with outer rings dropped past this cell is examined but not returned.
_PAGE_LUA = """
local from = ARGV[1] == '' and '-' or ('(' .. ARGV[1])
local n = tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, n + 1)
local more = 0
if #ids > n then more = 1; ids[#ids] = nil end
if #ids == 0 then return {'', '', 0} end
local last = ids[#ids]
if redis.call('HLEN', KEYS[3]) == 0 then return {table.concat(ids, '\\n'), last, more} end
local depth = redis.call('HMGET', KEYS[2], unpack(ids))
local dropped = redis.call('HMGET', KEYS[3], unpack(ids))
local out = {}
for i = 1, #ids do
  if tonumber(depth[i] or '-1') >= tonumber(dropped[i] or '0') then out[#out + 1] = ids[i] end
end
return {table.concat(out, '\\n'), last, more}
"""


def fingerprint(spec: AreaSpec, merchant: LatLng) -> str:
    import hashlib

    return hashlib.blake2b(f"{spec.to_json()}|{merchant.lat!r}|{merchant.lng!r}".encode(), digest_size=12).hexdigest()


class AreaBook:
    """Merchants' areas in Redis and the city's index of them."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._set = client.register_script(_SET_LUA)
        self._page = client.register_script(_PAGE_LUA)

    async def store(self, merchant_id: str, spec: AreaSpec, merchant: LatLng, cells: dict[str, int]) -> bool:
        """Stores a compiled area (True), or finds it already stored (False)."""
        max_depth = max(cells.values(), default=0)
        surge_cell = h3.latlng_to_cell(merchant.lat, merchant.lng, SURGE_RESOLUTION)
        payload = json.dumps(sorted(cells.items()), separators=(",", ":"))
        result = await self._set(
            keys=[keys.area_key(merchant_id), keys.AREAS, keys.SHRINK],
            args=[
                keys.PREFIX,
                merchant_id,
                spec.to_json(),
                fingerprint(spec, merchant),
                payload,
                max_depth,
                surge_cell,
                _first_cell(cells),
            ],
        )
        return result == "set"

    async def get(self, merchant_id: str) -> Area:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.area_key(merchant_id), ["spec", "cells"])
            pipe.hget(keys.SHRINK, merchant_id)
            (spec, cells), shrink = await pipe.execute()
        if spec is None:
            raise NotFound(f"merchant {merchant_id} has no delivery area: it delivers anywhere in the city")
        return Area(merchant_id, AreaSpec.from_json(spec), AREA_RESOLUTION, dict(json.loads(cells)), int(shrink or 0))

    async def page_at(self, cell: str, after: str, count: int) -> tuple[list[str], str, bool]:
        """Up to `count` merchants after `after` (by id) in the cell's index, less those whose area is shrunk
        past the cell: (those covering it now, the last id examined, whether more remain)."""
        found, last, more = await self._page(
            keys=[keys.area_cell_ids_key(cell), keys.area_cell_key(cell), keys.SHRINK], args=[after, count]
        )
        return (found.split("\n") if found else []), last, bool(int(more))


def _first_cell(cells: dict[str, int]) -> str:
    """The area's first cell by id: the set script checks it to tell an area already indexed."""
    return min(cells) if cells else ""
