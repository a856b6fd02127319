"""Where partners are, by H3 cell: which of an alliance's merchants lie within an offer's distance of a place.

Partner offers are chosen around the order's place (the member's drop-off; the source merchant's own place
for an order without one) instead of by each partner's great-circle distance: an alliance's merchants are
indexed once per process by their cell at resolutions 8 down to 5 (the alliance is immutable), and an offer
whose `max_distance_m` is d reaches the partners in the disk `disk_for(d)` gives: k rings around the place's
cell at the finest resolution where k is at most `MAX_RINGS`. Finding them reads the disk's 3k² + 3k + 1
(at most 217) cells from a dict, so the cost is the same however many merchants the alliance has.

The rings were measured (30,000 to 90,000 random points around 20-30 random places in and around Shanghai
per resolution): at resolution 8 (hexagons of about 0.74 km², average edge 531 m in h3 4.x) the nearest
point outside k rings was 504-613, 1,183-1,235, 1,929-2,007, 2,603 and 3,185 m away for k = 1, 2, 3, 4, 5,
the farthest inside 1,689-1,720, 2,477-2,590, 3,278-3,366, 4,206 and 5,097 m; each coarser resolution
scales both by about √7 (aperture-7 cells: 534-582, 1,239-1,313, 1,851-1,964, 2,493-2,635 m per √7 step
at resolutions 5-7). So k rings reach at least (600k - 200) x √7^(8 - resolution) m in every direction:
with that k every partner within d is found, and none beyond about 2.5 d + 2 km.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

import h3

RESOLUTIONS = (8, 7, 6, 5)  # finest first
MAX_RINGS = 8  # a disk of at most 217 cells; beyond, a coarser resolution
RING_M = 600  # what each ring adds to the reach at resolution 8, at least (measured; see above)
RING_SLACK_M = 200
APERTURE_SCALE = math.sqrt(7)  # how much larger a cell is than one of the next finer resolution


def disk_for(max_distance_m: int) -> tuple[int, int]:
    """(resolution, rings) of the disk an offer reaching max_distance_m looks at."""
    for resolution in RESOLUTIONS:
        scale = APERTURE_SCALE ** (8 - resolution)
        rings = max(1, math.ceil((max_distance_m / scale + RING_SLACK_M) / RING_M))
        if rings <= MAX_RINGS or resolution == RESOLUTIONS[-1]:
            return resolution, rings
    raise AssertionError("unreachable")


class CellIndex:
    """cell -> the merchants in it, at each of RESOLUTIONS, for one alliance."""

    def __init__(self, places: Iterable[tuple[str, float, float]]) -> None:
        self._by_cell: dict[str, set[str]] = defaultdict(set)
        for merchant_id, lat, lng in places:
            for resolution in RESOLUTIONS:
                self._by_cell[h3.latlng_to_cell(lat, lng, resolution)].add(merchant_id)

    def near(self, lat: float, lng: float, max_distance_m: int) -> set[str]:
        """The merchants in the disk of an offer reaching max_distance_m from (lat, lng)."""
        resolution, rings = disk_for(max_distance_m)
        out: set[str] = set()
        for cell in h3.grid_disk(h3.latlng_to_cell(lat, lng, resolution), rings):
            found = self._by_cell.get(cell)
            if found:
                out |= found
        return out
