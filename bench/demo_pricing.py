"""Delivery areas and prices in `make demo` (issue 21): a noodle bar's 1-km area, an order outside it
refused, "who delivers here" a page at a time (open merchants only), a quote with its breakdown and a small
basket's small-order line, the busy-area surge rising when orders outnumber free riders (it runs
before the demo's riders come online), an order paid at the quoted fee, and chain overflow: while the bar is
swamped, an order of its chain goes to the sibling branch that promises the earlier drop-off."""

from __future__ import annotations

import time

import grpc

from serving.auth import Role, TokenIssuer
from serving.timestamps import ms_to_ts
from tongcheng.dispatch.v1 import dispatch_pb2 as dpb
from tongcheng.dispatch.v1 import dispatch_pb2_grpc
from tongcheng.merchants.v1 import merchants_pb2 as mpb
from tongcheng.merchants.v1 import merchants_pb2_grpc
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.orders.v1 import orders_pb2_grpc
from tongcheng.pricing.v1 import pricing_pb2 as pb
from tongcheng.pricing.v1 import pricing_pb2_grpc
from tongcheng.settlement.v1 import settlement_pb2 as spb
from tongcheng.settlement.v1 import settlement_pb2_grpc

SHOP = (60.1710, 24.9453)  # the middle of the default city's extract
NEAR = (60.1722, 24.9470)  # ~160 m away: inside the area
FAR = (60.1830, 24.9500)  # ~1.35 km away: outside it
SIBLING = (60.1825, 24.9505)  # the chain's other branch, next to FAR
TOWARD_SIBLING = (60.1800, 24.9490)  # ~1 km from the bar, ~300 m from its sibling


def _md(issuer: TokenIssuer, role: Role, subject: str = "") -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {issuer.mint(role, subject)}"),)


def _lines(q: pb.Quote) -> list[str]:
    return [f"      {x.label:<40} {x.amount_fen / 100:>7.2f}" for x in q.lines] + [
        f"      {'= delivery fee':<40} {q.fee_fen / 100:>7.2f} yuan"
    ]


async def run_pricing_demo(channel: grpc.aio.Channel, issuer: TokenIssuer) -> list[str]:
    """Drives the scenario through the API; returns the lines to print."""
    merchants = merchants_pb2_grpc.MerchantServiceStub(channel)
    pricing = pricing_pb2_grpc.PricingServiceStub(channel)
    orders = orders_pb2_grpc.OrderServiceStub(channel)
    dispatch = dispatch_pb2_grpc.DispatchServiceStub(channel)
    settlement = settlement_pb2_grpc.SettlementServiceStub(channel)
    ops, svc = _md(issuer, Role.OPS), _md(issuer, Role.ORDER_SERVICE)
    shop, member = _md(issuer, Role.MERCHANT, "noodle-bar"), _md(issuer, Role.MEMBER, "u-demo")
    out: list[str] = []
    place = mpb.LatLng(lat=SHOP[0], lng=SHOP[1])
    merchant = mpb.Merchant(merchant_id="noodle-bar", name="兰州拉面 Noodle Bar", location=place,
                            category=mpb.MERCHANT_CATEGORY_RESTAURANT, time_zone="Europe/Helsinki",
                            chain_id="lanzhou")  # fmt: skip
    await merchants.UpsertMerchant(mpb.UpsertMerchantRequest(merchant=merchant), metadata=ops)
    await settlement.SetSplitRule(
        spb.SetSplitRuleRequest(rule=spb.SplitRule(merchant_id="noodle-bar",
                                                   platform_commission=spb.Share(basis_points=500),
                                                   rider_delivery_fee=spb.Share(basis_points=800))),
        metadata=ops,
    )  # fmt: skip
    rules = (await pricing.GetPricingRules(pb.GetPricingRulesRequest(), metadata=ops)).rules
    rules.rider_surge_share_bp = 5_000  # riders get half of any busy-area fee
    await pricing.SetPricingRules(pb.SetPricingRulesRequest(rules=rules), metadata=ops)

    area = (await pricing.SetDeliveryArea(
        pb.SetDeliveryAreaRequest(merchant_id="noodle-bar", radius_m=1_000), metadata=shop)).area  # fmt: skip
    out.append(f"  noodle-bar delivers within 1 km: {area.cell_count} H3 cells of resolution {area.h3_resolution}")
    for name, at in (("a door 160 m away", NEAR), ("a door 1.35 km away", FAR)):
        found = await pricing.FindMerchantsDelivering(
            pb.FindMerchantsDeliveringRequest(location=pb.LatLng(lat=at[0], lng=at[1])), metadata=member
        )
        out.append(f"  who delivers to {name} (open now, first page): {', '.join(found.merchant_ids) or 'nobody'}")
    out += await _paged_lookup(merchants, pricing, ops, member)

    def order(order_id: str, at: tuple[float, float], token: str = "") -> opb.CreateOrderRequest:
        return opb.CreateOrderRequest(
            order_id=order_id, merchant_id="noodle-bar", items_fen=3_600, pickup=opb.LatLng(lat=SHOP[0], lng=SHOP[1]),
            dropoff=opb.LatLng(lat=at[0], lng=at[1]), item_count=2, delivery_quote=token,
        )  # fmt: skip

    stamp = time.time_ns() // 1_000_000
    try:
        await orders.CreateOrder(order(f"far-{stamp}", FAR), metadata=svc)
        out.append("  !! an order outside the area was accepted")
    except grpc.aio.AioRpcError as err:
        out.append(f"  an order to the door 1.35 km away: {err.code().name}, {err.details()}")

    def quote_request() -> pb.QuoteDeliveryRequest:
        return pb.QuoteDeliveryRequest(merchant_id="noodle-bar", dropoff=pb.LatLng(lat=NEAR[0], lng=NEAR[1]),
                                       item_count=2, items_fen=3_600)  # fmt: skip

    calm = (await pricing.QuoteDelivery(quote_request(), metadata=member)).quote
    out.append(
        f"  quote to the door 160 m away ({calm.road_distance_m:.0f} m by road, ride {calm.ride_time_s / 60:.1f} min):"
    )
    out += _lines(calm)
    small = quote_request()
    small.items_fen, small.item_count = 1_200, 1  # one bowl of noodles: under the small-order threshold
    tiny = (await pricing.QuoteDelivery(small, metadata=member)).quote
    out.append(f"  the same door with a basket of {small.items_fen / 100:.2f} yuan (under {rules.small_order_below_fen / 100:.2f}, "
               f"the shortfall up to {rules.small_order_fee_fen / 100:.2f}):")  # fmt: skip
    out += _lines(tiny)

    # A rush: 40 orders waiting at the bar (their food ready in 30 minutes) and no rider online yet.
    now = time.time_ns() // 1_000_000
    rush = [
        dpb.Order(order_id=f"rush-{stamp}-{i}", merchant_id="noodle-bar", pickup=dpb.LatLng(lat=SHOP[0], lng=SHOP[1]),
                  dropoff=dpb.LatLng(lat=NEAR[0], lng=NEAR[1]), placed_at=ms_to_ts(now), item_count=1,
                  ready_at_hint=ms_to_ts(now + 1_800_000))
        for i in range(40)
    ]  # fmt: skip
    await dispatch.AssignRiders(dpb.AssignRidersRequest(orders=rush, no_wait=True), metadata=svc)
    # The server refreshes every 10 s by itself; one refresh now for the demo.
    refreshed = await pricing.RefreshSurge(pb.RefreshSurgeRequest(), metadata=ops)
    cell = max(refreshed.cells, key=lambda c: c.open_orders)
    out.append(
        f"  a rush: {cell.open_orders} orders waiting and {cell.free_riders} free riders in the bar's cell "
        f"-> smoothed {cell.smoothed_ratio:.1f} orders per free rider, surge x{cell.factor:.1f}"
    )
    shrunk = (await pricing.GetDeliveryArea(pb.GetDeliveryAreaRequest(merchant_id="noodle-bar"), metadata=ops)).area
    out.append(f"  the bar's area shrinks while its riders are saturated: {shrunk.shrunk_rings} outer ring(s) off, "
               f"{shrunk.active_cell_count} of {shrunk.cell_count} cells")  # fmt: skip
    busy = (await pricing.QuoteDelivery(quote_request(), metadata=member)).quote
    out.append(f"  quote now (riders get {busy.rider_surge_fen / 100:.2f} of the busy-area fee):")
    out += _lines(busy)

    created = (await orders.CreateOrder(order(f"quoted-{stamp}", NEAR, busy.token), metadata=svc)).order
    rules.base_fen += 300
    await pricing.SetPricingRules(pb.SetPricingRulesRequest(rules=rules), metadata=ops)
    paid = (await orders.PayOrder(
        opb.PayOrderRequest(order_id=created.order_id, payment_id=f"pay-{stamp}", amount_fen=created.total_fen,
                            delivery_quote=busy.token), metadata=svc)).order  # fmt: skip
    after = (await pricing.QuoteDelivery(quote_request(), metadata=member)).quote
    out.append(
        f"  ordered with the quote, base fee then raised by 3 yuan (a new quote: {after.fee_fen / 100:.2f}); paid "
        f"{paid.paid_fen / 100:.2f} = goods {paid.items_fen / 100:.2f} + the quoted {paid.delivery_fee_fen / 100:.2f}"
    )
    out += await _overflow(merchants, orders, ops, svc, stamp, len(rush))
    for o in rush:  # the rush was only for show: out of the pool before the riders come
        await dispatch.CancelOrder(dpb.CancelOrderRequest(order_id=o.order_id, reason="demo rush over"), metadata=svc)
    return out


async def _paged_lookup(merchants: merchants_pb2_grpc.MerchantServiceStub, pricing: pricing_pb2_grpc.PricingServiceStub,
                        ops: tuple[tuple[str, str], ...], member: tuple[tuple[str, str], ...]) -> list[str]:  # fmt: skip
    """Five stalls of a night market around the corner deliver to the same door, one shut for the night: a
    customer app pages through the open ones, two at a time."""
    for i in range(5):
        stall = mpb.Merchant(merchant_id=f"stall-{i}", name=f"夜市 stall {i}", time_zone="Europe/Helsinki",
                             location=mpb.LatLng(lat=SHOP[0] + 0.0004 * i, lng=SHOP[1] - 0.0006),
                             category=mpb.MERCHANT_CATEGORY_RESTAURANT)  # fmt: skip
        await merchants.UpsertMerchant(mpb.UpsertMerchantRequest(merchant=stall), metadata=ops)
        await pricing.SetDeliveryArea(pb.SetDeliveryAreaRequest(merchant_id=f"stall-{i}", radius_m=800), metadata=ops)
    await merchants.SetMerchantStatus(
        mpb.SetMerchantStatusRequest(merchant_id="stall-2", status=mpb.MERCHANT_STATUS_CLOSED), metadata=ops
    )
    pages, token = [], ""
    while True:
        reply = await pricing.FindMerchantsDelivering(
            pb.FindMerchantsDeliveringRequest(location=pb.LatLng(lat=NEAR[0], lng=NEAR[1]), page_size=2,
                                              page_token=token), metadata=member)  # fmt: skip
        pages.append("[" + ", ".join(reply.merchant_ids) + "]")
        token = reply.next_page_token
        if not token:
            break
    return [f"  after a night market's five stalls open nearby (stall-2 closed), pages of 2 for the same door: "
            f"{' '.join(pages)}"]  # fmt: skip


async def _overflow(merchants: merchants_pb2_grpc.MerchantServiceStub, orders: orders_pb2_grpc.OrderServiceStub,
                    ops: tuple[tuple[str, str], ...], svc: tuple[tuple[str, str], ...], stamp: int,
                    backlog: int) -> list[str]:  # fmt: skip
    """The bar is one of the Lanzhou chain's branches, swamped by the rush: an order of the chain placed there,
    to a door near its sibling, goes to the sibling."""
    sibling = mpb.Merchant(merchant_id="noodle-bar-2", name="兰州拉面 Noodle Bar 2", chain_id="lanzhou",
                           location=mpb.LatLng(lat=SIBLING[0], lng=SIBLING[1]),
                           category=mpb.MERCHANT_CATEGORY_RESTAURANT, time_zone="Europe/Helsinki")  # fmt: skip
    await merchants.UpsertMerchant(mpb.UpsertMerchantRequest(merchant=sibling), metadata=ops)
    settings = mpb.ChainOverflow(enabled=True, backlog_orders=10, late_prep_s=25 * 60, margin_s=60)
    await merchants.SetChainOverflow(mpb.SetChainOverflowRequest(chain_id="lanzhou", overflow=settings), metadata=ops)
    request = opb.CreateOrderRequest(
        order_id=f"chain-{stamp}", merchant_id="noodle-bar", chain_id="lanzhou", items_fen=3_600, delivery_fee_fen=500,
        pickup=opb.LatLng(lat=SHOP[0], lng=SHOP[1]), dropoff=opb.LatLng(lat=TOWARD_SIBLING[0], lng=TOWARD_SIBLING[1]),
        item_count=2,
    )  # fmt: skip
    o = (await orders.CreateOrder(request, metadata=svc)).order
    history = (await orders.GetOrder(opb.GetOrderRequest(order_id=o.order_id), metadata=svc)).history
    return [
        f"  chain overflow on (swamped at 10 open orders, margin 1 min); the bar has {backlog} waiting. An order "
        f"placed at {o.placed_merchant_id or o.merchant_id} is served by {o.merchant_id}:",
        f"      {history[0].note}",
    ]
