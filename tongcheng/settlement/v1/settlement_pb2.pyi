import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SplitOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPLIT_OUTCOME_UNSPECIFIED: _ClassVar[SplitOutcome]
    SPLIT_OUTCOME_POSTED: _ClassVar[SplitOutcome]
    SPLIT_OUTCOME_REPLAYED: _ClassVar[SplitOutcome]
    SPLIT_OUTCOME_HALTED: _ClassVar[SplitOutcome]
    SPLIT_OUTCOME_ALREADY_SPLIT: _ClassVar[SplitOutcome]
    SPLIT_OUTCOME_NOTHING_TO_SPLIT: _ClassVar[SplitOutcome]
SPLIT_OUTCOME_UNSPECIFIED: SplitOutcome
SPLIT_OUTCOME_POSTED: SplitOutcome
SPLIT_OUTCOME_REPLAYED: SplitOutcome
SPLIT_OUTCOME_HALTED: SplitOutcome
SPLIT_OUTCOME_ALREADY_SPLIT: SplitOutcome
SPLIT_OUTCOME_NOTHING_TO_SPLIT: SplitOutcome

class Share(_message.Message):
    __slots__ = ("basis_points", "fixed_fen")
    BASIS_POINTS_FIELD_NUMBER: _ClassVar[int]
    FIXED_FEN_FIELD_NUMBER: _ClassVar[int]
    basis_points: int
    fixed_fen: int
    def __init__(self, basis_points: _Optional[int] = ..., fixed_fen: _Optional[int] = ...) -> None: ...

class SplitRule(_message.Message):
    __slots__ = ("merchant_id", "chain_id", "version", "platform_commission", "rider_delivery_fee", "group_leader_commission", "head_office_share", "max_receiver_share_bp", "rider_fleet_id", "effective_from", "created_at")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_COMMISSION_FIELD_NUMBER: _ClassVar[int]
    RIDER_DELIVERY_FEE_FIELD_NUMBER: _ClassVar[int]
    GROUP_LEADER_COMMISSION_FIELD_NUMBER: _ClassVar[int]
    HEAD_OFFICE_SHARE_FIELD_NUMBER: _ClassVar[int]
    MAX_RECEIVER_SHARE_BP_FIELD_NUMBER: _ClassVar[int]
    RIDER_FLEET_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    chain_id: str
    version: int
    platform_commission: Share
    rider_delivery_fee: Share
    group_leader_commission: Share
    head_office_share: Share
    max_receiver_share_bp: int
    rider_fleet_id: str
    effective_from: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, merchant_id: _Optional[str] = ..., chain_id: _Optional[str] = ..., version: _Optional[int] = ..., platform_commission: _Optional[_Union[Share, _Mapping]] = ..., rider_delivery_fee: _Optional[_Union[Share, _Mapping]] = ..., group_leader_commission: _Optional[_Union[Share, _Mapping]] = ..., head_office_share: _Optional[_Union[Share, _Mapping]] = ..., max_receiver_share_bp: _Optional[int] = ..., rider_fleet_id: _Optional[str] = ..., effective_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetSplitRuleRequest(_message.Message):
    __slots__ = ("rule",)
    RULE_FIELD_NUMBER: _ClassVar[int]
    rule: SplitRule
    def __init__(self, rule: _Optional[_Union[SplitRule, _Mapping]] = ...) -> None: ...

class SetSplitRuleResponse(_message.Message):
    __slots__ = ("rule",)
    RULE_FIELD_NUMBER: _ClassVar[int]
    rule: SplitRule
    def __init__(self, rule: _Optional[_Union[SplitRule, _Mapping]] = ...) -> None: ...

class ListSplitRulesRequest(_message.Message):
    __slots__ = ("merchant_id", "chain_id")
    MERCHANT_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    merchant_id: str
    chain_id: str
    def __init__(self, merchant_id: _Optional[str] = ..., chain_id: _Optional[str] = ...) -> None: ...

class ListSplitRulesResponse(_message.Message):
    __slots__ = ("rules",)
    RULES_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[SplitRule]
    def __init__(self, rules: _Optional[_Iterable[_Union[SplitRule, _Mapping]]] = ...) -> None: ...

class SplitOrderRequest(_message.Message):
    __slots__ = ("idempotency_key", "order_id")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    order_id: str
    def __init__(self, idempotency_key: _Optional[str] = ..., order_id: _Optional[str] = ...) -> None: ...

class SplitOrdersRequest(_message.Message):
    __slots__ = ("splits",)
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    splits: _containers.RepeatedCompositeFieldContainer[SplitOrderRequest]
    def __init__(self, splits: _Optional[_Iterable[_Union[SplitOrderRequest, _Mapping]]] = ...) -> None: ...

class Leg(_message.Message):
    __slots__ = ("receiver", "amount_fen", "reversed_fen")
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    REVERSED_FEN_FIELD_NUMBER: _ClassVar[int]
    receiver: str
    amount_fen: int
    reversed_fen: int
    def __init__(self, receiver: _Optional[str] = ..., amount_fen: _Optional[int] = ..., reversed_fen: _Optional[int] = ...) -> None: ...

class SplitResult(_message.Message):
    __slots__ = ("order_id", "outcome", "legs", "rule", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LEGS_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    outcome: SplitOutcome
    legs: _containers.RepeatedCompositeFieldContainer[Leg]
    rule: str
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., outcome: _Optional[_Union[SplitOutcome, str]] = ..., legs: _Optional[_Iterable[_Union[Leg, _Mapping]]] = ..., rule: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class SplitOrdersResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SplitResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SplitResult, _Mapping]]] = ...) -> None: ...

class GetSplitRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class Entry(_message.Message):
    __slots__ = ("entry_id", "order_id", "receiver", "amount_fen", "cause", "posted_at", "business_day")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    POSTED_AT_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    order_id: str
    receiver: str
    amount_fen: int
    cause: str
    posted_at: _timestamp_pb2.Timestamp
    business_day: str
    def __init__(self, entry_id: _Optional[str] = ..., order_id: _Optional[str] = ..., receiver: _Optional[str] = ..., amount_fen: _Optional[int] = ..., cause: _Optional[str] = ..., posted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., business_day: _Optional[str] = ...) -> None: ...

class GetSplitResponse(_message.Message):
    __slots__ = ("split", "paid_fen", "entries")
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    PAID_FEN_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    split: SplitResult
    paid_fen: int
    entries: _containers.RepeatedCompositeFieldContainer[Entry]
    def __init__(self, split: _Optional[_Union[SplitResult, _Mapping]] = ..., paid_fen: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[Entry, _Mapping]]] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("alert_id", "order_id", "kind", "message", "raised_at")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    order_id: str
    kind: str
    message: str
    raised_at: _timestamp_pb2.Timestamp
    def __init__(self, alert_id: _Optional[str] = ..., order_id: _Optional[str] = ..., kind: _Optional[str] = ..., message: _Optional[str] = ..., raised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListAlertsRequest(_message.Message):
    __slots__ = ("after_alert_id", "page_size")
    AFTER_ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    after_alert_id: str
    page_size: int
    def __init__(self, after_alert_id: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts", "total_raised")
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_RAISED_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    total_raised: int
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ..., total_raised: _Optional[int] = ...) -> None: ...

class RunDailySettlementRequest(_message.Message):
    __slots__ = ("business_day",)
    BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    business_day: str
    def __init__(self, business_day: _Optional[str] = ...) -> None: ...

class StatementSummary(_message.Message):
    __slots__ = ("receiver", "entry_count", "net_fen", "carried_in_fen", "payable_fen", "carried_out_fen")
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    ENTRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    NET_FEN_FIELD_NUMBER: _ClassVar[int]
    CARRIED_IN_FEN_FIELD_NUMBER: _ClassVar[int]
    PAYABLE_FEN_FIELD_NUMBER: _ClassVar[int]
    CARRIED_OUT_FEN_FIELD_NUMBER: _ClassVar[int]
    receiver: str
    entry_count: int
    net_fen: int
    carried_in_fen: int
    payable_fen: int
    carried_out_fen: int
    def __init__(self, receiver: _Optional[str] = ..., entry_count: _Optional[int] = ..., net_fen: _Optional[int] = ..., carried_in_fen: _Optional[int] = ..., payable_fen: _Optional[int] = ..., carried_out_fen: _Optional[int] = ...) -> None: ...

class Invoice(_message.Message):
    __slots__ = ("invoice_number", "party", "amount_fen", "tax_fen", "business_day")
    INVOICE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FEN_FIELD_NUMBER: _ClassVar[int]
    TAX_FEN_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    invoice_number: str
    party: str
    amount_fen: int
    tax_fen: int
    business_day: str
    def __init__(self, invoice_number: _Optional[str] = ..., party: _Optional[str] = ..., amount_fen: _Optional[int] = ..., tax_fen: _Optional[int] = ..., business_day: _Optional[str] = ...) -> None: ...

class RunDailySettlementResponse(_message.Message):
    __slots__ = ("business_day", "days_settled", "statements", "invoices", "ran_now")
    BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    DAYS_SETTLED_FIELD_NUMBER: _ClassVar[int]
    STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    RAN_NOW_FIELD_NUMBER: _ClassVar[int]
    business_day: str
    days_settled: _containers.RepeatedScalarFieldContainer[str]
    statements: _containers.RepeatedCompositeFieldContainer[StatementSummary]
    invoices: _containers.RepeatedCompositeFieldContainer[Invoice]
    ran_now: bool
    def __init__(self, business_day: _Optional[str] = ..., days_settled: _Optional[_Iterable[str]] = ..., statements: _Optional[_Iterable[_Union[StatementSummary, _Mapping]]] = ..., invoices: _Optional[_Iterable[_Union[Invoice, _Mapping]]] = ..., ran_now: _Optional[bool] = ...) -> None: ...

class GetStatementRequest(_message.Message):
    __slots__ = ("business_day", "receiver")
    BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    business_day: str
    receiver: str
    def __init__(self, business_day: _Optional[str] = ..., receiver: _Optional[str] = ...) -> None: ...

class GetStatementResponse(_message.Message):
    __slots__ = ("summary", "entries", "csv")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    CSV_FIELD_NUMBER: _ClassVar[int]
    summary: StatementSummary
    entries: _containers.RepeatedCompositeFieldContainer[Entry]
    csv: str
    def __init__(self, summary: _Optional[_Union[StatementSummary, _Mapping]] = ..., entries: _Optional[_Iterable[_Union[Entry, _Mapping]]] = ..., csv: _Optional[str] = ...) -> None: ...

class ReconcileRequest(_message.Message):
    __slots__ = ("business_day",)
    BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    business_day: str
    def __init__(self, business_day: _Optional[str] = ...) -> None: ...

class Difference(_message.Message):
    __slots__ = ("order_id", "receiver", "kind", "expected_fen", "actual_fen", "detail")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FEN_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_FEN_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    receiver: str
    kind: str
    expected_fen: int
    actual_fen: int
    detail: str
    def __init__(self, order_id: _Optional[str] = ..., receiver: _Optional[str] = ..., kind: _Optional[str] = ..., expected_fen: _Optional[int] = ..., actual_fen: _Optional[int] = ..., detail: _Optional[str] = ...) -> None: ...

class ReconcileResponse(_message.Message):
    __slots__ = ("orders_checked", "entries_checked", "order_net_fen", "ledger_net_fen", "differences")
    ORDERS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    ORDER_NET_FEN_FIELD_NUMBER: _ClassVar[int]
    LEDGER_NET_FEN_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    orders_checked: int
    entries_checked: int
    order_net_fen: int
    ledger_net_fen: int
    differences: _containers.RepeatedCompositeFieldContainer[Difference]
    def __init__(self, orders_checked: _Optional[int] = ..., entries_checked: _Optional[int] = ..., order_net_fen: _Optional[int] = ..., ledger_net_fen: _Optional[int] = ..., differences: _Optional[_Iterable[_Union[Difference, _Mapping]]] = ...) -> None: ...
