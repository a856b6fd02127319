"""Alliances over Redis: partner offers issued on orders at a source merchant, attribution of their
redemptions and commissions, member aggregates for segments, contribution reports.

The order center tells alliances each paid order (as it tells loyalty); for every offer of that merchant
whose trigger the order has reached, whose partner is near enough to the order's place (by H3 cells,
`alliance.cells`) and whose segment admits the member,
the partner's coupon is claimed for the member (idempotent on offer and order) and attributed to the
offer. Coupons tell alliances of every redemption and rollback: a redemption of an attributed coupon
credits the source merchant `commission_bp` of the order amount, a rollback claws it back. Every step is
one idempotent script, so a retried call finishes what a failure interrupted.

    TongchengError (core.errors) as raised here:
     ├── InvalidArgument      a bad field; an id reused with another body
     ├── NotFound             an unknown alliance, offer campaign or member
     └── FailedPrecondition   a merchant already in another alliance, an offer whose merchants are not
                              partners of the alliance
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict

import redis.asyncio as aioredis

from alliance import _scripts
from alliance.cells import CellIndex
from alliance.keys import AllianceKeys
from alliance.models import Alliance, MemberAggregates, Offer, OfferContribution, Trigger
from core.clock import Clock
from core.errors import FailedPrecondition, InvalidArgument, NotFound
from core.localtime import DEFAULT_ZONE, local_datetime
from core.membership import MembershipCache
from core.validation import ids_violations
from coupons import Coupons
from settlement.daily import RUN_GRACE_MS
from settlement.days import CST_OFFSET_MS, DAY_MS, business_day, parse_day
from settlement.ledger import LuaScript, entries_of_posting
from settlement.reconcile import Difference
from settlement.transfers import ALLIANCE_COMMISSION, Transfers

log = logging.getLogger("tongcheng.alliance")
BASIS_POINTS = 10_000


def _check(violations: list) -> None:  # type: ignore[type-arg]
    if violations:
        raise InvalidArgument(violations)


class Alliances:
    def __init__(
        self, client: aioredis.Redis, clock: Clock, coupons: Coupons, keys: AllianceKeys | None = None
    ) -> None:
        self._redis = client
        self.clock = clock
        self.coupons = coupons
        self.keys = keys or AllianceKeys()
        self._alliances: dict[str, Alliance] = {}  # immutable once stored
        self._offers: dict[str, Offer] = {}
        self._partners: dict[str, str] = {}  # offer -> its campaign's merchant (immutable)
        self._cells: dict[str, CellIndex] = {}  # alliance -> where its merchants are
        self._membership = MembershipCache()  # which alliance a merchant is in, read once per process
        self._create = LuaScript(_scripts.CREATE_ALLIANCE)
        self._create_offer = LuaScript(_scripts.CREATE_OFFER)
        self._record = LuaScript(_scripts.RECORD_ORDER)
        self._issued = LuaScript(_scripts.ISSUED)
        self._redeemed = LuaScript(_scripts.REDEEMED)
        self._rolled_back = LuaScript(_scripts.ROLLED_BACK)
        self._transfers = Transfers(client, clock)

    # Alliances and offers --------------------------------------------------------------------

    async def create_alliance(self, alliance: Alliance) -> tuple[Alliance, bool]:
        _check(alliance.violations())
        stored = Alliance(alliance.alliance_id, alliance.merchants, alliance.commission_bp, self.clock.now_ms())
        ids = [m.merchant_id for m in alliance.merchants]
        reply = await self._create(
            self._redis,
            [self.keys.alliance(alliance.alliance_id), self.keys.merchants],
            [alliance.alliance_id, alliance.fingerprint(), stored.to_json(), *ids],
        )
        if reply[0] == "clash":
            raise InvalidArgument.field(
                "alliance.alliance_id", f"alliance {alliance.alliance_id} exists with another body"
            )
        if reply[0] == "merchant_taken":
            raise FailedPrecondition(f"merchant {ids[int(reply[1])]} already belongs to alliance {reply[2]}")
        if reply[0] == "created":
            self._membership.joined(ids, alliance.alliance_id)
        return await self.alliance(alliance.alliance_id), reply[0] == "created"

    async def alliance(self, alliance_id: str, field: str = "alliance_id") -> Alliance:
        _check(ids_violations(**{field: alliance_id}))
        known = self._alliances.get(alliance_id)
        if known is None:
            body = await self._redis.hget(self.keys.alliance(alliance_id), "body")
            if body is None:
                raise NotFound(f"no alliance {alliance_id}")
            known = self._alliances[alliance_id] = Alliance.from_json(body)
        return known

    async def create_offer(self, offer: Offer) -> tuple[Offer, bool]:
        _check(offer.violations())
        alliance = await self.alliance(offer.alliance_id, "offer.alliance_id")
        campaign, _, _ = await self.coupons.campaign(offer.campaign_id)
        partner = campaign.merchant_id
        if alliance.merchant(offer.source_merchant_id) is None or alliance.merchant(partner) is None:
            raise FailedPrecondition(
                f"offer {offer.offer_id}: {offer.source_merchant_id} and {partner} must both be in {offer.alliance_id}"
            )
        if partner == offer.source_merchant_id:
            raise FailedPrecondition(f"offer {offer.offer_id} would send {partner} its own customers")
        reply = await self._create_offer(
            self._redis,
            [self.keys.offer(offer.offer_id), self.keys.offers_of(offer.source_merchant_id)],
            [offer.fingerprint(), offer.to_json(), offer.offer_id],
        )
        if reply[0] == "clash":
            raise InvalidArgument.field("offer.offer_id", f"offer {offer.offer_id} exists with another body")
        return offer, reply[0] == "created"

    async def _offer(self, offer_id: str) -> Offer:
        known = self._offers.get(offer_id)
        if known is None:
            body = await self._redis.hget(self.keys.offer(offer_id), "body")
            if body is None:
                raise NotFound(f"no offer {offer_id}")
            known = self._offers[offer_id] = Offer.from_json(body)
        return known

    # Orders (the order center's follower) ----------------------------------------------------

    async def order_event(
        self, order_id: str, merchant_id: str, member_id: str, paid_fen: int, paid_at_ms: int, completed: bool,
        place: tuple[float, float] | None = None,
    ) -> list[str]:  # fmt: skip
        """A paid order at merchant_id (still standing) or completed: counts a completed order in the member's
        aggregates, then issues the coupons of the merchant's offers the order triggers, to partners near the
        order's place (the member's drop-off; None: the merchant's own place). Returns the codes issued (or
        issued before, on a retry)."""
        alliance_id = await self._membership.group_of(merchant_id, lambda m: self._redis.hget(self.keys.merchants, m))
        if alliance_id is None:
            return []
        alliance = await self.alliance(alliance_id)
        here = alliance.merchant(merchant_id)
        assert here is not None
        if completed:
            hour = local_datetime(paid_at_ms, DEFAULT_ZONE).hour
            await self._record(
                self._redis,
                [self.keys.counted(alliance_id, member_id), self.keys.member(alliance_id, member_id)],
                [order_id, paid_fen, hour, here.category, "1"],
            )
        aggregates = await self.segment(alliance_id, member_id, must_exist=False)
        index = self._cells.get(alliance_id)
        if index is None:
            index = self._cells[alliance_id] = CellIndex((m.merchant_id, m.lat, m.lng) for m in alliance.merchants)
        lat, lng = place if place and place != (0.0, 0.0) else (here.lat, here.lng)
        near: dict[int, set[str]] = {}  # an offer's distance -> the partners within it
        codes = []
        for offer_id in sorted(await self._redis.smembers(self.keys.offers_of(merchant_id))):
            offer = await self._offer(offer_id)
            if offer.trigger is Trigger.COMPLETED and not completed:
                continue
            if not offer.segment.admits(aggregates):
                continue
            try:
                partner = await self._partner(offer)
                if alliance.merchant(partner) is None:
                    continue
                if offer.max_distance_m:
                    d = offer.max_distance_m
                    if d not in near:
                        near[d] = index.near(lat, lng, d)
                    if partner not in near[d]:
                        continue
                coupon, _ = await self.coupons.claim(offer.campaign_id, member_id, f"offer:{offer_id}:{order_id}")
            except (FailedPrecondition, NotFound) as exc:  # the campaign ran out, ended, or the member has its fill
                log.info("offer %s not issued for order %s: %s", offer_id, order_id, exc)
                continue
            await self._issued(
                self._redis,
                [self.keys.attribution(coupon.code), self.keys.offer(offer_id)],
                [offer_id, merchant_id, member_id, order_id],
            )
            codes.append(coupon.code)
        return codes

    async def order_refunded(self, order_id: str, merchant_id: str, member_id: str, kept_fen: int) -> bool:
        """A refund of an order (kept_fen: what is left of its payment): takes it out of the member's aggregates
        in proportion, wholly at 0 (idempotent; an order not counted changes nothing). Whether this changed them."""
        alliance_id = await self._membership.group_of(merchant_id, lambda m: self._redis.hget(self.keys.merchants, m))
        if alliance_id is None:
            return False
        reply = await self._record(
            self._redis,
            [self.keys.counted(alliance_id, member_id), self.keys.member(alliance_id, member_id)],
            [order_id, kept_fen, 0, "", "0"],
        )
        return int(reply) == 2

    async def _partner(self, offer: Offer) -> str:
        """The merchant whose coupon the offer gives (its campaign's; read once per process)."""
        partner = self._partners.get(offer.offer_id)
        if partner is None:
            campaign, _, _ = await self.coupons.campaign(offer.campaign_id)
            partner = self._partners[offer.offer_id] = campaign.merchant_id
        return partner

    # Coupons (their observer) ----------------------------------------------------------------

    async def coupon_redeemed(self, code: str, order_id: str, amount_fen: int) -> None:
        offer_id = await self._redis.hget(self.keys.attribution(code), "offer")
        if offer_id is None:
            return
        offer = await self._offer(offer_id)
        alliance = await self.alliance(offer.alliance_id)
        campaign, _, _ = await self.coupons.campaign(offer.campaign_id)
        commission = amount_fen * alliance.commission_bp // BASIS_POINTS  # rounded down: never over the rule
        now_ms = self.clock.now_ms()
        day, _ = business_day(now_ms)
        k = self.keys
        await self._redeemed(
            self._redis,
            [k.attribution(code), k.offer(offer_id), k.customers(offer_id), k.commissions(alliance.alliance_id, day),
             k.commission_log(alliance.alliance_id, day)],
            [order_id, amount_fen, commission, campaign.merchant_id, now_ms],
        )  # fmt: skip

    async def coupon_rolled_back(self, code: str) -> None:
        offer_id = await self._redis.hget(self.keys.attribution(code), "offer")
        if offer_id is None:
            return
        offer = await self._offer(offer_id)
        now_ms = self.clock.now_ms()
        day, _ = business_day(now_ms)
        k = self.keys
        await self._rolled_back(
            self._redis,
            [k.attribution(code), k.offer(offer_id), k.customers(offer_id), k.commissions(offer.alliance_id, day),
             k.commission_log(offer.alliance_id, day)],
            [now_ms],
        )  # fmt: skip

    # Commissions into the ledger -------------------------------------------------------------

    async def run_commissions(self, alliance_id: str, day: str) -> tuple[list[tuple[str, str, int]], str, str, bool]:
        """Posts a past business day's commissions, netted per pair, into the settlement ledger, once:
        (transfers as (creditor, debtor, fen), posting id, the day it was posted on, whether this call posted)."""
        day_no = parse_day("business_day", day)
        await self.alliance(alliance_id)
        if self.clock.now_ms() < (day_no + 1) * DAY_MS - CST_OFFSET_MS + RUN_GRACE_MS:
            raise FailedPrecondition(f"{day} can be posted from 00:05 CST the next day on (T+1)")
        posting_id, posted_day, now = await self._transfers.post_day(
            self.keys.commissions_posted(alliance_id), self.keys.commissions(alliance_id, day), day,
            f"commission:{alliance_id}:{day}", ALLIANCE_COMMISSION, 1, f"alliance:{alliance_id}",
        )  # fmt: skip
        return await self.transfers(alliance_id, day), posting_id, posted_day, now

    async def transfers(self, alliance_id: str, day: str) -> list[tuple[str, str, int]]:
        net: dict[tuple[str, str], int] = {}
        for pair, fen in (await self._redis.hgetall(self.keys.commissions(alliance_id, day))).items():
            creditor, _, debtor = pair.partition("|")
            a, b = sorted((creditor, debtor))
            net[(a, b)] = net.get((a, b), 0) + (int(fen) if (creditor, debtor) == (a, b) else -int(fen))
        return [(a, b, n) if n > 0 else (b, a, -n) for (a, b), n in sorted(net.items()) if n]

    async def reconcile(self) -> list[Difference]:
        """Every posted day's commission posting against its commissions recomputed one by one from the day's
        log: what Reconcile adds for alliances."""
        diffs = []
        prefix = self.keys.prefix
        async for key in self._redis.scan_iter(match=f"{prefix}commissioned:*", count=1_000):
            alliance_id = key[len(prefix) + len("commissioned:") :]
            for day, raw in (await self._redis.hgetall(key)).items():
                expected: dict[str, int] = defaultdict(int)
                for event in await self._redis.lrange(self.keys.commission_log(alliance_id, day), 0, -1):
                    source, partner, fen, *_ = json.loads(event)
                    expected[f"merchant:{source}"] += int(fen)
                    expected[f"merchant:{partner}"] -= int(fen)
                posted: dict[str, int] = defaultdict(int)
                for e in entries_of_posting(raw) if raw else []:
                    posted[e.receiver] += e.amount_fen
                for receiver in sorted(expected.keys() | posted.keys()):
                    if expected.get(receiver, 0) != posted.get(receiver, 0):
                        diffs.append(
                            Difference(f"commission:{alliance_id}:{day}", receiver, "commission_mismatch",
                                       expected.get(receiver, 0), posted.get(receiver, 0), "log of the day vs posting")
                        )  # fmt: skip
        return diffs

    # Reports ---------------------------------------------------------------------------------

    async def segment(self, alliance_id: str, member_id: str, must_exist: bool = True) -> MemberAggregates:
        _check(ids_violations(alliance_id=alliance_id, member_id=member_id))
        await self.alliance(alliance_id)
        h = await self._redis.hgetall(self.keys.member(alliance_id, member_id))
        if must_exist and not h:
            raise NotFound(f"no orders of member {member_id} in alliance {alliance_id}")
        # Counts per hour and category, so that a refunded order leaves them (`hours` is the older bit mask).
        categories = tuple(sorted(f[2:] for f, n in h.items() if f.startswith("c:") and int(n) > 0))
        hours = int(h.get("hours", 0))
        for f, n in h.items():
            if f.startswith("h:") and int(n) > 0:
                hours |= 1 << int(f[2:])
        return MemberAggregates(int(h.get("orders", 0)), int(h.get("spend", 0)), hours, categories)

    async def contribution(self, alliance_id: str, merchant_id: str) -> list[OfferContribution]:
        _check(ids_violations(alliance_id=alliance_id, merchant_id=merchant_id))
        alliance = await self.alliance(alliance_id)
        if alliance.merchant(merchant_id) is None:
            raise NotFound(f"merchant {merchant_id} is not in alliance {alliance_id}")
        out = []
        for offer_id in sorted(await self._redis.smembers(self.keys.offers_of(merchant_id))):
            async with self._redis.pipeline(transaction=True, shard_hint=self.keys.offer(offer_id)) as pipe:
                pipe.hmget(self.keys.offer(offer_id), "issued", "redeemed", "sales", "commission")
                pipe.hvals(self.keys.customers(offer_id))
                (issued, redeemed, sales, commission), per_member = await pipe.execute()
            customers = sum(1 for n in per_member if int(n) > 0)
            out.append(OfferContribution(offer_id, int(issued), int(redeemed), customers, int(sales), int(commission)))
        return out
