"""Transfers between merchants, posted into the ledger: a day's claims netted per pair, one zero-sum posting.

Loyalty's clearing (points spent at one merchant that another issued) and alliances' commissions (a
partner pays the merchant that brought it a customer) both keep, per day, a hash of "creditor|debtor" ->
amount, positive or negative. Once the day is over, `post_day` nets it per pair in one script and posts
one posting whose entries (creditor +, debtor -) sum to zero, on today's business day and the receivers'
balances, once (a second run returns the stored posting): the next daily run puts its entries on the
statements like any other. Such postings belong to no order; `settlement.reconcile` checks each sums to
zero and lets them take a balance below zero (the merchant owes its partners; the daily run carries it).
"""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from core.clock import Clock
from core.errors import Unavailable
from settlement.days import business_day
from settlement.keys import MoneyKeys
from settlement.ledger import LuaScript

POINTS_CLEARING = "points_clearing"
ALLIANCE_COMMISSION = "alliance_commission"
INTER_MERCHANT_CAUSES = frozenset({POINTS_CLEARING, ALLIANCE_COMMISSION})

# Nets a day's pairs and posts them, once. KEYS: the posted record (hash: day -> posting), the day's pairs,
# ledger balances, ledger day postings (today), ledger posting days. ARGV: day, posting id, fen per unit,
# now, today, today's number, the account of an empty party, cause.
NET_AND_POST = """
local prev = redis.call('HGET', KEYS[1], ARGV[1])
if prev then return {'replayed', prev} end
local value = tonumber(ARGV[3])
local net = {}
local raw = redis.call('HGETALL', KEYS[2])
for i = 1, #raw, 2 do
  local creditor, debtor = string.match(raw[i], '^([^|]*)|(.*)$')
  local n = tonumber(raw[i + 1])
  local a, b, sign = creditor, debtor, 1
  if b < a then a, b, sign = debtor, creditor, -1 end
  local pair = a .. '|' .. b
  net[pair] = (net[pair] or 0) + sign * n
end
local pairs_sorted = {}
for pair, _ in pairs(net) do table.insert(pairs_sorted, pair) end
table.sort(pairs_sorted)
local function account(id)
  if id == '' then return ARGV[7] end
  return 'merchant:' .. id
end
local entries, total = {}, 0
for _, pair in ipairs(pairs_sorted) do
  local n = net[pair]
  if n ~= 0 then
    local a, b = string.match(pair, '^([^|]*)|(.*)$')
    local creditor, debtor = a, b
    if n < 0 then creditor, debtor, n = b, a, -n end
    local k = #entries
    table.insert(entries, {ARGV[2] .. '#1.' .. (k + 1), account(creditor), n * value})
    table.insert(entries, {ARGV[2] .. '#1.' .. (k + 2), account(debtor), -n * value})
  end
end
for _, e in ipairs(entries) do total = total + e[3] end
if total ~= 0 then return {'not_zero', total} end
-- Every check is made: writes from here on.
if #entries == 0 then
  redis.call('HSET', KEYS[1], ARGV[1], '')
  return {'empty'}
end
local posting = cjson.encode({o = ARGV[2], m = '', n = 1, c = ARGV[8], t = tonumber(ARGV[4]), d = ARGV[5],
  e = entries})
for _, e in ipairs(entries) do redis.call('HINCRBY', KEYS[3], e[2], e[3]) end
redis.call('RPUSH', KEYS[4], posting)
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[5])
redis.call('HSET', KEYS[1], ARGV[1], posting)
return {'posted', posting}
"""


class Transfers:
    """Posts netted days of inter-merchant claims into the ledger."""

    def __init__(self, client: aioredis.Redis, clock: Clock, keys: MoneyKeys | None = None) -> None:
        self._redis = client
        self.clock = clock
        self.keys = keys or MoneyKeys()
        self._post = LuaScript(NET_AND_POST)

    async def post_day(
        self, record_key: str, pairs_key: str, day: str, posting_id: str, cause: str, unit_fen: int, empty_account: str
    ) -> tuple[str, str, bool]:
        """Posts the day's netted pairs once: (posting id or "" when there was nothing, the business day it was
        posted on, whether this call posted it)."""
        now_ms = self.clock.now_ms()
        today, today_no = business_day(now_ms)
        k = self.keys
        reply = await self._post(
            self._redis,
            [record_key, pairs_key, k.balances, k.day_postings(today), k.posting_days],
            [day, posting_id, unit_fen, now_ms, today, today_no, empty_account, cause],
        )
        if reply[0] == "not_zero":
            raise Unavailable(f"the transfers of {day} do not sum to zero ({reply[1]} fen): not posted")
        raw = reply[1] if len(reply) > 1 else ""
        if not raw:
            return "", "", reply[0] != "replayed"
        return posting_id, json.loads(raw)["d"], reply[0] == "posted"
