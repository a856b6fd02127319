"""Redis key names of the money slot: orders, the ledger, rules, runs and alerts.

A key names its kind first, then the id it is about (`order_history:<id>`, not `order:<id>:history`): ids may
hold ':', so an id must never be able to spell another key's kind ("x:history" is an order, not x's history).

Every key carries the `{money}` hash tag, so the order center's orders and the settlement ledger share
one Redis Cluster slot: one Lua script can refund an order and post its reversing entries together.
"""

from __future__ import annotations


class MoneyKeys:
    def __init__(self, tag: str = "money") -> None:
        self.prefix = f"tc:{{{tag}}}:"

    # The order center
    def order(self, order_id: str) -> str:
        return f"{self.prefix}order:{order_id}"

    def order_claim(self, order_id: str) -> str:
        """string, expiring: the token of the CreateOrder call deciding which chain branch serves a new order
        (chain overflow): concurrent first attempts wait for it, so one branch only reserves stock."""
        return f"{self.prefix}order_claim:{order_id}"

    def order_history(self, order_id: str) -> str:
        return f"{self.prefix}order_history:{order_id}"

    def order_refunds(self, order_id: str) -> str:
        return f"{self.prefix}order_refunds:{order_id}"

    @property
    def orders_paid(self) -> str:
        """zset: every paid order by payment time (the reconciliation's list of orders)."""
        return f"{self.prefix}orders:paid"

    def orders_of_merchant(self, merchant_id: str) -> str:
        """zset: the merchant's orders by creation time, the last `MERCHANT_ORDERS_KEPT_DAYS` (its dashboard)."""
        return f"{self.prefix}orders:merchant:{merchant_id}"

    @property
    def checkout_events(self) -> str:
        """stream: one entry per payment that used coupons or points (order, merchant, counter, discount, points),
        appended by the payment's script and capped: the ops cockpit's redemption and points heat maps."""
        return f"{self.prefix}checkout:events"

    @property
    def orders_in_delivery(self) -> str:
        """set: orders handed to dispatch whose delivery is not finished."""
        return f"{self.prefix}orders:in_delivery"

    # The ledger
    def split(self, order_id: str) -> str:
        return f"{self.prefix}split:{order_id}"

    def split_postings(self, order_id: str) -> str:
        return f"{self.prefix}split_postings:{order_id}"

    @property
    def split_keys(self) -> str:
        """hash: SplitOrders idempotency key -> order id."""
        return f"{self.prefix}split_keys"

    @property
    def unsplit(self) -> str:
        """zset: paid orders whose split is not posted (waiting, or halted), by payment time."""
        return f"{self.prefix}unsplit"

    @property
    def balances(self) -> str:
        """hash: receiver -> sum of its entries (fen)."""
        return f"{self.prefix}balances"

    @property
    def subsidised(self) -> str:
        """hash: funder -> sum of its subsidy entries (fen, 0 or negative): what of its balance subsidies took."""
        return f"{self.prefix}subsidised"

    def day_postings(self, day: str) -> str:
        return f"{self.prefix}day:{day}:postings"

    @property
    def posting_days(self) -> str:
        """zset: business days with postings, scored by day number."""
        return f"{self.prefix}days"

    # Rules
    def rules(self, scope: str) -> str:
        return f"{self.prefix}rules:{scope}"

    @property
    def rules_generation(self) -> str:
        return f"{self.prefix}rules:generation"

    # Alerts
    @property
    def alerts(self) -> str:
        return f"{self.prefix}alerts"

    @property
    def alerts_raised(self) -> str:
        return f"{self.prefix}alerts:raised"

    # Daily runs
    def run(self, day: str) -> str:
        return f"{self.prefix}run:{day}"

    @property
    def last_run_day(self) -> str:
        return f"{self.prefix}runs:last"

    @property
    def carry(self) -> str:
        """hash: receiver -> what it still owes from earlier runs (0 or negative fen)."""
        return f"{self.prefix}carry"

    @property
    def invoice_seq(self) -> str:
        return f"{self.prefix}invoices:seq"
