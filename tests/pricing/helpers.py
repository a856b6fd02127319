"""Clients and builders for the pricing tests (Helsinki: the merchant in Kamppi, customers around it)."""

from __future__ import annotations

import grpc

from tests.merchants.helpers import merchant
from tongcheng.dispatch.v1 import dispatch_pb2_grpc
from tongcheng.merchants.v1 import merchants_pb2 as mpb
from tongcheng.merchants.v1 import merchants_pb2_grpc
from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.orders.v1 import orders_pb2_grpc
from tongcheng.pricing.v1 import pricing_pb2 as pb
from tongcheng.pricing.v1 import pricing_pb2_grpc
from tongcheng.settlement.v1 import settlement_pb2_grpc

KAMPPI = (60.1700, 24.9420)  # the merchant, as in the settlement tests
NEAR = (60.1720, 24.9450)  # ~280 m north-east
FAR = (60.1760, 24.9480)  # ~750 m north-east (Töölö)


class Priced:
    """A client of PricingService and the services around it, with one role's token."""

    def __init__(self, channel: grpc.aio.Channel, token: str) -> None:
        self.pricing = pricing_pb2_grpc.PricingServiceStub(channel)
        self.merchants = merchants_pb2_grpc.MerchantServiceStub(channel)
        self.orders = orders_pb2_grpc.OrderServiceStub(channel)
        self.settlement = settlement_pb2_grpc.SettlementServiceStub(channel)
        self.dispatch = dispatch_pb2_grpc.DispatchServiceStub(channel)
        self.md = (("authorization", f"Bearer {token}"),)


async def helsinki_merchant(p: Priced, merchant_id: str = "m1", at: tuple[float, float] = KAMPPI) -> None:
    m = merchant(merchant_id, time_zone="Europe/Helsinki")
    m.location.lat, m.location.lng = at
    await p.merchants.UpsertMerchant(mpb.UpsertMerchantRequest(merchant=m), metadata=p.md)


async def set_radius(p: Priced, merchant_id: str, radius_m: float) -> pb.DeliveryArea:
    reply = await p.pricing.SetDeliveryArea(
        pb.SetDeliveryAreaRequest(merchant_id=merchant_id, radius_m=radius_m), metadata=p.md
    )
    return reply.area


async def quote(p: Priced, merchant_id: str = "m1", to: tuple[float, float] = NEAR, **kw: object) -> pb.Quote:
    reply = await p.pricing.QuoteDelivery(
        pb.QuoteDeliveryRequest(merchant_id=merchant_id, dropoff=pb.LatLng(lat=to[0], lng=to[1]),
                                item_count=int(kw.pop("item_count", 2)), **kw),  # type: ignore[arg-type]
        metadata=p.md,
    )  # fmt: skip
    return reply.quote


def order(
    order_id: str, to: tuple[float, float] = NEAR, merchant_id: str = "m1", **kw: object
) -> opb.CreateOrderRequest:
    return opb.CreateOrderRequest(
        order_id=order_id, merchant_id=merchant_id, items_fen=int(kw.pop("items_fen", 5_000)),
        delivery_fee_fen=int(kw.pop("delivery_fee_fen", 0)), pickup=opb.LatLng(lat=KAMPPI[0], lng=KAMPPI[1]),
        dropoff=opb.LatLng(lat=to[0], lng=to[1]), item_count=2, **kw,  # type: ignore[arg-type]
    )  # fmt: skip
