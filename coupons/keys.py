"""Redis key names of coupons.

Each name is a kind, then the id it is about: no campaign id, whatever colons it carries, can make one
key name another's (a campaign called "c1:days" is not c1's days).

Every key carries the `{money}` hash tag of the order center and the ledger: on a Redis Cluster they
share one slot, so checkout redeems an order's coupons in the script that pays the order, and a
campaign's budget and its coupons change together in one script.
"""

from __future__ import annotations


class CouponKeys:
    def __init__(self, tag: str = "money") -> None:
        self.prefix = f"tc:{{{tag}}}:coupons:"

    def campaign(self, campaign_id: str) -> str:
        """hash: body (JSON), fingerprint, serial, key (hex), claimed, locked, redeemed, amount (fen used)."""
        return f"{self.prefix}c:{campaign_id}"

    def days(self, campaign_id: str) -> str:
        """hash: local day -> locks and redemptions counted on it."""
        return f"{self.prefix}days:{campaign_id}"

    def members(self, campaign_id: str) -> str:
        """hash: member -> coupons claimed."""
        return f"{self.prefix}members:{campaign_id}"

    def claims(self, campaign_id: str) -> str:
        """hash: claim idempotency key -> "fingerprint|code"."""
        return f"{self.prefix}claims:{campaign_id}"

    def locks(self, campaign_id: str) -> str:
        """zset: locked codes by lock expiry (a lock past it is released by the campaign's next change)."""
        return f"{self.prefix}locks:{campaign_id}"

    def held(self, campaign_id: str) -> str:
        """hash: locked code -> "discount fen|day": the budget its lock holds."""
        return f"{self.prefix}held:{campaign_id}"

    def order(self, merchant_id: str, order_id: str) -> str:
        """hash: code -> "exclusive (0/1)|lock expiry ms (0: redeemed)": the coupons an order holds (stacking)."""
        return f"{self.prefix}order:{merchant_id}|{order_id}"

    def member(self, member_id: str) -> str:
        """zset, every score 0: "<claimed ms, 15 digits>|<code>" per coupon the member claimed (by lex: in claim
        order), written by the claim script: ListMemberCoupons pages through it."""
        return f"{self.prefix}member:{member_id}"

    def coupon(self, code: str) -> str:
        """hash: campaign, member, state, order, discount, lock expiry, day, claimed and redeemed ms."""
        return f"{self.prefix}code:{code}"

    @property
    def serials(self) -> str:
        """hash: campaign serial (the first four characters of its codes) -> campaign id."""
        return f"{self.prefix}serials"

    @property
    def serial_seq(self) -> str:
        return f"{self.prefix}serials:seq"

    @property
    def requests(self) -> str:
        """hash: "r|<merchant>|<request no>" (redeem) or "b|..." (rollback) -> "fingerprint|code"."""
        return f"{self.prefix}requests"
