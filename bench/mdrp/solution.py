"""MDRP solutions and their three files (space-separated, one header line), as FORMAT.md describes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Assignment:
    """A courier gets a bundle: orders of one restaurant, picked up together, delivered in this order."""

    time_min: float
    pickup_min: float
    courier: str
    orders: tuple[str, ...]


@dataclass(frozen=True)
class OrderOutcome:
    order: str
    placement_min: float
    ready_min: float
    pickup_min: float | None = None
    dropoff_min: float | None = None
    courier: str | None = None

    @property
    def delivered(self) -> bool:
        return self.dropoff_min is not None


@dataclass(frozen=True)
class Move:
    """A courier leaves `origin` for `destination` ('0' = its starting point; else a restaurant or order)."""

    courier: str
    departure_min: float
    origin: str
    destination: str


@dataclass
class Solution:
    assignments: list[Assignment] = field(default_factory=list)
    orders: list[OrderOutcome] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)


def _fmt(v: float | None) -> str:
    if v is None:
        return "nan"
    return str(int(v)) if float(v).is_integer() else f"{v:.4f}"


def _num(s: str) -> float | None:
    v = float(s)
    return None if math.isnan(v) else v


def write_solution(folder: Path, solution: Solution) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "solution_info_assignments.txt", "w") as f:
        f.write("assignment_time pickup_time courier orders\n")
        for a in solution.assignments:
            f.write(f"{_fmt(a.time_min)} {_fmt(a.pickup_min)} {a.courier} {' '.join(a.orders)}\n")
    with open(folder / "solution_info_orders.txt", "w") as f:
        f.write("order placement_time ready_time pickup_time dropoff_time courier\n")
        for o in solution.orders:
            f.write(f"{o.order} {_fmt(o.placement_min)} {_fmt(o.ready_min)} {_fmt(o.pickup_min)} "
                    f"{_fmt(o.dropoff_min)} {o.courier or 'nan'}\n")  # fmt: skip
    with open(folder / "solution_info_couriers.txt", "w") as f:
        f.write("courier departure_time origin destination\n")
        for m in solution.moves:
            f.write(f"{m.courier} {_fmt(m.departure_min)} {m.origin} {m.destination}\n")


def read_solution(folder: Path) -> Solution:
    folder = Path(folder)
    sol = Solution()
    for line in (folder / "solution_info_assignments.txt").read_text().splitlines()[1:]:
        parts = line.split()
        sol.assignments.append(Assignment(float(parts[0]), float(parts[1]), parts[2], tuple(parts[3:])))
    for line in (folder / "solution_info_orders.txt").read_text().splitlines()[1:]:
        o, placed, ready, pickup, dropoff, courier = line.split()
        sol.orders.append(OrderOutcome(o, float(placed), float(ready), _num(pickup), _num(dropoff),
                                       None if courier == "nan" else courier))  # fmt: skip
    for line in (folder / "solution_info_couriers.txt").read_text().splitlines()[1:]:
        c, dep, origin, dest = line.split()
        sol.moves.append(Move(c, float(dep), origin, dest))
    return sol
