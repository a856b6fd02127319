import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProgrammeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROGRAMME_KIND_UNSPECIFIED: _ClassVar[ProgrammeKind]
    PROGRAMME_KIND_MERCHANT: _ClassVar[ProgrammeKind]
    PROGRAMME_KIND_CHAIN: _ClassVar[ProgrammeKind]
    PROGRAMME_KIND_ALLIANCE: _ClassVar[ProgrammeKind]

class OrderState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATE_UNSPECIFIED: _ClassVar[OrderState]
    ORDER_STATE_PAID: _ClassVar[OrderState]
    ORDER_STATE_COMPLETED: _ClassVar[OrderState]

class EntryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTRY_KIND_UNSPECIFIED: _ClassVar[EntryKind]
    ENTRY_KIND_ORDER_PENDING: _ClassVar[EntryKind]
    ENTRY_KIND_ORDER_AVAILABLE: _ClassVar[EntryKind]
    ENTRY_KIND_ORDER_REVERSED: _ClassVar[EntryKind]
    ENTRY_KIND_SPEND: _ClassVar[EntryKind]
    ENTRY_KIND_SPEND_REFUNDED: _ClassVar[EntryKind]
    ENTRY_KIND_SIGNIN: _ClassVar[EntryKind]
    ENTRY_KIND_REFERRAL: _ClassVar[EntryKind]
    ENTRY_KIND_EXPIRED: _ClassVar[EntryKind]
    ENTRY_KIND_DEBT_REPAID: _ClassVar[EntryKind]
PROGRAMME_KIND_UNSPECIFIED: ProgrammeKind
PROGRAMME_KIND_MERCHANT: ProgrammeKind
PROGRAMME_KIND_CHAIN: ProgrammeKind
PROGRAMME_KIND_ALLIANCE: ProgrammeKind
ORDER_STATE_UNSPECIFIED: OrderState
ORDER_STATE_PAID: OrderState
ORDER_STATE_COMPLETED: OrderState
ENTRY_KIND_UNSPECIFIED: EntryKind
ENTRY_KIND_ORDER_PENDING: EntryKind
ENTRY_KIND_ORDER_AVAILABLE: EntryKind
ENTRY_KIND_ORDER_REVERSED: EntryKind
ENTRY_KIND_SPEND: EntryKind
ENTRY_KIND_SPEND_REFUNDED: EntryKind
ENTRY_KIND_SIGNIN: EntryKind
ENTRY_KIND_REFERRAL: EntryKind
ENTRY_KIND_EXPIRED: EntryKind
ENTRY_KIND_DEBT_REPAID: EntryKind

class Programme(_message.Message):
    __slots__ = ("programme_id", "kind", "merchant_ids", "earn_bp", "point_value_fen", "expiry_months", "time_zone", "signin_points", "streak_days", "streak_bonus_points", "grace_days", "referrer_points", "referee_points", "created_at", "rewards")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_IDS_FIELD_NUMBER: _ClassVar[int]
    EARN_BP_FIELD_NUMBER: _ClassVar[int]
    POINT_VALUE_FEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_MONTHS_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    SIGNIN_POINTS_FIELD_NUMBER: _ClassVar[int]
    STREAK_DAYS_FIELD_NUMBER: _ClassVar[int]
    STREAK_BONUS_POINTS_FIELD_NUMBER: _ClassVar[int]
    GRACE_DAYS_FIELD_NUMBER: _ClassVar[int]
    REFERRER_POINTS_FIELD_NUMBER: _ClassVar[int]
    REFEREE_POINTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    kind: ProgrammeKind
    merchant_ids: _containers.RepeatedScalarFieldContainer[str]
    earn_bp: int
    point_value_fen: int
    expiry_months: int
    time_zone: str
    signin_points: int
    streak_days: int
    streak_bonus_points: int
    grace_days: int
    referrer_points: int
    referee_points: int
    created_at: _timestamp_pb2.Timestamp
    rewards: _containers.RepeatedCompositeFieldContainer[Reward]
    def __init__(self, programme_id: _Optional[str] = ..., kind: _Optional[_Union[ProgrammeKind, str]] = ..., merchant_ids: _Optional[_Iterable[str]] = ..., earn_bp: _Optional[int] = ..., point_value_fen: _Optional[int] = ..., expiry_months: _Optional[int] = ..., time_zone: _Optional[str] = ..., signin_points: _Optional[int] = ..., streak_days: _Optional[int] = ..., streak_bonus_points: _Optional[int] = ..., grace_days: _Optional[int] = ..., referrer_points: _Optional[int] = ..., referee_points: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rewards: _Optional[_Iterable[_Union[Reward, _Mapping]]] = ...) -> None: ...

class Reward(_message.Message):
    __slots__ = ("reward_id", "points_cost", "campaign_id")
    REWARD_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_COST_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    reward_id: str
    points_cost: int
    campaign_id: str
    def __init__(self, reward_id: _Optional[str] = ..., points_cost: _Optional[int] = ..., campaign_id: _Optional[str] = ...) -> None: ...

class CreateProgrammeRequest(_message.Message):
    __slots__ = ("programme",)
    PROGRAMME_FIELD_NUMBER: _ClassVar[int]
    programme: Programme
    def __init__(self, programme: _Optional[_Union[Programme, _Mapping]] = ...) -> None: ...

class CreateProgrammeResponse(_message.Message):
    __slots__ = ("programme", "created")
    PROGRAMME_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    programme: Programme
    created: bool
    def __init__(self, programme: _Optional[_Union[Programme, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetProgrammeRequest(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class GetProgrammeResponse(_message.Message):
    __slots__ = ("programme",)
    PROGRAMME_FIELD_NUMBER: _ClassVar[int]
    programme: Programme
    def __init__(self, programme: _Optional[_Union[Programme, _Mapping]] = ...) -> None: ...

class SyncOrderRequest(_message.Message):
    __slots__ = ("order_id", "merchant_id", "member_id", "state", "paid_fen", "refunded_fen")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAID_FEN_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FEN_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    merchant_id: str
    member_id: str
    state: OrderState
    paid_fen: int
    refunded_fen: int
    def __init__(self, order_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., member_id: _Optional[str] = ..., state: _Optional[_Union[OrderState, str]] = ..., paid_fen: _Optional[int] = ..., refunded_fen: _Optional[int] = ...) -> None: ...

class OrderPoints(_message.Message):
    __slots__ = ("order_id", "programme_id", "member_id", "points", "reversed_points", "state", "debt_points")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    REVERSED_POINTS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DEBT_POINTS_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    programme_id: str
    member_id: str
    points: int
    reversed_points: int
    state: OrderState
    debt_points: int
    def __init__(self, order_id: _Optional[str] = ..., programme_id: _Optional[str] = ..., member_id: _Optional[str] = ..., points: _Optional[int] = ..., reversed_points: _Optional[int] = ..., state: _Optional[_Union[OrderState, str]] = ..., debt_points: _Optional[int] = ...) -> None: ...

class SyncOrderResponse(_message.Message):
    __slots__ = ("order", "changed", "in_programme")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    IN_PROGRAMME_FIELD_NUMBER: _ClassVar[int]
    order: OrderPoints
    changed: bool
    in_programme: bool
    def __init__(self, order: _Optional[_Union[OrderPoints, _Mapping]] = ..., changed: _Optional[bool] = ..., in_programme: _Optional[bool] = ...) -> None: ...

class SpendPointsRequest(_message.Message):
    __slots__ = ("programme_id", "member_id", "merchant_id", "points", "idempotency_key", "order_id")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    member_id: str
    merchant_id: str
    points: int
    idempotency_key: str
    order_id: str
    def __init__(self, programme_id: _Optional[str] = ..., member_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., points: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., order_id: _Optional[str] = ...) -> None: ...

class LotUse(_message.Message):
    __slots__ = ("lot_id", "issuer_merchant_id", "points", "expires_at")
    LOT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUER_MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    lot_id: str
    issuer_merchant_id: str
    points: int
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, lot_id: _Optional[str] = ..., issuer_merchant_id: _Optional[str] = ..., points: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Spend(_message.Message):
    __slots__ = ("idempotency_key", "member_id", "merchant_id", "points", "value_fen", "lots", "order_id", "refunded", "spent_at")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FEN_FIELD_NUMBER: _ClassVar[int]
    LOTS_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    SPENT_AT_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    member_id: str
    merchant_id: str
    points: int
    value_fen: int
    lots: _containers.RepeatedCompositeFieldContainer[LotUse]
    order_id: str
    refunded: bool
    spent_at: _timestamp_pb2.Timestamp
    def __init__(self, idempotency_key: _Optional[str] = ..., member_id: _Optional[str] = ..., merchant_id: _Optional[str] = ..., points: _Optional[int] = ..., value_fen: _Optional[int] = ..., lots: _Optional[_Iterable[_Union[LotUse, _Mapping]]] = ..., order_id: _Optional[str] = ..., refunded: _Optional[bool] = ..., spent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SpendPointsResponse(_message.Message):
    __slots__ = ("spend", "created", "balance")
    SPEND_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    spend: Spend
    created: bool
    balance: Balance
    def __init__(self, spend: _Optional[_Union[Spend, _Mapping]] = ..., created: _Optional[bool] = ..., balance: _Optional[_Union[Balance, _Mapping]] = ...) -> None: ...

class RefundSpendRequest(_message.Message):
    __slots__ = ("programme_id", "member_id", "spend_idempotency_key")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    SPEND_IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    member_id: str
    spend_idempotency_key: str
    def __init__(self, programme_id: _Optional[str] = ..., member_id: _Optional[str] = ..., spend_idempotency_key: _Optional[str] = ...) -> None: ...

class RefundSpendResponse(_message.Message):
    __slots__ = ("spend", "refunded_now", "balance")
    SPEND_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_NOW_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    spend: Spend
    refunded_now: bool
    balance: Balance
    def __init__(self, spend: _Optional[_Union[Spend, _Mapping]] = ..., refunded_now: _Optional[bool] = ..., balance: _Optional[_Union[Balance, _Mapping]] = ...) -> None: ...

class SignInRequest(_message.Message):
    __slots__ = ("programme_id", "member_id")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    member_id: str
    def __init__(self, programme_id: _Optional[str] = ..., member_id: _Optional[str] = ...) -> None: ...

class SignInResponse(_message.Message):
    __slots__ = ("day", "streak", "points", "signed_in_now", "balance")
    DAY_FIELD_NUMBER: _ClassVar[int]
    STREAK_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    SIGNED_IN_NOW_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    day: str
    streak: int
    points: int
    signed_in_now: bool
    balance: Balance
    def __init__(self, day: _Optional[str] = ..., streak: _Optional[int] = ..., points: _Optional[int] = ..., signed_in_now: _Optional[bool] = ..., balance: _Optional[_Union[Balance, _Mapping]] = ...) -> None: ...

class GetReferralCodeRequest(_message.Message):
    __slots__ = ("programme_id", "member_id")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    member_id: str
    def __init__(self, programme_id: _Optional[str] = ..., member_id: _Optional[str] = ...) -> None: ...

class GetReferralCodeResponse(_message.Message):
    __slots__ = ("referral_code",)
    REFERRAL_CODE_FIELD_NUMBER: _ClassVar[int]
    referral_code: str
    def __init__(self, referral_code: _Optional[str] = ...) -> None: ...

class ApplyReferralRequest(_message.Message):
    __slots__ = ("programme_id", "member_id", "referral_code")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERRAL_CODE_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    member_id: str
    referral_code: str
    def __init__(self, programme_id: _Optional[str] = ..., member_id: _Optional[str] = ..., referral_code: _Optional[str] = ...) -> None: ...

class ApplyReferralResponse(_message.Message):
    __slots__ = ("referrer_member_id", "applied_now")
    REFERRER_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    APPLIED_NOW_FIELD_NUMBER: _ClassVar[int]
    referrer_member_id: str
    applied_now: bool
    def __init__(self, referrer_member_id: _Optional[str] = ..., applied_now: _Optional[bool] = ...) -> None: ...

class Expiry(_message.Message):
    __slots__ = ("expires_at", "points")
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    expires_at: _timestamp_pb2.Timestamp
    points: int
    def __init__(self, expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., points: _Optional[int] = ...) -> None: ...

class Balance(_message.Message):
    __slots__ = ("programme_id", "member_id", "available_points", "pending_points", "debt_points", "expiries", "streak", "last_signin_day", "unlocked_reward_ids")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_POINTS_FIELD_NUMBER: _ClassVar[int]
    PENDING_POINTS_FIELD_NUMBER: _ClassVar[int]
    DEBT_POINTS_FIELD_NUMBER: _ClassVar[int]
    EXPIRIES_FIELD_NUMBER: _ClassVar[int]
    STREAK_FIELD_NUMBER: _ClassVar[int]
    LAST_SIGNIN_DAY_FIELD_NUMBER: _ClassVar[int]
    UNLOCKED_REWARD_IDS_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    member_id: str
    available_points: int
    pending_points: int
    debt_points: int
    expiries: _containers.RepeatedCompositeFieldContainer[Expiry]
    streak: int
    last_signin_day: str
    unlocked_reward_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, programme_id: _Optional[str] = ..., member_id: _Optional[str] = ..., available_points: _Optional[int] = ..., pending_points: _Optional[int] = ..., debt_points: _Optional[int] = ..., expiries: _Optional[_Iterable[_Union[Expiry, _Mapping]]] = ..., streak: _Optional[int] = ..., last_signin_day: _Optional[str] = ..., unlocked_reward_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetBalanceRequest(_message.Message):
    __slots__ = ("programme_id", "member_id")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    member_id: str
    def __init__(self, programme_id: _Optional[str] = ..., member_id: _Optional[str] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("balance",)
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    balance: Balance
    def __init__(self, balance: _Optional[_Union[Balance, _Mapping]] = ...) -> None: ...

class HistoryEntry(_message.Message):
    __slots__ = ("entry_id", "kind", "available_delta", "pending_delta", "debt_delta", "reference", "merchant_id", "occurred_at")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_DELTA_FIELD_NUMBER: _ClassVar[int]
    PENDING_DELTA_FIELD_NUMBER: _ClassVar[int]
    DEBT_DELTA_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    kind: EntryKind
    available_delta: int
    pending_delta: int
    debt_delta: int
    reference: str
    merchant_id: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, entry_id: _Optional[str] = ..., kind: _Optional[_Union[EntryKind, str]] = ..., available_delta: _Optional[int] = ..., pending_delta: _Optional[int] = ..., debt_delta: _Optional[int] = ..., reference: _Optional[str] = ..., merchant_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListHistoryRequest(_message.Message):
    __slots__ = ("programme_id", "member_id", "page_size", "page_token")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    member_id: str
    page_size: int
    page_token: str
    def __init__(self, programme_id: _Optional[str] = ..., member_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListHistoryResponse(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[HistoryEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[HistoryEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExpirePointsRequest(_message.Message):
    __slots__ = ("programme_id",)
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    def __init__(self, programme_id: _Optional[str] = ...) -> None: ...

class ExpirePointsResponse(_message.Message):
    __slots__ = ("lots_expired", "points_expired", "more")
    LOTS_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    POINTS_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    lots_expired: int
    points_expired: int
    more: bool
    def __init__(self, lots_expired: _Optional[int] = ..., points_expired: _Optional[int] = ..., more: _Optional[bool] = ...) -> None: ...

class ListClearingRequest(_message.Message):
    __slots__ = ("programme_id", "business_day")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    business_day: str
    def __init__(self, programme_id: _Optional[str] = ..., business_day: _Optional[str] = ...) -> None: ...

class Claim(_message.Message):
    __slots__ = ("creditor_merchant_id", "debtor_merchant_id", "points", "amount_fen")
    CREDITOR_MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    DEBTOR_MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    creditor_merchant_id: str
    debtor_merchant_id: str
    points: int
    amount_fen: int
    def __init__(self, creditor_merchant_id: _Optional[str] = ..., debtor_merchant_id: _Optional[str] = ..., points: _Optional[int] = ..., amount_fen: _Optional[int] = ...) -> None: ...

class ListClearingResponse(_message.Message):
    __slots__ = ("claims",)
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    claims: _containers.RepeatedCompositeFieldContainer[Claim]
    def __init__(self, claims: _Optional[_Iterable[_Union[Claim, _Mapping]]] = ...) -> None: ...

class RunClearingRequest(_message.Message):
    __slots__ = ("programme_id", "business_day")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    business_day: str
    def __init__(self, programme_id: _Optional[str] = ..., business_day: _Optional[str] = ...) -> None: ...

class RunClearingResponse(_message.Message):
    __slots__ = ("claims", "posting_id", "posted_business_day", "cleared_now")
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    POSTING_ID_FIELD_NUMBER: _ClassVar[int]
    POSTED_BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    CLEARED_NOW_FIELD_NUMBER: _ClassVar[int]
    claims: _containers.RepeatedCompositeFieldContainer[Claim]
    posting_id: str
    posted_business_day: str
    cleared_now: bool
    def __init__(self, claims: _Optional[_Iterable[_Union[Claim, _Mapping]]] = ..., posting_id: _Optional[str] = ..., posted_business_day: _Optional[str] = ..., cleared_now: _Optional[bool] = ...) -> None: ...

class RedeemRewardRequest(_message.Message):
    __slots__ = ("programme_id", "member_id", "reward_id", "idempotency_key")
    PROGRAMME_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    REWARD_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    programme_id: str
    member_id: str
    reward_id: str
    idempotency_key: str
    def __init__(self, programme_id: _Optional[str] = ..., member_id: _Optional[str] = ..., reward_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RedeemRewardResponse(_message.Message):
    __slots__ = ("spend", "coupon_code", "created", "balance")
    SPEND_FIELD_NUMBER: _ClassVar[int]
    COUPON_CODE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    spend: Spend
    coupon_code: str
    created: bool
    balance: Balance
    def __init__(self, spend: _Optional[_Union[Spend, _Mapping]] = ..., coupon_code: _Optional[str] = ..., created: _Optional[bool] = ..., balance: _Optional[_Union[Balance, _Mapping]] = ...) -> None: ...
