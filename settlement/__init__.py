"""Split settlement (分账): rules, the ledger, daily runs, reconciliation and alerts. No gRPC below `settlement.api`."""

from settlement.alerts import Alert, Alerts
from settlement.daily import DailyRuns, Invoice, Run, StatementSummary
from settlement.days import business_day
from settlement.keys import MoneyKeys
from settlement.ledger import Entry, Ledger, LegState, OrderMoney, RefundPlan, SplitResult
from settlement.reconcile import Difference, Reconciler, Report
from settlement.rules import DEFAULT_MAX_RECEIVER_SHARE_BP, RuleBook, Share, SplitRule, check_rule, rule_scope
from settlement.split import LegAmount, Parties, SplitHalt, largest_remainder, refund_reversal, split_legs

__all__ = [
    "DEFAULT_MAX_RECEIVER_SHARE_BP",
    "Alert",
    "Alerts",
    "DailyRuns",
    "Difference",
    "Entry",
    "Invoice",
    "Ledger",
    "LegAmount",
    "LegState",
    "MoneyKeys",
    "OrderMoney",
    "Parties",
    "Reconciler",
    "RefundPlan",
    "Report",
    "RuleBook",
    "Run",
    "Share",
    "SplitHalt",
    "SplitResult",
    "SplitRule",
    "StatementSummary",
    "business_day",
    "check_rule",
    "largest_remainder",
    "refund_reversal",
    "rule_scope",
    "split_legs",
]
