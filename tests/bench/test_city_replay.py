"""City replays through the real engine: a short scenario end to end, both policies, reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from bench.replay.__main__ import run
from bench.replay.scenario import Scenario
from bench.replay.simulator import replay_city
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis

TINY = Scenario("tiny", duration_h=0.1, riders=6, demand_per_hour={"11": 90.0}, prep_mean_min=(4.0, 8.0))


async def test_short_replay_end_to_end(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> None:
    """Both policies serve the same orders; every accepted order is delivered; reports and pictures exist."""
    table = await run("helsinki", TINY, ["greedy", "hungarian"], tmp_path, redis_server.url, progress=False)
    for policy, m in table.items():
        assert m["orders"] > 3 and m["delivered"] == m["orders"], policy
        assert 0 < m["click_to_door_mean_min"] < 60
        saved = json.loads((tmp_path / policy / "metrics.json").read_text())
        assert saved["delivered"] == m["delivered"]
        assert "OpenStreetMap" in (tmp_path / policy / "heatmap.html").read_text()
    assert table["greedy"]["orders"] == table["hungarian"]["orders"]
    for png in ("click_to_door.png", "orders_and_riders.png", "solve_time.png"):
        assert (tmp_path / png).read_bytes().startswith(b"\x89PNG")
    assert "click_to_door_mean_min" in (tmp_path / "report.txt").read_text()


async def test_same_seed_same_replay(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> None:
    """A scenario's seed fixes the whole replay: orders, assignments and times."""
    client = redis_client(redis_server.url)
    try:
        first = await replay_city("helsinki", TINY, "greedy", client)
        second = await replay_city("helsinki", TINY, "greedy", client)
    finally:
        await client.aclose()
    assert [(o.order_id, o.rider, o.pickup_s, o.dropoff_s) for o in first.orders] == [
        (o.order_id, o.rider, o.pickup_s, o.dropoff_s) for o in second.orders
    ]


def test_bad_scenarios_are_refused(tmp_path: Path) -> None:
    """Unknown names, and files with impossible values, are clear errors."""
    with pytest.raises(ValueError, match="unknown scenario"):
        Scenario.load("brunch")
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "bad", "riders": 0}')
    with pytest.raises(ValueError, match="riders"):
        Scenario.load(str(bad))


async def test_paced_replay_runs_at_the_asked_speed(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> None:
    """--speed 600: six simulated minutes take about 0.6 s of wall time, never less."""
    import time

    client = redis_client(redis_server.url)
    scenario = Scenario("paced", duration_h=0.1, riders=3, demand_per_hour={"11": 30.0}, promise_min=5.0)
    try:
        t0 = time.monotonic()
        result = await replay_city("helsinki", scenario, "greedy", client, speed=600)
        wall = time.monotonic() - t0
    finally:
        await client.aclose()
    simulated = result.tick_s[-1]
    assert wall >= simulated / 600
