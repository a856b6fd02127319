"""Coalesces position fixes from every open stream into few Redis calls.

Streams hand their fixes to one writer task; it writes whatever has queued up since its last write
in one Lua call per chunk, so under load each round trip carries hundreds of fixes and when idle a fix
is written at once. A stream counts a fix as accepted only once its write has returned.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from core.clock import Clock
from core.errors import Unavailable
from dispatch.models import PositionFix
from dispatch.rider_index import RiderIndex

log = logging.getLogger("tongcheng.ingest")


@dataclass
class _Submission:
    fixes: Sequence[PositionFix]
    done: asyncio.Future[str]


class PositionWriter:
    """The single writer of rider positions for one zone's index."""

    def __init__(self, index: RiderIndex, clock: Clock, max_batch: int = 2_000, max_queued: int = 50_000) -> None:
        self._index = index
        self._clock = clock
        self._max_batch = max_batch
        self._queue: deque[_Submission] = deque()
        self._queued_fixes = 0
        self._max_queued = max_queued
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="position-writer")

    async def stop(self) -> None:
        """Writes what is queued, then stops."""
        if self._task is None:
            return
        self._closing = True
        self._ready.set()
        await self._task
        self._task = None

    def submit(self, fixes: Sequence[PositionFix]) -> asyncio.Future[str]:
        """Queues fixes; the future resolves to one flag per fix ('a' accepted, 's' stale) or fails."""
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if not fixes:
            done.set_result("")
            return done
        if self._closing:
            done.set_exception(Unavailable("the server is shutting down; resend these fixes"))
            return done
        self._queue.append(_Submission(fixes, done))
        self._queued_fixes += len(fixes)
        if self._queued_fixes >= self._max_queued:
            self._room.clear()
        self._ready.set()
        return done

    async def wait_for_room(self) -> None:
        """Back-pressure: streams pause reading while the writer is this far behind."""
        await self._room.wait()

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            if self._closing and not self._queue:
                return
            batch: list[_Submission] = []
            count = 0
            while self._queue and count < self._max_batch:
                sub = self._queue.popleft()
                batch.append(sub)
                count += len(sub.fixes)
            if not self._queue and not self._closing:
                self._ready.clear()
            self._queued_fixes -= count
            if self._queued_fixes < self._max_queued:
                self._room.set()
            fixes = [f for sub in batch for f in sub.fixes]
            try:
                flags = await self._index.ingest(fixes, self._clock.now_ms())
            except Exception as exc:  # every waiting stream learns of the failure
                log.warning("position write failed: %s", exc)
                for sub in batch:
                    if not sub.done.done():
                        sub.done.set_exception(exc)
                continue
            offset = 0
            for sub in batch:
                n = len(sub.fixes)
                if not sub.done.done():
                    sub.done.set_result(flags[offset : offset + n])
                offset += n
