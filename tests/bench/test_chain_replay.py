"""The chain replay (issue 21): a swamped branch's kitchen queue, and overflow moving orders to a sibling over
the same orders as a replay without it."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
import redis

from bench.replay.chain import chain_metrics
from bench.replay.scenario import Scenario
from bench.replay.simulator import ReplayResult, replay_city
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis

# Helsinki's small extract: two branches 300 m apart, every order at the chain, most at the first branch, whose
# one cook cannot keep up.
CHAIN = Scenario(
    "tiny-chain", duration_h=0.25, riders=8, demand_per_hour={"11": 100.0}, prep_mean_min=(4.0, 8.0),
    chain_branches=2, chain_share=1.0, swamped_share=0.9, chain_cooks=1, chain_prep_min=6.0, chain_spacing_m=300.0,
    overflow_backlog_orders=2, overflow_margin_min=0.5,
)  # fmt: skip


async def both_ways(redis_server: EmbeddedRedis) -> tuple[ReplayResult, ReplayResult]:
    client = redis_client(redis_server.url)
    try:
        off = await replay_city("helsinki", CHAIN, "greedy", client)
        on = await replay_city("helsinki", replace(CHAIN, overflow=True), "greedy", client)
    finally:
        await client.aclose()
    return off, on


async def test_overflow_moves_orders_of_the_swamped_branch_over_the_same_orders(
    redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """Off and on place the same orders at the same branches; off serves each where it was placed, on moves some
    of the swamped branch's to the sibling; every kitchen cooks one order at a time, each after its placement."""
    off, on = await both_ways(redis_server)
    assert len(off.chain) == 2 and off.chain == on.chain
    assert [(o.order_id, o.placed_at, o.placed_s) for o in off.orders] == [
        (o.order_id, o.placed_at, o.placed_s) for o in on.orders
    ]
    assert off.moved == 0 and all(o.merchant == o.placed_at for o in off.orders)
    moved = [o for o in on.orders if o.merchant != o.placed_at]
    assert on.moved == len(moved) > 0
    assert all(o.placed_at == on.chain[0] and o.merchant == on.chain[1] for o in moved)
    for r in (off, on):
        for branch in r.chain:
            cooked = sorted((o.cook_start_s, o.ready_s) for o in r.orders if o.merchant == branch)
            assert all(end <= start for (_, end), (start, _) in itertools.pairwise(cooked)), branch
        assert all(o.cook_start_s is not None and o.cook_start_s >= o.placed_s for o in r.orders)
    m_off, m_on = chain_metrics(off), chain_metrics(on)
    assert m_off["chain_orders"] == m_on["chain_orders"] == len(off.orders)
    assert m_on["moved"] == len(moved)


def test_bad_chain_settings_are_refused() -> None:
    """A one-branch chain, no cook, shares outside [0, 1], negative areas or overflow settings: ValueError."""
    for bad in ({"chain_branches": 1}, {"chain_branches": 3, "chain_cooks": 0}, {"chain_share": 1.5},
                {"swamped_share": -0.1}, {"area_radius_m": -1.0}, {"overflow_margin_min": -1.0},
                {"overflow_backlog_orders": -1}):  # fmt: skip
        with pytest.raises(ValueError):
            replace(CHAIN, **bad)  # type: ignore[arg-type]
