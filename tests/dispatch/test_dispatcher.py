"""The dispatcher's tick machinery that the API tests cannot see: the collector pause around ticks, the
ranking of each order's nearest riders, predictions conditioned on a reporting merchant's silence."""

from __future__ import annotations

import gc
import random
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import pytest_asyncio
import redis
import redis.asyncio as aioredis

from core.clock import ManualClock
from core.geo import City, LatLng, haversine_m
from dispatch.config import DispatchConfig
from dispatch.dispatcher import Dispatcher
from dispatch.models import Availability, NearbyRider, OrderRecord, OrderRequest
from dispatch.policies import make_policy
from dispatch.prep import still_cooking
from dispatch.travel import StraightLineOracle
from dispatch.zone import _collector_paused, _nearest
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis


def test_the_collector_is_paused_during_ticks_and_restored_after_the_last() -> None:
    """Overlapping ticks (two zones) keep the collector paused until the last ends, then it is on
    again; an exception in a tick restores it too; a collector already off stays off."""
    assert gc.isenabled()
    first, second = _collector_paused(), _collector_paused()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second zone's tick is still running
    second.__exit__(None, None, None)
    assert gc.isenabled()
    with pytest.raises(RuntimeError), _collector_paused():
        raise RuntimeError("tick failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with _collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_nearest_riders_match_a_brute_force_ranking() -> None:
    """Per order, the k nearest riders within the radius, declined ones skipped, each with its great-circle
    distance: as ranking every rider by haversine would give (random cities, radii and refusals)."""
    rng = random.Random(5)
    for _ in range(200):
        riders = [
            NearbyRider(
                f"r{i}",
                LatLng(60.1 + rng.random() * 0.2, 24.8 + rng.random() * 0.3),
                0.0,
                Availability.AVAILABLE,
                1,
                0,
                None,
                None,
            )
            for i in range(rng.randint(1, 60))
        ]
        records = [
            OrderRecord(
                OrderRequest(
                    f"o{j}", "m", LatLng(60.1 + rng.random() * 0.2, 24.8 + rng.random() * 0.3), LatLng(60.2, 24.9), 1
                )
            )
            for j in range(rng.randint(1, 20))
        ]
        declined = {f"o{j}": {f"r{rng.randint(0, 60)}" for _ in range(rng.randint(0, 5))} for j in range(0, 20, 3)}
        k, radius = rng.randint(1, 10), rng.choice([500.0, 2_000.0, 8_000.0, 50_000.0])
        got = _nearest(riders, records, declined, k, radius)
        for record in records:
            p = record.request.pickup
            ranked = sorted(
                (haversine_m(p.lat, p.lng, r.position.lat, r.position.lng), r.rider_id)
                for r in riders
                if r.rider_id not in declined.get(record.order_id, set())
            )
            expected = [(d, rid) for d, rid in ranked if d <= radius][:k]
            assert [r.rider_id for r in got[record.order_id]] == [rid for _, rid in expected]
            assert [r.distance_m for r in got[record.order_id]] == pytest.approx([d for d, _ in expected], abs=1e-3)


NOW = 1_800_000_000_000
COUNTER, DOOR = LatLng(60.1700, 24.9400), LatLng(60.1750, 24.9500)


@pytest_asyncio.fixture
async def client(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[aioredis.Redis]:
    c: aioredis.Redis = redis_client(redis_server.url)
    yield c
    await c.aclose()


async def test_a_reporting_merchants_silence_conditions_its_predictions(client: aioredis.Redis) -> None:
    """Orders with predicted ready times: while their merchant has never reported a ready event the
    predictions stand as made; once it has (within the window) an order it says nothing of is taken as
    still cooking (the prediction truncated at now), for the tick only; orders with a hint, another
    merchant's, and every order once the merchant's last report is older than the window, stay as they were."""
    config = DispatchConfig(City("sc", COUNTER, 30_000.0), ready_reports_window_s=3_600.0, max_access_m=1e9)
    clock = ManualClock(NOW)
    dispatcher = Dispatcher(client, config, clock, StraightLineOracle(), make_policy("ortools"))
    try:
        orders = [
            OrderRequest("a1", "m-a", COUNTER, DOOR, NOW), OrderRequest("a2", "m-a", COUNTER, DOOR, NOW),
            OrderRequest("b1", "m-b", COUNTER, DOOR, NOW),
            OrderRequest("a3", "m-a", COUNTER, DOOR, NOW, ready_at_hint_ms=NOW + 600_000),
        ]  # fmt: skip
        await dispatcher.submit(orders)
        now = NOW + 30 * 60_000  # past every prediction (the default prior: 15 min)
        clock.set(now)
        records = [await dispatcher.get(o.order_id) for o in orders]
        assert all(r.predicted_ready_ms is not None and r.predicted_ready_ms < now for r in records[:3])
        assert await dispatcher._only()._still_cooking(records, now) == records  # nobody reports yet

        await dispatcher.report_food_ready("a1", now - 60_000)
        records = [await dispatcher.get(o.order_id) for o in orders]
        seen = await dispatcher._only()._still_cooking(records, now)
        a1, a2, b1, a3 = seen
        assert a1 == records[0] and a1.ready_at_ms == now - 60_000  # reported: known
        expected = still_cooking(records[1].predicted_ready_ms, records[1].predicted_ready_sd_s, now)  # type: ignore[arg-type]
        assert (a2.predicted_ready_ms, a2.predicted_ready_sd_s) == expected
        assert a2.predicted_ready_ms > now and a2.predicted_ready_sd_s < records[1].predicted_ready_sd_s  # type: ignore[operator]
        assert (b1, a3) == (records[2], records[3])  # another merchant; a merchant's hint
        assert (await dispatcher.get("a2")).predicted_ready_ms == records[1].predicted_ready_ms  # stored as made

        later = now - 60_000 + 3_600_000 + 1
        clock.set(later)
        assert await dispatcher._only()._still_cooking(records, later) == records  # its last report is too old
    finally:
        await dispatcher.close()


async def test_a_merchants_forecast_is_planned_as_a_prediction_with_its_spread(client: aioredis.Redis) -> None:
    """A hint with a spread is the merchant's forecast: stored (and read back) as the order's prediction
    with that spread, so it is planned like the prep model's predictions and conditioned on the merchant's
    silence like them; an exact hint stays the ready time; the prep model still learns from the ready
    event. The spread is part of the order's body (another spread is another body)."""
    config = DispatchConfig(City("fc", COUNTER, 30_000.0), ready_reports_window_s=3_600.0, max_access_m=1e9)
    clock = ManualClock(NOW)
    dispatcher = Dispatcher(client, config, clock, StraightLineOracle(), make_policy("ortools"))
    try:
        forecast = OrderRequest("f1", "m-f", COUNTER, DOOR, NOW, ready_at_hint_ms=NOW + 600_000, ready_hint_sd_s=240.0)
        exact = OrderRequest("f2", "m-f", COUNTER, DOOR, NOW, ready_at_hint_ms=NOW + 600_000)
        assert forecast.fingerprint() != exact.fingerprint()
        assert replace(forecast, ready_hint_sd_s=240).fingerprint() == forecast.fingerprint()  # int or float
        await dispatcher.submit([forecast, exact])
        f1, f2 = await dispatcher.get("f1"), await dispatcher.get("f2")
        assert f1.request == forecast and f2.request == exact  # the spread survives Redis
        assert (f1.predicted_ready_ms, f1.predicted_ready_sd_s) == (NOW + 600_000, 240.0)
        assert f1.ready_is_predicted and f1.expected_ready_ms == NOW + 600_000
        assert not f2.ready_is_predicted and f2.expected_ready_ms == NOW + 600_000
        # The prep model's own prediction (a cold merchant: its category's prior), not used while hinted.
        assert f2.predicted_ready_ms != NOW + 600_000 and f2.predicted_ready_sd_s != 240.0

        await dispatcher.submit([OrderRequest("f3", "m-f", COUNTER, DOOR, NOW)])
        now = NOW + 15 * 60_000  # the forecast's time has passed, the food is not reported ready
        clock.set(now)
        await dispatcher.report_food_ready("f3", now - 60_000)
        f1_seen, f2_seen = await dispatcher._only()._still_cooking([f1, f2], now)
        assert (f1_seen.predicted_ready_ms, f1_seen.predicted_ready_sd_s) == still_cooking(NOW + 600_000, 240.0, now)
        assert f1_seen.expected_ready_ms > now and f2_seen == f2
        learnt = await client.hget("tc:{fc}:prep:global", "learnt")
        await dispatcher.report_food_ready("f1", now)
        assert int(await client.hget("tc:{fc}:prep:global", "learnt") or 0) == int(learnt or 0) + 1
        assert (await dispatcher.get("f1")).expected_ready_ms == now
    finally:
        await dispatcher.close()
