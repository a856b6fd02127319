"""The replay's weekly demand: its orders, the rates they were drawn from, and the rates' seasonal part."""

from __future__ import annotations

import numpy as np
import pytest

from bench.replay.demand import BIN_S, BINS_PER_DAY, WeeklyDemand


def test_draw_gives_the_orders_of_orders_and_their_rates() -> None:
    """`draw` returns the very orders `orders` does for a seed, and per merchant counts near its rates."""
    demand = WeeklyDemand()
    drawn = demand.draw(40, 2, seed=5)
    assert drawn.orders == demand.orders(40, 2, seed=5)
    assert drawn.rate.shape == drawn.seasonal_rate.shape == (40, 2 * 7 * BINS_PER_DAY)
    counts = np.zeros(40)
    for _, m in drawn.orders:
        counts[m] += 1
    expected = drawn.rate.sum(axis=1)
    # Poisson: each merchant's count within 5 standard deviations of its rate's sum; the total within 1%.
    assert np.all(np.abs(counts - expected) <= 5 * np.sqrt(expected) + 1)
    assert counts.sum() == pytest.approx(expected.sum(), rel=0.01)
    # The seasonal part is the rate's expectation over the day's noise and spells: the same total within the
    # day noise of 14 days (sigma 0.15 / sqrt(14) = 4%) and merchant-day noise.
    assert drawn.seasonal_rate.sum() == pytest.approx(drawn.rate.sum(), rel=0.12)
    # Without the day's noise, a merchant's Wednesday is its Tuesday times the weekday factors' ratio (unless
    # its level shifted that day); with it, no two days are alike.
    tuesday, wednesday = (slice(d * BINS_PER_DAY, (d + 1) * BINS_PER_DAY) for d in (1, 2))
    factor = demand.weekday_factor[2] / demand.weekday_factor[1]
    seasonal = drawn.seasonal_rate[:, wednesday].sum(axis=1) / drawn.seasonal_rate[:, tuesday].sum(axis=1)
    actual = drawn.rate[:, wednesday].sum(axis=1) / drawn.rate[:, tuesday].sum(axis=1)
    assert np.mean(np.isclose(seasonal, factor)) >= 0.8
    assert np.mean(np.isclose(actual, factor)) == 0


def test_spells_lift_the_expected_rate_by_their_chance_of_covering_an_hour() -> None:
    """A spell starts uniformly in [8, 20) h and lasts 2-4 h (3 on average): 14:00 is covered with chance 3/12,
    08:30 only by spells started in its first half hour (0.5/12), 03:00 never; lift 1.4 on a fifth of days."""
    got = WeeklyDemand().spell_expectation(np.array([14.0, 8.5, 3.0]))
    assert got == pytest.approx([1 + 0.2 * 0.4 * 3 / 12, 1 + 0.2 * 0.4 * 0.5 / 12, 1.0], rel=1e-4)
    assert BIN_S * BINS_PER_DAY == 86_400
