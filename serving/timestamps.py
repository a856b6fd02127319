"""google.protobuf.Timestamp <-> epoch milliseconds, for every servicer."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from core.errors import InvalidArgument
from core.validation import timestamp_ms_violation


def ts_to_ms(ts: Timestamp) -> int:
    return ts.seconds * 1000 + ts.nanos // 1_000_000


def checked_ts_to_ms(field: str, ts: Timestamp) -> int:
    """A caller's Timestamp in epoch ms; INVALID_ARGUMENT naming `field` when it is not a valid Timestamp
    (nanos outside [0, 1e9), seconds outside years 1-9999). Each field's own window is checked by its service."""
    bad = timestamp_ms_violation(field, ts.seconds, ts.nanos)
    if bad is not None:
        raise InvalidArgument(bad)
    return ts_to_ms(ts)


def opt_checked_ts_to_ms(msg: object, field: str) -> int | None:
    """`msg.field` in epoch ms when it is set, else None; checked as by `checked_ts_to_ms`."""
    if not msg.HasField(field):  # type: ignore[attr-defined]
        return None
    return checked_ts_to_ms(field, getattr(msg, field))


def ms_to_ts(ms: int) -> Timestamp:
    return Timestamp(seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000)


def opt_ms_to_ts(ms: int) -> Timestamp | None:
    """None for 0 (a time not set), so the message field stays unset."""
    return ms_to_ts(ms) if ms else None
