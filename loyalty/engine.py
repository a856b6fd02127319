"""Loyalty points over Redis: programmes, points following orders, spends, sign-in, referrals, expiry.

Every change is read → check → one script (`loyalty._scripts`), whose checks all run before its first
write, so a refused change leaves Redis as it was. Every change is idempotent: an order's points follow
the order monotonically (a view older than the one applied changes nothing), a spend is keyed by the
caller's idempotency key (same key, other body: INVALID_ARGUMENT), a sign-in by the member's local day,
a referral by the member, a spend's refund by the spend.

    TongchengError (core.errors) as raised here:
     ├── InvalidArgument      a bad field, a key reused with another body, an order that disagrees with
     │                        what was recorded for it
     ├── NotFound             an unknown programme, member or spend
     └── FailedPrecondition   not enough points, self-referral, a loop, a second referrer, a member who
                              already completed an order, a merchant outside the programme, a reward
                              whose coupon cannot be given
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections import defaultdict
from collections.abc import Sequence

import redis.asyncio as aioredis

from core.clock import Clock
from core.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, Unavailable
from core.localtime import end_of_month_after, local_day, zone
from core.membership import MembershipCache
from core.validation import id_violation, ids_violations
from coupons import Coupons
from loyalty import _scripts
from loyalty.keys import LoyaltyKeys
from loyalty.models import (
    MAX_SPEND_POINTS,
    Balance,
    Claim,
    Expiry,
    ExpiryRun,
    HistoryEntry,
    OrderPoints,
    OrderState,
    Programme,
    SignIn,
    Spend,
)
from settlement.days import parse_day
from settlement.keys import MoneyKeys
from settlement.ledger import LuaScript, entries_of_posting
from settlement.reconcile import Difference
from settlement.transfers import POINTS_CLEARING, Transfers

# A script answers 'stale' when what the caller read moved before it ran; the caller reads again this often.
MAX_ATTEMPTS = 20
# Referral chains are walked this deep for loops; a deeper chain is refused (no real one is this deep).
MAX_REFERRAL_DEPTH = 32
MAX_ORDER_FEN = 1_000_000_000
MAX_PAGE = 500
DEFAULT_PAGE = 50
EXPIRE_BATCH = 1_000
MAX_EXPIRIES_SHOWN = 100
# A local day is cleared no sooner than this after it ends (as settlement's T+1 run): a spend made in its last
# moment has landed by then.
CLEARING_GRACE_MS = 5 * 60 * 1000
# Crockford base32 without the check symbols: referral codes a person can read out.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _check(violations: Sequence[FieldViolation | None]) -> None:
    bad = [v for v in violations if v]
    if bad:
        raise InvalidArgument(bad)


def _fingerprint(*parts: object) -> str:
    return hashlib.blake2b(json.dumps(parts, separators=(",", ":")).encode(), digest_size=12).hexdigest()


class Loyalty:
    """Loyalty programmes and their members' points."""

    def __init__(
        self,
        client: aioredis.Redis,
        clock: Clock,
        keys: LoyaltyKeys | None = None,
        money: MoneyKeys | None = None,
        coupons: Coupons | None = None,
    ) -> None:
        self._redis = client
        self.clock = clock
        self.keys = keys or LoyaltyKeys()
        self.money = money or MoneyKeys()  # the settlement ledger the clearing posts into
        self.coupons = coupons or Coupons(client, clock)  # what rewards give
        self._programmes: dict[str, Programme] = {}  # immutable once stored
        self._membership = MembershipCache()  # which programme a merchant is in, read once per process
        self._create = LuaScript(_scripts.CREATE_PROGRAMME)
        self._sync = LuaScript(_scripts.SYNC_ORDER)
        self._spend = LuaScript(_scripts.SPEND)
        self._refund_spend = LuaScript(_scripts.REFUND_SPEND)
        self._sign_in = LuaScript(_scripts.SIGN_IN)
        self._code = LuaScript(_scripts.REFERRAL_CODE)
        self._apply_referral = LuaScript(_scripts.APPLY_REFERRAL)
        self._expire_member = LuaScript(_scripts.EXPIRE_MEMBER)
        self._read_member = LuaScript(_scripts.READ_MEMBER)
        self._transfers = Transfers(client, clock, self.money)

    def _member_keys(self, programme_id: str, member_id: str) -> list[str]:
        k = self.keys
        return [
            k.member(programme_id, member_id), k.lots(programme_id, member_id), k.live(programme_id, member_id),
            k.history(programme_id, member_id), k.expiries(programme_id),
        ]  # fmt: skip

    # Programmes ------------------------------------------------------------------------------

    async def create_programme(self, programme: Programme) -> tuple[Programme, bool]:
        _check(programme.violations())
        stored = programme.__class__(**{**programme.__dict__, "created_ms": self.clock.now_ms()})
        k = self.keys
        reply = await self._create(
            self._redis,
            [k.programme(programme.programme_id), k.merchants],
            [programme.programme_id, programme.fingerprint(), stored.to_json(), *programme.merchant_ids],
        )
        if reply[0] == "clash":
            raise InvalidArgument.field(
                "programme.programme_id", f"programme {programme.programme_id} exists with another body"
            )
        if reply[0] == "merchant_taken":
            raise FailedPrecondition(
                f"merchant {programme.merchant_ids[int(reply[1])]} already belongs to programme {reply[2]}"
            )
        if reply[0] == "exists":
            return await self.programme(programme.programme_id), False
        self._programmes[programme.programme_id] = stored
        self._membership.joined(programme.merchant_ids, programme.programme_id)
        return stored, True

    async def programme(self, programme_id: str, field: str = "programme_id") -> Programme:
        _check([id_violation(field, programme_id)])
        known = self._programmes.get(programme_id)
        if known is not None:
            return known
        body = await self._redis.hget(self.keys.programme(programme_id), "body")
        if body is None:
            raise NotFound(f"no programme {programme_id}")
        programme = Programme.from_json(body)
        self._programmes[programme_id] = programme
        return programme

    async def programme_of_merchant(self, merchant_id: str) -> Programme | None:
        programme_id = await self._membership.group_of(merchant_id, lambda m: self._redis.hget(self.keys.merchants, m))
        return None if programme_id is None else await self.programme(programme_id)

    # Orders ----------------------------------------------------------------------------------

    async def sync_order(
        self, order_id: str, merchant_id: str, member_id: str, state: OrderState, paid_fen: int, refunded_fen: int
    ) -> tuple[OrderPoints | None, bool]:
        """Brings the member's points for an order in line with it; (None, False) when the merchant belongs
        to no programme. Returns the order's points and whether anything changed."""
        violations = ids_violations(order_id=order_id, merchant_id=merchant_id, member_id=member_id)
        if state not in (OrderState.PAID, OrderState.COMPLETED):
            violations.append(FieldViolation("state", "must be PAID or COMPLETED"))
        if not 1 <= paid_fen <= MAX_ORDER_FEN:
            violations.append(FieldViolation("paid_fen", f"must be within [1, {MAX_ORDER_FEN}]"))
        elif not 0 <= refunded_fen <= paid_fen:
            violations.append(FieldViolation("refunded_fen", "must be within [0, paid_fen]"))
        _check(violations)
        programme = await self.programme_of_merchant(merchant_id)
        if programme is None:
            return None, False
        pid = programme.programme_id
        now_ms = self.clock.now_ms()
        expires_ms = end_of_month_after(now_ms, programme.time_zone, programme.expiry_months)
        for _ in range(MAX_ATTEMPTS):
            referrer = await self._redis.hget(self.keys.member(pid, member_id), "ref_by") or ""
            reply = await self._sync(
                self._redis,
                [
                    self.keys.order(pid, order_id),
                    *self._member_keys(pid, member_id),
                    *self._member_keys(pid, referrer or member_id),
                ],
                [
                    now_ms, order_id, merchant_id, member_id, int(state), paid_fen, refunded_fen, programme.earn_bp,
                    expires_ms, referrer, programme.referrer_points, programme.referee_points,
                ],
            )  # fmt: skip
            if reply[0] == "mismatch":
                raise InvalidArgument.field(
                    "order_id", f"order {order_id} was recorded with another member, merchant or paid amount"
                )
            if reply[0] != "stale":
                return await self.order_points(pid, order_id), reply[0] == "changed"
        raise Unavailable(f"member {member_id} changed too often")

    async def order_points(self, programme_id: str, order_id: str) -> OrderPoints:
        h = await self._redis.hgetall(self.keys.order(programme_id, order_id))
        if not h:
            raise NotFound(f"no points recorded for order {order_id}")
        paid, bp = int(h["paid"]), int(h["bp"])
        gross = paid * bp // 10_000
        kept = int(h.get("kept", gross))
        return OrderPoints(
            order_id, programme_id, h["member"], kept, gross - kept, OrderState(int(h["state"])), int(h["debt"])
        )

    # Spends ----------------------------------------------------------------------------------

    async def spend(
        self, programme_id: str, member_id: str, merchant_id: str, points: int, key: str, order_id: str = ""
    ) -> tuple[Spend, bool, Balance]:
        violations = ids_violations(programme_id=programme_id, member_id=member_id, merchant_id=merchant_id)
        violations += [id_violation("idempotency_key", key), id_violation("order_id", order_id, required=False)]
        if not 1 <= points <= MAX_SPEND_POINTS:
            violations.append(FieldViolation("points", f"must be within [1, {MAX_SPEND_POINTS}]"))
        _check(violations)
        programme = await self.programme(programme_id)
        if merchant_id not in programme.merchant_ids:
            raise FailedPrecondition(f"merchant {merchant_id} is not in programme {programme_id}")
        keys, args = self._spend_args(programme, member_id, merchant_id, points, key, order_id, self.clock.now_ms())
        reply = await self._spend(self._redis, keys, args)
        if reply[0] == "clash":
            raise InvalidArgument.field("idempotency_key", f"already used for another spend in {programme_id}")
        if reply[0] == "insufficient":
            raise FailedPrecondition(f"member {member_id} has {reply[1]} points available, not {points}")
        raw = reply[1].partition("|")[2]
        spend = Spend.from_json(key, raw, refunded=False)
        if reply[0] == "replayed":
            refunded = await self._redis.hexists(self.keys.spends_refunded(programme_id), key)
            spend = Spend.from_json(key, raw, refunded=bool(refunded))
        return spend, reply[0] == "spent", await self.balance(programme_id, member_id)

    # Checkout (commerce.orders.checkout runs these inside the order's own scripts) -----------

    async def spend_call(
        self, programme_id: str, member_id: str, merchant_id: str, points: int, key: str, order_id: str, now_ms: int
    ) -> tuple[list[str], list[str | int]]:
        """Keys and arguments of spend_check/spend_write (SPEND_FUNCTIONS) for a spend paying for an order."""
        programme = await self.programme(programme_id)
        return self._spend_args(programme, member_id, merchant_id, points, key, order_id, now_ms)

    def _spend_args(
        self, programme: Programme, member_id: str, merchant_id: str, points: int, key: str, order_id: str, now_ms: int
    ) -> tuple[list[str], list[str | int]]:
        """Keys and arguments of the spend script: SpendPoints alone, or inside an order's payment."""
        pid = programme.programme_id
        day, _ = local_day(now_ms, programme.time_zone)
        head = json.dumps(
            {"m": member_id, "at": merchant_id, "p": points, "v": points * programme.point_value_fen, "o": order_id,
             "t": now_ms},
            separators=(",", ":"),
        )  # fmt: skip
        k = self.keys
        return (
            [*self._member_keys(pid, member_id), k.spends(pid), k.clearing(pid, day), k.claims(pid, day),
             k.order_spends(pid, order_id)],
            [now_ms, member_id, key, _fingerprint(member_id, merchant_id, points, order_id), merchant_id, points,
             programme.point_value_fen, order_id, head],
        )  # fmt: skip

    async def refund_spend_call(
        self, programme_id: str, member_id: str, key: str, now_ms: int
    ) -> tuple[list[str], list[str | int]]:
        """Keys and arguments of refund_spend_check/refund_spend_write (REFUND_SPEND_FUNCTIONS)."""
        return self._refund_spend_args(await self.programme(programme_id), member_id, key, now_ms)

    def _refund_spend_args(
        self, programme: Programme, member_id: str, key: str, now_ms: int
    ) -> tuple[list[str], list[str | int]]:
        """Keys and arguments of the give-back script: RefundSpend alone, or inside an order's refund."""
        pid = programme.programme_id
        day, _ = local_day(now_ms, programme.time_zone)
        k = self.keys
        return (
            [*self._member_keys(pid, member_id), k.spends(pid), k.spends_refunded(pid), k.clearing(pid, day),
             k.claims(pid, day)],
            [now_ms, member_id, key, programme.point_value_fen],
        )  # fmt: skip

    async def release_order(self, merchant_id: str, order_id: str) -> int:
        """Gives back every spend that paid for an order at the merchant (the order was cancelled, rejected or
        refunded in full); idempotent. Returns the spends given back by this call."""
        programme = await self.programme_of_merchant(merchant_id)
        if programme is None:
            return 0
        pid = programme.programme_id
        given_back = 0
        for key in sorted(await self._redis.smembers(self.keys.order_spends(pid, order_id))):
            if key.startswith("#"):
                continue  # an order's own checkout spend: its cancel or refund script gives it back
            raw = await self._redis.hget(self.keys.spends(pid), key)
            if raw is None:
                continue
            spend = Spend.from_json(key, raw.partition("|")[2], refunded=False)
            if spend.merchant_id != merchant_id:
                continue  # the same order id at another merchant of the programme: not this order
            _, now, _ = await self.refund_spend(pid, spend.member_id, key)
            given_back += now
        return given_back

    async def find_spend(self, programme_id: str, member_id: str, key: str) -> Spend:
        """A member's spend by its key (NOT_FOUND for another member's)."""
        _check(
            [
                *ids_violations(programme_id=programme_id, member_id=member_id),
                id_violation("spend_idempotency_key", key),
            ]
        )
        await self.programme(programme_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self.keys.spends(programme_id), key)
            pipe.hexists(self.keys.spends_refunded(programme_id), key)
            raw, refunded = await pipe.execute()
        spend = None if raw is None else Spend.from_json(key, raw.partition("|")[2], refunded=bool(refunded))
        if spend is None or spend.member_id != member_id:
            raise NotFound(f"no spend {key} of member {member_id} in programme {programme_id}")
        return spend

    async def refund_spend(self, programme_id: str, member_id: str, key: str) -> tuple[Spend, bool, Balance]:
        _check(
            [
                *ids_violations(programme_id=programme_id, member_id=member_id),
                id_violation("spend_idempotency_key", key),
            ]
        )
        programme = await self.programme(programme_id)
        keys, args = self._refund_spend_args(programme, member_id, key, self.clock.now_ms())
        reply = await self._refund_spend(self._redis, keys, args)
        if reply[0] == "no_spend":
            raise NotFound(f"no spend {key} of member {member_id} in programme {programme_id}")
        spend = Spend.from_json(key, reply[1].partition("|")[2], refunded=True)
        return spend, reply[0] == "refunded", await self.balance(programme_id, member_id)

    # Sign-in and referrals -------------------------------------------------------------------

    async def sign_in(self, programme_id: str, member_id: str) -> tuple[SignIn, Balance]:
        _check(ids_violations(programme_id=programme_id, member_id=member_id))
        p = await self.programme(programme_id)
        now_ms = self.clock.now_ms()
        day, day_no = local_day(now_ms, p.time_zone)
        reply = await self._sign_in(
            self._redis,
            self._member_keys(programme_id, member_id),
            [now_ms, member_id, day_no, day, p.signin_points, p.streak_days, p.streak_bonus_points, p.grace_days,
             end_of_month_after(now_ms, p.time_zone, p.expiry_months)],
        )  # fmt: skip
        if reply[0] == "later":
            raise FailedPrecondition(f"member {member_id} signed in on {reply[1]}, after today {day}")
        result = SignIn(reply[1], int(reply[2]), int(reply[3]), reply[0] == "signed")
        return result, await self.balance(programme_id, member_id)

    async def referral_code(self, programme_id: str, member_id: str) -> str:
        _check(ids_violations(programme_id=programme_id, member_id=member_id))
        await self.programme(programme_id)
        for _ in range(MAX_ATTEMPTS):
            # 8 symbols of Crockford base32: 2^40 codes, drawn at random (a taken one is drawn again).
            code = "".join(secrets.choice(_CROCKFORD) for _ in range(8))
            reply = await self._code(
                self._redis,
                [self.keys.member(programme_id, member_id), self.keys.referral_codes(programme_id)],
                [member_id, code],
            )
            if reply[0] == "ok":
                return str(reply[1])
        raise Unavailable("could not draw a free referral code")

    async def apply_referral(self, programme_id: str, member_id: str, code: str) -> tuple[str, bool]:
        violations = ids_violations(programme_id=programme_id, member_id=member_id)
        normal = code.strip().upper()
        if not (len(normal) == 8 and all(c in _CROCKFORD for c in normal)):
            violations.append(FieldViolation("referral_code", "must be 8 characters of Crockford base32"))
        _check(violations)
        await self.programme(programme_id)
        k = self.keys
        for _ in range(MAX_ATTEMPTS):
            referrer = await self._redis.hget(k.referral_codes(programme_id), normal)
            if referrer is None:
                raise NotFound(f"no referral code {normal} in programme {programme_id}")
            chain, ups = [referrer], []
            while True:
                up = await self._redis.hget(k.member(programme_id, chain[-1]), "ref_by") or ""
                ups.append(up)
                if not up or up == member_id or up in chain:
                    break
                if len(chain) >= MAX_REFERRAL_DEPTH:
                    raise FailedPrecondition(f"the referral chain above {referrer} is too deep to check for loops")
                chain.append(up)
            reply = await self._apply_referral(
                self._redis,
                [k.member(programme_id, member_id), k.referral_codes(programme_id),
                 *(k.member(programme_id, c) for c in chain)],
                [member_id, normal, referrer, *ups],
            )  # fmt: skip
            status = reply[0]
            if status == "stale":
                continue
            if status in ("applied", "again"):
                return str(reply[1]), status == "applied"
            raise FailedPrecondition(
                {
                    "self": "a member cannot refer itself",
                    "loop": f"member {member_id} is above {referrer} in its referral chain: a loop",
                    "referred": f"member {member_id} was already referred by {reply[1] if len(reply) > 1 else ''}",
                    "not_new": f"member {member_id} has completed an order: referrals are for new members",
                    "no_code": f"referral code {normal} is gone",
                }.get(status, status)
            )
        raise Unavailable(f"the referral chain of {member_id} changed too often")

    # Reads -----------------------------------------------------------------------------------

    async def balance(self, programme_id: str, member_id: str, must_exist: bool = False) -> Balance:
        _check(ids_violations(programme_id=programme_id, member_id=member_id))
        await self.programme(programme_id)
        now_ms = self.clock.now_ms()
        flat, _live, lots = await self._read_member(self._redis, self._member_keys(programme_id, member_id)[:3], [])
        h = dict(zip(flat[::2], flat[1::2], strict=True))
        if must_exist and not h:
            raise NotFound(f"no member {member_id} in programme {programme_id}")
        due = 0
        by_expiry: dict[int, int] = {}
        for raw in lots:
            left, _, expires, _ = raw.split("|", 3)
            if int(expires) <= now_ms:
                due += int(left)
            elif int(left):
                by_expiry[int(expires)] = by_expiry.get(int(expires), 0) + int(left)
        expiries = tuple(Expiry(t, n) for t, n in sorted(by_expiry.items())[:MAX_EXPIRIES_SHOWN])
        available = int(h.get("avail", 0)) - due
        programme = await self.programme(programme_id)
        unlocked = tuple(r.reward_id for r in programme.rewards if r.points_cost <= available)
        return Balance(
            programme_id, member_id, available, int(h.get("pending", 0)), int(h.get("debt", 0)),
            expiries, int(h.get("streak", 0)), h.get("sname", ""), unlocked,
        )  # fmt: skip

    # Rewards ---------------------------------------------------------------------------------

    async def redeem_reward(
        self, programme_id: str, member_id: str, reward_id: str, key: str
    ) -> tuple[Spend, str, bool, Balance]:
        """Spends the reward's points at its campaign's merchant, then claims the campaign's coupon for the
        member, both idempotent on the key: a retry replays both. A coupon that cannot be given sends the points
        back (the key stays failed). Returns (spend, coupon code, whether this call redeemed, balance)."""
        violations = ids_violations(programme_id=programme_id, member_id=member_id, reward_id=reward_id)
        violations.append(id_violation("idempotency_key", key))
        _check(violations)
        programme = await self.programme(programme_id)
        reward = programme.reward(reward_id)
        if reward is None:
            raise NotFound(f"no reward {reward_id} in programme {programme_id}")
        campaign, _, _ = await self.coupons.campaign(reward.campaign_id)
        if campaign.merchant_id not in programme.merchant_ids:
            raise FailedPrecondition(
                f"reward {reward_id} gives a coupon of {campaign.merchant_id}, not a programme merchant"
            )
        spend_key = f"reward:{key}"
        # The spend's order names the reward, so the same key for another reward is another body: refused.
        spend, created, _ = await self.spend(
            programme_id, member_id, campaign.merchant_id, reward.points_cost, spend_key, f"reward:{reward_id}"
        )
        if spend.refunded:
            raise FailedPrecondition(
                f"reward request {key} failed before and its points were given back: use a new key"
            )
        try:
            coupon, _ = await self.coupons.claim(reward.campaign_id, member_id, f"reward:{programme_id}:{key}")
        except FailedPrecondition as exc:
            await self.refund_spend(programme_id, member_id, spend_key)
            raise FailedPrecondition(
                f"reward {reward_id} cannot be given ({exc}); its points were given back"
            ) from None
        return spend, coupon.code, created, await self.balance(programme_id, member_id)

    async def history(
        self, programme_id: str, member_id: str, page_size: int = 0, page_token: str = ""
    ) -> tuple[list[HistoryEntry], str]:
        """A page of the member's entries, newest first; the token is the index of the next (older) entry."""
        violations = ids_violations(programme_id=programme_id, member_id=member_id)
        if not 0 <= page_size <= MAX_PAGE:
            violations.append(FieldViolation("page_size", f"must be within [0, {MAX_PAGE}]"))
        if page_token and not (page_token.isascii() and page_token.isdigit() and len(page_token) <= 12):
            violations.append(FieldViolation("page_token", "must be a next_page_token from a previous reply"))
        _check(violations)
        await self.programme(programme_id)
        size = page_size or DEFAULT_PAGE
        key = self.keys.history(programme_id, member_id)
        length = await self._redis.llen(key)
        if length == 0 and not await self._redis.exists(self.keys.member(programme_id, member_id)):
            raise NotFound(f"no member {member_id} in programme {programme_id}")
        top = length - 1 if not page_token else int(page_token)
        if top >= length:
            raise InvalidArgument.field("page_token", "must be a next_page_token from a previous reply")
        bottom = max(0, top - size + 1)
        raws = await self._redis.lrange(key, bottom, top) if top >= 0 else []
        entries = [HistoryEntry.from_json(member_id, r) for r in reversed(raws)]
        return entries, (str(bottom - 1) if bottom > 0 else "")

    # Expiry and clearing ---------------------------------------------------------------------

    async def expire(self, programme_id: str) -> ExpiryRun:
        """Expires what is left of the programme's lots past their expiry, member by member (one script each)."""
        await self.programme(programme_id)
        now_ms = self.clock.now_ms()
        due = await self._redis.zrangebyscore(
            self.keys.expiries(programme_id), "-inf", now_ms, start=0, num=EXPIRE_BATCH + 1
        )
        members = sorted({d.rpartition("|")[0] for d in due[:EXPIRE_BATCH]})
        lots = points = 0
        for member_id in members:
            n, total = await self._expire_member(
                self._redis, self._member_keys(programme_id, member_id), [now_ms, member_id]
            )
            lots, points = lots + int(n), points + int(total)
        return ExpiryRun(lots, points, len(due) > EXPIRE_BATCH, members)

    async def clearing(self, programme_id: str, day: str) -> list[Claim]:
        """A local day's claims between merchants, netted per pair (creditor is owed by debtor)."""
        programme = await self.programme(programme_id)
        raw = await self._redis.hgetall(self.keys.clearing(programme_id, day))
        net: dict[tuple[str, str], int] = {}
        for pair, points in raw.items():
            creditor, _, debtor = pair.partition("|")
            a, b = sorted((creditor, debtor))
            sign = 1 if (creditor, debtor) == (a, b) else -1
            net[(a, b)] = net.get((a, b), 0) + sign * int(points)
        claims = []
        for (a, b), points in sorted(net.items()):
            if points == 0:
                continue
            creditor, debtor, n = (a, b, points) if points > 0 else (b, a, -points)
            claims.append(Claim(creditor, debtor, n, n * programme.point_value_fen))
        return claims

    async def run_clearing(self, programme_id: str, day: str) -> tuple[list[Claim], str, str, bool]:
        """Posts a past local day's netted claims into the settlement ledger, once: (claims, posting id,
        the CST business day it was posted on, whether this call posted it)."""
        day_no = parse_day("business_day", day)
        programme = await self.programme(programme_id)
        start = dt.datetime.combine(dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + day_no + 1), dt.time(),
                                    zone(programme.time_zone))  # fmt: skip
        now_ms = self.clock.now_ms()
        if now_ms < int(start.timestamp() * 1000) + CLEARING_GRACE_MS:
            raise FailedPrecondition(f"{day} can be cleared from 00:05 of the next day in {programme.time_zone} on")
        posting_id, posted_day, now = await self._transfers.post_day(
            self.keys.cleared(programme_id), self.keys.clearing(programme_id, day), day,
            f"clearing:{programme_id}:{day}", POINTS_CLEARING, programme.point_value_fen, f"loyalty:{programme_id}",
        )  # fmt: skip
        return await self.clearing(programme_id, day), posting_id, posted_day, now

    # Reconciliation --------------------------------------------------------------------------

    async def reconcile(self) -> list[Difference]:
        """Every member's counters against its history and lots, and every cleared day's posting against
        its claims recomputed one by one from the day's claim list: what Reconcile adds for points."""
        diffs: list[Difference] = []
        prefix = self.keys.prefix
        # Two walks of the keyspace in all (programmes, then every programme's members), as the ledger's own
        # reconciliation walks every posting: a report, not a hot path.
        async for key in self._redis.scan_iter(match=f"{prefix}prog:*", count=1_000):
            diffs += await self._reconcile_clearing(key[len(prefix) + len("prog:") :])
        async for key in self._redis.scan_iter(match=f"{prefix}m:*", count=1_000):
            programme_id, _, member_id = key[len(prefix) + len("m:") :].partition("|")
            diffs += await self._reconcile_member(programme_id, member_id, key)
        return diffs

    async def _reconcile_member(self, programme_id: str, member_id: str, key: str) -> list[Difference]:
        diffs = []
        async with self._redis.pipeline(transaction=True, shard_hint=key) as pipe:
            pipe.hmget(key, "avail", "pending", "debt")
            pipe.lrange(self.keys.history(programme_id, member_id), 0, -1)
            pipe.hvals(self.keys.lots(programme_id, member_id))
            counters, history, lots = await pipe.execute()
        stored = [int(v or 0) for v in counters]
        sums = [0, 0, 0]
        for raw in history:
            entry = json.loads(raw)
            for i in range(3):
                sums[i] += int(entry[2 + i])
        in_lots = sum(int(lot.split("|", 1)[0]) for lot in lots)
        who = f"member:{programme_id}:{member_id}"
        for i, what in enumerate(("available", "pending", "debt")):
            if stored[i] != sums[i]:
                diffs.append(Difference("", who, f"points_{what}_mismatch", sums[i], stored[i], "vs its history"))
            if stored[i] < 0:
                diffs.append(Difference("", who, f"points_{what}_negative", 0, stored[i]))
        if in_lots != stored[0]:
            diffs.append(Difference("", who, "points_lots_mismatch", in_lots, stored[0], "available vs its lots"))
        return diffs

    async def _reconcile_clearing(self, programme_id: str) -> list[Difference]:
        diffs = []
        programme = await self.programme(programme_id)
        for day, raw in (await self._redis.hgetall(self.keys.cleared(programme_id))).items():
            net: dict[str, int] = defaultdict(int)
            for claim in await self._redis.lrange(self.keys.claims(programme_id, day), 0, -1):
                creditor, debtor, points, *_ = json.loads(claim)
                account = f"loyalty:{programme_id}"
                net["merchant:" + creditor] += int(points) * programme.point_value_fen
                net["merchant:" + debtor if debtor else account] -= int(points) * programme.point_value_fen
            posted: dict[str, int] = defaultdict(int)
            for e in entries_of_posting(raw) if raw else []:
                posted[e.receiver] += e.amount_fen
            posting_id = f"clearing:{programme_id}:{day}"
            for receiver in sorted(net.keys() | posted.keys()):
                if net.get(receiver, 0) != posted.get(receiver, 0):
                    diffs.append(
                        Difference(posting_id, receiver, "clearing_mismatch", net.get(receiver, 0),
                                   posted.get(receiver, 0), "claims of the day vs the posting")
                    )  # fmt: skip
        return diffs
