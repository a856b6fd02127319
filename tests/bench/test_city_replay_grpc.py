"""City replays through the gRPC API: a real server.py subprocess on a scaled clock, end to end."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import redis

from bench._server import ServerProcess
from bench.replay.__main__ import main
from bench.replay.report import write_report
from bench.replay.scenario import Scenario
from bench.replay.simulator import CityWorld, ReplayResult, replay_city
from bench.replay.via_grpc import SERVER_ZONES, SharedClock, record_history, replay_city_grpc, server_args
from dispatch.zones import ZoneSpec, make_zoning
from forecast import DemandForecast
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis

# The short scenario's shape, shortened so that a replay at 200x takes seconds of real time.
TINY = Scenario("tiny", duration_h=0.1, riders=6, demand_per_hour={"11": 90.0}, prep_mean_min=(4.0, 8.0))
SPEED = 200.0
FINAL_STATES = {"pending", "assigned", "accepted", "at_merchant", "picked_up", "delivered", "rejected", "cancelled"}


def assert_every_order_accounted_for(result: ReplayResult) -> None:
    """Each order reached the server and ends delivered, refused with a reason, or open in a known state."""
    for o in result.orders:
        assert o.final_status in FINAL_STATES, (o.order_id, o.final_status)
        if o.final_status == "rejected":
            assert o.reason, o.order_id
        if o.dropoff_s is not None:
            assert o.final_status == "delivered", (o.order_id, o.final_status)


async def test_short_scenario_via_grpc_end_to_end(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """The replay starts server.py on a free port and a 200x clock, serves every order through the API
    (nothing lost), writes the same report as in process, and lands close to the in-process run."""
    t0 = time.monotonic()
    via_grpc = await replay_city_grpc("helsinki", TINY, "greedy", SPEED)
    grpc_wall_s = time.monotonic() - t0
    client = redis_client(redis_server.url)
    try:
        in_process = await replay_city("helsinki", TINY, "greedy", client)
    finally:
        await client.aclose()
    table = write_report({"greedy-in-process": in_process, "greedy-grpc": via_grpc}, tmp_path)

    assert [o.order_id for o in via_grpc.orders] == [o.order_id for o in in_process.orders]  # the same orders
    m = table["greedy-grpc"]
    assert m["orders"] > 3 and m["delivered"] >= m["orders"] - 1
    assert m["delivered"] + m["rejected"] + m["still_open"] == m["orders"]
    assert_every_order_accounted_for(via_grpc)
    assert abs(m["click_to_door_mean_min"] - table["greedy-in-process"]["click_to_door_mean_min"]) < 5
    api = via_grpc.api
    assert api["fixes sent"] == api["fixes accepted"] > 0 and api["fixes rejected"] == 0
    assert api["watch streams opened"] == TINY.riders and api["offers"] >= m["delivered"]
    assert api["UpdateTask"] >= 4 * m["delivered"]  # accept, arrived, picked up, delivered
    assert via_grpc.solve_ms, "tick figures read from the server's log"
    assert grpc_wall_s < 45

    saved = json.loads((tmp_path / "greedy-grpc" / "metrics.json").read_text())
    assert saved["via"] == "grpc" and saved["delivered"] == m["delivered"] and saved["api"]["offers"] > 0
    assert "OpenStreetMap" in (tmp_path / "greedy-grpc" / "heatmap.html").read_text()
    for png in ("click_to_door.png", "orders_and_riders.png", "solve_time.png"):
        assert (tmp_path / png).read_bytes().startswith(b"\x89PNG")
    report = (tmp_path / "report.txt").read_text()
    assert "greedy-grpc" in report and "greedy-in-process" in report and "through the API" in report


async def test_replay_against_a_running_server(tmp_path: Path) -> None:
    """--server: a server started on a shared scaled clock is driven as is; ids are tagged per run."""
    scenario = Scenario("mini", duration_h=0.05, riders=4, demand_per_hour={"11": 90.0}, prep_mean_min=(3.0, 5.0))
    clock = SharedClock(1_781_078_400_000, SPEED, time.time_ns() // 1_000_000)
    world = CityWorld("helsinki", scenario, "hungarian")
    world.oracle.close()
    server = ServerProcess(tmp_path / "server", *server_args(world, "hungarian", "helsinki"), *clock.server_flags())
    server.start()
    try:
        result = await replay_city_grpc("helsinki", scenario, "hungarian", SPEED, server.address, clock,
                                        server.issuer())  # fmt: skip
    finally:
        assert server.stop() == 0
    assert result.via == "grpc" and len(result.orders) > 0
    assert sum(o.final_status == "delivered" for o in result.orders) >= len(result.orders) - 1
    assert_every_order_accounted_for(result)  # read back from the server with GetOrder


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--via", "grpc", "--speed", "1000"], "under 5 ms"),
        (["--via", "grpc", "--speed", "0"], "positive speed"),
        (["--via", "pigeon"], "--via takes"),
        (["--via", "grpc", "--server", "127.0.0.1:1"], "--clock-anchor-ms"),
        (["--server", "127.0.0.1:1"], "needs --via grpc"),
        (["--via", "grpc", "--server", "127.0.0.1:1", "--guidance", "forecast"], "--guidance forecast with --server"),
    ],
)
def test_bad_grpc_arguments_are_refused(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Speeds the server cannot tick at, unknown modes and a server without its clock are one clear line."""
    with pytest.raises(SystemExit) as exited:
        main(["--scenario", "short", *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


async def test_forecast_history_is_written_under_the_servers_zones_as_the_in_process_replay_learns_it(
    redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """record_history counts the 28 days of history in the forecast of each zone the server cuts the city into
    (every order in exactly one), and a zone's forecast of the replay's first slot equals what the in-process
    replay's own forecast gives from the same history."""
    world = CityWorld("helsinki", TINY, "greedy", "forecast")
    try:
        assert "--zones" in (args := server_args(world, "greedy", "helsinki")) and "guidance=forecast" in args
        recorded = await record_history(world, redis_server.url)
        zoning = make_zoning(world.config.city, ZoneSpec.parse(SERVER_ZONES))
        history = world.history(28)
        assert set(recorded) <= set(zoning.ids) and sum(recorded.values()) == len(history) > 100
        client = redis_client(redis_server.url)
        try:
            served = {}
            for zone_id in recorded:
                fc = DemandForecast(client, zone_id, world.config.forecast, world.oracle.tz)
                served.update({f.unit: f.total for f in await fc.cells(world.t0_ms, 1)})
            redis_sync.flushdb()
            alone = DemandForecast(client, "alone", world.config.forecast, world.oracle.tz)
            await alone.record(history, world.t0_ms)
            in_process = {f.unit: f.total for f in await alone.cells(world.t0_ms, 1)}
        finally:
            await client.aclose()
    finally:
        world.oracle.close()
    assert served and sum(served.values()) > 0
    if len(recorded) == 1:  # one zone: the very same forecast
        assert served == pytest.approx(in_process)
    else:  # the zones' shares are learnt apart; the city's total stays close
        assert sum(served.values()) == pytest.approx(sum(in_process.values()), rel=0.25)


async def test_guidance_by_forecast_through_grpc(tmp_path: Path) -> None:
    """--guidance forecast --via grpc: the replay loads the history into the Redis it starts the server on
    (with guidance=forecast), and every order is served through the API."""
    result = await replay_city_grpc("helsinki", TINY, "greedy", SPEED, guidance="forecast")
    assert result.guidance == "forecast" and result.via == "grpc"
    assert result.api["forecast history orders"] > 100
    assert_every_order_accounted_for(result)
    assert sum(o.final_status == "delivered" for o in result.orders) >= len(result.orders) - 1
