"""Zone leases: one holder at a time, a growing fencing token, take-over after the TTL, release at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from core.geo import LatLng
from dispatch.lease import LeaseConfig, LeaseLost, ZoneLease
from dispatch.models import OrderRequest
from dispatch.orders import OrderStore
from serving.app import App
from serving.embedded_redis import EmbeddedRedis
from tests.conftest import now_ms, redis_snapshot, server_config


async def test_one_holder_tokens_grow_and_a_silent_holder_loses_the_zone(
    redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """B is refused while A renews; once A stops renewing, B takes the zone after the TTL with a higher token."""
    client = aioredis.Redis(port=redis_server.port, decode_responses=True)
    try:
        config = LeaseConfig(ttl_s=0.3)
        a = ZoneLease(client, "z1", owner="a", config=config)
        b = ZoneLease(client, "z1", owner="b", config=config)
        assert await a.hold() and not await b.hold()
        first = a.token
        await asyncio.sleep(0.15)
        assert await a.hold() and a.token == first and not await b.hold()  # renewed under the same token
        await asyncio.sleep(0.4)  # A is silent past its TTL
        assert await b.hold() and b.token > first
        assert not await a.hold()  # A comes back: the zone is B's
        await b.release()
        assert await a.hold() and a.token > b.token  # released: taken at once, with a newer token still
    finally:
        await client.aclose()


async def test_of_two_workers_one_ticks_and_the_other_takes_over(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """Two worker processes on one zone: one ticks; when it stops, the other ticks within the lease TTL."""
    lease = {"lease": LeaseConfig(ttl_s=0.6)}
    first = App(server_config(tmp_path, redis_server.url, role="worker", dispatch_overrides=lease))
    second = App(server_config(tmp_path / "b", redis_server.url, role="worker", dispatch_overrides=lease))
    await first.start()
    await asyncio.sleep(0.5)
    await second.start()
    try:
        await asyncio.sleep(0.6)
        assert first.dispatcher is not None and second.dispatcher is not None
        assert first.dispatcher.ticks > 0 and second.dispatcher.ticks == 0
        stopped_at = time.monotonic()
        await first.stop()  # releases the lease: the other need not wait out the TTL
        while second.dispatcher.ticks == 0:
            assert time.monotonic() - stopped_at < 0.6 + 0.5, "no take-over within the lease TTL and a tick"
            await asyncio.sleep(0.02)
    finally:
        await second.stop()


async def test_a_commit_under_a_lost_lease_is_refused_and_writes_nothing(
    redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """A worker whose lease was taken over (it paused past the TTL) cannot offer an order: its fencing
    token no longer holds the lease; the new holder's commit goes through."""
    client = aioredis.Redis(port=redis_server.port, decode_responses=True)
    try:
        store = OrderStore(client, "z1")
        at = now_ms()
        point = LatLng(60.17, 24.94)
        await store.create_many([OrderRequest("o1", "m1", point, point, at)], at)
        paused = ZoneLease(client, "z1", owner="paused", config=LeaseConfig(ttl_s=0.2))
        assert await paused.hold()
        old_fence = paused.fence()
        await asyncio.sleep(0.3)  # paused past its TTL
        taker = ZoneLease(client, "z1", owner="taker", config=LeaseConfig(ttl_s=5))
        assert await taker.hold()
        before = redis_snapshot(redis_sync)
        with pytest.raises(LeaseLost):
            await store.assign_bundle("r1", [("o1", at + 60_000, at + 600_000)], at, offer_expires_ms=at + 30_000,
                                      fence=old_fence)  # fmt: skip
        assert redis_snapshot(redis_sync) == before
        [offered] = await store.assign_bundle(
            "r1", [("o1", at + 60_000, at + 600_000)], at, offer_expires_ms=at + 30_000, fence=taker.fence()
        )
        assert offered.rider_id == "r1"
    finally:
        await client.aclose()
