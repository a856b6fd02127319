"""Reconciliation: the ledger against the order center, order by order, and the balances against the
entries, listing every difference.

For each paid order (of one business day of payment, or all): what the order holds (paid - refunded)
must equal the sum of its entries; each leg's received and given-back totals must equal its entries;
each refund recorded on the order that reversed legs must have its posting; an order paid but not
split is a difference until its split is posted. Over the whole ledger, each receiver's balance must
equal the sum of its entries.

Transfers between merchants (`settlement.transfers`: loyalty's points clearing, alliances' commissions)
belong to no order: each posting must sum to zero, and a balance may go below zero by what transfers
took (the merchant owes its partners; the daily run carries it). Other packages add their own checks to a full reconciliation
through `extra_checks` (loyalty recomputes its members' points and its cleared days).

Subsidies (a discount the platform or a partner funds, `settlement.split`) are entries of the order too:
the order's entries still sum to paid - refunded, each funder's `subsidy` entries must equal what the split
records it took (`s:`), its `subsidy_refund:<key>` entries what refunds gave back (`sb:`), and a funder's
balance may go below zero by what it funded.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from settlement.days import CST_OFFSET_MS, DAY_MS, parse_day
from settlement.keys import MoneyKeys
from settlement.ledger import entries_of_posting
from settlement.split import SUBSIDY, SUBSIDY_REFUND, is_subsidy
from settlement.transfers import INTER_MERCHANT_CAUSES

BATCH = 500


@dataclass(frozen=True)
class Difference:
    order_id: str
    receiver: str
    kind: str
    expected_fen: int
    actual_fen: int
    detail: str = ""


@dataclass
class Report:
    orders_checked: int = 0
    entries_checked: int = 0
    order_net_fen: int = 0
    ledger_net_fen: int = 0
    differences: list[Difference] = field(default_factory=list)


class Reconciler:
    def __init__(self, client: aioredis.Redis, keys: MoneyKeys) -> None:
        self._redis = client
        self.keys = keys
        self.extra_checks: list[Callable[[], Awaitable[list[Difference]]]] = []

    async def reconcile(self, day_text: str = "") -> Report:
        k = self.keys
        if day_text:
            day_no = parse_day("business_day", day_text)
            start = day_no * DAY_MS - CST_OFFSET_MS
            order_ids = await self._redis.zrangebyscore(k.orders_paid, start, f"({start + DAY_MS}")
        else:
            order_ids = await self._redis.zrange(k.orders_paid, 0, -1)
        report = Report()
        for i in range(0, len(order_ids), BATCH):
            await self._check_orders(order_ids[i : i + BATCH], report)
        if not day_text:
            await self._check_balances(set(order_ids), report)
            for check in self.extra_checks:
                report.differences += await check()
        return report

    async def _check_orders(self, order_ids: Sequence[str], report: Report) -> None:
        k = self.keys
        async with self._redis.pipeline(transaction=False) as pipe:
            for oid in order_ids:
                pipe.hmget(k.order(oid), "paid_fen", "refunded_fen", "split_state")
                pipe.hgetall(k.split(oid))
                pipe.lrange(k.split_postings(oid), 0, -1)
                pipe.hgetall(k.order_refunds(oid))
            replies = await pipe.execute()
        for j, oid in enumerate(order_ids):
            (paid, refunded, state), split, postings, refunds = replies[4 * j : 4 * j + 4]
            paid_fen, refunded_fen = int(paid or 0), int(refunded or 0)
            expected = paid_fen - refunded_fen
            entries = [e for p in postings for e in entries_of_posting(p)]
            net = sum(e.amount_fen for e in entries)
            report.orders_checked += 1
            report.entries_checked += len(entries)
            report.order_net_fen += expected
            report.ledger_net_fen += net
            diffs = report.differences
            if state != "posted":
                if entries:
                    diffs.append(Difference(oid, "", "entries_without_split", 0, net, f"split state {state}"))
                elif expected != 0:
                    diffs.append(Difference(oid, "", "not_split", expected, 0, f"split state {state}"))
                continue
            if net != expected:
                diffs.append(Difference(oid, "", "net_mismatch", expected, net, "paid - refunded vs entries"))
            got: dict[str, int] = defaultdict(int)
            back: dict[str, int] = defaultdict(int)
            causes = set()
            took: dict[str, int] = defaultdict(int)
            gave: dict[str, int] = defaultdict(int)
            for e in entries:
                causes.add(e.cause)
                if e.cause == SUBSIDY:
                    took[e.receiver] -= e.amount_fen
                elif e.cause.startswith(f"{SUBSIDY_REFUND}:"):
                    gave[e.receiver] += e.amount_fen
                elif e.amount_fen >= 0:
                    got[e.receiver] += e.amount_fen
                else:
                    back[e.receiver] -= e.amount_fen
            for f, v in split.items():
                kind, _, receiver = f.partition(":")
                if kind == "a" and int(v) != got.get(receiver, 0):
                    diffs.append(Difference(oid, receiver, "leg_received_mismatch", int(v), got.get(receiver, 0)))
                if kind == "r" and int(v) != back.get(receiver, 0):
                    diffs.append(Difference(oid, receiver, "leg_reversed_mismatch", int(v), back.get(receiver, 0)))
                if kind == "a" and int(split.get(f"r:{receiver}", 0)) > int(v):
                    diffs.append(Difference(oid, receiver, "over_reversed", int(v), int(split[f"r:{receiver}"])))
                if kind == "s" and int(v) != took.get(receiver, 0):
                    diffs.append(Difference(oid, receiver, "subsidy_mismatch", int(v), took.get(receiver, 0)))
                if kind == "sb" and int(v) != gave.get(receiver, 0):
                    diffs.append(Difference(oid, receiver, "subsidy_back_mismatch", int(v), gave.get(receiver, 0)))
            for receiver in got.keys() - {f[2:] for f in split if f.startswith("a:")}:
                diffs.append(Difference(oid, receiver, "entry_without_leg", 0, got[receiver]))
            for receiver in took.keys() - {f[2:] for f in split if f.startswith("s:")}:
                diffs.append(Difference(oid, receiver, "subsidy_without_record", 0, took[receiver]))
            refunded_by_records = 0
            for key, raw in refunds.items():
                record = json.loads(raw.partition("|")[2])
                amount = int(record["a"])
                refunded_by_records += amount
                if record["l"] and f"refund:{key}" not in causes:
                    diffs.append(Difference(oid, "", "refund_not_posted", amount, 0, f"refund {key}"))
            if refunded_by_records != refunded_fen:
                diffs.append(Difference(oid, "", "refund_records_mismatch", refunded_fen, refunded_by_records))

    async def _check_balances(self, paid_ids: set[str], report: Report) -> None:
        k = self.keys
        days = await self._redis.zrange(k.posting_days, 0, -1)
        totals: dict[str, int] = defaultdict(int)
        cleared: dict[str, int] = defaultdict(int)
        subsidies: dict[str, int] = defaultdict(int)
        for day in days:
            for raw in await self._redis.lrange(k.day_postings(day), 0, -1):
                entries = entries_of_posting(raw)
                if entries and entries[0].cause in INTER_MERCHANT_CAUSES:
                    for e in entries:
                        totals[e.receiver] += e.amount_fen
                        cleared[e.receiver] += e.amount_fen
                    if (net := sum(e.amount_fen for e in entries)) != 0:
                        report.differences.append(Difference(entries[0].order_id, "", "transfer_not_zero", 0, net))
                    continue
                for e in entries:
                    totals[e.receiver] += e.amount_fen
                    if is_subsidy(e.cause):
                        cleared[e.receiver] += e.amount_fen  # a funder may owe what it funded
                        subsidies[e.receiver] += e.amount_fen
                    if e.order_id not in paid_ids:
                        report.differences.append(
                            Difference(e.order_id, e.receiver, "entry_of_unknown_order", 0, e.amount_fen)
                        )
        balances = {r: int(v) for r, v in (await self._redis.hgetall(k.balances)).items()}
        subsidised = {r: int(v) for r, v in (await self._redis.hgetall(k.subsidised)).items()}
        for receiver in sorted(subsidies.keys() | subsidised.keys()):
            if subsidies.get(receiver, 0) != subsidised.get(receiver, 0):
                report.differences.append(
                    Difference(
                        "", receiver, "subsidised_mismatch", subsidies.get(receiver, 0), subsidised.get(receiver, 0)
                    )
                )
        for receiver in sorted(totals.keys() | balances.keys()):
            if totals.get(receiver, 0) != balances.get(receiver, 0):
                report.differences.append(
                    Difference("", receiver, "balance_mismatch", totals.get(receiver, 0), balances.get(receiver, 0))
                )
            if balances.get(receiver, 0) - min(cleared.get(receiver, 0), 0) < 0:
                report.differences.append(Difference("", receiver, "negative_balance", 0, balances[receiver]))
