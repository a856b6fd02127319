"""Coupons over Redis: campaigns, claims, locks at checkout, redemption (核销) and rollback.

Every change is read → check → one script (`coupons._scripts`) that checks the campaign's budget and
limits and reserves them in the same step, so no interleaving of concurrent calls can overrun them.
Claims are idempotent on the caller's key per campaign, redemptions and rollbacks on the merchant's
request number; locking a coupon again for its order extends the lock.

    TongchengError (core.errors) as raised here:
     ├── InvalidArgument      a bad field; a key or request number reused with another body
     ├── NotFound             an unknown campaign; a code that is not a coupon of this merchant (whether
     │                        it exists elsewhere is never said)
     ├── FailedPrecondition   outside validity, budget or limit spent, below the minimum, locked for
     │                        another order, already redeemed, nothing to roll back, a rollback of a
     │                        checkout's redemption while its order stands
     └── ResourceExhausted    too many failed code lookups by this caller
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import Protocol

import redis.asyncio as aioredis

from core.clock import Clock
from core.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, ResourceExhausted, Unavailable
from core.localtime import local_day, weekday_and_minute
from core.validation import id_violation, ids_violations
from coupons import _scripts, codes
from coupons.keys import CouponKeys
from coupons.models import MAX_ORDER_FEN, Campaign, Coupon, CouponState, Usage
from coupons.throttle import GuessThrottle
from settlement.ledger import LuaScript


class CouponObserver(Protocol):
    """Told of each redemption and rollback after it is stored (on retries too: it must be idempotent)."""

    async def coupon_redeemed(self, code: str, order_id: str, amount_fen: int) -> None: ...

    async def coupon_rolled_back(self, code: str) -> None: ...


DEFAULT_LOCK_MINUTES = 15
MAX_LOCK_MINUTES = 60
MAX_ATTEMPTS = 20
MAX_PAGE = 200  # ListMemberCoupons
DEFAULT_PAGE = 50
# A page token is the last entry of the member's index on the page before: "<claimed ms, 15 digits>|<code>".
_PAGE_TOKEN = re.compile(r"[0-9]{15}\|[0-9A-Z*~$=]{16}")


def _check(violations: list[FieldViolation | None]) -> None:
    bad = [v for v in violations if v]
    if bad:
        raise InvalidArgument(bad)


def release_request(order_id: str, code: str) -> str:
    """The request number of the rollback that lets a coupon go when its order ended (`Coupons.release_order`)."""
    return f"#release:{order_id}:{code}"


def _fingerprint(*parts: object) -> str:
    return hashlib.blake2b(json.dumps(parts, separators=(",", ":")).encode(), digest_size=12).hexdigest()


class Coupons:
    def __init__(
        self,
        client: aioredis.Redis,
        clock: Clock,
        keys: CouponKeys | None = None,
        throttle: GuessThrottle | None = None,
    ) -> None:
        self._redis = client
        self.clock = clock
        self.keys = keys or CouponKeys()
        self.throttle = throttle or GuessThrottle()
        self.observers: list[CouponObserver] = []  # alliances' attribution
        self._campaigns: dict[str, tuple[Campaign, int, bytes]] = {}  # immutable once stored
        self._by_serial: dict[int, str] = {}
        self._create = LuaScript(_scripts.CREATE_CAMPAIGN)
        self._claim = LuaScript(_scripts.CLAIM)
        self._use = LuaScript(_scripts.USE)
        self._rollback = LuaScript(_scripts.ROLLBACK)

    # Campaigns -------------------------------------------------------------------------------

    async def create_campaign(self, campaign: Campaign) -> tuple[Campaign, bool]:
        _check(list(campaign.violations()))
        stored = Campaign(**{**campaign.__dict__, "created_ms": self.clock.now_ms()})
        k = self.keys
        reply = await self._create(
            self._redis,
            [k.campaign(campaign.campaign_id), k.serials, k.serial_seq],
            [campaign.fingerprint(), stored.to_json(), secrets.token_hex(32), campaign.campaign_id,
             codes.MAX_CAMPAIGN_SERIAL],
        )  # fmt: skip
        if reply[0] == "clash":
            raise InvalidArgument.field(
                "campaign.campaign_id", f"campaign {campaign.campaign_id} exists with another body"
            )
        if reply[0] == "full":
            raise FailedPrecondition("every campaign serial is taken")
        found, _, _ = await self._campaign(campaign.campaign_id)
        return found, reply[0] == "created"

    async def _campaign(self, campaign_id: str, field: str = "campaign_id") -> tuple[Campaign, int, bytes]:
        """(campaign, serial, key); NOT_FOUND for an unknown one."""
        _check([id_violation(field, campaign_id)])
        known = self._campaigns.get(campaign_id)
        if known is not None:
            return known
        body, serial, key = await self._redis.hmget(self.keys.campaign(campaign_id), "body", "serial", "key")
        if body is None:
            raise NotFound(f"no campaign {campaign_id}")
        known = (Campaign.from_json(body), int(serial), bytes.fromhex(key))
        self._campaigns[campaign_id] = known
        self._by_serial[int(serial)] = campaign_id
        return known

    async def campaign(self, campaign_id: str) -> tuple[Campaign, Usage, str]:
        """The campaign, its usage and its verification key (hex)."""
        campaign, _, key = await self._campaign(campaign_id)
        day, _ = local_day(self.clock.now_ms(), campaign.time_zone)
        async with self._redis.pipeline(transaction=True, shard_hint=self.keys.campaign(campaign_id)) as pipe:
            pipe.hmget(self.keys.campaign(campaign_id), "claimed", "locked", "redeemed", "amount")
            pipe.hget(self.keys.days(campaign_id), day)
            (claimed, locked, redeemed, amount), today = await pipe.execute()
        return campaign, Usage(int(claimed), int(locked), int(redeemed), int(amount), int(today or 0)), key.hex()

    # Claims ----------------------------------------------------------------------------------

    async def claim(self, campaign_id: str, member_id: str, key: str) -> tuple[Coupon, bool]:
        _check([*ids_violations(campaign_id=campaign_id, member_id=member_id), id_violation("idempotency_key", key)])
        campaign, serial, secret = await self._campaign(campaign_id)
        now_ms = self.clock.now_ms()
        fp = _fingerprint(campaign_id, member_id)
        k = self.keys
        if now_ms >= campaign.valid_until_ms:
            raise FailedPrecondition(f"campaign {campaign_id} has ended")
        for _ in range(MAX_ATTEMPTS):
            code = codes.make_code(secret, serial, secrets.randbits(codes.SERIAL_BITS))
            reply = await self._claim(
                self._redis,
                [
                    k.campaign(campaign_id),
                    k.members(campaign_id),
                    k.claims(campaign_id),
                    k.coupon(code),
                    k.member(member_id),
                ],
                [now_ms, campaign_id, member_id, key, fp, code, campaign.max_coupons, campaign.max_coupons_per_member],
            )
            status = reply[0]
            if status == "taken":
                continue  # two draws of one serial: draw again
            if status == "clash":
                raise InvalidArgument.field("idempotency_key", f"already used for another claim of {campaign_id}")
            if status == "exhausted":
                raise FailedPrecondition(f"campaign {campaign_id} has given out all {campaign.max_coupons} coupons")
            if status == "member_limit":
                raise FailedPrecondition(
                    f"member {member_id} has claimed {campaign.max_coupons_per_member} coupons of {campaign_id}"
                )
            return await self.coupon(str(reply[1])), status == "claimed"
        raise Unavailable("could not draw a free coupon serial")

    # Lookups ---------------------------------------------------------------------------------

    async def find(self, text: str, caller: str, merchant_id: str | None = None, field: str = "code") -> Coupon:
        """The coupon a code names, for a caller (throttled on failures); with merchant_id, only a coupon of
        that merchant's campaigns — any other code, existing or not, is the same NOT_FOUND."""
        code, _ = await self._resolve(text, caller, merchant_id, field)
        raw = await self._redis.hgetall(self.keys.coupon(code))
        if not raw:
            self._unknown(code, caller, merchant_id)
        return Coupon.from_redis(code, raw, self.clock.now_ms())

    async def _resolve(
        self, text: str, caller: str, merchant_id: str | None, field: str = "code"
    ) -> tuple[str, Campaign]:
        """The normalized code and its campaign, checked offline (the signature, the merchant): no Redis
        read but the campaign's, once per process. Unknown or foreign codes count against the caller."""
        if not text:
            raise InvalidArgument.field(field, "required")
        wait_s = self.throttle.retry_after_s(caller)
        if wait_s:
            raise ResourceExhausted("too many unknown coupon codes: wait before trying again", wait_s)
        code = codes.normalize(text)
        if code is None:
            self.throttle.failed(caller)
            raise InvalidArgument.field(field, "is not a coupon code (16 characters of Crockford base32 with a check)")
        serial = codes.campaign_serial_of(code)
        campaign_id = self._by_serial.get(serial) or await self._redis.hget(self.keys.serials, str(serial))
        if campaign_id is not None:
            campaign, _, secret = await self._campaign(campaign_id)
            if codes.verify(code, secret) and (merchant_id is None or campaign.merchant_id == merchant_id):
                return code, campaign
        self._unknown(code, caller, merchant_id)
        raise AssertionError("unreachable")

    def _unknown(self, code: str, caller: str, merchant_id: str | None) -> None:
        self.throttle.failed(caller)
        where = f" at merchant {merchant_id}" if merchant_id else ""
        raise NotFound(f"no coupon {code}{where}")

    async def member_coupons(
        self, member_id: str, page_size: int = 0, page_token: str = ""
    ) -> tuple[list[tuple[Coupon, Campaign]], str]:
        """A page of the member's coupons, the latest claimed first, each with its campaign, and the next page's
        token ('' after the last)."""
        bad = [id_violation("member_id", member_id)]
        if not 0 <= page_size <= MAX_PAGE:
            bad.append(FieldViolation("page_size", f"must be within [0, {MAX_PAGE}]"))
        if page_token and not _PAGE_TOKEN.fullmatch(page_token):
            bad.append(FieldViolation("page_token", "must be a next_page_token from a previous reply"))
        _check(bad)
        size = page_size or DEFAULT_PAGE
        top = f"({page_token}" if page_token else "+"
        entries = await self._redis.zrevrangebylex(self.keys.member(member_id), top, "-", start=0, num=size + 1)
        page = entries[:size]
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry in page:
                pipe.hgetall(self.keys.coupon(entry.partition("|")[2]))
            raws = await pipe.execute()
        now_ms, out = self.clock.now_ms(), []
        for entry, raw in zip(page, raws, strict=True):
            coupon = Coupon.from_redis(entry.partition("|")[2], raw, now_ms)
            campaign, _, _ = await self._campaign(coupon.campaign_id)
            out.append((coupon, campaign))
        return out, page[-1] if len(entries) > size else ""

    async def coupon(self, code: str) -> Coupon:
        raw = await self._redis.hgetall(self.keys.coupon(code))
        if not raw:
            raise NotFound(f"no coupon {code}")
        return Coupon.from_redis(code, raw, self.clock.now_ms())

    # Lock, redeem, roll back -----------------------------------------------------------------

    @staticmethod
    def _unusable(campaign: Campaign, now_ms: int, discount_fen: int) -> str:
        """Why a claimed coupon of the campaign may not be used now on this order ('' if it may)."""
        if not campaign.valid_from_ms <= now_ms < campaign.valid_until_ms:
            return "not_valid_now"
        weekday, minute = weekday_and_minute(now_ms, campaign.time_zone)
        if campaign.weekdays_mask and not campaign.weekdays_mask & (1 << weekday):
            return "not_valid_weekday"
        if (campaign.start_minute or campaign.end_minute) and not campaign.start_minute <= minute < campaign.end_minute:
            return "not_valid_hour"
        return "" if discount_fen > 0 else "no_discount"

    def _order_violations(self, merchant_id: str, order_id: str, amount: int, delivery: int) -> list[FieldViolation]:
        out = ids_violations(merchant_id=merchant_id, order_id=order_id)
        if not 1 <= amount <= MAX_ORDER_FEN:
            out.append(FieldViolation("order_amount_fen", f"must be within [1, {MAX_ORDER_FEN}]"))
        elif not 0 <= delivery <= amount:
            out.append(FieldViolation("delivery_fee_fen", "must be within [0, order_amount_fen]"))
        return out

    async def lock(
        self, text: str, merchant_id: str, order_id: str, amount_fen: int, delivery_fee_fen: int, ttl_minutes: int,
        caller: str,
    ) -> Coupon:  # fmt: skip
        bad = self._order_violations(merchant_id, order_id, amount_fen, delivery_fee_fen)
        if not 0 <= ttl_minutes <= MAX_LOCK_MINUTES:
            bad.append(FieldViolation("ttl_minutes", f"must be within [0, {MAX_LOCK_MINUTES}]"))
        _check(bad)
        code, campaign = await self._resolve(text, caller, merchant_id)
        now_ms = self.clock.now_ms()
        expires_ms = now_ms + (ttl_minutes or DEFAULT_LOCK_MINUTES) * 60_000
        _, coupon = await self._use_script(
            code, campaign, "lock", order_id, amount_fen, delivery_fee_fen, now_ms, expires_ms, "", "", caller
        )
        return coupon

    async def redeem(
        self, text: str, merchant_id: str, order_id: str, amount_fen: int, delivery_fee_fen: int, request_no: str,
        caller: str,
    ) -> tuple[Coupon, bool]:  # fmt: skip
        """核销: one script, one round trip to Redis (profiled: the read before and after were two more)."""
        bad = self._order_violations(merchant_id, order_id, amount_fen, delivery_fee_fen)
        bad.append(id_violation("request_no", request_no))
        _check(bad)
        code, campaign = await self._resolve(text, caller, merchant_id)
        fp = _fingerprint(order_id, amount_fen, delivery_fee_fen)
        status, coupon = await self._use_script(
            code, campaign, "redeem", order_id, amount_fen, delivery_fee_fen, self.clock.now_ms(), 0,
            f"r|{merchant_id}|{request_no}", fp, caller,
        )  # fmt: skip
        if coupon.state is CouponState.REDEEMED and coupon.order_id == order_id:  # not a replay of one rolled back
            for observer in self.observers:
                await observer.coupon_redeemed(code, order_id, amount_fen)
        return coupon, status != "replayed"

    async def _use_script(
        self, code: str, campaign: Campaign, mode: str, order_id: str, amount_fen: int, delivery_fee_fen: int,
        now_ms: int, expires_ms: int, request: str, fp: str, caller: str,
    ) -> tuple[str, Coupon]:  # fmt: skip
        discount = campaign.discount_fen(amount_fen, delivery_fee_fen)
        day, _ = local_day(now_ms, campaign.time_zone)
        k, cid = self.keys, campaign.campaign_id
        reply = await self._use(
            self._redis,
            [k.campaign(cid), k.days(cid), k.locks(cid), k.held(cid), k.coupon(code), k.requests,
             k.order(campaign.merchant_id, order_id)],
            [now_ms, code, order_id, discount, day, expires_ms, mode, request, fp, campaign.max_amount_fen,
             campaign.max_redemptions_per_day, cid, self._unusable(campaign, now_ms, discount),
             "1" if campaign.exclusive else "0", campaign.max_coupons_per_order],
        )  # fmt: skip
        status = str(reply[0])
        if status == "clash":
            raise InvalidArgument.field("request_no", "already used for another redemption")
        if status == "no_coupon":
            self._unknown(code, caller, campaign.merchant_id)
        messages = {
            "redeemed": f"coupon {code} is already redeemed",
            "locked_elsewhere": f"coupon {code} is locked for another order",
            "amount_budget": f"campaign {cid} has no budget left for {discount} fen more",
            "day_budget": f"campaign {cid} has used today's {campaign.max_redemptions_per_day} redemptions",
            "not_valid_now": f"campaign {cid} is not valid now",
            "not_valid_weekday": f"campaign {cid} is not valid on this weekday",
            "not_valid_hour": f"campaign {cid} is not valid at this hour",
            "no_discount": f"coupon {code} takes nothing off this order (minimum {campaign.transaction_minimum_fen} fen)",
            "stack_other_exclusive": f"order {order_id} holds an exclusive coupon: no other may join it",
            "stack_exclusive": f"coupon {code} is exclusive and order {order_id} holds another coupon",
            "stack_limit": f"order {order_id} holds {campaign.max_coupons_per_order} coupons already, the most {cid} allows",
        }
        if status in messages:
            raise FailedPrecondition(messages[status])
        return status, self._coupon_of(code, reply[1], now_ms)

    @staticmethod
    def _coupon_of(code: str, flat: list[str], now_ms: int) -> Coupon:
        return Coupon.from_redis(code, dict(zip(flat[::2], flat[1::2], strict=True)), now_ms)

    # Checkout (commerce.orders.checkout runs these inside the order's own scripts) -----------

    async def checkout_coupon(self, text: str, caller: str, merchant_id: str, field: str) -> tuple[Coupon, Campaign]:
        """The coupon a code names at the merchant and its campaign (NOT_FOUND for any other code)."""
        code, campaign = await self._resolve(text, caller, merchant_id, field)
        raw = await self._redis.hgetall(self.keys.coupon(code))
        if not raw:
            self._unknown(code, caller, merchant_id)
        return Coupon.from_redis(code, raw, self.clock.now_ms()), campaign

    async def redeem_lock_call(
        self, code: str, campaign_id: str, order_id: str, discount_fen: int, member_id: str, order_amount_fen: int,
        delivery_fee_fen: int, now_ms: int,
    ) -> tuple[list[str], list[str | int]]:  # fmt: skip
        """Keys and arguments of use_check/use_write (USE_FUNCTIONS) redeeming a coupon's lock on an order:
        refused unless it is still locked to that order, held by the member, for discount_fen."""
        campaign, _, _ = await self._campaign(campaign_id)
        k, merchant = self.keys, campaign.merchant_id
        day, _ = local_day(now_ms, campaign.time_zone)
        return (
            [k.campaign(campaign_id), k.days(campaign_id), k.locks(campaign_id), k.held(campaign_id), k.coupon(code),
             k.requests, k.order(merchant, order_id)],
            [now_ms, code, order_id, discount_fen, day, 0, "redeem", f"r|{merchant}|#checkout:{order_id}:{code}",
             _fingerprint(order_id, order_amount_fen, delivery_fee_fen), campaign.max_amount_fen,
             campaign.max_redemptions_per_day, campaign_id, "", "1" if campaign.exclusive else "0",
             campaign.max_coupons_per_order, member_id, "1"],
        )  # fmt: skip

    async def rollback_call(
        self, code: str, campaign_id: str, order_id: str, now_ms: int
    ) -> tuple[list[str], list[str | int]]:
        """Keys and arguments of rollback_check/rollback_write (ROLLBACK_FUNCTIONS) giving back what the coupon
        holds for the order (its checkout redemption or lock)."""
        campaign, _, _ = await self._campaign(campaign_id)
        k, merchant = self.keys, campaign.merchant_id
        return (
            [k.campaign(campaign_id), k.days(campaign_id), k.locks(campaign_id), k.held(campaign_id), k.coupon(code),
             k.requests, k.order(merchant, order_id)],
            [now_ms, code, order_id, f"b|{merchant}|#checkout:{order_id}:{code}", _fingerprint(order_id), campaign_id,
             "1"],
        )  # fmt: skip

    async def tell_redeemed(self, code: str, order_id: str, amount_fen: int) -> None:
        """Tells the observers of a redemption made inside another script (checkout)."""
        for observer in self.observers:
            await observer.coupon_redeemed(code, order_id, amount_fen)

    async def tell_rolled_back(self, code: str) -> None:
        for observer in self.observers:
            await observer.coupon_rolled_back(code)

    async def release_order(self, merchant_id: str, order_id: str) -> int:
        """Rolls back every coupon an order at the merchant holds (locked or redeemed: the order was cancelled,
        rejected or refunded in full); idempotent. Returns the coupons rolled back by this call."""
        rolled = 0
        for code in sorted(await self._redis.hkeys(self.keys.order(merchant_id, order_id))):
            serial = codes.campaign_serial_of(code)
            campaign_id = self._by_serial.get(serial) or await self._redis.hget(self.keys.serials, str(serial))
            if campaign_id is None:
                continue
            campaign, _, _ = await self._campaign(campaign_id)
            # "#" starts no caller's request number: this rollback never collides with a counter's. The order is
            # in the request (codes are 16 characters without ':', last): a coupon released by one order and used
            # by the next is released again, not taken for a retry of the first release with another body.
            status, _ = await self._rollback_script(
                code, campaign, merchant_id, order_id, release_request(order_id, code), order_ended=True
            )
            rolled += status == "rolled_back"
        return rolled

    async def _rollback_script(
        self, code: str, campaign: Campaign, merchant_id: str, order_id: str, request_no: str, order_ended: bool = False
    ) -> tuple[str, Coupon | None]:
        """order_ended: the order was cancelled, rejected or refunded in full, so even its checkout's redemption
        goes back; any other caller is refused that one ('checkout')."""
        k, cid = self.keys, campaign.campaign_id
        now_ms = self.clock.now_ms()
        reply = await self._rollback(
            self._redis,
            [k.campaign(cid), k.days(cid), k.locks(cid), k.held(cid), k.coupon(code), k.requests,
             k.order(merchant_id, order_id)],
            [now_ms, code, order_id, f"b|{merchant_id}|{request_no}", _fingerprint(order_id), cid,
             "1" if order_ended else ""],
        )  # fmt: skip
        status = str(reply[0])
        coupon = self._coupon_of(code, reply[1], now_ms) if len(reply) > 1 else None
        if coupon is not None and coupon.state is CouponState.CLAIMED:  # a replay must not undo a later redemption
            for observer in self.observers:
                await observer.coupon_rolled_back(code)
        return status, coupon

    async def rollback(
        self, text: str, merchant_id: str, order_id: str, request_no: str, caller: str
    ) -> tuple[Coupon, bool]:
        _check([*ids_violations(merchant_id=merchant_id, order_id=order_id), id_violation("request_no", request_no)])
        code, campaign = await self._resolve(text, caller, merchant_id)
        status, coupon = await self._rollback_script(code, campaign, merchant_id, order_id, request_no)
        if status == "clash":
            raise InvalidArgument.field("request_no", "already used for another rollback")
        if status == "nothing":
            raise FailedPrecondition(f"coupon {code} is neither locked nor redeemed for order {order_id}")
        if status == "checkout":
            raise FailedPrecondition(
                f"coupon {code} was redeemed by the payment of order {order_id}: it comes back when the order is "
                "cancelled, rejected or refunded in full, not on its own"
            )
        if status == "no_coupon" or coupon is None:
            self._unknown(code, caller, merchant_id)
        assert coupon is not None
        return coupon, status == "rolled_back"
