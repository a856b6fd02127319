"""Chain overflow (issue 21) through the real server: an order of a swamped branch served by a sibling, with its
stock, split and history; kept at its branch when the margin, the sibling's stock or its area says no;
retries give the same branch; bad settings refused naming the field."""

from __future__ import annotations

import asyncio

import grpc
import pytest
import redis

from serving.app import App
from serving.auth import Role
from tests.conftest import redis_snapshot
from tests.dispatch.api.helpers import bad_request_fields
from tests.merchants.helpers import count, item, record, sync
from tests.pricing.helpers import KAMPPI, Priced, helsinki_merchant, set_radius
from tests.settlement.helpers import rule, set_rule
from tongcheng.merchants.v1 import merchants_pb2 as mpb
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.settlement.v1 import settlement_pb2 as spb

# b1 in Kamppi is the swamped branch; b2 lies ~1.3 km north in Töölö, the customer next to it.
B2 = (60.1815, 24.9380)
DOOR = (60.1825, 24.9385)


async def chain(app: App, p: Priced, b2_crayfish: int = 10) -> None:
    """Branches b1 and b2 of chain c1, the same menu and split rule, crayfish in stock at both."""
    at = app.clock.now_ms() - 60_000
    for mid, where, crayfish in (("b1", KAMPPI, 10), ("b2", B2, b2_crayfish)):
        await helsinki_merchant(p, mid, where)
        m = (await p.merchants.GetMerchant(mpb.GetMerchantRequest(merchant_id=mid), metadata=p.md)).merchant
        m.chain_id = "c1"
        await p.merchants.UpsertMerchant(mpb.UpsertMerchantRequest(merchant=m), metadata=p.md)
        await sync(p, mid, "menu", item("crayfish", 8_800))  # type: ignore[arg-type]
        await record(p, mid, count(f"c-{mid}", "crayfish-v0", crayfish, at))  # type: ignore[arg-type]
        await set_rule(p, rule(mid))  # type: ignore[arg-type]


async def set_overflow(p: Priced, margin_s: int = 60, backlog: int = 2, enabled: bool = True) -> None:
    await p.merchants.SetChainOverflow(
        mpb.SetChainOverflowRequest(chain_id="c1", overflow=mpb.ChainOverflow(
            enabled=enabled, backlog_orders=backlog, late_prep_s=0, margin_s=margin_s)),
        metadata=p.md,
    )  # fmt: skip


def chain_order(order_id: str, to: tuple[float, float] = DOOR, quantity: int = 1) -> opb.CreateOrderRequest:
    request = opb.CreateOrderRequest(
        order_id=order_id, merchant_id="b1", chain_id="c1", delivery_fee_fen=500,
        pickup=opb.LatLng(lat=KAMPPI[0], lng=KAMPPI[1]), dropoff=opb.LatLng(lat=to[0], lng=to[1]), item_count=1,
    )  # fmt: skip
    request.lines.append(opb.OrderLine(item_id="crayfish", variant_id="crayfish-v0", quantity=quantity))
    return request


async def create(p: Priced, request: opb.CreateOrderRequest) -> opb.CreateOrderResponse:
    return await p.orders.CreateOrder(request, metadata=p.md)


async def pay(p: Priced, o: opb.Order) -> opb.Order:
    request = opb.PayOrderRequest(order_id=o.order_id, payment_id=f"pay-{o.order_id}", amount_fen=o.total_fen)
    return (await p.orders.PayOrder(request, metadata=p.md)).order


async def swamp_b1(p: Priced, orders: int = 2) -> None:
    """Paid orders at b1 reach dispatch, whose prep model counts them into b1's backlog."""
    for k in range(orders):
        o = (await create(p, chain_order(f"early{k}", to=(60.1690, 24.9400)))).order
        assert o.merchant_id == "b1"
        await pay(p, o)


async def reserved(p: Priced, merchant_id: str) -> int:
    reply = await p.merchants.GetStock(
        mpb.GetStockRequest(merchant_id=merchant_id, variant_ids=["crayfish-v0"]), metadata=p.md
    )
    return reply.levels[0].reserved


async def test_an_order_of_a_swamped_branch_is_served_by_its_sibling(pricing_app: App, priced) -> None:  # type: ignore[no-untyped-def]
    """b1 has 2 open orders (the threshold): an order to a door next to b2 goes to b2 — its merchant, pickup,
    stock reservation and split are b2's, it remembers b1, and its history says why."""
    p: Priced = priced()
    await chain(pricing_app, p)
    await set_overflow(p)
    await swamp_b1(p)
    o = (await create(p, chain_order("o1"))).order
    assert (o.merchant_id, o.placed_merchant_id, o.chain_id) == ("b2", "b1", "c1")
    assert (o.pickup.lat, o.pickup.lng) == B2
    assert (await reserved(p, "b2"), await reserved(p, "b1")) == (1, 0)
    got = await p.orders.GetOrder(opb.GetOrderRequest(order_id="o1"), metadata=p.md)
    note = got.history[0].note
    assert note.startswith("overflow from b1 (backlog 2 orders): predicted ready") and "than b2" in note, note
    paid = await pay(p, o)
    split = (await p.settlement.GetSplit(spb.GetSplitRequest(order_id="o1"), metadata=p.md)).split
    assert paid.merchant_id == "b2" and split.rule.startswith("merchant:b2#")
    assert {leg.receiver for leg in split.legs} >= {"merchant:b2", "head_office:c1"}
    assert "merchant:b1" not in {leg.receiver for leg in split.legs}


async def test_a_retry_gives_the_same_branch_whatever_the_load_now(pricing_app: App, priced) -> None:  # type: ignore[no-untyped-def]
    """The same CreateOrder again answers the stored order at b2, even with overflow turned off meanwhile; an
    order not moved stays unmoved on retry though b1 is now swamped; another body under the id is refused."""
    p: Priced = priced()
    await chain(pricing_app, p)
    await set_overflow(p)
    first = (await create(p, chain_order("calm"))).order  # b1 not swamped yet
    assert (first.merchant_id, first.placed_merchant_id) == ("b1", "")
    await swamp_b1(p)
    moved = (await create(p, chain_order("o1"))).order
    assert moved.merchant_id == "b2"
    await set_overflow(p, enabled=False)
    again = await create(p, chain_order("o1"))
    assert not again.created and (again.order.merchant_id, again.order.placed_merchant_id) == ("b2", "b1")
    await set_overflow(p)
    calm = await create(p, chain_order("calm"))
    assert not calm.created and calm.order.merchant_id == "b1"
    assert (await reserved(p, "b2"), await reserved(p, "b1")) == (1, 1)  # o1 at b2; calm at b1 (early ones sold)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(p, chain_order("o1", quantity=2))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err.value) == ["order_id"]


@pytest.mark.parametrize("why", ["margin", "stock", "area", "off", "not swamped"])
async def test_the_order_stays_at_its_branch(pricing_app: App, priced, why: str) -> None:  # type: ignore[no-untyped-def]
    """No move when the sibling's earlier drop-off is under the margin, it lacks the stock, its delivery area
    does not reach the door, the chain has overflow off, or the branch is not swamped."""
    p: Priced = priced()
    await chain(pricing_app, p, b2_crayfish=0 if why == "stock" else 10)
    await set_overflow(p, margin_s=3_600 if why == "margin" else 60, enabled=why != "off")
    if why == "area":
        await set_radius(p, "b2", 50.0)
    if why != "not swamped":
        await swamp_b1(p)
    o = (await create(p, chain_order("o1"))).order
    assert (o.merchant_id, o.placed_merchant_id) == ("b1", "")
    assert (o.pickup.lat, o.pickup.lng) == KAMPPI
    assert await reserved(p, "b2") == 0
    got = await p.orders.GetOrder(opb.GetOrderRequest(order_id="o1"), metadata=p.md)
    assert got.history[0].note == "created"


async def test_settings_are_kept_and_bad_ones_refused_naming_the_field(
    pricing_app: App, priced, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """GetChainOverflow returns what was set (defaults, off, before); a negative threshold or margin, or a chain no
    merchant names, is INVALID_ARGUMENT naming the field, and Redis is unchanged."""
    p: Priced = priced()
    await chain(pricing_app, p)
    before = await p.merchants.GetChainOverflow(mpb.GetChainOverflowRequest(chain_id="c1"), metadata=p.md)
    assert not before.configured and not before.overflow.enabled
    await set_overflow(p, margin_s=240, backlog=6)
    got = await p.merchants.GetChainOverflow(mpb.GetChainOverflowRequest(chain_id="c1"), metadata=p.md)
    o = got.overflow
    assert got.configured and (o.enabled, o.backlog_orders, o.margin_s) == (True, 6, 240)
    snapshot = redis_snapshot(redis_sync)
    cases = [
        ("c1", mpb.ChainOverflow(enabled=True, backlog_orders=-1, margin_s=-5), ["overflow.backlog_orders",
                                                                                  "overflow.margin_s"]),
        ("c1", mpb.ChainOverflow(enabled=True, late_prep_s=-60), ["overflow.late_prep_s"]),
        ("nobody", mpb.ChainOverflow(enabled=True), ["chain_id"]),
        ("bad id!", mpb.ChainOverflow(enabled=True), ["chain_id"]),
    ]  # fmt: skip
    for chain_id, overflow, fields in cases:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await p.merchants.SetChainOverflow(
                mpb.SetChainOverflowRequest(chain_id=chain_id, overflow=overflow), metadata=p.md
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_request_fields(err.value) == fields
    assert redis_snapshot(redis_sync) == snapshot
    merchant = priced(Role.MERCHANT, "b1")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await merchant.merchants.SetChainOverflow(
            mpb.SetChainOverflowRequest(chain_id="c1", overflow=mpb.ChainOverflow()), metadata=merchant.md
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED  # a branch may not set its chain's settings


async def test_concurrent_first_attempts_of_one_order_reserve_at_one_branch(pricing_app: App, priced) -> None:  # type: ignore[no-untyped-def]
    """Several identical CreateOrder calls at once, while ops turn overflow on and off among them: every answer
    names the same branch, and the order holds stock at that branch only (one crayfish reserved per order in all)."""
    p: Priced = priced()
    await chain(pricing_app, p)
    await set_overflow(p)
    await swamp_b1(p)
    rounds = 6
    for n in range(rounds):
        request = chain_order(f"race{n}")
        calls = [create(p, request) for _ in range(4)]
        calls.insert(2, set_overflow(p, enabled=n % 2 == 1))  # off, on, off, ...: decisions differ within a round
        replies = [r for r in await asyncio.gather(*calls) if isinstance(r, opb.CreateOrderResponse)]
        assert len({r.order.merchant_id for r in replies}) == 1, n
        assert sum(r.created for r in replies) == 1, n
        assert await reserved(p, "b1") + await reserved(p, "b2") == n + 1, n
