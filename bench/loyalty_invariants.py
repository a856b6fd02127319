"""Randomised invariant check of loyalty points: orders paid, completed and refunded (retried, duplicated
and out of order), spends across an alliance's shops, spends given back, sign-ins, expiry and days
passing — then an independent recomputation from the order and lot records finds every violation.

    python -m bench.loyalty_invariants --ops 100000 --seed 7

The recomputation does not reuse the engine: each order's points are re-derived from what the run itself
told the order center (paid, refunded, completed) with the earn rule; each member's available points from
its lots, its counters from its history; each spend from the lots it names; and every day's clearing must
net to zero over the alliance.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import redis.asyncio as aioredis

from core.clock import ManualClock
from core.errors import FailedPrecondition
from loyalty import Loyalty, OrderState, Programme, ProgrammeKind
from serving.embedded_redis import EmbeddedRedis

MERCHANTS = ("salon", "hotpot", "coffee", "yoga", "bakery")
DAY_MS = 86_400_000


async def run(ops: int, seed: int, members: int) -> list[str]:
    rng = random.Random(seed)
    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="loyalty-inv-")), appendfsync="no").start()
    client = aioredis.Redis.from_url(server.url, decode_responses=True)
    clock = ManualClock(1_773_540_000_000)  # 2026-03-15
    engine = Loyalty(client, clock)
    await engine.create_programme(
        Programme("p1", ProgrammeKind.ALLIANCE, MERCHANTS, expiry_months=1, signin_points=5, streak_days=3,
                  streak_bonus_points=10, grace_days=1)
    )  # fmt: skip
    # What the run told the order center: order -> [member, merchant, paid, refunded, completed].
    orders: dict[str, list] = {}
    spends: dict[str, tuple[str, str, int]] = {}
    counts: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    for i in range(ops):
        member = f"u{rng.randrange(members)}"
        r = rng.random()
        try:
            if r < 0.22 or not orders:
                oid = f"o{i}"
                orders[oid] = [member, rng.choice(MERCHANTS), rng.randrange(1, 50_000), 0, False]
                m, merchant, paid, _, _ = orders[oid]
                await engine.sync_order(oid, merchant, m, OrderState.PAID, paid, 0)
                counts["pay"] += 1
            elif r < 0.40:
                oid = rng.choice(list(orders))
                orders[oid][4] = True
                m, merchant, paid, refunded, _ = orders[oid]
                await engine.sync_order(oid, merchant, m, OrderState.COMPLETED, paid, refunded)
                counts["complete"] += 1
            elif r < 0.50:
                oid = rng.choice(list(orders))
                o = orders[oid]
                o[3] = min(o[2], o[3] + rng.randrange(1, o[2] + 1))
                await engine.sync_order(oid, o[1], o[0], OrderState.COMPLETED if o[4] else OrderState.PAID, o[2], o[3])
                counts["refund"] += 1
            elif r < 0.56:  # a stale or duplicated view of an order: must change nothing
                oid = rng.choice(list(orders))
                m, merchant, paid, refunded, _ = orders[oid]
                await engine.sync_order(oid, merchant, m, OrderState.PAID, paid, rng.randrange(0, refunded + 1))
                counts["stale"] += 1
            elif r < 0.76:
                # A tenth are retries of an earlier spend, with its body: a replay, never a second spend.
                key = f"s{i}" if rng.random() < 0.9 or not spends else rng.choice(list(spends))
                body = spends.get(key) or (member, rng.choice(MERCHANTS), rng.randrange(1, 2_000))
                _, created, _ = await engine.spend("p1", body[0], body[1], body[2], key)
                spends[key] = body
                counts["spend" if created else "spend_replayed"] += 1
            elif r < 0.83 and spends:
                key = rng.choice(list(spends))
                await engine.refund_spend("p1", spends[key][0], key)
                counts["refund_spend"] += 1
            elif r < 0.93:
                await engine.sign_in("p1", member)
                counts["sign_in"] += 1
            elif r < 0.96:
                await engine.expire("p1")
                counts["expire"] += 1
            else:
                clock.advance(rng.randrange(1, 3 * DAY_MS) / 1000)
                counts["wait"] += 1
        except FailedPrecondition:
            counts["refused"] += 1
    elapsed = time.perf_counter() - started
    problems = await check(engine, client, orders, clock.now_ms())
    print(f"{ops} operations in {elapsed:.1f} s ({ops / elapsed:.0f}/s): {dict(counts)}")
    await client.aclose()
    server.stop()
    return problems


async def check(engine: Loyalty, r: aioredis.Redis, orders: dict[str, list], now_ms: int) -> list[str]:
    k = engine.keys
    problems: list[str] = []
    for oid, (member, _, paid, refunded, completed) in orders.items():
        h = await r.hgetall(k.order("p1", oid))
        kept = (paid - refunded) * 1000 // 10_000
        state = 2 if completed else 1
        if int(h["kept"]) != kept or int(h["state"]) != state or h["member"] != member:
            problems.append(f"order {oid}: kept {h['kept']} state {h['state']}, expected {kept} and {state}")
    members = {o[0] for o in orders.values()} | {m.split("|", 1)[1] for m in await r.keys(f"{k.prefix}m:p1|*")}
    for member in sorted(members):
        h = await r.hgetall(k.member("p1", member))
        history = [json.loads(e) for e in await r.lrange(k.history("p1", member), 0, -1)]
        lots = {i: v.split("|") for i, v in (await r.hgetall(k.lots("p1", member))).items()}
        sums = [sum(int(e[j]) for e in history) for j in (2, 3, 4)]
        stored = [int(h.get(f, 0)) for f in ("avail", "pending", "debt")]
        if stored != sums:
            problems.append(f"member {member}: counters {stored}, history sums {sums}")
        if sum(int(v[0]) for v in lots.values()) != stored[0]:
            problems.append(
                f"member {member}: lots hold {sum(int(v[0]) for v in lots.values())}, available {stored[0]}"
            )
        if any(not 0 <= int(v[0]) <= int(v[1]) for v in lots.values()) or min(stored) < 0:
            problems.append(f"member {member}: a lot or counter out of range")
        if stored[2] > 0 and any(int(v[0]) > 0 and int(v[2]) > now_ms for v in lots.values()):
            problems.append(f"member {member}: a debt beside spendable points")
        pending = sum((o[2] - o[3]) * 1000 // 10_000 for o in orders.values() if o[0] == member and not o[4])
        if stored[1] != pending:
            problems.append(f"member {member}: pending {stored[1]}, its paid orders give {pending}")
    for raw in (await r.hgetall(k.spends("p1"))).values():
        spend = json.loads(raw.partition("|")[2])
        if sum(u[2] for u in spend["u"]) != spend["p"]:
            problems.append(f"spend of {spend['m']}: its lots give {sum(u[2] for u in spend['u'])}, not {spend['p']}")
    for key in await r.keys(f"{k.prefix}clear:p1|*"):
        per_merchant: dict[str, int] = defaultdict(int)
        for pair, points in (await r.hgetall(key)).items():
            creditor, debtor = pair.split("|")
            per_merchant[creditor] += int(points)
            per_merchant[debtor] -= int(points)
        if sum(per_merchant.values()) != 0:
            problems.append(f"{key}: the clearing does not net to zero")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ops", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--members", type=int, default=50)
    args = p.parse_args(argv)
    problems = asyncio.run(run(args.ops, args.seed, args.members))
    print(f"{len(problems)} invariant violations")
    for problem in problems[:20]:
        print("  " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
