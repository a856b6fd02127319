"""An MDRP instance: restaurants, orders, couriers and parameters, read from its tab-separated files."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Point = tuple[float, float]


@dataclass(frozen=True)
class Params:
    meters_per_minute: float
    pickup_service_min: float
    dropoff_service_min: float
    target_click_to_door_min: float
    max_click_to_door_min: float
    pay_per_order: float
    guaranteed_pay_per_hour: float


@dataclass(frozen=True)
class Restaurant:
    id: str
    x: float
    y: float


@dataclass(frozen=True)
class Order:
    id: str
    x: float
    y: float
    placement_min: float
    restaurant: str
    ready_min: float


@dataclass(frozen=True)
class Courier:
    id: str
    x: float
    y: float
    on_min: float
    off_min: float


@dataclass(frozen=True)
class Instance:
    name: str
    params: Params
    restaurants: dict[str, Restaurant]
    orders: dict[str, Order]
    couriers: dict[str, Courier]

    def travel_min(self, a: Point, b: Point) -> float:
        """The instance's rule: ceil(euclidean metres / metres per minute) (triangle inequality may fail)."""
        return float(math.ceil(math.hypot(a[0] - b[0], a[1] - b[1]) / self.params.meters_per_minute))

    def travel_min_from(self, xs: np.ndarray, ys: np.ndarray, to: Point) -> np.ndarray:
        """`travel_min` from many points (coordinate arrays) to one."""
        return np.ceil(np.hypot(xs - to[0], ys - to[1]) / self.params.meters_per_minute)

    def place(self, place_id: str, courier: str | None = None) -> Point:
        """Coordinates of a restaurant, an order's customer, or ('0') the courier's starting point."""
        if place_id == "0":
            if courier is None:
                raise ValueError("place '0' needs its courier")
            c = self.couriers[courier]
            return (c.x, c.y)
        if place_id in self.restaurants:
            r = self.restaurants[place_id]
            return (r.x, r.y)
        if place_id in self.orders:
            o = self.orders[place_id]
            return (o.x, o.y)
        raise KeyError(f"unknown place {place_id!r}")

    def lower_bound_min(self, order_id: str) -> float:
        """Per-order click-to-door lower bound: prep time + pickup service / 2 + direct ride + drop-off
        service / 2 (a courier already waiting at the restaurant)."""
        o = self.orders[order_id]
        r = self.restaurants[o.restaurant]
        p = self.params
        return (
            (o.ready_min - o.placement_min)
            + p.pickup_service_min / 2
            + self.travel_min((r.x, r.y), (o.x, o.y))
            + (p.dropoff_service_min / 2)
        )


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def load_instance(folder: Path) -> Instance:
    """Reads an instance folder; raises ValueError naming the file and row of anything malformed."""
    folder = Path(folder)
    for name in ("restaurants.txt", "orders.txt", "couriers.txt", "instance_parameters.txt"):
        if not (folder / name).exists():
            raise ValueError(f"{folder} is not an MDRP instance: {name} is missing")
    try:
        [raw] = _rows(folder / "instance_parameters.txt")
        v = [float(x) for x in raw.values()]
        params = Params(*v)  # the file's column order is the dataclass's
        restaurants = {r["restaurant"]: Restaurant(r["restaurant"], float(r["x"]), float(r["y"]))
                       for r in _rows(folder / "restaurants.txt")}  # fmt: skip
        orders = {
            o["order"]: Order(
                o["order"],
                float(o["x"]),
                float(o["y"]),
                float(o["placement_time"]),
                o["restaurant"],
                float(o["ready_time"]),
            )
            for o in _rows(folder / "orders.txt")
        }
        couriers = {
            c["courier"]: Courier(c["courier"], float(c["x"]), float(c["y"]), float(c["on_time"]), float(c["off_time"]))
            for c in _rows(folder / "couriers.txt")
        }
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"malformed MDRP instance {folder}: {exc}") from None
    unknown = sorted({o.restaurant for o in orders.values()} - restaurants.keys())
    if unknown:
        raise ValueError(f"orders of {folder} name unknown restaurants: {', '.join(unknown[:5])}")
    return Instance(folder.name, params, restaurants, orders, couriers)
