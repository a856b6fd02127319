"""The Lua scripts of loyalty: one per change, every check before the first write.

Each member script works on the member's hash, lots, live-lot zset and history (and the programme's
expiry zset); `_PRELUDE` holds what they share. Invariants every script keeps (tests recompute them from
the history and the lots): `avail` = the sum of the history's available deltas = the points left in the
member's live lots; `pending` and `debt` = the sums of their deltas; a lot's left is within [0, points].
A lot past its expiry is never spent or taken back from; its points count in `avail` until it is
expired (by ExpirePoints, or by the next change of that member, after its checks).
"""

# Shared by the member scripts. M is a table of the member's keys: m (hash), lots, live, hist, exp (the
# programme's expiry zset), id (member id).
_PRELUDE = """
local function lot_parse(s)
  local left, pts, exp, issuer, src = string.match(s, '^(%d+)|(%d+)|(%d+)|([^|]*)|(.*)$')
  return tonumber(left), tonumber(pts), tonumber(exp), issuer, src
end
local function lot_join(left, pts, exp, issuer, src)
  return left .. '|' .. pts .. '|' .. exp .. '|' .. issuer .. '|' .. src
end
local function entry(M, kind, a, p, d, ref, merchant, now)
  local n = redis.call('HINCRBY', M.m, 'eseq', 1)
  redis.call('RPUSH', M.hist, cjson.encode({n, kind, a, p, d, ref, merchant, tonumber(now)}))
end
-- Lots with points left that have not expired, earliest expiry first: {id, left, pts, exp, issuer, src}.
local function usable(M, now)
  local out, total = {}, 0
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', M.live, '(' .. now, '+inf')) do
    local left, pts, exp, issuer, src = lot_parse(redis.call('HGET', M.lots, id))
    if left > 0 then
      table.insert(out, {id, left, pts, exp, issuer, src})
      total = total + left
    end
  end
  return out, total
end
-- Takes n points out of a lot (after the checks: never more than it has left).
local function take(M, id, n)
  local left, pts, exp, issuer, src = lot_parse(redis.call('HGET', M.lots, id))
  left = left - n
  redis.call('HSET', M.lots, id, lot_join(left, pts, exp, issuer, src))
  if left == 0 then
    redis.call('ZREM', M.live, id)
    redis.call('ZREM', M.exp, M.id .. '|' .. id)
  end
end
-- A new lot of pts points: first repays the member's debt, the rest is spendable until exp.
local function add_lot(M, kind, pts, exp, issuer, src, now)
  if pts <= 0 then return '' end
  redis.call('HINCRBY', M.m, 'avail', pts)
  entry(M, kind, pts, 0, 0, src, issuer, now)
  local debt = tonumber(redis.call('HGET', M.m, 'debt') or '0')
  local repay = math.min(debt, pts)
  if repay > 0 then
    redis.call('HINCRBY', M.m, 'debt', -repay)
    redis.call('HINCRBY', M.m, 'avail', -repay)
    entry(M, 'debt_repaid', -repay, 0, -repay, src, issuer, now)
  end
  local id = 'L' .. string.format('%08d', redis.call('HINCRBY', M.m, 'lseq', 1))
  redis.call('HSET', M.lots, id, lot_join(pts - repay, pts, exp, issuer, src))
  if pts - repay > 0 then
    redis.call('ZADD', M.live, exp, id)
    redis.call('ZADD', M.exp, exp, M.id .. '|' .. id)
  end
  return id
end
-- Expires what is left of the member's lots whose expiry has passed (writes: call after the checks).
local function expire_due(M, now)
  local n, total = 0, 0
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', M.live, '-inf', now)) do
    local left, pts, exp, issuer, src = lot_parse(redis.call('HGET', M.lots, id))
    if left > 0 then
      redis.call('HSET', M.lots, id, lot_join(0, pts, exp, issuer, src))
      redis.call('HINCRBY', M.m, 'avail', -left)
      entry(M, 'expired', -left, 0, 0, id, issuer, now)
      n, total = n + 1, total + left
    end
    redis.call('ZREM', M.live, id)
    redis.call('ZREM', M.exp, M.id .. '|' .. id)
  end
  return n, total
end
local function member_keys(k, id, K)
  K = K or KEYS
  return {m = K[k], lots = K[k + 1], live = K[k + 2], hist = K[k + 3], exp = K[k + 4], id = id}
end
"""

# Stores a programme unless its id exists; claims its merchants. KEYS: programme, merchants.
# ARGV: programme id, fingerprint, body JSON, merchant ids...
CREATE_PROGRAMME = """
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

# Brings an order's points in line with the order. KEYS: order, member (5 keys), referrer (5 keys; the
# member's own again when it has no referrer). ARGV: now, order id, merchant, member id, state (1 paid,
# 2 completed), paid, refunded, earn bp, lot expiry ms, referrer id ('' none), referrer points, referee points.
SYNC_ORDER = (
    _PRELUDE
    + """
local now, oid, merchant = ARGV[1], ARGV[2], ARGV[3]
local M = member_keys(2, ARGV[4])
local R = member_keys(7, ARGV[10])
local state, paid, refunded, bp = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local o = redis.call('HMGET', KEYS[1], 'member', 'merchant', 'paid', 'bp', 'state', 'refunded', 'lot', 'debt')
local old_state, old_refunded = 0, 0
if o[1] then
  if o[1] ~= ARGV[4] or o[2] ~= merchant or tonumber(o[3]) ~= paid then return {'mismatch'} end
  bp, old_state, old_refunded = tonumber(o[4]), tonumber(o[5]), tonumber(o[6])
end
if (redis.call('HGET', M.m, 'ref_by') or '') ~= ARGV[10] then return {'stale'} end
local new_state, new_refunded = math.max(state, old_state), math.max(refunded, old_refunded)
if o[1] and new_state == old_state and new_refunded == old_refunded then return {'same'} end
local kept_old = math.floor((paid - old_refunded) * bp / 10000)
local kept = math.floor((paid - new_refunded) * bp / 10000)
-- Every check is made: writes from here on.
if not o[1] then
  redis.call('HSET', KEYS[1], 'member', ARGV[4], 'merchant', merchant, 'paid', paid, 'bp', bp, 'state', 0,
    'refunded', 0, 'debt', 0, 'created', now)
end
expire_due(M, now)
local lot = o[7] or ''
local debt_added = 0
if new_state == 1 then
  local d = kept - (old_state == 1 and kept_old or 0)
  if d ~= 0 then
    redis.call('HINCRBY', M.m, 'pending', d)
    entry(M, old_state == 0 and 'order_pending' or 'order_reversed', 0, d, 0, oid, merchant, now)
  end
elseif old_state < 2 then
  local before = old_state == 1 and kept_old or 0
  if before > 0 then
    redis.call('HINCRBY', M.m, 'pending', -before)
    entry(M, 'order_reversed', 0, -before, 0, oid, merchant, now)
  end
  lot = add_lot(M, 'order_available', kept, ARGV[9], merchant, oid, now)
  if redis.call('HSETNX', M.m, 'first_done', oid) == 1 and ARGV[10] ~= '' and redis.call('HSETNX', M.m, 'ref_done', oid) == 1 then
    add_lot(M, 'referral', tonumber(ARGV[12]), ARGV[9], merchant, 'referee:' .. ARGV[10], now)
    expire_due(R, now)
    add_lot(R, 'referral', tonumber(ARGV[11]), ARGV[9], merchant, 'referrer:' .. ARGV[4], now)
  end
else
  local r = kept_old - kept
  if r > 0 then
    local taken = 0
    local lots = usable(M, now)
    if lot ~= '' then
      for i, l in ipairs(lots) do
        if l[1] == lot then table.remove(lots, i); table.insert(lots, 1, l); break end
      end
    end
    for _, l in ipairs(lots) do
      if taken == r then break end
      local n = math.min(l[2], r - taken)
      take(M, l[1], n)
      taken = taken + n
    end
    debt_added = r - taken
    -- 0 - taken, not -taken: Lua's -0 reaches Redis as "-0", which HINCRBY refuses.
    redis.call('HINCRBY', M.m, 'avail', 0 - taken)
    if debt_added > 0 then redis.call('HINCRBY', M.m, 'debt', debt_added) end
    entry(M, 'order_reversed', 0 - taken, 0, debt_added, oid, merchant, now)
  end
end
redis.call('HSET', KEYS[1], 'state', new_state, 'refunded', new_refunded, 'kept', kept, 'lot', lot, 'updated', now)
if debt_added > 0 then redis.call('HINCRBY', KEYS[1], 'debt', debt_added) end
return {'changed'}
"""
)

# Spends points: spend_check (reads only; answers an outcome that ends the call, or nil and the usable
# lots) and spend_write; checkout (commerce.orders.store) runs the check before any of its writes. K: member
# (5 keys), spends, clearing (today), claims (today), the order's spends. A: now, member id, key,
# fingerprint, merchant, points, point value fen, order id ('' none), spend JSON head.
SPEND_FUNCTIONS = """
local function spend_check(K, A)
  local M = member_keys(1, A[2], K)
  local prev = redis.call('HGET', K[6], A[3])
  if prev then
    if string.sub(prev, 1, #A[4]) ~= A[4] then return {'clash'} end
    return {'replayed', prev}
  end
  local lots, total = usable(M, A[1])
  if total < tonumber(A[6]) then return {'insufficient', total} end
  return nil, lots
end
local function spend_write(K, A, lots)
  local now, key, fp, merchant = A[1], A[3], A[4], A[5]
  local M = member_keys(1, A[2], K)
  local points, value = tonumber(A[6]), tonumber(A[7])
  local uses, need = {}, points
  for _, l in ipairs(lots) do
    if need == 0 then break end
    local n = math.min(l[2], need)
    take(M, l[1], n)
    table.insert(uses, {l[1], l[5], n, l[4]})
    need = need - n
    if l[5] ~= merchant then
      redis.call('HINCRBY', K[7], merchant .. '|' .. l[5], n)
      redis.call('RPUSH', K[8], cjson.encode({merchant, l[5], n, n * value, key, tonumber(now)}))
    end
  end
  redis.call('HINCRBY', M.m, 'avail', -points)
  entry(M, 'spend', -points, 0, 0, key, merchant, now)
  expire_due(M, now)
  local record = fp .. '|' .. string.sub(A[9], 1, -2) .. ',"u":' .. cjson.encode(uses) .. '}'
  redis.call('HSET', K[6], key, record)
  if A[8] ~= '' then redis.call('SADD', K[9], key) end
  return {'spent', record}
end
"""
SPEND = (
    _PRELUDE
    + SPEND_FUNCTIONS
    + """
local stop, lots = spend_check(KEYS, ARGV)
if stop then return stop end
-- Every check is made: writes from here on.
return spend_write(KEYS, ARGV, lots)
"""
)

# Gives a spend back to the lots it came from (a lot past its expiry gets its points back and expires
# them at once; points given back repay a debt first), and reverses its claims on today's clearing:
# refund_spend_check (reads only) and refund_spend_write; a cancel or full refund of an order runs them
# inside its refund script. K: member (5 keys), spends, spends refunded, clearing (today), claims (today).
# A: now, member id, key, point value fen.
REFUND_SPEND_FUNCTIONS = """
local function refund_spend_check(K, A)
  local prev = redis.call('HGET', K[6], A[3])
  if not prev then return {'no_spend'} end
  local record = cjson.decode(string.sub(prev, string.find(prev, '|', 1, true) + 1))
  if record.m ~= A[2] then return {'no_spend'} end
  if redis.call('HEXISTS', K[7], A[3]) == 1 then return {'replayed', prev} end
  return nil, {prev = prev, record = record}
end
local function refund_spend_write(K, A, ctx)
  local now, key, record = A[1], A[3], ctx.record
  local M = member_keys(1, A[2], K)
  local value = tonumber(A[4])
  local total = 0
  for _, u in ipairs(record.u) do
    local id, issuer, n = u[1], u[2], u[3]
    local left, pts, exp, iss, src = lot_parse(redis.call('HGET', M.lots, id))
    redis.call('HSET', M.lots, id, lot_join(left + n, pts, exp, iss, src))
    redis.call('ZADD', M.live, exp, id)
    redis.call('ZADD', M.exp, exp, M.id .. '|' .. id)
    total = total + n
    if issuer ~= record.at then
      redis.call('HINCRBY', K[8], record.at .. '|' .. issuer, -n)
      redis.call('RPUSH', K[9], cjson.encode({record.at, issuer, -n, -n * value, key, tonumber(now)}))
    end
  end
  redis.call('HINCRBY', M.m, 'avail', total)
  entry(M, 'spend_refunded', total, 0, 0, key, record.at, now)
  redis.call('HSET', K[7], key, now)
  expire_due(M, now)
  -- Points given back repay a debt first, as new points do.
  local debt = tonumber(redis.call('HGET', M.m, 'debt') or '0')
  if debt > 0 then
    local repay = 0
    for _, l in ipairs(usable(M, now)) do
      if repay == debt then break end
      local n = math.min(l[2], debt - repay)
      take(M, l[1], n)
      repay = repay + n
    end
    if repay > 0 then
      redis.call('HINCRBY', M.m, 'debt', -repay)
      redis.call('HINCRBY', M.m, 'avail', -repay)
      entry(M, 'debt_repaid', -repay, 0, -repay, key, record.at, now)
    end
  end
  return {'refunded', ctx.prev}
end
"""
REFUND_SPEND = (
    _PRELUDE
    + REFUND_SPEND_FUNCTIONS
    + """
local stop, ctx = refund_spend_check(KEYS, ARGV)
if stop then return stop end
-- Every check is made: writes from here on.
return refund_spend_write(KEYS, ARGV, ctx)
"""
)

# The daily sign-in. KEYS: member (5 keys). ARGV: now, member id, day number, day name, sign-in points,
# streak days, streak bonus, grace days, lot expiry ms.
SIGN_IN = (
    _PRELUDE
    + """
local now = ARGV[1]
local M = member_keys(1, ARGV[2])
local day = tonumber(ARGV[3])
local s = redis.call('HMGET', M.m, 'sday', 'streak', 'spts', 'sname')
if s[1] and tonumber(s[1]) == day then return {'again', s[4], tonumber(s[2]), tonumber(s[3])} end
if s[1] and tonumber(s[1]) > day then return {'later', s[4]} end
-- Every check is made: writes from here on.
local streak = 1
if s[1] and day - tonumber(s[1]) <= 1 + tonumber(ARGV[8]) then streak = tonumber(s[2]) + 1 end
local points = tonumber(ARGV[5])
local every = tonumber(ARGV[6])
if every > 0 and streak % every == 0 then points = points + tonumber(ARGV[7]) end
expire_due(M, now)
add_lot(M, 'signin', points, ARGV[9], '', 'signin:' .. ARGV[4], now)
redis.call('HSET', M.m, 'sday', day, 'sname', ARGV[4], 'streak', streak, 'spts', points)
return {'signed', ARGV[4], streak, points}
"""
)

# The member's referral code, made once. KEYS: member, codes. ARGV: member id, a fresh code.
REFERRAL_CODE = """
local code = redis.call('HGET', KEYS[1], 'code')
if code then return {'ok', code} end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then return {'taken'} end
redis.call('HSET', KEYS[1], 'code', ARGV[2])
return {'ok', ARGV[2]}
"""

# Records who referred a member. KEYS: member, codes, then the referrer chain as read (the referrer, who
# referred it, ...). ARGV: member id, code, the referrer as read, then for each member of the chain who
# referred it as read ('' none): a change since the read is 'stale', and the caller reads again.
APPLY_REFERRAL = """
local referrer = redis.call('HGET', KEYS[2], ARGV[2])
if not referrer then return {'no_code'} end
if referrer ~= ARGV[3] then return {'stale'} end
if referrer == ARGV[1] then return {'self'} end
local m = redis.call('HMGET', KEYS[1], 'ref_by', 'first_done')
if m[1] then
  if m[1] == referrer then return {'again', referrer} end
  return {'referred', m[1]}
end
if m[2] then return {'not_new'} end
for i = 3, #KEYS do
  local up = redis.call('HGET', KEYS[i], 'ref_by') or ''
  if up ~= ARGV[i + 1] then return {'stale'} end
  if up == ARGV[1] then return {'loop'} end
end
redis.call('HSET', KEYS[1], 'ref_by', referrer, 'ref_at', '1')
return {'applied', referrer}
"""

# Expires one member's due lots. KEYS: member (5 keys). ARGV: now, member id.
EXPIRE_MEMBER = (
    _PRELUDE
    + """
local n, total = expire_due(member_keys(1, ARGV[2]), ARGV[1])
return {n, total}
"""
)

# A consistent read of a member: hash, live lots with their expiry, and the lots' records.
READ_MEMBER = """
local live = redis.call('ZRANGE', KEYS[3], 0, -1)
local lots = {}
if #live > 0 then lots = redis.call('HMGET', KEYS[2], unpack(live)) end
return {redis.call('HGETALL', KEYS[1]), live, lots}
"""
