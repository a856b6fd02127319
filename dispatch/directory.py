"""Which zone an order or a rider belongs to, for a city of several zones.

An order's zone is that of its pickup, written once when it is first created (`HSETNX`: a retry with the
same id goes to the zone that holds it, whatever pickup it names). A rider's zone changes as it moves
(`dispatch.riders`); each change bumps its epoch, and a change is a compare-and-set on (zone, epoch), so
of two processes moving the same rider one wins and the other re-reads. With one zone nothing is
written here: everything is in it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import redis.asyncio as aioredis

from dispatch.keys import DIRECTORY_SHARDS, DirectoryKeys
from dispatch.scripts import run_script_pipeline

# KEYS: the rider's directory hash. ARGV: rider, expected "zone|epoch" ('' for no entry), new zone.
# Returns the new epoch, or 0 when the entry was not the expected one.
_MOVE_LUA = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur or '') ~= ARGV[2] then return 0 end
local epoch = 1
if cur then epoch = tonumber(string.match(cur, '|(%d+)$')) + 1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. '|' .. epoch)
return epoch
"""


# KEYS: an order directory shard. ARGV[1]: "order id|zone" lines (neither holds '|' or a newline). Records each
# order's zone unless it has one; returns every order's zone as stored, in order. One call per shard and batch:
# a command per order cost intake more than the orders' own creation (profiled under bench.load).
_PLACE_ORDERS_LUA = """
local out = {}
for id, zone in string.gmatch(ARGV[1], '([^|\\n]+)|([^\\n]+)') do
  redis.call('HSETNX', KEYS[1], id, zone)
  out[#out + 1] = redis.call('HGET', KEYS[1], id)
end
return out
"""


def shard_of(key: str) -> int:
    return zlib.crc32(key.encode()) % DIRECTORY_SHARDS


class Directory:
    def __init__(self, client: aioredis.Redis, city: str) -> None:
        self._redis = client
        self.keys = DirectoryKeys(city)
        self._move = client.register_script(_MOVE_LUA)
        self._place_orders = client.register_script(_PLACE_ORDERS_LUA)

    # Orders ---------------------------------------------------------------------------------------

    async def order_zones(self, order_ids: Sequence[str]) -> list[str | None]:
        """The zone of each order, None for one never created."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for oid in order_ids:
                pipe.hget(self.keys.orders(shard_of(oid)), oid)
            return list(await pipe.execute())

    async def place_orders(self, zones: dict[str, str]) -> dict[str, str]:
        """Records each order's zone unless it has one; returns every order's zone as stored."""
        shards: dict[int, list[str]] = {}
        for oid in zones:
            shards.setdefault(shard_of(oid), []).append(oid)
        groups = list(shards.items())

        async def queue(pipe: aioredis.client.Pipeline) -> None:
            for shard, ids in groups:
                payload = "\n".join(f"{oid}|{zones[oid]}" for oid in ids)
                await self._place_orders(keys=[self.keys.orders(shard)], args=[payload], client=pipe)

        replies = await run_script_pipeline(self._redis, [self._place_orders], queue)
        return {oid: zone for (_, ids), stored in zip(groups, replies, strict=True)
                for oid, zone in zip(ids, stored, strict=True)}  # fmt: skip

    # Riders ---------------------------------------------------------------------------------------

    async def rider_zones(self, rider_ids: Sequence[str]) -> list[tuple[str, int] | None]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for rid in rider_ids:
                pipe.hget(self.keys.riders(shard_of(rid)), rid)
            raw = await pipe.execute()
        return [_entry(v) for v in raw]

    async def rider_zone(self, rider_id: str) -> tuple[str, int] | None:
        return _entry(await self._redis.hget(self.keys.riders(shard_of(rider_id)), rider_id))

    async def place_riders(self, zones: dict[str, str]) -> dict[str, int]:
        """Riders with no entry yet placed in their zones (one pipeline): each one's epoch, 1 if placed here
        now, 0 if it had an entry already (someone else placed it first)."""
        ids = list(zones)

        async def queue(pipe: aioredis.client.Pipeline) -> None:
            for rid in ids:
                await self._move(keys=[self.keys.riders(shard_of(rid))], args=[rid, "", zones[rid]], client=pipe)

        got = await run_script_pipeline(self._redis, [self._move], queue)
        return {rid: int(e) for rid, e in zip(ids, got, strict=True)}

    async def move_rider(self, rider_id: str, expected: tuple[str, int] | None, zone: str) -> int:
        """Moves the rider's entry from `expected` to `zone`; the new epoch, or 0 if someone moved it first."""
        want = "" if expected is None else f"{expected[0]}|{expected[1]}"
        return int(await self._move(keys=[self.keys.riders(shard_of(rider_id))], args=[rider_id, want, zone]))


def _entry(value: str | None) -> tuple[str, int] | None:
    if value is None:
        return None
    zone, _, epoch = value.rpartition("|")
    return zone, int(epoch)
