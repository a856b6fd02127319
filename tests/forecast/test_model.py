"""The forecast's arithmetic without Redis: where a slot's hour share is read from, and the weekly profile."""

from __future__ import annotations

import pytest

from forecast.model import ForecastConfig, Profile, hour_bins, profile_value


def test_a_slot_reads_the_two_hours_around_its_middle() -> None:
    """12:30-12:45 (middle 12:37.5) lies between the middles of 12:00-13:00 and 13:00-14:00; 00:00-00:15 between
    those of 23:00-24:00 (the day before's hour, across midnight) and 00:00-01:00; weights sum to 1."""
    assert hour_bins(50) == ((12, pytest.approx(0.875)), (13, pytest.approx(0.125)))
    assert hour_bins(0) == ((23, pytest.approx(0.375)), (0, pytest.approx(0.625)))
    assert hour_bins(95) == ((23, pytest.approx(0.625)), (0, pytest.approx(0.375)))
    for slot in range(96):
        (_, w0), (_, w1) = hour_bins(slot)
        assert w0 + w1 == pytest.approx(1.0) and 0 <= w0 <= 1


def test_the_profile_reads_weeks_before_the_target_only() -> None:
    """A slot counted 4 orders in week 2 over a mean of 2 up to week 1: week 3 reads the folded mean, corrected
    for the three weeks seen; week 2 (the count's own) reads the mean before it; nothing before week 1."""
    alpha = ForecastConfig().alpha
    p = Profile.parse("2|2|4")
    folded = (1 - alpha) * 2 + alpha * 4
    assert profile_value(p, 3, 0, alpha) == pytest.approx(folded / (1 - (1 - alpha) ** 3))
    assert profile_value(p, 2, 0, alpha) == pytest.approx(2 / (1 - (1 - alpha) ** 2))
    assert profile_value(p, 0, 0, alpha) is None
    assert profile_value(None, 3, 0, alpha) == 0.0
