"""Pipelines of redis-py scripts that run alike on one Redis and on a Redis Cluster."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError


async def run_script_pipeline(
    client: aioredis.Redis, scripts: Sequence[AsyncScript], queue: Callable[[Any], Awaitable[None]]
) -> list[Any]:
    """Runs the calls of `scripts` (and nothing else) that `queue` puts on a fresh pipeline.

    redis-py's pipeline on one Redis loads a missing script before it runs; its cluster pipeline does not,
    and a fresh or restarted node knows none. NOSCRIPT then means none of the calls ran (they are all
    scripts, and a node knows all of them or, since its start, none), so the scripts are loaded (on every
    master) and the pipeline runs again.
    """
    for attempt in range(2):
        async with client.pipeline(transaction=False) as pipe:
            await queue(pipe)
            try:
                return list(await pipe.execute())
            except NoScriptError:
                if attempt:
                    raise
        for script in scripts:
            await client.script_load(script.script)
    raise AssertionError("unreachable")
