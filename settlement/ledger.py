"""The ledger: splits and reversals posted as immutable entries by one Lua script each.

Each script makes every check before its first write — idempotency key, the order's version (a
concurrent change makes the caller recompute), the legs summing to what the order holds, caps, no
leg reversed beyond what it received, no balance below zero — then writes the entries, the balances,
the day's posting list and the order's money fields together. Entries are appended, never changed.

Redis layout (see settlement.keys): per order a split hash (`a:<receiver>` received, `r:<receiver>`
given back, `seq` postings so far) and an append-only list of postings (JSON: the entries of one split
or refund); per business day the list of its postings; per receiver a balance (the sum of its entries).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from core.clock import Clock
from core.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Unavailable
from settlement.days import business_day
from settlement.keys import MoneyKeys
from settlement.rules import RuleBook
from settlement.split import (
    SUBSIDY,
    SUBSIDY_REFUND,
    LegAmount,
    Parties,
    SplitHalt,
    receiver_rank,
    refund_reversal,
    split_legs,
    subsidy_back_fen,
    subsidy_kept_fen,
)

log = logging.getLogger("tongcheng.settlement")

# Concurrent changes to one order make a script answer "stale"; the caller recomputes this many times.
MAX_ATTEMPTS = 50

# Posts the splits of one or many orders (one call per SplitOrders batch: one command instead of one per
# order, profiled as most of a batch's cost). Each split makes all its checks before its own writes.
# KEYS: split keys, balances, day postings, days, unsplit, alerts, alerts raised, rules generation,
# subsidised, then per split: order, split, split postings. ARGV: rules generation, day, day number, now, then per split:
# key, order id, order version, rule name, cap bp, posting JSON, subsidy posting JSON ('' none), n legs, m
# subsidies, receiver, fen (n times), funder, fen (m times). Subsidies (settlement.split): the legs sum to
# paid - refunded + the subsidies kept, each subsidy at most what the order records (`subsidies`, JSON).
_SPLIT_LUA = """
local generation_ok = (redis.call('GET', KEYS[8]) or '0') == ARGV[1]
local function split_one(ko, ks, kp, a)
  local key, oid, version, rule, posting = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 5]
  local sub_posting, n, m = ARGV[a + 6], tonumber(ARGV[a + 7]), tonumber(ARGV[a + 8])
  local cap, legs, subs = tonumber(ARGV[a + 4]), a + 9, a + 9 + 2 * n
  local prev = redis.call('HGET', KEYS[1], key)
  if prev then
    if prev ~= oid then return {'key_clash', prev} end
    return {'replayed'}
  end
  if not generation_ok then return {'stale'} end
  local o = redis.call('HMGET', ko, 'version', 'paid_fen', 'refunded_fen', 'split_state', 'subsidies')
  if not o[1] then return {'no_order'} end
  if o[1] ~= version then return {'stale'} end
  local paid = tonumber(o[2] or '0')
  if paid <= 0 then return {'not_paid'} end
  if o[4] == 'posted' or o[4] == 'nothing_to_split' then return {'already_split', redis.call('HGET', ks, 'key') or ''} end
  local base = paid - tonumber(o[3] or '0')
  if base == 0 then
    redis.call('HSET', ko, 'split_state', 'nothing_to_split')
    redis.call('ZREM', KEYS[5], oid)
    redis.call('HSET', KEYS[1], key, oid)
    return {'nothing'}
  end
  local sum = 0
  local problem = nil
  local recorded, subsidy = {}, 0
  if o[5] then
    for _, s in ipairs(cjson.decode(o[5])) do recorded[s[1]] = s[2] end
  end
  for i = 0, m - 1 do
    local funder, amount = ARGV[subs + 2 * i], tonumber(ARGV[subs + 2 * i + 1])
    if amount == nil or amount < 0 or amount ~= math.floor(amount) or amount > (recorded[funder] or 0) then
      problem = 'subsidy of ' .. funder .. ' is not a whole number of fen within what the order records'
    end
    subsidy = subsidy + (amount or 0)
  end
  local gross = base + subsidy
  for i = 0, n - 1 do
    local receiver = ARGV[legs + 2 * i]
    local amount = tonumber(ARGV[legs + 2 * i + 1])
    if amount == nil or amount < 0 or amount ~= math.floor(amount) then
      problem = 'leg ' .. receiver .. ' is not a whole, non-negative number of fen'
    elseif string.sub(receiver, 1, 9) ~= 'merchant:' and amount * 10000 > gross * cap then
      problem = 'leg ' .. receiver .. ' of ' .. amount .. ' fen is over the cap of ' .. cap .. ' bp of ' .. gross .. ' fen'
    end
    sum = sum + (amount or 0)
  end
  if not problem and sum ~= gross then
    problem = 'legs sum to ' .. sum .. ' fen, the order holds ' .. base .. ' fen and ' .. subsidy ..
      ' fen of subsidies (off by ' .. (sum - gross) .. ' fen)'
  end
  if problem then
    local id = redis.call('XADD', KEYS[6], '*', 'order_id', oid, 'kind', 'legs_do_not_sum',
      'message', 'split of order ' .. oid .. ' under rule ' .. rule .. ' halted: ' .. problem)
    redis.call('INCR', KEYS[7])
    redis.call('HSET', ko, 'split_state', 'halted')
    return {'halted', problem, id}
  end
  local fields = {'key', key, 'rule', rule, 'base', base, 'at', ARGV[4], 'seq', sub_posting ~= '' and 2 or 1}
  for i = 0, n - 1 do
    local receiver = ARGV[legs + 2 * i]
    local amount = ARGV[legs + 2 * i + 1]
    table.insert(fields, 'a:' .. receiver)
    table.insert(fields, amount)
    redis.call('HINCRBY', KEYS[2], receiver, amount)
  end
  for i = 0, m - 1 do
    local funder, amount = ARGV[subs + 2 * i], ARGV[subs + 2 * i + 1]
    table.insert(fields, 's:' .. funder)
    table.insert(fields, amount)
    redis.call('HINCRBY', KEYS[2], funder, -amount)
    redis.call('HINCRBY', KEYS[9], funder, -amount)
  end
  redis.call('HSET', ks, unpack(fields))
  redis.call('RPUSH', kp, posting)
  redis.call('RPUSH', KEYS[3], posting)
  if sub_posting ~= '' then
    redis.call('RPUSH', kp, sub_posting)
    redis.call('RPUSH', KEYS[3], sub_posting)
  end
  redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
  redis.call('HSET', KEYS[1], key, oid)
  redis.call('ZREM', KEYS[5], oid)
  redis.call('HSET', ko, 'split_state', 'posted')
  return {'posted'}
end
local out = {}
local a = 5
for j = 1, (#KEYS - 9) / 3 do
  out[j] = split_one(KEYS[7 + 3 * j], KEYS[8 + 3 * j], KEYS[9 + 3 * j], a)
  a = a + 9 + 2 * tonumber(ARGV[a + 7]) + 2 * tonumber(ARGV[a + 8])
end
return out
"""

# The money fields of many orders, the owners of their idempotency keys and the rules generation in one
# command (a batch's reads were one command per order, profiled as a third of its cost). KEYS: rules
# generation, split keys, then the orders. ARGV: the idempotency keys. The fields, in the script's order:
ORDER_MONEY_FIELDS = (
    "version", "merchant_id", "chain_id", "group_leader_id", "paid_fen", "refunded_fen", "paid_at_ms", "split_state",
    "subsidies",
    "kind",
)  # fmt: skip
_READ_ORDERS_LUA = """
local rows = {}
for i = 3, #KEYS do
  rows[i - 2] = redis.call('HMGET', KEYS[i], 'version', 'merchant_id', 'chain_id', 'group_leader_id', 'paid_fen',
    'refunded_fen', 'paid_at_ms', 'split_state', 'subsidies', 'kind')
end
return {redis.call('GET', KEYS[1]), redis.call('HMGET', KEYS[2], unpack(ARGV)), rows}
"""

# Records a split the rule could not produce (checked in Python before any script ran). KEYS: order,
# alerts, alerts raised, split keys, rules generation. ARGV: order id, kind, message, order version,
# idempotency key, rules generation. A halt decided on a stale rule cache is not recorded: 'stale'.
_HALT_LUA = """
local prev = redis.call('HGET', KEYS[4], ARGV[5])
if prev then
  if prev ~= ARGV[1] then return {'key_clash', prev} end
  return {'replayed'}
end
if (redis.call('GET', KEYS[5]) or '0') ~= ARGV[6] then return {'stale'} end
local o = redis.call('HMGET', KEYS[1], 'version', 'split_state')
if o[1] ~= ARGV[4] then return {'stale'} end
if o[2] == 'posted' or o[2] == 'nothing_to_split' then return {'already_split'} end
local id = redis.call('XADD', KEYS[2], '*', 'order_id', ARGV[1], 'kind', ARGV[2], 'message', ARGV[3])
redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'split_state', 'halted')
return {'halted', ARGV[3], id}
"""

# Refunds an order: its money fields and status, its history, the refund record and, when it is split,
# the reversing entries and what goes back to the funders of its subsidies. As two functions, refund_check
# (reads only; answers an outcome that ends the call, or nil and what refund_write needs) and refund_write,
# so that the order center can give back an order's coupons and points in the same script (REFUND_FUNCTIONS,
# commerce.orders.checkout). K: order, history, refunds, split, split postings, balances, day postings, days,
# subsidised.
# A: key, fingerprint|record, fingerprint, order version, split seq ('0': not split), amount, new status,
# history event, now, day, day number, posting JSON, subsidy posting JSON ('' none), n legs, m subsidies,
# receiver, fen (n times), funder, fen (m times). The legs sum to the amount plus what goes back to the
# funders. No leg gives back more than its receiver's balance holds apart from what subsidies took of it
# (a funder's balance may go below zero by what it funded: the daily run carries it).
REFUND_FUNCTIONS = """
local function refund_check(K, A)
  local prev = redis.call('HGET', K[3], A[1])
  if prev then
    if string.sub(prev, 1, #A[3]) ~= A[3] then return {'key_clash'} end
    return {'replayed', prev}
  end
  local o = redis.call('HMGET', K[1], 'version', 'paid_fen', 'refunded_fen')
  if not o[1] then return {'no_order'} end
  if o[1] ~= A[4] then return {'stale'} end
  local amount = tonumber(A[6])
  local refunded = tonumber(o[3] or '0')
  if amount <= 0 or refunded + amount > tonumber(o[2] or '0') then return {'over_refund'} end
  local seq = redis.call('HGET', K[4], 'seq') or '0'
  if seq ~= A[5] then return {'stale'} end
  local n, m = tonumber(A[14]), tonumber(A[15])
  local subs = 16 + 2 * n
  local back = 0
  for i = 0, m - 1 do
    local funder, x = A[subs + 2 * i], tonumber(A[subs + 2 * i + 1])
    local took = tonumber(redis.call('HGET', K[4], 's:' .. funder) or '0')
    local given = tonumber(redis.call('HGET', K[4], 'sb:' .. funder) or '0')
    if x <= 0 or given + x > took then return {'over_reversal', funder} end
    back = back + x
  end
  local sum = 0
  for i = 0, n - 1 do
    local receiver = A[16 + 2 * i]
    local x = tonumber(A[17 + 2 * i])
    local got = tonumber(redis.call('HGET', K[4], 'a:' .. receiver) or '0')
    local given = tonumber(redis.call('HGET', K[4], 'r:' .. receiver) or '0')
    if x <= 0 or given + x > got then return {'over_reversal', receiver} end
    local balance = tonumber(redis.call('HGET', K[6], receiver) or '0')
    if balance - tonumber(redis.call('HGET', K[9], receiver) or '0') - x < 0 then
      return {'negative_balance', receiver}
    end
    sum = sum + x
  end
  if seq ~= '0' and sum - back ~= amount then return {'reversal_mismatch'} end
  return nil, {version = tonumber(o[1]), refunded = refunded, amount = amount, n = n, m = m, subs = subs}
end
local function refund_write(K, A, ctx)
  redis.call('HSET', K[1], 'refunded_fen', ctx.refunded + ctx.amount, 'status', A[7],
    'version', ctx.version + 1, 'updated_ms', A[9])
  redis.call('RPUSH', K[2], A[8])
  redis.call('HSET', K[3], A[1], A[2])
  if ctx.n > 0 then
    for i = 0, ctx.n - 1 do
      local receiver = A[16 + 2 * i]
      local x = tonumber(A[17 + 2 * i])
      redis.call('HINCRBY', K[4], 'r:' .. receiver, x)
      redis.call('HINCRBY', K[6], receiver, -x)
    end
    redis.call('HINCRBY', K[4], 'seq', 1)
    redis.call('RPUSH', K[5], A[12])
    redis.call('RPUSH', K[7], A[12])
    redis.call('ZADD', K[8], A[11], A[10])
  end
  if ctx.m > 0 then
    for i = 0, ctx.m - 1 do
      local funder, x = A[ctx.subs + 2 * i], tonumber(A[ctx.subs + 2 * i + 1])
      redis.call('HINCRBY', K[4], 'sb:' .. funder, x)
      redis.call('HINCRBY', K[6], funder, x)
      redis.call('HINCRBY', K[9], funder, x)
    end
    redis.call('HINCRBY', K[4], 'seq', 1)
    redis.call('RPUSH', K[5], A[13])
    redis.call('RPUSH', K[7], A[13])
  end
  return {'refunded'}
end
"""
_REFUND_LUA = (
    REFUND_FUNCTIONS
    + """
local stop, ctx = refund_check(KEYS, ARGV)
if stop then return stop end
-- Every check is made: writes from here on.
return refund_write(KEYS, ARGV, ctx)
"""
)


class LuaScript:
    """A Lua script run by EVALSHA, loaded again when Redis answers NOSCRIPT (it restarted).

    redis-py's own Script, queued on a pipeline, makes every pipeline ask SCRIPT EXISTS first: one more
    round trip per call (profiled with bench.settlement: a quarter of a SplitOrders call's Redis time).
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def queue(self, pipe: aioredis.client.Pipeline, keys: Sequence[str], args: Sequence[str | int]) -> None:
        pipe.evalsha(self.sha, len(keys), *keys, *args)

    async def __call__(self, client: aioredis.Redis, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await client.script_load(self.source)
            return await client.evalsha(self.sha, len(keys), *keys, *args)


@dataclass(frozen=True)
class LegState:
    """A receiver's part of an order: received by the split, given back by refunds so far."""

    receiver: str
    amount_fen: int
    reversed_fen: int = 0


@dataclass(frozen=True)
class Entry:
    """One immutable ledger entry."""

    entry_id: str
    order_id: str
    merchant_id: str
    receiver: str
    amount_fen: int
    cause: str
    posted_ms: int
    day: str


@dataclass(frozen=True)
class SplitResult:
    order_id: str
    outcome: str  # posted, replayed, halted, already_split, nothing_to_split
    legs: tuple[LegState, ...] = ()
    rule: str = ""
    reason: str = ""


@dataclass(frozen=True)
class OrderMoney:
    """The fields of an order the ledger reads (the order center writes them)."""

    order_id: str
    version: str
    merchant_id: str
    chain_id: str
    group_leader_id: str
    paid_fen: int
    refunded_fen: int
    paid_at_ms: int
    split_state: str
    rider_surge_fen: int = 0
    # Discounts others fund (funder, fen): a platform- or partner-funded coupon (settlement.split).
    subsidies: tuple[LegAmount, ...] = ()

    def subsidies_kept(self) -> list[LegAmount]:
        """The subsidies still funding what is left of the order (none of 0 fen)."""
        kept = [LegAmount(s.receiver, subsidy_kept_fen(s.amount_fen, self.paid_fen, self.refunded_fen))
                for s in self.subsidies]  # fmt: skip
        return [s for s in kept if s.amount_fen > 0]

    delivered: bool = True  # the order's `kind` is not "booking" (issue 20): a rider leg applies

    @classmethod
    def from_redis(cls, order_id: str, h: dict[str, str]) -> OrderMoney:
        return cls(
            order_id=order_id,
            version=h["version"],
            merchant_id=h["merchant_id"],
            chain_id=h.get("chain_id", ""),
            group_leader_id=h.get("group_leader_id", ""),
            paid_fen=int(h.get("paid_fen") or 0),
            refunded_fen=int(h.get("refunded_fen") or 0),
            paid_at_ms=int(h.get("paid_at_ms") or 0),
            split_state=h.get("split_state") or "none",
            rider_surge_fen=int(h.get("rider_surge_fen") or 0),
            subsidies=subsidies_from_json(h.get("subsidies") or ""),
            delivered=h.get("kind", "delivery") != "booking",
        )


def subsidies_from_json(raw: str) -> tuple[LegAmount, ...]:
    return tuple(LegAmount(f, int(a)) for f, a in json.loads(raw)) if raw else ()


def subsidies_to_json(subsidies: Sequence[LegAmount]) -> str:
    return json.dumps([[s.receiver, s.amount_fen] for s in subsidies], separators=(",", ":"))


@dataclass(frozen=True)
class RefundPlan:
    """What a refund will post: the reversal per leg (empty when the order is not split yet) and what goes
    back to the funders of the order's subsidies."""

    legs: tuple[LegAmount, ...]
    seq: int
    subsidy_back: tuple[LegAmount, ...] = ()


@dataclass
class Counters:
    """In-process counters (the durable count of alerts is in Redis)."""

    splits_posted: int = 0
    splits_halted: int = 0
    refunds_posted: int = 0
    stale_retries: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)


def posting_json(
    order_id: str, merchant_id: str, seq: int, cause: str, now_ms: int, day: str, legs: Sequence[LegAmount], sign: int
) -> str:
    return json.dumps(
        {
            "o": order_id,
            "m": merchant_id,
            "n": seq,
            "c": cause,
            "t": now_ms,
            "d": day,
            "e": [[f"{order_id}#{seq}.{i}", leg.receiver, sign * leg.amount_fen] for i, leg in enumerate(legs, 1)],
        },
        separators=(",", ":"),
    )


def entries_of_posting(raw: str) -> list[Entry]:
    p = json.loads(raw)
    return [Entry(eid, p["o"], p["m"], receiver, amount, p["c"], p["t"], p["d"]) for eid, receiver, amount in p["e"]]


class Ledger:
    """Splits and refund reversals over Redis."""

    def __init__(self, client: aioredis.Redis, keys: MoneyKeys, rules: RuleBook, clock: Clock) -> None:
        self._redis = client
        self.keys = keys
        self.rules = rules
        self.clock = clock
        self.counters = Counters()
        self._read_orders = LuaScript(_READ_ORDERS_LUA)
        self._split = LuaScript(_SPLIT_LUA)
        self._halt = LuaScript(_HALT_LUA)
        self._refund = LuaScript(_REFUND_LUA)

    # Splits ----------------------------------------------------------------------------------

    async def split_orders(
        self, requests: Sequence[tuple[str, str]], field_prefix: str = "splits"
    ) -> list[SplitResult]:
        """Splits paid orders: (idempotency key, order id) each. Every request is checked before anything
        is written: an unknown order or a key already used for another order is INVALID_ARGUMENT, an
        unpaid order FAILED_PRECONDITION, and then nothing changes."""
        results: dict[int, SplitResult] = {}
        todo = list(range(len(requests)))
        for _ in range(MAX_ATTEMPTS):
            if not todo:
                break
            todo = await self._split_round(requests, todo, results, field_prefix)
        if todo:
            raise Unavailable(f"orders changed too often to split: {', '.join(requests[i][1] for i in todo[:5])}")
        return [results[i] for i in range(len(requests))]

    async def split_just_paid(self, key: str, order_id: str, order_fields: dict[str, str]) -> SplitResult:
        """The split of an order the caller has just paid, from the fields it wrote: saves reading the order
        back. The script still checks the order's version and the rules generation, so anything stale only
        sends this through the ordinary path (which reads everything again)."""
        results: dict[int, SplitResult] = {}
        todo = [0]
        if self.rules.generation >= 0:
            todo = await self._split_round([(key, order_id)], todo, results, "pay", known=[order_fields])
        for _ in range(MAX_ATTEMPTS):
            if not todo:
                break
            todo = await self._split_round([(key, order_id)], todo, results, "pay")
        if todo:
            raise Unavailable(f"order {order_id} changed too often to split")
        return results[0]

    async def _split_round(
        self,
        requests: Sequence[tuple[str, str]],
        todo: list[int],
        results: dict[int, SplitResult],
        prefix: str,
        known: list[dict[str, str]] | None = None,
    ) -> list[int]:
        k = self.keys
        if known is not None:
            raws, used_by = known, [None] * len(known)  # the script checks the key and version anyway
        else:
            generation, used_by, rows = await self._read_orders(
                self._redis,
                keys=[k.rules_generation, k.split_keys, *(k.order(requests[i][1]) for i in todo)],
                args=[requests[i][0] for i in todo],
            )
            await self.rules.refresh(int(generation or 0))
            raws = [dict(zip(ORDER_MONEY_FIELDS, row, strict=True)) if row[0] is not None else {} for row in rows]
        violations: list[FieldViolation] = []
        unpaid: list[str] = []
        first_use: dict[str, tuple[int, str]] = {}
        for i, raw, owner in zip(todo, raws, used_by, strict=True):
            key, order_id = requests[i]
            j, other = first_use.setdefault(key, (i, order_id))
            if other != order_id:
                violations.append(
                    FieldViolation(
                        f"{prefix}[{i}].idempotency_key", f"repeats {prefix}[{j}].idempotency_key for another order"
                    )
                )
            if owner is not None and owner != order_id:
                violations.append(
                    FieldViolation(f"{prefix}[{i}].idempotency_key", f"already used to split order {owner}")
                )
            if not raw:
                violations.append(FieldViolation(f"{prefix}[{i}].order_id", f"no order {order_id}"))
            elif int(raw.get("paid_fen") or 0) <= 0:
                unpaid.append(order_id)
        if violations:
            raise InvalidArgument(violations)
        if unpaid:
            raise FailedPrecondition(f"orders not paid, nothing to split: {', '.join(unpaid[:10])}")

        # The generation the rules are read under: posted only if no rule changed since (checked by the scripts).
        generation = str(self.rules.generation)
        now_ms = self.clock.now_ms()
        day, day_no = business_day(now_ms)
        plans: list[tuple[int, OrderMoney, str, list[LegAmount] | SplitHalt]] = []
        for i, raw in zip(todo, raws, strict=True):
            order = OrderMoney.from_redis(requests[i][1], raw)
            base = order.paid_fen - order.refunded_fen
            subsidy = sum(x.amount_fen for x in order.subsidies_kept()) if base > 0 else 0
            if order.split_state in ("posted", "nothing_to_split"):
                # Already split: the script answers replayed or already split (under the rule then in
                # effect; a rule changed since must not be applied to it, let alone halt it).
                plans.append((i, order, "|0", []))
                continue
            try:
                rule = await self.rules.rule_for(order.merchant_id, order.chain_id, order.paid_at_ms, now_ms)
            except NotFound as exc:
                plans.append((i, order, "", SplitHalt("no_rule", str(exc))))
                continue
            try:
                legs: list[LegAmount] | SplitHalt = (
                    split_legs(
                        base + subsidy,
                        rule,
                        Parties(
                            order.merchant_id,
                            order.chain_id,
                            order.group_leader_id,
                            order.rider_surge_fen,
                            order.delivered,
                        ),
                    )
                    if base > 0
                    else []
                )
            except SplitHalt as halt:
                legs = halt
            plans.append((i, order, f"{rule.name}|{rule.max_receiver_share_bp}", legs))

        halts = [p for p in plans if isinstance(p[3], SplitHalt)]
        splits = [p for p in plans if not isinstance(p[3], SplitHalt)]

        def queue(pipe: aioredis.client.Pipeline) -> None:
            for i, order, _, halt in halts:
                self._halt.queue(
                    pipe,
                    [k.order(order.order_id), k.alerts, k.alerts_raised, k.split_keys, k.rules_generation],
                    [order.order_id, halt.kind, f"split of order {order.order_id} halted: {halt}", order.version,  # type: ignore[union-attr]
                     requests[i][0], generation],
                )  # fmt: skip
            if not splits:
                return
            keys = [
                k.split_keys, k.balances, k.day_postings(day), k.posting_days, k.unsplit, k.alerts, k.alerts_raised,
                k.rules_generation, k.subsidised,
            ]  # fmt: skip
            args: list[str | int] = [generation, day, day_no, now_ms]
            for i, order, rule_ref, legs in splits:
                rule_name, _, cap = rule_ref.partition("|")
                oid = order.order_id
                keys += [k.order(oid), k.split(oid), k.split_postings(oid)]
                posting = posting_json(oid, order.merchant_id, 1, "split", now_ms, day, legs, 1)  # type: ignore[arg-type]
                subs = order.subsidies_kept() if legs else []
                sub_posting = posting_json(oid, order.merchant_id, 2, SUBSIDY, now_ms, day, subs, -1) if subs else ""
                args += [requests[i][0], oid, order.version, rule_name, cap, posting, sub_posting, len(legs), len(subs)]  # type: ignore[arg-type]
                for leg in [*legs, *subs]:  # type: ignore[misc]
                    args += [leg.receiver, leg.amount_fen]
            self._split.queue(pipe, keys, args)

        replies = await self._run_scripts(queue)
        replies = replies[: len(halts)] + (list(replies[len(halts)]) if splits else [])
        plans = halts + splits

        again: list[int] = []
        readback: list[tuple[int, str]] = []
        for (i, order, rule_ref, legs), reply in zip(plans, replies, strict=True):
            status = reply[0]
            oid = order.order_id
            self.counters.by_outcome[status] = self.counters.by_outcome.get(status, 0) + 1
            if status == "stale":
                self.counters.stale_retries += 1
                again.append(i)
            elif status == "key_clash":
                raise InvalidArgument.field(f"{prefix}[{i}].idempotency_key", f"already used to split order {reply[1]}")
            elif status == "no_order":
                raise InvalidArgument.field(f"{prefix}[{i}].order_id", f"no order {oid}")
            elif status == "not_paid":
                raise FailedPrecondition(f"order {oid} is not paid: nothing to split")
            elif status == "halted":
                self.counters.splits_halted += 1
                log.error(
                    "settlement alert: split halted order_id=%s alert_id=%s reason=%s",
                    oid, reply[2], reply[1],
                    extra={"alert": "split_halted", "order_id": oid, "alert_id": reply[2]},
                )  # fmt: skip
                results[i] = SplitResult(oid, "halted", rule=rule_ref.partition("|")[0], reason=str(reply[1]))
            elif status == "nothing":
                results[i] = SplitResult(oid, "nothing_to_split")
            elif status == "posted":
                self.counters.splits_posted += 1
                assert not isinstance(legs, SplitHalt)
                posted = tuple(LegState(leg.receiver, leg.amount_fen) for leg in legs)
                results[i] = SplitResult(oid, "posted", posted, rule_ref.partition("|")[0])
            else:
                readback.append((i, "replayed" if status == "replayed" else "already_split"))
        if readback:
            legs_of = await self._legs_many([requests[i][1] for i, _ in readback])
            for (i, outcome), (legs, rule) in zip(readback, legs_of, strict=True):
                results[i] = SplitResult(requests[i][1], outcome, legs, rule)
        return again

    async def _run_scripts(self, queue: Callable[[aioredis.client.Pipeline], None]) -> list[Any]:
        """Runs the scripts `queue` puts on a pipeline; after NOSCRIPT (Redis restarted and lost its script
        cache, so none of them ran) loads them and runs the pipeline again."""
        for attempt in range(2):
            async with self._redis.pipeline(transaction=False) as pipe:
                queue(pipe)
                try:
                    return list(await pipe.execute())
                except NoScriptError:
                    if attempt:
                        raise
            for script in (self._split, self._halt, self._refund, self._read_orders):
                await self._redis.script_load(script.source)
        raise AssertionError("unreachable")

    async def _legs_many(self, order_ids: Sequence[str]) -> list[tuple[tuple[LegState, ...], str]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for oid in order_ids:
                pipe.hgetall(self.keys.split(oid))
            raws = await pipe.execute()
        return [legs_from_split_hash(raw) for raw in raws]

    async def split_of(self, order_id: str) -> tuple[tuple[LegState, ...], str, list[Entry]]:
        """An order's legs, rule and every entry (empty when not split)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.split(order_id))
            pipe.lrange(self.keys.split_postings(order_id), 0, -1)
            raw, postings = await pipe.execute()
        legs, rule = legs_from_split_hash(raw)
        return legs, rule, [e for p in postings for e in entries_of_posting(p)]

    async def paid_fen(self, order_id: str) -> int | None:
        """What the order was paid (0 if not yet), or None for an unknown order."""
        paid, version = await self._redis.hmget(self.keys.order(order_id), "paid_fen", "version")
        return None if version is None else int(paid or 0)

    # Refunds ---------------------------------------------------------------------------------

    async def plan_refund(self, order_id: str, amount_fen: int, order: OrderMoney | None = None) -> RefundPlan:
        """The reversal a refund of amount_fen posts, from the split as it stands: the legs give back the
        amount plus what goes back to the funders of the order's subsidies (order: its money fields as read)."""
        raw = await self._redis.hgetall(self.keys.split(order_id))
        if not raw:
            return RefundPlan((), 0)
        received = {f[2:]: int(v) for f, v in raw.items() if f.startswith("a:")}
        given_back = {f[2:]: int(v) for f, v in raw.items() if f.startswith("r:")}
        back: list[LegAmount] = []
        if order is not None:
            taken = {f[2:]: int(v) for f, v in raw.items() if f.startswith("s:")}
            for s in order.subsidies:
                if s.receiver in taken:
                    x = subsidy_back_fen(s.amount_fen, order.paid_fen, order.refunded_fen, amount_fen)
                    x = min(x, taken[s.receiver] - int(raw.get(f"sb:{s.receiver}", 0)))
                    if x > 0:
                        back.append(LegAmount(s.receiver, x))
        gross = amount_fen + sum(b.amount_fen for b in back)
        return RefundPlan(tuple(refund_reversal(gross, received, given_back)), int(raw["seq"]), tuple(back))

    async def post_refund(
        self,
        order: OrderMoney,
        key: str,
        fingerprint: str,
        record_json: str,
        amount_fen: int,
        new_status: str,
        history_event: str,
        plan: RefundPlan,
    ) -> tuple[str, str]:
        """Runs the refund script; returns (status, stored record). Status: refunded, replayed, stale,
        key_clash, over_refund, over_reversal, negative_balance, reversal_mismatch, no_order."""
        keys, args = self.refund_call(order, key, fingerprint, record_json, amount_fen, new_status, history_event, plan)
        return self.refund_outcome(await self._refund(self._redis, keys=keys, args=args))

    def refund_outcome(self, reply: Sequence[Any]) -> tuple[str, str]:
        """(status, stored record) of a refund script's reply; counts it."""
        status = str(reply[0])
        if status == "refunded":
            self.counters.refunds_posted += 1
        elif status == "stale":
            self.counters.stale_retries += 1
        return status, (reply[1] if len(reply) > 1 else "")

    def refund_call(
        self,
        order: OrderMoney,
        key: str,
        fingerprint: str,
        record_json: str,
        amount_fen: int,
        new_status: str,
        history_event: str,
        plan: RefundPlan,
    ) -> tuple[list[str], list[str | int]]:
        """The keys and arguments of REFUND_FUNCTIONS for a refund."""
        k = self.keys
        now_ms = self.clock.now_ms()
        day, day_no = business_day(now_ms)
        flat: list[str | int] = []
        for leg in [*plan.legs, *plan.subsidy_back]:
            flat += [leg.receiver, leg.amount_fen]
        posting = (
            posting_json(order.order_id, order.merchant_id, plan.seq + 1, f"refund:{key}", now_ms, day, plan.legs, -1)
            if plan.legs
            else ""
        )
        back = plan.subsidy_back
        seq = plan.seq + 1 + bool(plan.legs)
        sub_posting = (
            posting_json(order.order_id, order.merchant_id, seq, f"{SUBSIDY_REFUND}:{key}", now_ms, day, back, 1)
            if back
            else ""
        )
        return (
            [
                k.order(order.order_id), k.order_history(order.order_id), k.order_refunds(order.order_id),
                k.split(order.order_id), k.split_postings(order.order_id), k.balances, k.day_postings(day),
                k.posting_days, k.subsidised,
            ],
            [
                key, f"{fingerprint}|{record_json}", fingerprint, order.version, plan.seq, amount_fen, new_status,
                history_event, now_ms, day, day_no, posting, sub_posting, len(plan.legs), len(back), *flat,
            ],
        )  # fmt: skip


def legs_from_split_hash(raw: dict[str, str]) -> tuple[tuple[LegState, ...], str]:
    received = {f[2:]: int(v) for f, v in raw.items() if f.startswith("a:")}
    legs = tuple(LegState(r, received[r], int(raw.get(f"r:{r}", 0))) for r in sorted(received, key=receiver_rank))
    return legs, raw.get("rule", "")
