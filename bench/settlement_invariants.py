"""Randomised invariant check of the order center and the ledger: payments (split at once), partial and full
refunds, retries and concurrent duplicates, rule changes — then an independent recomputation from the order
records finds every violation.

    python -m bench.settlement_invariants --ops 100000 --seed 7

The recomputation does not reuse settlement.split: it re-derives each split from the order record and the
stored rule versions with exact fractions, and checks the ledger against it and against the operations the
run itself saw acknowledged (a retried or duplicated refund must count once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import redis.asyncio as aioredis

from commerce.orders import NewOrder, OrderCenter, OrderStore, Step
from core.clock import SystemClock
from core.errors import FailedPrecondition, InvalidArgument
from serving.app import redis_client
from serving.embedded_redis import EmbeddedRedis
from settlement.ledger import entries_of_posting
from settlement.rules import Share, SplitRule
from settlement.service import Settlement

MERCHANTS = 20
CHAINS = 4
RANK = {"merchant": 0, "head_office": 1, "platform": 2, "rider": 3, "group_leader": 4}


@dataclass
class Tally:
    ops: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # What the run saw acknowledged, per order: payment, refunds by key, cancelled (refunded in full).
    paid: dict[str, int] = field(default_factory=dict)
    refunds: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    refunded_in_full: set[str] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)


def random_rule(rng: random.Random, scope: str) -> SplitRule:
    def share(max_bp: int, max_fixed: int) -> Share:
        return Share(rng.randint(0, max_bp), rng.choice([0, 0, rng.randint(0, max_fixed)]))

    return SplitRule(
        scope,
        share(1_500, 300),
        share(1_500, 800),
        share(800, 200),
        share(2_000, 500),
        max_receiver_share_bp=rng.choice([3_000, 3_000, 5_000]),
    )


async def run_ops(client: aioredis.Redis, n_ops: int, seed: int, concurrency: int = 32) -> Tally:
    rng = random.Random(seed)
    clock = SystemClock()
    settlement = Settlement(client, clock)
    center = OrderCenter(OrderStore(client, settlement.keys), settlement.ledger, clock)
    tally = Tally()
    for m in range(MERCHANTS):
        scope = f"chain:c{m % CHAINS}" if m % 3 == 0 else f"merchant:m{m}"
        await settlement.set_rule(random_rule(rng, scope))
    for c in range(CHAINS):
        await settlement.set_rule(random_rule(rng, f"chain:c{c}"))
    orders: list[str] = []
    next_id = 0

    async def new_order() -> None:
        nonlocal next_id
        oid = f"o{next_id}"
        next_id += 1
        m = rng.randrange(MERCHANTS)
        items = rng.choice([rng.randint(1, 3_000), rng.randint(1, 200_000), rng.randint(1, 50_000_000)])
        fee = rng.randint(0, 1_000)
        spec = NewOrder(
            oid, f"m{m}", items, fee, 31.23, 121.47, 31.24, 121.48,
            chain_id=f"c{m % CHAINS}" if m % 3 == 0 else "", group_leader_id=rng.choice(["", "", "g1", "g2"]),
        )  # fmt: skip
        await center.create(spec)
        if rng.random() < 0.2:
            await center.create(spec)  # a retried create
        await center.pay(oid, f"p-{oid}", spec.total_fen)
        tally.paid[oid] = spec.total_fen
        orders.append(oid)
        if rng.random() < 0.1:
            await center.pay(oid, f"p-{oid}", spec.total_fen)  # a retried payment

    async def refund(oid: str, key: str, amount: int) -> bool:
        _, refunded, _ = await center.refund(oid, key, amount, "")
        if refunded:
            tally.refunds[oid][key] = amount
        return refunded

    async def one(kind: str) -> None:
        if kind == "order" or not orders:
            await new_order()
            tally.by_kind["order"] += 1
            return
        oid = rng.choice(orders)
        order = await center.store.get(oid)
        left = order.refundable_fen
        if kind == "refund":
            amount = left if rng.random() < 0.1 else rng.randint(1, max(1, left // 3))
            await refund(oid, f"r{rng.getrandbits(40)}", amount)
        elif kind == "retry_refund" and tally.refunds[oid]:
            key, amount = rng.choice(sorted(tally.refunds[oid].items()))
            if await refund(oid, key, amount):
                tally.violations.append(f"{oid}: retried refund {key} took effect again")
        elif kind == "dup_refund":
            key, amount = f"d{rng.getrandbits(40)}", rng.randint(1, max(1, left // 4))
            outcomes = await asyncio.gather(*(refund(oid, key, amount) for _ in range(3)), return_exceptions=True)
            done = [o for o in outcomes if o is True]
            if len(done) > 1:
                tally.violations.append(f"{oid}: duplicated refund {key} took effect {len(done)} times")
            for o in outcomes:
                if isinstance(o, BaseException) and not isinstance(o, (FailedPrecondition, InvalidArgument)):
                    raise o
        elif kind == "split_retry":
            key = f"pay:{oid}" if rng.random() < 0.5 else f"again:{rng.getrandbits(40)}"
            [result] = await settlement.split([(key, oid)])
            if result.outcome == "posted" and order.split_state == "posted":
                tally.violations.append(f"{oid}: split posted twice")
        elif kind == "cancel":
            after = await center.step(oid, Step.CANCEL, "bench")
            if after.paid_fen and after.refunded_fen == after.paid_fen:
                tally.refunded_in_full.add(oid)
        elif kind == "step":
            await center.step(oid, rng.choice([Step.ACCEPT, Step.READY, Step.PICK_UP, Step.DELIVER, Step.COMPLETE]))
        elif kind == "rule":
            m = rng.randrange(MERCHANTS)
            await settlement.set_rule(random_rule(rng, f"merchant:m{m}"))
        tally.by_kind[kind] += 1

    kinds = ["order"] * 28 + ["refund"] * 30 + ["retry_refund"] * 12 + ["dup_refund"] * 8 + ["split_retry"] * 10
    kinds += ["cancel"] * 4 + ["step"] * 8
    while tally.ops < n_ops:
        batch = [("rule" if rng.random() < 0.001 else rng.choice(kinds)) for _ in range(concurrency)]
        results = await asyncio.gather(*(one(k) for k in batch), return_exceptions=True)
        for k, r in zip(batch, results, strict=True):
            tally.ops += 3 if k == "dup_refund" else 1
            if isinstance(r, (FailedPrecondition, InvalidArgument)):
                tally.refused[f"{k}: {type(r).__name__}"] += 1
            elif isinstance(r, BaseException):
                raise r
    return tally


# The independent recomputation ---------------------------------------------------------------


def rules_in_effect(
    raw_rules: dict[str, list[dict]], merchant: str, chain: str, paid_at_ms: int
) -> tuple[str, dict] | None:  # type: ignore[type-arg]
    for scope in [f"merchant:{merchant}"] + ([f"chain:{chain}"] if chain else []):
        versions = [(i + 1, r) for i, r in enumerate(raw_rules.get(scope, [])) if r["from"] <= paid_at_ms]
        if versions:
            v, r = versions[-1]
            return f"{scope}#{v}", r
    return None


def expected_split(base: int, rule: dict, merchant: str, chain: str, leader: str) -> dict[str, int] | None:  # type: ignore[type-arg]
    """The legs by exact fractions and Hamilton's method (ties: merchant, head office, platform, rider,
    group leader); None where the rule cannot apply (a negative merchant leg or a leg over the cap)."""
    others = [
        ("platform:tongcheng", rule["platform_commission"]),
        (f"rider:{rule['fleet']}", rule["rider_delivery_fee"]),
    ]
    if leader:
        others.append((f"group_leader:{leader}", rule["group_leader_commission"]))
    if chain:
        others.append((f"head_office:{chain}", rule["head_office_share"]))
    exact = {r: Fraction(base * bp, 10_000) for r, (bp, _) in others}
    exact[f"merchant:{merchant}"] = base - sum(exact.values())
    legs = {r: int(x) for r, x in exact.items()}  # floors (all non-negative)
    left = base - sum(legs.values())
    by_remainder = sorted(exact, key=lambda r: (-(exact[r] - int(exact[r])), RANK[r.split(":")[0]], r))
    for r in by_remainder[:left]:
        legs[r] += 1
    for r, (_, fixed) in others:
        legs[r] += fixed
        legs[f"merchant:{merchant}"] -= fixed
    if legs[f"merchant:{merchant}"] < 0:
        return None
    if any(legs[r] * 10_000 > base * rule["max"] for r, _ in others):
        return None
    return {r: a for r, a in legs.items() if a > 0}


async def verify(client: aioredis.Redis, tally: Tally) -> dict[str, int]:
    """Recomputes every order's money from its record and checks the ledger; appends to tally.violations."""
    keys = Settlement(client, SystemClock()).keys
    raw_rules: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    async for key in client.scan_iter(match=keys.rules("*"), count=1000):
        if key == keys.rules_generation:
            continue
        raw_rules[key.split(":rules:", 1)[1]] = [json.loads(r) for r in await client.lrange(key, 0, -1)]
    order_ids = await client.zrange(keys.orders_paid, 0, -1)
    per_receiver: dict[str, int] = defaultdict(int)
    stats = defaultdict(int)
    v = tally.violations
    for i in range(0, len(order_ids), 500):
        chunk = order_ids[i : i + 500]
        async with client.pipeline(transaction=False) as pipe:
            for oid in chunk:
                pipe.hgetall(keys.order(oid))
                pipe.hgetall(keys.order_refunds(oid))
                pipe.lrange(keys.split_postings(oid), 0, -1)
            replies = await pipe.execute()
        for j, oid in enumerate(chunk):
            order, refund_records, postings = replies[3 * j : 3 * j + 3]
            stats["orders"] += 1
            paid, refunded = int(order["paid_fen"]), int(order["refunded_fen"])
            if tally.paid.get(oid) != paid:
                v.append(f"{oid}: paid {paid}, the run saw {tally.paid.get(oid)} acknowledged")
            records = {k: json.loads(r.partition("|")[2]) for k, r in refund_records.items()}
            if sum(r["a"] for r in records.values()) != refunded:
                v.append(
                    f"{oid}: refunded {refunded} but its refund records sum to {sum(r['a'] for r in records.values())}"
                )
            seen = tally.refunds.get(oid, {})
            for key, amount in seen.items():
                if key not in records or records[key]["a"] != amount:
                    v.append(f"{oid}: acknowledged refund {key} of {amount} is not recorded as such")
            if oid not in tally.refunded_in_full and set(records) - set(seen) - {"#cancel", "#reject"}:
                v.append(f"{oid}: refunds recorded that were never acknowledged: {set(records) - set(seen)}")
            entries = [e for p in postings for e in entries_of_posting(p)]
            stats["entries"] += len(entries)
            for e in entries:
                per_receiver[e.receiver] += e.amount_fen
            net = sum(e.amount_fen for e in entries)
            state = order["split_state"]
            before_split = sum(r["a"] for r in records.values() if not r["l"])
            base = paid - before_split
            found = rules_in_effect(raw_rules, order["merchant_id"], order["chain_id"], int(order["paid_at_ms"]))
            expected = (
                expected_split(base, found[1], order["merchant_id"], order["chain_id"], order["group_leader_id"])
                if found and base > 0
                else None
            )
            if state == "posted":
                stats["split"] += 1
                split_entries = {e.receiver: e.amount_fen for e in entries if e.cause == "split"}
                if expected is None or split_entries != expected:
                    v.append(
                        f"{oid}: split {split_entries} but recomputed {expected} (base {base}, rule {found and found[0]})"
                    )
                if net != paid - refunded:
                    v.append(f"{oid}: entries sum to {net}, the order holds {paid - refunded}")
                got = {r: 0 for r in split_entries}
                for key, r in records.items():
                    if not r["l"]:
                        continue
                    posted = {e.receiver: -e.amount_fen for e in entries if e.cause == f"refund:{key}"}
                    if posted != dict(map(tuple, r["l"])) or sum(posted.values()) != r["a"]:
                        v.append(f"{oid}: refund {key} posted {posted}, recorded {r['l']} for {r['a']}")
                    for rec, amount in posted.items():
                        got[rec] = got.get(rec, 0) + amount
                total_back = sum(got.values())
                for rec, back in got.items():
                    if back > split_entries.get(rec, 0):
                        v.append(f"{oid}: {rec} gave back {back}, more than its {split_entries.get(rec, 0)}")
                    exact = Fraction(total_back * split_entries.get(rec, 0), sum(split_entries.values()))
                    if abs(back - exact) >= 1:
                        v.append(f"{oid}: {rec} gave back {back}, its proportional share is {float(exact):.2f}")
            elif state == "nothing_to_split":
                stats["nothing_to_split"] += 1
                if base != 0 or entries:
                    v.append(f"{oid}: nothing to split, yet base {base} and {len(entries)} entries")
            else:
                stats[f"split_{state}"] += 1
                if entries:
                    v.append(f"{oid}: split {state} yet {len(entries)} entries")
                if expected is not None:
                    v.append(f"{oid}: split {state} though the rule gives {expected}")
            if oid in tally.refunded_in_full and refunded != paid:
                v.append(f"{oid}: cancelled after payment but refunded {refunded} of {paid}")
    balances = {r: int(x) for r, x in (await client.hgetall(keys.balances)).items()}
    for rec in per_receiver.keys() | balances.keys():
        if per_receiver.get(rec, 0) != balances.get(rec, 0):
            v.append(f"balance of {rec} is {balances.get(rec, 0)}, its entries sum to {per_receiver.get(rec, 0)}")
        if balances.get(rec, 0) < 0:
            v.append(f"balance of {rec} is negative: {balances[rec]}")
    report = await Settlement(client, SystemClock()).reconciler.reconcile()
    not_split = [d for d in report.differences if d.kind == "not_split"]
    if len(report.differences) != len(not_split):
        v.append(f"reconciliation lists {len(report.differences) - len(not_split)} differences besides halted splits")
    stats["reconciliation_not_split"] = len(not_split)
    return dict(stats)


async def run(url: str, n_ops: int, seed: int, concurrency: int) -> tuple[Tally, dict[str, int], float]:
    client = redis_client(url)
    try:
        await client.flushall()
        started = time.perf_counter()
        tally = await run_ops(client, n_ops, seed, concurrency)
        elapsed = time.perf_counter() - started
        stats = await verify(client, tally)
    finally:
        await client.aclose()
    return tally, stats, elapsed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ops", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--redis-url", help="an empty Redis to use (it is flushed); unset starts an embedded one")
    ns = p.parse_args()
    # Halted splits log an error each (by design); the run counts them instead of printing them.
    logging.getLogger("tongcheng.settlement").setLevel(logging.CRITICAL)
    embedded = None
    url = ns.redis_url
    if url is None:
        embedded = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="tc-invariants-")), appendfsync="everysec").start()
        url = embedded.url
    try:
        tally, stats, elapsed = asyncio.run(run(url, ns.ops, ns.seed, ns.concurrency))
    finally:
        if embedded is not None:
            embedded.stop()
    print(f"operations: {tally.ops} in {elapsed:.1f} s ({tally.ops / elapsed:.0f}/s), seed {ns.seed}")
    print("by kind:", dict(sorted(tally.by_kind.items())))
    print("refused as the state machine demands:", dict(sorted(tally.refused.items())))
    print("checked:", stats)
    print(f"violations: {len(tally.violations)}")
    for line in tally.violations[:20]:
        print("  ", line)
    return 1 if tally.violations else 0


if __name__ == "__main__":
    sys.exit(main())
