"""Redis key names of loyalty points.

Each name is a kind, then the ids it is about joined by `|`, a character no id may hold: so no id,
whatever colons it carries, can make one key name another's (a member called "u1:lots" is not u1's lots).

Every key carries the `{money}` hash tag of the order center and the settlement ledger, so that on a
Redis Cluster they share one slot: a points change is one script over the member's keys, and checkout
can later spend points and pay an order in one step (the money slot is split by programme and order
together when it is partitioned, docs/cluster.md).
"""

from __future__ import annotations


class LoyaltyKeys:
    def __init__(self, tag: str = "money") -> None:
        self.prefix = f"tc:{{{tag}}}:loyalty:"

    def programme(self, programme_id: str) -> str:
        """hash: the programme's body (JSON) and fingerprint."""
        return f"{self.prefix}prog:{programme_id}"

    @property
    def merchants(self) -> str:
        """hash: merchant -> the programme it belongs to (at most one)."""
        return f"{self.prefix}merchants"

    def member(self, programme_id: str, member_id: str) -> str:
        """hash: available, pending, debt, counters, sign-in streak, referral state."""
        return f"{self.prefix}m:{programme_id}|{member_id}"

    def lots(self, programme_id: str, member_id: str) -> str:
        """hash: lot id -> "left|points|expires ms|issuer|source" (kept when empty: spends name them)."""
        return f"{self.prefix}lots:{programme_id}|{member_id}"

    def live(self, programme_id: str, member_id: str) -> str:
        """zset: lots with points left, by expiry (ties by lot id: creation order)."""
        return f"{self.prefix}live:{programme_id}|{member_id}"

    def history(self, programme_id: str, member_id: str) -> str:
        """list: the member's entries (JSON), oldest first: append-only."""
        return f"{self.prefix}hist:{programme_id}|{member_id}"

    def order(self, programme_id: str, order_id: str) -> str:
        """hash: an order's points: member, merchant, paid, earn rate, state, refunded, kept, lot."""
        return f"{self.prefix}o:{programme_id}|{order_id}"

    def expiries(self, programme_id: str) -> str:
        """zset: "member|lot" by expiry, for every lot with points left: what ExpirePoints walks."""
        return f"{self.prefix}exp:{programme_id}"

    def spends(self, programme_id: str) -> str:
        """hash: spend idempotency key -> "fingerprint|spend JSON" (immutable)."""
        return f"{self.prefix}spends:{programme_id}"

    def order_spends(self, programme_id: str, order_id: str) -> str:
        """set: the keys of the spends that paid for an order (given back when the order is cancelled)."""
        return f"{self.prefix}order_spends:{programme_id}|{order_id}"

    def spends_refunded(self, programme_id: str) -> str:
        """hash: spend key -> when it was given back."""
        return f"{self.prefix}spends_back:{programme_id}"

    def referral_codes(self, programme_id: str) -> str:
        """hash: referral code -> member."""
        return f"{self.prefix}codes:{programme_id}"

    def clearing(self, programme_id: str, day: str) -> str:
        """hash: "creditor|debtor" -> points spent at creditor that debtor issued, that local day (net of
        spends given back)."""
        return f"{self.prefix}clear:{programme_id}|{day}"

    def claims(self, programme_id: str, day: str) -> str:
        """list: each claim of that day as posted (JSON): what the clearing hash sums."""
        return f"{self.prefix}claims:{programme_id}|{day}"

    def cleared(self, programme_id: str) -> str:
        """hash: local day -> the settlement posting (JSON) its netted claims were posted as ("" if none)."""
        return f"{self.prefix}cleared:{programme_id}"
