"""Candidate bundles: which pending orders one rider could carry together, each in its best sequence.

Two kinds, both bounded per order so the candidate set grows linearly with the orders, not
combinatorially:

- **Same merchant** (the MDRP's bundles): orders waiting at one merchant, up to `max_orders`, picked
  up together and delivered in the sequence that minimises their summed drop-off times. Each order is
  combined only with its `partners` nearest drop-offs within the group, and only with orders whose
  food is ready within `max_ready_spread_s` of its own (a bundle waits for its latest food).
- **Along one path** (optional, city dispatch): two orders of different merchants whose counters lie
  within `cross_merchant_radius_m`, picked up one after the other, delivered in the best of the four
  pickup/drop-off sequences.

A bundle is kept only if no order in it reaches its door more than `max_delay_s` later than it would
alone, and no order misses a promised time it would have made alone. Travel times come from the
oracle, one matrix per merchant group (and one small matrix per cross-merchant pair).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from core.geo import EARTH_RADIUS_M, unit_vectors
from dispatch.policies.base import BundleOption, DispatchBatch, Stop, alone_dropoff_ms, plan_route, ready_ms, single
from dispatch.travel import TravelTimeOracle, matrices


@dataclass(frozen=True)
class BundleConfig:
    # Largest bundle (orders a rider carries at once).
    max_orders: int = 3
    # Partners considered per order (nearest drop-offs among the merchant's pending orders).
    partners: int = 4
    # Foods ready further apart than this are not bundled (the first would wait for the last).
    max_ready_spread_s: float = 600.0
    # No order is delivered more than this much later than it would be alone.
    max_delay_s: float = 900.0
    # Bundles of two merchants' orders (0 disables): counters at most this far apart.
    cross_merchant_radius_m: float = 0.0
    # Bundles per order at most (lone order excluded); the best by added delay are kept.
    max_per_order: int = 8

    def __post_init__(self) -> None:
        if self.max_orders < 1 or self.partners < 0 or self.max_per_order < 0:
            raise ValueError("max_orders must be at least 1; partners and max_per_order not negative")
        if self.max_ready_spread_s < 0 or self.max_delay_s < 0 or self.cross_merchant_radius_m < 0:
            raise ValueError("bundle limits must not be negative")


def candidate_bundles(batch: DispatchBatch, oracle: TravelTimeOracle, config: BundleConfig) -> tuple[BundleOption, ...]:
    """Every pending order alone, plus the bundles worth considering this tick."""
    orders = batch.orders
    out: list[BundleOption] = [single(i, o) for i, o in enumerate(orders)]
    if config.max_orders < 2 or len(orders) < 2:
        return tuple(out)
    alone_dropoff = {i: alone_dropoff_ms(batch, i) for i in range(len(orders))}
    found: list[tuple[float, BundleOption]] = []
    by_merchant: dict[tuple[str, float, float], list[int]] = defaultdict(list)
    for i, o in enumerate(orders):
        p = o.record.request.pickup
        by_merchant[(o.record.request.merchant_id, p.lat, p.lng)].append(i)
    groups = [g for g in by_merchant.values() if len(g) > 1]
    drops = [[orders[i].record.request.dropoff for i in g] for g in groups]
    for group, between in zip(groups, matrices(oracle, [(d, d) for d in drops], batch.now_ms), strict=True):
        found += _same_merchant(batch, between, config, group, alone_dropoff)
    if config.cross_merchant_radius_m > 0:
        found += _cross_merchant(batch, oracle, config, alone_dropoff)
    # Bound the bundles each order is part of: the best (least added delay) first.
    per_order: dict[int, int] = defaultdict(int)
    for _, b in sorted(found, key=lambda x: (x[0], x[1].orders)):
        if all(per_order[i] < config.max_per_order for i in b.orders):
            out.append(b)
            for i in b.orders:
                per_order[i] += 1
    return tuple(out)


def _acceptable(batch: DispatchBatch, b: BundleOption, alone: dict[int, int], config: BundleConfig) -> float | None:
    """The bundle's total added delay (ms) over each order alone, or None if it breaks a limit."""
    plan = plan_route(batch, b, 0.0)
    added = 0.0
    for i, drop in zip(b.orders, plan.dropoff_ms, strict=True):
        delay = drop - alone[i]
        if delay > config.max_delay_s * 1000:
            return None
        promised = batch.orders[i].record.request.promised_at_ms
        if promised is not None and drop > promised >= alone[i]:
            return None
        added += delay
    return added


def _same_merchant(
    batch: DispatchBatch, between: np.ndarray, config: BundleConfig, group: list[int], alone: dict[int, int]
) -> list[tuple[float, BundleOption]]:
    """Bundles among one merchant's orders; `between` holds the rides between their doors. Larger
    bundles are built only from pairs that are worth it on their own."""
    orders = batch.orders
    ride = {i: orders[i].pickup_to_dropoff_s for i in group}
    pos = {i: k for k, i in enumerate(group)}
    ready = {i: ready_ms(orders[i]) for i in group}
    spread_ms = config.max_ready_spread_s * 1000
    mates_of: dict[int, list[int]] = {}
    for i in group:
        mates = [j for j in group if j != i and abs(ready[j] - ready[i]) <= spread_ms]
        mates.sort(key=lambda j: (min(between[pos[i], pos[j]], between[pos[j], pos[i]]), j))
        mates_of[i] = mates[: config.partners]
    pairs = sorted({tuple(sorted((i, j))) for i in group for j in mates_of[i]})
    found = []
    good: set[tuple[int, ...]] = set()
    for members in pairs:
        best = _best_sequence(batch, between, pos, ride, members, alone, config)
        if best is not None:
            found.append(best)
            good.add(members)
    for size in range(3, config.max_orders + 1):
        grown: set[tuple[int, ...]] = set()
        for members in good:
            if len(members) != size - 1:
                continue
            for j in set().union(*(mates_of[m] for m in members)) - set(members):
                bigger = tuple(sorted((*members, j)))
                subsets_ok = all(tuple(sorted(x)) in good for x in itertools.combinations(bigger, size - 1))
                if subsets_ok and max(ready[m] for m in bigger) - min(ready[m] for m in bigger) <= spread_ms:
                    grown.add(bigger)
        for members in sorted(grown):
            best = _best_sequence(batch, between, pos, ride, members, alone, config)
            if best is not None:
                found.append(best)
                good.add(members)
    return found


def _best_sequence(
    batch: DispatchBatch,
    between: np.ndarray,
    pos: dict[int, int],
    ride: dict[int, float],
    members: tuple[int, ...],
    alone: dict[int, int],
    config: BundleConfig,
) -> tuple[float, BundleOption] | None:
    """The delivery sequence of one merchant's orders that adds the least delay, if any is acceptable.

    The times are `plan_route`'s for a rider at the counter now, in arithmetic: one pickup when the last
    food is ready, then each door in turn (a test checks both agree)."""
    half_pickup_ms = round(batch.pickup_service_s * 500)
    half_dropoff_ms = round(batch.dropoff_service_s * 500)
    pickup = max(batch.now_ms + half_pickup_ms, *(ready_ms(batch.orders[i]) for i in members))
    limit_ms = config.max_delay_s * 1000
    promised = {i: batch.orders[i].record.request.promised_at_ms for i in members}
    best: tuple[float, tuple[int, ...], list[float]] | None = None
    for seq in itertools.permutations(members):
        legs = [0.0, ride[seq[0]]] + [float(between[pos[a], pos[b]]) for a, b in itertools.pairwise(seq)]
        t = pickup + half_pickup_ms
        added = 0.0
        for k, i in enumerate(seq):
            t += round(legs[k + 1] * 1000)
            drop = t + half_dropoff_ms
            t = drop + half_dropoff_ms
            delay = drop - alone[i]
            p = promised[i]
            if delay > limit_ms or (p is not None and drop > p >= alone[i]):
                break
            added += delay
        else:
            if best is None or added < best[0]:
                best = (added, seq, legs)
    if best is None:
        return None
    added, seq, legs = best
    stops = (Stop(True, tuple(members)), *(Stop(False, (i,)) for i in seq))
    return added, BundleOption(tuple(seq), stops, tuple(legs))


def _cross_merchant(
    batch: DispatchBatch, oracle: TravelTimeOracle, config: BundleConfig, alone: dict[int, int]
) -> list[tuple[float, BundleOption]]:
    """Pairs of orders of different merchants whose counters are close."""
    orders = batch.orders
    pickups = [o.record.request.pickup for o in orders]
    tree = cKDTree(unit_vectors(pickups))
    chord = 2 * np.sin(config.cross_merchant_radius_m / EARTH_RADIUS_M / 2)
    spread_ms = config.max_ready_spread_s * 1000
    found = []
    pairs = sorted(tree.query_pairs(chord, output_type="set"))
    near: dict[int, int] = defaultdict(int)
    for i, j in pairs:
        ri, rj = orders[i].record.request, orders[j].record.request
        if ri.merchant_id == rj.merchant_id or abs(ready_ms(orders[i]) - ready_ms(orders[j])) > spread_ms:
            continue
        if near[i] >= config.partners or near[j] >= config.partners:
            continue
        near[i] += 1
        near[j] += 1
        points = [ri.pickup, rj.pickup, ri.dropoff, rj.dropoff]
        t = np.asarray(oracle.matrix(points, points, batch.now_ms), dtype=float)
        best: tuple[float, BundleOption] | None = None
        for first, second in ((i, j), (j, i)):
            a, b = (0, 1) if first == i else (1, 0)  # matrix rows of the first and second counter
            for d1, d2 in ((first, second), (second, first)):
                r1, r2 = 2 + (0 if d1 == i else 1), 2 + (0 if d2 == i else 1)
                legs = (0.0, float(t[a, b]), float(t[b, r1]), float(t[r1, r2]))
                stops = (Stop(True, (first,)), Stop(True, (second,)), Stop(False, (d1,)), Stop(False, (d2,)))
                option = BundleOption((d1, d2), stops, legs)
                added = _acceptable(batch, option, alone, config)
                if added is not None and (best is None or added < best[0]):
                    best = (added, option)
        if best is not None:
            found.append(best)
    return found
