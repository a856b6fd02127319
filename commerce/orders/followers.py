"""What follows an order's money besides the ledger: loyalty points earned on it, alliance offers it triggers
(and the member aggregates its refunds take back), coupons and points used with its id outside its checkout
(given back when it is cancelled, rejected or refunded in full).

The order center tells each follower an order as it stands after a payment, a completion, a refund, a
cancellation or a rejection, on first attempts and on retries alike: a follower's change is idempotent on
the order's state, so a retried call finishes what a failure interrupted (as the split and the hand-over
to dispatch are). A follower that fails for want of Redis makes the call fail after the order's own change
was stored (the retry finishes it); one that refuses the order (its points were recorded for another
body through SyncOrder) is logged, and the payment, step or refund stands.
"""

from __future__ import annotations

import logging
from typing import Protocol

from alliance import Alliances
from commerce.orders.flow import FINAL, OrderStatus
from commerce.orders.models import Order
from core.errors import InvalidArgument
from coupons import Coupons, CouponState
from loyalty import Loyalty, OrderState

log = logging.getLogger("tongcheng.orders")


class OrderFollower(Protocol):
    async def order_changed(self, order: Order) -> None:
        """Brings the follower in line with the order (idempotent)."""
        ...


class LoyaltyFollower:
    """Points follow orders: pending once paid, available once completed, reversed in proportion to refunds."""

    def __init__(self, loyalty: Loyalty) -> None:
        self.loyalty = loyalty

    async def order_changed(self, order: Order) -> None:
        spec = order.spec
        if not spec.customer_id or order.paid_fen <= 0:
            return  # nobody to credit, or nothing paid
        # An order that ended without the goods or the service earns nothing, even where the merchant kept
        # money (a booking's deposit on a late cancel or a no-show): its points are reversed as if refunded.
        ended_unserved = order.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.NO_SHOW)
        refunded_fen = order.paid_fen if ended_unserved else order.refunded_fen
        if order.status is not OrderStatus.COMPLETED and order.status is not OrderStatus.PAID and not refunded_fen:
            return  # steps between payment and completion change nothing for points
        state = OrderState.COMPLETED if order.status is OrderStatus.COMPLETED else OrderState.PAID
        try:
            await self.loyalty.sync_order(
                spec.order_id, spec.merchant_id, spec.customer_id, state, order.paid_fen, refunded_fen
            )
        except InvalidArgument as exc:
            log.error("points of order %s not synced: %s", spec.order_id, exc, extra={"order_id": spec.order_id})


class AllianceFollower:
    """Partner offers follow orders: a paid order (still standing) or a completed one at an alliance merchant
    issues the partner coupons its offers give the member, once per offer and order; a refund takes the order
    back out of the member's aggregates (in proportion; wholly when refunded in full)."""

    def __init__(self, alliances: Alliances) -> None:
        self.alliances = alliances

    async def order_changed(self, order: Order) -> None:
        spec = order.spec
        if not spec.customer_id or order.paid_fen <= 0:
            return
        if order.refunded_fen:
            await self.alliances.order_refunded(
                spec.order_id, spec.merchant_id, spec.customer_id, order.paid_fen - order.refunded_fen
            )
        completed = order.status is OrderStatus.COMPLETED
        if not completed and (order.status is not OrderStatus.PAID or order.status in FINAL):
            return  # issued at payment (PAID) and completion; cancelled, rejected or refunded orders issue nothing
        await self.alliances.order_event(
            spec.order_id, spec.merchant_id, spec.customer_id, order.paid_fen - order.refunded_fen, order.paid_at_ms,
            completed, place=(spec.dropoff_lat, spec.dropoff_lng),
        )  # fmt: skip


# Where an order ends without the customer keeping anything: its coupons and points go back.
GIVEN_BACK = frozenset({OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.REFUNDED})


class CheckoutFollower:
    """Coupons locked or redeemed and points spent with an order's id outside its own checkout (a counter's
    RedeemCoupon, SpendPoints naming the order, the locks of an unpaid order) go back when the order is
    cancelled, rejected or refunded in full: each coupon rolled back, each spend given back, idempotently, in
    the call that ended the order, after its script. What the order named at creation is taken in its payment
    and given back in its refund's own script (commerce.orders.checkout); by the time this follower runs those
    are no longer held by the order, and the checkout's spend (key `#checkout:<order>`) is left to that script.
    A partial refund keeps them."""

    def __init__(self, coupons: Coupons, loyalty: Loyalty) -> None:
        self.coupons = coupons
        self.loyalty = loyalty

    async def order_changed(self, order: Order) -> None:
        if order.status not in GIVEN_BACK:
            return
        await self.coupons.release_order(order.spec.merchant_id, order.order_id)
        await self.loyalty.release_order(order.spec.merchant_id, order.order_id)
        for c in order.coupons:  # the checkout's, rolled back in the refund's script: tell the observers
            coupon = await self.coupons.coupon(c.code)
            if coupon.state is CouponState.CLAIMED:  # not since locked or redeemed for another order
                await self.coupons.tell_rolled_back(c.code)
