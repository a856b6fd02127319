"""PricingService's server: dispatch (for live supply and demand), orders, settlement, merchants and pricing,
on Helsinki's road graph and a clock the tests move."""

from __future__ import annotations

import time
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
from tests.pricing.helpers import Priced

PRICING_SERVICES = ("dispatch", "orders", "settlement", "merchants", "pricing")


@pytest_asyncio.fixture
async def pricing_app(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    """The real server with pricing, on a manual clock at the wall time (positions and orders are checked
    against it), refreshing surge only when asked (RefreshSurge)."""
    application = App(
        server_config(tmp_path, redis_server.url, services=PRICING_SERVICES, pricing_refresh_s=0.0),
        ManualClock(time.time_ns() // 1_000_000),
    )
    await application.start()
    yield application
    await application.stop()


@pytest_asyncio.fixture
async def priced(pricing_app: App):  # type: ignore[no-untyped-def]
    """priced(Role.OPS) -> a client of the pricing server holding that role's token."""
    assert pricing_app.private_key_file is not None
    issuer = TokenIssuer(pricing_app.private_key_file.read_bytes())
    async with grpc.aio.insecure_channel(f"127.0.0.1:{pricing_app.port}") as ch:

        def make(role: Role = Role.OPS, subject_id: str = "") -> Priced:
            return Priced(ch, issuer.mint(role, subject_id))

        yield make
