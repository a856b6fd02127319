"""Coupons' value types: a campaign with its budget and validity, a coupon, and the discount rule.

Discounts (integer fen, computed once, at lock or redeem, on the order as the caller states it):

- AMOUNT_OFF (满减): `amount_off_fen` off an order of at least `transaction_minimum_fen` (which is at least
  the amount off, so an order never goes below zero).
- PERCENT_OFF: `floor(order x percent / 100)`, at most `max_discount_fen`: rounded down, so the customer
  never gets more than the percent.
- FREE_DELIVERY: the order's delivery fee, at most `max_discount_fen`.

Stacking: several coupons on one order (at one merchant) apply in the order they were locked, each on the
amount the ones before it left, which the caller states when it locks the next. A coupon of an `exclusive`
campaign stands alone: it is refused on an order that holds another coupon, and while it is held every
other is refused. `max_coupons_per_order` caps how many the order may hold when a coupon of that campaign
joins it. Held means locked (until the lock expires) or redeemed; a rollback lets go.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import asdict, dataclass

from core.errors import FieldViolation
from core.localtime import DEFAULT_ZONE, zone_violation
from core.validation import EARLIEST_MS, id_violation

MAX_ORDER_FEN = 1_000_000_000
MAX_COUPONS = 10_000_000
MAX_PER_MEMBER = 1_000
MAX_BUDGET_FEN = 1_000_000_000_000
MAX_VALIDITY_MS = 2 * 366 * 86_400_000
MINUTES_PER_DAY = 1_440
MAX_STACK = 20


class DiscountKind(enum.StrEnum):
    AMOUNT_OFF = "amount_off"
    PERCENT_OFF = "percent_off"
    FREE_DELIVERY = "free_delivery"


class Funder(enum.StrEnum):
    MERCHANT = "merchant"
    PLATFORM = "platform"
    PARTNER = "partner"


class CouponState(enum.StrEnum):
    CLAIMED = "claimed"
    LOCKED = "locked"
    REDEEMED = "redeemed"


@dataclass(frozen=True)
class Campaign:
    """A coupon campaign: what it takes off, its budget, when and where its coupons are valid, who pays."""

    campaign_id: str
    merchant_id: str
    kind: DiscountKind
    valid_from_ms: int
    valid_until_ms: int
    max_coupons: int
    amount_off_fen: int = 0
    transaction_minimum_fen: int = 0
    discount_percent: int = 0
    max_discount_fen: int = 0
    max_coupons_per_member: int = 1
    max_amount_fen: int = 0  # 0: no limit
    max_redemptions_per_day: int = 0  # 0: no limit
    weekdays_mask: int = 0  # 0: every day
    start_minute: int = 0
    end_minute: int = 0  # both 0: all day
    time_zone: str = DEFAULT_ZONE
    funded_by: Funder = Funder.MERCHANT
    partner_id: str = ""
    exclusive: bool = False
    max_coupons_per_order: int = 0  # 0: no limit
    # The catalogue items the campaign is for (a near-expiry lot's markdown, merchants.Merchants.promote):
    # empty, the whole order. The caller of lock and redeem states the amount of those items.
    item_ids: tuple[str, ...] = ()
    created_ms: int = 0

    def violations(self, prefix: str = "campaign.") -> list[FieldViolation]:
        p = prefix
        out = [
            v
            for v in (
                id_violation(f"{p}campaign_id", self.campaign_id),
                id_violation(f"{p}merchant_id", self.merchant_id),
                id_violation(f"{p}partner_id", self.partner_id, required=self.funded_by is Funder.PARTNER),
                zone_violation(f"{p}time_zone", self.time_zone),
            )
            if v
        ]

        def within(name: str, lo: int, hi: int) -> None:
            value = getattr(self, name)
            if not lo <= value <= hi:
                out.append(FieldViolation(f"{p}{name}", f"must be within [{lo}, {hi}], got {value}"))

        def unset(name: str) -> None:
            if getattr(self, name):
                out.append(FieldViolation(f"{p}{name}", f"must be 0 for a {self.kind.value} campaign"))

        if self.kind is DiscountKind.AMOUNT_OFF:
            within("amount_off_fen", 1, MAX_ORDER_FEN)
            within("transaction_minimum_fen", max(1, self.amount_off_fen), MAX_ORDER_FEN)
            unset("discount_percent")
            unset("max_discount_fen")
        else:
            unset("amount_off_fen")
            within("transaction_minimum_fen", 0, MAX_ORDER_FEN)
            within("max_discount_fen", 1, MAX_ORDER_FEN)
            if self.kind is DiscountKind.PERCENT_OFF:
                within("discount_percent", 1, 100)
            else:
                unset("discount_percent")
        within("max_coupons", 1, MAX_COUPONS)
        within("max_coupons_per_member", 1, MAX_PER_MEMBER)
        within("max_amount_fen", 0, MAX_BUDGET_FEN)
        within("max_redemptions_per_day", 0, MAX_COUPONS)
        within("weekdays_mask", 0, 127)
        within("max_coupons_per_order", 0, MAX_STACK)
        within("start_minute", 0, MINUTES_PER_DAY)
        within("end_minute", 0, MINUTES_PER_DAY)
        if (self.start_minute or self.end_minute) and self.start_minute >= self.end_minute:
            out.append(FieldViolation(f"{p}end_minute", "must be after start_minute"))
        if self.valid_from_ms < EARLIEST_MS:
            out.append(FieldViolation(f"{p}valid_from", "required, not before 2000-01-01"))
        if self.valid_until_ms <= self.valid_from_ms:
            out.append(FieldViolation(f"{p}valid_until", "must be after valid_from"))
        elif self.valid_until_ms - self.valid_from_ms > MAX_VALIDITY_MS:
            out.append(FieldViolation(f"{p}valid_until", "must be within two years of valid_from"))
        if self.funded_by is not Funder.PARTNER and self.partner_id:
            out.append(FieldViolation(f"{p}partner_id", "only for a partner-funded campaign"))
        out += [v for i, item_id in enumerate(self.item_ids) if (v := id_violation(f"{p}item_ids[{i}]", item_id))]
        return out

    def discount_fen(self, order_fen: int, delivery_fee_fen: int) -> int:
        """The discount on an order (0 when the order is below the minimum or there is nothing to take off)."""
        if order_fen < self.transaction_minimum_fen:
            return 0
        if self.kind is DiscountKind.AMOUNT_OFF:
            return min(self.amount_off_fen, order_fen)
        if self.kind is DiscountKind.PERCENT_OFF:
            return min(order_fen * self.discount_percent // 100, self.max_discount_fen)
        return min(delivery_fee_fen, self.max_discount_fen)

    def body(self) -> dict[str, object]:
        d = asdict(self)
        d.pop("created_ms")
        if not self.item_ids:
            d.pop("item_ids")  # so a campaign of the whole order keeps the body (and fingerprint) it always had
        d["kind"], d["funded_by"] = self.kind.value, self.funded_by.value
        return d

    def fingerprint(self) -> str:
        return hashlib.blake2b(json.dumps(self.body(), sort_keys=True).encode(), digest_size=12).hexdigest()

    def to_json(self) -> str:
        return json.dumps({**self.body(), "created_ms": self.created_ms}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Campaign:
        d = json.loads(raw)
        d["kind"], d["funded_by"] = DiscountKind(d["kind"]), Funder(d["funded_by"])
        d["item_ids"] = tuple(d.get("item_ids", ()))
        return cls(**d)


@dataclass(frozen=True)
class Usage:
    claimed: int
    locked: int
    redeemed: int
    amount_used_fen: int
    used_today: int


@dataclass(frozen=True)
class Coupon:
    code: str
    campaign_id: str
    member_id: str
    state: CouponState
    order_id: str = ""
    discount_fen: int = 0
    lock_expires_ms: int = 0
    claimed_ms: int = 0
    redeemed_ms: int = 0

    @classmethod
    def from_redis(cls, code: str, h: dict[str, str], now_ms: int) -> Coupon:
        """A coupon as it stands now: a lock past its expiry is a claimed coupon (its budget is released by
        the next change of the campaign)."""
        state = CouponState(h["state"])
        lock_ms = int(h.get("lock_exp") or 0)
        if state is CouponState.LOCKED and lock_ms <= now_ms:
            return cls(code, h["campaign"], h["member"], CouponState.CLAIMED, claimed_ms=int(h["claimed"]))
        return cls(
            code, h["campaign"], h["member"], state, h.get("order", ""), int(h.get("discount") or 0),
            lock_ms if state is CouponState.LOCKED else 0, int(h["claimed"]), int(h.get("redeemed") or 0),
        )  # fmt: skip
