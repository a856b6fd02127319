import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DiscountKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISCOUNT_KIND_UNSPECIFIED: _ClassVar[DiscountKind]
    DISCOUNT_KIND_AMOUNT_OFF: _ClassVar[DiscountKind]
    DISCOUNT_KIND_PERCENT_OFF: _ClassVar[DiscountKind]
    DISCOUNT_KIND_FREE_DELIVERY: _ClassVar[DiscountKind]

class Funder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FUNDER_UNSPECIFIED: _ClassVar[Funder]
    FUNDER_MERCHANT: _ClassVar[Funder]
    FUNDER_PLATFORM: _ClassVar[Funder]
    FUNDER_PARTNER: _ClassVar[Funder]

class CouponState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COUPON_STATE_UNSPECIFIED: _ClassVar[CouponState]
    COUPON_STATE_CLAIMED: _ClassVar[CouponState]
    COUPON_STATE_LOCKED: _ClassVar[CouponState]
    COUPON_STATE_REDEEMED: _ClassVar[CouponState]
DISCOUNT_KIND_UNSPECIFIED: DiscountKind
DISCOUNT_KIND_AMOUNT_OFF: DiscountKind
DISCOUNT_KIND_PERCENT_OFF: DiscountKind
DISCOUNT_KIND_FREE_DELIVERY: DiscountKind
FUNDER_UNSPECIFIED: Funder
FUNDER_MERCHANT: Funder
FUNDER_PLATFORM: Funder
FUNDER_PARTNER: Funder
COUPON_STATE_UNSPECIFIED: CouponState
COUPON_STATE_CLAIMED: CouponState
COUPON_STATE_LOCKED: CouponState
COUPON_STATE_REDEEMED: CouponState

class Campaign(_message.Message):
    __slots__ = ("campaign_id", "merchant_id", "kind", "amount_off_fen", "transaction_minimum_fen", "discount_percent", "max_discount_fen", "max_coupons", "max_coupons_per_member", "max_amount_fen", "max_redemptions_per_day", "valid_from", "valid_until", "weekdays_mask", "start_minute", "end_minute", "time_zone", "funded_by", "partner_id", "exclusive", "created_at", "max_coupons_per_order", "item_ids")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_OFF_FEN_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_MINIMUM_FEN_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MAX_DISCOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    MAX_COUPONS_FIELD_NUMBER: _ClassVar[int]
    MAX_COUPONS_PER_MEMBER_FIELD_NUMBER: _ClassVar[int]
    MAX_AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    MAX_REDEMPTIONS_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    WEEKDAYS_MASK_FIELD_NUMBER: _ClassVar[int]
    START_MINUTE_FIELD_NUMBER: _ClassVar[int]
    END_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    FUNDED_BY_FIELD_NUMBER: _ClassVar[int]
    PARTNER_ID_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIVE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    MAX_COUPONS_PER_ORDER_FIELD_NUMBER: _ClassVar[int]
    ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    merchant_id: str
    kind: DiscountKind
    amount_off_fen: int
    transaction_minimum_fen: int
    discount_percent: int
    max_discount_fen: int
    max_coupons: int
    max_coupons_per_member: int
    max_amount_fen: int
    max_redemptions_per_day: int
    valid_from: _timestamp_pb2.Timestamp
    valid_until: _timestamp_pb2.Timestamp
    weekdays_mask: int
    start_minute: int
    end_minute: int
    time_zone: str
    funded_by: Funder
    partner_id: str
    exclusive: bool
    created_at: _timestamp_pb2.Timestamp
    max_coupons_per_order: int
    item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, campaign_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., kind: _Optional[_Union[DiscountKind, str]] = ..., amount_off_fen: _Optional[int] = ..., transaction_minimum_fen: _Optional[int] = ..., discount_percent: _Optional[int] = ..., max_discount_fen: _Optional[int] = ..., max_coupons: _Optional[int] = ..., max_coupons_per_member: _Optional[int] = ..., max_amount_fen: _Optional[int] = ..., max_redemptions_per_day: _Optional[int] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., weekdays_mask: _Optional[int] = ..., start_minute: _Optional[int] = ..., end_minute: _Optional[int] = ..., time_zone: _Optional[str] = ..., funded_by: _Optional[_Union[Funder, str]] = ..., partner_id: _Optional[str] = ..., exclusive: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., max_coupons_per_order: _Optional[int] = ..., item_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateCampaignRequest(_message.Message):
    __slots__ = ("campaign",)
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...

class CreateCampaignResponse(_message.Message):
    __slots__ = ("campaign", "created")
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    created: bool
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetCampaignRequest(_message.Message):
    __slots__ = ("campaign_id",)
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    def __init__(self, campaign_id: _Optional[str] = ...) -> None: ...

class CampaignUsage(_message.Message):
    __slots__ = ("claimed", "locked", "redeemed", "amount_used_fen", "used_today")
    CLAIMED_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_USED_FEN_FIELD_NUMBER: _ClassVar[int]
    USED_TODAY_FIELD_NUMBER: _ClassVar[int]
    claimed: int
    locked: int
    redeemed: int
    amount_used_fen: int
    used_today: int
    def __init__(self, claimed: _Optional[int] = ..., locked: _Optional[int] = ..., redeemed: _Optional[int] = ..., amount_used_fen: _Optional[int] = ..., used_today: _Optional[int] = ...) -> None: ...

class GetCampaignResponse(_message.Message):
    __slots__ = ("campaign", "usage", "verification_key")
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_KEY_FIELD_NUMBER: _ClassVar[int]
    campaign: Campaign
    usage: CampaignUsage
    verification_key: str
    def __init__(self, campaign: _Optional[_Union[Campaign, _Mapping]] = ..., usage: _Optional[_Union[CampaignUsage, _Mapping]] = ..., verification_key: _Optional[str] = ...) -> None: ...

class ClaimCouponRequest(_message.Message):
    __slots__ = ("campaign_id", "member_id", "idempotency_key")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    member_id: str
    idempotency_key: str
    def __init__(self, campaign_id: _Optional[str] = ..., member_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class Coupon(_message.Message):
    __slots__ = ("code", "qr_payload", "campaign_id", "member_id", "state", "order_id", "discount_fen", "lock_expires_at", "claimed_at", "redeemed_at")
    CODE_FIELD_NUMBER: _ClassVar[int]
    QR_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    LOCK_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_AT_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_AT_FIELD_NUMBER: _ClassVar[int]
    code: str
    qr_payload: str
    campaign_id: str
    member_id: str
    state: CouponState
    order_id: str
    discount_fen: int
    lock_expires_at: _timestamp_pb2.Timestamp
    claimed_at: _timestamp_pb2.Timestamp
    redeemed_at: _timestamp_pb2.Timestamp
    def __init__(self, code: _Optional[str] = ..., qr_payload: _Optional[str] = ..., campaign_id: _Optional[str] = ..., member_id: _Optional[str] = ..., state: _Optional[_Union[CouponState, str]] = ..., order_id: _Optional[str] = ..., discount_fen: _Optional[int] = ..., lock_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., claimed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., redeemed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ClaimCouponResponse(_message.Message):
    __slots__ = ("coupon", "created")
    COUPON_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    coupon: Coupon
    created: bool
    def __init__(self, coupon: _Optional[_Union[Coupon, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetCouponRequest(_message.Message):
    __slots__ = ("code",)
    CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    def __init__(self, code: _Optional[str] = ...) -> None: ...

class GetCouponResponse(_message.Message):
    __slots__ = ("coupon",)
    COUPON_FIELD_NUMBER: _ClassVar[int]
    coupon: Coupon
    def __init__(self, coupon: _Optional[_Union[Coupon, _Mapping]] = ...) -> None: ...

class LockCouponRequest(_message.Message):
    __slots__ = ("code", "merchant_id", "order_id", "order_amount_fen", "delivery_fee_fen", "ttl_minutes")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FEE_FEN_FIELD_NUMBER: _ClassVar[int]
    TTL_MINUTES_FIELD_NUMBER: _ClassVar[int]
    code: str
    merchant_id: str
    order_id: str
    order_amount_fen: int
    delivery_fee_fen: int
    ttl_minutes: int
    def __init__(self, code: _Optional[str] = ..., merchant_id: _Optional[str] = ..., order_id: _Optional[str] = ..., order_amount_fen: _Optional[int] = ..., delivery_fee_fen: _Optional[int] = ..., ttl_minutes: _Optional[int] = ...) -> None: ...

class LockCouponResponse(_message.Message):
    __slots__ = ("coupon",)
    COUPON_FIELD_NUMBER: _ClassVar[int]
    coupon: Coupon
    def __init__(self, coupon: _Optional[_Union[Coupon, _Mapping]] = ...) -> None: ...

class RedeemCouponRequest(_message.Message):
    __slots__ = ("code", "merchant_id", "order_id", "order_amount_fen", "delivery_fee_fen", "request_no")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FEE_FEN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_NO_FIELD_NUMBER: _ClassVar[int]
    code: str
    merchant_id: str
    order_id: str
    order_amount_fen: int
    delivery_fee_fen: int
    request_no: str
    def __init__(self, code: _Optional[str] = ..., merchant_id: _Optional[str] = ..., order_id: _Optional[str] = ..., order_amount_fen: _Optional[int] = ..., delivery_fee_fen: _Optional[int] = ..., request_no: _Optional[str] = ...) -> None: ...

class RedeemCouponResponse(_message.Message):
    __slots__ = ("coupon", "redeemed_now")
    COUPON_FIELD_NUMBER: _ClassVar[int]
    REDEEMED_NOW_FIELD_NUMBER: _ClassVar[int]
    coupon: Coupon
    redeemed_now: bool
    def __init__(self, coupon: _Optional[_Union[Coupon, _Mapping]] = ..., redeemed_now: _Optional[bool] = ...) -> None: ...

class RollbackCouponRequest(_message.Message):
    __slots__ = ("code", "merchant_id", "order_id", "request_no")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_NO_FIELD_NUMBER: _ClassVar[int]
    code: str
    merchant_id: str
    order_id: str
    request_no: str
    def __init__(self, code: _Optional[str] = ..., merchant_id: _Optional[str] = ..., order_id: _Optional[str] = ..., request_no: _Optional[str] = ...) -> None: ...

class RollbackCouponResponse(_message.Message):
    __slots__ = ("coupon", "rolled_back_now")
    COUPON_FIELD_NUMBER: _ClassVar[int]
    ROLLED_BACK_NOW_FIELD_NUMBER: _ClassVar[int]
    coupon: Coupon
    rolled_back_now: bool
    def __init__(self, coupon: _Optional[_Union[Coupon, _Mapping]] = ..., rolled_back_now: _Optional[bool] = ...) -> None: ...

class ListMemberCouponsRequest(_message.Message):
    __slots__ = ("member_id", "page_size", "page_token")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    page_size: int
    page_token: str
    def __init__(self, member_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class MemberCoupon(_message.Message):
    __slots__ = ("coupon", "merchant_id", "kind", "amount_off_fen", "discount_percent", "max_discount_fen", "transaction_minimum_fen", "valid_until", "item_ids")
    COUPON_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_OFF_FEN_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MAX_DISCOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_MINIMUM_FEN_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    coupon: Coupon
    merchant_id: str
    kind: DiscountKind
    amount_off_fen: int
    discount_percent: int
    max_discount_fen: int
    transaction_minimum_fen: int
    valid_until: _timestamp_pb2.Timestamp
    item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, coupon: _Optional[_Union[Coupon, _Mapping]] = ..., merchant_id: _Optional[str] = ..., kind: _Optional[_Union[DiscountKind, str]] = ..., amount_off_fen: _Optional[int] = ..., discount_percent: _Optional[int] = ..., max_discount_fen: _Optional[int] = ..., transaction_minimum_fen: _Optional[int] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., item_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListMemberCouponsResponse(_message.Message):
    __slots__ = ("coupons", "next_page_token")
    COUPONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    coupons: _containers.RepeatedCompositeFieldContainer[MemberCoupon]
    next_page_token: str
    def __init__(self, coupons: _Optional[_Iterable[_Union[MemberCoupon, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
