"""A client of the session's Redis (emptied before each test) for the forecast's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
import redis
import redis.asyncio as aioredis

from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis


@pytest_asyncio.fixture
async def client(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[aioredis.Redis]:
    c: aioredis.Redis = redis_client(redis_server.url)
    yield c
    await c.aclose()
