"""The feasibility checker: every rule of FORMAT.md, checked from the three solution files alone.

It shares no code with whatever produced the solution: it recomputes arrivals from the moves with the
instance's travel-time rule and checks that each pickup and drop-off happens while the courier stands
there for the whole service time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bench.mdrp.instance import Instance
from bench.mdrp.solution import Solution

EPS = 1e-6


@dataclass(frozen=True)
class Violation:
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.detail}"


class InfeasibleSolution(Exception):
    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        shown = "\n  ".join(str(v) for v in violations[:20])
        more = f"\n  ... and {len(violations) - 20} more" if len(violations) > 20 else ""
        super().__init__(f"{len(violations)} feasibility violations:\n  {shown}{more}")


def check_feasible(instance: Instance, solution: Solution) -> None:
    """Raises InfeasibleSolution listing every violation; returns quietly when the solution is feasible."""
    violations = find_violations(instance, solution)
    if violations:
        raise InfeasibleSolution(violations)


def find_violations(instance: Instance, solution: Solution) -> list[Violation]:
    out: list[Violation] = []
    p = instance.params
    half_p, half_d = p.pickup_service_min / 2, p.dropoff_service_min / 2

    def bad(rule: str, detail: str) -> None:
        out.append(Violation(rule, detail))

    # Orders file: one line per order of the instance.
    outcomes = {}
    for o in solution.orders:
        if o.order in outcomes:
            bad("orders-file", f"order {o.order} has two lines")
        outcomes[o.order] = o
    for oid in instance.orders.keys() - outcomes.keys():
        bad("orders-file", f"order {oid} has no line")
    for oid in outcomes.keys() - instance.orders.keys():
        bad("orders-file", f"order {oid} is not in the instance")

    # Assignments.
    assigned_in: dict[str, int] = {}
    for i, a in enumerate(solution.assignments):
        where = f"assignment {i} ({a.courier}: {' '.join(a.orders)})"
        courier = instance.couriers.get(a.courier)
        if courier is None:
            bad("unknown", f"{where}: unknown courier")
            continue
        if not a.orders:
            bad("unknown", f"{where}: no orders")
            continue
        unknown = [o for o in a.orders if o not in instance.orders]
        if unknown:
            bad("unknown", f"{where}: unknown orders {unknown}")
            continue
        for oid in a.orders:
            if oid in assigned_in:
                bad("order-once", f"order {oid} is in assignments {assigned_in[oid]} and {i}")
            assigned_in[oid] = i
        orders = [instance.orders[o] for o in a.orders]
        if len({o.restaurant for o in orders}) != 1:
            bad("one-restaurant", f"{where}: orders of several restaurants")
        if a.time_min + EPS < max(o.placement_min for o in orders):
            bad("before-placement", f"{where}: assigned at {a.time_min} before an order's placement")
        if a.pickup_min + EPS < max(o.ready_min for o in orders):
            bad("pickup-before-ready", f"{where}: picked up at {a.pickup_min} before the food is ready")
        if a.pickup_min > courier.off_min + EPS:
            bad("pickup-after-off", f"{where}: pickup {a.pickup_min} after the courier's off time {courier.off_min}")
        if a.pickup_min + EPS < a.time_min:
            bad("pickup-before-assignment", f"{where}: pickup before the assignment")
        previous = None
        for oid in a.orders:
            outcome = outcomes.get(oid)
            if outcome is None or outcome.dropoff_min is None:
                bad("assigned-undelivered", f"{where}: order {oid} has no drop-off")
                continue
            if (
                outcome.courier != a.courier
                or outcome.pickup_min is None
                or abs(outcome.pickup_min - a.pickup_min) > EPS
            ):
                bad("outcome-mismatch", f"order {oid}: orders file disagrees with {where}")
            if previous is not None and outcome.dropoff_min + EPS < previous + p.dropoff_service_min:
                bad("dropoff-sequence", f"{where}: {oid} dropped at {outcome.dropoff_min}, under one drop-off "
                                        f"service after the previous ({previous})")  # fmt: skip
            previous = outcome.dropoff_min
    for oid, o in outcomes.items():
        if o.delivered and oid not in assigned_in:
            bad("unassigned-delivered", f"order {oid} is delivered but in no assignment")

    # Moves: a chain per courier, from its starting point, never departing before arriving.
    stays: dict[str, list[tuple[str, float, float]]] = defaultdict(list)  # place, arrival, departure
    moves_by_courier: dict[str, list] = defaultdict(list)
    seen_order: list[str] = []
    for m in solution.moves:
        if m.courier not in moves_by_courier:
            seen_order.append(m.courier)
        elif seen_order[-1] != m.courier:
            bad("moves-grouping", f"moves of courier {m.courier} are not grouped together")
        moves_by_courier[m.courier].append(m)
    for cid, moves in moves_by_courier.items():
        courier = instance.couriers.get(cid)
        if courier is None:
            bad("unknown", f"moves of unknown courier {cid}")
            continue
        place, free_at = "0", courier.on_min
        for k, m in enumerate(moves):
            if m.origin != place:
                bad("moves-chain", f"courier {cid} move {k} starts at {m.origin}, but the courier is at {place}")
            if m.departure_min + EPS < free_at:
                bad("moves-chain", f"courier {cid} move {k} departs at {m.departure_min} before arriving at {free_at}")
            stays[cid].append((place, free_at, m.departure_min))
            try:
                travel = instance.travel_min(instance.place(m.origin, cid), instance.place(m.destination, cid))
            except KeyError as exc:
                bad("unknown", f"courier {cid} move {k}: {exc}")
                break
            place, free_at = m.destination, m.departure_min + travel
        stays[cid].append((place, free_at, float("inf")))

    def present(cid: str, place: str, start: float, end: float) -> bool:
        return any(
            s_place == place and arr <= start + EPS and dep + EPS >= end for s_place, arr, dep in stays.get(cid, ())
        )

    for i, a in enumerate(solution.assignments):
        if a.courier not in instance.couriers or not a.orders or any(o not in instance.orders for o in a.orders):
            continue
        restaurant = instance.orders[a.orders[0]].restaurant
        if not present(a.courier, restaurant, a.pickup_min - half_p, a.pickup_min + half_p):
            bad("pickup-presence", f"assignment {i}: courier {a.courier} is not at {restaurant} for the whole "
                                   f"pickup service around {a.pickup_min}")  # fmt: skip
        for oid in a.orders:
            outcome = outcomes.get(oid)
            if outcome is None or outcome.dropoff_min is None:
                continue
            d = outcome.dropoff_min
            if not present(a.courier, oid, d - half_d, d + half_d):
                bad("dropoff-presence", f"order {oid}: courier {a.courier} is not at the customer for the whole "
                                        f"drop-off service around {d}")  # fmt: skip
    return out
