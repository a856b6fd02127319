"""Coalesces position fixes from every open stream into few Redis calls.

Each stream owns a buffer (an `IngestStream`); the zone's single writer task takes whatever all
buffers hold since its last write and stores it in one Lua call per chunk. Under load a round trip
carries hundreds of fixes; when idle a fix is written at once. Streams pay no per-message future or
task: they append to their buffer and, when they end, wait until the writer has stored all of it. A
fix counts as accepted only once its write has returned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from core.clock import Clock
from core.errors import Unavailable
from dispatch.models import IngestResult, PositionFix
from dispatch.rider_index import RiderIndex

log = logging.getLogger("tongcheng.ingest")


class IngestStream:
    """One stream's pending fixes and what became of those already written."""

    def __init__(self, writer: PositionWriter) -> None:
        self._writer = writer
        self.buffer: list[PositionFix] = []
        self.in_flight = 0
        self.accepted = 0
        self.stale = 0
        self.error: BaseException | None = None
        self.settled = asyncio.Event()
        self.settled.set()

    def add(self, fixes: Sequence[PositionFix]) -> None:
        """Queues fixes for the writer (raises if the server is closing or a write failed)."""
        if self.error is not None:
            raise self.error
        if self._writer.closing:
            raise Unavailable("the server is shutting down; resend these fixes")
        if fixes:
            self.buffer.extend(fixes)
            self.settled.clear()
            self._writer.wake(self, len(fixes))

    async def drain(self) -> IngestResult:
        """Waits until every queued fix is written; the counts, or the write's failure."""
        await self.settled.wait()
        if self.error is not None:
            raise self.error
        return IngestResult(accepted=self.accepted, stale=self.stale)


class PositionWriter:
    """The single writer of rider positions for one zone's index."""

    def __init__(
        self,
        index: RiderIndex,
        clock: Clock,
        max_batch: int = 2_000,
        max_queued: int = 50_000,
        on_written: Callable[[list[PositionFix], str], None] | None = None,
    ) -> None:
        self._index = index
        self._on_written = on_written
        self._clock = clock
        self._max_batch = max_batch
        self._max_queued = max_queued
        self._waiting: dict[IngestStream, None] = {}  # streams with buffered fixes, oldest first
        self._queued = 0
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._task: asyncio.Task[None] | None = None
        self.closing = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="position-writer")

    async def stop(self) -> None:
        """Writes what is queued, then stops."""
        if self._task is None:
            return
        self.closing = True
        self._ready.set()
        await self._task
        self._task = None

    def open_stream(self) -> IngestStream:
        return IngestStream(self)

    async def write(self, fixes: Sequence[PositionFix]) -> IngestResult:
        """Stores fixes through the writer and waits for them (for callers outside a stream)."""
        stream = self.open_stream()
        stream.add(fixes)
        return await stream.drain()

    def wake(self, stream: IngestStream, added: int) -> None:
        self._waiting[stream] = None
        self._queued += added
        if self._queued >= self._max_queued:
            self._room.clear()
        self._ready.set()

    async def wait_for_room(self) -> None:
        """Back-pressure: streams pause reading while the writer is this far behind."""
        await self._room.wait()

    def _take(self) -> list[tuple[IngestStream, int]]:
        """Up to max_batch fixes from the waiting streams, oldest first, and how many from each."""
        taken: list[tuple[IngestStream, int]] = []
        budget = self._max_batch
        while self._waiting and budget > 0:
            stream = next(iter(self._waiting))
            n = min(budget, len(stream.buffer))
            taken.append((stream, n))
            budget -= n
            if n == len(stream.buffer):
                del self._waiting[stream]
        return taken

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            if self.closing and not self._waiting:
                return
            taken = self._take()
            if not self._waiting and not self.closing:
                self._ready.clear()
            fixes: list[PositionFix] = []
            for stream, n in taken:
                fixes += stream.buffer[:n]
                del stream.buffer[:n]
                stream.in_flight += n
            self._queued -= len(fixes)
            if self._queued < self._max_queued:
                self._room.set()
            try:
                flags = await self._index.ingest(fixes, self._clock.now_ms())
            except Exception as exc:  # the streams whose fixes these were learn of the failure
                log.warning("position write failed: %s", exc)
                flags = None
                failure = exc
            if flags is not None and self._on_written is not None:
                self._on_written(fixes, flags)
            offset = 0
            for stream, n in taken:
                stream.in_flight -= n
                if flags is None:
                    stream.error = failure
                    self._waiting.pop(stream, None)
                    self._queued -= len(stream.buffer)
                    stream.buffer.clear()
                else:
                    part = flags[offset : offset + n]
                    accepted = part.count("a")
                    stream.accepted += accepted
                    stream.stale += n - accepted
                offset += n
                if not stream.buffer and stream.in_flight == 0:
                    stream.settled.set()
