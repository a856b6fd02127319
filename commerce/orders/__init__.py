"""The order center: state machine, payment and refunds (with settlement), hand-over to dispatch. No gRPC below `commerce.orders.api`."""

from commerce.orders.booking import BookingGateway, BookingOrderDesk, BookingTerms
from commerce.orders.center import OrderCenter
from commerce.orders.delivery import DeliveryGateway, DispatchKitchens, InProcessDispatch
from commerce.orders.flow import TRANSITIONS, OrderKind, OrderStatus, Step
from commerce.orders.models import MAX_ORDER_FEN, NewOrder, Order, OrderEvent, Refund
from commerce.orders.overflow import ChainOverflow
from commerce.orders.store import OrderStore

__all__ = [
    "MAX_ORDER_FEN",
    "TRANSITIONS",
    "BookingGateway",
    "BookingOrderDesk",
    "BookingTerms",
    "ChainOverflow",
    "DeliveryGateway",
    "DispatchKitchens",
    "InProcessDispatch",
    "NewOrder",
    "Order",
    "OrderCenter",
    "OrderEvent",
    "OrderKind",
    "OrderStatus",
    "OrderStore",
    "Refund",
    "Step",
]
