"""City replays through the real engine: a short scenario end to end, both policies, reproducible."""

from __future__ import annotations

import heapq
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from bench.replay import report, simulator
from bench.replay.__main__ import run
from bench.replay.scenario import Scenario
from bench.replay.simulator import CityWorld, ReplayResult, replay_city
from core.geo import LatLng, haversine_m
from dispatch.guidance import GuidanceConfig
from dispatch.models import Availability, OrderRequest, PositionFix, TaskAction
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis

TINY = Scenario("tiny", duration_h=0.1, riders=6, demand_per_hour={"11": 90.0}, prep_mean_min=(4.0, 8.0))


async def test_short_replay_end_to_end(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> None:
    """Both policies serve the same orders; every accepted order is delivered; reports and pictures exist."""
    table = await run("helsinki", TINY, ["greedy", "hungarian"], tmp_path, redis_server.url, progress=False)
    for policy, m in table.items():
        assert m["orders"] > 3 and m["delivered"] == m["orders"], policy
        assert 0 < m["click_to_door_mean_min"] < 60
        # The milestones of a delivery come in order: offered, at the counter, picked up (after the food
        # is ready and the rider is there), at the door.
        assert 0 <= m["offered_after_mean_min"] < m["at_counter_after_mean_min"] < m["picked_up_after_mean_min"]
        assert m["prep_mean_min"] <= m["picked_up_after_mean_min"] < m["click_to_door_mean_min"]
        saved = json.loads((tmp_path / policy / "metrics.json").read_text())
        assert saved["delivered"] == m["delivered"]
        assert "OpenStreetMap" in (tmp_path / policy / "heatmap.html").read_text()
    assert table["greedy"]["orders"] == table["hungarian"]["orders"]
    for png in ("click_to_door.png", "orders_and_riders.png", "solve_time.png"):
        assert (tmp_path / png).read_bytes().startswith(b"\x89PNG")
    assert "click_to_door_mean_min" in (tmp_path / "report.txt").read_text()


async def replays(redis_server: EmbeddedRedis, *policies: str) -> list[ReplayResult]:
    """TINY in Helsinki, once per policy, one after the other on the session's Redis."""
    client = redis_client(redis_server.url)
    try:
        return [await replay_city("helsinki", TINY, policy, client) for policy in policies]
    finally:
        await client.aclose()


async def test_same_seed_same_replay(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> None:
    """A scenario's seed fixes the whole replay: orders, assignments and times."""
    first, second = await replays(redis_server, "greedy", "greedy")
    assert [(o.order_id, o.rider, o.pickup_s, o.dropoff_s) for o in first.orders] == [
        (o.order_id, o.rider, o.pickup_s, o.dropoff_s) for o in second.orders
    ]


async def test_idle_riders_go_where_the_engine_guides_them(
    redis_server: EmbeddedRedis, redis_sync: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the optimiser, idle riders far from the orders are sent toward them, ride there free (an offer on
    the way takes them elsewhere), and every order is still delivered; the baselines guide no one. (The
    central Helsinki extract is small: riders are sent from 300 m away rather than the default 1.5 km.)"""
    made = simulator.replay_config
    monkeypatch.setattr(
        simulator,
        "replay_config",
        lambda g, s, mode="recent": replace(made(g, s, mode), guidance=GuidanceConfig(beyond_m=300.0)),
    )
    guided, plain = await replays(redis_server, "ortools", "greedy")
    assert guided.guided > 0 and plain.guided == 0
    assert all(o.delivered for o in guided.orders)


async def test_merchants_that_state_their_spread_send_forecasts(
    redis_server: EmbeddedRedis, redis_sync: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `hint_spread`, each order's hint carries its merchant's prep-time spread (the lognormal's sd),
    the engine plans it as a prediction with that spread, and every order is still delivered."""
    sent: list[OrderRequest] = []
    place = simulator.InProcessEngine.place

    async def spy(self, request: OrderRequest) -> None:  # type: ignore[no-untyped-def]
        sent.append(request)
        await place(self, request)

    monkeypatch.setattr(simulator.InProcessEngine, "place", spy)
    client = redis_client(redis_server.url)
    try:
        result = await replay_city("helsinki", replace(TINY, hint_spread=True), "ortools", client)
    finally:
        await client.aclose()
    assert sent and all(o.delivered for o in result.orders)
    spread = math.sqrt(math.expm1(TINY.prep_sigma**2))
    for request in sent:
        prep_s = (request.ready_at_hint_ms - request.placed_at_ms) / 1000  # type: ignore[operator]
        assert request.ready_hint_sd_s == pytest.approx(prep_s * spread, abs=0.01)
    stored = redis_sync.hget(f"tc:{{helsinki}}:order:{sent[0].order_id}", "predicted_ready_sd_s")
    assert float(stored) == pytest.approx(sent[0].ready_hint_sd_s)  # type: ignore[arg-type]


def test_bad_scenarios_are_refused(tmp_path: Path) -> None:
    """Unknown names, and files with impossible values, are clear errors."""
    with pytest.raises(ValueError, match="unknown scenario"):
        Scenario.load("brunch")
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "bad", "riders": 0}')
    with pytest.raises(ValueError, match="riders"):
        Scenario.load(str(bad))
    bad.write_text('{"name": "bad", "hint_spread": "false"}')
    with pytest.raises(ValueError, match="hint_spread"):
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


class Recorder:
    """The city side of the engine interface, recording what the rider apps report."""

    def __init__(self) -> None:
        self.fixes: list[PositionFix] = []

    async def report(self, fixes: list[PositionFix]) -> None:
        self.fixes += fixes

    async def place(self, order: OrderRequest) -> None:
        pass

    async def update_task(self, rider_id: str, order_id: str, action: TaskAction, at_ms: int) -> bool:
        return True

    def rider_online(self, rider_id: str, online: bool) -> None:
        pass


async def test_a_guided_ride_reports_the_rider_free_and_gives_way_to_work() -> None:
    """On its way where it was guided the rider reports itself free, moving; once it starts work (another
    ride) the rest of the guided ride is dropped, and a rider going home drops it too."""
    world = CityWorld("helsinki", TINY, "ortools")
    world.events.clear()
    rider = next(iter(world.riders.values()))
    rider.online, rider.position = True, LatLng(60.1700, 24.9420)
    engine = Recorder()
    world.guided(rider.id, LatLng(60.1760, 24.9480), 0.0)
    assert world.result.guided == 1
    for _ in range(3):
        s, _, kind, data = heapq.heappop(world.events)
        await world.handle(engine, s, kind, data)
    assert [f.availability for f in engine.fixes] == [Availability.AVAILABLE] * 3
    assert len({(f.lat, f.lng) for f in engine.fixes}) == 3  # moving
    # Work: a ride to a counter (as an accepted offer starts one). The guided ride's moves no longer count.
    rider.busy = True
    world._ride(rider, LatLng(60.1650, 24.9300), 30.0, "at_merchant", "x")
    reported = len(engine.fixes)
    stale = [e for e in world.events if e[2] == "waiting" or (e[2] == "move" and e[3][3] != rider.leg)]
    assert stale
    for s, _, kind, data in sorted(stale):
        await world.handle(engine, s, kind, data)
    assert len(engine.fixes) == reported
    # Guided again when free; going home drops that ride as well.
    rider.busy = False
    world.events.clear()
    world.guided(rider.id, LatLng(60.1760, 24.9480), 100.0)
    await world._go_offline(engine, rider, 101.0)
    reported = len(engine.fixes)
    while world.events:
        s, _, kind, data = heapq.heappop(world.events)
        await world.handle(engine, s, kind, data)
    assert len(engine.fixes) == reported


async def test_guidance_modes_replay_the_same_orders(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    """none, recent and forecast guidance serve the same orders; only guidance sends riders anywhere, and
    each run maps the forecast (learnt from earlier days) against the orders placed."""
    table = await run("helsinki", TINY, ["ortools"], tmp_path, redis_server.url, progress=False,
                      guidance=("none", "recent", "forecast"))  # fmt: skip
    assert set(table) == {"ortools/none", "ortools/recent", "ortools/forecast"}
    assert len({m["orders"] for m in table.values()}) == 1
    assert table["ortools/none"]["riders_guided"] == 0
    for name, m in table.items():
        folder = tmp_path / name.replace("/", "-")
        assert json.loads((folder / "metrics.json").read_text())["guidance"] == name.split("/")[1]
        # The forecast had 28 days of the same period to learn from: it expects orders (fewer than came: the
        # 6-minute period fills part of one slot, smoothed with empty neighbours), never more than came.
        assert 0.1 * m["orders"] < m["forecast_orders"] < m["orders"], name
        assert "forecast" in (folder / "forecast.html").read_text()


def test_history_is_earlier_days_of_the_same_period() -> None:
    """The forecast's history: orders of the replay's period on earlier days, none of them the replay's."""
    world = CityWorld("helsinki", TINY, "ortools", "forecast")
    history = world.history(3)
    day_ms = 86_400_000
    days = {(world.t0_ms - o.placed_at_ms) // day_ms for o in history}
    assert days == {0, 1, 2}  # 1, 2 and 3 days before (floored)
    assert all((world.t0_ms - o.placed_at_ms) % day_ms > day_ms - TINY.duration_h * 3_600_000 for o in history)
    assert not {o.order_id for o in history} & set(world.orders)
    assert {o.merchant_id for o in history} <= set(world.merchant_of)


def test_districts_move_demand_along_the_city() -> None:
    """A scenario with districts: the merchants split into bands of equal count along the city's long axis,
    each band's orders follow its own curve (the first district's early, the second's late), on the replay's
    day and on the history's days alike, and every door lies in its merchant's area."""
    moving = replace(TINY, duration_h=1.0, area_radius_m=2_000.0,
                     districts=({"11": 120.0, "11.5": 0.0}, {"11": 0.0, "11.5": 0.0, "12": 120.0}))  # fmt: skip
    world = CityWorld("helsinki", moving, "ortools", "forecast")
    first, second = world.districts
    assert abs(len(first) - len(second)) <= 1 and len(first) + len(second) == len(world.merchants)
    band = {m.id: k for k, d in enumerate(world.districts) for m in d}
    # Bands, not a mixture: every merchant of the second band lies further along the axis than the first's.
    assert len(band) == len(world.merchants)
    placed = [(o.placed_s, band[o.merchant]) for o in world.orders.values()]
    early = [k for s, k in placed if s < 900]
    late = [k for s, k in placed if s > 2_700]
    assert early and late and set(early) == {0} and set(late) == {1}
    for o in world.orders.values():
        m = world.merchant_of[o.merchant].position
        assert haversine_m(m.lat, m.lng, o.dropoff_at.lat, o.dropoff_at.lng) <= 2_000
    day_ms, t0_day = 86_400_000, world.t0_ms % 86_400_000
    for o in world.history(2):
        s = ((o.placed_at_ms - t0_day) % day_ms) / 1000
        assert band[o.merchant_id] == (0 if s < 1_800 else 1)
    with pytest.raises(ValueError, match="district"):
        replace(TINY, districts=({},))
    with pytest.raises(ValueError, match="districts or a chain"):
        replace(TINY, districts=({"11": 1.0},), chain_branches=2)
    # Without districts the city's curve is the scenario's own, as before.
    assert TINY.demand_at(11.0) == 90.0 and moving.demand_at(11.25) == pytest.approx(60.0 + 0.0)


async def test_quoted_fees_are_reported_and_leave_dispatch_unchanged(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """Every order of a replay with 1.5-km areas is quoted at placement through the pricing engine (or its
    refusal kept), the fees reach metrics.json, the text table and the heat map, and dispatch's decisions are
    those of the same replay without quotes."""
    scenario = replace(TINY, area_radius_m=1_500.0, rider_surge_share_bp=5_000)
    client = redis_client(redis_server.url)
    try:
        quoted = await replay_city("helsinki", scenario, "greedy", client)
        plain = await replay_city("helsinki", scenario, "greedy", client, quotes=False)
    finally:
        await client.aclose()

    def decisions(r: ReplayResult) -> list[tuple[object, ...]]:
        return [(o.order_id, o.merchant, o.rider, o.assigned_s, o.pickup_s, o.dropoff_s, o.final_status)
                for o in r.orders]  # fmt: skip

    assert decisions(quoted) == decisions(plain)
    assert all(o.fee_fen is None and not o.quote_refused for o in plain.orders)
    for o in quoted.orders:
        assert (o.fee_fen is not None) != bool(o.quote_refused), o
        assert o.items_fen > 0 and o.small_order_fen == (min(300, 2_000 - o.items_fen) if o.items_fen < 2_000 else 0)
    m = report.metrics(quoted)
    fees = [o.fee_fen for o in quoted.orders if o.fee_fen is not None]
    assert fees and m["fee_mean_yuan"] == pytest.approx(sum(fees) / len(fees) / 100)
    assert min(fees) / 100 <= m["fee_p90_yuan"] <= max(fees) / 100 and m["surge_factor_mean"] >= 1.0
    surged = [o for o in quoted.orders if o.surge_fen > 0]
    assert m["surge_line_pct"] == pytest.approx(100 * len(surged) / len(fees))
    assert all(o.rider_surge_fen == o.surge_fen * 5_000 // 10_000 for o in surged)
    assert "fee_mean_yuan" not in report.metrics(plain)
    report.write_report({"greedy": quoted}, tmp_path)
    assert json.loads((tmp_path / "greedy" / "metrics.json").read_text())["fee_mean_yuan"] == m["fee_mean_yuan"]
    assert "fee_p90_yuan" in (tmp_path / "report.txt").read_text()
    assert "mean delivery fee" in (tmp_path / "greedy" / "heatmap.html").read_text()
