import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResourceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESOURCE_KIND_UNSPECIFIED: _ClassVar[ResourceKind]
    RESOURCE_KIND_DOCTOR: _ClassVar[ResourceKind]
    RESOURCE_KIND_TABLE: _ClassVar[ResourceKind]
    RESOURCE_KIND_CLASS: _ClassVar[ResourceKind]
    RESOURCE_KIND_HOME_SERVICE: _ClassVar[ResourceKind]

class DayOfWeek(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DAY_OF_WEEK_UNSPECIFIED: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_MONDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_TUESDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_WEDNESDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_THURSDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_FRIDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_SATURDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_SUNDAY: _ClassVar[DayOfWeek]

class BookingState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BOOKING_STATE_UNSPECIFIED: _ClassVar[BookingState]
    BOOKING_STATE_HELD: _ClassVar[BookingState]
    BOOKING_STATE_OFFERED: _ClassVar[BookingState]
    BOOKING_STATE_CONFIRMED: _ClassVar[BookingState]
    BOOKING_STATE_CANCELLED: _ClassVar[BookingState]
    BOOKING_STATE_EXPIRED: _ClassVar[BookingState]
    BOOKING_STATE_NO_SHOW: _ClassVar[BookingState]
    BOOKING_STATE_WAITING: _ClassVar[BookingState]
    BOOKING_STATE_COMPLETED: _ClassVar[BookingState]

class PaymentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_KIND_UNSPECIFIED: _ClassVar[PaymentKind]
    PAYMENT_KIND_DEPOSIT: _ClassVar[PaymentKind]
    PAYMENT_KIND_FULL: _ClassVar[PaymentKind]
RESOURCE_KIND_UNSPECIFIED: ResourceKind
RESOURCE_KIND_DOCTOR: ResourceKind
RESOURCE_KIND_TABLE: ResourceKind
RESOURCE_KIND_CLASS: ResourceKind
RESOURCE_KIND_HOME_SERVICE: ResourceKind
DAY_OF_WEEK_UNSPECIFIED: DayOfWeek
DAY_OF_WEEK_MONDAY: DayOfWeek
DAY_OF_WEEK_TUESDAY: DayOfWeek
DAY_OF_WEEK_WEDNESDAY: DayOfWeek
DAY_OF_WEEK_THURSDAY: DayOfWeek
DAY_OF_WEEK_FRIDAY: DayOfWeek
DAY_OF_WEEK_SATURDAY: DayOfWeek
DAY_OF_WEEK_SUNDAY: DayOfWeek
BOOKING_STATE_UNSPECIFIED: BookingState
BOOKING_STATE_HELD: BookingState
BOOKING_STATE_OFFERED: BookingState
BOOKING_STATE_CONFIRMED: BookingState
BOOKING_STATE_CANCELLED: BookingState
BOOKING_STATE_EXPIRED: BookingState
BOOKING_STATE_NO_SHOW: BookingState
BOOKING_STATE_WAITING: BookingState
BOOKING_STATE_COMPLETED: BookingState
PAYMENT_KIND_UNSPECIFIED: PaymentKind
PAYMENT_KIND_DEPOSIT: PaymentKind
PAYMENT_KIND_FULL: PaymentKind

class WeeklyPeriod(_message.Message):
    __slots__ = ("day", "start_minute", "end_minute")
    DAY_FIELD_NUMBER: _ClassVar[int]
    START_MINUTE_FIELD_NUMBER: _ClassVar[int]
    END_MINUTE_FIELD_NUMBER: _ClassVar[int]
    day: DayOfWeek
    start_minute: int
    end_minute: int
    def __init__(self, day: _Optional[_Union[DayOfWeek, str]] = ..., start_minute: _Optional[int] = ..., end_minute: _Optional[int] = ...) -> None: ...

class TimeRange(_message.Message):
    __slots__ = ("start_minute", "end_minute")
    START_MINUTE_FIELD_NUMBER: _ClassVar[int]
    END_MINUTE_FIELD_NUMBER: _ClassVar[int]
    start_minute: int
    end_minute: int
    def __init__(self, start_minute: _Optional[int] = ..., end_minute: _Optional[int] = ...) -> None: ...

class DateException(_message.Message):
    __slots__ = ("date", "periods")
    DATE_FIELD_NUMBER: _ClassVar[int]
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    date: str
    periods: _containers.RepeatedCompositeFieldContainer[TimeRange]
    def __init__(self, date: _Optional[str] = ..., periods: _Optional[_Iterable[_Union[TimeRange, _Mapping]]] = ...) -> None: ...

class Resource(_message.Message):
    __slots__ = ("merchant_id", "resource_id", "name", "kind", "time_zone", "slot_minutes", "capacity", "weekly_schedule", "exceptions", "offer_minutes", "version", "price_fen", "deposit_fen", "free_cancel_minutes")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    SLOT_MINUTES_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    WEEKLY_SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    EXCEPTIONS_FIELD_NUMBER: _ClassVar[int]
    OFFER_MINUTES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FEN_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_FEN_FIELD_NUMBER: _ClassVar[int]
    FREE_CANCEL_MINUTES_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    resource_id: str
    name: str
    kind: ResourceKind
    time_zone: str
    slot_minutes: int
    capacity: int
    weekly_schedule: _containers.RepeatedCompositeFieldContainer[WeeklyPeriod]
    exceptions: _containers.RepeatedCompositeFieldContainer[DateException]
    offer_minutes: int
    version: int
    price_fen: int
    deposit_fen: int
    free_cancel_minutes: int
    def __init__(self, merchant_id: _Optional[str] = ..., resource_id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[ResourceKind, str]] = ..., time_zone: _Optional[str] = ..., slot_minutes: _Optional[int] = ..., capacity: _Optional[int] = ..., weekly_schedule: _Optional[_Iterable[_Union[WeeklyPeriod, _Mapping]]] = ..., exceptions: _Optional[_Iterable[_Union[DateException, _Mapping]]] = ..., offer_minutes: _Optional[int] = ..., version: _Optional[int] = ..., price_fen: _Optional[int] = ..., deposit_fen: _Optional[int] = ..., free_cancel_minutes: _Optional[int] = ...) -> None: ...

class UpsertResourceRequest(_message.Message):
    __slots__ = ("resource",)
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    resource: Resource
    def __init__(self, resource: _Optional[_Union[Resource, _Mapping]] = ...) -> None: ...

class UpsertResourceResponse(_message.Message):
    __slots__ = ("resource",)
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    resource: Resource
    def __init__(self, resource: _Optional[_Union[Resource, _Mapping]] = ...) -> None: ...

class GetResourceRequest(_message.Message):
    __slots__ = ("merchant_id", "resource_id")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    resource_id: str
    def __init__(self, merchant_id: _Optional[str] = ..., resource_id: _Optional[str] = ...) -> None: ...

class GetResourceResponse(_message.Message):
    __slots__ = ("resource",)
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    resource: Resource
    def __init__(self, resource: _Optional[_Union[Resource, _Mapping]] = ...) -> None: ...

class GetAvailabilityRequest(_message.Message):
    __slots__ = ("merchant_id", "resource_id", "kind", "from_date", "to_date", "only_free")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    ONLY_FREE_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    resource_id: str
    kind: ResourceKind
    from_date: str
    to_date: str
    only_free: bool
    def __init__(self, merchant_id: _Optional[str] = ..., resource_id: _Optional[str] = ..., kind: _Optional[_Union[ResourceKind, str]] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., only_free: _Optional[bool] = ...) -> None: ...

class Slot(_message.Message):
    __slots__ = ("resource_id", "start_at", "end_at", "local_date", "local_start_minute", "capacity", "free", "waiting")
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    END_AT_FIELD_NUMBER: _ClassVar[int]
    LOCAL_DATE_FIELD_NUMBER: _ClassVar[int]
    LOCAL_START_MINUTE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    FREE_FIELD_NUMBER: _ClassVar[int]
    WAITING_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    start_at: _timestamp_pb2.Timestamp
    end_at: _timestamp_pb2.Timestamp
    local_date: str
    local_start_minute: int
    capacity: int
    free: int
    waiting: int
    def __init__(self, resource_id: _Optional[str] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., local_date: _Optional[str] = ..., local_start_minute: _Optional[int] = ..., capacity: _Optional[int] = ..., free: _Optional[int] = ..., waiting: _Optional[int] = ...) -> None: ...

class GetAvailabilityResponse(_message.Message):
    __slots__ = ("slots",)
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[Slot]
    def __init__(self, slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ...) -> None: ...

class BookingPayment(_message.Message):
    __slots__ = ("kind", "amount_fen", "payment_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    kind: PaymentKind
    amount_fen: int
    payment_id: str
    def __init__(self, kind: _Optional[_Union[PaymentKind, str]] = ..., amount_fen: _Optional[int] = ..., payment_id: _Optional[str] = ...) -> None: ...

class Booking(_message.Message):
    __slots__ = ("booking_id", "merchant_id", "resource_id", "customer_id", "start_at", "end_at", "state", "hold_expires_at", "waitlist_position", "updated_at", "order_id")
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    END_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HOLD_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    WAITLIST_POSITION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    booking_id: str
    merchant_id: str
    resource_id: str
    customer_id: str
    start_at: _timestamp_pb2.Timestamp
    end_at: _timestamp_pb2.Timestamp
    state: BookingState
    hold_expires_at: _timestamp_pb2.Timestamp
    waitlist_position: int
    updated_at: _timestamp_pb2.Timestamp
    order_id: str
    def __init__(self, booking_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., resource_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[BookingState, str]] = ..., hold_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., waitlist_position: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., order_id: _Optional[str] = ...) -> None: ...

class HoldSlotRequest(_message.Message):
    __slots__ = ("merchant_id", "resource_id", "start_at", "booking_id", "customer_id", "hold_s")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    HOLD_S_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    resource_id: str
    start_at: _timestamp_pb2.Timestamp
    booking_id: str
    customer_id: str
    hold_s: int
    def __init__(self, merchant_id: _Optional[str] = ..., resource_id: _Optional[str] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., booking_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., hold_s: _Optional[int] = ...) -> None: ...

class HoldSlotResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...

class ConfirmBookingRequest(_message.Message):
    __slots__ = ("merchant_id", "booking_id", "payment")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    booking_id: str
    payment: BookingPayment
    def __init__(self, merchant_id: _Optional[str] = ..., booking_id: _Optional[str] = ..., payment: _Optional[_Union[BookingPayment, _Mapping]] = ...) -> None: ...

class ConfirmBookingResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...

class CancelBookingRequest(_message.Message):
    __slots__ = ("merchant_id", "booking_id")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    booking_id: str
    def __init__(self, merchant_id: _Optional[str] = ..., booking_id: _Optional[str] = ...) -> None: ...

class CancelBookingResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...

class RescheduleBookingRequest(_message.Message):
    __slots__ = ("merchant_id", "booking_id", "resource_id", "start_at")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    booking_id: str
    resource_id: str
    start_at: _timestamp_pb2.Timestamp
    def __init__(self, merchant_id: _Optional[str] = ..., booking_id: _Optional[str] = ..., resource_id: _Optional[str] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RescheduleBookingResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...

class CompleteBookingRequest(_message.Message):
    __slots__ = ("merchant_id", "booking_id")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    booking_id: str
    def __init__(self, merchant_id: _Optional[str] = ..., booking_id: _Optional[str] = ...) -> None: ...

class CompleteBookingResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...

class MarkNoShowRequest(_message.Message):
    __slots__ = ("merchant_id", "booking_id")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    booking_id: str
    def __init__(self, merchant_id: _Optional[str] = ..., booking_id: _Optional[str] = ...) -> None: ...

class MarkNoShowResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...

class JoinWaitlistRequest(_message.Message):
    __slots__ = ("merchant_id", "resource_id", "start_at", "booking_id", "customer_id")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    resource_id: str
    start_at: _timestamp_pb2.Timestamp
    booking_id: str
    customer_id: str
    def __init__(self, merchant_id: _Optional[str] = ..., resource_id: _Optional[str] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., booking_id: _Optional[str] = ..., customer_id: _Optional[str] = ...) -> None: ...

class JoinWaitlistResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...

class GetBookingRequest(_message.Message):
    __slots__ = ("merchant_id", "booking_id")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    BOOKING_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    booking_id: str
    def __init__(self, merchant_id: _Optional[str] = ..., booking_id: _Optional[str] = ...) -> None: ...

class GetBookingResponse(_message.Message):
    __slots__ = ("booking",)
    BOOKING_FIELD_NUMBER: _ClassVar[int]
    booking: Booking
    def __init__(self, booking: _Optional[_Union[Booking, _Mapping]] = ...) -> None: ...
