"""BookingService through the real gRPC server and Redis: availability, holds and confirms, expiry, waiting
lists offered automatically, reschedules, no-shows, capacity under concurrency, bad input."""

from __future__ import annotations

import asyncio
import datetime as dt

import grpc
import pytest
import redis

from core.clock import ManualClock
from serving.app import App
from serving.auth import Role
from serving.timestamps import ms_to_ts
from tests.conftest import redis_snapshot
from tests.dispatch.api.helpers import bad_request_fields
from tests.merchants.helpers import Supply, create_merchant
from tongcheng.bookings.v1 import bookings_pb2 as pb
from tongcheng.merchants.v1 import merchants_pb2 as mpb

MONDAY = "2026-03-02"  # the day after the supply clock's start


def utc(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp() * 1000)


def booking_keys(client: redis.Redis) -> dict[str, object]:
    return {k: v for k, v in redis_snapshot(client).items() if ":bk:" in k}


async def refused(call, code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == code, err.value.details()
    return err.value


def resource(resource_id: str = "dr-li", capacity: int = 1, **kw: object) -> pb.Resource:
    """Weekdays 09:00-12:00 in 30-minute slots (zone: the clinic's, Asia/Shanghai, unless given)."""
    r = pb.Resource(
        merchant_id="clinic", resource_id=resource_id, name=str(kw.pop("name", "Dr Li, paediatrics")),
        kind=kw.pop("kind", pb.RESOURCE_KIND_DOCTOR), slot_minutes=int(kw.pop("slot_minutes", 30)),  # type: ignore[arg-type]
        capacity=capacity,
    )  # fmt: skip
    weekly = kw.pop("weekly_schedule", [pb.WeeklyPeriod(day=d, start_minute=540, end_minute=720) for d in range(1, 6)])
    r.weekly_schedule.extend(weekly)  # type: ignore[arg-type]
    for k, v in kw.items():
        if isinstance(v, list):
            getattr(r, k).extend(v)
        else:
            setattr(r, k, v)
    return r


async def clinic(s: Supply, *resources: pb.Resource) -> list[pb.Resource]:
    await create_merchant(s, "clinic", category=mpb.MERCHANT_CATEGORY_CLINIC)
    out = []
    for r in resources or (resource(),):
        out.append((await s.bookings.UpsertResource(pb.UpsertResourceRequest(resource=r), metadata=s.md)).resource)
    return out


async def hold(s: Supply, booking_id: str, start_ms: int, resource_id: str = "dr-li", **kw: object) -> pb.Booking:
    reply = await s.bookings.HoldSlot(
        pb.HoldSlotRequest(merchant_id="clinic", resource_id=resource_id, start_at=ms_to_ts(start_ms),
                           booking_id=booking_id, customer_id=str(kw.pop("customer_id", f"u-{booking_id}")), **kw),  # type: ignore[arg-type]
        metadata=s.md,
    )  # fmt: skip
    return reply.booking


async def wait(s: Supply, booking_id: str, start_ms: int, resource_id: str = "dr-li") -> pb.Booking:
    reply = await s.bookings.JoinWaitlist(
        pb.JoinWaitlistRequest(merchant_id="clinic", resource_id=resource_id, start_at=ms_to_ts(start_ms),
                               booking_id=booking_id, customer_id=f"u-{booking_id}"), metadata=s.md,
    )  # fmt: skip
    return reply.booking


async def get(s: Supply, booking_id: str) -> pb.Booking:
    return (
        await s.bookings.GetBooking(pb.GetBookingRequest(merchant_id="clinic", booking_id=booking_id), metadata=s.md)
    ).booking


async def confirm(s: Supply, booking_id: str) -> pb.Booking:
    return (
        await s.bookings.ConfirmBooking(
            pb.ConfirmBookingRequest(merchant_id="clinic", booking_id=booking_id), metadata=s.md
        )
    ).booking


async def cancel(s: Supply, booking_id: str) -> pb.Booking:
    return (
        await s.bookings.CancelBooking(
            pb.CancelBookingRequest(merchant_id="clinic", booking_id=booking_id), metadata=s.md
        )
    ).booking


async def slots(s: Supply, day: str = MONDAY, **kw: object) -> list[pb.Slot]:
    reply = await s.bookings.GetAvailability(
        pb.GetAvailabilityRequest(merchant_id="clinic", from_date=day, to_date=str(kw.pop("to_date", day)), **kw),  # type: ignore[arg-type]
        metadata=s.md,
    )
    return list(reply.slots)


NINE = utc("2026-03-02T01:00")  # Monday 09:00 in Shanghai
NINE_THIRTY = utc("2026-03-02T01:30")


async def test_availability_hold_confirm(supply) -> None:  # type: ignore[no-untyped-def]
    """Six slots on Monday morning in the clinic's zone; a hold takes the place, a confirm keeps it."""
    s: Supply = supply()
    [stored] = await clinic(s)
    assert stored.time_zone == "Asia/Shanghai" and stored.version == 1  # the merchant's zone
    day = await slots(s)
    assert [(x.local_start_minute, x.start_at.ToMilliseconds(), x.free) for x in day[:2]] == [
        (540, NINE, 1),
        (570, NINE_THIRTY, 1),
    ]
    assert len(day) == 6 and all(x.end_at.ToMilliseconds() - x.start_at.ToMilliseconds() == 1_800_000 for x in day)
    held = await hold(s, "b1", NINE)
    assert held.state == pb.BOOKING_STATE_HELD
    assert held.hold_expires_at.ToMilliseconds() - held.updated_at.ToMilliseconds() == 300_000  # 5 minutes
    assert (await slots(s))[0].free == 0
    assert len(await slots(s, only_free=True)) == 5
    assert (await hold(s, "b1", NINE)).state == pb.BOOKING_STATE_HELD  # a retry
    await refused(hold(s, "b2", NINE), grpc.StatusCode.FAILED_PRECONDITION)
    assert (await confirm(s, "b1")).state == pb.BOOKING_STATE_CONFIRMED
    assert (await confirm(s, "b1")).state == pb.BOOKING_STATE_CONFIRMED  # idempotent


async def test_an_expired_hold_frees_its_place_and_cannot_be_confirmed(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """After 5 minutes a hold stops counting; its confirm is FAILED_PRECONDITION and changes nothing."""
    clock: ManualClock = supply_app.clock  # type: ignore[assignment]
    s: Supply = supply()
    await clinic(s)
    await hold(s, "b1", NINE)
    clock.advance(301)
    assert (await slots(s))[0].free == 1
    err = await refused(confirm(s, "b1"), grpc.StatusCode.FAILED_PRECONDITION)
    assert "expired" in (err.details() or "")
    assert (await get(s, "b1")).state == pb.BOOKING_STATE_EXPIRED
    assert (await hold(s, "b2", NINE)).state == pb.BOOKING_STATE_HELD


async def test_a_cancel_offers_the_place_to_the_waiting_list_in_order(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """A full slot takes a waiting list; a cancel offers the place to the first in line for 10 minutes, then the next."""
    clock: ManualClock = supply_app.clock  # type: ignore[assignment]
    s: Supply = supply()
    await clinic(s)
    await hold(s, "b1", NINE)
    await confirm(s, "b1")
    await refused(wait(s, "w0", NINE_THIRTY), grpc.StatusCode.FAILED_PRECONDITION)  # a free slot: hold it
    first, second = await wait(s, "w1", NINE), await wait(s, "w2", NINE)
    assert (first.state, first.waitlist_position, second.waitlist_position) == (pb.BOOKING_STATE_WAITING, 1, 2)
    assert (await wait(s, "w1", NINE)).waitlist_position == 1  # a retry
    assert (await slots(s))[0].waiting == 2
    await cancel(s, "b1")
    offered = await get(s, "w1")
    assert offered.state == pb.BOOKING_STATE_OFFERED
    assert offered.hold_expires_at.ToMilliseconds() == clock.now_ms() + 600_000
    assert (await get(s, "w2")).waitlist_position == 1
    await refused(hold(s, "late", NINE), grpc.StatusCode.FAILED_PRECONDITION)  # the line comes first
    clock.advance(601)  # w1 lets the offer lapse: w2 is offered next, by the sweep of any touch of the slot
    assert (await get(s, "w2")).state == pb.BOOKING_STATE_OFFERED
    assert (await get(s, "w1")).state == pb.BOOKING_STATE_EXPIRED
    assert (await confirm(s, "w2")).state == pb.BOOKING_STATE_CONFIRMED
    assert (await slots(s))[0].free == 0


async def test_a_class_of_twenty_and_a_capacity_below_its_bookings(supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """A class takes 20; lowering its capacity under the 3 booked is INVALID_ARGUMENT and changes nothing."""
    s: Supply = supply()
    [yoga] = await clinic(s, resource("yoga", capacity=20, kind=pb.RESOURCE_KIND_CLASS, slot_minutes=60))
    for n in range(3):
        await hold(s, f"y{n}", NINE, "yoga")
    assert (await slots(s, resource_id="yoga"))[0].free == 17
    before = booking_keys(redis_sync)
    lower = resource("yoga", capacity=2, kind=pb.RESOURCE_KIND_CLASS, slot_minutes=60, version=yoga.version)
    err = await refused(s.bookings.UpsertResource(pb.UpsertResourceRequest(resource=lower), metadata=s.md))
    assert bad_request_fields(err) == ["resource.capacity"]
    assert booking_keys(redis_sync) == before
    ok = resource("yoga", capacity=3, kind=pb.RESOURCE_KIND_CLASS, slot_minutes=60, version=yoga.version)
    assert (await s.bookings.UpsertResource(pb.UpsertResourceRequest(resource=ok), metadata=s.md)).resource.version == 2
    await refused(
        s.bookings.UpsertResource(pb.UpsertResourceRequest(resource=ok), metadata=s.md),
        grpc.StatusCode.FAILED_PRECONDITION,
    )


async def test_reschedule_takes_the_new_place_before_freeing_the_old(supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """To a full slot: refused, nothing moves. To a free one: moved, and the old place goes to its waiting list."""
    s: Supply = supply()
    await clinic(s)
    await hold(s, "a", NINE)
    await confirm(s, "a")
    await hold(s, "b", NINE_THIRTY)
    await wait(s, "w", NINE)
    before = booking_keys(redis_sync)
    move = pb.RescheduleBookingRequest(merchant_id="clinic", booking_id="a", start_at=ms_to_ts(NINE_THIRTY))
    await refused(s.bookings.RescheduleBooking(move, metadata=s.md), grpc.StatusCode.FAILED_PRECONDITION)
    assert booking_keys(redis_sync) == before
    ten = utc("2026-03-02T02:00")
    moved = await s.bookings.RescheduleBooking(
        pb.RescheduleBookingRequest(merchant_id="clinic", booking_id="a", start_at=ms_to_ts(ten)), metadata=s.md
    )
    assert (moved.booking.start_at.ToMilliseconds(), moved.booking.state) == (ten, pb.BOOKING_STATE_CONFIRMED)
    assert (await get(s, "w")).state == pb.BOOKING_STATE_OFFERED
    assert [x.free for x in (await slots(s))[:5]] == [0, 0, 0, 1, 1]


async def test_no_show_only_after_the_slot_started(supply_app: App, supply) -> None:  # type: ignore[no-untyped-def]
    """A confirmed booking becomes a no-show once its slot has started, not before; a held one never."""
    clock: ManualClock = supply_app.clock  # type: ignore[assignment]
    s: Supply = supply()
    await clinic(s)
    await hold(s, "b1", NINE)
    await confirm(s, "b1")
    request = pb.MarkNoShowRequest(merchant_id="clinic", booking_id="b1")
    await refused(s.bookings.MarkNoShow(request, metadata=s.md), grpc.StatusCode.FAILED_PRECONDITION)
    clock.set(NINE + 60_000)
    assert (await s.bookings.MarkNoShow(request, metadata=s.md)).booking.state == pb.BOOKING_STATE_NO_SHOW


async def test_dst_slots_through_the_api(supply) -> None:  # type: ignore[no-untyped-def]
    """A Helsinki night service on 2026-03-29: no slot at 03:00 local; on 2026-10-25: two of them."""
    s: Supply = supply()
    night = resource("night", time_zone="Europe/Helsinki", slot_minutes=60,
                     weekly_schedule=[pb.WeeklyPeriod(day=pb.DAY_OF_WEEK_SUNDAY, start_minute=0, end_minute=360)])  # fmt: skip
    await clinic(s, night)
    spring = await slots(s, "2026-03-29", resource_id="night")
    assert [x.local_start_minute for x in spring] == [0, 60, 120, 240, 300]
    autumn = await slots(s, "2026-10-25", resource_id="night")
    assert [x.local_start_minute for x in autumn] == [0, 60, 120, 180, 180, 240, 300]
    both = [x.start_at.ToMilliseconds() for x in autumn if x.local_start_minute == 180]
    assert both == [utc("2026-10-25T00:00"), utc("2026-10-25T01:00")]
    for n, start in enumerate(both):  # each of the two 03:00s is its own slot
        assert (await hold(s, f"n{n}", start, "night")).start_at.ToMilliseconds() == start


async def test_a_hundred_concurrent_holds_of_one_place_give_exactly_one(supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """100 clients hold the same 1-place slot at once through the real server: exactly one succeeds."""
    s: Supply = supply()
    await clinic(s)

    async def try_hold(n: int) -> bool:
        try:
            await hold(s, f"c{n}", NINE)
            return True
        except grpc.aio.AioRpcError as err:
            assert err.code() == grpc.StatusCode.FAILED_PRECONDITION, err.details()
            return False

    results = await asyncio.gather(*(try_hold(n) for n in range(100)))
    assert sum(results) == 1
    assert redis_sync.zcard(f"tc:{{m:clinic}}:bk:slot:dr-li:{NINE}") == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "resource.time_zone"),
        ({"weekly_schedule": [pb.WeeklyPeriod(day=1, start_minute=600, end_minute=600)]}, "resource.weekly_schedule[0].end_minute"),
        ({"weekly_schedule": [pb.WeeklyPeriod(day=1, start_minute=540, end_minute=720),
                              pb.WeeklyPeriod(day=1, start_minute=700, end_minute=800)]}, "resource.weekly_schedule[1]"),
        ({"weekly_schedule": []}, "resource.weekly_schedule"),
        ({"capacity": 0}, "resource.capacity"),
        ({"slot_minutes": 1}, "resource.slot_minutes"),
        ({"kind": pb.RESOURCE_KIND_UNSPECIFIED}, "resource.kind"),
        ({"exceptions": [pb.DateException(date="2026-13-01")]}, "resource.exceptions[0].date"),
        ({"merchant_id": "nobody"}, "resource.merchant_id"),
    ],
)  # fmt: skip
async def test_bad_resources_are_refused(supply, redis_sync: redis.Redis, change, field) -> None:  # type: ignore[no-untyped-def]
    """Schedules that overlap or end before they start, a zone that is not IANA...: INVALID_ARGUMENT naming it."""
    s: Supply = supply()
    await create_merchant(s, "clinic", category=mpb.MERCHANT_CATEGORY_CLINIC)
    bad = resource(**{k: v for k, v in change.items() if k != "weekly_schedule"})
    if "weekly_schedule" in change:
        del bad.weekly_schedule[:]
        bad.weekly_schedule.extend(change["weekly_schedule"])
    err = await refused(s.bookings.UpsertResource(pb.UpsertResourceRequest(resource=bad), metadata=s.md))
    assert field in bad_request_fields(err)
    assert booking_keys(redis_sync) == {}


async def test_bad_holds_are_refused_and_change_nothing(supply, redis_sync: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    """A slot in the past, an instant that starts no slot, an unknown resource, a hold too long: the field named."""
    s: Supply = supply()
    await clinic(s)
    before = booking_keys(redis_sync)
    cases = [
        (hold(s, "x", utc("2026-02-27T01:00")), "start_at"),  # the Friday before the clock's start
        (hold(s, "x", NINE + 60_000), "start_at"),
        (hold(s, "x", NINE, "dr-nobody"), "resource_id"),
        (hold(s, "x", NINE, hold_s=86_400), "hold_s"),
        (hold(s, "x y", NINE), "booking_id"),
        (hold(s, "x", NINE, customer_id=""), "customer_id"),
        (slots(s, "2026-03-02", to_date="2026-06-30"), "to_date"),
        (slots(s, "2026-03-02", to_date="2026-03-01"), "to_date"),
        (slots(s, "02/03/2026"), "from_date"),
    ]
    for call, field in cases:
        err = await refused(call)
        assert field in bad_request_fields(err), (field, err.details())
    assert booking_keys(redis_sync) == before
    await refused(confirm(s, "nobody"), grpc.StatusCode.NOT_FOUND)


async def test_a_merchant_books_only_its_own_resources(supply) -> None:  # type: ignore[no-untyped-def]
    """The clinic's token manages its resources; another merchant's token is refused."""
    await clinic(supply())
    mine: Supply = supply(Role.MERCHANT, "clinic")
    assert (await hold(mine, "b1", NINE)).state == pb.BOOKING_STATE_HELD
    await refused(hold(supply(Role.MERCHANT, "gym"), "b2", NINE_THIRTY), grpc.StatusCode.PERMISSION_DENIED)


async def test_looking_at_availability_offers_an_expired_hold_to_the_line(
    supply_app: App, supply, redis_sync: redis.Redis
) -> None:  # type: ignore[no-untyped-def]
    """A hold lapses while someone waits: the next GetAvailability offers the place to the first in line."""
    clock: ManualClock = supply_app.clock  # type: ignore[assignment]
    s: Supply = supply()
    await clinic(s)
    await hold(s, "b1", NINE)
    await wait(s, "w1", NINE)
    clock.advance(301)
    first = (await slots(s))[0]
    assert (first.free, first.waiting) == (0, 0)
    raw = redis_sync.hget("tc:{m:clinic}:bk:bookings", "w1")
    assert raw is not None and '"st":"offered"' in raw
