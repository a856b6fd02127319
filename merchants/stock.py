"""The stock ledger per variant and store, reservations at checkout, lots and promotion suggestions.

Square's Inventory API is the model: on hand = the last physical count + every change after it, each
event placed at the POS's own `occurred_at`, so an offline POS may upload late and out of order and the
result is the same whatever the order of arrival:

- a count at T replaces an older count (ties: the larger event id) and the changes after T are summed
  again from the ledger; a count older than the current one is kept in the ledger only;
- a change at T counts iff T is after the current count (a change at the count's instant is in it).

Reservations (Saleor's checkout reservations) hold stock until they expire; nothing sweeps them: a held
reservation whose expiry passed simply stops counting, so a refused call never writes, and the scripts
that change a variant drop its expired holds on the way. Available = on hand - held, never below 0;
every reservation is checked against it in the same script that takes it, so web and counter (both
reserving here) never sell the same unit twice. A sale is a ledger event at the commit instant.

A change the POS reports late may take on hand below what is held (the counter sold offline what the web
reserved): that is a fact, recorded; GetStock shows it as `oversold` for the merchant to resolve.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import redis.asyncio as aioredis

from core.clock import Clock
from core.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from core.validation import count_violation, id_violation
from merchants.keys import MerchantKeys
from merchants.models import (
    MAX_BATCH_OBJECTS,
    Lot,
    PromotionSuggestion,
    Reservation,
    ReservationState,
    StockEvent,
    StockEventKind,
    StockLevel,
    fingerprint,
)
from merchants.validation import check_reservation, check_stock_upload, raise_if

# The most events of one variant's ledger a read returns (the latest); the ledger itself keeps every event.
LEDGER_EVENTS = 1_000

# Lua helpers shared by the scripts: one variant's on hand and live holds.
_LEVEL_LUA = """
local function on_hand(ks)
  local s = redis.call('HMGET', ks, 'count_qty', 'adj_after')
  return tonumber(s[1] or '0') + tonumber(s[2] or '0')
end
local function held(kh, kq, now)
  local ids = redis.call('ZRANGEBYSCORE', kh, '(' .. now, '+inf')
  local total = 0
  for _, id in ipairs(ids) do total = total + tonumber(redis.call('HGET', kq, id) or '0') end
  return total
end
local function drop_expired(kh, kq, now)
  local ids = redis.call('ZRANGEBYSCORE', kh, '-inf', now)
  for _, id in ipairs(ids) do redis.call('HDEL', kq, id) end
  if #ids > 0 then redis.call('ZREMRANGEBYSCORE', kh, '-inf', now) end
end
-- A change (adjustment, sale, return) at t: into the ledger, and into on hand if after the count.
local function change(ks, kl, t, qty, member)
  redis.call('ZADD', kl, t, member)
  local count_ms = tonumber(redis.call('HGET', ks, 'count_ms') or '-1')
  if t > count_ms then redis.call('HINCRBY', ks, 'adj_after', qty) end
end
"""

# A POS upload. KEYS: stock events, lots, variants, then per variant: stock, ledger. ARGV: n events, per
# event: event id, fingerprint, variant slot (1-based), kind, quantity, occurred ms, member; n lots, per
# lot: lot id, variant id, JSON ('' removes). Returns {'ok', replayed} or {'clash', i} / {'unknown', kind, i}.
_RECORD_LUA = (
    _LEVEL_LUA
    + """
local n = tonumber(ARGV[1])
local a = 2
local replayed = 0
local fresh = {}
for i = 1, n do
  local prev = redis.call('HGET', KEYS[1], ARGV[a])
  if prev then
    if prev ~= ARGV[a + 1] then return {'clash', i - 1} end
    replayed = replayed + 1
  else
    fresh[#fresh + 1] = a
  end
  a = a + 7
end
local nl = tonumber(ARGV[a])
for i = 1, nl do
  if redis.call('HEXISTS', KEYS[3], ARGV[a + 2 + 3 * (i - 1)]) == 0 then return {'unknown', 'lot', i - 1} end
end
for _, e in ipairs(fresh) do
  local slot = tonumber(ARGV[e + 2])
  local ks, kl = KEYS[2 + 2 * slot], KEYS[3 + 2 * slot]
  local id, kind, qty, t = ARGV[e], ARGV[e + 3], tonumber(ARGV[e + 4]), tonumber(ARGV[e + 5])
  redis.call('HSET', KEYS[1], id, ARGV[e + 1])
  if kind == 'count' then
    redis.call('ZADD', kl, t, ARGV[e + 6])
    local c = redis.call('HMGET', ks, 'count_ms', 'count_id')
    local count_ms = tonumber(c[1] or '-1')
    if t > count_ms or (t == count_ms and id > (c[2] or '')) then
      local after = 0
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', kl, '(' .. t, '+inf')) do
        local ev = cjson.decode(m)
        if ev.k ~= 'count' then after = after + ev.q end
      end
      redis.call('HSET', ks, 'count_qty', qty, 'count_ms', t, 'count_id', id, 'adj_after', after)
    end
  else
    change(ks, kl, t, qty, ARGV[e + 6])
  end
end
for i = 1, nl do
  local b = a + 1 + 3 * (i - 1)
  if ARGV[b + 2] == '' then redis.call('HDEL', KEYS[2], ARGV[b]) else redis.call('HSET', KEYS[2], ARGV[b], ARGV[b + 2]) end
end
return {'ok', replayed}
"""
)

# Reserve. KEYS: reservations, variants, merchant, then per line: stock, holds, held. ARGV: reservation id,
# fingerprint, JSON, now, expires ms, then per line: variant id, quantity. Returns {'ok'}, {'exists', stored},
# {'no_merchant'}, {'unknown', i} or {'short', i, available}. (The merchant is checked here, not by a read
# before: a round trip less per checkout, profiled with bench.supply.)
_RESERVE_LUA = (
    _LEVEL_LUA
    + """
local prev = redis.call('HGET', KEYS[1], ARGV[1])
if prev then return {'exists', prev} end
if redis.call('EXISTS', KEYS[3]) == 0 then return {'no_merchant'} end
local now = tonumber(ARGV[4])
local n = (#KEYS - 3) / 3
for i = 1, n do
  local vid, qty = ARGV[4 + 2 * i], tonumber(ARGV[5 + 2 * i])
  if redis.call('HEXISTS', KEYS[2], vid) == 0 then return {'unknown', i - 1} end
  local b = 3 * i + 1
  local available = on_hand(KEYS[b]) - held(KEYS[b + 1], KEYS[b + 2], now)
  if available < qty then return {'short', i - 1, math.max(available, 0)} end
end
for i = 1, n do
  local b = 3 * i + 1
  drop_expired(KEYS[b + 1], KEYS[b + 2], now)
  redis.call('ZADD', KEYS[b + 1], ARGV[5], ARGV[1])
  redis.call('HSET', KEYS[b + 2], ARGV[1], ARGV[5 + 2 * i])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return {'ok'}
"""
)

# Commit (sell) or release. KEYS: reservations, then per line: stock, ledger, holds, held. ARGV: reservation
# id, action ('sell' or 'release'), now, JSON of the sold / released / returned reservation, then per line:
# variant id, quantity, ledger member of its sale or return. Returns {'ok', new JSON}, {'as_is', JSON},
# {'missing'}, {'refused', state} or {'short', i, available}.
_SETTLE_LUA = (
    _LEVEL_LUA
    + """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'missing'} end
local r = cjson.decode(raw)
local now = tonumber(ARGV[3])
local n = (#KEYS - 1) / 4
local action = ARGV[2]
if action == 'sell' then
  if r.s == 'sold' then return {'as_is', raw} end
  if r.s ~= 'held' then return {'refused', r.s} end
  if r.e <= now then
    for i = 1, n do
      local b = 4 * i - 2
      local available = on_hand(KEYS[b]) - held(KEYS[b + 2], KEYS[b + 3], now)
      if available < tonumber(ARGV[3 + 3 * i]) then return {'short', i - 1, math.max(available, 0)} end
    end
  end
  for i = 1, n do
    local b = 4 * i - 2
    redis.call('ZREM', KEYS[b + 2], ARGV[1])
    redis.call('HDEL', KEYS[b + 3], ARGV[1])
    drop_expired(KEYS[b + 2], KEYS[b + 3], now)
    change(KEYS[b], KEYS[b + 1], now, -tonumber(ARGV[3 + 3 * i]), ARGV[4 + 3 * i])
  end
else
  if r.s == 'released' or r.s == 'returned' then return {'as_is', raw} end
  for i = 1, n do
    local b = 4 * i - 2
    if r.s == 'held' then
      redis.call('ZREM', KEYS[b + 2], ARGV[1])
      redis.call('HDEL', KEYS[b + 3], ARGV[1])
      drop_expired(KEYS[b + 2], KEYS[b + 3], now)
    else
      change(KEYS[b], KEYS[b + 1], now, tonumber(ARGV[3 + 3 * i]), ARGV[4 + 3 * i])
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return {'ok', ARGV[4]}
"""
)


class OutOfStock(FailedPrecondition):
    """A reservation's line asks more than is available: `index` names the line."""

    def __init__(self, message: str, index: int, available: int) -> None:
        super().__init__(message)
        self.index = index
        self.available = available


def _reservation_json(lines: Sequence[tuple[str, int]], state: ReservationState, expires_ms: int, fp: str) -> str:
    return json.dumps(
        {"l": [list(x) for x in lines], "s": state.value, "e": expires_ms, "f": fp}, separators=(",", ":")
    )


# Markdowns by days left to the expiry date: a starting point in the range supermarkets use for
# near-date stock (20-50% off, deeper on the last day); the merchant edits the campaign it makes of it.
# Retention: folds away a variant's ledger events before both its last physical count and the cutoff (on hand
# is that count plus what came after it, so they no longer count), with their POS ids' idempotency records.
# KEYS: stock, ledger, stock events. ARGV: cutoff ms. Returns the number folded.
_COMPACT_LUA = """
local count_ms = redis.call('HGET', KEYS[1], 'count_ms')
if not count_ms then return 0 end
local upto = math.min(tonumber(count_ms), tonumber(ARGV[1]))
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. upto)
if #old == 0 then return 0 end
for _, m in ipairs(old) do redis.call('HDEL', KEYS[3], cjson.decode(m).id) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. upto)
return #old
"""

# Marks a suggestion turned into a campaign. KEYS: promotions. ARGV: lot id, created ms as read, marked JSON.
# Returns 'ok', 'used:<campaign id>' when marked before, or 'changed' (gone or remade since it was read).
_MARK_USED_LUA = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 'changed' end
local d = cjson.decode(raw)
if d['c'] then return 'used:' .. d['c'] end
if d['t'] ~= tonumber(ARGV[2]) then return 'changed' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 'ok'
"""


def discount_bp_for(days_left: int) -> int:
    if days_left <= 0:
        return 5_000
    if days_left == 1:
        return 4_000
    if days_left <= 3:
        return 3_000
    return 2_000


class Stock:
    """Every merchant's stock."""

    def __init__(self, client: aioredis.Redis, clock: Clock) -> None:
        self._redis = client
        self.clock = clock
        self._record = client.register_script(_RECORD_LUA)
        self._reserve = client.register_script(_RESERVE_LUA)
        self._settle = client.register_script(_SETTLE_LUA)
        self._mark_used = client.register_script(_MARK_USED_LUA)
        self._compact = client.register_script(_COMPACT_LUA)

    # POS uploads -----------------------------------------------------------------------------

    async def record(
        self, merchant_id: str, events: Sequence[StockEvent], lots: Sequence[Lot]
    ) -> tuple[list[StockLevel], int]:
        """Records counts, adjustments and lots all or nothing; returns the touched levels and the replays."""
        now_ms = self.clock.now_ms()
        check_stock_upload(merchant_id, events, lots, now_ms)
        keys = MerchantKeys(merchant_id)
        variant_ids = list(dict.fromkeys([e.variant_id for e in events]))
        known = await self._redis.hmget(keys.variants, variant_ids) if variant_ids else []
        raise_if(
            [
                FieldViolation(f"events[{i}].variant_id", f"no variant {e.variant_id}")
                for i, e in enumerate(events)
                if known[variant_ids.index(e.variant_id)] is None
            ]
        )
        slot = {v: i + 1 for i, v in enumerate(variant_ids)}
        script_keys = [keys.stock_events, keys.lots, keys.variants]
        for v in variant_ids:
            script_keys += [keys.stock(v), keys.ledger(v)]
        args: list[str | int] = [len(events)]
        for e in events:
            args += [
                e.event_id,
                e.fingerprint(),
                slot[e.variant_id],
                e.kind.value,
                e.quantity,
                e.occurred_ms,
                e.member(),
            ]
        args.append(len(lots))
        for lot in lots:
            args += [lot.lot_id, lot.variant_id, lot.to_json() if lot.quantity else ""]
        reply = await self._record(keys=script_keys, args=args)
        if reply[0] == "clash":
            i = int(reply[1])
            raise InvalidArgument.field(f"events[{i}].event_id", f"{events[i].event_id} was recorded with another body")
        if reply[0] == "unknown":
            i = int(reply[2])
            raise InvalidArgument.field(f"lots[{i}].variant_id", f"no variant {lots[i].variant_id}")
        levels = await self.levels(merchant_id, variant_ids) if variant_ids else []
        return levels, int(reply[1])

    # Reads -----------------------------------------------------------------------------------

    async def levels(self, merchant_id: str, variant_ids: Sequence[str]) -> list[StockLevel]:
        raise_if(
            [
                id_violation("merchant_id", merchant_id),
                count_violation("variant_ids", variant_ids, MAX_BATCH_OBJECTS, 1),
            ]
        )
        raise_if([id_violation(f"variant_ids[{i}]", v) for i, v in enumerate(variant_ids)])
        keys = MerchantKeys(merchant_id)
        now_ms = self.clock.now_ms()
        async with self._redis.pipeline(transaction=True, shard_hint=keys.merchant) as pipe:
            for v in variant_ids:
                pipe.hmget(keys.stock(v), ["count_qty", "adj_after", "count_ms"])
                pipe.zrangebyscore(keys.holds(v), f"({now_ms}", "+inf")
                pipe.hgetall(keys.held(v))
            raw = await pipe.execute()
        out = []
        for i, v in enumerate(variant_ids):
            (count_qty, adj_after, count_ms), live, held = raw[3 * i], raw[3 * i + 1], raw[3 * i + 2]
            reserved = sum(int(held.get(r, 0)) for r in live)
            out.append(StockLevel(v, int(count_qty or 0) + int(adj_after or 0), reserved, max(0, int(count_ms or 0))))
        return out

    async def ledger(self, merchant_id: str, variant_id: str, last: int = LEDGER_EVENTS) -> list[StockEvent]:
        """The variant's latest `last` events, by occurred_at (ties by their JSON)."""
        raw = await self._redis.zrange(MerchantKeys(merchant_id).ledger(variant_id), -last, -1)
        return [StockEvent.from_member(variant_id, m) for m in raw]

    async def reservation(self, merchant_id: str, reservation_id: str) -> Reservation | None:
        raw = await self._redis.hget(MerchantKeys(merchant_id).reservations, reservation_id)
        return Reservation.from_json(reservation_id, raw).seen_at(self.clock.now_ms()) if raw else None

    # Reservations ----------------------------------------------------------------------------

    async def reserve(
        self, merchant_id: str, reservation_id: str, lines: Sequence[tuple[str, int]], ttl_s: int, field: str = "lines"
    ) -> Reservation:
        """Holds every line or none; FAILED_PRECONDITION naming the short line. Idempotent on the id."""
        check_reservation(merchant_id, reservation_id, lines, ttl_s)
        keys = MerchantKeys(merchant_id)
        now_ms = self.clock.now_ms()
        expires_ms = now_ms + ttl_s * 1000
        fp = fingerprint([merchant_id, reservation_id, sorted(map(list, lines))])
        body = _reservation_json(lines, ReservationState.HELD, expires_ms, fp)
        script_keys = [keys.reservations, keys.variants, keys.merchant]
        args: list[str | int] = [reservation_id, fp, body, now_ms, expires_ms]
        for variant_id, quantity in lines:
            script_keys += [keys.stock(variant_id), keys.holds(variant_id), keys.held(variant_id)]
            args += [variant_id, quantity]
        reply = await self._reserve(keys=script_keys, args=args)
        if reply[0] == "ok":
            return Reservation(reservation_id, tuple(lines), ReservationState.HELD, expires_ms)
        if reply[0] == "exists":
            if json.loads(reply[1])["f"] != fp:
                raise InvalidArgument.field("reservation_id", f"{reservation_id} holds other lines")
            return Reservation.from_json(reservation_id, reply[1]).seen_at(now_ms)
        if reply[0] == "no_merchant":
            raise InvalidArgument.field("merchant_id", f"no merchant {merchant_id}")
        i = int(reply[1])
        if reply[0] == "unknown":
            raise InvalidArgument.field(f"{field}[{i}].variant_id", f"no variant {lines[i][0]}")
        raise OutOfStock(
            f"{field}[{i}]: only {reply[2]} of variant {lines[i][0]} available, {lines[i][1]} asked (out of stock)",
            i,
            int(reply[2]),
        )

    async def commit(self, merchant_id: str, reservation_id: str) -> Reservation:
        """The reservation becomes a sale (payment). Idempotent."""
        return await self._settle_one(merchant_id, reservation_id, "sell")

    async def release(self, merchant_id: str, reservation_id: str) -> Reservation:
        """Gives held stock back, or returns sold stock (order cancelled). Idempotent."""
        return await self._settle_one(merchant_id, reservation_id, "release")

    async def _settle_one(self, merchant_id: str, reservation_id: str, action: str) -> Reservation:
        raise_if([id_violation("merchant_id", merchant_id), id_violation("reservation_id", reservation_id)])
        keys = MerchantKeys(merchant_id)
        raw = await self._redis.hget(keys.reservations, reservation_id)
        if raw is None:
            raise NotFound(f"reservation {reservation_id} of merchant {merchant_id} not found")
        before = Reservation.from_json(reservation_id, raw)
        fp = json.loads(raw)["f"]
        now_ms = self.clock.now_ms()
        if action == "sell":
            state, kind, sign = ReservationState.SOLD, StockEventKind.SALE, -1
        elif before.state is ReservationState.SOLD:
            state, kind, sign = ReservationState.RETURNED, StockEventKind.RETURN, 1
        else:
            state, kind, sign = ReservationState.RELEASED, StockEventKind.RETURN, 1
        after = _reservation_json(before.lines, state, before.expires_ms, fp)
        script_keys = [keys.reservations]
        args: list[str | int] = [reservation_id, action, now_ms, after]
        for variant_id, quantity in before.lines:
            script_keys += [
                keys.stock(variant_id),
                keys.ledger(variant_id),
                keys.holds(variant_id),
                keys.held(variant_id),
            ]
            event = StockEvent(
                f"{kind.value}:{reservation_id}", variant_id, kind, sign * quantity, now_ms, reservation_id
            )
            args += [variant_id, quantity, event.member()]
        reply = await self._settle(keys=script_keys, args=args)
        if reply[0] in ("ok", "as_is"):
            return Reservation.from_json(reservation_id, reply[1]).seen_at(now_ms)
        if reply[0] == "missing":
            raise NotFound(f"reservation {reservation_id} of merchant {merchant_id} not found")
        if reply[0] == "refused":
            raise FailedPrecondition(f"reservation {reservation_id} is {reply[1]}: cannot sell it")
        i = int(reply[1])
        raise FailedPrecondition(
            f"reservation {reservation_id} expired and only {reply[2]} of variant {before.lines[i][0]} is left"
        )

    # Retention -----------------------------------------------------------------------------------

    async def compact(self, merchant_id: str, before_ms: int) -> int:
        """Folds away every variant's ledger events older than both before_ms and the variant's last physical
        count; returns how many. On hand, availability and the recomputation from the ledger are unchanged (the
        count and everything after it stay). A POS resending a folded event records it again, where it changes
        nothing on hand (it is before the count) and the next compaction folds it again."""
        keys = MerchantKeys(merchant_id)
        folded = 0
        for variant_id in await self._redis.hkeys(keys.variants):
            folded += int(
                await self._compact(
                    keys=[keys.stock(variant_id), keys.ledger(variant_id), keys.stock_events], args=[before_ms]
                )
            )
        return folded

    # Lots and promotions ---------------------------------------------------------------------

    async def lots(self, merchant_id: str) -> list[Lot]:
        raw = await self._redis.hgetall(MerchantKeys(merchant_id).lots)
        return sorted((Lot.from_json(k, v) for k, v in raw.items()), key=lambda lot: (lot.expires_on, lot.lot_id))

    async def suggest_promotions(
        self, merchant_id: str, today: dt.date, within_days: int, prices: dict[str, int]
    ) -> list[PromotionSuggestion]:
        """A suggestion per lot expiring by today + within_days (and not already past); suggestions of lots
        gone or past are dropped. Returns the suggestions made now."""
        keys = MerchantKeys(merchant_id)
        now_ms = self.clock.now_ms()
        made, stale = [], []
        existing = await self._redis.hgetall(keys.promotions)
        # A suggestion already turned into a campaign is a record of that campaign: never remade or dropped.
        used = {k for k, v in existing.items() if PromotionSuggestion.from_json(v).campaign_id}
        for lot in await self.lots(merchant_id):
            days_left = (lot.expires_on - today).days
            if lot.lot_id not in used and 0 <= days_left <= within_days and lot.variant_id in prices:
                made.append(PromotionSuggestion(lot, discount_bp_for(days_left), prices[lot.variant_id], now_ms))
        kept = {s.lot.lot_id for s in made} | used
        stale = [k for k in existing if k not in kept]
        async with self._redis.pipeline(transaction=True, shard_hint=keys.merchant) as pipe:
            if stale:
                pipe.hdel(keys.promotions, *stale)
            if made:
                pipe.hset(keys.promotions, mapping={s.lot.lot_id: s.to_json() for s in made})
            await pipe.execute()
        return made

    async def promotion(self, merchant_id: str, suggestion_id: str) -> PromotionSuggestion | None:
        raw = await self._redis.hget(MerchantKeys(merchant_id).promotions, suggestion_id)
        return None if raw is None else PromotionSuggestion.from_json(raw)

    async def mark_promotion_used(self, suggestion: PromotionSuggestion, merchant_id: str, campaign_id: str) -> str:
        """Records the campaign made of the suggestion as read (its created time must still match: a remade
        suggestion is another offer). Returns 'ok', 'used:<campaign>' (already marked) or 'changed'."""
        marked = PromotionSuggestion(suggestion.lot, suggestion.discount_bp, suggestion.price_fen,
                                     suggestion.created_ms, campaign_id)  # fmt: skip
        reply = await self._mark_used(
            keys=[MerchantKeys(merchant_id).promotions],
            args=[suggestion.lot.lot_id, str(suggestion.created_ms), marked.to_json()],
        )
        return str(reply)

    async def promotions(self, merchant_id: str) -> list[PromotionSuggestion]:
        raw = await self._redis.hgetall(MerchantKeys(merchant_id).promotions)
        return sorted(
            (PromotionSuggestion.from_json(v) for v in raw.values()), key=lambda s: (s.lot.expires_on, s.lot.lot_id)
        )
