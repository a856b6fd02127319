"""Hypothesis stateful test of campaigns, claims, locks, redemptions, rollbacks and expiring locks: the
budget and the per-member limit are never exceeded, and the campaign's counters always equal what its
coupons hold."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from core.clock import ManualClock
from core.errors import FailedPrecondition, NotFound
from coupons import Campaign, Coupons, CouponState, DiscountKind, GuessThrottle
from coupons.keys import CouponKeys
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis

START_MS = int(dt.datetime(2026, 3, 16, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp() * 1000)
MAX_COUPONS, PER_MEMBER, MAX_AMOUNT, PER_DAY, DISCOUNT = 6, 2, 3_000, 4, 1_000
MEMBERS = [f"u{i}" for i in range(4)]
ORDERS = [f"o{i}" for i in range(5)]


class CampaignMachine(RuleBasedStateMachine):
    url = ""
    sync_client: redis.Redis

    @initialize()
    def start(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = redis_client(self.url)  # one Redis, or the cluster with --redis-cluster
        self.sync = self.sync_client
        for key in self.sync.keys("tc:*"):
            self.sync.delete(key)
        self.clock = ManualClock(START_MS)
        self.engine = Coupons(self.client, self.clock, throttle=GuessThrottle(max_failures=10**9))
        self.codes: list[str] = []
        self.run(
            self.engine.create_campaign(
                Campaign(
                    campaign_id="c1", merchant_id="m1", kind=DiscountKind.AMOUNT_OFF, amount_off_fen=DISCOUNT,
                    transaction_minimum_fen=2_000, valid_from_ms=START_MS - 1, valid_until_ms=START_MS + 40 * 86_400_000,
                    max_coupons=MAX_COUPONS, max_coupons_per_member=PER_MEMBER, max_amount_fen=MAX_AMOUNT,
                    max_redemptions_per_day=PER_DAY,
                )
            )
        )  # fmt: skip

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        if hasattr(self, "loop"):
            self.run(self.client.aclose())
            self.loop.close()

    @rule(member=st.sampled_from(MEMBERS), key=st.integers(0, 9))
    def claim(self, member: str, key: int) -> None:
        try:
            coupon, _ = self.run(self.engine.claim("c1", member, f"{member}-{key}"))
            if coupon.code not in self.codes:
                self.codes.append(coupon.code)
        except FailedPrecondition:
            pass

    def _code(self, i: int) -> str | None:
        return self.codes[i % len(self.codes)] if self.codes else None

    @rule(i=st.integers(0, 20), order=st.sampled_from(ORDERS), ttl=st.integers(1, 10))
    def lock(self, i: int, order: str, ttl: int) -> None:
        if (code := self._code(i)) is not None:
            try:
                self.run(self.engine.lock(code, "m1", order, 5_000, 0, ttl, "t"))
            except (FailedPrecondition, NotFound):
                pass

    @rule(i=st.integers(0, 20), order=st.sampled_from(ORDERS), request=st.integers(0, 30))
    def redeem(self, i: int, order: str, request: int) -> None:
        if (code := self._code(i)) is not None:
            try:
                self.run(
                    self.engine.redeem(code, "m1", order, 5_000, 0, f"q{request}-{i % len(self.codes)}-{order}", "t")
                )
            except (FailedPrecondition, NotFound):
                pass

    @rule(i=st.integers(0, 20), order=st.sampled_from(ORDERS), request=st.integers(0, 30))
    def rollback(self, i: int, order: str, request: int) -> None:
        if (code := self._code(i)) is not None:
            try:
                self.run(self.engine.rollback(code, "m1", order, f"b{request}-{i % len(self.codes)}-{order}", "t"))
            except (FailedPrecondition, NotFound):
                pass

    @rule(minutes=st.sampled_from([1, 5, 11, 60 * 24]))
    def wait(self, minutes: int) -> None:
        self.clock.advance(minutes * 60)

    @invariant()
    def limits_hold_and_counters_match_the_coupons(self) -> None:
        if not hasattr(self, "sync"):
            return
        k = CouponKeys()
        c = self.sync.hgetall(k.campaign("c1"))
        claimed, locked, redeemed, amount = (int(c[f]) for f in ("claimed", "locked", "redeemed", "amount"))
        assert claimed <= MAX_COUPONS and amount <= MAX_AMOUNT
        assert all(int(n) <= PER_MEMBER for n in self.sync.hgetall(k.members("c1")).values())
        assert all(0 <= int(n) <= PER_DAY for n in self.sync.hgetall(k.days("c1")).values())
        held = self.sync.hgetall(k.held("c1"))
        coupons = [self.sync.hgetall(k.coupon(code)) for code in self.codes]
        assert claimed == len(coupons)
        assert locked == len(held) == self.sync.zcard(k.locks("c1"))
        assert redeemed == sum(1 for h in coupons if h["state"] == CouponState.REDEEMED)
        assert amount == sum(int(v.split("|")[0]) for v in held.values()) + DISCOUNT * redeemed
        for code, h in zip(self.codes, coupons, strict=True):
            if code in held:  # a lock past its expiry stays "locked" in its hash until the coupon is touched again
                assert h["state"] == CouponState.LOCKED


@pytest.mark.slow
def test_campaign_budgets_hold_under_any_sequence(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> None:
    """Claims, locks, redemptions, rollbacks and waits in any order: never more coupons, amount or daily uses
    than the budget, never more per member than the limit, counters equal to what the coupons hold."""
    CampaignMachine.url, CampaignMachine.sync_client = redis_server.url, redis_sync
    run_state_machine_as_test(
        CampaignMachine,
        settings=settings(max_examples=60, stateful_step_count=40, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck)),
    )  # fmt: skip
