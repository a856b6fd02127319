"""Synthetic cities for scale tests: a grid of arterials and side streets with realistic speed classes.

No offline OSM extract here reaches 100k+ nodes, so scale figures use these, and say so. Three traits
of real street networks are kept, because routing speed depends on them:
- arterials (secondary, every 4th of them primary) every `arterial_every` blocks, side streets
  (residential, a share one-way) between them; most side streets end at an arterial in a T-junction
  and only some cross it, as in real neighbourhoods (superblocks);
- blocks are jittered and a few side-street blocks are missing;
- streets bend: each block-long segment carries shape nodes. In the OSM extracts here most graph
  nodes are such degree-2 points (Liechtenstein 90 %, Baltimore 58 %, measured on our builds), and a
  generator without them would not be a city but a lattice (whose separators are far larger).
"""

from __future__ import annotations

import math

import numpy as np

from routing_data.graph import RoadGraph, from_arcs
from routing_data.modes import CLASS_INDEX, ROAD_CLASSES, SPEED_KPH, Mode

EARTH_M_PER_DEG = 111_320.0


def synthetic_city(
    nodes: int = 200_000,
    block_m: float = 110.0,
    center: tuple[float, float] = (31.2304, 121.4737),
    seed: int = 0,
    arterial_every: int = 6,
    crossing_share: float = 0.35,
    missing_share: float = 0.04,
    oneway_share: float = 0.15,
    shape_nodes_mean: float = 1.5,
) -> RoadGraph:
    """A city of about `nodes` graph nodes around `center` (default: Shanghai's People's Square)."""
    rng = np.random.default_rng(seed)
    # Each intersection starts ~1.75 kept street segments (measured), each with shape_nodes_mean shape nodes.
    side = max(3, round(math.sqrt(nodes / (1 + 1.75 * shape_nodes_mean))))
    n_int = side * side
    rows, cols = np.divmod(np.arange(n_int), side)
    jitter = rng.uniform(-0.2, 0.2, size=(2, n_int)) * block_m
    y = (rows - side / 2) * block_m + jitter[0]
    x = (cols - side / 2) * block_m + jitter[1]
    idx = np.arange(n_int).reshape(side, side)

    seg_a, seg_b, seg_cls, seg_ow = [], [], [], []
    for horizontal in (True, False):
        a = idx[:, :-1] if horizontal else idx[:-1, :]
        b = idx[:, 1:] if horizontal else idx[1:, :]
        line = np.broadcast_to((np.arange(side)[:, None] if horizontal else np.arange(side)[None, :]), a.shape)
        pos = np.broadcast_to((np.arange(side - 1)[None, :] if horizontal else np.arange(side - 1)[:, None]), a.shape)
        is_arterial = line % arterial_every == 0
        is_primary = line % (arterial_every * 4) == 0
        cls = np.where(
            is_primary,
            CLASS_INDEX["primary"],
            np.where(is_arterial, CLASS_INDEX["secondary"], CLASS_INDEX["residential"]),
        )
        # A side street leaving an arterial crossing point continues only for some streets.
        crosses = (rng.random(side) < crossing_share)[line]
        at_arterial_start = (pos % arterial_every == 0) & (pos > 0)
        keep = is_arterial | ((rng.random(a.shape) >= missing_share) & (crosses | ~at_arterial_start))
        line_oneway = (rng.random(side) < oneway_share)[line] & ~is_arterial
        seg_a.append(a[keep])
        seg_b.append(b[keep])
        seg_cls.append(cls[keep])
        seg_ow.append(np.where(line_oneway[keep], np.where(line[keep] % 2 == 0, 1, -1), 0))
    sa, sb = np.concatenate(seg_a), np.concatenate(seg_b)
    scls, sow = np.concatenate(seg_cls).astype(np.uint8), np.concatenate(seg_ow)

    # Bend each segment through k shape nodes (a gentle sideways bow), as OSM streets are drawn.
    k = rng.poisson(shape_nodes_mean, size=sa.size)
    total_shape = int(k.sum())
    px = list(x)
    py = list(y)
    tails: list[np.ndarray] = []
    heads: list[np.ndarray] = []
    classes: list[np.ndarray] = []
    ows: list[np.ndarray] = []
    shape_x = np.empty(total_shape)
    shape_y = np.empty(total_shape)
    next_id = n_int
    seg_of_shape = np.repeat(np.arange(sa.size), k)
    order_in_seg = np.arange(total_shape) - np.repeat(np.cumsum(k) - k, k)
    frac = (order_in_seg + 1) / (k[seg_of_shape] + 1)
    ax, ay, bx, by = x[sa[seg_of_shape]], y[sa[seg_of_shape]], x[sb[seg_of_shape]], y[sb[seg_of_shape]]
    bow = np.sin(frac * np.pi) * rng.uniform(-0.08, 0.08, size=sa.size)[seg_of_shape] * block_m
    dx, dy = bx - ax, by - ay
    norm = np.hypot(dx, dy)
    shape_x[:] = ax + frac * dx - bow * dy / norm
    shape_y[:] = ay + frac * dy + bow * dx / norm
    shape_ids = np.arange(next_id, next_id + total_shape)
    # Chain: a -> s1 -> ... -> sk -> b for every segment, vectorised via the node sequence per segment.
    starts = np.cumsum(k) - k
    chain_tail = np.concatenate([sa[k == 0], sa[k > 0], shape_ids[order_in_seg < k[seg_of_shape] - 1]])
    chain_head = np.concatenate(
        [sb[k == 0], shape_ids[starts[k > 0]], shape_ids[order_in_seg < k[seg_of_shape] - 1] + 1]
    )
    seg_index = np.concatenate(
        [np.flatnonzero(k == 0), np.flatnonzero(k > 0), seg_of_shape[order_in_seg < k[seg_of_shape] - 1]]
    )
    last_shape = shape_ids[starts[k > 0] + k[k > 0] - 1]
    chain_tail = np.concatenate([chain_tail, last_shape])
    chain_head = np.concatenate([chain_head, sb[k > 0]])
    seg_index = np.concatenate([seg_index, np.flatnonzero(k > 0)])
    tails, heads = chain_tail, chain_head
    classes = scls[seg_index]
    ows = sow[seg_index]
    all_x = np.concatenate([np.asarray(px), shape_x])
    all_y = np.concatenate([np.asarray(py), shape_y])
    lat = center[0] + all_y / EARTH_M_PER_DEG
    lng = center[1] + all_x / (EARTH_M_PER_DEG * math.cos(math.radians(center[0])))

    fwd = ows >= 0
    bwd = ows <= 0
    all_t = np.r_[tails[fwd], heads[bwd]]
    all_h = np.r_[heads[fwd], tails[bwd]]
    all_c = np.r_[classes[fwd], classes[bwd]]
    length = np.hypot(all_x[all_t] - all_x[all_h], all_y[all_t] - all_y[all_h])
    time_s = np.full((len(Mode), all_t.size), np.inf)
    for mode in Mode:
        speeds = np.array([SPEED_KPH[mode][name] or np.nan for name in ROAD_CLASSES], dtype=np.float64)
        kph = speeds[all_c]
        time_s[mode] = np.where(np.isnan(kph), np.inf, length / (kph / 3.6))
    return from_arcs(
        f"synthetic-{lat.size}", lat, lng, all_t, all_h, length.astype(np.float32), all_c, time_s,
        source=f"synthetic_city(nodes={nodes}, seed={seed})",
    )  # fmt: skip
