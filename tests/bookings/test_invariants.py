"""A hypothesis stateful test of bookings on a real Redis: holds, waiting lists, confirms, cancels, reschedules and
reads (which sweep) on three slots of a 2-place resource while time passes. Checked against the raw Redis state
after every step: no slot ever holds more than its capacity, a hold is refused exactly when expired holds aside
no place is left, the waiting list keeps its order, and a freed place goes to the first in line."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import redis
import redis.asyncio as aioredis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from bookings import Bookings, BookingState, Resource, ResourceKind
from bookings.keys import BookingKeys
from core.clock import ManualClock
from core.errors import FailedPrecondition
from core.schedule import WeeklyPeriod
from merchants import Merchant

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# Saturday 2026-03-07 08:00 in Shanghai; the slots are Monday's 09:00, 09:30 and 10:00.
START_MS = int(dt.datetime(2026, 3, 7, 8, tzinfo=SHANGHAI).timestamp() * 1000)
SLOTS = [int(dt.datetime(2026, 3, 9, 9, m, tzinfo=SHANGHAI).timestamp() * 1000) for m in (0, 30)] + [
    int(dt.datetime(2026, 3, 9, 10, tzinfo=SHANGHAI).timestamp() * 1000)
]
CAPACITY = 2


class BookingMachine(RuleBasedStateMachine):
    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis = aioredis.Redis.from_url(self.url, decode_responses=True)
        self.sync = redis.Redis.from_url(self.url, decode_responses=True)
        self.clock = ManualClock(START_MS)
        self.b = Bookings(self.redis, self.clock)
        self.keys = BookingKeys("clinic")
        self.n = 0
        self.ids: list[str] = []
        self.joined: dict[int, list[str]] = {s: [] for s in SLOTS}  # join order per slot
        self.run(self.redis.flushall())
        self.run(self.b.directory.upsert(Merchant("clinic", "clinic", "clinic", 31.2, 121.4, "Asia/Shanghai")))
        weekly = (WeeklyPeriod(1, 540, 630),)
        r = Resource("clinic", "dr", "Dr", ResourceKind.DOCTOR, "Asia/Shanghai", 30, CAPACITY, weekly, offer_minutes=5)
        self.run(self.b.upsert_resource(r, []))

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.redis.aclose())
        self.sync.close()
        self.loop.close()

    def free(self, start: int) -> int:
        now = self.clock.now_ms()
        taken = self.sync.zcount(self.keys.slot("dr", start), f"({now}", "+inf")
        return CAPACITY - taken - self.sync.llen(self.keys.waitlist("dr", start))

    @rule(slot=st.sampled_from(SLOTS), hold_s=st.sampled_from([30, 300, 900]))
    def hold(self, slot: int, hold_s: int) -> None:
        self.n += 1
        bid = f"b{self.n:03d}"
        free = self.free(slot)
        try:
            self.run(self.b.take("clinic", "dr", slot, bid, "u", hold_s, waitlist=False))
        except FailedPrecondition:
            assert free <= 0, "refused a hold with a free place"
            return
        assert free >= 1, "held a place that was not free"
        self.ids.append(bid)

    @rule(slot=st.sampled_from(SLOTS))
    def join_waitlist(self, slot: int) -> None:
        self.n += 1
        bid = f"w{self.n:03d}"
        free = self.free(slot)
        try:
            self.run(self.b.take("clinic", "dr", slot, bid, "u", 0, waitlist=True))
        except FailedPrecondition:
            assert free > 0
            return
        assert free <= 0
        self.ids.append(bid)
        self.joined[slot].append(bid)

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data(), action=st.sampled_from(["confirm", "cancel"]))
    def step(self, data: st.DataObject, action: str) -> None:
        bid = data.draw(st.sampled_from(self.ids))
        try:
            self.run(self.b.step("clinic", bid, action))
        except FailedPrecondition:
            pass  # expired, waiting, cancelled...: the invariants say whether the state is still right

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data(), slot=st.sampled_from(SLOTS))
    def reschedule(self, data: st.DataObject, slot: int) -> None:
        bid = data.draw(st.sampled_from(self.ids))
        before = self.run(self.b.get("clinic", bid))
        free = self.free(slot)
        try:
            after = self.run(self.b.reschedule("clinic", bid, "", slot))
        except FailedPrecondition:
            return
        if before.start_ms != slot:
            assert free >= 1, "moved into a slot with no free place"
        assert after.start_ms == slot

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        self.run(self.b.get("clinic", data.draw(st.sampled_from(self.ids))))

    @rule(seconds=st.integers(1, 400))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @invariant()
    def capacity_line_and_records_agree(self) -> None:
        now = self.clock.now_ms()
        raw = self.sync.hgetall(self.keys.bookings)
        for slot in SLOTS:
            live = self.sync.zrangebyscore(self.keys.slot("dr", slot), f"({now}", "+inf")
            assert len(live) <= CAPACITY, f"slot {slot} holds {len(live)}"
            # Places taken are exactly the bookings whose record says they hold one, there.
            holding = set()
            for bid, body in raw.items():
                d = json.loads(body)
                if d["s"] != slot:
                    continue
                if d["st"] == "confirmed" or (d["st"] in ("held", "offered") and d["x"] > now):
                    holding.add(bid)
            assert set(live) == holding
            # The line keeps its order: the waiting list is the join order, less those who left it.
            line = self.sync.lrange(self.keys.waitlist("dr", slot), 0, -1)
            assert line == [b for b in self.joined[slot] if b in line]
            # A freed place went to the first in line: everyone who left the line by an offer joined before
            # everyone still in it.
            promoted = [b for b in self.joined[slot] if b not in line and json.loads(raw[b])["st"] != "cancelled"]
            if line and promoted:
                assert max(self.joined[slot].index(b) for b in promoted) < min(self.joined[slot].index(b) for b in line)
        for body in raw.values():
            assert json.loads(body)["st"] in {s.value for s in BookingState}


def test_booking_invariants(redis_server, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """Random holds, waits, confirms, cancels, reschedules, reads and time on a 2-place resource: capacity never
    exceeded, refusals exactly when full, the waiting list in order and served first in line."""
    BookingMachine.url = redis_server.url
    run_state_machine_as_test(
        BookingMachine,
        settings=settings(
            max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
