"""The injected clocks: a scaled clock runs at its speed and two processes can share it."""

from __future__ import annotations

import time

import pytest

from core.clock import ScaledClock

START_MS = 1_781_078_400_000  # 2026-06-10 08:00 UTC


async def test_scaled_clock_runs_at_its_speed() -> None:
    """At 60x, 0.2 s of real time is 12 simulated seconds; sleep(6) takes a tenth of a second."""
    clock = ScaledClock(START_MS, 60)
    t0 = time.monotonic()
    before = clock.now_ms()
    await clock.sleep(6)
    waited = time.monotonic() - t0
    moved_s = (clock.now_ms() - before) / 1000
    assert 0.1 <= waited < 0.5
    assert moved_s == pytest.approx(waited * 60, abs=0.5)


def test_clocks_with_one_anchor_agree() -> None:
    """Given the same start, speed and Unix anchor, two clocks read the same time (as client and server do)."""
    anchor = time.time_ns() // 1_000_000 - 1_000  # a second ago: 100 s simulated at 100x
    a = ScaledClock(START_MS, 100, anchor)
    time.sleep(0.05)
    b = ScaledClock(START_MS, 100, anchor)
    assert abs(a.now_ms() - b.now_ms()) < 200  # 2 ms of real time at 100x
    expected_ms = (time.time_ns() // 1_000_000 - anchor) * 100
    assert a.now_ms() - START_MS == pytest.approx(expected_ms, abs=2_000)


def test_an_anchor_in_the_future_reads_before_the_start() -> None:
    """Until its anchor, the clock reads earlier than its start (a replay waits for it)."""
    clock = ScaledClock(START_MS, 10, time.time_ns() // 1_000_000 + 2_000)
    assert START_MS - 21_000 < clock.now_ms() < START_MS - 19_000


@pytest.mark.parametrize("speed", [0, -1, float("nan"), float("inf")])
def test_nonsense_speeds_are_refused(speed: float) -> None:
    """Zero, negative, NaN and infinite speeds are clear errors."""
    with pytest.raises(ValueError, match="positive speed"):
        ScaledClock(START_MS, speed)


def test_wall_time_of_simulated_time() -> None:
    """wall_s converts simulated seconds to real seconds."""
    assert ScaledClock(START_MS, 60).wall_s(2.0) == pytest.approx(1 / 30)
