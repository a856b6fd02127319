"""Business days: settlement runs by calendar day in China Standard Time (UTC+8, no daylight saving)."""

from __future__ import annotations

import datetime as dt
import re

from core.errors import InvalidArgument
from core.validation import day_violation, quote

CST_OFFSET_MS = 8 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000
_EPOCH = dt.date(1970, 1, 1)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
# Business days a request may name: settlement began after 2000, and a day past 2099 is a typo (checking it
# here also keeps day arithmetic, such as the day after, inside the calendar).
LATEST_DAY = dt.date(2099, 12, 31)


def day_number(ms: int) -> int:
    """Days since 1970-01-01 (CST) of an instant."""
    return (ms + CST_OFFSET_MS) // DAY_MS


def day_name(number: int) -> str:
    return (_EPOCH + dt.timedelta(days=number)).isoformat()


def business_day(ms: int) -> tuple[str, int]:
    n = day_number(ms)
    return day_name(n), n


def parse_day(field: str, text: str) -> int:
    """The day number of a YYYY-MM-DD string; InvalidArgument naming `field` otherwise."""
    if not _DAY.fullmatch(text):
        raise InvalidArgument.field(field, f"must be a date YYYY-MM-DD, got {quote(text)}")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument.field(field, f"{text} is not a calendar date") from None
    if bad := day_violation(field, day, LATEST_DAY):
        raise InvalidArgument(bad)
    return (day - _EPOCH).days
