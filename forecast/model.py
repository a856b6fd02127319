"""The forecast's arithmetic: a seasonal profile per unit (H3 cell or merchant) and 15-minute slot of the
week, shrunk toward the zone's profile for sparse units, times a recent-level correction.

Why this model (and not a learnt regressor): demand for food delivery repeats by time of day and day of
week, and shifts in level (weather, a promotion, a holiday) show within the hour. A weekly profile per slot
learns the first with one number per (unit, slot), updated in O(1) per order; the last hours' orders
against what the profile expected for them give the second. Sparse cells (a few orders a week) would make a
noisy profile on their own, so each is shrunk toward the zone's profile times the unit's share of the
zone's orders at that hour of the day (Poisson-gamma empirical Bayes: the prior weighs `prior_weeks` weeks
of the unit's own history). Everything is a few multiplications per unit at read time.

- Profile: per (unit, slot of week) an exponentially weighted mean of the slot's weekly counts (weight
  `alpha` on the newest week), stored as (mean up to last week, week of the current count, current count),
  so that the current week's orders never leak into its own forecast, and corrected for its start
  (divided by 1 - (1 - alpha)^weeks seen) so that the first weeks are not biased low. Neighbouring slots
  are averaged in (1/4, 1/2, 1/4): a quarter hour's count is noisy and demand moves smoothly.
- Shrinkage: forecast = (n·own + m·share_h·zone) / (n + m), n = the profile's effective weeks
  (min(weeks seen, (2 - alpha) / alpha)), m = `prior_weeks`. share_h is the unit's share at the slot's time
  of day: its decayed orders in that hour over the zone's (half-life `share_half_life_s`), read between the
  two hours around the slot's middle (`hour_bins`), pooled over every day and over the slot's day type
  (Monday-Friday or the weekend), the day type's pulled toward every day's, and that toward the unit's share
  of all hours (`day_type_prior_orders`, `hour_share_prior_orders` of the zone's orders). A merchant leans to
  lunch or to dinner every day: pooling 7 days gives its share at an hour 7 times the orders of one slot of
  the week, so the prior carries the unit's shape through the day and is worth more weeks than the zone's
  flat share was (3).
- Recent level: L = (A + b0) / (F + b0) over the last `level_slots` complete slots, zone-wide (A orders seen,
  F the profile's forecast for them), then per unit (A_u + b·L) / (F_u + b): a unit's own last hours move
  its forecast only as far as its counts support (b = 20: a cell's few orders an hour are mostly Poisson
  noise). L is applied to the next slot and fades by `level_fade` per slot after it.

What is left, measured (bench.forecast's oracles, res 8, under one order per cell and slot): MAE 3-4% above
that of the rates the orders were drawn from, and below that of their seasonal part alone; most of the
error is the counts' Poisson noise. The forecast is a mean (expected orders: what pricing and guidance
add up); under MAE the best point is the Poisson median of it. A negative binomial median (the rate's
uncertainty as a gamma of shape k) was 0.3-3.6% worse at k = 2-8 and within 0.1% of the Poisson one from
k = 16 on every seed (the rate's error here is small beside the counts' noise), so none is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ForecastConfig", "Profile", "hour_bins", "profile_value"]


@dataclass(frozen=True)
class ForecastConfig:
    # H3 resolution of the forecast's cells: 8 is 0.74 km², a few streets (what a surge or a rider's wait
    # place is decided on). Coarser cells are sums of their children.
    resolution: int = 8
    # Weight of the newest week in a slot's profile. 0.25: a level shift is half learnt in 2.4 weeks, and the
    # profile averages about 7 weeks of noise (bench.forecast: 0.15-0.35 within 1% of each other).
    alpha: float = 0.25
    # Weeks of the unit's own history the zone's profile (times the unit's share at that hour) is worth.
    # The prior pools every day's orders at that hour, the unit's own profile one slot of one weekday: 12 weeks
    # (bench.forecast, res 8, Liechtenstein seeds 11-13 and Baltimore 11: MAE 0.7-0.8% below 3 weeks; 24 is 0.1%
    # better still there, but would leave a unit's own weekly pattern, which that demand does not draw, little
    # say).
    prior_weeks: float = 12.0
    # The unit's share of the zone at an hour of the day: its orders in that hour of every day over the
    # zone's (decayed, half-life `share_half_life_s`), pulled toward its share of all hours with
    # `hour_share_prior_orders` of the zone's orders; that of the day type (Monday-Friday or the weekend) is
    # pulled toward the every-day one with `day_type_prior_orders`. Offices and homes change places at the
    # weekend; bench.forecast's demand keeps a merchant's meal tilt every day, so pooling only by day type
    # there costs 0.2% and this two-level pull 0.1%.
    hour_share_prior_orders: float = 20.0
    day_type_prior_orders: float = 200.0
    # Pseudo-orders of the zone-wide and the per-unit level corrections (their prior is 1 and L). A unit's
    # last hours are a few orders, mostly Poisson noise: 20 (bench.forecast: MAE 0.7-1.5% below 3 on every run).
    level_prior_orders: float = 20.0
    unit_level_prior_orders: float = 20.0
    # The level correction compares the last `level_slots` complete slots, each weighted `level_decay` times
    # the one after it (a day's own level: weather, a merchant's busy day, persists for hours).
    level_slots: int = 12
    level_decay: float = 0.85
    # The level correction is kept within [1 / level_cap, level_cap].
    level_cap: float = 3.0
    # The correction's weight falls by this factor per slot ahead.
    level_fade: float = 0.9
    # Half-life of a unit's share of the zone's orders (seconds).
    share_half_life_s: float = 14 * 86_400.0
    # Units (cells or merchants) kept per zone and family: past it, a new unit's orders count for the zone
    # only (bounds the keys' size; 4,096 res-8 cells are 3,000 km²).
    max_units: int = 4_096
    # Orders already counted are remembered this long (a retried intake does not count twice).
    seen_s: float = 2 * 86_400.0

    def __post_init__(self) -> None:
        if not 0 <= self.resolution <= 15:
            raise ValueError("forecast: resolution must be within 0..15")
        if not 0 < self.alpha <= 1:
            raise ValueError("forecast: alpha must be within (0, 1]")
        if self.prior_weeks < 0 or self.level_prior_orders <= 0 or self.unit_level_prior_orders <= 0:
            raise ValueError("forecast: prior_weeks must not be negative and the level priors must be positive")
        if self.hour_share_prior_orders <= 0 or self.day_type_prior_orders <= 0:
            raise ValueError("forecast: the hour share's priors must be positive")
        if self.level_slots < 1 or not 0 < self.level_decay <= 1:
            raise ValueError("forecast: level_slots must be at least 1 and level_decay within (0, 1]")
        if self.level_cap < 1 or not 0 <= self.level_fade <= 1:
            raise ValueError("forecast: level_cap must be at least 1 and level_fade within [0, 1]")
        if self.share_half_life_s <= 0 or self.max_units < 1 or self.seen_s <= 0:
            raise ValueError("forecast: share_half_life_s, max_units and seen_s must be positive")

    @property
    def effective_weeks(self) -> float:
        """Weeks an exponentially weighted mean of weight alpha averages over (variance-equivalent)."""
        return (2 - self.alpha) / self.alpha


@dataclass(frozen=True)
class Profile:
    """One (unit, slot of week) as stored: the weighted mean of weekly counts up to the week before `week`,
    and `count` orders in `week`."""

    mean: float
    week: int
    count: int

    @classmethod
    def parse(cls, raw: str) -> Profile:
        mean, week, count = raw.split("|")
        return cls(float(mean), int(week), int(count))


def profile_value(p: Profile | None, target_week: int, start_week: int, alpha: float) -> float | None:
    """The profile's forecast for the slot in `target_week`, from weeks before it only; None when no week
    before it was seen."""
    seen = target_week - start_week
    if seen <= 0:
        return None
    if p is None:
        return 0.0
    if p.week < target_week:  # fold the stored week, then the weeks without orders since
        mean = ((1 - alpha) * p.mean + alpha * p.count) * (1 - alpha) ** (target_week - 1 - p.week)
    else:  # the stored mean runs to the week before the stored count's (a later week: read as is)
        mean = p.mean
    return mean / (1 - (1 - alpha) ** seen)


def hour_bins(slot_of_day: int) -> tuple[tuple[int, float], tuple[int, float]]:
    """The two hours of the day (0-23) a 15-minute slot's share is interpolated between, with their weights:
    each hour's count stands at its middle, and a slot reads the two middles on either side of its own
    (linearly, across midnight too), so that a share moves smoothly through the day."""
    at_h = (slot_of_day + 0.5) / 4 - 0.5
    before = math.floor(at_h)
    w_after = at_h - before
    return (before % 24, 1 - w_after), ((before + 1) % 24, w_after)
