"""15-minute slots of local time: which slot of the week an instant falls in, and which week."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

SLOT_MS = 900_000
SLOTS_PER_DAY = 96
SLOTS_PER_WEEK = 7 * SLOTS_PER_DAY
_DAY_MS = 86_400_000
# 1970-01-01 was a Thursday: days since the epoch + 3 count from a Monday.
_EPOCH_WEEKDAY = 3


@dataclass(frozen=True)
class Slot:
    """A 15-minute slot of local time: its first instant (UTC ms), its local week (weeks since the Monday
    before 1970-01-01) and its place in that week (0 = Monday 00:00-00:15 .. 671 = Sunday 23:45-24:00)."""

    start_ms: int
    week: int
    of_week: int

    @property
    def end_ms(self) -> int:
        return self.start_ms + SLOT_MS


def slot_at(ms: int, tz: ZoneInfo) -> Slot:
    """The local slot holding the instant `ms` (zones whose offsets are whole quarters of an hour, as all
    IANA zones in use are)."""
    offset_ms = int(dt.datetime.fromtimestamp(ms / 1000, tz).utcoffset().total_seconds() * 1000)  # type: ignore[union-attr]
    local_ms = ms + offset_ms
    days, in_day_ms = divmod(local_ms, _DAY_MS)
    week, weekday = divmod(days + _EPOCH_WEEKDAY, 7)
    in_day_slot = in_day_ms // SLOT_MS
    return Slot(ms - in_day_ms % SLOT_MS, week, weekday * SLOTS_PER_DAY + in_day_slot)


def slots_from(ms: int, tz: ZoneInfo, count: int) -> list[Slot]:
    """`count` consecutive slots, the first holding `ms` (across DST changes: each is 15 real minutes)."""
    first = slot_at(ms, tz)
    return [first, *(slot_at(first.start_ms + k * SLOT_MS, tz) for k in range(1, count))]
