"""google.protobuf.Timestamp <-> epoch milliseconds, for every servicer."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp


def ts_to_ms(ts: Timestamp) -> int:
    return ts.seconds * 1000 + ts.nanos // 1_000_000


def ms_to_ts(ms: int) -> Timestamp:
    return Timestamp(seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000)


def opt_ms_to_ts(ms: int) -> Timestamp | None:
    """None for 0 (a time not set), so the message field stays unset."""
    return ms_to_ts(ms) if ms else None
