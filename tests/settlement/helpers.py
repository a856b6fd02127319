"""Clients and builders for the order center and settlement tests."""

from __future__ import annotations

import grpc

from tongcheng.orders.v1 import orders_pb2 as opb
from tongcheng.orders.v1 import orders_pb2_grpc
from tongcheng.settlement.v1 import settlement_pb2 as spb
from tongcheng.settlement.v1 import settlement_pb2_grpc

KAMPPI = (60.1700, 24.9420)  # a pickup in the default city
TOOLO = (60.1760, 24.9480)  # a drop-off 700 m north-east


class Money:
    """A client of OrderService and SettlementService with one role's token."""

    def __init__(self, channel: grpc.aio.Channel, token: str) -> None:
        self.orders = orders_pb2_grpc.OrderServiceStub(channel)
        self.settlement = settlement_pb2_grpc.SettlementServiceStub(channel)
        self.md = (("authorization", f"Bearer {token}"),)


def new_order(
    order_id: str, items_fen: int = 9_000, delivery_fee_fen: int = 500, **kw: object
) -> opb.CreateOrderRequest:
    return opb.CreateOrderRequest(
        order_id=order_id,
        merchant_id=str(kw.pop("merchant_id", "m1")),
        items_fen=items_fen,
        delivery_fee_fen=delivery_fee_fen,
        pickup=opb.LatLng(lat=KAMPPI[0], lng=KAMPPI[1]),
        dropoff=opb.LatLng(lat=TOOLO[0], lng=TOOLO[1]),
        item_count=2,
        **kw,  # type: ignore[arg-type]
    )


def rule(merchant_id: str = "m1", **kw: object) -> spb.SplitRule:
    """A merchant rule: platform 5%, rider fleet 8% + 1 yuan, group leader 3%, head office 10%, unless overridden."""
    shares = {
        "platform_commission": spb.Share(basis_points=500),
        "rider_delivery_fee": spb.Share(basis_points=800, fixed_fen=100),
        "group_leader_commission": spb.Share(basis_points=300),
        "head_office_share": spb.Share(basis_points=1000),
    }
    for name in list(shares):
        if name in kw:
            shares[name] = kw.pop(name)  # type: ignore[assignment]
    return spb.SplitRule(merchant_id=merchant_id, **shares, **kw)  # type: ignore[arg-type]


async def set_rule(m: Money, r: spb.SplitRule) -> spb.SplitRule:
    return (await m.settlement.SetSplitRule(spb.SetSplitRuleRequest(rule=r), metadata=m.md)).rule


async def create_and_pay(m: Money, order_id: str, **kw: object) -> opb.Order:
    created = await m.orders.CreateOrder(new_order(order_id, **kw), metadata=m.md)
    paid = await m.orders.PayOrder(
        opb.PayOrderRequest(order_id=order_id, payment_id=f"pay-{order_id}", amount_fen=created.order.total_fen),
        metadata=m.md,
    )
    return paid.order
