"""Where riders are: positions in Redis, indexed by H3 cell, with exact nearest-first queries.

Each rider has a hash (position, fix time, availability, last seen) and sits in the set of its H3
cell while it is online. A Lua script moves it between cell sets atomically and ignores fixes older
than the stored one; a sweep drops riders silent longer than the TTL, and queries skip them even
before the sweep. The index is soft state: the position stream rebuilds it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import h3
import redis.asyncio as aioredis

from core.geo import LatLng, haversine_m
from dispatch.keys import ZoneKeys
from dispatch.models import Availability, NearbyRider, PositionFix

# One call ingests many fixes, packed as one string (a line per fix, fields split by '|'; ids cannot
# hold either character): one argument per batch instead of nine per fix, which the client would
# otherwise spend most of its time encoding (profiled). Per fix: ignore it unless newer than the
# stored one, move the rider between cell sets, store the position, refresh last-seen. Returns one
# character per fix: 'a' accepted, 's' stale. Keys are built from the zone prefix (one hash slot).
_INGEST_LUA = """
local prefix = ARGV[1]
local now = ARGV[2]
local mode = ARGV[4] or ''
local seen_key = prefix .. 'riders:seen'
local known_key = prefix .. 'riders:known'
local free_key = prefix .. 'riders:free'
local frozen_key = prefix .. 'riders:frozen'
local out = {}
local n = 0
for id, lat, lng, cell, ts_s, spd, hdg, acc, av, shift in string.gmatch(ARGV[3],
    '([^|\\n]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|\\n]*)') do
  local rkey = prefix .. 'rider:' .. id
  local ts = tonumber(ts_s)
  local cur = redis.call('HMGET', rkey, 'ts', 'cell', 'av')
  n = n + 1
  local arriving = string.sub(mode, 1, 1) == 'a'
  if arriving then
    -- A rider enters the zone (dispatch.riders): only under a directory epoch newer than the one it left at.
    local left_at = redis.call('HGET', frozen_key, id)
    if left_at and tonumber(left_at) >= tonumber(string.sub(mode, 2)) then
      out[n] = 'x'
    else
      redis.call('SREM', prefix .. 'rider_tasks:' .. id, '~')
      redis.call('HDEL', frozen_key, id)
    end
  end
  if out[n] then
    -- refused above
  elseif mode == 's' and not cur[1] then
    out[n] = 'm'  -- not in this zone (never entered, left, or silent past the TTL): the caller moves it
  elseif cur[1] and tonumber(cur[1]) >= ts then
    out[n] = 's'
  else
    local old_online = cur[2] and cur[3] ~= 'offline'
    if av == 'offline' then
      if old_online then redis.call('SREM', prefix .. 'cell:' .. cur[2], id) end
      redis.call('ZREM', seen_key, id)
    else
      if old_online and cur[2] ~= cell then redis.call('SREM', prefix .. 'cell:' .. cur[2], id) end
      redis.call('SADD', prefix .. 'cell:' .. cell, id)
      redis.call('ZADD', seen_key, now, id)
    end
    if av == 'available' and redis.call('SCARD', prefix .. 'rider_tasks:' .. id) == 0 then
      redis.call('SADD', free_key, id)
    else
      redis.call('SREM', free_key, id)
    end
    redis.call('HSET', rkey, 'lat', lat, 'lng', lng, 'cell', cell, 'ts', ts_s, 'spd', spd, 'hdg', hdg,
      'acc', acc, 'av', av, 'shift', shift, 'seen', now)
    redis.call('SADD', known_key, id)
    out[n] = 'a'
  end
end
return table.concat(out)
"""

# The `limit` riders nearest to a point among the given cells, within max_radius_m, nearest first.
# Ranking happens here so a reply carries at most `limit` riders, whatever the density: a rider who is
# not among the nearest `limit` of these cells cannot be among the nearest `limit` overall. Silent
# riders (seen before min_seen) are skipped: the TTL holds exactly, not only after the next sweep.
# With free_only, only riders free to take a task (available, no task in hand) count.
# ARGV: prefix, min_seen, free_only, lat, lng, max_radius_m, limit, n_excluded, excluded..., cells...
_NEARBY_LUA = """
local prefix = ARGV[1]
local min_seen = tonumber(ARGV[2])
local free_only = ARGV[3] == '1'
local lat0, lng0 = math.rad(tonumber(ARGV[4])), math.rad(tonumber(ARGV[5]))
local max_radius, limit = tonumber(ARGV[6]), tonumber(ARGV[7])
local n_excluded = tonumber(ARGV[8])
local excluded = {}
for i = 9, 8 + n_excluded do excluded[ARGV[i]] = true end
local cos_lat0 = math.cos(lat0)
local found = {}
for i = 9 + n_excluded, #ARGV do
  for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'cell:' .. ARGV[i])) do
    if not excluded[id] then
      local h = redis.call('HMGET', prefix .. 'rider:' .. id, 'lat', 'lng', 'av', 'seen', 'ts', 'shift')
      if h[4] and tonumber(h[4]) >= min_seen then
        local tasks = redis.call('SCARD', prefix .. 'rider_tasks:' .. id)
        if not (free_only and (h[3] ~= 'available' or tasks > 0)) then
          local lat, lng = math.rad(tonumber(h[1])), math.rad(tonumber(h[2]))
          local a = math.sin((lat - lat0) / 2) ^ 2 + cos_lat0 * math.cos(lat) * math.sin((lng - lng0) / 2) ^ 2
          local d = 2 * 6371008.8 * math.asin(math.min(1, math.sqrt(a)))
          if d <= max_radius then
            found[#found + 1] = {d, id, h[1], h[2], h[3], h[5], tasks, h[6] or ''}
          end
        end
      end
    end
  end
end
table.sort(found, function(x, y) return x[1] < y[1] or (x[1] == y[1] and x[2] < y[2]) end)
local out = {}
for k = 1, math.min(limit, #found) do
  local f = found[k]
  out[#out + 1] = f[2]
  out[#out + 1] = f[3]
  out[#out + 1] = f[4]
  out[#out + 1] = f[5]
  out[#out + 1] = f[6]
  out[#out + 1] = tostring(f[7])
  out[#out + 1] = f[8]
end
return out
"""

# Every rider free to take a task (online, available, no task in hand), unless more than ARGV[3] are
# free (then nil: the caller searches by H3 rings, which dense free supply keeps short). The free set
# is kept by position updates (a rider joins it when it reports itself available with no task) and by
# assignments (it leaves); it is re-checked here. ARGV: prefix, min_seen, max_free.
_FREE_LUA = """
local prefix = ARGV[1]
local free_key = prefix .. 'riders:free'
if redis.call('SCARD', free_key) > tonumber(ARGV[3]) then return false end
local min_seen = tonumber(ARGV[2])
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', free_key)) do
  local h = redis.call('HMGET', prefix .. 'rider:' .. id, 'lat', 'lng', 'av', 'ts', 'shift', 'seen')
  if h[6] and tonumber(h[6]) >= min_seen and h[3] == 'available'
      and redis.call('SCARD', prefix .. 'rider_tasks:' .. id) == 0 then
    out[#out + 1] = id
    out[#out + 1] = h[1]
    out[#out + 1] = h[2]
    out[#out + 1] = h[4]
    out[#out + 1] = h[5] or ''
  end
end
return out
"""

# Riders whose fix arrived at or after ARGV[2] (at most ARGV[4] of them, the earliest first), each as id, seen ms,
# lat, lng, availability ('' for a rider with no position hash); then the riders silent since before ARGV[3].
# What a watcher of the whole zone (the ops cockpit) reads each second, in one round trip.
_SEEN_LUA = """
local prefix = ARGV[1]
local seen = prefix .. 'riders:seen'
local ids = redis.call('ZRANGEBYSCORE', seen, ARGV[2], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for i = 1, #ids, 2 do
  local h = redis.call('HMGET', prefix .. 'rider:' .. ids[i], 'lat', 'lng', 'av')
  out[#out + 1] = ids[i]
  out[#out + 1] = ids[i + 1]
  out[#out + 1] = h[1] or ''
  out[#out + 1] = h[2] or ''
  out[#out + 1] = h[3] or ''
end
return {out, redis.call('ZRANGEBYSCORE', seen, '-inf', '(' .. ARGV[3])}
"""

# Riders busy now whose work ends by ARGV[3] (from the plan hash): id, lat, lng, free-at ms, shift end.
_SOON_FREE_LUA = """
local prefix = ARGV[1]
local min_seen = tonumber(ARGV[2])
local until_ms = tonumber(ARGV[3])
local plan = redis.call('HGETALL', prefix .. 'riders:plan')
local out = {}
for i = 1, #plan, 2 do
  local id = plan[i]
  local at, lat, lng = string.match(plan[i + 1], '^(%d+),([^,]+),([^,]+)$')
  if at and tonumber(at) <= until_ms then
    local h = redis.call('HMGET', prefix .. 'rider:' .. id, 'av', 'shift', 'seen')
    if h[3] and tonumber(h[3]) >= min_seen and h[1] ~= 'offline' then
      out[#out + 1] = id
      out[#out + 1] = lat
      out[#out + 1] = lng
      out[#out + 1] = at
      out[#out + 1] = h[2] or ''
    end
  end
end
return out
"""

# Drops riders silent since before ARGV[2], at most ARGV[3] per call; returns how many.
_EXPIRE_LUA = """
local prefix = ARGV[1]
local seen_key = prefix .. 'riders:seen'
local ids = redis.call('ZRANGEBYSCORE', seen_key, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  local rkey = prefix .. 'rider:' .. id
  local cell = redis.call('HGET', rkey, 'cell')
  if cell then redis.call('SREM', prefix .. 'cell:' .. cell, id) end
  redis.call('DEL', rkey)
  redis.call('ZREM', seen_key, id)
  redis.call('SREM', prefix .. 'riders:free', id)
end
return #ids
"""

# A rider leaves the zone (dispatch.riders), only with empty hands: it drops out of the index and a '~' in
# its task set makes every offer to it in this zone fail (assignments check the set is empty, under
# WATCH) until it enters again (an ingest in arrival mode, under a newer directory epoch). Returns 'busy'
# (it holds or is offered work here: it stays) or 'left'. ARGV: prefix, rider, the directory epoch seen.
_DEPART_LUA = """
local prefix, id, epoch = ARGV[1], ARGV[2], tonumber(ARGV[3])
local tkey = prefix .. 'rider_tasks:' .. id
for _, t in ipairs(redis.call('SMEMBERS', tkey)) do
  if t ~= '~' then return 'busy' end
end
local rkey = prefix .. 'rider:' .. id
local cell = redis.call('HGET', rkey, 'cell')
if cell then redis.call('SREM', prefix .. 'cell:' .. cell, id) end
redis.call('DEL', rkey)
redis.call('ZREM', prefix .. 'riders:seen', id)
redis.call('SREM', prefix .. 'riders:free', id)
redis.call('HDEL', prefix .. 'riders:guide', id)
redis.call('SADD', tkey, '~')
local left_at = tonumber(redis.call('HGET', prefix .. 'riders:frozen', id) or '0')
if epoch > left_at then redis.call('HSET', prefix .. 'riders:frozen', id, epoch) end
return 'left'
"""

# Fixes per Lua call: big enough to amortise the round trip, small enough not to stall Redis.
INGEST_CHUNK = 500


class RiderIndex:
    """Rider positions of one zone in Redis, indexed by H3 cell."""

    def __init__(self, client: aioredis.Redis, zone: str, resolution: int = 9, ttl_s: float = 60.0) -> None:
        self._redis = client
        self.keys = ZoneKeys(zone)
        self.resolution = resolution
        self.ttl_ms = int(ttl_s * 1000)
        self._ingest = client.register_script(_INGEST_LUA)
        self._nearby = client.register_script(_NEARBY_LUA)
        self._expire = client.register_script(_EXPIRE_LUA)
        self._free = client.register_script(_FREE_LUA)
        self._soon_free = client.register_script(_SOON_FREE_LUA)
        self._seen = client.register_script(_SEEN_LUA)
        self._depart = client.register_script(_DEPART_LUA)
        # H3 edge lengths vary across the globe (about 2x in area): bound them on both sides so the
        # covered radius below never overstates what the fetched rings contain.
        edge_m = h3.average_hexagon_edge_length(resolution, unit="m")
        self._edge_lo_m, self._edge_hi_m = edge_m * 0.8, edge_m * 1.25

    def _covered_radius_m(self, last_ring: int) -> float:
        """Radius around any point of the origin cell that rings 0..last_ring surely contain.

        The disc of rings 0..K is a hexagon of (2K+1) cell inradii (inradius = edge * sqrt(3)/2) around
        the origin cell's centre; the query point may sit up to one edge away from that centre.
        """
        return (2 * last_ring + 1) * self._edge_lo_m * math.sqrt(3) / 2 - self._edge_hi_m

    def cell_of(self, lat: float, lng: float) -> str:
        return h3.latlng_to_cell(lat, lng, self.resolution)

    async def ingest(self, fixes: Sequence[PositionFix], now_ms: int, mode: str = "") -> str:
        """Stores fixes; returns one flag per fix, 'a' (accepted) or 's' (stale, ignored). In a city of several
        zones (`dispatch.riders`) `mode` is 's' (strict: a rider not in this zone is refused, 'm') or
        'a<epoch>' (the rider enters the zone under that directory epoch; 'x' if a newer move overtook it)."""
        flags: list[str] = []
        res = self.resolution
        for start in range(0, len(fixes), INGEST_CHUNK):
            payload = "\n".join(
                f"{f.rider_id}|{f.lat!r}|{f.lng!r}|{h3.latlng_to_cell(f.lat, f.lng, res)}|{f.recorded_at_ms}|"
                f"{'' if f.speed_mps is None else repr(f.speed_mps)}|"
                f"{'' if f.heading_deg is None else repr(f.heading_deg)}|"
                f"{'' if f.accuracy_m is None else repr(f.accuracy_m)}|{f.availability.value}|"
                f"{'' if f.shift_ends_at_ms is None else f.shift_ends_at_ms}"
                for f in fixes[start : start + INGEST_CHUNK]
            )
            flags.append(await self._ingest(keys=[self.keys.slot], args=[self.keys.prefix, now_ms, payload, mode]))
        return "".join(flags)

    async def nearby(
        self,
        at: LatLng,
        now_ms: int,
        limit: int = 10,
        max_radius_m: float = 5_000.0,
        available_only: bool = True,
        exclude: Iterable[str] = (),
    ) -> list[NearbyRider]:
        """Riders nearest first within max_radius_m, widening H3 rings until `limit` are certain.

        Ring k covers every point within about k cell widths; once the limit-th nearest rider found
        lies within the radius the rings already cover, no unseen rider can be nearer.
        """
        origin = h3.latlng_to_cell(at.lat, at.lng, self.resolution)
        excluded = list(exclude)
        fixed_args = [
            self.keys.prefix, now_ms - self.ttl_ms, "1" if available_only else "0", repr(at.lat), repr(at.lng),
            repr(max_radius_m), limit, len(excluded), *excluded,
        ]  # fmt: skip
        found: dict[str, NearbyRider] = {}
        max_k = max(1, math.ceil(((max_radius_m + self._edge_hi_m) / (self._edge_lo_m * math.sqrt(3) / 2) - 1) / 2))
        k = 0
        while k <= max_k:
            # Fetch rings in growing steps: 0-2 at once (enough in a busy district), then more at a time farther
            # out, so a sparse area costs a few round trips rather than one per ring.
            step = 3 if k == 0 else max(1, k // 2)
            cells = [c for ring in range(k, min(k + step, max_k + 1)) for c in h3.grid_ring(origin, ring)]
            k += step
            raw = await self._nearby(keys=[self.keys.slot], args=[*fixed_args, *cells])
            for i in range(0, len(raw), 7):
                rider_id = raw[i]
                lat, lng = float(raw[i + 1]), float(raw[i + 2])
                found[rider_id] = NearbyRider(
                    rider_id, LatLng(lat, lng), haversine_m(at.lat, at.lng, lat, lng), Availability(raw[i + 3]),
                    int(raw[i + 4]), int(raw[i + 5]), int(raw[i + 6]) if raw[i + 6] else None,
                )  # fmt: skip
            covered_m = self._covered_radius_m(k - 1)
            if len(found) >= limit:
                ranked = sorted(found.values(), key=lambda r: (r.distance_m, r.rider_id))
                if ranked[limit - 1].distance_m <= covered_m:
                    return ranked[:limit]
            if covered_m >= max_radius_m:
                break
        return sorted(found.values(), key=lambda r: (r.distance_m, r.rider_id))[:limit]

    async def free_riders(self, now_ms: int, max_free: int) -> list[NearbyRider] | None:
        """Every rider free to take a task (distance 0: not ranked), or None when more than max_free
        are free. When free riders are few, one call beats an H3 ring search per order, whose rings
        widen across the city looking for them (profiled on MDRP replays and under bench.load)."""
        raw = await self._free(keys=[self.keys.slot], args=[self.keys.prefix, now_ms - self.ttl_ms, max_free])
        if raw is None:
            return None
        return [
            NearbyRider(
                raw[i],
                LatLng(float(raw[i + 1]), float(raw[i + 2])),
                0.0,
                Availability.AVAILABLE,
                int(raw[i + 3]),
                0,
                int(raw[i + 4]) if raw[i + 4] else None,
            )
            for i in range(0, len(raw), 5)
        ]

    async def soon_free_riders(self, now_ms: int, until_ms: int) -> list[NearbyRider]:
        """Riders busy now who are expected to free up by `until_ms`, placed at their last drop-off."""
        raw = await self._soon_free(keys=[self.keys.slot], args=[self.keys.prefix, now_ms - self.ttl_ms, until_ms])
        return [
            NearbyRider(
                raw[i],
                LatLng(float(raw[i + 1]), float(raw[i + 2])),
                0.0,
                Availability.BUSY,
                now_ms,
                1,
                int(raw[i + 4]) if raw[i + 4] else None,
                available_at_ms=int(raw[i + 3]),
            )
            for i in range(0, len(raw), 5)
        ]

    async def expire_silent(self, now_ms: int, max_count: int = 5_000) -> int:
        """Drops riders silent longer than the TTL; returns how many were dropped."""
        return int(await self._expire(keys=[self.keys.slot], args=[self.keys.prefix, now_ms - self.ttl_ms, max_count]))

    async def depart(self, rider_id: str, epoch: int) -> bool:
        """The rider leaves the zone if its hands are empty (True), else it stays (False)."""
        return await self._depart(keys=[self.keys.slot], args=[self.keys.prefix, rider_id, epoch]) == "left"

    async def is_known(self, rider_id: str) -> bool:
        return bool(await self._redis.sismember(self.keys.riders_known, rider_id))

    async def position_of(self, rider_id: str) -> tuple[LatLng, Availability, int] | None:
        """The stored position, availability and fix time of a rider, or None."""
        h = await self._redis.hmget(self.keys.rider(rider_id), ["lat", "lng", "av", "ts"])
        if h[0] is None:
            return None
        return LatLng(float(h[0]), float(h[1])), Availability(h[2]), int(h[3])

    async def seen_since(
        self, since_ms: int, now_ms: int, limit: int = 50_000
    ) -> tuple[list[tuple[str, int, float, float, Availability] | tuple[str, int, None, None, None]], list[str]]:
        """Riders whose last fix arrived at or after since_ms (the earliest `limit`), with that time, position and
        availability (None for a rider with no position), and the riders silent past the TTL: one script, one
        round trip, for a watcher of the whole zone (the ops cockpit)."""
        rows, silent = await self._seen(
            keys=[self.keys.slot], args=[self.keys.prefix, since_ms, now_ms - self.ttl_ms, limit]
        )
        out: list[tuple[str, int, float, float, Availability] | tuple[str, int, None, None, None]] = []
        for i in range(0, len(rows), 5):
            rid, ms, lat, lng, av = rows[i : i + 5]
            if lat:
                out.append((rid, int(float(ms)), float(lat), float(lng), Availability(av)))
            else:
                out.append((rid, int(float(ms)), None, None, None))
        return out, list(silent)

    async def count_online(self, now_ms: int) -> int:
        return int(await self._redis.zcount(self.keys.riders_seen, now_ms - self.ttl_ms, "+inf"))
