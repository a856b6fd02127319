import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tongcheng.coupons.v1 import coupons_pb2 as _coupons_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MerchantCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MERCHANT_CATEGORY_UNSPECIFIED: _ClassVar[MerchantCategory]
    MERCHANT_CATEGORY_RESTAURANT: _ClassVar[MerchantCategory]
    MERCHANT_CATEGORY_GROCERY: _ClassVar[MerchantCategory]
    MERCHANT_CATEGORY_CONVENIENCE: _ClassVar[MerchantCategory]
    MERCHANT_CATEGORY_PHARMACY: _ClassVar[MerchantCategory]
    MERCHANT_CATEGORY_FRUIT: _ClassVar[MerchantCategory]
    MERCHANT_CATEGORY_CLINIC: _ClassVar[MerchantCategory]
    MERCHANT_CATEGORY_FITNESS: _ClassVar[MerchantCategory]
    MERCHANT_CATEGORY_HOME_SERVICE: _ClassVar[MerchantCategory]
    MERCHANT_CATEGORY_OTHER: _ClassVar[MerchantCategory]

class MerchantStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MERCHANT_STATUS_UNSPECIFIED: _ClassVar[MerchantStatus]
    MERCHANT_STATUS_OPEN: _ClassVar[MerchantStatus]
    MERCHANT_STATUS_PAUSED: _ClassVar[MerchantStatus]
    MERCHANT_STATUS_CLOSED: _ClassVar[MerchantStatus]

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

class ItemStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ITEM_STATUS_UNSPECIFIED: _ClassVar[ItemStatus]
    ITEM_STATUS_ACTIVE: _ClassVar[ItemStatus]
    ITEM_STATUS_PAUSED: _ClassVar[ItemStatus]

class StockEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STOCK_EVENT_KIND_UNSPECIFIED: _ClassVar[StockEventKind]
    STOCK_EVENT_KIND_PHYSICAL_COUNT: _ClassVar[StockEventKind]
    STOCK_EVENT_KIND_ADJUSTMENT: _ClassVar[StockEventKind]
    STOCK_EVENT_KIND_SALE: _ClassVar[StockEventKind]
    STOCK_EVENT_KIND_RETURN: _ClassVar[StockEventKind]

class ReservationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVATION_STATE_UNSPECIFIED: _ClassVar[ReservationState]
    RESERVATION_STATE_HELD: _ClassVar[ReservationState]
    RESERVATION_STATE_SOLD: _ClassVar[ReservationState]
    RESERVATION_STATE_RELEASED: _ClassVar[ReservationState]
    RESERVATION_STATE_EXPIRED: _ClassVar[ReservationState]
    RESERVATION_STATE_RETURNED: _ClassVar[ReservationState]
MERCHANT_CATEGORY_UNSPECIFIED: MerchantCategory
MERCHANT_CATEGORY_RESTAURANT: MerchantCategory
MERCHANT_CATEGORY_GROCERY: MerchantCategory
MERCHANT_CATEGORY_CONVENIENCE: MerchantCategory
MERCHANT_CATEGORY_PHARMACY: MerchantCategory
MERCHANT_CATEGORY_FRUIT: MerchantCategory
MERCHANT_CATEGORY_CLINIC: MerchantCategory
MERCHANT_CATEGORY_FITNESS: MerchantCategory
MERCHANT_CATEGORY_HOME_SERVICE: MerchantCategory
MERCHANT_CATEGORY_OTHER: MerchantCategory
MERCHANT_STATUS_UNSPECIFIED: MerchantStatus
MERCHANT_STATUS_OPEN: MerchantStatus
MERCHANT_STATUS_PAUSED: MerchantStatus
MERCHANT_STATUS_CLOSED: MerchantStatus
DAY_OF_WEEK_UNSPECIFIED: DayOfWeek
DAY_OF_WEEK_MONDAY: DayOfWeek
DAY_OF_WEEK_TUESDAY: DayOfWeek
DAY_OF_WEEK_WEDNESDAY: DayOfWeek
DAY_OF_WEEK_THURSDAY: DayOfWeek
DAY_OF_WEEK_FRIDAY: DayOfWeek
DAY_OF_WEEK_SATURDAY: DayOfWeek
DAY_OF_WEEK_SUNDAY: DayOfWeek
ITEM_STATUS_UNSPECIFIED: ItemStatus
ITEM_STATUS_ACTIVE: ItemStatus
ITEM_STATUS_PAUSED: ItemStatus
STOCK_EVENT_KIND_UNSPECIFIED: StockEventKind
STOCK_EVENT_KIND_PHYSICAL_COUNT: StockEventKind
STOCK_EVENT_KIND_ADJUSTMENT: StockEventKind
STOCK_EVENT_KIND_SALE: StockEventKind
STOCK_EVENT_KIND_RETURN: StockEventKind
RESERVATION_STATE_UNSPECIFIED: ReservationState
RESERVATION_STATE_HELD: ReservationState
RESERVATION_STATE_SOLD: ReservationState
RESERVATION_STATE_RELEASED: ReservationState
RESERVATION_STATE_EXPIRED: ReservationState
RESERVATION_STATE_RETURNED: ReservationState

class LatLng(_message.Message):
    __slots__ = ("lat", "lng")
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    lat: float
    lng: float
    def __init__(self, lat: _Optional[float] = ..., lng: _Optional[float] = ...) -> None: ...

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

class Merchant(_message.Message):
    __slots__ = ("merchant_id", "name", "category", "location", "time_zone", "weekly_hours", "exceptions", "chain_id", "status", "version", "updated_at")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    WEEKLY_HOURS_FIELD_NUMBER: _ClassVar[int]
    EXCEPTIONS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    name: str
    category: MerchantCategory
    location: LatLng
    time_zone: str
    weekly_hours: _containers.RepeatedCompositeFieldContainer[WeeklyPeriod]
    exceptions: _containers.RepeatedCompositeFieldContainer[DateException]
    chain_id: str
    status: MerchantStatus
    version: int
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, merchant_id: _Optional[str] = ..., name: _Optional[str] = ..., category: _Optional[_Union[MerchantCategory, str]] = ..., location: _Optional[_Union[LatLng, _Mapping]] = ..., time_zone: _Optional[str] = ..., weekly_hours: _Optional[_Iterable[_Union[WeeklyPeriod, _Mapping]]] = ..., exceptions: _Optional[_Iterable[_Union[DateException, _Mapping]]] = ..., chain_id: _Optional[str] = ..., status: _Optional[_Union[MerchantStatus, str]] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpsertMerchantRequest(_message.Message):
    __slots__ = ("merchant",)
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    merchant: Merchant
    def __init__(self, merchant: _Optional[_Union[Merchant, _Mapping]] = ...) -> None: ...

class UpsertMerchantResponse(_message.Message):
    __slots__ = ("merchant",)
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    merchant: Merchant
    def __init__(self, merchant: _Optional[_Union[Merchant, _Mapping]] = ...) -> None: ...

class GetMerchantRequest(_message.Message):
    __slots__ = ("merchant_id", "at")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, merchant_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetMerchantResponse(_message.Message):
    __slots__ = ("merchant", "open_now")
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    OPEN_NOW_FIELD_NUMBER: _ClassVar[int]
    merchant: Merchant
    open_now: bool
    def __init__(self, merchant: _Optional[_Union[Merchant, _Mapping]] = ..., open_now: _Optional[bool] = ...) -> None: ...

class SetMerchantStatusRequest(_message.Message):
    __slots__ = ("merchant_id", "status")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    status: MerchantStatus
    def __init__(self, merchant_id: _Optional[str] = ..., status: _Optional[_Union[MerchantStatus, str]] = ...) -> None: ...

class SetMerchantStatusResponse(_message.Message):
    __slots__ = ("merchant",)
    MERCHANT_FIELD_NUMBER: _ClassVar[int]
    merchant: Merchant
    def __init__(self, merchant: _Optional[_Union[Merchant, _Mapping]] = ...) -> None: ...

class ListBranchesRequest(_message.Message):
    __slots__ = ("chain_id",)
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    def __init__(self, chain_id: _Optional[str] = ...) -> None: ...

class ListBranchesResponse(_message.Message):
    __slots__ = ("merchant_ids",)
    MERCHANT_IDS_FIELD_NUMBER: _ClassVar[int]
    merchant_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, merchant_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ChainOverflow(_message.Message):
    __slots__ = ("enabled", "backlog_orders", "late_prep_s", "margin_s")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_ORDERS_FIELD_NUMBER: _ClassVar[int]
    LATE_PREP_S_FIELD_NUMBER: _ClassVar[int]
    MARGIN_S_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    backlog_orders: int
    late_prep_s: int
    margin_s: int
    def __init__(self, enabled: _Optional[bool] = ..., backlog_orders: _Optional[int] = ..., late_prep_s: _Optional[int] = ..., margin_s: _Optional[int] = ...) -> None: ...

class SetChainOverflowRequest(_message.Message):
    __slots__ = ("chain_id", "overflow")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    OVERFLOW_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    overflow: ChainOverflow
    def __init__(self, chain_id: _Optional[str] = ..., overflow: _Optional[_Union[ChainOverflow, _Mapping]] = ...) -> None: ...

class SetChainOverflowResponse(_message.Message):
    __slots__ = ("overflow",)
    OVERFLOW_FIELD_NUMBER: _ClassVar[int]
    overflow: ChainOverflow
    def __init__(self, overflow: _Optional[_Union[ChainOverflow, _Mapping]] = ...) -> None: ...

class GetChainOverflowRequest(_message.Message):
    __slots__ = ("chain_id",)
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    def __init__(self, chain_id: _Optional[str] = ...) -> None: ...

class GetChainOverflowResponse(_message.Message):
    __slots__ = ("overflow", "configured")
    OVERFLOW_FIELD_NUMBER: _ClassVar[int]
    CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    overflow: ChainOverflow
    configured: bool
    def __init__(self, overflow: _Optional[_Union[ChainOverflow, _Mapping]] = ..., configured: _Optional[bool] = ...) -> None: ...

class Variant(_message.Message):
    __slots__ = ("variant_id", "name", "price_fen")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRICE_FEN_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    name: str
    price_fen: int
    def __init__(self, variant_id: _Optional[str] = ..., name: _Optional[str] = ..., price_fen: _Optional[int] = ...) -> None: ...

class CatalogItem(_message.Message):
    __slots__ = ("item_id", "name", "category", "status", "variants", "version", "updated_at", "chain_id", "overridden")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    name: str
    category: str
    status: ItemStatus
    variants: _containers.RepeatedCompositeFieldContainer[Variant]
    version: int
    updated_at: _timestamp_pb2.Timestamp
    chain_id: str
    overridden: bool
    def __init__(self, item_id: _Optional[str] = ..., name: _Optional[str] = ..., category: _Optional[str] = ..., status: _Optional[_Union[ItemStatus, str]] = ..., variants: _Optional[_Iterable[_Union[Variant, _Mapping]]] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., chain_id: _Optional[str] = ..., overridden: _Optional[bool] = ...) -> None: ...

class SyncChainCatalogRequest(_message.Message):
    __slots__ = ("chain_id", "idempotency_key", "items")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    idempotency_key: str
    items: _containers.RepeatedCompositeFieldContainer[CatalogItem]
    def __init__(self, chain_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., items: _Optional[_Iterable[_Union[CatalogItem, _Mapping]]] = ...) -> None: ...

class SyncChainCatalogResponse(_message.Message):
    __slots__ = ("items", "replayed")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CatalogItem]
    replayed: bool
    def __init__(self, items: _Optional[_Iterable[_Union[CatalogItem, _Mapping]]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetChainCatalogRequest(_message.Message):
    __slots__ = ("chain_id", "item_ids")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, chain_id: _Optional[str] = ..., item_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetChainCatalogResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CatalogItem]
    def __init__(self, items: _Optional[_Iterable[_Union[CatalogItem, _Mapping]]] = ...) -> None: ...

class VariantPrice(_message.Message):
    __slots__ = ("variant_id", "price_fen")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_FEN_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    price_fen: int
    def __init__(self, variant_id: _Optional[str] = ..., price_fen: _Optional[int] = ...) -> None: ...

class ItemOverride(_message.Message):
    __slots__ = ("item_id", "status", "prices")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    status: ItemStatus
    prices: _containers.RepeatedCompositeFieldContainer[VariantPrice]
    def __init__(self, item_id: _Optional[str] = ..., status: _Optional[_Union[ItemStatus, str]] = ..., prices: _Optional[_Iterable[_Union[VariantPrice, _Mapping]]] = ...) -> None: ...

class SetItemOverridesRequest(_message.Message):
    __slots__ = ("merchant_id", "overrides", "cleared_item_ids")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    CLEARED_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    overrides: _containers.RepeatedCompositeFieldContainer[ItemOverride]
    cleared_item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, merchant_id: _Optional[str] = ..., overrides: _Optional[_Iterable[_Union[ItemOverride, _Mapping]]] = ..., cleared_item_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SetItemOverridesResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CatalogItem]
    def __init__(self, items: _Optional[_Iterable[_Union[CatalogItem, _Mapping]]] = ...) -> None: ...

class SyncCatalogRequest(_message.Message):
    __slots__ = ("merchant_id", "idempotency_key", "items")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    idempotency_key: str
    items: _containers.RepeatedCompositeFieldContainer[CatalogItem]
    def __init__(self, merchant_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., items: _Optional[_Iterable[_Union[CatalogItem, _Mapping]]] = ...) -> None: ...

class SyncCatalogResponse(_message.Message):
    __slots__ = ("items", "replayed")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CatalogItem]
    replayed: bool
    def __init__(self, items: _Optional[_Iterable[_Union[CatalogItem, _Mapping]]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetCatalogRequest(_message.Message):
    __slots__ = ("merchant_id", "item_ids")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, merchant_id: _Optional[str] = ..., item_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCatalogResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CatalogItem]
    def __init__(self, items: _Optional[_Iterable[_Union[CatalogItem, _Mapping]]] = ...) -> None: ...

class StockEvent(_message.Message):
    __slots__ = ("event_id", "variant_id", "kind", "quantity", "occurred_at", "reason")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    variant_id: str
    kind: StockEventKind
    quantity: int
    occurred_at: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, event_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., kind: _Optional[_Union[StockEventKind, str]] = ..., quantity: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class StockLot(_message.Message):
    __slots__ = ("lot_id", "variant_id", "quantity", "expires_on")
    LOT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    lot_id: str
    variant_id: str
    quantity: int
    expires_on: str
    def __init__(self, lot_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., quantity: _Optional[int] = ..., expires_on: _Optional[str] = ...) -> None: ...

class RecordStockEventsRequest(_message.Message):
    __slots__ = ("merchant_id", "events", "lots")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    events: _containers.RepeatedCompositeFieldContainer[StockEvent]
    lots: _containers.RepeatedCompositeFieldContainer[StockLot]
    def __init__(self, merchant_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[StockEvent, _Mapping]]] = ..., lots: _Optional[_Iterable[_Union[StockLot, _Mapping]]] = ...) -> None: ...

class RecordStockEventsResponse(_message.Message):
    __slots__ = ("levels", "replayed_count")
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_COUNT_FIELD_NUMBER: _ClassVar[int]
    levels: _containers.RepeatedCompositeFieldContainer[StockLevel]
    replayed_count: int
    def __init__(self, levels: _Optional[_Iterable[_Union[StockLevel, _Mapping]]] = ..., replayed_count: _Optional[int] = ...) -> None: ...

class StockLevel(_message.Message):
    __slots__ = ("variant_id", "on_hand", "reserved", "available", "last_count_at", "oversold")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    LAST_COUNT_AT_FIELD_NUMBER: _ClassVar[int]
    OVERSOLD_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    on_hand: int
    reserved: int
    available: int
    last_count_at: _timestamp_pb2.Timestamp
    oversold: int
    def __init__(self, variant_id: _Optional[str] = ..., on_hand: _Optional[int] = ..., reserved: _Optional[int] = ..., available: _Optional[int] = ..., last_count_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., oversold: _Optional[int] = ...) -> None: ...

class GetStockRequest(_message.Message):
    __slots__ = ("merchant_id", "variant_ids", "include_ledger")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_IDS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_LEDGER_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    variant_ids: _containers.RepeatedScalarFieldContainer[str]
    include_ledger: bool
    def __init__(self, merchant_id: _Optional[str] = ..., variant_ids: _Optional[_Iterable[str]] = ..., include_ledger: _Optional[bool] = ...) -> None: ...

class GetStockResponse(_message.Message):
    __slots__ = ("levels", "ledger")
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    LEDGER_FIELD_NUMBER: _ClassVar[int]
    levels: _containers.RepeatedCompositeFieldContainer[StockLevel]
    ledger: _containers.RepeatedCompositeFieldContainer[StockEvent]
    def __init__(self, levels: _Optional[_Iterable[_Union[StockLevel, _Mapping]]] = ..., ledger: _Optional[_Iterable[_Union[StockEvent, _Mapping]]] = ...) -> None: ...

class StockLine(_message.Message):
    __slots__ = ("variant_id", "quantity")
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    variant_id: str
    quantity: int
    def __init__(self, variant_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class Reservation(_message.Message):
    __slots__ = ("reservation_id", "merchant_id", "lines", "state", "expires_at")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    merchant_id: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLine]
    state: ReservationState
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, reservation_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLine, _Mapping]]] = ..., state: _Optional[_Union[ReservationState, str]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReserveStockRequest(_message.Message):
    __slots__ = ("merchant_id", "reservation_id", "lines", "ttl_s")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TTL_S_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    reservation_id: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLine]
    ttl_s: int
    def __init__(self, merchant_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLine, _Mapping]]] = ..., ttl_s: _Optional[int] = ...) -> None: ...

class ReserveStockResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class CommitReservationRequest(_message.Message):
    __slots__ = ("merchant_id", "reservation_id")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    reservation_id: str
    def __init__(self, merchant_id: _Optional[str] = ..., reservation_id: _Optional[str] = ...) -> None: ...

class CommitReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class ReleaseReservationRequest(_message.Message):
    __slots__ = ("merchant_id", "reservation_id")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    reservation_id: str
    def __init__(self, merchant_id: _Optional[str] = ..., reservation_id: _Optional[str] = ...) -> None: ...

class ReleaseReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class PromotionSuggestion(_message.Message):
    __slots__ = ("suggestion_id", "merchant_id", "variant_id", "lot_id", "quantity", "expires_on", "discount_bp", "price_fen", "promotion_price_fen", "created_at", "campaign_id")
    SUGGESTION_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_ID_FIELD_NUMBER: _ClassVar[int]
    LOT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_ON_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_BP_FIELD_NUMBER: _ClassVar[int]
    PRICE_FEN_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_PRICE_FEN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    suggestion_id: str
    merchant_id: str
    variant_id: str
    lot_id: str
    quantity: int
    expires_on: str
    discount_bp: int
    price_fen: int
    promotion_price_fen: int
    created_at: _timestamp_pb2.Timestamp
    campaign_id: str
    def __init__(self, suggestion_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., variant_id: _Optional[str] = ..., lot_id: _Optional[str] = ..., quantity: _Optional[int] = ..., expires_on: _Optional[str] = ..., discount_bp: _Optional[int] = ..., price_fen: _Optional[int] = ..., promotion_price_fen: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., campaign_id: _Optional[str] = ...) -> None: ...

class SuggestPromotionsRequest(_message.Message):
    __slots__ = ("merchant_id", "within_days")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    WITHIN_DAYS_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    within_days: int
    def __init__(self, merchant_id: _Optional[str] = ..., within_days: _Optional[int] = ...) -> None: ...

class SuggestPromotionsResponse(_message.Message):
    __slots__ = ("suggestions",)
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    suggestions: _containers.RepeatedCompositeFieldContainer[PromotionSuggestion]
    def __init__(self, suggestions: _Optional[_Iterable[_Union[PromotionSuggestion, _Mapping]]] = ...) -> None: ...

class ListPromotionSuggestionsRequest(_message.Message):
    __slots__ = ("merchant_id",)
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    def __init__(self, merchant_id: _Optional[str] = ...) -> None: ...

class ListPromotionSuggestionsResponse(_message.Message):
    __slots__ = ("suggestions",)
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    suggestions: _containers.RepeatedCompositeFieldContainer[PromotionSuggestion]
    def __init__(self, suggestions: _Optional[_Iterable[_Union[PromotionSuggestion, _Mapping]]] = ...) -> None: ...

class CreatePromotionCampaignRequest(_message.Message):
    __slots__ = ("merchant_id", "suggestion_id")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    suggestion_id: str
    def __init__(self, merchant_id: _Optional[str] = ..., suggestion_id: _Optional[str] = ...) -> None: ...

class CreatePromotionCampaignResponse(_message.Message):
    __slots__ = ("suggestion", "campaign", "created")
    SUGGESTION_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    suggestion: PromotionSuggestion
    campaign: _coupons_pb2.Campaign
    created: bool
    def __init__(self, suggestion: _Optional[_Union[PromotionSuggestion, _Mapping]] = ..., campaign: _Optional[_Union[_coupons_pb2.Campaign, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...
