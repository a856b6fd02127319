"""Idle-rider guidance against a real Redis: who is sent where, who is left alone, and when."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import h3
import numpy as np
import pytest
import pytest_asyncio
import redis
import redis.asyncio as aioredis

from core.clock import ManualClock
from core.geo import City, LatLng, haversine_m
from dispatch import guidance as guidance_module
from dispatch.config import DispatchConfig
from dispatch.dispatcher import Dispatcher
from dispatch.guidance import Guidance, GuidanceConfig, Guide
from dispatch.keys import ZoneKeys
from dispatch.models import Availability, NearbyRider, OrderRequest, PositionFix, TaskEventType
from dispatch.policies import make_policy
from dispatch.travel import StraightLineOracle
from forecast import DemandForecast, ForecastConfig, PlacedOrder
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis

NOW = 1_800_000_000_000
# Two counters in different resolution-7 cells, 5 km apart; riders idle 10 km away.
A, A2, B = LatLng(60.1700, 24.9400), LatLng(60.1702, 24.9405), LatLng(60.2100, 25.0200)
FAR = LatLng(60.2500, 24.7500)


@pytest_asyncio.fixture
async def client(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[aioredis.Redis]:
    c: aioredis.Redis = redis_client(redis_server.url)
    yield c
    await c.aclose()


def placed(oid: str, at: LatLng, ago_s: float = 60.0) -> OrderRequest:
    return OrderRequest(oid, f"m-{at.lat}", at, LatLng(at.lat + 0.01, at.lng), NOW - round(ago_s * 1000))


async def step(guidance: Guidance, free: list[NearbyRider], now_ms: int) -> list[Guide]:
    """What the dispatcher does once a minute (between step and hold it tells the riders)."""
    guides = await guidance.step(free, await guidance.demand(now_ms), now_ms)
    await guidance.hold(guides, now_ms)
    return guides


def rider(rid: str, at: LatLng, tasks: int = 0) -> NearbyRider:
    return NearbyRider(rid, at, 0.0, Availability.AVAILABLE, NOW, tasks)


def test_the_counters_of_a_and_b_lie_in_different_cells() -> None:
    assert h3.latlng_to_cell(A.lat, A.lng, 7) == h3.latlng_to_cell(A2.lat, A2.lng, 7)
    assert h3.latlng_to_cell(A.lat, A.lng, 7) != h3.latlng_to_cell(B.lat, B.lng, 7)


async def test_idle_riders_are_spread_over_demand_in_proportion(client: aioredis.Redis) -> None:
    """Demand 3:1 (cell of A: one order at A2, two at A; cell of B: one): four far riders go 3:1, to the
    busiest counter of each cell, the nearest riders to each; a rider holding a task is not moved, and a
    rider already there stays."""
    guidance = Guidance(client, ZoneKeys("g1"), GuidanceConfig())
    await guidance.record([placed("o1", A), placed("o2", A), placed("o3", A2), placed("o4", B)])
    free = [rider(f"r{k}", LatLng(FAR.lat, FAR.lng + k * 0.001)) for k in range(4)]
    free.append(rider("busy", FAR, tasks=1))
    guides = await step(guidance, free, NOW)
    assert Counter(g.at for g in guides) == {A: 3, B: 1}
    assert "busy" not in {g.rider_id for g in guides}
    assert [g.rider_id for g in guides if g.at == B] == ["r3"]  # the one nearest to B (farthest east)
    at = {r.rider_id: r.position for r in free}
    for g in guides:
        here = at[g.rider_id]
        assert g.distance_m == pytest.approx(haversine_m(here.lat, here.lng, g.at.lat, g.at.lng), rel=1e-6)
    # One more rider, already at A. Five places now: A 3.75 and B 1.25, so A gets the larger remainder
    # (4 and 1). The rider at A fills one of A's places and is not sent; the four far riders still go 3:1.
    guidance = Guidance(client, ZoneKeys("g2"), GuidanceConfig())
    await guidance.record([placed("o1", A), placed("o2", A), placed("o3", A2), placed("o4", B)])
    guides = await step(guidance, [*free[:4], rider("here", A)], NOW)
    assert sorted(g.rider_id for g in guides) == ["r0", "r1", "r2", "r3"]
    assert Counter(g.at for g in guides) == {A: 3, B: 1}


async def test_riders_on_their_way_are_not_sent_again_until_the_hold_passes(client: aioredis.Redis) -> None:
    guidance = Guidance(client, ZoneKeys("g3"), GuidanceConfig(every_s=60, hold_s=900))
    await guidance.record([placed("o1", A)])
    far = [rider("r1", FAR), rider("r2", LatLng(FAR.lat + 0.001, FAR.lng))]
    first = await step(guidance, far, NOW)
    assert sorted(g.rider_id for g in first) == ["r1", "r2"]
    assert not guidance.due(NOW + 59_000) and guidance.due(NOW + 60_000)
    # Half-way there a minute later: still on their way, they count at A and are not sent again.
    assert await step(guidance, far, NOW + 60_000) == []
    # Past the hold, still idle and still far: sent again.
    again = await step(guidance, far, NOW + 901_000)
    assert sorted(g.rider_id for g in again) == ["r1", "r2"]


async def test_a_rider_given_work_is_forgotten_and_old_demand_expires(
    client: aioredis.Redis, redis_sync: redis.Redis
) -> None:
    keys = ZoneKeys("g4")
    guidance = Guidance(client, keys, GuidanceConfig(window_s=1_800))
    await guidance.record([placed("o1", A, ago_s=1_700)])
    [guide] = await step(guidance, [rider("r1", FAR)], NOW)
    assert guide.rider_id == "r1" and guide.at == A
    assert redis_sync.hget(keys.riders_guide, "r1")
    # The rider took an order (a task): it leaves the guided riders.
    assert await step(guidance, [rider("r1", FAR, tasks=1)], NOW + 60_000) == []
    assert redis_sync.hget(keys.riders_guide, "r1") is None
    # Past the window the order is no longer demand: no one is sent anywhere.
    assert await step(guidance, [rider("r2", FAR)], NOW + 200_000) == []
    assert redis_sync.zcard(keys.demand) == 0


async def test_without_demand_or_idle_riders_nothing_happens(client: aioredis.Redis) -> None:
    guidance = Guidance(client, ZoneKeys("g5"), GuidanceConfig())
    assert await step(guidance, [rider("r1", FAR)], NOW) == []
    await guidance.record([placed("o1", A)])
    assert await step(guidance, [rider("r1", FAR, tasks=2)], NOW) == []
    assert await step(guidance, [], NOW) == []


async def test_riders_about_to_be_freed_count_where_they_will_be(client: aioredis.Redis) -> None:
    """Demand 1:1 at A and B and two far idle riders: one goes to each. With two riders about to be freed at
    A counted there (soon_free_s), A's places are taken and both idle riders go to B; the busy riders are
    never sent."""
    targets = [guidance_module.Target("a", A, 2.0), guidance_module.Target("b", B, 2.0)]
    far = [rider("r1", FAR), rider("r2", LatLng(FAR.lat + 0.001, FAR.lng))]
    plain = await Guidance(client, ZoneKeys("g13"), GuidanceConfig()).step_to(far, targets, NOW)
    assert Counter(g.at for g in plain) == {A: 1, B: 1}
    aware = Guidance(client, ZoneKeys("g14"), GuidanceConfig(soon_free_s=900))
    guides = await aware.step_to(far, targets, NOW, soon=[A2, A])
    assert Counter(g.at for g in guides) == {B: 2}
    assert {g.rider_id for g in guides} == {"r1", "r2"}


@pytest.mark.parametrize(("policy", "guides"), [("greedy", False), ("hungarian", False), ("ortools", True)])
async def test_only_policies_that_plan_ahead_guide(client: aioredis.Redis, policy: str, guides: bool) -> None:
    """The baselines match what is there; the optimiser also places riders for orders to come."""
    config = DispatchConfig(City("g6", A, 10_000.0), guidance=GuidanceConfig())
    dispatcher = Dispatcher(client, config, ManualClock(NOW), StraightLineOracle(), make_policy(policy))
    assert (dispatcher.guidance is not None) is guides
    await dispatcher.close()


@pytest.mark.parametrize(
    "bad", [{"every_s": 0}, {"window_s": -1}, {"beyond_m": -5}, {"hold_s": 0}, {"resolution": 16}, {"soon_free_s": -1}]
)
def test_bad_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="guidance"):
        GuidanceConfig(**bad)  # type: ignore[arg-type]


async def test_past_the_matching_cap_the_riders_nearest_demand_stay_and_count_there(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two riders at A, two far away; demand 1:1 at A and B. Matched in full, the far riders go to B (the
    riders at A stay). With the matching capped at two riders, the two farthest are matched and the two at
    A count there: the same answer."""
    riders = [rider("n1", A), rider("n2", A), rider("f1", FAR), rider("f2", LatLng(FAR.lat + 0.001, FAR.lng))]
    answers = []
    for cap in (guidance_module.MAX_MATCHED, 2):
        monkeypatch.setattr(guidance_module, "MAX_MATCHED", cap)
        guidance = Guidance(client, ZoneKeys(f"g7-{cap}"), GuidanceConfig())
        await guidance.record([placed("o1", A), placed("o2", B)])
        answers.append(sorted((g.rider_id, g.at) for g in await step(guidance, riders, NOW)))
    assert answers[0] == answers[1] == [("f1", B), ("f2", B)]


async def test_a_rider_whose_shift_is_ending_is_not_sent(client: aioredis.Redis) -> None:
    guidance = Guidance(client, ZoneKeys("g8"), GuidanceConfig(hold_s=900))
    await guidance.record([placed("o1", A)])
    leaving = NearbyRider("leaving", FAR, 0.0, Availability.AVAILABLE, NOW, 0, NOW + 600_000)
    staying = NearbyRider("staying", FAR, 0.0, Availability.AVAILABLE, NOW, 0, NOW + 3_600_000)
    assert [g.rider_id for g in await step(guidance, [leaving, staying], NOW)] == ["staying"]


async def test_the_matching_is_no_larger_than_the_riders_it_moves(
    client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """180 riders at A and 20 far away, demand 1:1 at A and B, the matching capped at 20 riders: the 180
    count at A (more than its share), and the 20 far riders are matched to 20 places, all at B."""
    shapes = []
    solve = guidance_module.linear_sum_assignment

    def recorded(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shapes.append(cost.shape)
        return solve(cost)

    monkeypatch.setattr(guidance_module, "MAX_MATCHED", 20)
    monkeypatch.setattr(guidance_module, "linear_sum_assignment", recorded)
    guidance = Guidance(client, ZoneKeys("g9"), GuidanceConfig())
    await guidance.record([placed("o1", A), placed("o2", B)])
    near = [rider(f"n{k:03d}", A) for k in range(180)]
    far = [rider(f"f{k:02d}", LatLng(FAR.lat, FAR.lng + k * 0.0001)) for k in range(20)]
    guides = await step(guidance, near + far, NOW)
    assert shapes == [(20, 20)]
    assert sorted(g.rider_id for g in guides) == [r.rider_id for r in far]
    assert {g.at for g in guides} == {B}


async def test_a_guidance_failure_leaves_the_tick_standing(
    client: aioredis.Redis, redis_sync: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """A malformed guided-rider entry makes guidance fail: the tick still reports, no rider is guided and
    the failure is logged; once the entry is gone the next minute guides the far rider to the order's
    counter, and its feed says so."""
    config = DispatchConfig(
        City("g10", A, 30_000.0), search_radius_m=1_000.0, max_access_m=1e9, guidance=GuidanceConfig(beyond_m=500.0)
    )
    clock = ManualClock(NOW)
    dispatcher = Dispatcher(client, config, clock, StraightLineOracle(), make_policy("ortools"))
    dispatcher.positions.start()
    try:
        await dispatcher.ingest([PositionFix("far", FAR.lat, FAR.lng, NOW)])
        await dispatcher.submit([placed("o1", A, ago_s=0)])
        keys = ZoneKeys("g10")
        redis_sync.hset(keys.riders_guide, "someone", "not a place")
        with caplog.at_level("WARNING", logger="tongcheng.dispatch"):
            report = await dispatcher.tick()
        assert report.guided == [] and "guidance failed" in caplog.text
        redis_sync.hdel(keys.riders_guide, "someone")
        clock.set(NOW + 60_000)
        await dispatcher.ingest([PositionFix("far", FAR.lat, FAR.lng, NOW + 60_000)])  # still there, still free
        report = await dispatcher.tick()
        assert [(g.rider_id, g.at) for g in report.guided] == [("far", A)]
        [event] = await dispatcher.orders.feed_after("far", "0-0")
        assert event.type is TaskEventType.GUIDED and event.order is None and event.wait_at == A
    finally:
        await dispatcher.close()


async def test_guidance_by_forecast_places_riders_where_orders_are_about_to_come(
    client: aioredis.Redis, redis_sync: redis.Redis
) -> None:
    """Three weeks of orders at B in the coming half hour, none at A; the last half hour's orders were at A.
    By recent orders the idle rider goes to A; by forecast (prepositioning) to B; the decision is kept for ops."""
    tz = ZoneInfo("Europe/Helsinki")
    forecast = DemandForecast(client, "g9", ForecastConfig(), tz)
    history = [
        PlacedOrder(f"h{w}-{k}", "mb", B, NOW - w * 7 * 86_400_000 + k * 60_000)
        for w in (1, 2, 3) for k in range(10, 40)
    ]  # fmt: skip
    await forecast.record(history, NOW - 86_400_000)
    recent = Guidance(client, ZoneKeys("g9"), GuidanceConfig(mode="recent"))
    await recent.record([placed("o1", A), placed("o2", A)])
    ahead = Guidance(client, ZoneKeys("g9"), GuidanceConfig(mode="forecast"), forecast)
    by_recent = await recent.step_to([rider("r1", FAR)], await recent.targets(NOW), NOW)
    by_forecast = await ahead.step_to([rider("r1", FAR)], await ahead.targets(NOW), NOW)
    assert [g.at for g in by_recent] == [A]
    assert [g.at for g in by_forecast] == [B]
    await ahead.hold(by_forecast, NOW)
    decision = await ahead.last_decision()
    assert decision is not None and decision["mode"] == "forecast"
    assert [t[0] for t in decision["targets"]] == [h3.latlng_to_cell(B.lat, B.lng, 7)]
    assert decision["sent"][0][0] == "r1"
    with pytest.raises(ValueError, match="forecast"):
        Guidance(client, ZoneKeys("g9"), GuidanceConfig(mode="forecast"))
    with pytest.raises(ValueError, match="mode"):
        GuidanceConfig(mode="none")
