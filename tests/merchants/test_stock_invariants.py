"""A hypothesis stateful test of the stock ledger on a real Redis: POS counts and adjustments at random past
times (late and out of order), retried events, reservations with TTLs, sales, releases and returns, the clock
moving on. After every step the engine agrees with a recomputation from the ledger alone, and what a
reservation takes never exceeds what was available when it took it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from core.clock import ManualClock
from core.errors import FailedPrecondition
from merchants import CatalogItem, Merchant, Merchants, StockEvent, StockEventKind, Variant
from serving.embedded_redis import EmbeddedRedis

START_MS = 1_780_000_000_000
VARIANTS = ("v1", "v2")


@dataclass
class Held:
    lines: dict[str, int]
    expires_ms: int
    state: str = "held"


def recompute_on_hand(events: list[tuple[str, str, int, int]]) -> int:
    """On hand from the ledger alone: the last count (by time, then id) plus every change after it."""
    counts = [(t, eid, q) for kind, eid, q, t in events if kind == "count"]
    if not counts:
        return sum(q for kind, _, q, _ in events if kind != "count")
    t0, _, q0 = max(counts)
    return q0 + sum(q for kind, _, q, t in events if kind != "count" and t > t0)


class StockMachine(RuleBasedStateMachine):
    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis = aioredis.Redis.from_url(self.url, decode_responses=True)
        self.clock = ManualClock(START_MS)
        self.m = Merchants(self.redis, self.clock)
        self.events: dict[str, list[tuple[str, str, int, int]]] = {v: [] for v in VARIANTS}
        self.sent: dict[str, StockEvent] = {}
        self.reservations: dict[str, Held] = {}
        self.n = 0
        self.run(self.redis.flushall())
        self.run(self.m.directory.upsert(Merchant("shop", "shop", "convenience", 31.2, 121.4, "Asia/Shanghai")))
        items = [CatalogItem(f"i{v}", v, "", (Variant(v, v, 100),)) for v in VARIANTS]
        self.run(self.m.catalog.sync("shop", "menu", items))

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.redis.aclose())
        self.loop.close()

    def held_now(self, variant: str, but: str = "") -> int:
        now = self.clock.now_ms()
        return sum(
            r.lines.get(variant, 0)
            for rid, r in self.reservations.items()
            if rid != but and r.state == "held" and r.expires_ms > now
        )

    def available(self, variant: str, but: str = "") -> int:
        return recompute_on_hand(self.events[variant]) - self.held_now(variant, but)

    @rule(
        variant=st.sampled_from(VARIANTS),
        is_count=st.booleans(),
        quantity=st.integers(-6, 20),
        minutes_ago=st.integers(0, 8),
    )
    def pos_event(self, variant: str, is_count: bool, quantity: int, minutes_ago: int) -> None:
        if is_count:
            quantity = abs(quantity)
        elif quantity == 0:
            quantity = 1
        self.n += 1
        t = self.clock.now_ms() - minutes_ago * 60_000
        kind = StockEventKind.COUNT if is_count else StockEventKind.ADJUSTMENT
        event = StockEvent(f"e{self.n:04d}", variant, kind, quantity, t)
        self.run(self.m.stock.record("shop", [event], []))
        self.events[variant].append(("count" if is_count else "change", event.event_id, quantity, t))
        self.sent[event.event_id] = event

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def retry_an_event(self, data: st.DataObject) -> None:
        event = data.draw(st.sampled_from(sorted(self.sent)))
        _, replayed = self.run(self.m.stock.record("shop", [self.sent[event]], []))
        sent = self.sent[event]
        on_ledger = any(eid == event for _, eid, _, _ in self.events[sent.variant_id])
        assert replayed == (1 if on_ledger else 0)
        if not on_ledger:  # folded away by retention: recorded again, before the count that made it moot
            kind = "count" if sent.kind is StockEventKind.COUNT else "change"
            self.events[sent.variant_id].append((kind, sent.event_id, sent.quantity, sent.occurred_ms))

    @rule()
    def retention_folds_the_ledger(self) -> None:
        """Everything before each variant's last count goes (a retention of 0 days)."""
        self.run(self.m.stock.compact("shop", self.clock.now_ms()))
        for v, events in self.events.items():
            counts = [(t, eid) for kind, eid, _, t in events if kind == "count"]
            if counts:
                t0 = max(counts)[0]
                self.events[v] = [e for e in events if e[3] >= t0]

    @rule(q1=st.integers(0, 6), q2=st.integers(0, 6), ttl_s=st.integers(1, 900))
    def reserve(self, q1: int, q2: int, ttl_s: int) -> None:
        lines = [(v, q) for v, q in zip(VARIANTS, (q1, q2), strict=True) if q]
        if not lines:
            return
        self.n += 1
        rid = f"r{self.n:04d}"
        fits = all(self.available(v) >= q for v, q in lines)
        try:
            self.run(self.m.stock.reserve("shop", rid, lines, ttl_s))
        except FailedPrecondition:
            assert not fits
            return
        assert fits, "a reservation took more than was available"
        self.reservations[rid] = Held(dict(lines), self.clock.now_ms() + ttl_s * 1000)

    @precondition(lambda self: bool(self.reservations))
    @rule(data=st.data())
    def sell(self, data: st.DataObject) -> None:
        rid = data.draw(st.sampled_from(sorted(self.reservations)))
        r = self.reservations[rid]
        now = self.clock.now_ms()
        expired = r.state == "held" and r.expires_ms <= now
        fits = r.state == "held" and (not expired or all(self.available(v, rid) >= q for v, q in r.lines.items()))
        try:
            self.run(self.m.stock.commit("shop", rid))
        except FailedPrecondition:
            assert not fits and r.state != "sold"
            return
        assert fits or r.state == "sold"
        if r.state == "held":
            for v, q in r.lines.items():
                self.events[v].append(("change", f"sale:{rid}", -q, now))
            r.state = "sold"

    @precondition(lambda self: bool(self.reservations))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        rid = data.draw(st.sampled_from(sorted(self.reservations)))
        r = self.reservations[rid]
        now = self.clock.now_ms()
        self.run(self.m.stock.release("shop", rid))
        if r.state == "sold":
            for v, q in r.lines.items():
                self.events[v].append(("change", f"return:{rid}", q, now))
            r.state = "returned"
        elif r.state == "held":
            r.state = "released"

    @rule(seconds=st.integers(1, 600))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @invariant()
    def engine_agrees_with_the_ledger(self) -> None:
        levels = self.run(self.m.stock.levels("shop", list(VARIANTS)))
        for level in levels:
            v = level.variant_id
            assert level.on_hand == recompute_on_hand(self.events[v]), v
            assert level.reserved == self.held_now(v), v
            assert level.available == max(0, level.on_hand - level.reserved) >= 0
            ledger = self.run(self.m.stock.ledger("shop", v))
            assert sorted(e.event_id for e in ledger) == sorted(eid for _, eid, _, _ in self.events[v])


def test_stock_ledger_invariants(redis_server: EmbeddedRedis, redis_sync: redis.Redis) -> None:
    """Random POS events, reservations, sales, releases and time: on hand always equals a recomputation from the
    ledger, reserved the live holds, and no reservation ever took more than was available."""
    StockMachine.url = redis_server.url
    run_state_machine_as_test(
        StockMachine,
        settings=settings(
            max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
