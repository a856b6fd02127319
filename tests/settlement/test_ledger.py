"""The ledger over a real Redis: property tests of splits and refund sequences, and the script's own checks."""

from __future__ import annotations

import asyncio

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commerce.orders import NewOrder, OrderCenter, OrderStore
from core.clock import SystemClock
from core.errors import InvalidArgument
from core.validation import EARLIEST_MS
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis
from settlement.ledger import posting_json
from settlement.rules import Share, SplitRule
from settlement.service import Settlement
from settlement.split import LegAmount


async def _setup(url: str) -> tuple[object, Settlement, OrderCenter]:
    client = redis_client(url)
    settlement = Settlement(client, SystemClock())
    center = OrderCenter(OrderStore(client, settlement.keys), settlement.ledger, SystemClock())
    return client, settlement, center


def order(order_id: str, items_fen: int, fee_fen: int, chain: str = "", leader: str = "") -> NewOrder:
    return NewOrder(
        order_id, "m1", items_fen, fee_fen, 60.17, 24.94, 60.176, 24.948, chain_id=chain, group_leader_id=leader
    )


cases = st.tuples(
    st.integers(1, 50_000_000),  # items
    st.integers(0, 2_000),  # delivery fee
    st.tuples(*[st.integers(0, 3_000)] * 4),  # basis points of the four shares
    st.tuples(*[st.integers(0, 300)] * 4),  # fixed fees
    st.sampled_from(["", "c1"]),
    st.sampled_from(["", "g1"]),
    st.lists(st.integers(1, 10_000), max_size=6),  # partial refunds, as parts per 10,000 of what is left
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases)
def test_random_splits_and_refunds_keep_every_invariant(redis_server: EmbeddedRedis, case: tuple) -> None:  # type: ignore[type-arg]
    """Random amounts, rules and partial refund sequences through the real scripts: the legs sum to the paid
    amount, no leg is reversed beyond what it got, no balance is negative, and reconciliation finds nothing."""
    items, fee, bps, fixed, chain, leader, refunds = case

    async def run() -> None:
        client, settlement, center = await _setup(redis_server.url)
        try:
            await client.flushall()
            shares = [Share(b, f) for b, f in zip(bps, fixed, strict=True)]
            rule = SplitRule("merchant:m1", *shares, max_receiver_share_bp=10_000)
            await settlement.set_rule(rule) if sum(bps) <= 10_000 else None
            if sum(bps) > 10_000:
                with pytest.raises(InvalidArgument):
                    await settlement.set_rule(rule)
                return
            await center.create(order("o1", items, fee, chain, leader))
            paid = await center.pay("o1", "p1", items + fee)
            legs, _, entries = await settlement.ledger.split_of("o1")
            if paid.split_state == "halted":
                assert entries == [] and sum(fixed) > 0  # only fixed fees can ask more than was paid
                return
            assert sum(leg.amount_fen for leg in legs) == items + fee
            for i, part in enumerate(refunds):
                current = await center.store.get("o1")
                amount = current.refundable_fen * part // 10_000
                if amount == 0:
                    continue
                await center.refund("o1", f"r{i}", amount, "")
                legs, _, _ = await settlement.ledger.split_of("o1")
                assert all(0 <= leg.reversed_fen <= leg.amount_fen for leg in legs)
                balances = {r: int(v) for r, v in (await client.hgetall(settlement.keys.balances)).items()}
                assert all(v >= 0 for v in balances.values())
                after = await center.store.get("o1")
                assert sum(leg.amount_fen - leg.reversed_fen for leg in legs) == after.paid_fen - after.refunded_fen
            report = await settlement.reconciler.reconcile()
            assert report.differences == [] and report.ledger_net_fen == report.order_net_fen
        finally:
            await client.aclose()

    asyncio.run(run())


async def test_script_refuses_legs_off_by_one_fen_and_alerts(
    redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """Legs one fen short of the paid amount, handed straight to the posting script: nothing posted, an alert raised."""
    client, settlement, center = await _setup(redis_server.url)
    try:
        await center.create(order("o1", 1_000, 0))
        paid = await center.pay("o1", "p1", 1_000)  # no rule yet: paid, its split halted
        assert paid.split_state == "halted"
        await settlement.set_rule(SplitRule("merchant:m1", Share(500, 0), effective_from_ms=paid.paid_at_ms))
        k = settlement.keys
        legs = [LegAmount("merchant:m1", 949), LegAmount("platform:tongcheng", 50)]  # 999: one fen short
        flat = [x for leg in legs for x in (leg.receiver, leg.amount_fen)]
        [reply] = await settlement.ledger._split(
            client,
            keys=[k.split_keys, k.balances, k.day_postings("2026-01-01"), k.posting_days, k.unsplit, k.alerts,
                  k.alerts_raised, k.rules_generation, k.subsidised, k.order("o1"), k.split("o1"),
                  k.split_postings("o1")],
            args=[str(await client.get(k.rules_generation)), "2026-01-01", 1, 1,
                  "key1", "o1", str(paid.version), "merchant:m1#1", 3000,
                  posting_json("o1", "m1", 1, "split", 1, "2026-01-01", legs, 1), "", len(legs), 0, *flat],
        )  # fmt: skip
        assert reply[0] == "halted" and "off by -1 fen" in reply[1]
        assert redis_sync.exists(k.split("o1"), k.split_postings("o1"), k.balances) == 0
        assert redis_sync.hget(k.order("o1"), "split_state") == "halted"
        assert redis_sync.get(k.alerts_raised) == "2" and redis_sync.xlen(k.alerts) == 2  # no rule, then this
        # The rule's own legs are right: the split posts.
        [result] = await settlement.split([("key1", "o1")])
        assert result.outcome == "posted" and sum(leg.amount_fen for leg in result.legs) == 1_000
    finally:
        await client.aclose()


async def test_rule_change_never_touches_a_posted_split(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> None:
    """A split retried after its merchant's rule changed (to one that would halt it) is ALREADY_SPLIT, stays posted,
    and refunds still reverse it (found by the randomised invariant run)."""
    client, settlement, center = await _setup(redis_server.url)
    try:
        await settlement.set_rule(SplitRule("merchant:m1", Share(500, 0)))
        await center.create(order("o1", 1_000, 0))
        await center.pay("o1", "p1", 1_000)
        await settlement.set_rule(
            SplitRule("merchant:m1", Share(0, 2_000), effective_from_ms=EARLIEST_MS)
        )  # would halt
        [result] = await settlement.split([("other-key", "o1")])
        assert result.outcome == "already_split"
        assert (await center.store.get("o1")).split_state == "posted"
        _, refunded, legs = await center.refund("o1", "r1", 100, "")
        assert refunded and sum(leg.amount_fen for leg in legs) == 100
        assert redis_sync.xlen(settlement.keys.alerts) == 0
    finally:
        await client.aclose()


async def test_a_rule_set_by_another_process_is_used_at_once(
    redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """A process that cached 'no rule' for a merchant neither halts nor splits by its stale cache once another
    process stored a rule: the scripts see the rules generation moved and the split is computed again."""
    client, here, center = await _setup(redis_server.url)
    other_client, there, _ = await _setup(redis_server.url)
    try:
        await center.create(order("o1", 1_000, 0))
        assert (await center.pay("o1", "p1", 1_000)).split_state == "halted"  # no rule anywhere yet
        await there.set_rule(SplitRule("merchant:m1", Share(500, 0), effective_from_ms=EARLIEST_MS))
        await center.create(order("o2", 2_000, 0))
        paid = await center.pay("o2", "p2", 2_000)
        assert paid.split_state == "posted" and redis_sync.hget(here.keys.order("o2"), "split_state") == "posted"
        assert redis_sync.get(here.keys.alerts_raised) == "1"
    finally:
        await client.aclose()
        await other_client.aclose()
