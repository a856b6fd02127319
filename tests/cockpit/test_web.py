"""The cockpit's HTTP side against the real server: who may see what, bad queries, and the live city and a
merchant's day as the API makes them (riders, offers, deliveries, sales, statements)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import aiohttp
import grpc
import h3
import redis

from core.clock import ManualClock
from serving.app import App
from serving.auth import Role, TokenIssuer
from serving.embedded_redis import EmbeddedRedis
from tests.cockpit.conftest import Web
from tests.conftest import Caller, server_config
from tests.dispatch.api.helpers import KAMPPI, TOOLO, fix, order, stream_fixes
from tests.loyalty.conftest import Points
from tests.merchants.helpers import Supply, create_merchant
from tests.settlement.helpers import Money, create_and_pay, new_order, rule, set_rule
from tongcheng.dispatch.v1 import dispatch_pb2 as dpb
from tongcheng.orders.v1 import orders_pb2 as opb

Make = Callable[..., object]


async def test_pages_and_data_need_a_token_of_the_right_role(web: Make, web_app: App) -> None:
    anon, bad = web(None), web(None, token="not-a-token")
    for path in ("/api/ops/snapshot", "/api/ops/heat", "/api/city", "/api/city/roads", "/api/merchant/m1/summary",
                 "/api/merchant/m1/statement", "/api/session"):  # fmt: skip
        status, body = await anon.get(path)
        assert status == 401 and set(body) == {"error"}, path
        status, body = await bad.get(path)
        assert status == 401 and "invalid token" in body["error"], path
    status, _ = await anon.get("/ops")
    assert status == 302  # a page sends the browser to sign in
    for role, sid in ((Role.RIDER, "r1"), (Role.MEMBER, "u1"), (Role.ORDER_SERVICE, "")):
        someone = web(role, sid)
        for path in ("/api/ops/snapshot", "/api/ops/stream", "/api/city", "/api/merchant/m1/summary", "/ops"):
            status, body = await someone.get(path)
            assert status == 403 and set(body) == {"error"}, (role, path)
    m1 = web(Role.MERCHANT, "m1")
    for path in ("/api/ops/snapshot", "/api/ops/heat", "/ops", "/api/merchant/m2/summary",
                 "/api/merchant/m2/statement", "/merchant/m2"):  # fmt: skip
        status, body = await m1.get(path)
        assert status == 403 and set(body) == {"error"}, path
    status, body = await m1.get("/api/merchant/m1/summary")
    assert status == 200 and body["orders_today"] == 0
    status, page = await m1.get("/merchant/m1")
    assert status == 200 and "merchant.js" in page
    status, page = await web(Role.OPS).get("/ops")
    assert status == 200 and "ops.js" in page


async def test_sign_in_sets_a_cookie_that_pages_and_streams_accept(web_app: App, web_issuer: TokenIssuer) -> None:
    base = f"http://127.0.0.1:{web_app.http_port}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:  # unsafe: an IP address
        async with s.post(base + "/api/session", json={"token": "forged"}) as r:
            assert r.status == 401 and "tc_token" not in r.cookies
        async with s.post(base + "/api/session", data=b"{not json") as r:
            assert r.status == 400 and (await r.json())["field"] == "token"
        async with s.post(base + "/api/session", json={"token": web_issuer.mint(Role.MERCHANT, "m7")}) as r:
            assert r.status == 200 and (await r.json())["home"] == "/merchant/m7"
        async with s.get(base + "/api/merchant/m7/summary") as r:
            assert r.status == 200
        async with s.get(base + "/api/merchant/m8/summary") as r:
            assert r.status == 403
        async with s.delete(base + "/api/session") as r:
            assert r.status == 200
        async with s.get(base + "/api/merchant/m7/summary") as r:
            assert r.status == 401


async def test_bad_queries_are_400_naming_the_parameter(web: Make) -> None:
    ops = web(Role.OPS)
    for query, field in (
        ("layer=stock", "layer"),
        ("res=4", "res"),
        ("res=10", "res"),
        ("res=eight", "res"),
        ("from_ms=2000&to_ms=1000", "from_ms"),
        ("from_ms=0&to_ms=90000000", "to_ms"),  # over 24 hours
        ("from_ms=-5&to_ms=1000", "from_ms"),
        ("to_ms=1e12", "to_ms"),
    ):
        status, body = await ops.get("/api/ops/heat?" + query)
        assert status == 400 and body["field"] == field, (query, body)
    status, body = await ops.get("/api/merchant/m1/statement?day=2026-02-30")
    assert status == 400 and body["field"] == "business_day"
    status, body = await ops.get("/api/merchant/m1/statement?day=2026-03-01&format=xml")
    assert status == 400 and body["field"] == "format"
    status, body = await ops.get("/api/merchant/m1/statement?day=2026-03-01")
    assert status == 404  # no settlement run for that day
    status, body = await ops.get("/api/merchant/" + "x" * 300 + "/summary")
    assert status == 400 and body["field"] == "merchant_id"


async def snapshot_until(ops: object, check: Callable[[dict], bool], timeout_s: float = 10.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        status, snap = await ops.get("/api/ops/snapshot")  # type: ignore[attr-defined]
        assert status == 200
        if check(snap):
            return snap
        assert asyncio.get_running_loop().time() < deadline, f"snapshot never matched: {json.dumps(snap)[:800]}"
        await asyncio.sleep(0.2)


def riders_of(snap: dict) -> dict[str, list]:
    return {row[0]: row for row in snap["riders"]}


async def test_the_live_city_follows_riders_offers_and_deliveries(
    web: Make, web_app: App, web_issuer: TokenIssuer
) -> None:
    ops = web(Role.OPS)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{web_app.port}") as ch:
        svc = Caller(ch, web_issuer.mint(Role.ORDER_SERVICE))
        riders = {rid: Caller(ch, web_issuer.mint(Role.RIDER, rid)) for rid in ("r1", "r2", "r3")}
        spots = {"r1": (60.1702, 24.9425), "r2": (60.1650, 24.9350), "r3": (60.1600, 24.9300)}
        for rid, (lat, lng) in spots.items():
            await stream_fixes(riders[rid], [[fix(rid, lat, lng)]])
        snap = await snapshot_until(ops, lambda s: len(s["riders"]) == 3)
        assert {r[3] for r in snap["riders"]} == {"free"} and snap["kpis"]["riders_free"] == 3
        assert riders_of(snap)["r2"][1:3] == [round(spots["r2"][0], 5), round(spots["r2"][1], 5)]

        await svc.stub.AssignRiders(dpb.AssignRidersRequest(orders=[order("o1")], no_wait=True), metadata=svc.metadata)
        snap = await snapshot_until(ops, lambda s: any(r[3] == "offered" for r in s["riders"]))
        [offered] = [r for r in snap["riders"] if r[3] == "offered"]
        rid = offered[0]
        assert offered[4:6] == [round(KAMPPI[0], 5), round(KAMPPI[1], 5)]  # its line goes to the counter
        assert snap["kpis"]["riders_busy"] == 1 and snap["kpis"]["open_orders"] == 1
        got = await svc.stub.GetOrder(dpb.GetOrderRequest(order_id="o1"), metadata=svc.metadata)
        [o1] = snap["orders"]
        assert o1[0] == "o1" and o1[1] == "assigned" and o1[2] == got.order.rider_id == rid

        rider = riders[rid]
        await rider.stub.UpdateTask(
            dpb.UpdateTaskRequest(rider_id=rid, order_id="o1", action=dpb.TASK_ACTION_ACCEPT), metadata=rider.metadata
        )
        await snapshot_until(ops, lambda s: riders_of(s)[rid][3] == "to_counter")
        await rider.stub.UpdateTask(
            dpb.UpdateTaskRequest(rider_id=rid, order_id="o1", action=dpb.TASK_ACTION_PICKED_UP),
            metadata=rider.metadata,
        )
        snap = await snapshot_until(ops, lambda s: riders_of(s)[rid][3] == "riding")
        assert riders_of(snap)[rid][4:6] == [round(TOOLO[0], 5), round(TOOLO[1], 5)]  # now to the door
        await rider.stub.UpdateTask(
            dpb.UpdateTaskRequest(rider_id=rid, order_id="o1", action=dpb.TASK_ACTION_DELIVERED),
            metadata=rider.metadata,
        )
        snap = await snapshot_until(ops, lambda s: s["kpis"]["delivered_last_hour"] == 1)
        assert snap["orders"] == [] and riders_of(snap)[rid][3] == "free"
        assert snap["kpis"]["click_to_door_min"] is not None and snap["kpis"]["late_share_pct"] == 0.0
        assert snap["kpis"]["orders_per_min"] == 1

    status, heat = await ops.get("/api/ops/heat?layer=demand&res=8")
    assert status == 200 and [(c["cell"], c["n"]) for c in heat["cells"]] == [(h3.latlng_to_cell(*KAMPPI, 8), 1)]
    assert len(heat["cells"][0]["boundary"]) == 6
    status, heat = await ops.get("/api/ops/heat?layer=delivered&res=9")
    assert [c["cell"] for c in heat["cells"]] == [h3.latlng_to_cell(*TOOLO, 9)]
    status, heat = await ops.get("/api/ops/heat?layer=late&res=7")
    assert heat["cells"] == []


async def test_the_stream_sends_a_snapshot_then_deltas_of_what_moved(
    web: Make, web_app: App, web_issuer: TokenIssuer
) -> None:
    ops = web(Role.OPS)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{web_app.port}") as ch:
        r1 = Caller(ch, web_issuer.mint(Role.RIDER, "r1"))
        await stream_fixes(r1, [[fix("r1", 60.1702, 24.9425)]])
        await snapshot_until(ops, lambda s: len(s["riders"]) == 1)
        async with ops.session.get(ops.base + "/api/ops/stream", headers=ops.headers) as r:  # type: ignore[attr-defined]
            assert r.status == 200 and r.content_type == "text/event-stream"
            events = _events(r)
            kind, snap = await asyncio.wait_for(anext(events), 5)
            assert kind == "snapshot" and [row[0] for row in snap["riders"]] == ["r1"]
            await stream_fixes(r1, [[fix("r1", 60.1710, 24.9440)]])
            while True:
                kind, delta = await asyncio.wait_for(anext(events), 5)
                assert kind == "delta"
                if delta["riders"]:
                    break
            assert delta["riders"][0][:3] == ["r1", 60.171, 24.944] and delta["version"] > snap["version"]


async def _events(r: aiohttp.ClientResponse):  # type: ignore[no-untyped-def]
    kind = ""
    async for raw in r.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            yield kind, json.loads(line[6:])


async def test_a_merchant_sees_its_day_and_a_head_office_its_branches(
    web: Make, web_app: App, web_issuer: TokenIssuer
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{web_app.port}") as ch:
        ops_token = web_issuer.mint(Role.OPS)
        m = Money(ch, ops_token)
        s = Supply(ch, ops_token)
        for mid in ("b1", "b2"):
            await create_merchant(s, mid, chain_id="c1")
            await set_rule(m, rule(mid))
        await create_and_pay(m, "o1", merchant_id="b1")
        await create_and_pay(m, "o2", merchant_id="b1", items_fen=19_500)
        await create_and_pay(m, "o3", merchant_id="b2")
        await m.orders.CreateOrder(new_order("o4", merchant_id="b2"), metadata=m.md)  # not paid: no sales

    b1 = web(Role.MERCHANT, "b1")
    status, day = await b1.get("/api/merchant/b1/summary")
    assert status == 200
    assert (day["orders_today"], day["paid_orders"], day["sales_fen"]) == (2, 2, 9_500 + 20_000)
    assert [o["order_id"] for o in day["orders"]] == ["o2", "o1"]  # newest first
    assert "branches" not in day
    status, _ = await b1.get("/api/merchant/b2/summary")
    assert status == 403

    head = web(Role.MERCHANT, "c1")
    status, chain = await head.get("/api/merchant/c1/summary")
    assert status == 200
    sides = {b["merchant_id"]: (b["orders_today"], b["paid_orders"], b["sales_fen"]) for b in chain["branches"]}
    assert sides == {"b1": (2, 2, 29_500), "b2": (2, 1, 9_500)}
    assert chain["chain_total"] == {"orders_today": 4, "paid_orders": 3, "sales_fen": 39_000}
    status, branch = await head.get("/api/merchant/b2/summary")  # a head office opens its branch
    assert status == 200 and branch["orders_today"] == 2
    status, _ = await head.get("/merchant/b1")
    assert status == 200
    status, _ = await web(Role.MERCHANT, "c2").get("/api/merchant/b1/summary")
    assert status == 403


async def test_coupons_and_points_used_at_checkout_heat_the_counters_cell(
    tmp_path: Path, redis_server: EmbeddedRedis, redis_sync: redis.Redis
) -> None:
    """A checkout with two coupons and 300 points: the coupons heat counts 2 and the points heat 300 at the
    counter's cell, read from the checkout events the payment's script appends."""
    from tests.commerce.orders.test_checkout import START_MS, checkout, setup

    app = App(server_config(tmp_path, redis_server.url, http_port=0), clock=ManualClock(START_MS))
    await app.start()
    try:
        assert app.private_key_file is not None
        issuer = TokenIssuer(app.private_key_file.read_bytes())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as ch:
            ops = Points(ch, issuer.mint(Role.OPS))
            await setup(ops)
            order, _ = await checkout(ops, "o1")
            assert len(order.coupons) == 2 and order.points == 300
            await ops.orders.PayOrder(
                opb.PayOrderRequest(order_id="o1", payment_id="pay-o1", amount_fen=order.amount_due_fen),
                metadata=ops.md,
            )
        async with aiohttp.ClientSession() as session:
            web = Web(session, f"http://127.0.0.1:{app.http_port}", issuer.mint(Role.OPS))
            window = f"&from_ms={START_MS - 3_600_000}&to_ms={START_MS + 60_000}"
            cell = h3.latlng_to_cell(*KAMPPI, 9)
            status, heat = await web.get("/api/ops/heat?layer=coupons&res=9" + window)
            assert status == 200 and [(c["cell"], c["n"]) for c in heat["cells"]] == [(cell, 2)]
            status, heat = await web.get("/api/ops/heat?layer=points&res=9" + window)
            assert [(c["cell"], c["n"]) for c in heat["cells"]] == [(cell, 300)]
    finally:
        await app.stop()
