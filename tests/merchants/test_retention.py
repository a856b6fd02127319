"""Retention of the supply side through the real server: ledger events before a variant's last count and older
than the retention folded away with on hand unchanged; bookings long past their slot trimmed with the slot's
keys, recent ones kept."""

from __future__ import annotations

import grpc
import redis

from bookings.keys import BookingKeys
from serving.app import App
from tests.bookings.test_api import clinic, hold, refused, utc
from tests.merchants.helpers import Supply, adjust, count, create_merchant, item, record, sync
from tongcheng.bookings.v1 import bookings_pb2 as bpb
from tongcheng.merchants.v1 import merchants_pb2 as pb

DAY_MS = 86_400_000


async def _stock(s: Supply) -> pb.GetStockResponse:
    request = pb.GetStockRequest(merchant_id="shop", variant_ids=["milk-v0"], include_ledger=True)
    return await s.merchants.GetStock(request, metadata=s.md)


async def test_the_ledger_before_the_last_count_is_folded_and_on_hand_stays(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """Count 50 (40 days ago), -3, count 20 (35 days ago), -2, +5 (yesterday): the 30-day retention folds the first
    two (before the count that made them moot), keeps the count and all after it; on hand stays 23; a POS resending
    a folded event changes nothing on hand."""
    s: Supply = supply()
    await create_merchant(s, "shop")
    await sync(s, "shop", "menu", item("milk", 650))
    now = supply_app.clock.now_ms()
    early = adjust("a0", "milk-v0", -3, now - 39 * DAY_MS)
    await record(s, "shop", count("c0", "milk-v0", 50, now - 40 * DAY_MS), early)
    await record(
        s, "shop", count("c1", "milk-v0", 20, now - 35 * DAY_MS), adjust("a1", "milk-v0", -2, now - 34 * DAY_MS)
    )
    await record(s, "shop", adjust("a2", "milk-v0", 5, now - DAY_MS))
    before = await _stock(s)
    assert before.levels[0].on_hand == 23 and len(before.ledger) == 5
    assert supply_app.retention is not None
    assert await supply_app.retention.run_once() == (2, 0)
    after = await _stock(s)
    assert after.levels[0] == before.levels[0]
    assert [e.event_id for e in after.ledger] == ["c1", "a1", "a2"]
    assert await supply_app.retention.run_once() == (0, 0)  # idempotent
    await record(s, "shop", early)  # resent after it was folded: recorded again, before the count
    assert (await _stock(s)).levels[0].on_hand == 23


async def test_bookings_long_past_are_trimmed_with_their_slots(  # type: ignore[no-untyped-def]
    supply_app: App, supply, redis_sync: redis.Redis
) -> None:
    """A booking 90 days past its slot is trimmed (GetBooking: NOT_FOUND) with its slot's keys; one of 89 days ago
    and a future one stay."""
    s: Supply = supply()
    await clinic(s)
    nine = utc("2026-03-02T01:00:00")  # Monday 09:00 Shanghai
    await hold(s, "old", nine)
    await hold(s, "later", nine + 7 * DAY_MS)  # the next Monday
    for booking_id in ("old", "later"):
        await s.bookings.ConfirmBooking(
            bpb.ConfirmBookingRequest(merchant_id="clinic", booking_id=booking_id), metadata=s.md
        )
    supply_app.clock.advance((nine + 30 * 60_000 + 90 * DAY_MS - supply_app.clock.now_ms()) // 1000 + 1)
    assert supply_app.retention is not None
    assert await supply_app.retention.run_once() == (0, 1)
    await refused(
        s.bookings.GetBooking(bpb.GetBookingRequest(merchant_id="clinic", booking_id="old"), metadata=s.md),
        grpc.StatusCode.NOT_FOUND,
    )
    k = BookingKeys("clinic")
    assert not redis_sync.exists(k.slot("dr-li", nine)) and redis_sync.zscore(k.index("dr-li"), nine) is None
    kept = await s.bookings.GetBooking(bpb.GetBookingRequest(merchant_id="clinic", booking_id="later"), metadata=s.md)
    assert kept.booking.state == bpb.BOOKING_STATE_CONFIRMED
    assert redis_sync.exists(k.slot("dr-li", nine + 7 * DAY_MS))
