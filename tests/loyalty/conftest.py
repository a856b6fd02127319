"""The real server running the money side, loyalty and coupons (no dispatch, no road graph), and clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import pytest_asyncio
import redis

from serving.app import App
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import server_config
from tests.settlement.helpers import Money
from tongcheng.coupons.v1 import coupons_pb2_grpc
from tongcheng.loyalty.v1 import loyalty_pb2_grpc


class Points(Money):
    """A client of OrderService, SettlementService, LoyaltyService and CouponService with one role's token."""

    def __init__(self, channel: grpc.aio.Channel, token: str) -> None:
        super().__init__(channel, token)
        self.loyalty = loyalty_pb2_grpc.LoyaltyServiceStub(channel)
        self.coupons = coupons_pb2_grpc.CouponServiceStub(channel)


@pytest_asyncio.fixture
async def points_app(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    application = App(
        server_config(tmp_path, redis_server.url, services=("orders", "settlement", "loyalty", "coupons"))
    )
    await application.start()
    yield application
    await application.stop()


@pytest_asyncio.fixture
async def points(points_app: App) -> AsyncIterator[Callable[..., Points]]:
    """points(Role.OPS) or points(Role.MEMBER, "u1") -> a client holding that role's token."""
    assert points_app.private_key_file is not None
    issuer = TokenIssuer(points_app.private_key_file.read_bytes())
    async with grpc.aio.insecure_channel(f"127.0.0.1:{points_app.port}") as ch:

        def make(role: Role = Role.OPS, subject_id: str = "") -> Points:
            return Points(ch, issuer.mint(role, subject_id))

        yield make
