"""The supply side's server: merchants, bookings and the money services on a manual clock, no road graph."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest_asyncio
import redis

from core.clock import ManualClock
from serving.app import App
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import server_config
from tests.merchants.helpers import Supply

SUPPLY_SERVICES = ("merchants", "bookings", "orders", "settlement", "coupons")
# The supply tests' clock starts here (a Sunday), so dates in them are fixed: the DST changes of 2026
# (Europe/Helsinki 2026-03-29 and 2026-10-25, America/New_York 2026-03-08) lie ahead of it.
SUPPLY_CLOCK_START_MS = 1_772_323_200_000  # 2026-03-01T00:00:00Z


@pytest_asyncio.fixture
async def supply_app(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    """The real server with MerchantService, BookingService, OrderService and SettlementService, on a clock the
    test moves (`supply_app.clock.advance(s)`), against the session's Redis (emptied)."""
    application = App(
        # No bookings sweeper on a manual clock: these tests check what calls alone do (tests/bookings/
        # test_sweeper.py runs it on real time).
        server_config(tmp_path, redis_server.url, services=SUPPLY_SERVICES, booking_sweep_s=0),
        ManualClock(SUPPLY_CLOCK_START_MS),
    )
    await application.start()
    yield application
    await application.stop()


@pytest_asyncio.fixture
async def supply(supply_app: App):  # type: ignore[no-untyped-def]
    """supply(Role.OPS) -> a client of the supply server holding that role's token."""
    assert supply_app.private_key_file is not None
    issuer = TokenIssuer(supply_app.private_key_file.read_bytes())
    async with grpc.aio.insecure_channel(f"127.0.0.1:{supply_app.port}") as ch:

        def make(role: Role = Role.OPS, subject_id: str = "") -> Supply:
            return Supply(ch, issuer.mint(role, subject_id))

        yield make
