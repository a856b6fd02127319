"""The Lua scripts of coupons: one per change, every check before the first write.

A campaign's budget is reserved in the same script that checks it: a lock adds its discount to the
campaign's amount used and one use to its day, a redemption of an unlocked coupon does both too, and a
rollback or an expired lock gives them back. Locks past their expiry are released (up to 200 at a time,
and always the coupon's own) by the campaign's next lock or redemption, after its checks have counted
them as released; so a budget is never overrun and never kept by a lock nobody redeemed.
"""

# KEYS: campaign, serials, serial seq. ARGV: fingerprint, body, key hex, campaign id, max serial.
CREATE_CAMPAIGN = """
local fp = redis.call('HGET', KEYS[1], 'fp')
if fp then
  if fp ~= ARGV[1] then return {'clash'} end
  return {'exists'}
end
local serial = tonumber(redis.call('GET', KEYS[3]) or '0') + 1
if serial > tonumber(ARGV[5]) then return {'full'} end
redis.call('SET', KEYS[3], serial)
redis.call('HSET', KEYS[2], serial, ARGV[4])
redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'body', ARGV[2], 'key', ARGV[3], 'serial', serial, 'claimed', 0,
  'locked', 0, 'redeemed', 0, 'amount', 0)
return {'created'}
"""

# KEYS: campaign, members, claims, coupon, the member's coupons. ARGV: now, campaign id, member, key, fingerprint,
# code, max coupons, max per member.
CLAIM = """
local prev = redis.call('HGET', KEYS[3], ARGV[4])
if prev then
  if string.sub(prev, 1, #ARGV[5]) ~= ARGV[5] then return {'clash'} end
  return {'replayed', string.sub(prev, #ARGV[5] + 2)}
end
if redis.call('EXISTS', KEYS[4]) == 1 then return {'taken'} end
if tonumber(redis.call('HGET', KEYS[1], 'claimed')) >= tonumber(ARGV[7]) then return {'exhausted'} end
if tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0') >= tonumber(ARGV[8]) then return {'member_limit'} end
redis.call('HINCRBY', KEYS[1], 'claimed', 1)
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('HSET', KEYS[3], ARGV[4], ARGV[5] .. '|' .. ARGV[6])
redis.call('HSET', KEYS[4], 'campaign', ARGV[2], 'member', ARGV[3], 'state', 'claimed', 'claimed', ARGV[1])
redis.call('ZADD', KEYS[5], 0, string.format('%015d', tonumber(ARGV[1])) .. '|' .. ARGV[6])
return {'claimed', ARGV[6]}
"""

# Releases the budget held by expired locks: the campaign's due ones (at most 200) and the coupon's own.
# K is the script's key table (campaign, days, locks, held, ...): checkout runs these over several coupons.
_EXPIRED = """
local function expired_locks(K, code, state, lock_exp, now)
  local out, seen = {}, {}
  local due = redis.call('ZRANGEBYSCORE', K[3], '-inf', now, 'LIMIT', 0, 200)
  if state == 'locked' and lock_exp <= now then table.insert(due, code) end
  for _, c in ipairs(due) do
    if not seen[c] then
      seen[c] = true
      local h = redis.call('HGET', K[4], c)
      local discount, day = 0, ''
      if h then discount, day = string.match(h, '^(%d+)|(.*)$') end
      table.insert(out, {c, tonumber(discount), day, h ~= false})
    end
  end
  return out
end
local function release(K, locks)
  for _, l in ipairs(locks) do
    if l[4] then
      redis.call('HDEL', K[4], l[1])
      redis.call('HINCRBY', K[1], 'amount', -l[2])
      redis.call('HINCRBY', K[1], 'locked', -1)
      redis.call('HINCRBY', K[2], l[3], -1)
    end
    redis.call('ZREM', K[3], l[1])
  end
end
"""

# Locks or redeems a coupon, as two functions: use_check (reads only; answers an outcome that ends the
# call, or nil and what use_write needs) and use_write. Checkout (commerce.orders.store) runs every
# coupon's check and the points' check before any write. K (keys): campaign, days, locks, held, coupon,
# requests, the order's coupons. A (args): now, code, order, discount, day, lock expiry, mode ('lock' or
# 'redeem'), request field, request fingerprint, max amount (0: none), max per day (0: none), campaign id,
# why the coupon may not be used now ('' if it may: validity and the discount are computed by the caller
# from the immutable campaign and the same now), exclusive ('1' or '0'), max coupons per order (0: none);
# at checkout also the member that must hold it and '1' (it must be locked to this order, for the discount
# given). Answers the outcome and, when there is a coupon, its fields.
USE_FUNCTIONS = (
    _EXPIRED
    + """
local function use_check(K, A)
  local now, code, order, mode = tonumber(A[1]), A[2], A[3], A[7]
  if mode == 'redeem' then
    local prev = redis.call('HGET', K[6], A[8])
    if prev then
      if prev ~= A[9] .. '|' .. code then return {'clash'} end
      return {'replayed', redis.call('HGETALL', K[5])}
    end
  end
  local c = redis.call('HMGET', K[5], 'campaign', 'state', 'order', 'lock_exp', 'member', 'discount')
  if c[1] ~= A[12] then return {'no_coupon'} end
  local state, lock_exp = c[2], tonumber(c[4] or '0')
  if A[16] and A[16] ~= '' and c[5] ~= A[16] then return {'other_member'} end
  if state == 'redeemed' then return {'redeemed'} end
  local mine = state == 'locked' and lock_exp > now
  if mine and c[3] ~= order then return {'locked_elsewhere'} end
  if A[17] == '1' then
    if not mine then return {state == 'locked' and c[3] == order and 'lock_expired' or 'not_locked'} end
    if tonumber(c[6]) ~= tonumber(A[4]) then return {'discount_changed', c[6]} end
  end
  if not mine and A[13] ~= '' then return {A[13]} end
  if not mine then
    -- Stacking: what else the order holds now (a lock past its expiry holds nothing).
    local others, other_exclusive = 0, false
    local held_by_order = redis.call('HGETALL', K[7])
    for i = 1, #held_by_order, 2 do
      if held_by_order[i] ~= code then
        local excl, until_ms = string.match(held_by_order[i + 1], '^(%d)|(%d+)$')
        if tonumber(until_ms) == 0 or tonumber(until_ms) > now then
          others = others + 1
          if excl == '1' then other_exclusive = true end
        end
      end
    end
    if other_exclusive then return {'stack_other_exclusive'} end
    if A[14] == '1' and others > 0 then return {'stack_exclusive'} end
    if tonumber(A[15]) > 0 and others + 1 > tonumber(A[15]) then return {'stack_limit'} end
    local expired = expired_locks(K, code, state, lock_exp, now)
    local day, discount = A[5], tonumber(A[4])
    local amount, today = tonumber(redis.call('HGET', K[1], 'amount')), tonumber(redis.call('HGET', K[2], day) or '0')
    for _, l in ipairs(expired) do
      if l[4] then
        amount = amount - l[2]
        if l[3] == day then today = today - 1 end
      end
    end
    if tonumber(A[10]) > 0 and amount + discount > tonumber(A[10]) then return {'amount_budget'} end
    if tonumber(A[11]) > 0 and today + 1 > tonumber(A[11]) then return {'day_budget'} end
  end
  return nil, {mine = mine, state = state, lock_exp = lock_exp}
end
local function use_write(K, A, ctx)
  local now, code, order, mode, mine = tonumber(A[1]), A[2], A[3], A[7], ctx.mine
  -- The expired locks are found again here: an earlier coupon of the same checkout may have released some.
  release(K, expired_locks(K, code, ctx.state, ctx.lock_exp, now))
  local day, discount = A[5], tonumber(A[4])
  redis.call('HSET', K[7], code, A[14] .. '|' .. (mode == 'lock' and A[6] or '0'))
  if mine and mode == 'lock' then
    redis.call('ZADD', K[3], A[6], code)
    redis.call('HSET', K[5], 'lock_exp', A[6])
  elseif mine then
    redis.call('HDEL', K[4], code)
    redis.call('ZREM', K[3], code)
    redis.call('HINCRBY', K[1], 'locked', -1)
    redis.call('HINCRBY', K[1], 'redeemed', 1)
    redis.call('HSET', K[5], 'state', 'redeemed', 'redeemed', now, 'lock_exp', 0)
    -- A checkout's redemption: given back only by its order's cancel, rejection or full refund.
    if A[17] == '1' then redis.call('HSET', K[5], 'checkout', '1') end
  else
    redis.call('HINCRBY', K[1], 'amount', discount)
    redis.call('HINCRBY', K[2], day, 1)
    if mode == 'lock' then
      redis.call('HINCRBY', K[1], 'locked', 1)
      redis.call('HSET', K[4], code, discount .. '|' .. day)
      redis.call('ZADD', K[3], A[6], code)
      redis.call('HSET', K[5], 'state', 'locked', 'order', order, 'discount', discount, 'lock_exp', A[6], 'day', day)
    else
      redis.call('HINCRBY', K[1], 'redeemed', 1)
      redis.call('HSET', K[5], 'state', 'redeemed', 'order', order, 'discount', discount, 'lock_exp', 0, 'day', day,
        'redeemed', now)
    end
  end
  if mode == 'redeem' then redis.call('HSET', K[6], A[8], A[9] .. '|' .. code) end
  return {mine and 'used_lock' or 'used', redis.call('HGETALL', K[5])}
end
"""
)
USE = (
    USE_FUNCTIONS
    + """
local stop, ctx = use_check(KEYS, ARGV)
if stop then return stop end
-- Every check is made: writes from here on.
return use_write(KEYS, ARGV, ctx)
"""
)

# Releases a lock of the order, or gives back its redemption: rollback_check (reads only) and
# rollback_write. K: campaign, days, locks, held, coupon, requests, the order's coupons. A: now, code, order,
# request field, request fingerprint, campaign id, '1' if the order's own end gives it back (its refund script,
# or the follower of an order that ended) else ''. Answers the outcome and, when it changed or replayed, the
# coupon's fields. A cancel or full refund of an order runs these inside its refund script. A redemption made
# by an order's checkout is refused to any other caller ('checkout'): the order stands on that discount.
ROLLBACK_FUNCTIONS = """
local function rollback_check(K, A)
  local now, code, order = tonumber(A[1]), A[2], A[3]
  local prev = redis.call('HGET', K[6], A[4])
  if prev then
    if prev ~= A[5] .. '|' .. code then return {'clash'} end
    return {'replayed', redis.call('HGETALL', K[5])}
  end
  local c = redis.call('HMGET', K[5], 'campaign', 'state', 'order', 'lock_exp', 'discount', 'day', 'checkout')
  if c[1] ~= A[6] then return {'no_coupon'} end
  local locked = c[2] == 'locked' and tonumber(c[4]) > now and c[3] == order
  local redeemed = c[2] == 'redeemed' and c[3] == order
  if not locked and not redeemed then return {'nothing'} end
  if redeemed and c[7] == '1' and A[7] ~= '1' then return {'checkout'} end
  return nil, {locked = locked, discount = tonumber(c[5]), day = c[6]}
end
local function rollback_write(K, A, ctx)
  local code = A[2]
  redis.call('HINCRBY', K[1], 'amount', -ctx.discount)
  redis.call('HINCRBY', K[2], ctx.day, -1)
  if ctx.locked then
    redis.call('HDEL', K[4], code)
    redis.call('ZREM', K[3], code)
    redis.call('HINCRBY', K[1], 'locked', -1)
  else
    redis.call('HINCRBY', K[1], 'redeemed', -1)
  end
  redis.call('HSET', K[5], 'state', 'claimed')
  redis.call('HDEL', K[5], 'order', 'discount', 'lock_exp', 'day', 'redeemed', 'checkout')
  redis.call('HDEL', K[7], code)
  redis.call('HSET', K[6], A[4], A[5] .. '|' .. code)
  return {'rolled_back', redis.call('HGETALL', K[5])}
end
"""
ROLLBACK = (
    ROLLBACK_FUNCTIONS
    + """
local stop, ctx = rollback_check(KEYS, ARGV)
if stop then return stop end
-- Every check is made: writes from here on.
return rollback_write(KEYS, ARGV, ctx)
"""
)
