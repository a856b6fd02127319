"""Weekly hours with dated exceptions in an IANA zone: a merchant's opening hours, a resource's schedule.

Periods are local wall-clock minutes of a date, [start_minute, end_minute), end at most 1440 (an
overnight period is two periods). A date's exception replaces its weekday's periods. Local times map to
instants through the zone's rules (`core.zones`): on the night clocks go forward a wall time in the gap
names no instant; on the night they go back a wall time in the overlap names two. `local_instants` says
which, so slot generation and opening checks are exact across DST.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import FieldViolation
from core.validation import count_violation, local_date_violation
from core.zones import load_zone, zone_violation

MINUTES_PER_DAY = 1440
MAX_EXCEPTIONS = 100
MAX_PERIODS_PER_DAY = 4
_UTC = dt.UTC


@dataclass(frozen=True)
class Period:
    """Local minutes [start_minute, end_minute) of one date."""

    start_minute: int
    end_minute: int

    def contains(self, minute: int) -> bool:
        return self.start_minute <= minute < self.end_minute


@dataclass(frozen=True)
class WeeklyPeriod:
    """A period of every `day` (ISO weekday: 1 Monday .. 7 Sunday)."""

    day: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class DateException:
    """The periods of one local date, replacing its weekday's (none: closed that day)."""

    date: dt.date
    periods: tuple[Period, ...]


@dataclass(frozen=True)
class Schedule:
    """Weekly periods and exceptions in `time_zone`. With `open_when_empty`, no weekly periods at all
    means every day whole (a merchant open around the clock); otherwise it means never (a resource)."""

    time_zone: str
    weekly: tuple[WeeklyPeriod, ...] = ()
    exceptions: tuple[DateException, ...] = ()
    open_when_empty: bool = False

    def periods_on(self, day: dt.date) -> list[Period]:
        for ex in self.exceptions:
            if ex.date == day:
                return sorted(ex.periods, key=lambda p: p.start_minute)
        if not self.weekly:
            return [Period(0, MINUTES_PER_DAY)] if self.open_when_empty else []
        weekday = day.isoweekday()
        return sorted(
            (Period(w.start_minute, w.end_minute) for w in self.weekly if w.day == weekday),
            key=lambda p: p.start_minute,
        )

    def local_instants(self, day: dt.date, minute: int) -> list[int]:
        """The instants (epoch ms) of a local wall time: none in a DST gap, two in a DST overlap."""
        return local_instants(self.time_zone, day, minute)

    def is_open_at(self, ms: int) -> bool:
        """Whether the instant falls within a period of its local date."""
        local = dt.datetime.fromtimestamp(ms / 1000, load_zone(self.time_zone))
        minute = local.hour * 60 + local.minute
        return any(p.contains(minute) for p in self.periods_on(local.date()))

    def local_date(self, ms: int) -> dt.date:
        return dt.datetime.fromtimestamp(ms / 1000, load_zone(self.time_zone)).date()


_EPOCH = dt.date(1970, 1, 1)


@functools.lru_cache(maxsize=8192)
def _uniform_offset_ms(time_zone: str, day: dt.date) -> int | None:
    """The zone's UTC offset (ms) if it is the same all through the local date (and at the next midnight),
    else None. Probed every 6 hours: a date whose clocks change shows two offsets; two changes cancelling
    out within 6 hours are in no zone's rules. Profiled: the per-slot path was 15 ms of a 30-day availability."""
    zone = load_zone(time_zone)
    start = dt.datetime(day.year, day.month, day.day, tzinfo=zone)
    offsets = set()
    for hours in (0, 6, 12, 18, 24):
        wall = start + dt.timedelta(hours=hours)  # wall-clock arithmetic: the same offset rules per probe
        for fold in (0, 1):
            offset = wall.replace(fold=fold).utcoffset()
            assert offset is not None
            offsets.add(offset)
    if len(offsets) != 1:
        return None
    return int(offsets.pop().total_seconds() * 1000)


def local_instants(time_zone: str, day: dt.date, minute: int) -> list[int]:
    offset_ms = _uniform_offset_ms(time_zone, day)
    if offset_ms is not None:
        return [(day - _EPOCH).days * 86_400_000 + minute * 60_000 - offset_ms]
    zone = load_zone(time_zone)
    hour, minute_of_hour = divmod(minute, 60)
    if hour == 24:  # the end of the day: midnight of the next date
        day, hour = day + dt.timedelta(days=1), 0
    out = []
    for fold in (0, 1):
        wall = dt.datetime(day.year, day.month, day.day, hour, minute_of_hour, fold=fold, tzinfo=zone)
        utc = wall.astimezone(_UTC)
        # A wall time that does not round-trip lies in a gap; both folds then name the same non-time.
        back = utc.astimezone(zone)
        if back.replace(tzinfo=None) != wall.replace(tzinfo=None):
            continue
        ms = int(utc.timestamp()) * 1000
        if ms not in out:
            out.append(ms)
    return sorted(out)


# Checks --------------------------------------------------------------------------------------


def _period_violations(field: str, start: int, end: int) -> list[FieldViolation]:
    out = []
    if not 0 <= start < MINUTES_PER_DAY:
        out.append(FieldViolation(f"{field}.start_minute", f"must be within [0, {MINUTES_PER_DAY - 1}]"))
    if not 0 < end <= MINUTES_PER_DAY:
        out.append(FieldViolation(f"{field}.end_minute", f"must be within [1, {MINUTES_PER_DAY}]"))
    elif not out and end <= start:
        out.append(FieldViolation(f"{field}.end_minute", "must be after start_minute"))
    return out


def _overlap_violations(field: str, indexed: Sequence[tuple[int, int, int]]) -> list[FieldViolation]:
    """(index, start, end) of one day's periods: each period that overlaps an earlier-starting one."""
    out = []
    reach_index, reach_end = -1, -1  # the period reaching furthest so far
    for i, start, end in sorted(indexed, key=lambda t: (t[1], t[0])):
        if start < reach_end:
            out.append(FieldViolation(f"{field}[{i}]", f"overlaps {field}[{reach_index}]"))
        if end > reach_end:
            reach_index, reach_end = i, end
    return out


def schedule_violations(
    zone_field: str,
    time_zone: str,
    weekly_field: str,
    weekly: Sequence[WeeklyPeriod],
    exceptions_field: str,
    exceptions: Sequence[tuple[str, Sequence[Period]]],
    min_weekly: int = 0,
) -> tuple[list[FieldViolation], tuple[DateException, ...]]:
    """Every bad field of a zone, weekly periods and exceptions (as sent: date text and periods), and
    the exceptions parsed when they are good."""
    out: list[FieldViolation] = []
    if v := zone_violation(zone_field, time_zone):
        out.append(v)
    if v := count_violation(weekly_field, weekly, 7 * MAX_PERIODS_PER_DAY, min_weekly):
        out.append(v)
    else:
        by_day: dict[int, list[tuple[int, int, int]]] = {}
        for i, w in enumerate(weekly):
            f = f"{weekly_field}[{i}]"
            if not 1 <= w.day <= 7:
                out.append(FieldViolation(f"{f}.day", "required (Monday..Sunday)"))
                continue
            bad = _period_violations(f, w.start_minute, w.end_minute)
            out += bad
            if not bad:
                by_day.setdefault(w.day, []).append((i, w.start_minute, w.end_minute))
        for periods in by_day.values():
            out += _overlap_violations(weekly_field, periods)
    parsed: list[DateException] = []
    if v := count_violation(exceptions_field, exceptions, MAX_EXCEPTIONS):
        out.append(v)
        return out, ()
    seen: dict[str, int] = {}
    for i, (text, periods) in enumerate(exceptions):
        f = f"{exceptions_field}[{i}]"
        if v := local_date_violation(f"{f}.date", text):
            out.append(v)
        elif text in seen:
            out.append(FieldViolation(f"{f}.date", f"repeats {exceptions_field}[{seen[text]}].date"))
        else:
            seen[text] = i
        if v := count_violation(f"{f}.periods", periods, MAX_PERIODS_PER_DAY):
            out.append(v)
            continue
        good: list[tuple[int, int, int]] = []
        for j, p in enumerate(periods):
            bad = _period_violations(f"{f}.periods[{j}]", p.start_minute, p.end_minute)
            out += bad
            if not bad:
                good.append((j, p.start_minute, p.end_minute))
        out += _overlap_violations(f"{f}.periods", good)
        if not out:
            parsed.append(DateException(dt.date.fromisoformat(text), tuple(periods)))
    return out, tuple(parsed) if not out else ()
