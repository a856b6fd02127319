"""Local calendars of the places a rule applies in: IANA zones (from the pinned tzdata, `core.zones`), local days and months.

Loyalty counts sign-ins per local day and ends points' validity at the end of a local month; coupons are
valid on local weekdays and hours. Each takes its zone from its programme or campaign, Asia/Shanghai by
default, and every instant is epoch milliseconds.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from core.errors import FieldViolation
from core.validation import quote
from core.zones import is_zone, load_zone

DEFAULT_ZONE = "Asia/Shanghai"
_EPOCH = dt.date(1970, 1, 1)


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone's rules from the pinned tzdata package (`core.zones`), as merchants' hours and bookings use."""
    return load_zone(name)


def zone_violation(field: str, name: str) -> FieldViolation | None:
    """A known IANA zone name, or none (the default zone)."""
    if not name:
        return None
    if not is_zone(name):
        return FieldViolation(field, f"unknown time zone {quote(name)}: an IANA zone such as Asia/Shanghai")
    return None


def local_datetime(ms: int, zone_name: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, zone(zone_name or DEFAULT_ZONE))


def local_day(ms: int, zone_name: str) -> tuple[str, int]:
    """The local calendar day of an instant: its name (YYYY-MM-DD) and its number (days since 1970-01-01)."""
    day = local_datetime(ms, zone_name).date()
    return day.isoformat(), (day - _EPOCH).days


def end_of_month_after(ms: int, zone_name: str, months: int) -> int:
    """The end of the local month `months` after the instant's month: the first local midnight of the month
    after that (earned in March with 12 months: valid until the end of March next year)."""
    local = local_datetime(ms, zone_name)
    index = local.year * 12 + (local.month - 1) + months + 1
    start = dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=zone(zone_name or DEFAULT_ZONE))
    return int(start.timestamp() * 1000)


def weekday_and_minute(ms: int, zone_name: str) -> tuple[int, int]:
    """The local weekday (0 Monday .. 6 Sunday) and minute of the day of an instant."""
    local = local_datetime(ms, zone_name)
    return local.weekday(), local.hour * 60 + local.minute
