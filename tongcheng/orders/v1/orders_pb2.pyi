import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_CREATED: _ClassVar[OrderStatus]
    ORDER_STATUS_PAID: _ClassVar[OrderStatus]
    ORDER_STATUS_ACCEPTED: _ClassVar[OrderStatus]
    ORDER_STATUS_READY: _ClassVar[OrderStatus]
    ORDER_STATUS_PICKED_UP: _ClassVar[OrderStatus]
    ORDER_STATUS_DELIVERED: _ClassVar[OrderStatus]
    ORDER_STATUS_COMPLETED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLED: _ClassVar[OrderStatus]
    ORDER_STATUS_REJECTED: _ClassVar[OrderStatus]
    ORDER_STATUS_REFUNDED: _ClassVar[OrderStatus]
    ORDER_STATUS_NO_SHOW: _ClassVar[OrderStatus]

class OrderKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_KIND_UNSPECIFIED: _ClassVar[OrderKind]
    ORDER_KIND_DELIVERY: _ClassVar[OrderKind]
    ORDER_KIND_BOOKING: _ClassVar[OrderKind]

class SplitState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPLIT_STATE_UNSPECIFIED: _ClassVar[SplitState]
    SPLIT_STATE_NONE: _ClassVar[SplitState]
    SPLIT_STATE_POSTED: _ClassVar[SplitState]
    SPLIT_STATE_HALTED: _ClassVar[SplitState]
    SPLIT_STATE_NOTHING_TO_SPLIT: _ClassVar[SplitState]
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_CREATED: OrderStatus
ORDER_STATUS_PAID: OrderStatus
ORDER_STATUS_ACCEPTED: OrderStatus
ORDER_STATUS_READY: OrderStatus
ORDER_STATUS_PICKED_UP: OrderStatus
ORDER_STATUS_DELIVERED: OrderStatus
ORDER_STATUS_COMPLETED: OrderStatus
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_REJECTED: OrderStatus
ORDER_STATUS_REFUNDED: OrderStatus
ORDER_STATUS_NO_SHOW: OrderStatus
ORDER_KIND_UNSPECIFIED: OrderKind
ORDER_KIND_DELIVERY: OrderKind
ORDER_KIND_BOOKING: OrderKind
SPLIT_STATE_UNSPECIFIED: SplitState
SPLIT_STATE_NONE: SplitState
SPLIT_STATE_POSTED: SplitState
SPLIT_STATE_HALTED: SplitState
SPLIT_STATE_NOTHING_TO_SPLIT: SplitState

class LatLng(_message.Message):
    __slots__ = ("lat", "lng")
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    lat: float
    lng: float
    def __init__(self, lat: _Optional[float] = ..., lng: _Optional[float] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("order_id", "merchant_id", "chain_id", "group_leader_id", "customer_id", "items_fen", "delivery_fee_fen", "total_fen", "pickup", "dropoff", "status", "paid_fen", "refunded_fen", "payment_id", "split_state", "dispatch_status", "rider_id", "reason", "created_at", "paid_at", "updated_at", "version", "lines", "delivery_quote", "coupons", "discount_fen", "points", "points_programme_id", "points_fen", "amount_due_fen", "placed_merchant_id", "kind", "booking_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FEN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FEE_FEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FEN_FIELD_NUMBER: _ClassVar[int]
    PICKUP_FIELD_NUMBER: _ClassVar[int]
    DROPOFF_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAID_FEN_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FEN_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_STATE_FIELD_NUMBER: _ClassVar[int]
    DISPATCH_STATUS_FIELD_NUMBER: _ClassVar[int]
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PAID_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_QUOTE_FIELD_NUMBER: _ClassVar[int]
    COUPONS_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    POINTS_PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FEN_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_DUE_FEN_FIELD_NUMBER: _ClassVar[int]
    PLACED_MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    merchant_id: str
    chain_id: str
    group_leader_id: str
    customer_id: str
    items_fen: int
    delivery_fee_fen: int
    total_fen: int
    pickup: LatLng
    dropoff: LatLng
    status: OrderStatus
    paid_fen: int
    refunded_fen: int
    payment_id: str
    split_state: SplitState
    dispatch_status: str
    rider_id: str
    reason: str
    created_at: _timestamp_pb2.Timestamp
    paid_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    version: int
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    delivery_quote: str
    coupons: _containers.RepeatedCompositeFieldContainer[OrderCoupon]
    discount_fen: int
    points: int
    points_programme_id: str
    points_fen: int
    amount_due_fen: int
    placed_merchant_id: str
    kind: OrderKind
    booking_id: str
    def __init__(self, order_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., chain_id: _Optional[str] = ..., group_leader_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., items_fen: _Optional[int] = ..., delivery_fee_fen: _Optional[int] = ..., total_fen: _Optional[int] = ..., pickup: _Optional[_Union[LatLng, _Mapping]] = ..., dropoff: _Optional[_Union[LatLng, _Mapping]] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., paid_fen: _Optional[int] = ..., refunded_fen: _Optional[int] = ..., payment_id: _Optional[str] = ..., split_state: _Optional[_Union[SplitState, str]] = ..., dispatch_status: _Optional[str] = ..., rider_id: _Optional[str] = ..., reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., paid_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., delivery_quote: _Optional[str] = ..., coupons: _Optional[_Iterable[_Union[OrderCoupon, _Mapping]]] = ..., discount_fen: _Optional[int] = ..., points: _Optional[int] = ..., points_programme_id: _Optional[str] = ..., points_fen: _Optional[int] = ..., amount_due_fen: _Optional[int] = ..., placed_merchant_id: _Optional[str] = ..., kind: _Optional[_Union[OrderKind, str]] = ..., booking_id: _Optional[str] = ...) -> None: ...

class OrderCoupon(_message.Message):
    __slots__ = ("code", "campaign_id", "discount_fen", "funded_by")
    CODE_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    FUNDED_BY_FIELD_NUMBER: _ClassVar[int]
    code: str
    campaign_id: str
    discount_fen: int
    funded_by: str
    def __init__(self, code: _Optional[str] = ..., campaign_id: _Optional[str] = ..., discount_fen: _Optional[int] = ..., funded_by: _Optional[str] = ...) -> None: ...

class OrderLine(_message.Message):
    __slots__ = ("item_id", "variant_id", "quantity", "unit_price_fen")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FEN_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    variant_id: str
    quantity: int
    unit_price_fen: int
    def __init__(self, item_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price_fen: _Optional[int] = ...) -> None: ...

class OrderEvent(_message.Message):
    __slots__ = ("occurred_at", "status", "note")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    status: OrderStatus
    note: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., note: _Optional[str] = ...) -> None: ...

class CreateOrderRequest(_message.Message):
    __slots__ = ("order_id", "merchant_id", "chain_id", "group_leader_id", "customer_id", "items_fen", "delivery_fee_fen", "pickup", "dropoff", "item_count", "lines", "delivery_quote", "coupon_codes", "points", "points_programme_id", "kind", "booking_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FEN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FEE_FEN_FIELD_NUMBER: _ClassVar[int]
    PICKUP_FIELD_NUMBER: _ClassVar[int]
    DROPOFF_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_QUOTE_FIELD_NUMBER: _ClassVar[int]
    COUPON_CODES_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    POINTS_PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    merchant_id: str
    chain_id: str
    group_leader_id: str
    customer_id: str
    items_fen: int
    delivery_fee_fen: int
    pickup: LatLng
    dropoff: LatLng
    item_count: int
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    delivery_quote: str
    coupon_codes: _containers.RepeatedScalarFieldContainer[str]
    points: int
    points_programme_id: str
    kind: OrderKind
    booking_id: str
    def __init__(self, order_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., chain_id: _Optional[str] = ..., group_leader_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., items_fen: _Optional[int] = ..., delivery_fee_fen: _Optional[int] = ..., pickup: _Optional[_Union[LatLng, _Mapping]] = ..., dropoff: _Optional[_Union[LatLng, _Mapping]] = ..., item_count: _Optional[int] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., delivery_quote: _Optional[str] = ..., coupon_codes: _Optional[_Iterable[str]] = ..., points: _Optional[int] = ..., points_programme_id: _Optional[str] = ..., kind: _Optional[_Union[OrderKind, str]] = ..., booking_id: _Optional[str] = ...) -> None: ...

class CreateOrderResponse(_message.Message):
    __slots__ = ("order", "created")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    order: Order
    created: bool
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class PayOrderRequest(_message.Message):
    __slots__ = ("order_id", "payment_id", "amount_fen", "delivery_quote")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_QUOTE_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    payment_id: str
    amount_fen: int
    delivery_quote: str
    def __init__(self, order_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., amount_fen: _Optional[int] = ..., delivery_quote: _Optional[str] = ...) -> None: ...

class PayOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class AcceptOrderRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class AcceptOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class RejectOrderRequest(_message.Message):
    __slots__ = ("order_id", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class MarkReadyRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class MarkReadyResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class MarkPickedUpRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class MarkPickedUpResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class MarkDeliveredRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class MarkDeliveredResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class CompleteOrderRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class CompleteOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("order_id", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class RefundOrderRequest(_message.Message):
    __slots__ = ("order_id", "idempotency_key", "amount_fen", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    idempotency_key: str
    amount_fen: int
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., amount_fen: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class RefundOrderResponse(_message.Message):
    __slots__ = ("order", "refunded", "legs")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    LEGS_FIELD_NUMBER: _ClassVar[int]
    order: Order
    refunded: bool
    legs: _containers.RepeatedCompositeFieldContainer[RefundLeg]
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., refunded: _Optional[bool] = ..., legs: _Optional[_Iterable[_Union[RefundLeg, _Mapping]]] = ...) -> None: ...

class RefundLeg(_message.Message):
    __slots__ = ("receiver", "amount_fen")
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    receiver: str
    amount_fen: int
    def __init__(self, receiver: _Optional[str] = ..., amount_fen: _Optional[int] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order", "history")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    order: Order
    history: _containers.RepeatedCompositeFieldContainer[OrderEvent]
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., history: _Optional[_Iterable[_Union[OrderEvent, _Mapping]]] = ...) -> None: ...
