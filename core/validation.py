"""The one validation layer of every service: ids, stream ids, timestamps, free text, lists.

Each check returns a `FieldViolation` naming the field (or None), so a caller collects every bad field
of a request before it raises `InvalidArgument`, and writes nothing before that. Messages never echo
more than a short prefix of what the caller sent (`quote`): a status message travels in gRPC metadata,
which clients cap at a few kilobytes, so echoing a 1 MB value turns a clear INVALID_ARGUMENT into the
client's own RESOURCE_EXHAUSTED.

Every pattern is matched whole (`fullmatch`) with ASCII classes only: `$` accepts a trailing newline and
`\\d` accepts every script's digits, and both once let such ids into Redis keys.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Hashable, Iterable, Sequence

from core.errors import FieldViolation

# Ids become parts of Redis keys and log lines: short, and free of separators' surprises.
ID_CHARS = "letters, digits and . _ : -"
ID_MAX_CHARS = 128
_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}", re.ASCII)
# A Redis stream entry id: two unsigned 64-bit numbers (what XRANGE and XREAD accept).
_STREAM_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})", re.ASCII)
_U64_MAX = 2**64 - 1

# The instants a request may name. Nothing Tongcheng stores happened before 2000; each field's upper
# bound is set where it is checked (a promise within PROMISE_HORIZON_MS of placement, a rule's start
# within RULE_HORIZON_MS of now), always inside what google.protobuf.Timestamp can carry (year 9999).
EARLIEST_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
TIMESTAMP_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the end of Timestamp's range
PROMISE_HORIZON_MS = 30 * 24 * 3600 * 1000
RULE_HORIZON_MS = 366 * 24 * 3600 * 1000
EARLIEST_DAY = dt.date(2000, 1, 1)

# How much of a caller's value a message may quote.
QUOTE_CHARS = 40


def quote(value: object, max_chars: int = QUOTE_CHARS) -> str:
    """A printable, bounded rendering of a caller's value for a message: repr of its first characters."""
    text = value if isinstance(value, str) else str(value)
    shown = repr(text[:max_chars])
    if len(shown) > 3 * max_chars:  # escapes of control and unprintable characters run to 10 characters each
        shown = shown[: 3 * max_chars] + "…"
    return shown if len(text) <= max_chars else f"{shown}… ({len(text)} characters)"


def is_id(value: str) -> bool:
    return _ID.fullmatch(value) is not None


def id_violation(field: str, value: str, required: bool = True) -> FieldViolation | None:
    if not value:
        return FieldViolation(field, "required") if required else None
    if _ID.fullmatch(value) is None:
        return FieldViolation(field, f"must be 1-{ID_MAX_CHARS} characters of {ID_CHARS}, got {quote(value)}")
    return None


def ids_violations(**fields: str) -> list[FieldViolation]:
    """Every bad one of several required ids, named by their keyword."""
    return [v for name, value in fields.items() if (v := id_violation(name, value))]


def stream_id_violation(field: str, value: str, what: str = "an event id") -> FieldViolation | None:
    """An optional resume point: empty, or a Redis stream id `ms-seq` of two unsigned 64-bit numbers."""
    if not value:
        return None
    m = _STREAM_ID.fullmatch(value)
    if m is None or int(m.group(1)) > _U64_MAX or int(m.group(2)) > _U64_MAX:
        return FieldViolation(field, f"must be {what} from a previous reply (digits-digits), got {quote(value)}")
    return None


def timestamp_ms_violation(field: str, seconds: int, nanos: int) -> FieldViolation | None:
    """A google.protobuf.Timestamp's own rules: nanos in [0, 1e9), seconds within years 1-9999."""
    if not 0 <= nanos < 1_000_000_000:
        return FieldViolation(f"{field}.nanos", "must be within [0, 999999999]")
    if not -62_135_596_800 <= seconds <= TIMESTAMP_MAX_SECONDS:
        return FieldViolation(field, "is outside the range of a Timestamp (years 1-9999)")
    return None


def instant_violation(
    field: str, ms: int, earliest_ms: int = EARLIEST_MS, latest_ms: int | None = None, latest_what: str = ""
) -> FieldViolation | None:
    """An instant (epoch ms) within [earliest_ms, latest_ms]; `latest_what` says what the bound is."""
    if ms < earliest_ms:
        floor = "2000-01-01" if earliest_ms == EARLIEST_MS else "its earliest allowed time"
        return FieldViolation(field, f"must not be before {floor}")
    if latest_ms is not None and ms > latest_ms:
        return FieldViolation(field, f"must not be after {latest_what or 'its latest allowed time'}")
    return None


def day_violation(field: str, day: dt.date, latest: dt.date) -> FieldViolation | None:
    """A calendar day within [2000-01-01, latest]."""
    if not EARLIEST_DAY <= day <= latest:
        return FieldViolation(field, f"must be within {EARLIEST_DAY.isoformat()}..{latest.isoformat()}")
    return None


def text_violation(field: str, value: str, max_chars: int) -> FieldViolation | None:
    """Free text (a reason, a note): at most `max_chars` characters, no control characters but newline and tab."""
    if len(value) > max_chars:
        return FieldViolation(field, f"at most {max_chars} characters, got {len(value)}")
    if any((c < " " and c not in "\n\t") or c == "\x7f" for c in value):
        return FieldViolation(field, "must not contain control characters")
    return None


def count_violation(field: str, items: Sequence[object], max_items: int, min_items: int = 0) -> FieldViolation | None:
    """A repeated field's length within [min_items, max_items]."""
    n = len(items)
    if n < min_items:
        return FieldViolation(field, "required" if min_items == 1 else f"at least {min_items} entries")
    if n > max_items:
        return FieldViolation(field, f"at most {max_items} entries, got {n}")
    return None


def duplicate_violations(field: str, keys: Iterable[Hashable], what: str = "") -> list[FieldViolation]:
    """One violation per entry whose key repeats an earlier entry's (`field[i]` names the repeat)."""
    first: dict[Hashable, int] = {}
    out = []
    for i, key in enumerate(keys):
        if key in first:
            out.append(FieldViolation(f"{field}[{i}]{what}", f"repeats {field}[{first[key]}]{what}"))
        else:
            first[key] = i
    return out


# A local calendar date as callers write it: exactly YYYY-MM-DD (fromisoformat alone also takes 20261205).
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
LATEST_LOCAL_DATE = dt.date(2100, 12, 31)


def local_date_violation(field: str, text: str, required: bool = True) -> FieldViolation | None:
    """A local date "YYYY-MM-DD" within 2000-01-01..2100-12-31 (a schedule's exception, a lot's expiry)."""
    if not text:
        return FieldViolation(field, "required (YYYY-MM-DD)") if required else None
    if _DATE.fullmatch(text) is None:
        return FieldViolation(field, f"must be a date YYYY-MM-DD, got {quote(text)}")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return FieldViolation(field, f"is not a calendar date: {quote(text)}")
    return day_violation(field, day, LATEST_LOCAL_DATE)
