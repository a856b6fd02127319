import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Trigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRIGGER_UNSPECIFIED: _ClassVar[Trigger]
    TRIGGER_PAID: _ClassVar[Trigger]
    TRIGGER_COMPLETED: _ClassVar[Trigger]
TRIGGER_UNSPECIFIED: Trigger
TRIGGER_PAID: Trigger
TRIGGER_COMPLETED: Trigger

class AllianceMerchant(_message.Message):
    __slots__ = ("merchant_id", "lat", "lng", "category")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    lat: float
    lng: float
    category: str
    def __init__(self, merchant_id: _Optional[str] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ..., category: _Optional[str] = ...) -> None: ...

class Alliance(_message.Message):
    __slots__ = ("alliance_id", "merchants", "commission_bp", "created_at")
    ALLIANCE_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANTS_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_BP_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    alliance_id: str
    merchants: _containers.RepeatedCompositeFieldContainer[AllianceMerchant]
    commission_bp: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, alliance_id: _Optional[str] = ..., merchants: _Optional[_Iterable[_Union[AllianceMerchant, _Mapping]]] = ..., commission_bp: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateAllianceRequest(_message.Message):
    __slots__ = ("alliance",)
    ALLIANCE_FIELD_NUMBER: _ClassVar[int]
    alliance: Alliance
    def __init__(self, alliance: _Optional[_Union[Alliance, _Mapping]] = ...) -> None: ...

class CreateAllianceResponse(_message.Message):
    __slots__ = ("alliance", "created")
    ALLIANCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    alliance: Alliance
    created: bool
    def __init__(self, alliance: _Optional[_Union[Alliance, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("min_orders", "min_spend_fen", "hours_mask", "categories")
    MIN_ORDERS_FIELD_NUMBER: _ClassVar[int]
    MIN_SPEND_FEN_FIELD_NUMBER: _ClassVar[int]
    HOURS_MASK_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    min_orders: int
    min_spend_fen: int
    hours_mask: int
    categories: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, min_orders: _Optional[int] = ..., min_spend_fen: _Optional[int] = ..., hours_mask: _Optional[int] = ..., categories: _Optional[_Iterable[str]] = ...) -> None: ...

class Offer(_message.Message):
    __slots__ = ("offer_id", "alliance_id", "source_merchant_id", "campaign_id", "trigger", "max_distance_m", "segment")
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    ALLIANCE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    MAX_DISTANCE_M_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    offer_id: str
    alliance_id: str
    source_merchant_id: str
    campaign_id: str
    trigger: Trigger
    max_distance_m: int
    segment: Segment
    def __init__(self, offer_id: _Optional[str] = ..., alliance_id: _Optional[str] = ..., source_merchant_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., trigger: _Optional[_Union[Trigger, str]] = ..., max_distance_m: _Optional[int] = ..., segment: _Optional[_Union[Segment, _Mapping]] = ...) -> None: ...

class CreateOfferRequest(_message.Message):
    __slots__ = ("offer",)
    OFFER_FIELD_NUMBER: _ClassVar[int]
    offer: Offer
    def __init__(self, offer: _Optional[_Union[Offer, _Mapping]] = ...) -> None: ...

class CreateOfferResponse(_message.Message):
    __slots__ = ("offer", "created")
    OFFER_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    offer: Offer
    created: bool
    def __init__(self, offer: _Optional[_Union[Offer, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetContributionRequest(_message.Message):
    __slots__ = ("alliance_id", "merchant_id")
    ALLIANCE_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    alliance_id: str
    merchant_id: str
    def __init__(self, alliance_id: _Optional[str] = ..., merchant_id: _Optional[str] = ...) -> None: ...

class OfferContribution(_message.Message):
    __slots__ = ("offer_id", "issued", "redeemed", "customers", "sales_fen", "commission_fen")
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUED_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    SALES_FEN_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_FEN_FIELD_NUMBER: _ClassVar[int]
    offer_id: str
    issued: int
    redeemed: int
    customers: int
    sales_fen: int
    commission_fen: int
    def __init__(self, offer_id: _Optional[str] = ..., issued: _Optional[int] = ..., redeemed: _Optional[int] = ..., customers: _Optional[int] = ..., sales_fen: _Optional[int] = ..., commission_fen: _Optional[int] = ...) -> None: ...

class GetContributionResponse(_message.Message):
    __slots__ = ("offers", "customers", "sales_fen", "commission_fen")
    OFFERS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    SALES_FEN_FIELD_NUMBER: _ClassVar[int]
    COMMISSION_FEN_FIELD_NUMBER: _ClassVar[int]
    offers: _containers.RepeatedCompositeFieldContainer[OfferContribution]
    customers: int
    sales_fen: int
    commission_fen: int
    def __init__(self, offers: _Optional[_Iterable[_Union[OfferContribution, _Mapping]]] = ..., customers: _Optional[int] = ..., sales_fen: _Optional[int] = ..., commission_fen: _Optional[int] = ...) -> None: ...

class GetMemberSegmentRequest(_message.Message):
    __slots__ = ("alliance_id", "member_id")
    ALLIANCE_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    alliance_id: str
    member_id: str
    def __init__(self, alliance_id: _Optional[str] = ..., member_id: _Optional[str] = ...) -> None: ...

class GetMemberSegmentResponse(_message.Message):
    __slots__ = ("orders", "spend_fen", "hours_mask", "categories")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    SPEND_FEN_FIELD_NUMBER: _ClassVar[int]
    HOURS_MASK_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    orders: int
    spend_fen: int
    hours_mask: int
    categories: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, orders: _Optional[int] = ..., spend_fen: _Optional[int] = ..., hours_mask: _Optional[int] = ..., categories: _Optional[_Iterable[str]] = ...) -> None: ...

class RunCommissionsRequest(_message.Message):
    __slots__ = ("alliance_id", "business_day")
    ALLIANCE_ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    alliance_id: str
    business_day: str
    def __init__(self, alliance_id: _Optional[str] = ..., business_day: _Optional[str] = ...) -> None: ...

class Transfer(_message.Message):
    __slots__ = ("creditor_merchant_id", "debtor_merchant_id", "amount_fen")
    CREDITOR_MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    DEBTOR_MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    creditor_merchant_id: str
    debtor_merchant_id: str
    amount_fen: int
    def __init__(self, creditor_merchant_id: _Optional[str] = ..., debtor_merchant_id: _Optional[str] = ..., amount_fen: _Optional[int] = ...) -> None: ...

class RunCommissionsResponse(_message.Message):
    __slots__ = ("transfers", "posting_id", "posted_business_day", "posted_now")
    TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    POSTING_ID_FIELD_NUMBER: _ClassVar[int]
    POSTED_BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    POSTED_NOW_FIELD_NUMBER: _ClassVar[int]
    transfers: _containers.RepeatedCompositeFieldContainer[Transfer]
    posting_id: str
    posted_business_day: str
    posted_now: bool
    def __init__(self, transfers: _Optional[_Iterable[_Union[Transfer, _Mapping]]] = ..., posting_id: _Optional[str] = ..., posted_business_day: _Optional[str] = ..., posted_now: _Optional[bool] = ...) -> None: ...
