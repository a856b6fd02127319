"""Throttles code guessing: a caller whose lookups of unknown or foreign codes pass a limit is refused.

Counted per caller in this process (a sliding window of failures), not in Redis: a refused guess must
leave the store unchanged, and an attacker spreading guesses over N intake processes gets at most N times
the limit — still about a guess a second against a 25-bit signature.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class GuessThrottle:
    """At most `max_failures` failed lookups per caller within `window_s`."""

    max_failures: int = 20
    window_s: float = 60.0
    max_callers: int = 100_000
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, caller: str, now: float) -> deque[float]:
        q = self._failures.get(caller)
        if q is None:
            if len(self._failures) >= self.max_callers:
                self._failures.pop(next(iter(self._failures)))
            q = self._failures[caller] = deque()
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def retry_after_s(self, caller: str) -> float:
        """0 when the caller may look codes up; else how long until it may again."""
        now = time.monotonic()
        q = self._recent(caller, now)
        return 0.0 if len(q) < self.max_failures else max(0.001, q[0] + self.window_s - now)

    def failed(self, caller: str) -> None:
        self._recent(caller, time.monotonic()).append(time.monotonic())
