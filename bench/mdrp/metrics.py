"""The metrics FORMAT.md asks for, and the gap to the per-order lower bound."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

import numpy as np

from bench.mdrp.instance import Instance
from bench.mdrp.solution import Solution


def _p90(xs: list[float]) -> float:
    if not xs:
        return float("nan")
    return statistics.quantiles(xs, n=10, method="inclusive")[-1] if len(xs) > 1 else xs[0]


def _mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else float("nan")


def solution_metrics(instance: Instance, solution: Solution) -> dict[str, float]:
    """Every metric of FORMAT.md. Click-to-door and the lower bound are averaged over delivered orders."""
    p = instance.params
    delivered = [o for o in solution.orders if o.delivered]
    ctd = [o.dropoff_min - o.placement_min for o in delivered]  # type: ignore[operator]
    lb = [instance.lower_bound_min(o.order) for o in delivered]
    lb_all = [instance.lower_bound_min(oid) for oid in instance.orders]
    ready_to_pickup = [o.pickup_min - o.ready_min for o in delivered]  # type: ignore[operator]
    ready_to_door = [o.dropoff_min - o.ready_min for o in delivered]  # type: ignore[operator]

    # Courier time: driving from the moves, service from the assignments.
    driving: dict[str, float] = defaultdict(float)
    for m in solution.moves:
        driving[m.courier] += instance.travel_min(
            instance.place(m.origin, m.courier), instance.place(m.destination, m.courier)
        )
    orders_by_courier: dict[str, int] = defaultdict(int)
    service: dict[str, float] = defaultdict(float)
    for a in solution.assignments:
        orders_by_courier[a.courier] += len(a.orders)
        service[a.courier] += p.pickup_service_min + p.dropoff_service_min * len(a.orders)
    shift_min = {c.id: c.off_min - c.on_min for c in instance.couriers.values()}
    total_shift_h = sum(shift_min.values()) / 60
    busy = sum(driving.values()) + sum(service.values())
    pay = sum(max(p.pay_per_order * orders_by_courier[cid], p.guaranteed_pay_per_hour * minutes / 60)
              for cid, minutes in shift_min.items())  # fmt: skip
    n = len(instance.orders)
    mean_ctd, mean_lb = _mean(ctd), _mean(lb)
    spells = idle_spells(instance, solution)
    return {
        "orders": n,
        "delivered": len(delivered),
        "undelivered_pct": 100.0 * (n - len(delivered)) / n if n else 0.0,
        "click_to_door_mean": mean_ctd,
        "click_to_door_p90": _p90(ctd),
        "click_to_door_overage_mean": _mean([max(0.0, x - p.target_click_to_door_min) for x in ctd]),
        "ready_to_door_mean": _mean(ready_to_door),
        "ready_to_pickup_mean": _mean(ready_to_pickup),
        "ready_to_pickup_p90": _p90(ready_to_pickup),
        "courier_utilisation": busy / sum(shift_min.values()) if shift_min else float("nan"),
        "orders_per_courier_hour": len(delivered) / total_shift_h if total_shift_h else float("nan"),
        "bundles_per_courier_hour": len(solution.assignments) / total_shift_h if total_shift_h else float("nan"),
        "orders_per_bundle": (sum(len(a.orders) for a in solution.assignments) / len(solution.assignments))
        if solution.assignments
        else float("nan"),
        "total_courier_pay": pay,
        "cost_per_order": pay / len(delivered) if delivered else float("nan"),
        "lower_bound_mean": mean_lb,
        "lower_bound_mean_all_orders": _mean(lb_all),
        "gap_to_lower_bound": mean_ctd / mean_lb - 1 if delivered else float("nan"),
        "ready_to_pickup_unreachable_mean": _mean(unreachable_waits(instance, solution, spells)),
        "ready_to_pickup_left_late_mean": _mean(late_departures(instance, solution, spells)),
    }


# A courier free from a time until another at a place: (courier, from, until, (x, y)).
Spell = tuple[str, float, float, tuple[float, float]]


def idle_spells(instance: Instance, solution: Solution) -> list[Spell]:
    """When and where each courier was free in the solution: (courier, from, until, where), between
    bundles, from its start (or the end of its last drop-off's service) to its departure for its next
    restaurant (or its off time). A courier given its next bundle before it finished the last one is
    free for a moment (from = until): it could have gone elsewhere. Time a courier spends at a
    restaurant waiting for food it was given, or between the drop-offs of one bundle, is not free."""
    p = instance.params
    moves: dict[str, list] = defaultdict(list)
    for m in solution.moves:
        moves[m.courier].append(m)
    spells = []
    for c in instance.couriers.values():
        t, here, waiting = c.on_min, (c.x, c.y), False
        for m in sorted(moves.get(c.id, []), key=lambda m: m.departure_min):
            if not waiting and m.destination in instance.restaurants:
                spells.append((c.id, t, m.departure_min, here))
            there = instance.place(m.destination, c.id)
            arrive = m.departure_min + instance.travel_min(here, there)
            waiting = m.destination in instance.restaurants
            t, here = (arrive, there) if waiting else (arrive + p.dropoff_service_min, there)
        if c.off_min > t and not waiting:
            spells.append((c.id, t, c.off_min, here))
    return spells


def unreachable_waits(instance: Instance, solution: Solution, spells: list[Spell] | None = None) -> list[float]:
    """Per delivered order, the part of its ready-to-pickup that no courier could have saved: the wait
    had the soonest courier standing free at some time after the order's placement (by the solution's own
    timeline) left for its restaurant then, each order on its own (the courier taken from nothing else).
    What a solution's ready-to-pickup has beyond this is the price of other orders' claims on the
    couriers (and of the policy's choices); this part is where the couriers stood."""
    if spells is None:
        spells = idle_spells(instance, solution)
    if not spells:
        return []
    p = instance.params
    start = np.array([s[1] for s in spells])
    end = np.array([s[2] for s in spells])
    xs = np.array([s[3][0] for s in spells])
    ys = np.array([s[3][1] for s in spells])
    off = np.array([instance.couriers[s[0]].off_min for s in spells])
    out = []
    for o in solution.orders:
        if o.pickup_min is None:
            continue
        order = instance.orders[o.order]
        r = instance.restaurants[order.restaurant]
        depart = np.maximum(start, o.placement_min)
        ride = instance.travel_min_from(xs, ys, (r.x, r.y))
        pickup = np.maximum(depart + ride + p.pickup_service_min / 2, o.ready_min)
        usable = (end >= o.placement_min) & (start <= o.pickup_min) & (pickup <= off)
        soonest = float(pickup[usable].min()) if usable.any() else math.inf
        out.append(max(0.0, min(soonest, o.pickup_min) - o.ready_min))
    return out


def late_departures(instance: Instance, solution: Solution, spells: list[Spell] | None = None) -> list[float]:
    """Per delivered order, how much later its courier picked it up than had it left for the restaurant as
    soon as it was free and the bundle's last order placed (the pickup waiting, as the rules say, for the
    bundle's last food): the price of holding the decision (the rolling horizon) or of the courier's late
    start. An order that joined a courier already on its way counts 0.

    With `unreachable_waits`, ready-to-pickup splits in three: where the couriers stood (unreachable),
    when the chosen courier left (this), and the rest: which courier the order got (another was sooner
    but went elsewhere, or was passed over) and the wait for a bundle's other food."""
    if spells is None:
        spells = idle_spells(instance, solution)
    free_from = {(c, until): since for c, since, until, _ in spells}
    departures: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    for m in solution.moves:
        departures[(m.courier, m.destination)].append((m.departure_min, m.origin))
    assignment_of = {oid: a for a in solution.assignments for oid in a.orders}
    half_p = instance.params.pickup_service_min / 2
    out = []
    for o in solution.orders:
        if o.pickup_min is None:
            continue
        a = assignment_of[o.order]
        r = instance.restaurants[instance.orders[o.order].restaurant]
        left, origin = max(d for d in departures[(a.courier, r.id)] if d[0] <= a.pickup_min)
        since = free_from.get((a.courier, left), left)
        ride = instance.travel_min(instance.place(origin, a.courier), (r.x, r.y))
        bundle = [instance.orders[oid] for oid in a.orders]
        placed = max(b.placement_min for b in bundle)
        soonest = max(max(b.ready_min for b in bundle), max(since, placed) + ride + half_p)
        out.append(max(0.0, o.pickup_min - soonest))
    return out
