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
    TASK_EVENT_TYPE_GUIDED: _ClassVar[TaskEventType]

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
TASK_EVENT_TYPE_GUIDED: TaskEventType
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
    def __init__(self, lat: _Optional[float] = ..., lng: _Optional[float] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("order_id", "merchant_id", "pickup", "dropoff", "placed_at", "promised_at", "item_count", "ready_at_hint", "merchant_category", "ready_hint_sd_s")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    PICKUP_FIELD_NUMBER: _ClassVar[int]
    DROPOFF_FIELD_NUMBER: _ClassVar[int]
    PLACED_AT_FIELD_NUMBER: _ClassVar[int]
    PROMISED_AT_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    READY_AT_HINT_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    READY_HINT_SD_S_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    merchant_id: str
    pickup: LatLng
    dropoff: LatLng
    placed_at: _timestamp_pb2.Timestamp
    promised_at: _timestamp_pb2.Timestamp
    item_count: int
    ready_at_hint: _timestamp_pb2.Timestamp
    merchant_category: str
    ready_hint_sd_s: float
    def __init__(self, order_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., pickup: _Optional[_Union[LatLng, _Mapping]] = ..., dropoff: _Optional[_Union[LatLng, _Mapping]] = ..., placed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., promised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., item_count: _Optional[int] = ..., ready_at_hint: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., merchant_category: _Optional[str] = ..., ready_hint_sd_s: _Optional[float] = ...) -> None: ...

class AssignRidersRequest(_message.Message):
    __slots__ = ("orders", "no_wait")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NO_WAIT_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[Order]
    no_wait: bool
    def __init__(self, orders: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., no_wait: _Optional[bool] = ...) -> None: ...

class AssignmentResult(_message.Message):
    __slots__ = ("order_id", "status", "rider_id", "estimated_pickup_at", "estimated_dropoff_at", "reason")
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
    def __init__(self, order_id: _Optional[str] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., rider_id: _Optional[str] = ..., estimated_pickup_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., estimated_dropoff_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class AssignRidersResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AssignmentResult]
    def __init__(self, results: _Optional[_Iterable[_Union[AssignmentResult, _Mapping]]] = ...) -> None: ...

class PositionFix(_message.Message):
    __slots__ = ("rider_id", "position", "recorded_at", "speed_mps", "heading_deg", "accuracy_m", "availability", "shift_ends_at")
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    SPEED_MPS_FIELD_NUMBER: _ClassVar[int]
    HEADING_DEG_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_M_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    SHIFT_ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    rider_id: str
    position: LatLng
    recorded_at: _timestamp_pb2.Timestamp
    speed_mps: float
    heading_deg: float
    accuracy_m: float
    availability: RiderAvailability
    shift_ends_at: _timestamp_pb2.Timestamp
    def __init__(self, rider_id: _Optional[str] = ..., position: _Optional[_Union[LatLng, _Mapping]] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., speed_mps: _Optional[float] = ..., heading_deg: _Optional[float] = ..., accuracy_m: _Optional[float] = ..., availability: _Optional[_Union[RiderAvailability, str]] = ..., shift_ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StreamRiderPositionsRequest(_message.Message):
    __slots__ = ("fixes",)
    FIXES_FIELD_NUMBER: _ClassVar[int]
    fixes: _containers.RepeatedCompositeFieldContainer[PositionFix]
    def __init__(self, fixes: _Optional[_Iterable[_Union[PositionFix, _Mapping]]] = ...) -> None: ...

class FixRejection(_message.Message):
    __slots__ = ("message_index", "fix_index", "field", "reason")
    MESSAGE_INDEX_FIELD_NUMBER: _ClassVar[int]
    FIX_INDEX_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    message_index: int
    fix_index: int
    field: str
    reason: str
    def __init__(self, message_index: _Optional[int] = ..., fix_index: _Optional[int] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class StreamRiderPositionsResponse(_message.Message):
    __slots__ = ("accepted_count", "rejected_count", "stale_count", "rejections")
    ACCEPTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    STALE_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    accepted_count: int
    rejected_count: int
    stale_count: int
    rejections: _containers.RepeatedCompositeFieldContainer[FixRejection]
    def __init__(self, accepted_count: _Optional[int] = ..., rejected_count: _Optional[int] = ..., stale_count: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[FixRejection, _Mapping]]] = ...) -> None: ...

class WatchAssignmentsRequest(_message.Message):
    __slots__ = ("rider_id", "resume_after_event_id")
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    RESUME_AFTER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    rider_id: str
    resume_after_event_id: str
    def __init__(self, rider_id: _Optional[str] = ..., resume_after_event_id: _Optional[str] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("order_id", "merchant_id", "pickup", "dropoff", "status", "item_count", "estimated_pickup_at", "estimated_dropoff_at", "offer_expires_at", "promised_at", "bundle_id", "bundle_sequence", "expected_ready_at")
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
    BUNDLE_ID_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_READY_AT_FIELD_NUMBER: _ClassVar[int]
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
    bundle_id: str
    bundle_sequence: int
    expected_ready_at: _timestamp_pb2.Timestamp
    def __init__(self, order_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., pickup: _Optional[_Union[LatLng, _Mapping]] = ..., dropoff: _Optional[_Union[LatLng, _Mapping]] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., item_count: _Optional[int] = ..., estimated_pickup_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., estimated_dropoff_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., offer_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., promised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bundle_id: _Optional[str] = ..., bundle_sequence: _Optional[int] = ..., expected_ready_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TaskEvent(_message.Message):
    __slots__ = ("event_id", "type", "task", "occurred_at", "wait_at")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    WAIT_AT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    type: TaskEventType
    task: Task
    occurred_at: _timestamp_pb2.Timestamp
    wait_at: LatLng
    def __init__(self, event_id: _Optional[str] = ..., type: _Optional[_Union[TaskEventType, str]] = ..., task: _Optional[_Union[Task, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., wait_at: _Optional[_Union[LatLng, _Mapping]] = ...) -> None: ...

class WatchAssignmentsResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: TaskEvent
    def __init__(self, event: _Optional[_Union[TaskEvent, _Mapping]] = ...) -> None: ...

class UpdateTaskRequest(_message.Message):
    __slots__ = ("rider_id", "order_id", "action", "occurred_at")
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    rider_id: str
    order_id: str
    action: TaskAction
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, rider_id: _Optional[str] = ..., order_id: _Optional[str] = ..., action: _Optional[_Union[TaskAction, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpdateTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("order_id", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: OrderStatus
    def __init__(self, status: _Optional[_Union[OrderStatus, str]] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class OrderEvent(_message.Message):
    __slots__ = ("occurred_at", "status", "rider_id", "note")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    status: OrderStatus
    rider_id: str
    note: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., rider_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class OrderDetails(_message.Message):
    __slots__ = ("order", "status", "rider_id", "estimated_pickup_at", "estimated_dropoff_at", "reason", "history")
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
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., rider_id: _Optional[str] = ..., estimated_pickup_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., estimated_dropoff_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., history: _Optional[_Iterable[_Union[OrderEvent, _Mapping]]] = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: OrderDetails
    def __init__(self, order: _Optional[_Union[OrderDetails, _Mapping]] = ...) -> None: ...

class CellCongestion(_message.Message):
    __slots__ = ("h3_cell", "factor")
    H3_CELL_FIELD_NUMBER: _ClassVar[int]
    FACTOR_FIELD_NUMBER: _ClassVar[int]
    h3_cell: str
    factor: float
    def __init__(self, h3_cell: _Optional[str] = ..., factor: _Optional[float] = ...) -> None: ...

class UpdateTrafficRequest(_message.Message):
    __slots__ = ("cells", "reset")
    CELLS_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    cells: _containers.RepeatedCompositeFieldContainer[CellCongestion]
    reset: bool
    def __init__(self, cells: _Optional[_Iterable[_Union[CellCongestion, _Mapping]]] = ..., reset: _Optional[bool] = ...) -> None: ...

class UpdateTrafficResponse(_message.Message):
    __slots__ = ("roads_changed", "traffic_version")
    ROADS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    TRAFFIC_VERSION_FIELD_NUMBER: _ClassVar[int]
    roads_changed: int
    traffic_version: int
    def __init__(self, roads_changed: _Optional[int] = ..., traffic_version: _Optional[int] = ...) -> None: ...

class ReportFoodReadyRequest(_message.Message):
    __slots__ = ("order_id", "ready_at")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    READY_AT_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    ready_at: _timestamp_pb2.Timestamp
    def __init__(self, order_id: _Optional[str] = ..., ready_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReportFoodReadyResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: OrderStatus
    def __init__(self, status: _Optional[_Union[OrderStatus, str]] = ...) -> None: ...

class WatchOrdersRequest(_message.Message):
    __slots__ = ("resume_after_event_id",)
    RESUME_AFTER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    resume_after_event_id: str
    def __init__(self, resume_after_event_id: _Optional[str] = ...) -> None: ...

class OrderUpdate(_message.Message):
    __slots__ = ("event_id", "order_id", "status", "rider_id", "estimated_pickup_at", "estimated_dropoff_at", "reason", "occurred_at")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_PICKUP_AT_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_DROPOFF_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    order_id: str
    status: OrderStatus
    rider_id: str
    estimated_pickup_at: _timestamp_pb2.Timestamp
    estimated_dropoff_at: _timestamp_pb2.Timestamp
    reason: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, event_id: _Optional[str] = ..., order_id: _Optional[str] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., rider_id: _Optional[str] = ..., estimated_pickup_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., estimated_dropoff_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WatchOrdersResponse(_message.Message):
    __slots__ = ("update",)
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    update: OrderUpdate
    def __init__(self, update: _Optional[_Union[OrderUpdate, _Mapping]] = ...) -> None: ...
