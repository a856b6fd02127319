"""Local 15-minute slots: the slot of the week and the week, across time zones and DST changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from forecast.slots import SLOT_MS, SLOTS_PER_DAY, slot_at, slots_from

SHANGHAI = ZoneInfo("Asia/Shanghai")
HELSINKI = ZoneInfo("Europe/Helsinki")


def ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def test_a_slot_is_local_time_of_week() -> None:
    """Monday 12:07 in Shanghai is in slot 48 of the week, which starts at 12:00 local; the next week's
    Monday 12:07 has the same slot and the next week number."""
    t = dt.datetime(2026, 6, 8, 12, 7, tzinfo=SHANGHAI)  # a Monday
    s = slot_at(ms(t), SHANGHAI)
    assert s.of_week == 48 and s.start_ms == ms(t.replace(minute=0))
    later = slot_at(ms(t + dt.timedelta(days=7)), SHANGHAI)
    assert later.of_week == s.of_week and later.week == s.week + 1
    sunday = slot_at(ms(dt.datetime(2026, 6, 14, 23, 50, tzinfo=SHANGHAI)), SHANGHAI)
    assert sunday.of_week == 7 * SLOTS_PER_DAY - 1 and sunday.week == s.week


def test_slots_across_a_dst_change_are_fifteen_real_minutes() -> None:
    """On 2026-03-29 Helsinki skips 03:00-04:00: consecutive slots stay 15 minutes apart in real time, and the
    slot of the week jumps over the missing local hour."""
    before = dt.datetime(2026, 3, 29, 2, 45, tzinfo=HELSINKI)
    got = slots_from(ms(before), HELSINKI, 2)
    assert got[1].start_ms - got[0].start_ms == SLOT_MS
    assert got[1].of_week - got[0].of_week == 5  # 02:45 -> 04:00 local
