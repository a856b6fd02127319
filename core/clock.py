"""The injected clock: live traffic reads the system clock, a replay drives a manual one."""

from __future__ import annotations

import asyncio
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
