"""The T+1 daily settlement run: per receiver a statement of every entry, its payable total and a CSV
export; per merchant an e-invoice for the platform fees it paid.

A run for business day D settles every day after the last run up to D, and only once: D must be
before today (China Standard Time), and its postings can no longer change (entries are posted on the
day they happen and never altered). A receiver whose refunds outweigh its credits in a run is paid
nothing and carries the difference (a negative amount) into its next statement.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from core.clock import Clock
from core.errors import FailedPrecondition, NotFound
from settlement.days import CST_OFFSET_MS, DAY_MS, day_name, day_number, parse_day
from settlement.keys import MoneyKeys
from settlement.ledger import Entry, entries_of_posting
from settlement.split import is_subsidy

# A day is settled no sooner than this after it ends: a posting computed in its last moment has landed by then.
RUN_GRACE_MS = 5 * 60 * 1000
# VAT on the platform's service fees (modern services, 6%), included in the fee: tax = fee * 6 / 106.
VAT_RATE_PERCENT = 6


@dataclass(frozen=True)
class StatementSummary:
    receiver: str
    entry_count: int
    net_fen: int
    carried_in_fen: int
    payable_fen: int
    carried_out_fen: int


@dataclass(frozen=True)
class Invoice:
    invoice_number: str
    party: str
    amount_fen: int
    tax_fen: int
    business_day: str


@dataclass(frozen=True)
class Run:
    business_day: str
    days_settled: tuple[str, ...]
    statements: tuple[StatementSummary, ...]
    invoices: tuple[Invoice, ...]
    ran_now: bool


def vat_included_fen(amount_fen: int) -> int:
    """The VAT inside a VAT-inclusive amount, rounded half up to the fen."""
    return (2 * amount_fen * VAT_RATE_PERCENT + (100 + VAT_RATE_PERCENT)) // (2 * (100 + VAT_RATE_PERCENT))


def statement_csv(summary: StatementSummary, entries: list[Entry]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["entry_id", "order_id", "business_day", "posted_at_ms", "cause", "amount_fen"])
    for e in entries:
        w.writerow([e.entry_id, e.order_id, e.day, e.posted_ms, e.cause, e.amount_fen])
    w.writerow(["net", "", "", "", "", summary.net_fen])
    w.writerow(["carried_in", "", "", "", "", summary.carried_in_fen])
    w.writerow(["payable", "", "", "", "", summary.payable_fen])
    w.writerow(["carried_out", "", "", "", "", summary.carried_out_fen])
    return out.getvalue()


def _entry_row(e: Entry) -> list[object]:
    return [e.entry_id, e.order_id, e.merchant_id, e.receiver, e.amount_fen, e.cause, e.posted_ms, e.day]


class DailyRuns:
    """Runs, statements and invoices in Redis."""

    def __init__(self, client: aioredis.Redis, keys: MoneyKeys, clock: Clock) -> None:
        self._redis = client
        self.keys = keys
        self.clock = clock

    async def run(self, day_text: str) -> Run:
        day_no = parse_day("business_day", day_text)
        day = day_name(day_no)
        now_ms = self.clock.now_ms()
        if now_ms < (day_no + 1) * DAY_MS - CST_OFFSET_MS + RUN_GRACE_MS:
            raise FailedPrecondition(
                f"{day} can be settled from {day_name(day_no + 1)} 00:05 CST on (T+1); today is {day_name(day_number(now_ms))}"
            )
        k = self.keys
        # shard_hint: on a Redis Cluster the transaction runs on the node of the money slot (serving.redis_cluster).
        async with self._redis.pipeline(transaction=True, shard_hint=k.last_run_day) as pipe:
            while True:
                try:
                    await pipe.watch(k.last_run_day, k.invoice_seq)
                    stored = await pipe.hget(k.run(day), "summary")
                    if stored is not None:
                        return _run_from_json(stored, ran_now=False)
                    last = int(await pipe.get(k.last_run_day) or -1)
                    if day_no <= last:
                        raise FailedPrecondition(f"{day} was settled by the run up to {day_name(last)}")
                    days = await pipe.zrangebyscore(k.posting_days, last + 1, day_no)
                    postings: list[str] = []
                    for d in days:
                        postings += await pipe.lrange(k.day_postings(d), 0, -1)
                    carry = {r: int(v) for r, v in (await pipe.hgetall(k.carry)).items()}
                    seq = int(await pipe.get(k.invoice_seq) or 0)
                    run, details, new_carry, seq = _settle(day, tuple(days), postings, carry, seq)
                    pipe.multi()
                    pipe.hset(k.run(day), mapping={"summary": json.dumps(_run_to_dict(run)), **details})
                    if new_carry:
                        pipe.hset(k.carry, mapping={r: str(v) for r, v in new_carry.items()})
                    pipe.set(k.last_run_day, day_no)
                    pipe.set(k.invoice_seq, seq)
                    await pipe.execute()
                    return run
                except WatchError:
                    continue

    async def statement(self, day_text: str, receiver: str) -> tuple[StatementSummary, list[Entry], str]:
        day = day_name(parse_day("business_day", day_text))
        raw = await self._redis.hget(self.keys.run(day), f"s:{receiver}")
        if raw is None:
            raise NotFound(f"no statement for {receiver} in the run of {day}")
        d = json.loads(raw)
        summary = StatementSummary(**d["summary"])
        entries = [Entry(*row) for row in d["entries"]]
        return summary, entries, statement_csv(summary, entries)


def _settle(
    day: str, days: tuple[str, ...], postings: list[str], carry: dict[str, int], seq: int
) -> tuple[Run, dict[str, str], dict[str, int], int]:
    by_receiver: dict[str, list[Entry]] = defaultdict(list)
    platform_fees: dict[str, int] = defaultdict(int)
    for raw in postings:
        for e in entries_of_posting(raw):
            by_receiver[e.receiver].append(e)
            if e.receiver.startswith("platform:") and not is_subsidy(e.cause):
                platform_fees[e.merchant_id] += e.amount_fen  # a subsidy the platform funds is no fee
    statements = []
    details: dict[str, str] = {}
    new_carry: dict[str, int] = {}
    for receiver in sorted(by_receiver):
        entries = by_receiver[receiver]
        net = sum(e.amount_fen for e in entries)
        carried_in = carry.get(receiver, 0)
        due = net + carried_in
        summary = StatementSummary(receiver, len(entries), net, carried_in, max(due, 0), min(due, 0))
        if summary.carried_out_fen != carried_in:
            new_carry[receiver] = summary.carried_out_fen
        statements.append(summary)
        details[f"s:{receiver}"] = json.dumps({"summary": asdict(summary), "entries": [_entry_row(e) for e in entries]})
    invoices = []
    compact_day = day.replace("-", "")
    for merchant in sorted(platform_fees):
        amount = platform_fees[merchant]
        if amount <= 0:
            continue  # refunds took back all of this run's fees: nothing to invoice
        seq += 1
        invoices.append(
            Invoice(f"TC{compact_day}{seq:08d}", f"merchant:{merchant}", amount, vat_included_fen(amount), day)
        )
    run = Run(day, days, tuple(statements), tuple(invoices), ran_now=True)
    return run, details, new_carry, seq


def _run_to_dict(run: Run) -> dict[str, object]:
    return {
        "business_day": run.business_day,
        "days_settled": list(run.days_settled),
        "statements": [asdict(s) for s in run.statements],
        "invoices": [asdict(i) for i in run.invoices],
    }


def _run_from_json(raw: str, ran_now: bool) -> Run:
    d = json.loads(raw)
    return Run(
        d["business_day"],
        tuple(d["days_settled"]),
        tuple(StatementSummary(**s) for s in d["statements"]),
        tuple(Invoice(**i) for i in d["invoices"]),
        ran_now,
    )
