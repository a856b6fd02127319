import datetime
from collections.abc import Iterable as _Iterable
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar

from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper

DESCRIPTOR: _descriptor.FileDescriptor

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_PENDING: _ClassVar[OrderStatus]
    ORDER_STATUS_ASSIGNED: _ClassVar[OrderStatus]
    ORDER_STATUS_ACCEPTED: _ClassVar[OrderStatus]
    ORDER_STATUS_AT_MERCHANT: _ClassVar[OrderStatus]
    ORDER_STATUS_PICKED_UP: _ClassVar[OrderStatus]
    ORDER_STATUS_DELIVERED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLED: _ClassVar[OrderStatus]
    ORDER_STATUS_REJECTED: _ClassVar[OrderStatus]

class RiderAvailability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RIDER_AVAILABILITY_UNSPECIFIED: _ClassVar[RiderAvailability]
    RIDER_AVAILABILITY_AVAILABLE: _ClassVar[RiderAvailability]
    RIDER_AVAILABILITY_BUSY: _ClassVar[RiderAvailability]
    RIDER_AVAILABILITY_OFFLINE: _ClassVar[RiderAvailability]

class TaskEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_EVENT_TYPE_UNSPECIFIED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_OFFERED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_OFFER_EXPIRED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_CANCELLED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_UPDATED: _ClassVar[TaskEventType]

class TaskAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_ACTION_UNSPECIFIED: _ClassVar[TaskAction]
    TASK_ACTION_ACCEPT: _ClassVar[TaskAction]
    TASK_ACTION_REJECT: _ClassVar[TaskAction]
    TASK_ACTION_ARRIVED_AT_MERCHANT: _ClassVar[TaskAction]
    TASK_ACTION_PICKED_UP: _ClassVar[TaskAction]
    TASK_ACTION_DELIVERED: _ClassVar[TaskAction]
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_PENDING: OrderStatus
ORDER_STATUS_ASSIGNED: OrderStatus
ORDER_STATUS_ACCEPTED: OrderStatus
ORDER_STATUS_AT_MERCHANT: OrderStatus
ORDER_STATUS_PICKED_UP: OrderStatus
ORDER_STATUS_DELIVERED: OrderStatus
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_REJECTED: OrderStatus
RIDER_AVAILABILITY_UNSPECIFIED: RiderAvailability
RIDER_AVAILABILITY_AVAILABLE: RiderAvailability
RIDER_AVAILABILITY_BUSY: RiderAvailability
RIDER_AVAILABILITY_OFFLINE: RiderAvailability
TASK_EVENT_TYPE_UNSPECIFIED: TaskEventType
TASK_EVENT_TYPE_OFFERED: TaskEventType
TASK_EVENT_TYPE_OFFER_EXPIRED: TaskEventType
TASK_EVENT_TYPE_CANCELLED: TaskEventType
TASK_EVENT_TYPE_UPDATED: TaskEventType
TASK_ACTION_UNSPECIFIED: TaskAction
TASK_ACTION_ACCEPT: TaskAction
TASK_ACTION_REJECT: TaskAction
TASK_ACTION_ARRIVED_AT_MERCHANT: TaskAction
TASK_ACTION_PICKED_UP: TaskAction
TASK_ACTION_DELIVERED: TaskAction

class LatLng(_message.Message):
    __slots__ = ("lat", "lng")
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    lat: float
    lng: float
    def __init__(self, lat: float | None = ..., lng: float | None = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("dropoff", "item_count", "merchant_id", "order_id", "pickup", "placed_at", "promised_at", "ready_at_hint")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    PICKUP_FIELD_NUMBER: _ClassVar[int]
    DROPOFF_FIELD_NUMBER: _ClassVar[int]
    PLACED_AT_FIELD_NUMBER: _ClassVar[int]
    PROMISED_AT_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    READY_AT_HINT_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    merchant_id: str
    pickup: LatLng
    dropoff: LatLng
    placed_at: _timestamp_pb2.Timestamp
    promised_at: _timestamp_pb2.Timestamp
    item_count: int
    ready_at_hint: _timestamp_pb2.Timestamp
    def __init__(self, order_id: str | None = ..., merchant_id: str | None = ..., pickup: LatLng | _Mapping | None = ..., dropoff: LatLng | _Mapping | None = ..., placed_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ..., promised_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ..., item_count: int | None = ..., ready_at_hint: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ...) -> None: ...

class AssignRidersRequest(_message.Message):
    __slots__ = ("orders",)
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[Order]
    def __init__(self, orders: _Iterable[Order | _Mapping] | None = ...) -> None: ...

class AssignmentResult(_message.Message):
    __slots__ = ("estimated_dropoff_at", "estimated_pickup_at", "order_id", "reason", "rider_id", "status")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_PICKUP_AT_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_DROPOFF_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    status: OrderStatus
    rider_id: str
    estimated_pickup_at: _timestamp_pb2.Timestamp
    estimated_dropoff_at: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, order_id: str | None = ..., status: OrderStatus | str | None = ..., rider_id: str | None = ..., estimated_pickup_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ..., estimated_dropoff_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ..., reason: str | None = ...) -> None: ...

class AssignRidersResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AssignmentResult]
    def __init__(self, results: _Iterable[AssignmentResult | _Mapping] | None = ...) -> None: ...

class PositionFix(_message.Message):
    __slots__ = ("accuracy_m", "availability", "heading_deg", "position", "recorded_at", "rider_id", "speed_mps")
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    SPEED_MPS_FIELD_NUMBER: _ClassVar[int]
    HEADING_DEG_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_M_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    rider_id: str
    position: LatLng
    recorded_at: _timestamp_pb2.Timestamp
    speed_mps: float
    heading_deg: float
    accuracy_m: float
    availability: RiderAvailability
    def __init__(self, rider_id: str | None = ..., position: LatLng | _Mapping | None = ..., recorded_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ..., speed_mps: float | None = ..., heading_deg: float | None = ..., accuracy_m: float | None = ..., availability: RiderAvailability | str | None = ...) -> None: ...

class StreamRiderPositionsRequest(_message.Message):
    __slots__ = ("fixes",)
    FIXES_FIELD_NUMBER: _ClassVar[int]
    fixes: _containers.RepeatedCompositeFieldContainer[PositionFix]
    def __init__(self, fixes: _Iterable[PositionFix | _Mapping] | None = ...) -> None: ...

class FixRejection(_message.Message):
    __slots__ = ("field", "fix_index", "message_index", "reason")
    MESSAGE_INDEX_FIELD_NUMBER: _ClassVar[int]
    FIX_INDEX_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    message_index: int
    fix_index: int
    field: str
    reason: str
    def __init__(self, message_index: int | None = ..., fix_index: int | None = ..., field: str | None = ..., reason: str | None = ...) -> None: ...

class StreamRiderPositionsResponse(_message.Message):
    __slots__ = ("accepted_count", "rejected_count", "rejections", "stale_count")
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    STALE_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    accepted_count: int
    rejected_count: int
    stale_count: int
    rejections: _containers.RepeatedCompositeFieldContainer[FixRejection]
    def __init__(self, accepted_count: int | None = ..., rejected_count: int | None = ..., stale_count: int | None = ..., rejections: _Iterable[FixRejection | _Mapping] | None = ...) -> None: ...

class WatchAssignmentsRequest(_message.Message):
    __slots__ = ("resume_after_event_id", "rider_id")
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    RESUME_AFTER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    rider_id: str
    resume_after_event_id: str
    def __init__(self, rider_id: str | None = ..., resume_after_event_id: str | None = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("dropoff", "estimated_dropoff_at", "estimated_pickup_at", "item_count", "merchant_id", "offer_expires_at", "order_id", "pickup", "promised_at", "status")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    PICKUP_FIELD_NUMBER: _ClassVar[int]
    DROPOFF_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_PICKUP_AT_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_DROPOFF_AT_FIELD_NUMBER: _ClassVar[int]
    OFFER_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    PROMISED_AT_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    merchant_id: str
    pickup: LatLng
    dropoff: LatLng
    status: OrderStatus
    item_count: int
    estimated_pickup_at: _timestamp_pb2.Timestamp
    estimated_dropoff_at: _timestamp_pb2.Timestamp
    offer_expires_at: _timestamp_pb2.Timestamp
    promised_at: _timestamp_pb2.Timestamp
    def __init__(self, order_id: str | None = ..., merchant_id: str | None = ..., pickup: LatLng | _Mapping | None = ..., dropoff: LatLng | _Mapping | None = ..., status: OrderStatus | str | None = ..., item_count: int | None = ..., estimated_pickup_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ..., estimated_dropoff_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ..., offer_expires_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ..., promised_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ...) -> None: ...

class TaskEvent(_message.Message):
    __slots__ = ("event_id", "occurred_at", "task", "type")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    type: TaskEventType
    task: Task
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, event_id: str | None = ..., type: TaskEventType | str | None = ..., task: Task | _Mapping | None = ..., occurred_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ...) -> None: ...

class WatchAssignmentsResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: TaskEvent
    def __init__(self, event: TaskEvent | _Mapping | None = ...) -> None: ...

class UpdateTaskRequest(_message.Message):
    __slots__ = ("action", "occurred_at", "order_id", "rider_id")
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    rider_id: str
    order_id: str
    action: TaskAction
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, rider_id: str | None = ..., order_id: str | None = ..., action: TaskAction | str | None = ..., occurred_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ...) -> None: ...

class UpdateTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: Task | _Mapping | None = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("order_id", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    reason: str
    def __init__(self, order_id: str | None = ..., reason: str | None = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: OrderStatus
    def __init__(self, status: OrderStatus | str | None = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: str | None = ...) -> None: ...

class OrderEvent(_message.Message):
    __slots__ = ("note", "occurred_at", "rider_id", "status")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    status: OrderStatus
    rider_id: str
    note: str
    def __init__(self, occurred_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ..., status: OrderStatus | str | None = ..., rider_id: str | None = ..., note: str | None = ...) -> None: ...

class OrderDetails(_message.Message):
    __slots__ = ("estimated_dropoff_at", "estimated_pickup_at", "history", "order", "reason", "rider_id", "status")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_PICKUP_AT_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_DROPOFF_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    order: Order
    status: OrderStatus
    rider_id: str
    estimated_pickup_at: _timestamp_pb2.Timestamp
    estimated_dropoff_at: _timestamp_pb2.Timestamp
    reason: str
    history: _containers.RepeatedCompositeFieldContainer[OrderEvent]
    def __init__(self, order: Order | _Mapping | None = ..., status: OrderStatus | str | None = ..., rider_id: str | None = ..., estimated_pickup_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ..., estimated_dropoff_at: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ..., reason: str | None = ..., history: _Iterable[OrderEvent | _Mapping] | None = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: OrderDetails
    def __init__(self, order: OrderDetails | _Mapping | None = ...) -> None: ...
