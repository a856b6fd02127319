"""Coupons (优惠券 · 核销): campaigns with budgets, signed codes, claim, lock, redeem and rollback. No gRPC
below `coupons.api`."""

from coupons.codes import make_code, normalize, qr_payload, verify
from coupons.engine import Coupons
from coupons.keys import CouponKeys
from coupons.models import Campaign, Coupon, CouponState, DiscountKind, Funder, Usage
from coupons.throttle import GuessThrottle

__all__ = [
    "Campaign",
    "Coupon",
    "CouponKeys",
    "CouponState",
    "Coupons",
    "DiscountKind",
    "Funder",
    "GuessThrottle",
    "Usage",
    "make_code",
    "normalize",
    "qr_payload",
    "verify",
]
