"""OrderService: authenticate, convert, call the order center, convert back. Nothing else lives here."""

from __future__ import annotations

import grpc

from commerce.orders.center import OrderCenter
from commerce.orders.flow import OrderKind, OrderStatus, Step
from commerce.orders.models import NewOrder, Order, OrderEvent, OrderLine
from commerce.orders.validation import check_ids
from core.errors import InvalidArgument, PermissionDenied
from serving.auth import Authenticator, Principal, Role
from serving.status import rpc
from serving.timestamps import opt_ms_to_ts
from tongcheng.orders.v1 import orders_pb2 as pb
from tongcheng.orders.v1 import orders_pb2_grpc

STATUS_TO_PB = {s: pb.OrderStatus.Value(f"ORDER_STATUS_{s.name}") for s in OrderStatus}
SPLIT_STATE_TO_PB = {
    "none": pb.SPLIT_STATE_NONE,
    "posted": pb.SPLIT_STATE_POSTED,
    "halted": pb.SPLIT_STATE_HALTED,
    "nothing_to_split": pb.SPLIT_STATE_NOTHING_TO_SPLIT,
}
SERVICES = (Role.ORDER_SERVICE, Role.OPS)
KIND_FROM_PB = {pb.ORDER_KIND_UNSPECIFIED: OrderKind.DELIVERY, pb.ORDER_KIND_DELIVERY: OrderKind.DELIVERY,
                pb.ORDER_KIND_BOOKING: OrderKind.BOOKING}  # fmt: skip
KIND_TO_PB = {OrderKind.DELIVERY: pb.ORDER_KIND_DELIVERY, OrderKind.BOOKING: pb.ORDER_KIND_BOOKING}


def order_to_pb(o: Order) -> pb.Order:
    s = o.spec
    return pb.Order(
        order_id=s.order_id, merchant_id=s.merchant_id, chain_id=s.chain_id, group_leader_id=s.group_leader_id,
        customer_id=s.customer_id, items_fen=s.items_fen, delivery_fee_fen=s.delivery_fee_fen, total_fen=s.total_fen,
        pickup=pb.LatLng(lat=s.pickup_lat, lng=s.pickup_lng), dropoff=pb.LatLng(lat=s.dropoff_lat, lng=s.dropoff_lng),
        status=STATUS_TO_PB[o.status], paid_fen=o.paid_fen, refunded_fen=o.refunded_fen, payment_id=o.payment_id,
        split_state=SPLIT_STATE_TO_PB.get(o.split_state, pb.SPLIT_STATE_UNSPECIFIED), dispatch_status=o.dispatch_status,
        rider_id=o.rider_id, reason=o.reason, created_at=opt_ms_to_ts(o.created_ms), paid_at=opt_ms_to_ts(o.paid_at_ms),
        updated_at=opt_ms_to_ts(o.updated_ms), version=o.version,
        lines=[pb.OrderLine(item_id=x.item_id, variant_id=x.variant_id, quantity=x.quantity,
                            unit_price_fen=x.unit_price_fen) for x in s.lines],
        delivery_quote=s.delivery_quote, placed_merchant_id=s.placed_merchant_id,
        coupons=[pb.OrderCoupon(code=c.code, campaign_id=c.campaign_id, discount_fen=c.discount_fen,
                                funded_by=c.funder) for c in o.coupons],
        discount_fen=o.discount_fen, points=s.points, points_programme_id=s.points_programme_id,
        points_fen=o.points_fen, amount_due_fen=o.due_fen,
        kind=KIND_TO_PB[s.kind], booking_id=s.booking_id,
    )  # fmt: skip


def event_to_pb(e: OrderEvent) -> pb.OrderEvent:
    return pb.OrderEvent(occurred_at=opt_ms_to_ts(e.occurred_ms), status=STATUS_TO_PB[e.status], note=e.note)


class OrderServicer(orders_pb2_grpc.OrderServiceServicer):
    def __init__(self, center: OrderCenter, auth: Authenticator) -> None:
        self._center = center
        self._auth = auth

    def _caller(self, context: grpc.aio.ServicerContext) -> Principal:
        return self._auth.authenticate(context.invocation_metadata())  # type: ignore[arg-type]

    async def _merchant_step(
        self, context: grpc.aio.ServicerContext, order_id: str, step: Step, note: str = ""
    ) -> Order:
        """A merchant's step on its own order (services and ops may act for any merchant)."""
        caller = self._caller(context)
        caller.require(Role.MERCHANT, *SERVICES)
        check_ids(order_id=order_id)
        if caller.role is Role.MERCHANT:
            order = await self._center.store.get(order_id)  # the order only, not its history
            if order.spec.merchant_id != caller.subject_id:
                raise PermissionDenied(f"order {order_id} is not an order of merchant {caller.subject_id}")
        return await self._center.step(order_id, step, note)

    @rpc
    async def CreateOrder(
        self, request: pb.CreateOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateOrderResponse:
        caller = self._caller(context)
        caller.require(*SERVICES)
        kind = KIND_FROM_PB.get(request.kind)
        if kind is None:
            raise InvalidArgument.field("kind", "must be DELIVERY or BOOKING")
        new = NewOrder(
            order_id=request.order_id, merchant_id=request.merchant_id, chain_id=request.chain_id,
            group_leader_id=request.group_leader_id, customer_id=request.customer_id, items_fen=request.items_fen,
            delivery_fee_fen=request.delivery_fee_fen, pickup_lat=request.pickup.lat, pickup_lng=request.pickup.lng,
            dropoff_lat=request.dropoff.lat, dropoff_lng=request.dropoff.lng, item_count=request.item_count or 1,
            lines=tuple(OrderLine(x.item_id, x.variant_id, x.quantity) for x in request.lines[:101]),
            delivery_quote=request.delivery_quote,
            coupon_codes=tuple(request.coupon_codes[:21]), points=request.points,
            points_programme_id=request.points_programme_id,
            kind=kind, booking_id=request.booking_id,
        )  # fmt: skip
        if len(request.lines) > len(new.lines):
            raise InvalidArgument.field("lines", f"at most 100 entries, got {len(request.lines)}")
        order, created = await self._center.create(new, caller=f"{caller.role.value}:{caller.subject_id}")
        return pb.CreateOrderResponse(order=order_to_pb(order), created=created)

    @rpc
    async def PayOrder(self, request: pb.PayOrderRequest, context: grpc.aio.ServicerContext) -> pb.PayOrderResponse:
        self._caller(context).require(*SERVICES)
        order = await self._center.pay(request.order_id, request.payment_id, request.amount_fen, request.delivery_quote)
        return pb.PayOrderResponse(order=order_to_pb(order))

    @rpc
    async def AcceptOrder(
        self, request: pb.AcceptOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.AcceptOrderResponse:
        return pb.AcceptOrderResponse(
            order=order_to_pb(await self._merchant_step(context, request.order_id, Step.ACCEPT))
        )

    @rpc
    async def RejectOrder(
        self, request: pb.RejectOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.RejectOrderResponse:
        order = await self._merchant_step(context, request.order_id, Step.REJECT, request.reason)
        return pb.RejectOrderResponse(order=order_to_pb(order))

    @rpc
    async def MarkReady(self, request: pb.MarkReadyRequest, context: grpc.aio.ServicerContext) -> pb.MarkReadyResponse:
        return pb.MarkReadyResponse(order=order_to_pb(await self._merchant_step(context, request.order_id, Step.READY)))

    @rpc
    async def MarkPickedUp(
        self, request: pb.MarkPickedUpRequest, context: grpc.aio.ServicerContext
    ) -> pb.MarkPickedUpResponse:
        self._caller(context).require(*SERVICES)
        return pb.MarkPickedUpResponse(order=order_to_pb(await self._center.step(request.order_id, Step.PICK_UP)))

    @rpc
    async def MarkDelivered(
        self, request: pb.MarkDeliveredRequest, context: grpc.aio.ServicerContext
    ) -> pb.MarkDeliveredResponse:
        self._caller(context).require(*SERVICES)
        return pb.MarkDeliveredResponse(order=order_to_pb(await self._center.step(request.order_id, Step.DELIVER)))

    @rpc
    async def CompleteOrder(
        self, request: pb.CompleteOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.CompleteOrderResponse:
        self._caller(context).require(*SERVICES)
        return pb.CompleteOrderResponse(order=order_to_pb(await self._center.step(request.order_id, Step.COMPLETE)))

    @rpc
    async def CancelOrder(
        self, request: pb.CancelOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelOrderResponse:
        self._caller(context).require(*SERVICES)
        order = await self._center.step(request.order_id, Step.CANCEL, request.reason)
        return pb.CancelOrderResponse(order=order_to_pb(order))

    @rpc
    async def RefundOrder(
        self, request: pb.RefundOrderRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefundOrderResponse:
        self._caller(context).require(*SERVICES)
        order, refunded, legs = await self._center.refund(
            request.order_id, request.idempotency_key, request.amount_fen, request.reason
        )
        return pb.RefundOrderResponse(
            order=order_to_pb(order),
            refunded=refunded,
            legs=[pb.RefundLeg(receiver=leg.receiver, amount_fen=leg.amount_fen) for leg in legs],
        )

    @rpc
    async def GetOrder(self, request: pb.GetOrderRequest, context: grpc.aio.ServicerContext) -> pb.GetOrderResponse:
        caller = self._caller(context)
        caller.require(Role.MERCHANT, *SERVICES)
        order, history = await self._center.get(request.order_id)
        if caller.role is Role.MERCHANT and order.spec.merchant_id != caller.subject_id:
            raise PermissionDenied(f"order {request.order_id} is not an order of merchant {caller.subject_id}")
        return pb.GetOrderResponse(order=order_to_pb(order), history=[event_to_pb(e) for e in history])
