"""The injected clock: live traffic reads the system clock, a replay drives a manual or a scaled one."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Protocol


class Clock(Protocol):
    """Where engine code reads time; never `time.time()` directly."""

    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Waits `seconds` of this clock's time."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to (tests, replays as fast as possible)."""

    def __init__(self, start_ms: int) -> None:
        self._now_ms = start_ms
        self._moved = asyncio.Event()

    def now_ms(self) -> int:
        return self._now_ms

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not run backwards")
        self._now_ms += round(seconds * 1000)
        self._moved.set()
        self._moved = asyncio.Event()

    def set(self, now_ms: int) -> None:
        """Moves the clock forward to `now_ms` (a replay's next event)."""
        self.advance((now_ms - self._now_ms) / 1000)

    async def sleep(self, seconds: float) -> None:
        until = self._now_ms + round(seconds * 1000)
        while self._now_ms < until:
            await self._moved.wait()


class ScaledClock:
    """Simulated time running `speed` times faster than real time (dev and bench replays only).

    It reads `start_ms` at the Unix wall instant `anchor_unix_ms` (default: when it is made) and then
    advances on time.monotonic(), so a jump of the system clock does not move it. Two processes on
    one machine given the same three numbers agree on the time to the millisecond: that is how a
    replay and the server it drives share one simulated clock.
    """

    def __init__(self, start_ms: int, speed: float, anchor_unix_ms: int | None = None) -> None:
        if not math.isfinite(speed) or speed <= 0:
            raise ValueError(f"a scaled clock needs a positive speed, got {speed}")
        if start_ms <= 0:
            raise ValueError("a scaled clock starts after 1970")
        self.start_ms = start_ms
        self.speed = speed
        unix_ms = time.time_ns() / 1e6
        self.anchor_unix_ms: float = unix_ms if anchor_unix_ms is None else anchor_unix_ms
        # The wall instant of the anchor, on the monotonic scale.
        self._anchor_mono_s = time.monotonic() - (unix_ms - self.anchor_unix_ms) / 1000

    def now_ms(self) -> int:
        return self.start_ms + round((time.monotonic() - self._anchor_mono_s) * 1000 * self.speed)

    def wall_s(self, seconds: float) -> float:
        """How long `seconds` of this clock's time take in real time."""
        return seconds / self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)
