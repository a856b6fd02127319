"""ForecastService through the real server: ops read the forecast and guidance's latest step, a merchant
gets restock hints with the numbers behind them; bad input is refused precisely and changes nothing."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
import redis

from core.clock import ManualClock
from dispatch.guidance import GuidanceConfig
from serving.app import App
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from serving.timestamps import ms_to_ts
from tests.conftest import now_ms, redis_snapshot, server_config
from tests.dispatch.api.helpers import KAMPPI, bad_request_fields, order
from tests.merchants.helpers import Supply, count, create_merchant, item, record, sync
from tongcheng.dispatch.v1 import dispatch_pb2 as dpb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc
from tongcheng.forecast.v1 import forecast_pb2 as pb
from tongcheng.forecast.v1 import forecast_pb2_grpc
from tongcheng.merchants.v1 import merchants_pb2 as mpb

START_MS = now_ms()


@pytest_asyncio.fixture
async def app(tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> AsyncIterator[App]:
    """Dispatch (ortools, guidance by recent orders every second), merchants and the forecast, on a clock the
    test moves."""
    overrides = {"offer_timeout_s": 30.0, "assign_wait_s": 0.5, "guidance": GuidanceConfig(every_s=1.0)}
    config = server_config(tmp_path, redis_server.url, policy="ortools", services=("dispatch", "merchants", "forecast"),
                           dispatch_overrides=overrides)  # fmt: skip
    application = App(config, ManualClock(START_MS))
    await application.start()
    yield application
    await application.stop()


class Caller:
    def __init__(self, channel: grpc.aio.Channel, token: str) -> None:
        self.forecast = forecast_pb2_grpc.ForecastServiceStub(channel)
        self.dispatch = dispatch_pb2_grpc.DispatchServiceStub(channel)
        self.md = (("authorization", f"Bearer {token}"),)


@pytest_asyncio.fixture
async def caller(app: App):  # type: ignore[no-untyped-def]
    assert app.private_key_file is not None
    issuer = TokenIssuer(app.private_key_file.read_bytes())
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as ch:

        def make(role: Role = Role.OPS, subject_id: str = "") -> Caller:
            return Caller(ch, issuer.mint(role, subject_id))

        def supply(role: Role = Role.OPS, subject_id: str = "") -> Supply:
            return Supply(ch, issuer.mint(role, subject_id))

        make.supply = supply  # type: ignore[attr-defined]
        yield make


async def place(caller, n: int, merchant_id: str = "shop") -> None:  # type: ignore[no-untyped-def]
    svc = caller(Role.ORDER_SERVICE)
    orders = [order(f"f{k}", merchant_id=merchant_id, placed_at_ms=START_MS) for k in range(n)]
    await svc.dispatch.AssignRiders(dpb.AssignRidersRequest(orders=orders, no_wait=True), metadata=svc.md, timeout=5)


async def test_ops_read_the_forecast_of_the_next_slots(app: App, caller) -> None:  # type: ignore[no-untyped-def]
    """Eight orders at a counter, twenty minutes ago: with no week of history, its cell expects its rate over
    the last hour (8 / 4 per slot) in each of the next four slots; coarser cells carry the same orders."""
    await place(caller, 8)
    assert isinstance(app.clock, ManualClock)
    app.clock.advance(20 * 60)
    ops = caller(Role.OPS)
    reply = await ops.forecast.GetDemandForecast(pb.GetDemandForecastRequest(), metadata=ops.md)
    assert reply.resolution == 8 and len(reply.slot_starts) == 4
    assert reply.slot_starts[1].seconds - reply.slot_starts[0].seconds == 900
    [cell] = reply.cells
    assert list(cell.expected_orders) == pytest.approx([2.0] * 4)
    assert (cell.place.lat, cell.place.lng) == pytest.approx(KAMPPI)
    coarse = await ops.forecast.GetDemandForecast(pb.GetDemandForecastRequest(slots=2, resolution=6), metadata=ops.md)
    assert [list(c.expected_orders) for c in coarse.cells] == [pytest.approx([2.0, 2.0])]
    pricing = caller(Role.ORDER_SERVICE)
    assert (await pricing.forecast.GetDemandForecast(pb.GetDemandForecastRequest(), metadata=pricing.md)).cells


async def test_ops_see_the_guidance_decision(app: App, caller) -> None:  # type: ignore[no-untyped-def]
    """After orders, guidance's step names its mode and the cells it spread riders over."""
    ops = caller(Role.OPS)
    before = await ops.forecast.GetGuidanceDecision(pb.GetGuidanceDecisionRequest(), metadata=ops.md)
    assert not before.found
    await place(caller, 3)
    for _ in range(100):
        reply = await ops.forecast.GetGuidanceDecision(pb.GetGuidanceDecisionRequest(), metadata=ops.md)
        if reply.found:
            break
        await asyncio.sleep(0.05)
    assert reply.found and reply.mode == "recent" and reply.zone_id
    [target] = reply.targets
    assert target.weight == 3 and (target.place.lat, target.place.lng) == pytest.approx(KAMPPI)
    assert list(reply.sent) == []  # no rider to send


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.GetDemandForecastRequest(slots=97), "slots"),
        (pb.GetDemandForecastRequest(slots=-1), "slots"),
        (pb.GetDemandForecastRequest(resolution=9), "resolution"),
        (pb.GetDemandForecastRequest(start_time=ms_to_ts(START_MS + 8 * 86_400_000)), "start_time"),
    ],
)
async def test_bad_forecast_requests_name_the_field(app: App, caller, request_, field: str) -> None:  # type: ignore[no-untyped-def]
    ops = caller(Role.OPS)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ops.forecast.GetDemandForecast(request_, metadata=ops.md)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(err.value) == [field]


async def test_roles_and_zones_are_checked(app: App, caller) -> None:  # type: ignore[no-untyped-def]
    rider = caller(Role.RIDER, "r1")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rider.forecast.GetDemandForecast(pb.GetDemandForecastRequest(), metadata=rider.md)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    pricing = caller(Role.ORDER_SERVICE)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await pricing.forecast.GetGuidanceDecision(pb.GetGuidanceDecisionRequest(), metadata=pricing.md)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    ops = caller(Role.OPS)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ops.forecast.GetDemandForecast(pb.GetDemandForecastRequest(zone_id="elsewhere"), metadata=ops.md)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def stocked_shop(caller) -> None:  # type: ignore[no-untyped-def]
    """A convenience store: 10 cups of instant noodles and 100 bottles of water counted; three orders sold
    4 noodles and 2 waters (4/3 and 2/3 units per order)."""
    ops = caller.supply(Role.OPS)
    await create_merchant(ops, "shop", category=mpb.MERCHANT_CATEGORY_CONVENIENCE)
    shop = caller.supply(Role.MERCHANT, "shop")
    await sync(shop, "shop", "pos-1", item("noodles", category="instant_food"), item("water", category="drinks"))
    await record(shop, "shop", count("c1", "noodles-v0", 10, START_MS - 60_000),
                 count("c2", "water-v0", 100, START_MS - 60_000))  # fmt: skip
    svc = caller.supply(Role.ORDER_SERVICE)
    for rid, lines in (("r1", [("noodles-v0", 2), ("water-v0", 1)]), ("r2", [("noodles-v0", 2)]),
                       ("r3", [("water-v0", 1)])):  # fmt: skip
        await svc.merchants.ReserveStock(mpb.ReserveStockRequest(
            merchant_id="shop", reservation_id=rid,
            lines=[mpb.StockLine(variant_id=v, quantity=q) for v, q in lines]), metadata=svc.md)  # fmt: skip
        await svc.merchants.CommitReservation(
            mpb.CommitReservationRequest(merchant_id="shop", reservation_id=rid), metadata=svc.md
        )


async def test_a_merchant_short_of_a_category_gets_a_restock_hint(app: App, caller, redis_sync) -> None:  # type: ignore[no-untyped-def]
    """Forecast 32 orders over 4 hours x 4/3 noodles per order = 42.7 noodles against 6 left: restock 37,
    6 left cover 0.56 h. Water (21.3 forecast, 98 left) is covered: no hint."""
    await stocked_shop(caller)
    await place(caller, 8)
    assert isinstance(app.clock, ManualClock)
    app.clock.advance(20 * 60)
    shop = caller(Role.MERCHANT, "shop")
    made = await shop.forecast.SuggestRestock(pb.SuggestRestockRequest(merchant_id="shop"), metadata=shop.md)
    [hint] = made.suggestions
    assert hint.category == "instant_food" and hint.horizon_hours == 4
    assert hint.expected_orders == pytest.approx(32.0)
    assert hint.units_per_order == pytest.approx(4 / 3, abs=1e-4)
    assert hint.forecast_units == pytest.approx(32 * 4 / 3, abs=0.01)
    assert hint.on_hand == 6
    assert hint.cover_hours == pytest.approx(6 / (32 * 4 / 3 / 4), abs=0.01)
    assert hint.suggested_units == math.ceil(32 * 4 / 3 - 6)
    kept = await shop.forecast.ListRestockSuggestions(pb.ListRestockSuggestionsRequest(merchant_id="shop"),
                                                      metadata=shop.md)  # fmt: skip
    assert list(kept.suggestions) == list(made.suggestions)
    assert redis_sync.hkeys("tc:{m:shop}:restock") == ["instant_food"]


async def test_bad_restock_requests_change_nothing(app: App, caller, redis_sync) -> None:  # type: ignore[no-untyped-def]
    """Another merchant's token, an unknown merchant, a horizon past a day: refused, Redis as it was."""
    await stocked_shop(caller)
    await place(caller, 8)
    # The orders' tick and guidance's first step come and go before the snapshot (the clock stands still
    # after them: nothing else is due).
    for _ in range(100):
        if redis_sync.exists("tc:{helsinki}:guidance:last"):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    before = redis_snapshot(redis_sync)
    other = caller(Role.MERCHANT, "other")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await other.forecast.SuggestRestock(pb.SuggestRestockRequest(merchant_id="shop"), metadata=other.md)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    ops = caller(Role.OPS)
    for request_, field in ((pb.SuggestRestockRequest(merchant_id="nobody"), "merchant_id"),
                            (pb.SuggestRestockRequest(merchant_id="shop", horizon_hours=25), "horizon_hours")):  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await ops.forecast.SuggestRestock(request_, metadata=ops.md)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_request_fields(err.value) == [field]
    assert redis_snapshot(redis_sync) == before


async def test_a_city_of_several_zones_is_forecast_whole(tmp_path: Path, redis_server: EmbeddedRedis,
                                                          redis_sync: redis.Redis) -> None:  # fmt: skip
    """Cut into res-6 zones: the forecast without a zone covers every zone; guidance's decision needs one."""
    config = server_config(tmp_path, redis_server.url, zones="6", services=("dispatch", "merchants", "forecast"))
    application = App(config, ManualClock(START_MS))
    await application.start()
    try:
        assert application.private_key_file is not None
        issuer = TokenIssuer(application.private_key_file.read_bytes())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{application.port}") as ch:
            svc, ops = Caller(ch, issuer.mint(Role.ORDER_SERVICE)), Caller(ch, issuer.mint(Role.OPS))
            orders = [order(f"z{k}", placed_at_ms=START_MS) for k in range(4)]
            await svc.dispatch.AssignRiders(dpb.AssignRidersRequest(orders=orders, no_wait=True), metadata=svc.md)
            application.clock.advance(20 * 60)  # type: ignore[attr-defined]
            reply = await ops.forecast.GetDemandForecast(pb.GetDemandForecastRequest(), metadata=ops.md)
            assert reply.zone_id == "" and [list(c.expected_orders) for c in reply.cells] == [[1.0] * 4]
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await ops.forecast.GetGuidanceDecision(pb.GetGuidanceDecisionRequest(), metadata=ops.md)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert bad_request_fields(err.value) == ["zone_id"]
    finally:
        await application.stop()
