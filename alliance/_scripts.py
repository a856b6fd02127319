"""The Lua scripts of alliances: one per change, every check before the first write, each idempotent."""

# KEYS: alliance, merchants. ARGV: alliance id, fingerprint, body, merchant ids...
CREATE_ALLIANCE = """
local fp = redis.call('HGET', KEYS[1], 'fp')
if fp then
  if fp ~= ARGV[2] then return {'clash'} end
  return {'exists'}
end
for i = 4, #ARGV do
  local owner = redis.call('HGET', KEYS[2], ARGV[i])
  if owner then return {'merchant_taken', i - 4, owner} end
end
redis.call('HSET', KEYS[1], 'fp', ARGV[2], 'body', ARGV[3])
for i = 4, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], ARGV[1]) end
return {'created'}
"""

# KEYS: offer, offers of its source. ARGV: fingerprint, body, offer id.
CREATE_OFFER = """
local fp = redis.call('HGET', KEYS[1], 'fp')
if fp then
  if fp ~= ARGV[1] then return {'clash'} end
  return {'exists'}
end
redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'body', ARGV[2], 'issued', 0, 'redeemed', 0, 'sales', 0, 'commission', 0)
redis.call('SADD', KEYS[2], ARGV[3])
return {'created'}
"""

# Counts a completed order in the member's aggregates, once, and takes refunds back out of them. KEYS:
# counted (hash: order -> "spend|hour|category" as counted now), member. ARGV: order, what is left of its
# payment (paid - refunded), hour of day (0..23), category, '1' if the order completed (only a completed
# order is counted). A counted order's spend only goes down (refunds only grow: an older view changes
# nothing); at 0 the order leaves the aggregates (its order, hour and category counts).
RECORD_ORDER = """
local prev = redis.call('HGET', KEYS[1], ARGV[1])
local spend = tonumber(ARGV[2])
if not prev then
  if ARGV[5] ~= '1' or spend <= 0 then return 0 end
  redis.call('HSET', KEYS[1], ARGV[1], spend .. '|' .. ARGV[3] .. '|' .. ARGV[4])
  redis.call('HINCRBY', KEYS[2], 'orders', 1)
  redis.call('HINCRBY', KEYS[2], 'spend', spend)
  redis.call('HINCRBY', KEYS[2], 'h:' .. ARGV[3], 1)
  redis.call('HINCRBY', KEYS[2], 'c:' .. ARGV[4], 1)
  return 1
end
local was, hour, category = string.match(prev, '^(%d+)|(%d+)|(.*)$')
was = tonumber(was)
if spend >= was then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], spend .. '|' .. hour .. '|' .. category)
redis.call('HINCRBY', KEYS[2], 'spend', spend - was)
if spend == 0 then
  redis.call('HINCRBY', KEYS[2], 'orders', -1)
  redis.call('HINCRBY', KEYS[2], 'h:' .. hour, -1)
  redis.call('HINCRBY', KEYS[2], 'c:' .. category, -1)
end
return 2
"""

# Records which offer issued a coupon, once. KEYS: attribution, offer. ARGV: offer, source, member, order.
ISSUED = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'offer', ARGV[1], 'source', ARGV[2], 'member', ARGV[3], 'order', ARGV[4], 'redeemed', 0)
redis.call('HINCRBY', KEYS[2], 'issued', 1)
return 1
"""

# A redemption of an attributed coupon: the offer's sales and its source's commission, owed by the partner.
# KEYS: attribution, offer, customers, today's commissions, today's commission log. ARGV: order redeemed on,
# sales fen, commission fen, partner, now.
REDEEMED = """
local a = redis.call('HMGET', KEYS[1], 'redeemed', 'member', 'source')
if not a[1] or a[1] == '1' then return 0 end
redis.call('HSET', KEYS[1], 'redeemed', 1, 'r_order', ARGV[1], 'sales', ARGV[2], 'commission', ARGV[3], 'partner', ARGV[4])
redis.call('HINCRBY', KEYS[4], a[3] .. '|' .. ARGV[4], ARGV[3])
redis.call('RPUSH', KEYS[5], cjson.encode({a[3], ARGV[4], tonumber(ARGV[3]), ARGV[1], tonumber(ARGV[5])}))
redis.call('HINCRBY', KEYS[2], 'redeemed', 1)
redis.call('HINCRBY', KEYS[2], 'sales', ARGV[2])
redis.call('HINCRBY', KEYS[2], 'commission', ARGV[3])
redis.call('HINCRBY', KEYS[3], a[2], 1)
return 1
"""

# A redemption rolled back (the order was cancelled or refunded): the commission is clawed back, on today.
# KEYS: attribution, offer, customers, today's commissions, today's commission log. ARGV: now.
ROLLED_BACK = """
local a = redis.call('HMGET', KEYS[1], 'redeemed', 'member', 'sales', 'commission', 'source', 'partner', 'r_order')
if a[1] ~= '1' then return 0 end
redis.call('HSET', KEYS[1], 'redeemed', 0)
redis.call('HINCRBY', KEYS[4], a[5] .. '|' .. a[6], 0 - tonumber(a[4]))
redis.call('RPUSH', KEYS[5], cjson.encode({a[5], a[6], 0 - tonumber(a[4]), a[7], tonumber(ARGV[1])}))
redis.call('HINCRBY', KEYS[2], 'redeemed', -1)
redis.call('HINCRBY', KEYS[2], 'sales', 0 - tonumber(a[3]))
redis.call('HINCRBY', KEYS[2], 'commission', 0 - tonumber(a[4]))
redis.call('HINCRBY', KEYS[3], a[2], -1)
return 1
"""
