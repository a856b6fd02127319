"""Retention of the supply side (issue 20): the stock ledger and finished bookings would grow without bound.

Every `every_s` (an hour by default), for every merchant (a SCAN of their records, node by node on a
cluster): each variant's ledger events older than `ledger_days` and before its last physical count are folded
away (`merchants.Stock.compact`: on hand, availability and the recomputation from the ledger are unchanged),
and bookings that ended more than `booking_days` ago are trimmed with their slots (`bookings.BookingStore.trim`;
their paid orders stay in the order center, which keeps money records for reconciliation). Each step is one
script per variant or per batch of bookings, idempotent, so several processes may run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import redis.asyncio as aioredis

from bookings import Bookings
from core.clock import Clock
from merchants import Merchants

log = logging.getLogger("tongcheng.retention")

DAY_MS = 86_400_000
_MERCHANT_KEYS = "tc:{m:*}:merchant"


@dataclass(frozen=True)
class RetentionConfig:
    """How long the supply side keeps history."""

    # Ledger events before a variant's last physical count are kept this long (an audit of a month's counts).
    ledger_days: int = 30
    # Bookings are kept this long after their slot ends (disputes of a no-show or a refund come within weeks).
    booking_days: int = 90
    # How often a pass runs (0: never).
    every_s: float = 3_600.0

    def __post_init__(self) -> None:
        if self.ledger_days < 0 or self.booking_days < 0 or self.every_s < 0:
            raise ValueError("retention periods must not be negative")


class Retention:
    def __init__(
        self,
        client: aioredis.Redis,
        clock: Clock,
        merchants: Merchants | None,
        bookings: Bookings | None,
        config: RetentionConfig = RetentionConfig(),
    ) -> None:
        self._redis = client
        self.clock = clock
        self.merchants = merchants
        self.bookings = bookings
        self.config = config
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        if self._task is None and self.config.every_s > 0:
            self._task = asyncio.create_task(self._loop(), name="supply-retention")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.config.every_s)
            if self._stopping.is_set():
                return
            try:
                folded, trimmed = await self.run_once()
                log.info("retention: %d ledger events folded, %d bookings trimmed", folded, trimmed)
            except Exception as exc:  # the loop must outlive a Redis outage
                log.warning("retention pass failed: %s", exc)

    async def run_once(self) -> tuple[int, int]:
        """One pass over every merchant; returns (ledger events folded, bookings trimmed)."""
        now_ms = self.clock.now_ms()
        folded = trimmed = 0
        async for key in self._redis.scan_iter(match=_MERCHANT_KEYS, count=1_000):
            merchant_id = key[len("tc:{m:") : -len("}:merchant")]
            if self.merchants is not None:
                folded += await self.merchants.stock.compact(merchant_id, now_ms - self.config.ledger_days * DAY_MS)
            if self.bookings is not None:
                trimmed += await self.bookings.store.trim(merchant_id, now_ms - self.config.booking_days * DAY_MS)
        return folded, trimmed
