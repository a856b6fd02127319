"""Weeks of a city's orders with the shapes real delivery demand has, drawn from a seed: for the forecast's
benchmark and to give a replay's forecast its history.

Per merchant and 5-minute bin, orders are Poisson with rate

    zone curve(hour, day type) x weekday factor x merchant popularity x merchant's meal tilt(hour)
      x day noise (zone-wide: weather, events) x merchant-day noise x spells x level shifts

- Daily shape: a weekday curve with a lunch and a dinner peak and a late-night tail; weekends have a later,
  flatter midday and a bigger dinner (Meituan's and Uber Eats' published hourly curves have this shape).
- Weekly shape: Monday to Sunday factors (Friday and Saturday busiest).
- Merchants: popularity lognormal (sigma 1: a few merchants take much of the demand, as in the MDRP
  instances' restaurant counts); each leans to lunch or to dinner (an office canteen against a pizzeria).
- Noise: a zone-wide factor per day (lognormal, sigma 0.15), one per merchant and day (sigma 0.25), on
  top of Poisson counts.
- Spells: on a fifth of the days a rainy spell of 2-4 hours lifts the whole zone's demand by 40%.
- Level shifts: each week a merchant's level jumps with probability 0.08 (x0.5 to x1.8, from a random
  day on: a promotion, a new menu, a closed kitchen), and the zone grows 20% from a random day of week 3.

Nothing here knows the forecast's model; the forecast sees only the orders. `draw` also gives the rates the
orders were drawn from (the Poisson means: the best any forecast could know) and the seasonal rates (the
same without the day's noise, merchant-day noise and spells, times those factors' expectations: what a
forecast knowing the shapes, the popularity, the tilts and every level shift could know), so that a
benchmark can tell the error no forecast removes from the error its model leaves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

BIN_S = 300
BINS_PER_DAY = 86_400 // BIN_S


def _curve(points: dict[float, float], hour: np.ndarray) -> np.ndarray:
    xs, ys = zip(*sorted(points.items()), strict=True)
    return np.interp(hour, xs, ys)


@dataclass(frozen=True)
class DemandDraw:
    """One draw of `WeeklyDemand`: the orders and the expected orders they were drawn from, per merchant and
    5-minute bin from the first Monday 00:00 (`BIN_S`)."""

    # (seconds from the first Monday 00:00 local, merchant index) of every order, in time order.
    orders: list[tuple[float, int]]
    # merchants x bins: the Poisson mean of each bin's orders (every factor of the day included).
    rate: np.ndarray
    # merchants x bins: E[rate] over the day noise, the merchant-day noise and the spells, given the rest.
    seasonal_rate: np.ndarray


@dataclass(frozen=True)
class WeeklyDemand:
    """A city's demand over weeks (see the module docstring); rates are orders per hour for the zone."""

    weekday_per_hour: dict[float, float] = field(default_factory=lambda: {
        0: 15, 2: 6, 5: 3, 7: 12, 9: 25, 11: 90, 12: 180, 13: 130, 14: 55, 16: 40, 17.5: 110, 18.5: 220, 19.5: 170,
        21: 90, 22.5: 45, 24: 15,
    })  # fmt: skip
    weekend_per_hour: dict[float, float] = field(default_factory=lambda: {
        0: 30, 3: 10, 6: 4, 9: 20, 11: 70, 12.5: 150, 14: 110, 16: 70, 17.5: 120, 19: 250, 20: 200, 21.5: 110,
        23: 60, 24: 30,
    })  # fmt: skip
    weekday_factor: tuple[float, ...] = (0.9, 0.95, 1.0, 1.0, 1.15, 1.1, 0.95)  # Monday .. Sunday
    popularity_sigma: float = 1.0
    day_sigma: float = 0.15
    merchant_day_sigma: float = 0.25
    spell_probability: float = 0.2
    spell_lift: float = 1.4
    shift_probability: float = 0.08
    growth_week: int = 2  # 0-based: the zone grows from a random day of this week
    growth: float = 1.2

    def orders(self, merchants: int, weeks: int, seed: int) -> list[tuple[float, int]]:
        """(seconds from the first Monday 00:00 local, merchant index) of every order, in time order."""
        return self.draw(merchants, weeks, seed).orders

    def spell_expectation(self, hours: np.ndarray) -> np.ndarray:
        """E[spell factor] at each hour of a day: 1 + p (lift - 1) P(start <= hour < start + length), start
        uniform in [8, 20) h and length in [2, 4) h as `draw` draws them (the length integrated on a grid)."""
        length = np.linspace(2, 4, 2001)[None, :]
        h = hours[:, None]
        covered = np.clip(np.minimum(h, 20.0) - np.maximum(h - length, 8.0), 0, None) / 12.0
        return 1 + self.spell_probability * (self.spell_lift - 1) * covered.mean(axis=1)

    def draw(self, merchants: int, weeks: int, seed: int) -> DemandDraw:
        """The orders of `weeks` weeks with their rates (`DemandDraw`); the orders are those of `orders`."""
        rng = np.random.default_rng(seed)
        popularity = rng.lognormal(0, self.popularity_sigma, merchants)
        popularity /= popularity.sum()
        tilt = rng.normal(0, 0.5, merchants)  # > 0 leans to dinner
        hours = (np.arange(BINS_PER_DAY) + 0.5) * BIN_S / 3600
        # Meal tilt: lunch hours (10-15) weigh exp(-tilt), evening hours (17-22) exp(+tilt).
        lunch = ((hours >= 10) & (hours < 15)).astype(float)
        dinner = ((hours >= 17) & (hours < 22)).astype(float)
        mix = np.exp(np.outer(tilt, dinner - lunch))  # merchants x bins
        mix /= mix.mean(axis=1, keepdims=True)
        level = np.ones(merchants)
        # The noise factors' means (lognormal: exp(sigma^2 / 2)) and the spells' by time of day.
        noise_mean = math.exp(self.day_sigma**2 / 2) * math.exp(self.merchant_day_sigma**2 / 2)
        spell_mean = self.spell_expectation(hours)
        rates, seasonal = [], []
        growth_day = self.growth_week * 7 + int(rng.integers(0, 7))
        out: list[tuple[float, int]] = []
        for day in range(weeks * 7):
            weekday = day % 7
            if weekday == 0:  # this week's level shifts, from a random day on
                shifting = rng.random(merchants) < self.shift_probability
                shift_day = day + rng.integers(0, 7, merchants)
                shift_by = rng.uniform(0.5, 1.8, merchants)
            level = np.where(shifting & (shift_day == day), level * shift_by, level)
            curve = _curve(self.weekend_per_hour if weekday >= 5 else self.weekday_per_hour, hours)
            zone = curve * self.weekday_factor[weekday] * rng.lognormal(0, self.day_sigma)
            shape = curve * self.weekday_factor[weekday]
            if day >= growth_day:
                zone, shape = zone * self.growth, shape * self.growth
            if rng.random() < self.spell_probability:
                start = rng.uniform(8, 20)
                zone = np.where((hours >= start) & (hours < start + rng.uniform(2, 4)), zone * self.spell_lift, zone)
            noise = rng.lognormal(0, self.merchant_day_sigma, merchants)
            rate = (popularity * level * noise)[:, None] * mix * zone[None, :] * BIN_S / 3600
            rates.append(rate)
            seasonal.append(
                (popularity * level)[:, None] * mix * (shape * spell_mean * noise_mean)[None, :] * BIN_S / 3600
            )
            counts = rng.poisson(rate)
            for m, b in zip(*np.nonzero(counts), strict=True):
                for _ in range(int(counts[m, b])):
                    out.append((day * 86_400 + (b + rng.random()) * BIN_S, int(m)))
        out.sort()
        return DemandDraw(out, np.concatenate(rates, axis=1), np.concatenate(seasonal, axis=1))
