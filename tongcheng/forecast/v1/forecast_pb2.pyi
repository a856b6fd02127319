import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LatLng(_message.Message):
    __slots__ = ("lat", "lng")
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    lat: float
    lng: float
    def __init__(self, lat: _Optional[float] = ..., lng: _Optional[float] = ...) -> None: ...

class GetDemandForecastRequest(_message.Message):
    __slots__ = ("zone_id", "start_time", "slots", "resolution")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    zone_id: str
    start_time: _timestamp_pb2.Timestamp
    slots: int
    resolution: int
    def __init__(self, zone_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., slots: _Optional[int] = ..., resolution: _Optional[int] = ...) -> None: ...

class CellForecast(_message.Message):
    __slots__ = ("cell", "expected_orders", "place")
    CELL_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ORDERS_FIELD_NUMBER: _ClassVar[int]
    PLACE_FIELD_NUMBER: _ClassVar[int]
    cell: str
    expected_orders: _containers.RepeatedScalarFieldContainer[float]
    place: LatLng
    def __init__(self, cell: _Optional[str] = ..., expected_orders: _Optional[_Iterable[float]] = ..., place: _Optional[_Union[LatLng, _Mapping]] = ...) -> None: ...

class GetDemandForecastResponse(_message.Message):
    __slots__ = ("zone_id", "resolution", "slot_starts", "cells")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    SLOT_STARTS_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    zone_id: str
    resolution: int
    slot_starts: _containers.RepeatedCompositeFieldContainer[_timestamp_pb2.Timestamp]
    cells: _containers.RepeatedCompositeFieldContainer[CellForecast]
    def __init__(self, zone_id: _Optional[str] = ..., resolution: _Optional[int] = ..., slot_starts: _Optional[_Iterable[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]]] = ..., cells: _Optional[_Iterable[_Union[CellForecast, _Mapping]]] = ...) -> None: ...

class GetGuidanceDecisionRequest(_message.Message):
    __slots__ = ("zone_id",)
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    zone_id: str
    def __init__(self, zone_id: _Optional[str] = ...) -> None: ...

class GuidanceTarget(_message.Message):
    __slots__ = ("cell", "place", "weight")
    CELL_FIELD_NUMBER: _ClassVar[int]
    PLACE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    cell: str
    place: LatLng
    weight: float
    def __init__(self, cell: _Optional[str] = ..., place: _Optional[_Union[LatLng, _Mapping]] = ..., weight: _Optional[float] = ...) -> None: ...

class GuidedRider(_message.Message):
    __slots__ = ("rider_id", "wait_at", "distance_m")
    RIDER_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_AT_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_M_FIELD_NUMBER: _ClassVar[int]
    rider_id: str
    wait_at: LatLng
    distance_m: float
    def __init__(self, rider_id: _Optional[str] = ..., wait_at: _Optional[_Union[LatLng, _Mapping]] = ..., distance_m: _Optional[float] = ...) -> None: ...

class GetGuidanceDecisionResponse(_message.Message):
    __slots__ = ("zone_id", "found", "decided_at", "mode", "targets", "sent")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    zone_id: str
    found: bool
    decided_at: _timestamp_pb2.Timestamp
    mode: str
    targets: _containers.RepeatedCompositeFieldContainer[GuidanceTarget]
    sent: _containers.RepeatedCompositeFieldContainer[GuidedRider]
    def __init__(self, zone_id: _Optional[str] = ..., found: _Optional[bool] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mode: _Optional[str] = ..., targets: _Optional[_Iterable[_Union[GuidanceTarget, _Mapping]]] = ..., sent: _Optional[_Iterable[_Union[GuidedRider, _Mapping]]] = ...) -> None: ...

class SuggestRestockRequest(_message.Message):
    __slots__ = ("merchant_id", "horizon_hours")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    HORIZON_HOURS_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    horizon_hours: int
    def __init__(self, merchant_id: _Optional[str] = ..., horizon_hours: _Optional[int] = ...) -> None: ...

class RestockSuggestion(_message.Message):
    __slots__ = ("merchant_id", "category", "horizon_hours", "expected_orders", "units_per_order", "forecast_units", "on_hand", "cover_hours", "suggested_units", "created_at")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    HORIZON_HOURS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ORDERS_FIELD_NUMBER: _ClassVar[int]
    UNITS_PER_ORDER_FIELD_NUMBER: _ClassVar[int]
    FORECAST_UNITS_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    COVER_HOURS_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_UNITS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    category: str
    horizon_hours: int
    expected_orders: float
    units_per_order: float
    forecast_units: float
    on_hand: int
    cover_hours: float
    suggested_units: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, merchant_id: _Optional[str] = ..., category: _Optional[str] = ..., horizon_hours: _Optional[int] = ..., expected_orders: _Optional[float] = ..., units_per_order: _Optional[float] = ..., forecast_units: _Optional[float] = ..., on_hand: _Optional[int] = ..., cover_hours: _Optional[float] = ..., suggested_units: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SuggestRestockResponse(_message.Message):
    __slots__ = ("suggestions",)
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    suggestions: _containers.RepeatedCompositeFieldContainer[RestockSuggestion]
    def __init__(self, suggestions: _Optional[_Iterable[_Union[RestockSuggestion, _Mapping]]] = ...) -> None: ...

class ListRestockSuggestionsRequest(_message.Message):
    __slots__ = ("merchant_id",)
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    def __init__(self, merchant_id: _Optional[str] = ...) -> None: ...

class ListRestockSuggestionsResponse(_message.Message):
    __slots__ = ("suggestions",)
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    suggestions: _containers.RepeatedCompositeFieldContainer[RestockSuggestion]
    def __init__(self, suggestions: _Optional[_Iterable[_Union[RestockSuggestion, _Mapping]]] = ...) -> None: ...
