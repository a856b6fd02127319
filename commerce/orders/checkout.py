"""Checkout: coupons locked to an order and points of the merchant's programme pay for part of it.

At creation the order names its coupon codes (each locked to it beforehand with CouponService's
LockCoupon) and the points to spend; `price` checks them and fixes the discount (nothing is written). The
payment is one script (`PAY_LUA`) over the order, each coupon's redemption of its lock and the points'
spend: every check (the order's version, each lock still the order's, held by the member, for the discount
found at creation; the points still available) before the first write, so an expired lock or a spent
balance fails the payment and changes nothing. A cancel, a rejection or a refund of all that is left runs
`REFUND_LUA`: the ledger's refund, each coupon's rollback and the spend's give-back, in one script.

The Lua bodies are the packages' own (`coupons._scripts.USE_FUNCTIONS`, `ROLLBACK_FUNCTIONS`,
`loyalty._scripts.SPEND_FUNCTIONS`, `REFUND_SPEND_FUNCTIONS`, `settlement.ledger.REFUND_FUNCTIONS`), each
split into a check that only reads and a write: the checkout scripts run every check, then every write.

Order of application: the coupons apply in the order the order lists them, each on what the ones before it
left (the amount its lock states; a free-delivery coupon on the delivery fee left), then the points at the
programme's value; the customer pays at least 1 fen. A coupon whose campaign names items (`Campaign.item_ids`,
a lot's markdown) applies to the order's catalogue lines of those items only: its base is their sum (at most
what the coupons before it left), and an order with no such line is refused it. Stacking (exclusive campaigns, at most N per order) is
checked when each coupon is locked, from what the order holds then. Whoever funds a coupon bears it: a
platform- or partner-funded discount is a subsidy of the split (`settlement.split`); points stay the
merchant's discount in the split, and the T+1 points clearing pays the merchant back from their issuers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import redis.asyncio as aioredis

from commerce.orders.models import CheckoutCoupon, NewOrder, Order
from core.clock import Clock
from core.errors import FailedPrecondition, FieldViolation, InvalidArgument
from core.validation import id_violation
from coupons import Coupons, CouponState, DiscountKind, Funder, normalize
from coupons._scripts import ROLLBACK_FUNCTIONS, USE_FUNCTIONS
from loyalty import Loyalty
from loyalty._scripts import _PRELUDE as _POINTS_PRELUDE
from loyalty._scripts import REFUND_SPEND_FUNCTIONS, SPEND_FUNCTIONS
from loyalty.models import MAX_SPEND_POINTS
from settlement.keys import MoneyKeys
from settlement.ledger import REFUND_FUNCTIONS, LuaScript
from settlement.rules import PLATFORM_ID

MAX_COUPONS_PER_ORDER = 20
# Payments with coupons or points kept in the checkout events stream (about; trimmed by whole nodes): hours of
# a busy city's checkouts, for the cockpit's heat maps.
CHECKOUT_EVENTS_KEPT = 200_000

_SLICE = """
local function slice(t, from, n)
  local out = {}
  for i = 1, n do out[i] = t[from + i - 1] end
  return out
end
local function text(x)
  if type(x) == 'table' or x == nil then return '' end
  return tostring(x)
end
"""

# Pays an order with its coupons and points. KEYS: order, history, unsplit, paid orders, then 7 per coupon
# (USE_FUNCTIONS), then 9 for the spend (SPEND_FUNCTIONS) if any, then the checkout events stream. ARGV:
# coupons, '1' if points are spent, n payment args, then the payment's (version, history event, paid_at_ms,
# order id, field, value, ...), 17 per coupon, 9 for the spend, then the event's discount fen, points, points'
# fen and the stream's cap. Answers {'paid'}, {'stale'}, {'coupon', index, why, detail} or
# {'points', 0, why, detail}.
PAY_LUA = (
    USE_FUNCTIONS
    + _POINTS_PRELUDE
    + SPEND_FUNCTIONS
    + _SLICE
    + """
local nc, spends, np = tonumber(ARGV[1]), ARGV[2] == '1', tonumber(ARGV[3])
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[4] then return {'stale'} end
local parts, k, a = {}, 5, 4 + np
for i = 1, nc do
  local K, A = slice(KEYS, k, 7), slice(ARGV, a, 17)
  local stop, ctx = use_check(K, A)
  if stop then return {'coupon', i - 1, stop[1], text(stop[2])} end
  parts[i] = {K, A, ctx}
  k, a = k + 7, a + 17
end
local SK, SA, lots
if spends then
  SK, SA = slice(KEYS, k, 9), slice(ARGV, a, 9)
  local stop
  stop, lots = spend_check(SK, SA)
  if stop then return {'points', 0, stop[1], text(stop[2])} end
end
-- Every check is made: writes from here on.
redis.call('HSET', KEYS[1], unpack(ARGV, 8, 3 + np))
redis.call('RPUSH', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[7])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[7])
for _, p in ipairs(parts) do use_write(p[1], p[2], p[3]) end
if spends then spend_write(SK, SA, lots) end
-- The payment's redemptions and points for analytics (the cockpit's heat maps), capped: an outbox entry
-- written with the payment, so it is there exactly when the payment is.
local o, n = redis.call('HMGET', KEYS[1], 'merchant_id', 'pickup_lat', 'pickup_lng'), #ARGV
redis.call('XADD', KEYS[#KEYS], 'MAXLEN', '~', ARGV[n], '*', 'o', ARGV[7], 'm', o[1] or '', 'lat', o[2] or '',
  'lng', o[3] or '', 'c', nc, 'd', ARGV[n - 3], 'p', ARGV[n - 2], 'pf', ARGV[n - 1], 't', ARGV[6])
return {'paid'}
"""
)

# Refunds an order and gives back its coupons and points. KEYS: the refund's 9 (REFUND_FUNCTIONS), 7 per
# coupon (ROLLBACK_FUNCTIONS), 7 for the spend (REFUND_SPEND_FUNCTIONS) if any. ARGV: n refund args, coupons,
# '1' if points were spent, the refund's args, 7 per coupon, 4 for the spend. A coupon with nothing to give
# back (rolled back before, by a caller or the follower) or a spend given back before is passed over.
# Answers the refund's outcome, then on 'refunded' the codes rolled back.
REFUND_LUA = (
    REFUND_FUNCTIONS
    + ROLLBACK_FUNCTIONS
    + _POINTS_PRELUDE
    + REFUND_SPEND_FUNCTIONS
    + _SLICE
    + """
local nr, nc, spent = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
local RK, RA = slice(KEYS, 1, 9), slice(ARGV, 4, nr)
local stop, refund = refund_check(RK, RA)
if stop then return stop end
local parts, k, a = {}, 10, 4 + nr
for i = 1, nc do
  local K, A = slice(KEYS, k, 7), slice(ARGV, a, 7)
  local skip, ctx = rollback_check(K, A)
  if not skip then table.insert(parts, {K, A, ctx}) end
  k, a = k + 7, a + 7
end
local SK, SA, given
if spent then
  SK, SA = slice(KEYS, k, 9), slice(ARGV, a, 4)
  local skip
  skip, given = refund_spend_check(SK, SA)
  if skip then given = nil end
end
-- Every check is made: writes from here on.
refund_write(RK, RA, refund)
local out = {'refunded'}
for _, p in ipairs(parts) do
  rollback_write(p[1], p[2], p[3])
  table.insert(out, p[2][2])
end
if given then refund_spend_write(SK, SA, given) end
return out
"""
)

# Why a coupon's part of a payment was refused, as the caller reads it.
_COUPON_REFUSALS = {
    "lock_expired": "its lock on the order expired: lock it again",
    "not_locked": "is not locked to this order",
    "locked_elsewhere": "is locked for another order",
    "redeemed": "is already redeemed",
    "other_member": "is a coupon of another member",
    "discount_changed": "its lock no longer holds the discount the order was created with",
    "no_coupon": "is not a coupon of this merchant",
    "clash": "was redeemed for this order under another body",
}


def funder_account(funded_by: Funder, partner_id: str) -> str:
    """The ledger account that bears a coupon's discount besides the merchant ('' for the merchant)."""
    if funded_by is Funder.PLATFORM:
        return f"platform:{PLATFORM_ID}"
    if funded_by is Funder.PARTNER:
        return f"merchant:{partner_id}"
    return ""


def request_violations(new: NewOrder) -> list[FieldViolation]:
    """What is wrong with an order's checkout fields on their own (before anything is read)."""
    out: list[FieldViolation] = []
    if (new.coupon_codes or new.points) and not new.customer_id:
        out.append(FieldViolation("customer_id", "required with coupon_codes or points"))
    if len(new.coupon_codes) > MAX_COUPONS_PER_ORDER:
        out.append(FieldViolation("coupon_codes", f"at most {MAX_COUPONS_PER_ORDER} entries"))
    seen: dict[str, int] = {}
    for i, code in enumerate(new.coupon_codes[:MAX_COUPONS_PER_ORDER]):
        normal = normalize(code) or code  # the same coupon written with dashes or in lower case repeats too
        if normal in seen:
            out.append(FieldViolation(f"coupon_codes[{i}]", f"repeats coupon_codes[{seen[normal]}]"))
        seen.setdefault(normal, i)
    if not 0 <= new.points <= MAX_SPEND_POINTS:
        out.append(FieldViolation("points", f"must be within [0, {MAX_SPEND_POINTS}]"))
    if new.points and (v := id_violation("points_programme_id", new.points_programme_id)):
        out.append(v)
    if not new.points and new.points_programme_id:
        out.append(FieldViolation("points_programme_id", "only with points"))
    return out


def with_normal_codes(new: NewOrder) -> NewOrder:
    """The order with its coupon codes as stored (dashes and case away), so that a retry written another way
    is the same body."""
    return replace(new, coupon_codes=tuple(normalize(c) or c for c in new.coupon_codes))


class Checkout:
    """The coupons and points of orders, in the order center's scripts."""

    def __init__(self, client: aioredis.Redis, clock: Clock, coupons: Coupons, loyalty: Loyalty) -> None:
        self._redis = client
        self.clock = clock
        self.coupons = coupons
        self.loyalty = loyalty
        self.events_key = MoneyKeys().checkout_events
        self._pay = LuaScript(PAY_LUA)
        self._refund = LuaScript(REFUND_LUA)

    async def price(self, new: NewOrder, caller: str) -> tuple[tuple[CheckoutCoupon, ...], int]:
        """The order's coupons with their discounts and the worth of its points, checked against what Redis
        holds now (nothing is written). INVALID_ARGUMENT naming the field: a code that is no coupon of the
        merchant (NOT_FOUND), another member's coupon, one not locked to this order (or whose lock expired),
        a lock for another amount than the coupons before it leave, a discount that leaves nothing to pay,
        points beyond the member's balance."""
        if bad := request_violations(new):
            raise InvalidArgument(bad)
        left, delivery_left = new.total_fen, new.delivery_fee_fen
        priced: list[CheckoutCoupon] = []
        for i, text in enumerate(new.coupon_codes):
            field = f"coupon_codes[{i}]"
            coupon, campaign = await self.coupons.checkout_coupon(text, caller, new.merchant_id, field)
            if coupon.member_id != new.customer_id:
                raise InvalidArgument.field(field, f"coupon {coupon.code} is a coupon of another member")
            if coupon.state is not CouponState.LOCKED or coupon.order_id != new.order_id:
                raise InvalidArgument.field(
                    field, f"coupon {coupon.code} is not locked to order {new.order_id} (or its lock expired)"
                )
            base, what = left, f"the {left} fen the coupons before it leave"
            if campaign.item_ids:
                base = min(scoped_fen(new, campaign.item_ids), left)
                what = f"the {base} fen of the order's lines of its items"
                if base <= 0:
                    raise InvalidArgument.field(
                        field, f"coupon {coupon.code} is for items {', '.join(campaign.item_ids)[:80]}: no line of "
                        "the order is one of them",
                    )  # fmt: skip
            expected = campaign.discount_fen(base, min(delivery_left, base))
            if coupon.discount_fen != expected:
                raise InvalidArgument.field(
                    field,
                    f"coupon {coupon.code}'s lock holds {coupon.discount_fen} fen off; applied to {what}, it takes "
                    f"{expected}: lock it with order_amount_fen {base}",
                )
            if expected >= left:
                raise InvalidArgument.field(
                    field, f"takes {expected} fen off the {left} fen left: the customer must pay at least 1 fen"
                )
            priced.append(CheckoutCoupon(coupon.code, campaign.campaign_id, expected,
                                         funder_account(campaign.funded_by, campaign.partner_id)))  # fmt: skip
            left -= expected
            if campaign.kind is DiscountKind.FREE_DELIVERY:
                delivery_left -= expected
        points_fen = 0
        if new.points:
            programme = await self.loyalty.programme(new.points_programme_id, field="points_programme_id")
            if new.merchant_id not in programme.merchant_ids:
                raise InvalidArgument.field(
                    "points_programme_id", f"merchant {new.merchant_id} is not in programme {programme.programme_id}"
                )
            points_fen = new.points * programme.point_value_fen
            if points_fen >= left:
                raise InvalidArgument.field(
                    "points", f"worth {points_fen} fen of the {left} fen left: the customer must pay at least 1 fen"
                )
            balance = await self.loyalty.balance(programme.programme_id, new.customer_id)
            if balance.available < new.points:
                raise InvalidArgument.field(
                    "points", f"member {new.customer_id} has {balance.available} points available, not {new.points}"
                )
        return tuple(priced), points_fen

    async def pay(self, keys: Sequence[str], pay_args: Sequence[str | int], order: Order) -> bool:
        """Runs the payment script; False if the order changed meanwhile (read again). FAILED_PRECONDITION
        naming the field when a coupon or the points can no longer pay (nothing changed)."""
        spec = order.spec
        now_ms = self.clock.now_ms()
        all_keys, args = list(keys), [len(order.coupons), "1" if spec.points else "0", len(pay_args), *pay_args]
        for c in order.coupons:
            k, a = await self.coupons.redeem_lock_call(
                c.code, c.campaign_id, spec.order_id, c.discount_fen, spec.customer_id, spec.total_fen,
                spec.delivery_fee_fen, now_ms,
            )  # fmt: skip
            all_keys += k
            args += a
        if spec.points:
            k, a = await self.loyalty.spend_call(
                spec.points_programme_id, spec.customer_id, spec.merchant_id, spec.points, spend_key(spec.order_id),
                spec.order_id, now_ms,
            )  # fmt: skip
            all_keys += k
            args += a
        discount = sum(c.discount_fen for c in order.coupons)
        all_keys.append(self.events_key)
        args += [discount, spec.points, order.points_fen, CHECKOUT_EVENTS_KEPT]
        reply = await self._pay(self._redis, all_keys, args)
        status = str(reply[0])
        if status == "stale":
            return False
        if status == "coupon":
            i, why, detail = int(reply[1]), str(reply[2]), str(reply[3])
            what = _COUPON_REFUSALS.get(why, why)
            if why == "discount_changed":
                what += f" ({detail} fen, not {order.coupons[i].discount_fen})"
            raise FailedPrecondition(f"coupon_codes[{i}]: coupon {order.coupons[i].code} {what}")
        if status == "points":
            why, detail = str(reply[2]), str(reply[3])
            if why == "insufficient":
                raise FailedPrecondition(
                    f"points: member {spec.customer_id} has {detail} points available, not {spec.points}"
                )
            raise FailedPrecondition(f"points: the spend of order {spec.order_id} was made with another body")
        return True

    async def tell_paid(self, order: Order) -> None:
        """Tells the coupons' observers (alliance attribution) of the order's redemptions, after the payment and
        on its retries (their change is idempotent), while each coupon is still redeemed for the order: a
        retry after a cancel must not credit a redemption that was given back."""
        for c in order.coupons:
            coupon = await self.coupons.coupon(c.code)
            if coupon.state is CouponState.REDEEMED and coupon.order_id == order.order_id:
                await self.coupons.tell_redeemed(c.code, order.order_id, order.spec.total_fen)

    async def refund(
        self, keys: Sequence[str], refund_args: Sequence[str | int], order: Order, give_back: bool
    ) -> list[str]:
        """Runs the refund script, with the order's coupons and points given back when give_back (a cancel,
        a rejection or a refund of all that is left); returns the refund script's reply."""
        spec = order.spec
        now_ms = self.clock.now_ms()
        coupons = order.coupons if give_back else ()
        spent = give_back and spec.points > 0
        all_keys, args = list(keys), [len(refund_args), len(coupons), "1" if spent else "0", *refund_args]
        for c in coupons:
            k, a = await self.coupons.rollback_call(c.code, c.campaign_id, spec.order_id, now_ms)
            all_keys += k
            args += a
        if spent:
            k, a = await self.loyalty.refund_spend_call(
                spec.points_programme_id, spec.customer_id, spend_key(spec.order_id), now_ms
            )
            all_keys += k
            args += a
        # The coupons' observers are told by CheckoutFollower, on this call and on its retries.
        return [str(x) for x in await self._refund(self._redis, all_keys, args)]


def scoped_fen(new: NewOrder, item_ids: Sequence[str]) -> int:
    """What the order's lines of these items cost: the base of a coupon scoped to them (an order without
    catalogue lines has none)."""
    scope = set(item_ids)
    return sum(x.unit_price_fen * x.quantity for x in new.lines if x.item_id in scope)


def spend_key(order_id: str) -> str:
    """The key of the spend that pays for an order ('#' starts no caller's key)."""
    return f"#checkout:{order_id}"
