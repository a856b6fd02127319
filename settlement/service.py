"""Settlement as one object: rules, the ledger, daily runs, reconciliation and alerts over one Redis."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from core.clock import Clock
from core.errors import FieldViolation, InvalidArgument
from core.validation import RULE_HORIZON_MS, duplicate_violations, id_violation, instant_violation
from settlement.alerts import Alerts
from settlement.daily import DailyRuns
from settlement.keys import MoneyKeys
from settlement.ledger import Entry, Ledger, LegState, SplitResult
from settlement.reconcile import Reconciler
from settlement.rules import RuleBook, SplitRule, check_rule

MAX_SPLITS_PER_CALL = 500


def check_scope(merchant_id: str, chain_id: str, prefix: str = "") -> None:
    """Exactly one of merchant_id and chain_id, each a valid id."""
    if bool(merchant_id) == bool(chain_id):
        raise InvalidArgument.field(f"{prefix}merchant_id", "name exactly one of merchant_id and chain_id")
    bad = (
        id_violation(f"{prefix}merchant_id", merchant_id)
        if merchant_id
        else id_violation(f"{prefix}chain_id", chain_id)
    )
    if bad:
        raise InvalidArgument(bad)


class Settlement:
    def __init__(self, client: aioredis.Redis, clock: Clock, keys: MoneyKeys | None = None) -> None:
        self.keys = keys or MoneyKeys()
        self.clock = clock
        self.rules = RuleBook(client, self.keys)
        self.ledger = Ledger(client, self.keys, self.rules, clock)
        self.runs = DailyRuns(client, self.keys, clock)
        self.reconciler = Reconciler(client, self.keys)
        self.alerts = Alerts(client, self.keys)

    async def set_rule(self, rule: SplitRule) -> SplitRule:
        check_rule(rule)
        now_ms = self.clock.now_ms()
        if rule.effective_from_ms and (
            bad := instant_violation(
                "rule.effective_from", rule.effective_from_ms, latest_ms=now_ms + RULE_HORIZON_MS,
                latest_what="a year from now",
            )
        ):  # fmt: skip
            raise InvalidArgument(bad)
        return await self.rules.add(rule, self.clock.now_ms())

    async def list_rules(self, merchant_id: str, chain_id: str) -> list[SplitRule]:
        check_scope(merchant_id, chain_id)
        return await self.rules.versions(f"merchant:{merchant_id}" if merchant_id else f"chain:{chain_id}")

    async def split(self, requests: Sequence[tuple[str, str]]) -> list[SplitResult]:
        if not 1 <= len(requests) <= MAX_SPLITS_PER_CALL:
            raise InvalidArgument.field("splits", f"send 1 to {MAX_SPLITS_PER_CALL} splits, got {len(requests)}")
        bad: list[FieldViolation] = []
        for i, (key, order_id) in enumerate(requests):
            bad += [
                v
                for v in (
                    id_violation(f"splits[{i}].idempotency_key", key),
                    id_violation(f"splits[{i}].order_id", order_id),
                )
                if v
            ]
        # One batch names each key and each order once: a repeat would post (or alert) twice in one script.
        bad += duplicate_violations("splits", (key for key, _ in requests), ".idempotency_key")
        bad += duplicate_violations("splits", (order_id for _, order_id in requests), ".order_id")
        if bad:
            raise InvalidArgument(bad)
        return await self.ledger.split_orders(requests)

    async def split_of(self, order_id: str) -> tuple[tuple[LegState, ...], str, list[Entry], int]:
        bad = id_violation("order_id", order_id)
        if bad:
            raise InvalidArgument(bad)
        paid = await self.ledger.paid_fen(order_id)
        if paid is None:
            raise InvalidArgument.field("order_id", f"no order {order_id}")
        legs, rule, entries = await self.ledger.split_of(order_id)
        return legs, rule, entries, paid
