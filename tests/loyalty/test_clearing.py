"""T+1 clearing of points between alliance merchants into the settlement ledger: netted, zero-sum, posted
once, on the next daily run's statements, and covered by Reconcile."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis

from core.clock import ManualClock
from core.errors import FailedPrecondition
from loyalty import Loyalty, OrderState, Programme, ProgrammeKind
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis
from settlement.service import Settlement

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
START_MS = int(dt.datetime(2026, 3, 15, 10, 0, tzinfo=SHANGHAI).timestamp() * 1000)
HOUR_MS = 3_600_000


@pytest_asyncio.fixture
async def both(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[tuple[Loyalty, Settlement]]:
    client = redis_client(redis_server.url)  # one Redis, or the cluster with --redis-cluster
    clock = ManualClock(START_MS)
    loyalty, settlement = Loyalty(client, clock), Settlement(client, clock)
    settlement.reconciler.extra_checks.append(loyalty.reconcile)
    yield loyalty, settlement
    await client.aclose()


async def test_a_days_claims_are_netted_posted_once_and_reach_the_statements(both: tuple[Loyalty, Settlement]) -> None:
    """Hotpot took 300 of the salon's points and the salon 120 of hotpot's: hotpot is owed 180 points at 2 fen."""
    loyalty, settlement = both
    await loyalty.create_programme(
        Programme("p1", ProgrammeKind.ALLIANCE, ("salon", "hotpot"), point_value_fen=2, signin_points=10)
    )
    await loyalty.sync_order("o1", "salon", "u1", OrderState.COMPLETED, 3_000, 0)
    await loyalty.sign_in("p1", "u2")
    await loyalty.sync_order("o2", "hotpot", "u2", OrderState.COMPLETED, 2_000, 0)
    await loyalty.spend("p1", "u1", "hotpot", 300, "s1")
    # Both of u2's lots end with March 2027: the older first, the programme's 10 sign-in points, then 120 of hotpot's.
    await loyalty.spend("p1", "u2", "salon", 130, "s2")
    with pytest.raises(FailedPrecondition, match="00:05"):
        await loyalty.run_clearing("p1", "2026-03-15")
    loyalty.clock.advance(14 * 3600 + 4 * 60)  # 00:04 on the 16th
    with pytest.raises(FailedPrecondition):
        await loyalty.run_clearing("p1", "2026-03-15")
    loyalty.clock.advance(60)
    claims, posting_id, posted_day, now = await loyalty.run_clearing("p1", "2026-03-15")
    assert now and posting_id == "clearing:p1:2026-03-15" and posted_day == "2026-03-16"
    assert sorted((c.creditor, c.debtor, c.points, c.amount_fen) for c in claims) == [
        ("hotpot", "salon", 180, 360), ("salon", "", 10, 20)
    ]  # fmt: skip
    again = await loyalty.run_clearing("p1", "2026-03-15")
    assert again[1:] == (posting_id, posted_day, False)
    balances = await loyalty._redis.hgetall(settlement.keys.balances)
    assert balances == {"merchant:hotpot": "360", "merchant:salon": "-340", "loyalty:p1": "-20"}
    report = await settlement.reconciler.reconcile()
    assert report.differences == []
    loyalty.clock.advance(24 * 3600)  # the 17th: T+1 of the 16th, the day the clearing was posted on
    run = await settlement.runs.run("2026-03-16")
    nets = {s.receiver: (s.net_fen, s.payable_fen, s.carried_out_fen) for s in run.statements}
    assert nets == {"merchant:hotpot": (360, 360, 0), "merchant:salon": (-340, 0, -340), "loyalty:p1": (-20, 0, -20)}
    _, entries, csv = await settlement.runs.statement("2026-03-16", "merchant:hotpot")
    assert [(e.cause, e.amount_fen) for e in entries] == [("points_clearing", 360)] and "points_clearing" in csv


async def test_reconcile_finds_points_that_do_not_add_up(both: tuple[Loyalty, Settlement]) -> None:
    """A member's counter moved behind the scripts' back, and a clearing posting that its claims do not give."""
    loyalty, settlement = both
    await loyalty.create_programme(Programme("p1", ProgrammeKind.ALLIANCE, ("salon", "hotpot")))
    await loyalty.sync_order("o1", "salon", "u1", OrderState.COMPLETED, 3_000, 0)
    await loyalty.spend("p1", "u1", "hotpot", 100, "s1")
    loyalty.clock.advance(24 * 3600)
    await loyalty.run_clearing("p1", "2026-03-15")
    assert (await settlement.reconciler.reconcile()).differences == []
    r = loyalty._redis
    await r.hincrby(loyalty.keys.member("p1", "u1"), "avail", 5)
    await r.rpush(loyalty.keys.claims("p1", "2026-03-15"), '["hotpot","salon",1,1,"forged",0]')
    kinds = sorted(d.kind for d in (await settlement.reconciler.reconcile()).differences)
    assert kinds == ["clearing_mismatch", "clearing_mismatch", "points_available_mismatch", "points_lots_mismatch"]
