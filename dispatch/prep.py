"""Prep-time model: when will a merchant's order be ready, with an uncertainty, learnt online.

Model (prep time y in seconds, for an order placed at hour-of-day bucket b, with k items, while n
other orders of the same merchant were still open):

    E[y] = base_m * exp(h_b + beta_items * ln k + beta_backlog * ln(1 + n))

* ``base_m`` -- the merchant's level: an exponentially weighted (EW) mean of its past prep times with
  the effects divided out (r = y / exp(effects)), shrunk toward its category's level with a
  pseudo-count k0:  base_m = (k0 * level_c + S_m) / (k0 + W_m), where W_m and S_m are the EW sums of
  weights and of r (each new observation halves in weight after ``merchant_half_life_orders``
  newer ones, so the level follows drift). A cold merchant (W_m = 0) predicts its category's
  level (times the effects). A merchant keeps the first category it was placed with. k0 is the normal-normal
  pseudo-count (within-merchant cv / between-merchant cv)^2 of its category prior: the merchant's own
  mean takes over as fast as the data say merchants differ.
* ``level_c`` -- the category's level: the prior table's mean (``CATEGORY_PRIORS``), corrected online
  by the EW mean of r over all orders of that category (pseudo-count ``category_pseudo_orders``).
  Unknown or missing categories share the ``default`` row.
* ``h_b`` -- a global multiplicative hour-of-day effect per local hour (24 buckets): the EW mean of
  the log residual in that hour, centred on ``hbar`` (the EW mean, over recent orders, of each
  order's own hour effect) and shrunk toward it by ``hour_pseudo_orders``. Centring keeps a shift
  common to all hours in the levels (without it the busy hours drifted together and dragged every
  level along). An order teaches the hours with weight W_m / (W_m + ``hour_warm_orders``): a
  merchant still at its prior would pass the prior's error off as an hour effect.
* ``beta_items``, ``beta_backlog`` -- global slopes on the log scale (basket size, open backlog),
  learnt with a Kalman filter (recursive least squares with a Gaussian prior of sd
  ``coef_prior_sd`` and a random-walk drift of ``coef_drift_sd`` per order) on
  z = ln y - ln base_m - h_b, with an intercept that soaks up the Jensen gap between the mean and
  the log-mean (and any common bias of the levels) and is not used when predicting. Observation
  noise = the order's predictive relative variance, so cold merchants barely move the slopes.
* Uncertainty: the merchant's within cv^2 (EW variance of r over its squared mean, shrunk toward the
  category prior's cv with ``cv_pseudo_orders``) times (1 + 1 / (k0 + W_m)) -- the noise of one order
  plus the uncertainty of the merchant's level (at W_m = 0 that is the between-merchant spread) --
  times the category's calibration factor: the EW mean squared standardised error of its past
  estimates (shrunk toward 1 by ``calibration_pseudo_orders``), which corrects a prior table that is
  too wide or too narrow. ``sd_s = E[y] * sqrt(that)``. On replays +-1 sd covers 67-75 % of orders.

The point estimate is the mean (not the median) because ready times feed expected pickup times.
Features (hour bucket of the placement in ``PrepConfig.timezone``, items, backlog) are fixed when
``on_placed`` first sees an order; a repeated ``on_placed`` returns the estimate for those features
(and that placement time) under the current model.

Guards: a ready event for an order never placed here, repeated, earlier than or equal to its
placement, or more than ``max_prep_s`` after it is not learnt from; each kind is counted in the
global hash (``ignored_unknown``, ``ignored_early``, ``ignored_absurd``; ``PrepModel.counters``).
The dispatcher must call ``on_placed`` before ``on_ready`` (a ready event for an order not yet
placed is counted unknown and dropped). Open orders placed more
than ``backlog_window_s`` ago stop counting toward the backlog, so a lost ready/cancel event cannot
inflate it forever.

Redis (zone = the city; all keys carry the ``{zone}`` hash tag):

| key | type | what |
|---|---|---|
| ``tc:{z}:prep:merchant:<id>`` | hash | cat, prior (pm, k0, cv0), EW sums w, s, r2, raw sample count n |
| ``tc:{z}:prep:merchant_open:<id>`` | zset | the merchant's open orders by placement time (the backlog) |
| ``tc:{z}:prep:order:<id>`` | hash | features used at placement, state (open/ready/closed/ignored); expires |
| ``tc:{z}:prep:cat:<cat>`` | hash | EW sums w, s of the category's level; u2, uw of its calibration |
| ``tc:{z}:prep:global`` | hash | hour sums h<b>s/h<b>w and hbar, slopes (a, bi, bb) and their 3x3 covariance P, counters |

Every update is one Lua script (atomic); ``predict`` is one read-only script call (one round trip),
``predict_many`` one pipeline.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
from scipy.special import log_ndtr

from dispatch.keys import ZoneKeys
from dispatch.scripts import run_script_pipeline

__all__ = ["CATEGORY_PRIORS", "CategoryPrior", "PrepConfig", "PrepEstimate", "PrepModel", "still_cooking"]


@dataclass(frozen=True)
class CategoryPrior:
    """A category's prior: mean prep time, spread of merchant means around it, spread of orders
    around their merchant's mean (as a coefficient of variation)."""

    mean_s: float
    merchant_sd_s: float
    order_cv: float

    def __post_init__(self) -> None:
        if self.mean_s <= 0 or self.merchant_sd_s <= 0 or self.order_cv <= 0:
            raise ValueError("a category prior needs positive mean, merchant sd and order cv")

    @property
    def pseudo_orders(self) -> float:
        """Normal-normal pseudo-count: (within-merchant cv / between-merchant cv)^2."""
        return (self.order_cv / (self.merchant_sd_s / self.mean_s)) ** 2


# Categories follow the OSM amenity/shop tags the city replays draw merchants from. The restaurant
# and default rows are measured on the four MDRP dev instances (Grubhub orders, Reyes et al. 2018):
# mean prep 17-20 min, restaurant means spread by 6-8 min, orders around their restaurant's mean by
# 5.5-8 min (cv ~0.35). The other rows are judgement (quick-service kitchens, counter service,
# pick-and-pack retail) until our own ready events replace them: every level is corrected online.
CATEGORY_PRIORS: dict[str, CategoryPrior] = {
    "restaurant": CategoryPrior(16 * 60, 6 * 60, 0.35),
    "fast_food": CategoryPrior(9 * 60, 3 * 60, 0.35),
    "cafe": CategoryPrior(7 * 60, 2.5 * 60, 0.4),
    "ice_cream": CategoryPrior(4 * 60, 1.5 * 60, 0.4),
    "bakery": CategoryPrior(5 * 60, 2 * 60, 0.4),
    "pharmacy": CategoryPrior(8 * 60, 3 * 60, 0.4),
    "clinic": CategoryPrior(12 * 60, 5 * 60, 0.45),
    "convenience": CategoryPrior(6 * 60, 2 * 60, 0.4),
    "supermarket": CategoryPrior(12 * 60, 4 * 60, 0.4),
    "shop": CategoryPrior(8 * 60, 3 * 60, 0.45),
    "default": CategoryPrior(15 * 60, 7 * 60, 0.45),
}


def _half_life_to_decay(half_life: float) -> float:
    return 0.5 ** (1.0 / half_life)


@dataclass(frozen=True)
class PrepConfig:
    """Settings of the prep-time model; counts are in orders, times in seconds."""

    # A merchant's observations lose half their weight after this many newer ones (tracks drift).
    merchant_half_life_orders: float = 30.0
    # Same for a category's level correction and for each hour bucket's effect.
    category_half_life_orders: float = 500.0
    hour_half_life_orders: float = 500.0
    # Pseudo-counts: how many orders' worth of weight the prior of a category level, an hour effect
    # (toward no effect) and a merchant's cv (toward the category's) carry.
    category_pseudo_orders: float = 10.0
    hour_pseudo_orders: float = 50.0
    # An order teaches the hour effects with weight W_m / (W_m + this): residuals of merchants whose
    # level is still mostly prior would otherwise pass the prior's error off as an hour effect.
    hour_warm_orders: float = 10.0
    cv_pseudo_orders: float = 5.0
    # Pseudo-count (at factor 1) of a category's spread calibration: the EW mean squared
    # standardised error of its estimates, which scales the predictive variance.
    calibration_pseudo_orders: float = 20.0
    # Prior sd of the log-scale slopes (basket size, backlog) and their random-walk drift per order.
    coef_prior_sd: float = 0.3
    coef_drift_sd: float = 0.002
    # Longer prep times are bad data (a forgotten order), not learnt from.
    max_prep_s: float = 3 * 3600.0
    # Open orders placed longer ago than this no longer count toward the backlog.
    backlog_window_s: float = 3 * 3600.0
    # How long an order's features stay in Redis (idempotency of late duplicate events).
    order_ttl_s: float = 24 * 3600.0
    # Local time zone of the hour-of-day buckets.
    timezone: str = "UTC"
    priors: dict[str, CategoryPrior] = field(default_factory=lambda: dict(CATEGORY_PRIORS))

    def __post_init__(self) -> None:
        for name in ("merchant_half_life_orders", "category_half_life_orders", "hour_half_life_orders",
                     "max_prep_s", "backlog_window_s", "order_ttl_s", "coef_prior_sd"):  # fmt: skip
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("category_pseudo_orders", "hour_pseudo_orders", "hour_warm_orders", "cv_pseudo_orders",
                     "calibration_pseudo_orders", "coef_drift_sd"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if "default" not in self.priors:
            raise ValueError("priors need a 'default' row for unknown categories")
        ZoneInfo(self.timezone)  # raises on an unknown zone


@dataclass(frozen=True)
class PrepEstimate:
    ready_at_ms: int  # predicted ready time
    sd_s: float  # predictive standard deviation, seconds
    samples: int  # observations behind the merchant's estimate (0 = pure prior)


# A spread below this (seconds) is a known time.
MIN_SD_S = 1.0


def still_cooking(predicted_ms: int, sd_s: float, now_ms: int) -> tuple[int, float]:
    """A ready-time prediction (normal: mean `predicted_ms`, spread `sd_s`) given that the food is not
    ready at `now_ms`: the mean and spread of that normal truncated below at now. It is what a merchant's
    silence says when the merchant reports its ready events and has not reported this one.

    With a = (now - mean) / sd and lam = phi(a) / (1 - Phi(a)) (the inverse Mills ratio, from log_ndtr so
    that it stays exact far in the tail): mean + sd * lam, and sd * sqrt(1 + a * lam - lam^2). Far
    before the predicted time it changes nothing; at it, the food is expected sd * sqrt(2 / pi) later
    (6.4 min for an 8-minute spread); past it, always after now. A known time (sd below `MIN_SD_S`) is
    returned as is."""
    sd_ms = sd_s * 1000.0
    if not sd_s >= MIN_SD_S:  # a known time (and NaN): conditioning would divide by next to nothing
        return predicted_ms, sd_s
    a = (now_ms - predicted_ms) / sd_ms
    lam = math.exp(-0.5 * a * a - 0.5 * math.log(2 * math.pi) - float(log_ndtr(-a)))
    mean = predicted_ms + sd_ms * lam
    var = sd_ms * sd_ms * max(1.0 + a * lam - lam * lam, 0.0)
    # (Never wider than the prediction: far before it the two agree up to rounding.)
    return max(now_ms, round(mean)), min(sd_s, math.sqrt(var) / 1000.0)


_FMT = "%.17g"

# Shared by predict and on_placed: the state an estimate needs, as strings (Lua numbers would be
# truncated to integers on the way back). Returns merchant {cat, pm, k0, cv0, w, s, r2, n},
# category {w, s, u2, uw}, global {bi, bb, h<b>s, h<b>w, hbar}.
_READ_STATE_LUA = """
local function read_state(prefix, mkey, cat_arg, hb)
  local m = redis.call('HMGET', mkey, 'cat', 'pm', 'k0', 'cv0', 'w', 's', 'r2', 'n')
  local cat = m[1] or cat_arg
  local c = redis.call('HMGET', prefix .. 'prep:cat:' .. cat, 'w', 's', 'u2', 'uw')
  local g = redis.call('HMGET', prefix .. 'prep:global', 'bi', 'bb', 'h' .. hb .. 's', 'h' .. hb .. 'w', 'hbar')
  return {cat, m[2] or '', m[3] or '', m[4] or '', m[5] or '0', m[6] or '0', m[7] or '0', m[8] or '0',
          c[1] or '0', c[2] or '0', c[3] or '0', c[4] or '0',
          g[1] or '0', g[2] or '0', g[3] or '0', g[4] or '0', g[5] or '0'}
end
"""

# ARGV: prefix, merchant, category, placed_ms, hour bucket, items, window_ms.
_PREDICT_LUA = (
    _READ_STATE_LUA
    + """
local prefix, mid = ARGV[1], ARGV[2]
local mkey = prefix .. 'prep:merchant:' .. mid
local placed, window = tonumber(ARGV[4]), tonumber(ARGV[7])
local backlog = redis.call('ZCOUNT', prefix .. 'prep:merchant_open:' .. mid, string.format('(%d', placed - window), ARGV[4])
local out = read_state(prefix, mkey, ARGV[3], ARGV[5])
table.insert(out, ARGV[5]); table.insert(out, ARGV[6]); table.insert(out, tostring(backlog))
return out
"""
)

# ARGV: prefix, merchant, order, category, placed_ms, hour bucket, items, window_ms, ttl_s,
# prior mean s, prior k0, prior cv0. First call: counts the backlog (open orders placed up to now,
# within the window), joins it, stores the features; a repeat returns the stored features (and
# placement time: a retry with drifted fields gets the first answer's basis).
# Every order of a batch in one call (a line per order, fields split by '|'; ids hold neither): counts each into
# its merchant's backlog and remembers its features, once per order id; returns per order the state its estimate
# needs and its features (21 values). One call per AssignRiders batch rather than one per order, whose packing
# cost intake more than the orders' own creation (profiled under bench.load).
# ARGV: prefix, backlog window ms, order ttl s, "merchant|order|category|placed ms|hour bucket|items|prior
# mean|prior pseudo-orders|prior cv" lines.
_PLACED_LUA = (
    _READ_STATE_LUA
    + """
local prefix, window, ttl = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local out = {}
for mid, oid, cat, placed_s, hb, items, pm, k0, cv0 in string.gmatch(ARGV[4],
    '([^|\\n]+)|([^|]+)|([^|]+)|([^|]+)|([^|]+)|([^|]+)|([^|]+)|([^|]+)|([^|\\n]+)') do
  local mkey = prefix .. 'prep:merchant:' .. mid
  local okey = prefix .. 'prep:order:' .. oid
  local f = redis.call('HMGET', okey, 'm', 'hb', 'items', 'backlog', 'placed')
  if not f[1] then
    local placed = tonumber(placed_s)
    local open = prefix .. 'prep:merchant_open:' .. mid
    redis.call('ZREMRANGEBYSCORE', open, '-inf', string.format('(%d', placed - window))
    local backlog = redis.call('ZCOUNT', open, '-inf', placed_s)
    redis.call('ZADD', open, placed_s, oid)
    if redis.call('HEXISTS', mkey, 'cat') == 0 then
      redis.call('HSET', mkey, 'cat', cat, 'pm', pm, 'k0', k0, 'cv0', cv0)
    end
    redis.call('HSET', okey, 'm', mid, 'placed', placed_s, 'hb', hb, 'items', items, 'backlog', backlog, 'st', 'open')
    redis.call('EXPIRE', okey, ttl)
    f = {mid, hb, items, tostring(backlog), placed_s}
  end
  local one = read_state(prefix, prefix .. 'prep:merchant:' .. f[1], cat, f[2])
  for _, v in ipairs(one) do out[#out + 1] = v end
  out[#out + 1] = f[2]; out[#out + 1] = f[3]; out[#out + 1] = f[4]; out[#out + 1] = f[5]
end
return out
"""
)

# ARGV: prefix, order, ready_ms, merchant decay, category decay, hour decay, category pseudo-count,
# hour pseudo-count, cv pseudo-count, coef prior variance, coef drift variance, max prep s,
# calibration pseudo-count, hour warm-up orders.
# Returns the outcome: learnt / ignored_early / ignored_absurd / ignored_unknown / duplicate.
_READY_LUA = """
local prefix, oid = ARGV[1], ARGV[2]
local ready = tonumber(ARGV[3])
local lam_m, lam_c, lam_h = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local k_c, k_h, k_v, k_u = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[13])
local p0, q, max_prep = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local k_warm = tonumber(ARGV[14])
local gkey = prefix .. 'prep:global'
local okey = prefix .. 'prep:order:' .. oid
local o = redis.call('HMGET', okey, 'm', 'placed', 'hb', 'items', 'backlog', 'st')
if not o[1] then
  redis.call('HINCRBY', gkey, 'ignored_unknown', 1)
  return 'ignored_unknown'
end
if o[6] ~= 'open' then return 'duplicate' end
local mkey = prefix .. 'prep:merchant:' .. o[1]
redis.call('ZREM', prefix .. 'prep:merchant_open:' .. o[1], oid)
local y = (ready - tonumber(o[2])) / 1000
if y <= 0 or y > max_prep then
  local why = (y <= 0) and 'ignored_early' or 'ignored_absurd'
  redis.call('HSET', okey, 'st', 'ignored')
  redis.call('HINCRBY', gkey, why, 1)
  return why
end
redis.call('HSET', okey, 'st', 'ready')
local function num(v, d) return tonumber(v) or d end
local function fmt(v) return string.format('%.17g', v) end
local hb = o[3]
local xi, xb = math.log(math.max(1, num(o[4], 1))), math.log(1 + math.max(0, num(o[5], 0)))
local g = redis.call('HMGET', gkey, 'a', 'bi', 'bb', 'P', 'h' .. hb .. 's', 'h' .. hb .. 'w', 'hbar')
local th = {num(g[1], 0), num(g[2], 0), num(g[3], 0)}
local P = {}
if g[4] then
  for v in string.gmatch(g[4], '[^ ]+') do P[#P + 1] = tonumber(v) end
else
  P = {p0, 0, 0, 0, p0, 0, 0, 0, p0}
end
local hs, hw, hbar = num(g[5], 0), num(g[6], 0), num(g[7], 0)
-- Hour effects are centred on hbar (their mean over recent orders) so that a shift common to all
-- hours stays in the levels; each is shrunk toward that common value, not toward raw 0 (which
-- would make hours with few orders look unlike the rest by -hbar).
local h = (hs - hw * hbar) / (k_h + hw)
local m = redis.call('HMGET', mkey, 'cat', 'pm', 'k0', 'cv0', 'w', 's', 'r2', 'n')
local cat = m[1] or 'default'
local pm, k0, cv0 = num(m[2], 900), num(m[3], 1), num(m[4], 0.45)
local w, s, r2, n = num(m[5], 0), num(m[6], 0), num(m[7], 0), num(m[8], 0)
local ckey = prefix .. 'prep:cat:' .. cat
local c = redis.call('HMGET', ckey, 'w', 's', 'u2', 'uw')
local cw, cs, cu2, cuw = num(c[1], 0), num(c[2], 0), num(c[3], 0), num(c[4], 0)
local level = (k_c * pm + cs) / (k_c + cw)
local base = (k0 * level + s) / (k0 + w)
local cv2 = cv0 * cv0
if w > 1 and s > 0 then
  local mean = s / w
  local var = math.max(0, r2 / w - mean * mean)
  cv2 = (k_v * cv2 + (w - 1) * var / (mean * mean)) / (k_v + w - 1)
end
local x = {1, xi, xb}
local z = math.log(y) - math.log(base)
-- slopes: Kalman step on z - h with observation noise = the predictive relative variance
for i = 0, 2 do P[i * 3 + i + 1] = math.min(P[i * 3 + i + 1] + q, p0) end
local rel_var = cv2 * (1 + 1 / (k0 + w))
local R = math.max(rel_var * (k_u + cu2) / (k_u + cuw), 1e-4)
local Px = {0, 0, 0}
for i = 1, 3 do for j = 1, 3 do Px[i] = Px[i] + P[(i - 1) * 3 + j] * x[j] end end
local S = R
for i = 1, 3 do S = S + x[i] * Px[i] end
local err = z - h - (th[1] + th[2] * xi + th[3] * xb)
for i = 1, 3 do th[i] = th[i] + Px[i] / S * err end
for i = 1, 3 do for j = 1, 3 do P[(i - 1) * 3 + j] = P[(i - 1) * 3 + j] - Px[i] * Px[j] / S end end
-- hour effect: EW mean of what the slopes leave, down-weighted while the merchant is mostly prior
-- (z is measured against a level learnt with the centred effects divided out, so it estimates the
-- centred effect: adding hbar back would make the common shift integrate its own bias)
local hr = z - (th[1] + th[2] * xi + th[3] * xb)
local cwt = w / (k_warm + w)
hs, hw = lam_h * hs + cwt * hr, lam_h * hw + cwt
local Ps = {}
for i = 1, 9 do Ps[i] = fmt(P[i]) end
redis.call('HSET', gkey, 'a', fmt(th[1]), 'bi', fmt(th[2]), 'bb', fmt(th[3]), 'P', table.concat(Ps, ' '),
  'h' .. hb .. 's', fmt(hs), 'h' .. hb .. 'w', fmt(hw))
-- Centre on the mean effect over recent orders: an EW mean (per order, in any hour) of each
-- order's own hour effect, so the effects average out over the orders the levels learn from.
-- (Weighting buckets by their own saturating sums let busy hours drift together and drag every
-- level along; an exact traffic-weighted mean over 24 buckets costs 24 reads per event.)
hbar = lam_h * hbar + (1 - lam_h) * (hs + k_h * hbar) / (k_h + hw)
redis.call('HSET', gkey, 'hbar', fmt(hbar))
redis.call('HINCRBY', gkey, 'learnt', 1)
-- levels learn from the prep time with the (pre-update) effects divided out
local r = y / math.exp(h + num(g[2], 0) * xi + num(g[3], 0) * xb)
redis.call('HSET', mkey, 'w', fmt(lam_m * w + 1), 's', fmt(lam_m * s + r), 'r2', fmt(lam_m * r2 + r * r),
  'n', n + 1, 'last_ms', ARGV[3])
-- calibration of the spread: squared standardised error of this order's (uncalibrated) estimate
local pred = base * math.exp(h + num(g[2], 0) * xi + num(g[3], 0) * xb)
local u2 = math.min((y / pred - 1) ^ 2 / rel_var, 25)
redis.call('HSET', ckey, 'w', fmt(lam_c * cw + 1), 's', fmt(lam_c * cs + r), 'u2', fmt(lam_c * cu2 + u2),
  'uw', fmt(lam_c * cuw + 1))
return 'learnt'
"""

# ARGV: prefix, order. Leaves the backlog without learning.
_CLOSED_LUA = """
local prefix, oid = ARGV[1], ARGV[2]
local okey = prefix .. 'prep:order:' .. oid
local o = redis.call('HMGET', okey, 'm', 'st')
if not o[1] or o[2] ~= 'open' then return 0 end
redis.call('ZREM', prefix .. 'prep:merchant_open:' .. o[1], oid)
redis.call('HSET', okey, 'st', 'closed')
return 1
"""


class PrepModel:
    """Per-merchant prep-time estimates for one zone, learnt online from ready events (see module doc)."""

    def __init__(self, client: aioredis.Redis, zone: str, config: PrepConfig | None = None) -> None:
        self.client = client
        self.keys = ZoneKeys(zone)
        self.config = config or PrepConfig()
        self._tz = ZoneInfo(self.config.timezone)
        self._predict = client.register_script(_PREDICT_LUA)
        self._placed = client.register_script(_PLACED_LUA)
        self._ready = client.register_script(_READY_LUA)
        self._closed = client.register_script(_CLOSED_LUA)
        cfg = self.config
        self._ready_args = [
            _FMT % _half_life_to_decay(cfg.merchant_half_life_orders),
            _FMT % _half_life_to_decay(cfg.category_half_life_orders),
            _FMT % _half_life_to_decay(cfg.hour_half_life_orders),
            _FMT % cfg.category_pseudo_orders,
            _FMT % cfg.hour_pseudo_orders,
            _FMT % cfg.cv_pseudo_orders,
            _FMT % cfg.coef_prior_sd**2,
            _FMT % cfg.coef_drift_sd**2,
            _FMT % cfg.max_prep_s,
            _FMT % cfg.calibration_pseudo_orders,
            _FMT % cfg.hour_warm_orders,
        ]

    # -- public API ---------------------------------------------------------------------------

    async def on_placed(self, merchant_id: str, order_id: str, placed_at_ms: int, item_count: int = 1,
                        category: str = "") -> PrepEstimate:  # fmt: skip
        """Counts the order into its merchant's backlog and remembers its features (once per
        order_id); returns the estimate for those features."""
        [estimate] = await self.on_placed_many([(merchant_id, order_id, placed_at_ms, item_count, category)])
        return estimate

    async def on_placed_many(self, orders: Sequence[tuple[str, str, int, int, str]]) -> list[PrepEstimate]:
        """`on_placed` for (merchant_id, order_id, placed_at_ms, item_count, category) tuples, in one script
        call (a batch of AssignRiders is one round trip and one command, not one per order)."""
        if not orders:
            return []
        lines = []
        for merchant_id, order_id, placed_at_ms, item_count, category in orders:
            cat = self.category_key(category)
            prior = self.config.priors[cat]
            lines.append(f"{merchant_id}|{order_id}|{cat}|{int(placed_at_ms)}|{self.hour_bucket(placed_at_ms)}|"
                         f"{max(1, int(item_count))}|{_FMT % prior.mean_s}|{_FMT % prior.pseudo_orders}|"
                         f"{_FMT % prior.order_cv}")  # fmt: skip
        raw = await self._placed(
            keys=[self.keys.slot],
            args=[self.keys.prefix, int(self.config.backlog_window_s * 1000), int(self.config.order_ttl_s),
                  "\n".join(lines)],
        )  # fmt: skip
        per = 21
        return [self._estimate(raw[k : k + per], int(raw[k + 20])) for k in range(0, len(raw), per)]

    async def predict(self, merchant_id: str, placed_at_ms: int, item_count: int = 1,
                      category: str = "") -> PrepEstimate:  # fmt: skip
        """The estimate for an order placed now (read-only; backlog = the merchant's open orders)."""
        raw = await self._predict(
            keys=[self.keys.slot], args=self._predict_args(merchant_id, placed_at_ms, item_count, category)
        )
        return self._estimate(raw, placed_at_ms)

    async def predict_many(self, queries: Sequence[tuple[str, int, int, str]]) -> list[PrepEstimate]:
        """Estimates for (merchant_id, placed_at_ms, item_count, category) tuples, in one pipeline."""
        if not queries:
            return []

        async def queue(pipe: aioredis.client.Pipeline) -> None:
            for merchant_id, placed_at_ms, item_count, category in queries:
                await self._predict(keys=[self.keys.slot], client=pipe,
                                    args=self._predict_args(merchant_id, placed_at_ms, item_count, category))  # fmt: skip

        raws = await run_script_pipeline(self.client, [self._predict], queue)
        return [self._estimate(raw, q[1]) for raw, q in zip(raws, queries, strict=True)]

    async def on_ready(self, merchant_id: str, order_id: str, ready_at_ms: int) -> None:
        """Learns from the true prep time of an order placed via on_placed (once per order_id) and
        takes it out of the backlog. Bad events are counted (see `counters`), never raised; the
        merchant stored at placement is authoritative."""
        del merchant_id  # the order's own record names its merchant
        await self._ready(keys=[self.keys.slot], args=[self.keys.prefix, order_id, int(ready_at_ms), *self._ready_args])

    async def on_closed(self, merchant_id: str, order_id: str) -> None:
        """A cancelled (or never ready) order leaves the backlog; nothing is learnt."""
        del merchant_id
        await self._closed(keys=[self.keys.slot], args=[self.keys.prefix, order_id])

    async def backlog(self, merchant_id: str) -> int:
        """Open orders of the merchant (placed within the backlog window)."""
        return int(await self.client.zcard(f"{self.keys.prefix}prep:merchant_open:{merchant_id}"))

    async def counters(self) -> dict[str, int]:
        """learnt and ignored_* counts of ready events in this zone."""
        raw = await self.client.hmget(f"{self.keys.prefix}prep:global", "learnt", "ignored_early",
                                      "ignored_absurd", "ignored_unknown")  # fmt: skip
        names = ("learnt", "ignored_early", "ignored_absurd", "ignored_unknown")
        return {k: int(v or 0) for k, v in zip(names, raw, strict=True)}

    # -- internals ----------------------------------------------------------------------------

    def category_key(self, category: str) -> str:
        """The priors row for an OSM amenity/shop value ('' or unknown -> 'default')."""
        cat = (category or "").strip().lower()
        return cat if cat in self.config.priors else "default"

    def hour_bucket(self, at_ms: int) -> int:
        return dt.datetime.fromtimestamp(at_ms / 1000, tz=self._tz).hour

    def _predict_args(self, merchant_id: str, placed_at_ms: int, item_count: int, category: str) -> list[Any]:
        return [self.keys.prefix, merchant_id, self.category_key(category), int(placed_at_ms),
                self.hour_bucket(placed_at_ms), max(1, int(item_count)),
                int(self.config.backlog_window_s * 1000)]  # fmt: skip

    def _estimate(self, raw: list[str], placed_at_ms: int) -> PrepEstimate:
        cfg = self.config
        cat, pm, k0, cv0 = raw[0], raw[1], raw[2], raw[3]
        w, s, r2, n, cw, cs, cu2, cuw, bi, bb, hs, hw, hbar = (float(v) for v in raw[4:17])
        items, backlog = float(raw[18]), float(raw[19])
        prior = cfg.priors.get(cat, cfg.priors["default"])
        prior_mean = float(pm) if pm else prior.mean_s
        k0_f = float(k0) if k0 else prior.pseudo_orders
        cv2 = (float(cv0) if cv0 else prior.order_cv) ** 2
        level = (cfg.category_pseudo_orders * prior_mean + cs) / (cfg.category_pseudo_orders + cw)
        base = (k0_f * level + s) / (k0_f + w)
        if w > 1 and s > 0:
            mean = s / w
            var = max(0.0, r2 / w - mean * mean)
            cv2 = (cfg.cv_pseudo_orders * cv2 + (w - 1) * var / (mean * mean)) / (cfg.cv_pseudo_orders + w - 1)
        h = (hs - hw * hbar) / (cfg.hour_pseudo_orders + hw)
        calib = (cfg.calibration_pseudo_orders + cu2) / (cfg.calibration_pseudo_orders + cuw)
        prep_s = base * math.exp(h + bi * math.log(max(1.0, items)) + bb * math.log1p(max(0.0, backlog)))
        sd_s = prep_s * math.sqrt(cv2 * (1 + 1 / (k0_f + w)) * calib)
        return PrepEstimate(int(placed_at_ms) + round(prep_s * 1000), sd_s, int(float(n)))
