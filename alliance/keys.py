"""Redis key names of alliances: the `{money}` hash tag of the coupons they issue and the ledger, ids after
the kind, joined by `|` (which no id may hold)."""

from __future__ import annotations


class AllianceKeys:
    def __init__(self, tag: str = "money") -> None:
        self.prefix = f"tc:{{{tag}}}:alliance:"

    def alliance(self, alliance_id: str) -> str:
        """hash: body (JSON), fingerprint."""
        return f"{self.prefix}a:{alliance_id}"

    @property
    def merchants(self) -> str:
        """hash: merchant -> its alliance (at most one)."""
        return f"{self.prefix}merchants"

    def offer(self, offer_id: str) -> str:
        """hash: body (JSON), fingerprint, and the offer's counters: issued, redeemed, sales, commission."""
        return f"{self.prefix}offer:{offer_id}"

    def offers_of(self, merchant_id: str) -> str:
        """set: offers whose source is the merchant."""
        return f"{self.prefix}offers_of:{merchant_id}"

    def customers(self, offer_id: str) -> str:
        """hash: member -> redemptions through the offer (net of rollbacks)."""
        return f"{self.prefix}customers:{offer_id}"

    def member(self, alliance_id: str, member_id: str) -> str:
        """hash: orders, spend, h:<hour of day> and c:<category> order counts at the alliance's merchants."""
        return f"{self.prefix}m:{alliance_id}|{member_id}"

    def counted(self, alliance_id: str, member_id: str) -> str:
        """hash: order -> "spend|hour|category" as it counts in the member's aggregates now (0: refunded)."""
        return f"{self.prefix}counted_orders:{alliance_id}|{member_id}"

    def attribution(self, code: str) -> str:
        """hash: offer, source merchant, member, order issued on, redeemed (0/1), order redeemed on, sales,
        commission of the current redemption."""
        return f"{self.prefix}attr:{code}"

    def commissions(self, alliance_id: str, day: str) -> str:
        """hash: "creditor|debtor" -> commission fen of that business day (CST), claw-backs negative."""
        return f"{self.prefix}commission:{alliance_id}|{day}"

    def commission_log(self, alliance_id: str, day: str) -> str:
        """list: each commission and claw-back of the day as recorded (JSON): what the hash sums."""
        return f"{self.prefix}commission_log:{alliance_id}|{day}"

    def commissions_posted(self, alliance_id: str) -> str:
        """hash: business day -> the settlement posting its commissions were posted as ("" if none)."""
        return f"{self.prefix}commissioned:{alliance_id}"
