"""Zone leases with fencing tokens: which worker ticks a zone, and proof of it in every commit.

A worker ticks a zone only while it holds the zone's lease: a Redis key with a time to live that it
renews at a third of the TTL. Each acquisition draws a new fencing token from a counter that only grows,
so a worker that paused (GC, SIGSTOP, a partition) past its TTL holds a token lower than the new holder's,
and a commit that checks the token refuses it (Kleppmann, "How to do distributed locking", 2016: a lease
alone does not stop a paused holder from writing after it expired; a fencing token does).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis

from core.errors import FailedPrecondition
from dispatch.keys import ZoneKeys

log = logging.getLogger("tongcheng.lease")

# Takes the lease if it is free (a new token) or renews it if this owner holds it; returns the token, or 0.
_ACQUIRE_LUA = """
-- KEYS: lease, fencing counter. ARGV: owner, ttl ms.
local held = redis.call('GET', KEYS[1])
if held then
  local token, owner = string.match(held, '^(%d+)|(.*)$')
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(token)
  end
  return 0
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. '|' .. ARGV[1], 'PX', ARGV[2])
return token
"""

# Gives the lease up if this owner still holds it under this token.
_RELEASE_LUA = """
-- KEYS: lease. ARGV: token|owner.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LeaseLost(FailedPrecondition):
    """A tick's commit refused: its worker's fencing token no longer holds the zone's lease."""


@dataclass(frozen=True)
class Fence:
    """What a tick's commits prove: the fencing token under which its worker held the zone's lease."""

    token: int


def default_owner() -> str:
    """host:pid:random — unique per process start, readable in logs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LeaseConfig:
    """How long a lease lasts without renewal. A worker renews at a third of it, so two renewals may fail
    (a slow tick, a Redis hiccup) before it loses the zone; a dead worker's zone is taken over within it."""

    ttl_s: float = 6.0

    def __post_init__(self) -> None:
        if not self.ttl_s > 0:
            raise ValueError("a lease needs a positive ttl_s")


class ZoneLease:
    """One worker's claim on one zone."""

    def __init__(self, client: aioredis.Redis, zone: str, owner: str | None = None, config: LeaseConfig | None = None):
        self.keys = ZoneKeys(zone)
        self.owner = owner or default_owner()
        self.config = config or LeaseConfig()
        self.token = 0  # the fencing token while held, else 0
        self._redis = client
        self._acquire = client.register_script(_ACQUIRE_LUA)
        self._release = client.register_script(_RELEASE_LUA)

    @property
    def held(self) -> bool:
        return self.token > 0

    async def hold(self) -> bool:
        """Takes or renews the lease; whether this worker holds it now. Call it at least every ttl/3."""
        token = int(
            await self._acquire(
                keys=[self.keys.lease, self.keys.lease_fence],
                args=[self.owner, max(1, round(self.config.ttl_s * 1000))],
            )
        )
        if token != self.token:
            if token:
                log.info("zone %s: lease taken by %s with fencing token %d", self.keys.zone, self.owner, token)
            else:
                log.warning("zone %s: lease lost by %s (token %d)", self.keys.zone, self.owner, self.token)
        self.token = token
        return token > 0

    def fence(self) -> Fence | None:
        """The fence for this worker's commits while it holds the lease, else None."""
        return Fence(self.token) if self.token else None

    async def release(self) -> None:
        """Gives the lease up (a clean shutdown), so another worker need not wait out the TTL."""
        if self.token:
            await self._release(keys=[self.keys.lease], args=[f"{self.token}|{self.owner}"])
            log.info("zone %s: lease released by %s", self.keys.zone, self.owner)
            self.token = 0
