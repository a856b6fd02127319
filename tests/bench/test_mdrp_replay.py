"""MDRP replays through the real engine: feasible solutions, both baselines, reproducible."""

from __future__ import annotations

from pathlib import Path

import redis

from bench.mdrp.__main__ import run
from bench.mdrp.checker import check_feasible
from bench.mdrp.instance import Instance, load_instance
from bench.mdrp.runner import minute_to_ms, replay
from bench.mdrp.solution import read_solution
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis
from tests.bench.test_mdrp_checker import write_instance
from tests.conftest import require_shared


async def test_tiny_instance_replays_feasibly_and_reproducibly(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """Every policy delivers the hand-made instance's three orders, feasibly, and the same way twice."""
    instance = load_instance(write_instance(tmp_path / "tiny"))
    client = redis_client(redis_server.url)
    try:
        for policy in ("greedy", "hungarian", "rolling", "ortools"):
            first, _ = await replay(instance, client, policy)
            check_feasible(instance, first)
            assert all(o.delivered for o in first.orders)
            if policy in ("greedy", "hungarian"):  # (rolling and the optimiser may hold an order for a later tick)
                # The tick at the minute an order is placed already sees it: o1 (placed at 5, both
                # couriers idle) is offered at minute 5, not a tick later.
                (o1,) = [a for a in first.assignments if "o1" in a.orders]
                assert o1.time_min == 5
            second, _ = await replay(instance, client, policy)
            assert second == first
    finally:
        await client.aclose()


async def test_dev_instance_end_to_end(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> None:
    """The smallest dev instance, every policy, through the CLI's runner: files written, checked, sane."""
    folder = require_shared("data", "mdrp", "1o50t100s1p125")
    results = await run(folder, ["greedy", "hungarian", "ortools"], tmp_path / "out", "known", redis_server.url)
    instance = load_instance(folder)
    for policy, metrics in results.items():
        out = tmp_path / "out" / policy
        check_feasible(instance, read_solution(out))  # what was written is what was checked
        assert (out / "metrics.json").exists() and (out / "lower_bounds.txt").exists()
        assert metrics["delivered"] > 0.8 * metrics["orders"]
        assert metrics["gap_to_lower_bound"] > 0  # a bound is a bound
    assert results["hungarian"]["click_to_door_mean"] <= results["greedy"]["click_to_door_mean"] * 1.05
    # The optimiser bundles, and beats the greedy baseline clearly (greedy's gap here is above 40%).
    assert results["ortools"]["orders_per_bundle"] > 1.0
    assert results["ortools"]["gap_to_lower_bound"] < 0.75 * results["greedy"]["gap_to_lower_bound"]
    for png in ("click_to_door.png", "orders_and_couriers.png", "solve_time.png"):
        assert (tmp_path / "out" / png).read_bytes().startswith(b"\x89PNG")


async def test_estimated_prep_learns_and_stays_feasible(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """Ready times hidden: the engine plans with the prep model's predictions, learns from the
    restaurants' ready reports, and the solution is still feasible."""
    folder = require_shared("data", "mdrp", "1o50t100s1p125")
    results = await run(folder, ["ortools"], tmp_path / "out", "estimated", redis_server.url)
    check_feasible(load_instance(folder), read_solution(tmp_path / "out" / "ortools"))
    assert results["ortools"]["delivered"] > 0.8 * results["ortools"]["orders"]
    learnt = redis_sync.hget("tc:{mdrp-1o50t100s1p125}:prep:global", "learnt")
    # Every order the restaurants reported ready was learnt from (a few are ready at placement: ignored).
    assert learnt is not None and int(learnt) > 0.8 * results["ortools"]["orders"]


def one_courier(folder: Path, orders: str, courier: str) -> Instance:
    """The tiny instance's parameters and restaurants with these orders (tab-separated rows) and one
    courier c1 (x, y, on and off time)."""
    write_instance(folder)
    (folder / "orders.txt").write_text(f"order\tx\ty\tplacement_time\trestaurant\tready_time\n{orders}\n")
    (folder / "couriers.txt").write_text(f"courier\tx\ty\ton_time\toff_time\nc1\t{courier}\n")
    return load_instance(folder)


async def test_an_order_joins_the_bundle_of_a_courier_on_its_way_to_the_restaurant(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """The MDRP assignment update: c1 is sent to r1 for o1 (pickup at 20); o2 of r1, placed at 10 and ready
    at 18, joins c1's bundle before its pickup (6 minutes later than alone; the courier's next free trip
    would be 20 minutes later): one assignment of both orders, picked up at 20, the solution feasible."""
    instance = one_courier(tmp_path / "join", "o1\t0\t-500\t0\tr1\t20\no2\t0\t-800\t10\tr1\t18", "0\t1500\t0\t100")
    client = redis_client(redis_server.url)
    try:
        solution, stats = await replay(instance, client, "ortools")
    finally:
        await client.aclose()
    check_feasible(instance, solution)
    assert stats.joined == 1 and stats.offers_refused == 0
    [assignment] = solution.assignments
    assert (assignment.courier, assignment.orders, assignment.pickup_min) == ("c1", ("o1", "o2"), 20)
    assert 10 <= assignment.time_min < 20
    o1, o2 = solution.orders
    assert (o1.dropoff_min, o2.dropoff_min) == (29, 36)


async def test_an_order_past_the_maximum_click_to_door_is_lost_not_delivered_later_still(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """No courier until minute 80: o1 (placed at 0, a 6-minute ride) can no longer make the instance's 90
    minutes once even a courier at the counter would be too late, and is rejected then, with the reason;
    o2, whose own ride (110 minutes) never let it make 90, is delivered when the courier comes."""
    instance = one_courier(tmp_path / "late", "o1\t0\t600\t0\tr1\t5\no2\t0\t11000\t0\tr1\t5", "0\t0\t80\t400")
    client = redis_client(redis_server.url)
    try:
        for policy in ("greedy", "ortools"):
            solution, _ = await replay(instance, client, policy)
            check_feasible(instance, solution)
            o1, o2 = solution.orders
            assert not o1.delivered and o2.delivered
            record = redis_sync.hgetall("tc:{mdrp-late}:order:o1")
            assert record["status"] == "rejected"
            assert record["reason"] == "cannot reach the customer within 90 min of the order"
            # Rejected at the first tick where a rider at the counter would drop it off after minute 90:
            # 79 + 2 (half the pickup service) + 6 (the ride) + 2 (half the drop-off service) = 91.
            assert int(record["updated_ms"]) == minute_to_ms(79)
    finally:
        await client.aclose()


async def test_forecast_ready_times_are_hints_with_a_spread_and_stay_feasible(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """`prep` forecast: each order carries the restaurant's forecast (the true ready time plus seeded
    normal noise, never before placement) with the stated spread; every order is delivered, feasibly, the
    same way again with the same seed, and another seed draws other forecasts."""
    instance = load_instance(write_instance(tmp_path / "tiny"))
    client = redis_client(redis_server.url)
    try:
        hints = {}
        for seed in (1, 1, 2):
            solution, _ = await replay(instance, client, "ortools", "forecast", forecast_sd_min=5.0, seed=seed)
            check_feasible(instance, solution)
            assert all(o.delivered for o in solution.orders)
            stored = {oid: redis_sync.hgetall(f"tc:{{mdrp-tiny}}:order:{oid}") for oid in instance.orders}
            assert {h["ready_hint_sd_s"] for h in stored.values()} == {"300.0"}
            drawn = {oid: int(h["ready_at_hint_ms"]) for oid, h in stored.items()}
            assert all(drawn[oid] >= minute_to_ms(o.placement_min) for oid, o in instance.orders.items())
            assert any(drawn[oid] != minute_to_ms(o.ready_min) for oid, o in instance.orders.items())
            hints.setdefault(seed, []).append((drawn, solution))
        assert hints[1][0] == hints[1][1]
        assert hints[2][0][0] != hints[1][0][0]
    finally:
        await client.aclose()
