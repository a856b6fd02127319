"""The compact road graph: CSR arrays of arcs with per-mode free-flow times, plus node coordinates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from routing_data.modes import Mode


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A directed road graph, arcs sorted by tail (CSR: arcs of node u are first_out[u]:first_out[u+1]).

    base_time_s[m, a] is arc a's free-flow time for mode m in seconds, +inf where the mode may not use it
    or where either end lies outside the mode's largest strongly connected component.
    """

    name: str
    node_lat: np.ndarray  # float64, degrees
    node_lng: np.ndarray  # float64
    tail: np.ndarray  # int32
    head: np.ndarray  # int32
    first_out: np.ndarray  # int64, len nodes + 1
    length_m: np.ndarray  # float32
    road_class: np.ndarray  # uint8, index into modes.ROAD_CLASSES
    base_time_s: np.ndarray  # float32, shape (modes, arcs)
    mode_nodes: np.ndarray  # bool, shape (modes, nodes): the mode's largest SCC
    source: str = ""
    # Node order of the contraction hierarchy (depends on topology only), computed once and cached.
    cch_order: np.ndarray | None = None

    @property
    def node_count(self) -> int:
        return int(self.node_lat.shape[0])

    @property
    def arc_count(self) -> int:
        return int(self.tail.shape[0])

    def nodes_of(self, mode: Mode) -> np.ndarray:
        """Indices of the nodes a mode can reach from every other (its largest SCC)."""
        return np.flatnonzero(self.mode_nodes[mode])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp, name=np.array(self.name), source=np.array(self.source), node_lat=self.node_lat,
            node_lng=self.node_lng, tail=self.tail, head=self.head, first_out=self.first_out,
            length_m=self.length_m, road_class=self.road_class, base_time_s=self.base_time_s,
            mode_nodes=self.mode_nodes,
            **({} if self.cch_order is None else {"cch_order": self.cch_order}),
        )  # fmt: skip
        tmp.replace(path)  # atomic: a reader never sees half a graph

    @classmethod
    def load(cls, path: Path) -> RoadGraph:
        with np.load(path) as z:
            return cls(
                name=str(z["name"]), source=str(z["source"]), node_lat=z["node_lat"], node_lng=z["node_lng"],
                tail=z["tail"], head=z["head"], first_out=z["first_out"], length_m=z["length_m"],
                road_class=z["road_class"], base_time_s=z["base_time_s"], mode_nodes=z["mode_nodes"],
                cch_order=z["cch_order"] if "cch_order" in z else None,
            )  # fmt: skip


def from_arcs(
    name: str,
    node_lat: np.ndarray,
    node_lng: np.ndarray,
    tail: np.ndarray,
    head: np.ndarray,
    length_m: np.ndarray,
    road_class: np.ndarray,
    time_s: np.ndarray,
    source: str = "",
) -> RoadGraph:
    """Cleans raw arcs into a RoadGraph: drops self-loops, keeps the fastest of parallel arcs per mode
    (a sparse matrix would silently add them), keeps each mode's largest strongly connected component,
    drops nodes no mode can use, and sorts arcs by tail."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    tail = np.asarray(tail, dtype=np.int64)
    head = np.asarray(head, dtype=np.int64)
    keep = tail != head
    tail, head, length_m, road_class = tail[keep], head[keep], length_m[keep], road_class[keep]
    time_s = time_s[:, keep]
    n = len(node_lat)

    # Parallel arcs: one per (tail, head), the fastest per mode.
    key = tail * n + head
    order = np.lexsort((time_s[Mode.EBIKE], key))
    key, tail, head = key[order], tail[order], head[order]
    length_m, road_class, time_s = length_m[order], road_class[order], time_s[:, order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    tail, head, road_class = tail[starts], head[starts], road_class[starts]
    length_m = np.minimum.reduceat(length_m, starts)
    time_s = np.minimum.reduceat(time_s, starts, axis=1)

    # Largest strongly connected component per mode.
    mode_nodes = np.zeros((len(Mode), n), dtype=bool)
    for mode in Mode:
        usable = np.isfinite(time_s[mode])
        if not usable.any():
            continue
        m = csr_matrix((np.ones(int(usable.sum())), (tail[usable], head[usable])), shape=(n, n))
        _, labels = connected_components(m, directed=True, connection="strong")
        sizes = np.bincount(labels[np.r_[tail[usable], head[usable]]], minlength=labels.max() + 1)
        mode_nodes[mode] = labels == int(np.argmax(sizes))
        outside = usable & ~(mode_nodes[mode][tail] & mode_nodes[mode][head])
        time_s[mode, outside] = np.inf

    # Drop nodes and arcs no mode can use, renumber, sort by tail.
    arc_used = np.isfinite(time_s).any(axis=0)
    node_used = mode_nodes.any(axis=0)
    arc_used &= node_used[tail] & node_used[head]
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[node_used] = np.arange(int(node_used.sum()))
    tail, head = new_index[tail[arc_used]], new_index[head[arc_used]]
    length_m, road_class, time_s = length_m[arc_used], road_class[arc_used], time_s[:, arc_used]
    order = np.lexsort((head, tail))
    tail, head, length_m, road_class, time_s = (
        tail[order],
        head[order],
        length_m[order],
        road_class[order],
        time_s[:, order],
    )
    nodes = int(node_used.sum())
    first_out = np.zeros(nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=nodes), out=first_out[1:])
    return RoadGraph(
        name=name,
        node_lat=np.asarray(node_lat, dtype=np.float64)[node_used],
        node_lng=np.asarray(node_lng, dtype=np.float64)[node_used],
        tail=tail.astype(np.int32),
        head=head.astype(np.int32),
        first_out=first_out,
        length_m=length_m.astype(np.float32),
        road_class=road_class.astype(np.uint8),
        base_time_s=time_s.astype(np.float32),
        mode_nodes=mode_nodes[:, node_used],
        source=source,
    )
