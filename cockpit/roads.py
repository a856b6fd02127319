"""The base map: the city's road graph as line segments, drawn by the page itself (no tile server, no
internet). OpenStreetMap data, so the page shows its attribution.

Each undirected road is one segment (the two directions of a street drawn once), by road class, with its
ends in integer 1e-5 degrees (about a metre) relative to the graph's south-west corner: compact JSON,
gzipped once and kept.
"""

from __future__ import annotations

import gzip
import json
import threading

import numpy as np

from routing_data.graph import RoadGraph
from routing_data.modes import ROAD_CLASSES

SCALE = 100_000  # 1e-5 degree units
# Classes drawn, widest first in the page's styling: footways and tracks would triple the bytes for little.
DRAWN = ("motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential", "living_street",
         "service", "cycleway", "pedestrian")  # fmt: skip


class RoadLayer:
    def __init__(self, graph: RoadGraph) -> None:
        self.graph = graph
        self._gz: bytes | None = None
        self._lock = threading.Lock()

    def segments(self) -> dict[str, object]:
        g = self.graph
        drawn = np.array([ROAD_CLASSES.index(c) for c in DRAWN], dtype=np.uint8)
        keep = np.isin(g.road_class, drawn)
        a = np.minimum(g.tail, g.head)[keep]
        b = np.maximum(g.tail, g.head)[keep]
        cls = g.road_class[keep]
        pairs, first = np.unique(np.stack([a, b], axis=1), axis=0, return_index=True)
        cls = cls[first]
        lat0, lng0 = float(g.node_lat.min()), float(g.node_lng.min())
        y = np.rint((g.node_lat - lat0) * SCALE).astype(np.int64)
        x = np.rint((g.node_lng - lng0) * SCALE).astype(np.int64)
        u, v = pairs[:, 0], pairs[:, 1]
        flat = np.stack([cls.astype(np.int64), y[u], x[u], y[v], x[v]], axis=1).ravel()
        return {
            "origin": [lat0, lng0],
            "scale": SCALE,
            "classes": list(ROAD_CLASSES),
            "segments": flat.tolist(),  # class, lat1, lng1, lat2, lng2, ... in 1e-5 degrees from the origin
            "bounds": [[lat0, lng0], [float(g.node_lat.max()), float(g.node_lng.max())]],
            "attribution": "© OpenStreetMap contributors (ODbL)",
        }

    def json_gz(self) -> bytes:
        with self._lock:
            if self._gz is None:
                text = json.dumps(self.segments(), separators=(",", ":"))
                self._gz = gzip.compress(text.encode(), compresslevel=6)
            return self._gz
