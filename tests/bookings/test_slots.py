"""Slot generation across DST: exact instants at the changes of Europe/Helsinki and America/New_York, and in
Asia/Shanghai (no DST), from the pinned tzdata."""

from __future__ import annotations

import datetime as dt

import pytest

from bookings import Resource, ResourceKind, slot_at, slots_between
from core.schedule import DateException, Period, WeeklyPeriod


def resource(zone: str, day: int, start_minute: int, end_minute: int, slot_minutes: int = 60, **kw: object) -> Resource:
    return Resource(
        merchant_id="clinic", resource_id="dr-li", name="Dr Li", kind=ResourceKind.DOCTOR, time_zone=zone,
        slot_minutes=slot_minutes, capacity=1, weekly=(WeeklyPeriod(day, start_minute, end_minute),), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def utc(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp() * 1000)


def starts(r: Resource, day: dt.date) -> list[tuple[int, int]]:
    """(local start minute, UTC ms) of each slot of the day."""
    return [(s.local_start_minute, s.start_ms) for s in slots_between(r, day, day)]


def test_helsinki_spring_forward_has_no_slot_in_the_gap() -> None:
    """2026-03-29 (a Sunday): 03:00 jumps to 04:00 (01:00 UTC), so the 03:00 slot does not exist; the others are exact."""
    r = resource("Europe/Helsinki", 7, 0, 360)
    assert starts(r, dt.date(2026, 3, 29)) == [
        (0, utc("2026-03-28T22:00")), (60, utc("2026-03-28T23:00")), (120, utc("2026-03-29T00:00")),
        (240, utc("2026-03-29T01:00")), (300, utc("2026-03-29T02:00")),
    ]  # fmt: skip


def test_helsinki_fall_back_has_two_slots_at_three() -> None:
    """2026-10-25: 04:00 EEST goes back to 03:00 EET at 01:00 UTC, so 03:00 local happens twice: two slots, an hour apart."""
    r = resource("Europe/Helsinki", 7, 0, 360)
    assert starts(r, dt.date(2026, 10, 25)) == [
        (0, utc("2026-10-24T21:00")), (60, utc("2026-10-24T22:00")), (120, utc("2026-10-24T23:00")),
        (180, utc("2026-10-25T00:00")), (180, utc("2026-10-25T01:00")), (240, utc("2026-10-25T02:00")),
        (300, utc("2026-10-25T03:00")),
    ]  # fmt: skip
    # Each lasts its 60 minutes of real time.
    assert all(
        s.end_ms - s.start_ms == 3_600_000 for s in slots_between(r, dt.date(2026, 10, 25), dt.date(2026, 10, 25))
    )


def test_a_morning_clinic_keeps_its_local_time_across_the_change() -> None:
    """09:00 in Helsinki is 07:00 UTC the Saturday before the change and 06:00 UTC the Monday after."""
    weekly = (WeeklyPeriod(6, 540, 600), WeeklyPeriod(1, 540, 600))
    r = Resource("clinic", "dr-li", "Dr Li", ResourceKind.DOCTOR, "Europe/Helsinki", 30, 1, weekly)
    got = [(s.local_date.isoformat(), s.start_ms) for s in slots_between(r, dt.date(2026, 3, 28), dt.date(2026, 3, 30))]
    assert got == [
        ("2026-03-28", utc("2026-03-28T07:00")), ("2026-03-28", utc("2026-03-28T07:30")),
        ("2026-03-30", utc("2026-03-30T06:00")), ("2026-03-30", utc("2026-03-30T06:30")),
    ]  # fmt: skip


def test_new_york_spring_forward_skips_half_hour_slots_in_the_gap() -> None:
    """2026-03-08: 02:00 EST jumps to 03:00 EDT; 30-min slots from 01:00 to 04:00 lose 02:00 and 02:30."""
    r = resource("America/New_York", 7, 60, 240, slot_minutes=30)
    assert starts(r, dt.date(2026, 3, 8)) == [
        (60, utc("2026-03-08T06:00")), (90, utc("2026-03-08T06:30")),
        (180, utc("2026-03-08T07:00")), (210, utc("2026-03-08T07:30")),
    ]  # fmt: skip


def test_shanghai_has_no_dst_and_takes_exceptions() -> None:
    """Shanghai is UTC+8 all year, at the dates Helsinki changes; an exception replaces the weekday's hours."""
    r = resource("Asia/Shanghai", 7, 540, 660)
    for day in (dt.date(2026, 3, 29), dt.date(2026, 10, 25)):
        assert [m for m, _ in starts(r, day)] == [540, 600]
        assert starts(r, day)[0][1] == utc(f"{(day - dt.timedelta(days=0)).isoformat()}T01:00")
    closed = Resource(**{**r.__dict__, "exceptions": (DateException(dt.date(2026, 3, 29), ()),)})
    extra = Resource(**{**r.__dict__, "exceptions": (DateException(dt.date(2026, 3, 29), (Period(1200, 1260),)),)})
    assert starts(closed, dt.date(2026, 3, 29)) == []
    assert starts(extra, dt.date(2026, 3, 29)) == [(1200, utc("2026-03-29T12:00"))]


@pytest.mark.parametrize(
    ("zone", "start", "found"),
    [
        ("Europe/Helsinki", "2026-10-25T00:00", True),
        ("Europe/Helsinki", "2026-10-25T01:00", True),
        ("Europe/Helsinki", "2026-03-29T01:00", True),
        ("Europe/Helsinki", "2026-03-29T00:30", False),
        ("Asia/Shanghai", "2026-03-28T17:00", True),  # 01:00 on Sunday the 29th in Shanghai
    ],
)
def test_slot_at_finds_exactly_the_generated_starts(zone: str, start: str, found: bool) -> None:
    """A hold names a slot by its instant: both 03:00s of the night clocks go back are slots; a half hour is not."""
    r = resource(zone, 7, 0, 360)
    assert (slot_at(r, utc(start)) is not None) is found
