import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Weather(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEATHER_UNSPECIFIED: _ClassVar[Weather]
    WEATHER_CLEAR: _ClassVar[Weather]
    WEATHER_RAIN: _ClassVar[Weather]
    WEATHER_HEAVY_RAIN: _ClassVar[Weather]
    WEATHER_SNOW: _ClassVar[Weather]
    WEATHER_HEAT: _ClassVar[Weather]
WEATHER_UNSPECIFIED: Weather
WEATHER_CLEAR: Weather
WEATHER_RAIN: Weather
WEATHER_HEAVY_RAIN: Weather
WEATHER_SNOW: Weather
WEATHER_HEAT: Weather

class LatLng(_message.Message):
    __slots__ = ("lat", "lng")
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    lat: float
    lng: float
    def __init__(self, lat: _Optional[float] = ..., lng: _Optional[float] = ...) -> None: ...

class Isochrone(_message.Message):
    __slots__ = ("minutes",)
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    minutes: int
    def __init__(self, minutes: _Optional[int] = ...) -> None: ...

class SetDeliveryAreaRequest(_message.Message):
    __slots__ = ("merchant_id", "radius_m", "isochrone", "polygon_geojson")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    RADIUS_M_FIELD_NUMBER: _ClassVar[int]
    ISOCHRONE_FIELD_NUMBER: _ClassVar[int]
    POLYGON_GEOJSON_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    radius_m: float
    isochrone: Isochrone
    polygon_geojson: str
    def __init__(self, merchant_id: _Optional[str] = ..., radius_m: _Optional[float] = ..., isochrone: _Optional[_Union[Isochrone, _Mapping]] = ..., polygon_geojson: _Optional[str] = ...) -> None: ...

class DeliveryArea(_message.Message):
    __slots__ = ("merchant_id", "kind", "radius_m", "isochrone_minutes", "polygon_geojson", "h3_resolution", "cell_count", "shrunk_rings", "active_cell_count")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RADIUS_M_FIELD_NUMBER: _ClassVar[int]
    ISOCHRONE_MINUTES_FIELD_NUMBER: _ClassVar[int]
    POLYGON_GEOJSON_FIELD_NUMBER: _ClassVar[int]
    H3_RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    CELL_COUNT_FIELD_NUMBER: _ClassVar[int]
    SHRUNK_RINGS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_CELL_COUNT_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    kind: str
    radius_m: float
    isochrone_minutes: int
    polygon_geojson: str
    h3_resolution: int
    cell_count: int
    shrunk_rings: int
    active_cell_count: int
    def __init__(self, merchant_id: _Optional[str] = ..., kind: _Optional[str] = ..., radius_m: _Optional[float] = ..., isochrone_minutes: _Optional[int] = ..., polygon_geojson: _Optional[str] = ..., h3_resolution: _Optional[int] = ..., cell_count: _Optional[int] = ..., shrunk_rings: _Optional[int] = ..., active_cell_count: _Optional[int] = ...) -> None: ...

class SetDeliveryAreaResponse(_message.Message):
    __slots__ = ("area",)
    AREA_FIELD_NUMBER: _ClassVar[int]
    area: DeliveryArea
    def __init__(self, area: _Optional[_Union[DeliveryArea, _Mapping]] = ...) -> None: ...

class GetDeliveryAreaRequest(_message.Message):
    __slots__ = ("merchant_id",)
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    def __init__(self, merchant_id: _Optional[str] = ...) -> None: ...

class GetDeliveryAreaResponse(_message.Message):
    __slots__ = ("area",)
    AREA_FIELD_NUMBER: _ClassVar[int]
    area: DeliveryArea
    def __init__(self, area: _Optional[_Union[DeliveryArea, _Mapping]] = ...) -> None: ...

class FindMerchantsDeliveringRequest(_message.Message):
    __slots__ = ("location", "page_size", "page_token", "include_closed")
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CLOSED_FIELD_NUMBER: _ClassVar[int]
    location: LatLng
    page_size: int
    page_token: str
    include_closed: bool
    def __init__(self, location: _Optional[_Union[LatLng, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., include_closed: _Optional[bool] = ...) -> None: ...

class FindMerchantsDeliveringResponse(_message.Message):
    __slots__ = ("merchant_ids", "cell", "next_page_token")
    MERCHANT_IDS_FIELD_NUMBER: _ClassVar[int]
    CELL_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    merchant_ids: _containers.RepeatedScalarFieldContainer[str]
    cell: str
    next_page_token: str
    def __init__(self, merchant_ids: _Optional[_Iterable[str]] = ..., cell: _Optional[str] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class QuoteDeliveryRequest(_message.Message):
    __slots__ = ("merchant_id", "dropoff", "item_count", "items_fen", "at")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    DROPOFF_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FEN_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    dropoff: LatLng
    item_count: int
    items_fen: int
    at: _timestamp_pb2.Timestamp
    def __init__(self, merchant_id: _Optional[str] = ..., dropoff: _Optional[_Union[LatLng, _Mapping]] = ..., item_count: _Optional[int] = ..., items_fen: _Optional[int] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QuoteLine(_message.Message):
    __slots__ = ("label", "amount_fen")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    label: str
    amount_fen: int
    def __init__(self, label: _Optional[str] = ..., amount_fen: _Optional[int] = ...) -> None: ...

class Quote(_message.Message):
    __slots__ = ("quote_id", "merchant_id", "dropoff", "fee_fen", "lines", "surge_factor", "surge_fen", "rider_surge_fen", "road_distance_m", "ride_time_s", "issued_at", "expires_at", "token")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    DROPOFF_FIELD_NUMBER: _ClassVar[int]
    FEE_FEN_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SURGE_FACTOR_FIELD_NUMBER: _ClassVar[int]
    SURGE_FEN_FIELD_NUMBER: _ClassVar[int]
    RIDER_SURGE_FEN_FIELD_NUMBER: _ClassVar[int]
    ROAD_DISTANCE_M_FIELD_NUMBER: _ClassVar[int]
    RIDE_TIME_S_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    merchant_id: str
    dropoff: LatLng
    fee_fen: int
    lines: _containers.RepeatedCompositeFieldContainer[QuoteLine]
    surge_factor: float
    surge_fen: int
    rider_surge_fen: int
    road_distance_m: float
    ride_time_s: float
    issued_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    token: str
    def __init__(self, quote_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., dropoff: _Optional[_Union[LatLng, _Mapping]] = ..., fee_fen: _Optional[int] = ..., lines: _Optional[_Iterable[_Union[QuoteLine, _Mapping]]] = ..., surge_factor: _Optional[float] = ..., surge_fen: _Optional[int] = ..., rider_surge_fen: _Optional[int] = ..., road_distance_m: _Optional[float] = ..., ride_time_s: _Optional[float] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class QuoteDeliveryResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class SetConditionsRequest(_message.Message):
    __slots__ = ("area_id", "weather", "valid_until")
    AREA_ID_FIELD_NUMBER: _ClassVar[int]
    WEATHER_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    area_id: str
    weather: Weather
    valid_until: _timestamp_pb2.Timestamp
    def __init__(self, area_id: _Optional[str] = ..., weather: _Optional[_Union[Weather, str]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetConditionsResponse(_message.Message):
    __slots__ = ("area_id", "weather", "valid_until")
    AREA_ID_FIELD_NUMBER: _ClassVar[int]
    WEATHER_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    area_id: str
    weather: Weather
    valid_until: _timestamp_pb2.Timestamp
    def __init__(self, area_id: _Optional[str] = ..., weather: _Optional[_Union[Weather, str]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HourBand(_message.Message):
    __slots__ = ("start_hour", "end_hour", "fee_fen", "label")
    START_HOUR_FIELD_NUMBER: _ClassVar[int]
    END_HOUR_FIELD_NUMBER: _ClassVar[int]
    FEE_FEN_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    start_hour: int
    end_hour: int
    fee_fen: int
    label: str
    def __init__(self, start_hour: _Optional[int] = ..., end_hour: _Optional[int] = ..., fee_fen: _Optional[int] = ..., label: _Optional[str] = ...) -> None: ...

class WeatherFee(_message.Message):
    __slots__ = ("weather", "fee_fen")
    WEATHER_FIELD_NUMBER: _ClassVar[int]
    FEE_FEN_FIELD_NUMBER: _ClassVar[int]
    weather: Weather
    fee_fen: int
    def __init__(self, weather: _Optional[_Union[Weather, str]] = ..., fee_fen: _Optional[int] = ...) -> None: ...

class PricingRules(_message.Message):
    __slots__ = ("base_fen", "per_km_fen", "included_m", "free_items", "extra_item_fen", "surge_cap", "surge_threshold", "surge_slope", "rider_surge_share_bp", "shrink_at", "grow_at", "max_shrink_rings", "hour_bands", "weather_fees", "quote_ttl_s", "min_basket_fen", "small_order_below_fen", "small_order_fee_fen")
    BASE_FEN_FIELD_NUMBER: _ClassVar[int]
    PER_KM_FEN_FIELD_NUMBER: _ClassVar[int]
    INCLUDED_M_FIELD_NUMBER: _ClassVar[int]
    FREE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_ITEM_FEN_FIELD_NUMBER: _ClassVar[int]
    SURGE_CAP_FIELD_NUMBER: _ClassVar[int]
    SURGE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    SURGE_SLOPE_FIELD_NUMBER: _ClassVar[int]
    RIDER_SURGE_SHARE_BP_FIELD_NUMBER: _ClassVar[int]
    SHRINK_AT_FIELD_NUMBER: _ClassVar[int]
    GROW_AT_FIELD_NUMBER: _ClassVar[int]
    MAX_SHRINK_RINGS_FIELD_NUMBER: _ClassVar[int]
    HOUR_BANDS_FIELD_NUMBER: _ClassVar[int]
    WEATHER_FEES_FIELD_NUMBER: _ClassVar[int]
    QUOTE_TTL_S_FIELD_NUMBER: _ClassVar[int]
    MIN_BASKET_FEN_FIELD_NUMBER: _ClassVar[int]
    SMALL_ORDER_BELOW_FEN_FIELD_NUMBER: _ClassVar[int]
    SMALL_ORDER_FEE_FEN_FIELD_NUMBER: _ClassVar[int]
    base_fen: int
    per_km_fen: int
    included_m: int
    free_items: int
    extra_item_fen: int
    surge_cap: float
    surge_threshold: float
    surge_slope: float
    rider_surge_share_bp: int
    shrink_at: float
    grow_at: float
    max_shrink_rings: int
    hour_bands: _containers.RepeatedCompositeFieldContainer[HourBand]
    weather_fees: _containers.RepeatedCompositeFieldContainer[WeatherFee]
    quote_ttl_s: int
    min_basket_fen: int
    small_order_below_fen: int
    small_order_fee_fen: int
    def __init__(self, base_fen: _Optional[int] = ..., per_km_fen: _Optional[int] = ..., included_m: _Optional[int] = ..., free_items: _Optional[int] = ..., extra_item_fen: _Optional[int] = ..., surge_cap: _Optional[float] = ..., surge_threshold: _Optional[float] = ..., surge_slope: _Optional[float] = ..., rider_surge_share_bp: _Optional[int] = ..., shrink_at: _Optional[float] = ..., grow_at: _Optional[float] = ..., max_shrink_rings: _Optional[int] = ..., hour_bands: _Optional[_Iterable[_Union[HourBand, _Mapping]]] = ..., weather_fees: _Optional[_Iterable[_Union[WeatherFee, _Mapping]]] = ..., quote_ttl_s: _Optional[int] = ..., min_basket_fen: _Optional[int] = ..., small_order_below_fen: _Optional[int] = ..., small_order_fee_fen: _Optional[int] = ...) -> None: ...

class SetPricingRulesRequest(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: PricingRules
    def __init__(self, rules: _Optional[_Union[PricingRules, _Mapping]] = ...) -> None: ...

class SetPricingRulesResponse(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: PricingRules
    def __init__(self, rules: _Optional[_Union[PricingRules, _Mapping]] = ...) -> None: ...

class GetPricingRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPricingRulesResponse(_message.Message):
    __slots__ = ("rules", "condition_areas")
    RULES_FIELD_NUMBER: _ClassVar[int]
    CONDITION_AREAS_FIELD_NUMBER: _ClassVar[int]
    rules: PricingRules
    condition_areas: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, rules: _Optional[_Union[PricingRules, _Mapping]] = ..., condition_areas: _Optional[_Iterable[str]] = ...) -> None: ...

class DeliveryPromotion(_message.Message):
    __slots__ = ("promotion_id", "percent_off", "start_minute", "end_minute", "weather")
    PROMOTION_ID_FIELD_NUMBER: _ClassVar[int]
    PERCENT_OFF_FIELD_NUMBER: _ClassVar[int]
    START_MINUTE_FIELD_NUMBER: _ClassVar[int]
    END_MINUTE_FIELD_NUMBER: _ClassVar[int]
    WEATHER_FIELD_NUMBER: _ClassVar[int]
    promotion_id: str
    percent_off: int
    start_minute: int
    end_minute: int
    weather: Weather
    def __init__(self, promotion_id: _Optional[str] = ..., percent_off: _Optional[int] = ..., start_minute: _Optional[int] = ..., end_minute: _Optional[int] = ..., weather: _Optional[_Union[Weather, str]] = ...) -> None: ...

class SetDeliveryPromotionsRequest(_message.Message):
    __slots__ = ("merchant_id", "promotions")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROMOTIONS_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    promotions: _containers.RepeatedCompositeFieldContainer[DeliveryPromotion]
    def __init__(self, merchant_id: _Optional[str] = ..., promotions: _Optional[_Iterable[_Union[DeliveryPromotion, _Mapping]]] = ...) -> None: ...

class SetDeliveryPromotionsResponse(_message.Message):
    __slots__ = ("promotions",)
    PROMOTIONS_FIELD_NUMBER: _ClassVar[int]
    promotions: _containers.RepeatedCompositeFieldContainer[DeliveryPromotion]
    def __init__(self, promotions: _Optional[_Iterable[_Union[DeliveryPromotion, _Mapping]]] = ...) -> None: ...

class RefreshSurgeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CellSurge(_message.Message):
    __slots__ = ("cell", "free_riders", "open_orders", "smoothed_ratio", "factor")
    CELL_FIELD_NUMBER: _ClassVar[int]
    FREE_RIDERS_FIELD_NUMBER: _ClassVar[int]
    OPEN_ORDERS_FIELD_NUMBER: _ClassVar[int]
    SMOOTHED_RATIO_FIELD_NUMBER: _ClassVar[int]
    FACTOR_FIELD_NUMBER: _ClassVar[int]
    cell: str
    free_riders: int
    open_orders: int
    smoothed_ratio: float
    factor: float
    def __init__(self, cell: _Optional[str] = ..., free_riders: _Optional[int] = ..., open_orders: _Optional[int] = ..., smoothed_ratio: _Optional[float] = ..., factor: _Optional[float] = ...) -> None: ...

class RefreshSurgeResponse(_message.Message):
    __slots__ = ("cells", "areas_shrunk")
    CELLS_FIELD_NUMBER: _ClassVar[int]
    AREAS_SHRUNK_FIELD_NUMBER: _ClassVar[int]
    cells: _containers.RepeatedCompositeFieldContainer[CellSurge]
    areas_shrunk: int
    def __init__(self, cells: _Optional[_Iterable[_Union[CellSurge, _Mapping]]] = ..., areas_shrunk: _Optional[int] = ...) -> None: ...
