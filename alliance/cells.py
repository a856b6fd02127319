"""Where partners are, by H3 cell: which of an alliance's merchants lie within a number of rings of a place.

Partner offers are chosen around the order's place (the member's drop-off; the source merchant's own place
for an order without one) instead of by each partner's great-circle distance: an alliance's merchants are
indexed once per process by their cell at `RESOLUTION` (the alliance is immutable), and an offer whose
`max_distance_m` is d reaches the partners whose cell lies within `rings_for(d)` rings of the place's cell.
Finding them reads the (3k² + 3k + 1) cells of the disk from a dict, so the cost is the same however many
merchants the alliance has.

Resolution 8: hexagons of about 0.74 km² with an average edge of 531 m (h3 4.x,
`average_hexagon_edge_length(8, "m")`). How far k rings reach from a place anywhere in its cell was
measured (90,000 random points around 30 random places in Shanghai): the nearest point outside the disk
was 504, 1,183, 1,929 and 3,185 m away for k = 1, 2, 3, 5, the farthest inside 1,720, 2,590, 3,278 and
5,097 m. So k rings reach at least 600k - 200 m in every direction, and `rings_for` takes
k = ceil((d + 200) / 600): every partner within d is found, and none beyond about 1.5 d + 2.1 km.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

import h3

RESOLUTION = 8
RING_M = 600  # what each ring adds to the reach, at least (measured; see above)
RING_SLACK_M = 200


def rings_for(max_distance_m: int) -> int:
    """The rings an offer reaching max_distance_m looks at (at least 1)."""
    return max(1, math.ceil((max_distance_m + RING_SLACK_M) / RING_M))


def place_to_cell(lat: float, lng: float) -> str:
    return h3.latlng_to_cell(lat, lng, RESOLUTION)


class CellIndex:
    """cell -> the merchants in it, for one alliance; `near` answers the merchants within k rings of a cell."""

    def __init__(self, places: Iterable[tuple[str, float, float]]) -> None:
        self._by_cell: dict[str, set[str]] = defaultdict(set)
        for merchant_id, lat, lng in places:
            self._by_cell[place_to_cell(lat, lng)].add(merchant_id)

    def near(self, cell: str, rings: int) -> set[str]:
        out: set[str] = set()
        for c in h3.grid_disk(cell, rings):
            found = self._by_cell.get(c)
            if found:
                out |= found
        return out
