"""Loyalty points (积分): programmes, points following orders, spends across an alliance, sign-in,
referrals, expiry and clearing claims. No gRPC below `loyalty.api`."""

from loyalty.engine import Loyalty
from loyalty.keys import LoyaltyKeys
from loyalty.models import (
    Balance,
    Claim,
    EntryKind,
    Expiry,
    ExpiryRun,
    HistoryEntry,
    LotUse,
    OrderPoints,
    OrderState,
    Programme,
    ProgrammeKind,
    Reward,
    SignIn,
    Spend,
    order_points,
)

__all__ = [
    "Balance",
    "Claim",
    "EntryKind",
    "Expiry",
    "ExpiryRun",
    "HistoryEntry",
    "LotUse",
    "Loyalty",
    "LoyaltyKeys",
    "OrderPoints",
    "OrderState",
    "Programme",
    "ProgrammeKind",
    "Reward",
    "SignIn",
    "Spend",
    "order_points",
]
