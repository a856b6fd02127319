"""Replay scenarios: a seeded description of a service period in a city (JSON files or built-ins)."""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Scenario:
    """Everything a replay draws from, with the seed that makes it reproducible."""

    name: str
    seed: int = 7
    start_hour: float = 11.0  # local time the replay starts
    duration_h: float = 2.0
    # Orders per hour by local hour (linear between points): a lunch peak by default.
    demand_per_hour: dict[str, float] = field(
        default_factory=lambda: {"11": 60.0, "12": 180.0, "13": 120.0, "14": 40.0}
    )
    riders: int = 40
    # Share of riders on a shift covering the whole period; the rest work its middle half.
    full_shift_share: float = 0.6
    # Probability that a rider accepts an offer (the rest reject at once).
    accept_probability: float = 0.95
    # Merchant mean prep times are drawn uniformly from this range (minutes); each order's true ready
    # time is lognormal around its merchant's mean with this sigma. The engine is told the mean only.
    prep_mean_min: tuple[float, float] = (8.0, 18.0)
    prep_sigma: float = 0.3
    # Whether merchants' hints state their spread (ready_hint_sd_s: the standard deviation of their own
    # prep times, which they know), making each hint a forecast rather than a ready time.
    hint_spread: bool = False
    promise_min: float = 40.0  # promised click-to-door
    position_every_s: float = 10.0  # how often moving riders report
    tick_s: float = 2.0
    # A chain (issue 21; bench/replay/chain.py): `chain_branches` merchants near the city's centre form a chain
    # that takes `chain_share` of the orders, `swamped_share` of them placed at its first branch. Its kitchens
    # cook `chain_cooks` orders at once (an order waits for a free cook), each for a time lognormal around
    # `chain_prep_min`; other merchants cook every order at once, as before. 0 branches: no chain.
    chain_branches: int = 0
    chain_share: float = 0.3
    swamped_share: float = 0.5
    chain_cooks: int = 2
    chain_prep_min: float = 10.0
    chain_spacing_m: float = 1000.0  # branches lie at least this far apart (a chain opens no two on one street)
    # Delivery areas: each merchant delivers within this radius (0: anywhere); a customer orders only from a
    # merchant whose area holds the door (what "which merchants deliver here" shows the app).
    area_radius_m: float = 0.0
    # Chain overflow (commerce/orders/overflow.py) and its settings.
    overflow: bool = False
    overflow_backlog_orders: int = 6
    overflow_late_prep_min: float = 0.0
    overflow_margin_min: float = 5.0
    # Demand that moves between places over the period: one demand curve (orders per hour by local hour)
    # per district; the merchants are split along the city's long axis into as many bands of equal count,
    # and an order of a district goes to one of its merchants. Empty: one curve (`demand_per_hour`) for the
    # whole city. With districts, the city's demand is their sum and `demand_per_hour` is not read.
    districts: tuple[dict[str, float], ...] = ()
    # Quoted fees (in-process replays, bench/replay/fees.py): the riders' share of the surge, in basis points
    # (the pricing rules' rider_surge_share_bp; the other rules are the defaults).
    rider_surge_share_bp: int = 0

    def __post_init__(self) -> None:
        if self.duration_h <= 0 or self.riders < 1 or not self.demand_per_hour:
            raise ValueError("a scenario needs a positive duration, riders and a demand curve")
        if not 0 < self.accept_probability <= 1 or not 0 <= self.full_shift_share <= 1:
            raise ValueError("accept_probability must be in (0, 1] and full_shift_share in [0, 1]")
        if any(v < 0 for v in self.demand_per_hour.values()):
            raise ValueError("demand must not be negative")
        if not isinstance(self.hint_spread, bool):
            raise ValueError("hint_spread must be true or false")
        if self.chain_branches < 0 or self.chain_branches == 1 or self.chain_cooks < 1 or self.chain_prep_min <= 0:
            raise ValueError("a chain needs 0 or at least 2 branches, at least one cook and a positive prep time")
        if not 0 <= self.chain_share <= 1 or not 0 <= self.swamped_share <= 1:
            raise ValueError("chain_share and swamped_share must be in [0, 1]")
        if self.area_radius_m < 0 or self.overflow_margin_min < 0 or self.overflow_late_prep_min < 0:
            raise ValueError("area_radius_m and the overflow settings must not be negative")
        if self.overflow_backlog_orders < 0:
            raise ValueError("overflow_backlog_orders must not be negative")
        if any(not d or any(v < 0 for v in d.values()) for d in self.districts):
            raise ValueError("each district needs a demand curve of non-negative orders per hour")
        if self.districts and self.chain_branches:
            raise ValueError("a scenario has districts or a chain, not both")
        if not 0 <= self.rider_surge_share_bp <= 10_000:
            raise ValueError("rider_surge_share_bp must be within [0, 10000]")

    def demand_at(self, hour: float) -> float:
        """Orders per hour of the whole city at a local hour."""
        if self.districts:
            return sum(self.district_demand_at(hour))
        return _curve_at(self.demand_per_hour, hour)

    def district_demand_at(self, hour: float) -> list[float]:
        """Orders per hour of each district at a local hour."""
        return [_curve_at(d, hour) for d in self.districts]

    @property
    def peak_per_hour(self) -> float:
        """An upper bound of the city's orders per hour (arrivals are drawn at it, then thinned)."""
        if self.districts:
            return sum(max(d.values()) for d in self.districts)
        return max(self.demand_per_hour.values())

    @classmethod
    def load(cls, name_or_path: str) -> Scenario:
        if name_or_path in BUILT_IN:
            return BUILT_IN[name_or_path]
        path = Path(name_or_path)
        if not path.exists():
            raise ValueError(f"unknown scenario {name_or_path!r}: one of {', '.join(BUILT_IN)} or a JSON file")
        data = json.loads(path.read_text())
        if "prep_mean_min" in data:
            data["prep_mean_min"] = tuple(data["prep_mean_min"])
        if "districts" in data:
            data["districts"] = tuple(data["districts"])
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def _curve_at(points_by_hour: dict[str, float], hour: float) -> float:
    """A demand curve's value at `hour`: linear between its points, flat beyond them."""
    points = sorted((float(h), v) for h, v in points_by_hour.items())
    if hour <= points[0][0]:
        return points[0][1]
    for (h0, v0), (h1, v1) in itertools.pairwise(points):
        if h0 <= hour <= h1:
            return v0 + (v1 - v0) * (hour - h0) / (h1 - h0)
    return points[-1][1]


BUILT_IN = {
    "lunch": Scenario("lunch"),
    "short": Scenario("short", duration_h=0.25, riders=12, demand_per_hour={"11": 120.0}),
    # The evening peak: later, longer and busier than lunch, with longer kitchen times.
    "dinner": Scenario(
        "dinner",
        start_hour=17.0,
        duration_h=3.0,
        riders=50,
        prep_mean_min=(10.0, 22.0),
        demand_per_hour={"17": 50.0, "18.5": 220.0, "19.5": 160.0, "20": 60.0},
    ),
}
