"""Bookings in Redis: every change one Lua script, all checks before the first write.

A slot is a sorted set of the bookings taking a place in it, scored by their hold's (or offer's) expiry, or
by CONFIRMED_SCORE once confirmed: the places taken at `now` are the members scored after now, so an
expired hold stops counting by itself and nothing has to sweep it for capacity to be right. Its waiting
list is a Redis list. A script that changes a slot first works out, without writing, what the slot would
look like once expired holds are dropped and freed places offered to the waiting list (a newcomer gets only
what is left after the line), refuses if the change does not fit, and only then writes: the sweep
(`_sweep`: expired holds marked, places offered to the next in line for the resource's offer time), then
the change. So capacity is never exceeded whatever the concurrency, and the line keeps its order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import redis.asyncio as aioredis

from bookings.keys import BookingKeys, due_shard_key, due_shard_key_of
from bookings.models import CONFIRMED_SCORE, Booking, Resource, Slot

_COMMON_LUA = f"""
local CONFIRMED = {CONFIRMED_SCORE}
local function taken(ks, now) return redis.call('ZCOUNT', ks, '(' .. now, '+inf') end
-- Places a newcomer could take now: capacity less places taken and less the waiting list (served first).
local function free_places(ks, kw, cap, now)
  local f = cap - taken(ks, now) - redis.call('LLEN', kw)
  if f < 0 then return 0 end
  return f
end
local function set_state(kb, id, state, expires, now)
  local b = cjson.decode(redis.call('HGET', kb, id))
  b.st = state
  b.x = expires
  b.t = now
  redis.call('HSET', kb, id, cjson.encode(b))
end
-- The slot's entry in the merchant's due index (what the sweeper reads): while people wait, the time its
-- earliest live hold or offer runs out; else none.
local function track(kd, member, ks, kw, now)
  if redis.call('LLEN', kw) > 0 then
    local nxt = redis.call('ZRANGEBYSCORE', ks, '(' .. now, '(' .. CONFIRMED, 'WITHSCORES', 'LIMIT', 0, 1)
    if nxt[2] then
      redis.call('ZADD', kd, nxt[2], member)
      return
    end
  end
  redis.call('ZREM', kd, member)
end
-- Marks expired holds and offers, then offers freed places to the waiting list, first in line first; then
-- keeps the slot's due entry.
local function sweep(kb, ks, kw, cap, now, offer_ms, kd, member)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', ks, '-inf', now)) do set_state(kb, id, 'expired', 0, now) end
  redis.call('ZREMRANGEBYSCORE', ks, '-inf', now)
  local n = math.min(cap - redis.call('ZCARD', ks), redis.call('LLEN', kw))
  for _ = 1, n do
    local id = redis.call('LPOP', kw)
    set_state(kb, id, 'offered', now + offer_ms, now)
    redis.call('ZADD', ks, now + offer_ms, id)
  end
  track(kd, member, ks, kw, now)
end
local function resource(kr)
  local r = redis.call('HMGET', kr, 'version', 'capacity', 'offer_ms')
  return r[1], tonumber(r[2] or '0'), tonumber(r[3] or '0')
end
"""

# KEYS: bookings, resource, slot, wait list, index, due index. ARGV: booking id, now, start, score, JSON,
# resource version, mode ('hold' or 'wait'), the slot's due member. Returns {'ok'}, {'exists', JSON}, {'stale'}, {'full'} or {'free'}.
_TAKE_LUA = (
    _COMMON_LUA
    + """
local prev = redis.call('HGET', KEYS[1], ARGV[1])
if prev then return {'exists', prev} end
local version, cap, offer = resource(KEYS[2])
if version ~= ARGV[6] then return {'stale'} end
local now = tonumber(ARGV[2])
local free = free_places(KEYS[3], KEYS[4], cap, now)
if ARGV[7] == 'hold' and free < 1 then return {'full'} end
if ARGV[7] == 'wait' and free > 0 then return {'free'} end
sweep(KEYS[1], KEYS[3], KEYS[4], cap, now, offer, KEYS[6], ARGV[8])
if ARGV[7] == 'hold' then redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1]) else redis.call('RPUSH', KEYS[4], ARGV[1]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[3])
track(KEYS[6], ARGV[8], KEYS[3], KEYS[4], now)
return {'ok'}
"""
)

# Confirm, cancel, no-show, complete and the sweep of a booking's slot. KEYS: bookings, slot, wait list,
# resource, due index. ARGV: booking id, now, resource id, start (as read), action, the paying order's id
# ('' for none: a confirm records it), the slot's due member. Returns {'ok', JSON}, {'as_is', JSON},
# {'missing'}, {'moved'} (read again) or {'refused', why}.
_STEP_LUA = (
    _COMMON_LUA
    + """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'missing'} end
local b = cjson.decode(raw)
if b.r ~= ARGV[3] or b.s ~= tonumber(ARGV[4]) then return {'moved'} end
local now, action = tonumber(ARGV[2]), ARGV[5]
local _, cap, offer = resource(KEYS[4])
local live = (b.st == 'held' or b.st == 'offered') and b.x > now
if action == 'sweep' then
  sweep(KEYS[1], KEYS[2], KEYS[3], cap, now, offer, KEYS[5], ARGV[7])
  return {'ok', redis.call('HGET', KEYS[1], ARGV[1])}
elseif action == 'confirm' then
  if b.st == 'confirmed' then return {'as_is', raw} end
  if b.st == 'held' or b.st == 'offered' then
    if not live then return {'refused', 'expired'} end
    if b.s <= now then return {'refused', 'started'} end
    redis.call('ZADD', KEYS[2], CONFIRMED, ARGV[1])
    b.st, b.x, b.t = 'confirmed', 0, now
    if ARGV[6] ~= '' then b.o = ARGV[6] end
    redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(b))
    return {'ok', redis.call('HGET', KEYS[1], ARGV[1])}
  end
  return {'refused', b.st}
elseif action == 'complete' then
  if b.st == 'completed' then return {'as_is', raw} end
  if b.st ~= 'confirmed' then return {'refused', b.st} end
  if b.s > now then return {'refused', 'not_started'} end
  set_state(KEYS[1], ARGV[1], 'completed', 0, now)
  return {'ok', redis.call('HGET', KEYS[1], ARGV[1])}
elseif action == 'cancel' then
  if b.st == 'cancelled' or b.st == 'expired' or ((b.st == 'held' or b.st == 'offered') and not live) then
    return {'as_is', raw}
  end
  if b.st == 'no_show' or b.st == 'completed' then return {'refused', b.st} end
  if b.st == 'waiting' then redis.call('LREM', KEYS[3], 1, ARGV[1]) else redis.call('ZREM', KEYS[2], ARGV[1]) end
  set_state(KEYS[1], ARGV[1], 'cancelled', 0, now)
  sweep(KEYS[1], KEYS[2], KEYS[3], cap, now, offer, KEYS[5], ARGV[7])
  return {'ok', redis.call('HGET', KEYS[1], ARGV[1])}
elseif action == 'no_show' then
  if b.st == 'no_show' then return {'as_is', raw} end
  if b.st ~= 'confirmed' then return {'refused', b.st} end
  if b.s > now then return {'refused', 'not_started'} end
  set_state(KEYS[1], ARGV[1], 'no_show', 0, now)
  return {'ok', redis.call('HGET', KEYS[1], ARGV[1])}
end
return {'refused', 'unknown action'}
"""
)

# Reschedule: the new place is taken before the old one is freed, in one script. KEYS: bookings, old slot,
# old wait list, old resource, new slot, new wait list, new resource, new index, due index. ARGV: booking id,
# now, old resource id, old start, new resource id, new start, new end, new resource version, the new and
# the old slot's due members.
_MOVE_LUA = (
    _COMMON_LUA
    + """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'missing'} end
local b = cjson.decode(raw)
if b.r ~= ARGV[3] or b.s ~= tonumber(ARGV[4]) then return {'moved'} end
local now = tonumber(ARGV[2])
local live = (b.st == 'held' or b.st == 'offered') and b.x > now
if b.st ~= 'confirmed' and not live then return {'refused', b.st} end
if b.s <= now then return {'refused', 'started'} end
if KEYS[2] == KEYS[5] then return {'as_is', raw} end
local version, cap, offer = resource(KEYS[7])
if version ~= ARGV[8] then return {'stale'} end
if free_places(KEYS[5], KEYS[6], cap, now) < 1 then return {'full'} end
sweep(KEYS[1], KEYS[5], KEYS[6], cap, now, offer, KEYS[9], ARGV[9])
local score = CONFIRMED
if b.st ~= 'confirmed' then score = b.x end
redis.call('ZADD', KEYS[5], score, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
b.r = ARGV[5]
b.s = tonumber(ARGV[6])
b.e = tonumber(ARGV[7])
b.t = now
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(b))
redis.call('ZADD', KEYS[8], ARGV[6], ARGV[6])
local _, old_cap, old_offer = resource(KEYS[4])
sweep(KEYS[1], KEYS[2], KEYS[3], old_cap, now, old_offer, KEYS[9], ARGV[10])
return {'ok', redis.call('HGET', KEYS[1], ARGV[1])}
"""
)

# Create or replace a resource at the version read; capacity may not go below a future slot's places
# taken. KEYS: resource, resources, index, then the future slots (as Python listed them from the index).
# ARGV: expected version, body, capacity, offer ms, now, resource id, number of future slots listed,
# then their starts. Returns {'ok', version}, {'stale', version}, {'moved'} or {'capacity', start, taken}.
_UPSERT_LUA = (
    _COMMON_LUA
    + """
local current = redis.call('HGET', KEYS[1], 'version') or '0'
if current ~= ARGV[1] then return {'stale', current} end
local now = tonumber(ARGV[5])
if redis.call('ZCOUNT', KEYS[3], '(' .. now, '+inf') ~= tonumber(ARGV[7]) then return {'moved'} end
local cap = tonumber(ARGV[3])
for i = 4, #KEYS do
  local n = taken(KEYS[i], now)
  if n > cap then return {'capacity', ARGV[7 + i - 3], n} end
end
local version = tonumber(current) + 1
redis.call('HSET', KEYS[1], 'body', ARGV[2], 'version', version, 'capacity', ARGV[3], 'offer_ms', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[6])
return {'ok', tostring(version)}
"""
)


# Places taken and waiting of many slots in one command (a pipeline of two commands per slot was a third of
# a 30-day availability call, profiled). A slot where a hold expired while people wait is swept on the way,
# so the freed place is offered to the first in line as soon as anyone looks at the slot. KEYS: bookings,
# resource, due index, then slot, wait list, slot, wait list, ... ARGV: now, then each slot's due member.
_COUNTS_LUA = (
    _COMMON_LUA
    + """
local now = tonumber(ARGV[1])
local _, cap, offer = resource(KEYS[2])
local out = {}
for i = 4, #KEYS, 2 do
  if redis.call('LLEN', KEYS[i + 1]) > 0 and redis.call('ZCOUNT', KEYS[i], '-inf', now) > 0 then
    sweep(KEYS[1], KEYS[i], KEYS[i + 1], cap, now, offer, KEYS[3], ARGV[(i - 4) / 2 + 2])
  end
  out[#out + 1] = redis.call('ZCOUNT', KEYS[i], '(' .. now, '+inf')
  out[#out + 1] = redis.call('LLEN', KEYS[i + 1])
end
return out
"""
)


# The sweeper's pass over one merchant's due slots. KEYS: bookings, due index, then per slot: slot, wait list,
# resource. ARGV: now, then each slot's due member. A slot still due (its entry at or before now) is swept:
# expired holds and offers go, freed places are offered to the next in line, its entry moves to its next
# expiry (or out). Returns the index's earliest entry after, or '' when it is empty.
_SWEEP_DUE_LUA = (
    _COMMON_LUA
    + """
local now = tonumber(ARGV[1])
for i = 3, #KEYS, 3 do
  local member = ARGV[(i - 3) / 3 + 2]
  local due = redis.call('ZSCORE', KEYS[2], member)
  if due and tonumber(due) <= now then
    local _, cap, offer = resource(KEYS[i + 2])
    sweep(KEYS[1], KEYS[i], KEYS[i + 1], cap, now, offer, KEYS[2], member)
  end
end
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if first[2] then return first[2] end
return ''
"""
)

# The merchant's entry in a shard of the sweeper's index, set to its next due time (or removed: '') only if
# no call registered it anew since the sweeper read it. KEYS: shard. ARGV: merchant, score read, new score.
_SHARD_SET_LUA = """
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1
"""


# Retention: trims bookings that ended before the cutoff, and their slots. KEYS: bookings, due index, then per
# slot: slot, wait list, index. ARGV: cutoff ms, n booking ids, the ids, then per slot: start, end, due member.
# Every booking and slot is checked against the cutoff here. Returns the number of bookings trimmed.
_TRIM_LUA = """
local cutoff = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local trimmed = 0
for i = 1, n do
  local raw = redis.call('HGET', KEYS[1], ARGV[2 + i])
  if raw and cjson.decode(raw).e < cutoff then
    redis.call('HDEL', KEYS[1], ARGV[2 + i])
    trimmed = trimmed + 1
  end
end
local a = 3 + n
for i = 3, #KEYS, 3 do
  if tonumber(ARGV[a + 1]) < cutoff then
    redis.call('DEL', KEYS[i], KEYS[i + 1])
    redis.call('ZREM', KEYS[i + 2], ARGV[a])
    redis.call('ZREM', KEYS[2], ARGV[a + 2])
  end
  a = a + 3
end
return trimmed
"""


def due_member(resource_id: str, start_ms: int) -> str:
    return f"{resource_id}|{start_ms}"


class BookingStore:
    """One merchant's resources and bookings are one slot; every method names the merchant."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._take = client.register_script(_TAKE_LUA)
        self._step = client.register_script(_STEP_LUA)
        self._move = client.register_script(_MOVE_LUA)
        self._upsert = client.register_script(_UPSERT_LUA)
        self._counts = client.register_script(_COUNTS_LUA)
        self._sweep_due = client.register_script(_SWEEP_DUE_LUA)
        self._shard_set = client.register_script(_SHARD_SET_LUA)
        self._trim = client.register_script(_TRIM_LUA)

    # Resources -------------------------------------------------------------------------------

    async def find_resource(self, merchant_id: str, resource_id: str) -> Resource | None:
        raw = await self._redis.hgetall(BookingKeys(merchant_id).resource(resource_id))
        return Resource.from_redis(raw) if raw else None

    async def resource_ids(self, merchant_id: str) -> list[str]:
        return sorted(await self._redis.smembers(BookingKeys(merchant_id).resources))

    async def upsert_resource(self, r: Resource, now_ms: int) -> list[str]:
        k = BookingKeys(r.merchant_id)
        starts = [int(s) for s in await self._redis.zrangebyscore(k.index(r.resource_id), f"({now_ms}", "+inf")]
        return list(
            await self._upsert(
                keys=[
                    k.resource(r.resource_id),
                    k.resources,
                    k.index(r.resource_id),
                    *(k.slot(r.resource_id, s) for s in starts),
                ],
                args=[
                    str(r.version),
                    r.body_json(),
                    r.capacity,
                    r.offer_minutes * 60_000,
                    now_ms,
                    r.resource_id,
                    len(starts),
                    *starts,
                ],
            )
        )

    # Bookings --------------------------------------------------------------------------------

    async def find_raw(self, merchant_id: str, booking_id: str) -> str | None:
        return await self._redis.hget(BookingKeys(merchant_id).bookings, booking_id)

    async def waitlist_position(self, b: Booking) -> int:
        pos = await self._redis.execute_command(
            "LPOS", BookingKeys(b.merchant_id).waitlist(b.resource_id, b.start_ms), b.booking_id
        )
        return 0 if pos is None else int(pos) + 1

    async def take(self, b: Booking, slot: Slot, resource_version: int, mode: str) -> list[str]:
        """Holds a place (mode 'hold') or joins the waiting list ('wait') for a new booking."""
        k = BookingKeys(b.merchant_id)
        score = b.expires_ms
        return list(
            await self._take(
                keys=[
                    k.bookings,
                    k.resource(slot.resource_id),
                    k.slot(slot.resource_id, slot.start_ms),
                    k.waitlist(slot.resource_id, slot.start_ms),
                    k.index(slot.resource_id),
                    k.due,
                ],
                args=[
                    b.booking_id,
                    b.updated_ms,
                    slot.start_ms,
                    score,
                    b.to_json(),
                    str(resource_version),
                    mode,
                    due_member(slot.resource_id, slot.start_ms),
                ],
            )
        )

    async def step(self, b: Booking, action: str, now_ms: int, order_id: str = "") -> list[str]:
        k = BookingKeys(b.merchant_id)
        return list(
            await self._step(
                keys=[
                    k.bookings,
                    k.slot(b.resource_id, b.start_ms),
                    k.waitlist(b.resource_id, b.start_ms),
                    k.resource(b.resource_id),
                    k.due,
                ],
                args=[
                    b.booking_id,
                    now_ms,
                    b.resource_id,
                    b.start_ms,
                    action,
                    order_id,
                    due_member(b.resource_id, b.start_ms),
                ],
            )
        )

    async def move(self, b: Booking, to: Slot, resource_version: int, now_ms: int) -> list[str]:
        k = BookingKeys(b.merchant_id)
        return list(
            await self._move(
                keys=[
                    k.bookings,
                    k.slot(b.resource_id, b.start_ms),
                    k.waitlist(b.resource_id, b.start_ms),
                    k.resource(b.resource_id),
                    k.slot(to.resource_id, to.start_ms),
                    k.waitlist(to.resource_id, to.start_ms),
                    k.resource(to.resource_id),
                    k.index(to.resource_id),
                    k.due,
                ],
                args=[
                    b.booking_id,
                    now_ms,
                    b.resource_id,
                    b.start_ms,
                    to.resource_id,
                    to.start_ms,
                    to.end_ms,
                    str(resource_version),
                    due_member(to.resource_id, to.start_ms),
                    due_member(b.resource_id, b.start_ms),
                ],
            )
        )

    async def slot_counts(
        self, merchant_id: str, resource_id: str, starts: Sequence[int], now_ms: int
    ) -> dict[int, tuple[int, int]]:
        """(places taken, waiting) of the slots among `starts` that ever had a booking; a slot whose expired hold
        owes its place to the waiting list offers it first."""
        k = BookingKeys(merchant_id)
        if not starts:
            return {}
        booked = {
            int(s) for s in await self._redis.zrangebyscore(k.index(resource_id), min(starts), max(starts))
        } & set(starts)
        if not booked:
            return {}
        ordered = sorted(booked)
        keys = [key for s in ordered for key in (k.slot(resource_id, s), k.waitlist(resource_id, s))]
        members = [due_member(resource_id, s) for s in ordered]
        raw = await self._counts(keys=[k.bookings, k.resource(resource_id), k.due, *keys], args=[now_ms, *members])
        return {s: (int(raw[2 * i]), int(raw[2 * i + 1])) for i, s in enumerate(ordered)}

    # The sweeper's index ---------------------------------------------------------------------------

    async def mark_due(self, merchant_id: str, now_ms: int) -> None:
        """Puts the merchant in its shard of the sweeper's index, due now (after a call that may have given one
        of its slots an earlier due time): the sweeper's next pass reads its due slots."""
        await self._redis.zadd(due_shard_key(merchant_id), {merchant_id: now_ms})

    async def due_merchants(self, shard: int, now_ms: int, limit: int) -> list[tuple[str, float]]:
        return list(
            await self._redis.zrangebyscore(
                due_shard_key_of(shard), "-inf", now_ms, start=0, num=limit, withscores=True
            )
        )

    async def sweep_merchant(self, merchant_id: str, read_score: float, now_ms: int, limit: int) -> int:
        """Sweeps the merchant's slots due by now (up to limit); returns how many were due. Then sets the
        merchant's entry in the shard to its next due time, unless a call registered it meanwhile."""
        k = BookingKeys(merchant_id)
        members = list(await self._redis.zrangebyscore(k.due, "-inf", now_ms, start=0, num=limit))
        keys = [k.bookings, k.due]
        for member in members:
            resource_id, _, start = member.rpartition("|")
            keys += [k.slot(resource_id, int(start)), k.waitlist(resource_id, int(start)), k.resource(resource_id)]
        nxt = await self._sweep_due(keys=keys, args=[now_ms, *members])
        await self._shard_set(keys=[due_shard_key(merchant_id)], args=[merchant_id, repr(read_score), nxt or ""])
        return len(members)

    # Retention -------------------------------------------------------------------------------------

    async def trim(self, merchant_id: str, cutoff_ms: int, batch: int = 500) -> int:
        """Deletes the merchant's bookings that ended before cutoff_ms, whatever their state, and their slots'
        keys; returns how many. A booking's paid order stays in the order center."""
        k = BookingKeys(merchant_id)
        trimmed = 0
        old: list[tuple[str, dict[str, object]]] = []
        async for booking_id, raw in self._redis.hscan_iter(k.bookings, count=batch):
            b = json.loads(raw)
            if b["e"] < cutoff_ms:
                old.append((booking_id, b))
        for i in range(0, len(old), batch):
            chunk = old[i : i + batch]
            slots = sorted({(str(b["r"]), int(b["s"]), int(b["e"])) for _, b in chunk})  # type: ignore[call-overload]
            keys = [k.bookings, k.due]
            args: list[object] = [cutoff_ms, len(chunk), *(booking_id for booking_id, _ in chunk)]
            for resource_id, start, end in slots:
                keys += [k.slot(resource_id, start), k.waitlist(resource_id, start), k.index(resource_id)]
                args += [start, end, due_member(resource_id, start)]
            trimmed += int(await self._trim(keys=keys, args=args))
        return trimmed
